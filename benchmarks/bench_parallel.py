"""Parallel grading: -n 2 and --proofswe-jobs 2 against one process, on uniform submissions.

Usage: python benchmarks/bench_parallel.py [--submissions N] [--rounds R] [--test-ms MS] [--modes ...]

Every mode but the last grades everything (``--proofswe-no-cache``); the last is a re-run
with nothing changed, served from the result cache.

Generates a task (a small package with 20 hidden tests) with N submissions (default 40)
that all resolve it, builds its base and environment once, then runs
``pytest --proofswe`` over it as whole processes with each mode in turn, alternated for R
rounds (default 3), and prints each mode's median wall time and its speed-up over
``-n 0`` (median of the per-round ratios), and how many gradings each mode made (a
``pytest_proofswe_taste_findings`` hook counts them: more than N means a submission was
graded twice).

``--test-ms MS`` makes each hidden test spend MS milliseconds of CPU (a busy loop, not a
sleep, which would overlap even on one core): with 0 (the default) a grading takes about
0.35 s, mostly the grader's own work; real projects' tests take seconds.
"""

from __future__ import annotations

import argparse
import difflib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODES = {
    "-n 0": ["-p", "no:xdist", "--proofswe-no-cache"],
    "-n 2": ["-n", "2", "--proofswe-no-cache"],
    "--proofswe-jobs 2": ["-p", "no:xdist", "--proofswe-jobs", "2", "--proofswe-no-cache"],
    # Nothing changed since the previous run: every result is served from the result cache.
    "re-run, cached": ["-p", "no:xdist"],
}

COUNTER = """
def pytest_proofswe_taste_findings(config, context):
    with open(__file__ + ".log", "a") as f:
        f.write(context.submission + "\\n")
"""


def make_task(root: Path, submissions: int, test_ms: int = 0) -> Path:
    task = root / "tasks" / "calc"
    (task / "repo" / "calc").mkdir(parents=True)
    (task / "repo" / "calc" / "__init__.py").write_text(
        "".join(f"def f{i}(x):\n    return x + {i} - 1\n\n\n" for i in range(20))
    )
    (task / "hidden_tests" / "tests").mkdir(parents=True)
    burn = (
        f"    started = time.process_time()\n    while time.process_time() - started < {test_ms / 1000}:\n        pass\n"
        if test_ms
        else ""
    )
    (task / "hidden_tests" / "tests" / "test_calc.py").write_text(
        "import time\n\nimport calc\n\n\n"
        + "".join(f"def test_f{i}():\n{burn}    assert calc.f{i}(1) == {i + 1}\n\n\n" for i in range(20))
    )
    ids = [f"tests/test_calc.py::test_f{i}" for i in range(20)]
    (task / "task.toml").write_text(
        f"[tests]\nfail_to_pass = {ids[1:]!r}\npass_to_pass = {ids[:1]!r}\ntimeout = 120\n".replace("'", '"')
    )
    (task / "submissions").mkdir()
    before = (task / "repo" / "calc" / "__init__.py").read_text()
    after = before.replace(" - 1\n", "\n")
    patch = "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            "a/calc/__init__.py",
            "b/calc/__init__.py",
        )
    )
    for n in range(submissions):
        (task / "submissions" / f"agent-{n:03}.diff").write_text(patch)
    return task


def run(work: Path, cache: Path, mode: list[str]) -> tuple[float, int]:
    log = work / "conftest.py.log"
    log.unlink(missing_ok=True)
    env = {**os.environ, "PROOFSWE_CACHE_DIR": str(cache)}
    env.pop("PYTEST_ADDOPTS", None)
    # Bytecode cached as Python does by default (pip compiles an installed package's): a machine
    # that sets PYTHONDONTWRITEBYTECODE would otherwise compile the grader anew in every process.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--proofswe", "tasks", "-q", "-p", "no:cacheprovider", *mode],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    assert done.returncode == 0, done.stdout[-3000:]
    return wall, len(log.read_text().splitlines()) if log.exists() else 0  # gradings: the cache makes none


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--test-ms", type=int, default=0, help="CPU milliseconds each hidden test spends")
    parser.add_argument("--modes", nargs="*", default=list(MODES))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work, cache = Path(tmp, "work"), Path(tmp, "cache")
        make_task(work, args.submissions, args.test_ms)
        (work / "conftest.py").write_text(COUNTER)
        run(work, cache, MODES["-n 0"] + ["-k", "agent-000"])  # builds the base and the environment
        walls: dict[str, list[float]] = {m: [] for m in args.modes}
        graded: dict[str, int] = {}
        for _ in range(args.rounds):
            for mode in args.modes:
                wall, count = run(work, cache, MODES[mode])
                walls[mode].append(wall)
                graded[mode] = count
    print(
        f"{args.submissions} submissions, {args.test_ms} ms of CPU per hidden test, "
        f"{args.rounds} alternated rounds, whole processes:"
    )
    for mode in args.modes:
        line = f"  {mode:18} {statistics.median(walls[mode]):7.2f} s  gradings {graded[mode]}"
        if mode != "-n 0" and "-n 0" in walls:
            ratios = [a / b for a, b in zip(walls["-n 0"], walls[mode], strict=True)]
            line += f"  speed-up {statistics.median(ratios):.2f}x"
        print(line)


if __name__ == "__main__":
    main()
