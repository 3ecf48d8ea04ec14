"""Collecting many task folders: ``pytest --proofswe TASKS --co`` time and peak memory.

Usage: python benchmarks/bench_collect.py [--tasks N] [--submissions S] [--profile] [--plain ROUNDS] [--alone]

Generates N task folders (default 2,000), each with S submissions (default 2: 8 items per
task), and runs ``pytest --proofswe tasks --co -q`` on them as a whole process, printing
its wall time and peak memory (the largest resident set of the child, from the kernel's
accounting). ``--profile`` prints the 25 most expensive functions instead.

``--plain ROUNDS`` compares with pytest's own floor: the same number of items as plain
test functions (one test file per task, as many functions as the task has items), both
``--co`` runs alternated ROUNDS times, CPU time (user + system) of each child process;
prints the medians and their ratio.

``--alone`` loads pytest's own plugins and this one only (``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1
-p pytest_proofswe.plugin``): what the environment has installed besides (the test extra's
hypothesis and anyio plugins cost about half a second here) is left out. Bytecode is cached
as Python does by default (this machine's ``PYTHONDONTWRITEBYTECODE`` is removed).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOML = """title = "Task {n}"

[tests]
fail_to_pass = ["tests/test_m.py::test_a", "tests/test_m.py::test_b"]
pass_to_pass = ["tests/test_m.py::test_c"]
timeout = 60
"""


def make_tasks(root: Path, tasks: int, submissions: int) -> None:
    for n in range(tasks):
        task = root / f"task-{n:05}"
        (task / "repo" / "pkg").mkdir(parents=True)
        (task / "repo" / "pkg" / "__init__.py").write_text(f"X = {n}\n")
        (task / "hidden_tests" / "tests").mkdir(parents=True)
        (task / "hidden_tests" / "tests" / "test_m.py").write_text("def test_a():\n    pass\n")
        (task / "task.toml").write_text(TOML.format(n=n))
        (task / "issue.md").write_text(f"Issue {n}\n")
        (task / "submissions").mkdir()
        for s in range(submissions):
            (task / "submissions" / f"agent-{s}.diff").write_text(
                f"--- a/pkg/__init__.py\n+++ b/pkg/__init__.py\n@@ -1 +1 @@\n-X = {n}\n+X = {n + s + 1}\n"
            )


def make_plain(root: Path, tasks: int, items_per_task: int) -> None:
    """The same number of items as plain test functions: one test file per task folder."""
    root.mkdir(parents=True)
    (root / "pytest.ini").write_text("[pytest]\n")
    for n in range(tasks):
        folder = root / f"task-{n:05}"
        folder.mkdir()
        body = "".join(f"def test_{i}():\n    pass\n\n\n" for i in range(items_per_task))
        (folder / f"test_task_{n:05}.py").write_text(body)


def _cpu_of(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    """CPU seconds (user + system) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _environ(args: argparse.Namespace, root: Path) -> dict[str, str]:
    env = {**os.environ, "PROOFSWE_CACHE_DIR": str(root / "cache")}
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if args.alone:
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return env


def _ours(args: argparse.Namespace) -> list[str]:
    alone = ["-p", "pytest_proofswe.plugin"] if args.alone else []
    return [sys.executable, "-m", "pytest", *alone, "--proofswe", "tasks", "--co", "-q", "-p", "no:cacheprovider"]


def compare_plain(args: argparse.Namespace) -> None:
    import statistics

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_tasks(root / "tasks", args.tasks, args.submissions)
        make_plain(root / "plain", args.tasks, 4 * args.submissions)
        env = _environ(args, root)
        ours = _ours(args)
        plain = [sys.executable, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider"]
        got: dict[str, list[float]] = {"proofswe": [], "plain": []}
        for _ in range(args.plain):
            got["proofswe"].append(_cpu_of(ours, root, env))
            got["plain"].append(_cpu_of(plain, root / "plain", env))
    a, b = statistics.median(got["proofswe"]), statistics.median(got["plain"])
    items = args.tasks * 4 * args.submissions
    print(f"--co of {items} items, CPU medians of {args.plain} alternated pairs:")
    print(f"  {args.tasks} task folders (--proofswe): {a:.2f} s  {got['proofswe']}")
    print(f"  {args.tasks} plain test files:          {b:.2f} s  {got['plain']}")
    print(f"  ratio: {a / b:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--submissions", type=int, default=2)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--plain", type=int, default=0, metavar="ROUNDS")
    parser.add_argument("--alone", action="store_true", help="pytest's plugins and this one only")
    args = parser.parse_args()
    if args.plain:
        compare_plain(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_tasks(root / "tasks", args.tasks, args.submissions)
        env = _environ(args, root)
        argv = _ours(args)
        if args.profile:
            argv = [sys.executable, "-m", "cProfile", "-s", "cumulative", *argv[1:]]
        started = time.perf_counter()
        done = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if args.profile:
        lines = done.stdout.splitlines()
        start = next(i for i, line in enumerate(lines) if "ncalls" in line)
        print("\n".join(lines[start : start + 26]))
        return
    items = sum(1 for line in done.stdout.splitlines() if "::" in line)
    print(
        f"{args.tasks} tasks, {items} items: --co took {wall:.2f} s, peak {peak_mib:.0f} MiB (exit {done.returncode})"
    )


if __name__ == "__main__":
    main()
