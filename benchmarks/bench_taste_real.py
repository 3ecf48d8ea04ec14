"""The taste grade of a real change against ruff and radon's command lines, CPU in one alternated run.

Usage:
  python benchmarks/bench_taste_real.py --base BASE_CHECKOUT --head HEAD_CHECKOUT [--files PATH ...]
      [--top 5] [--rounds 15] [--old-src OLD_CHECKOUT_OF_THIS_PROJECT]
  python benchmarks/bench_taste_real.py --mirror GIT_DIR --base-rev v2.33.0 --head-rev v2.34.0 ...

The change is the one between two checkouts of a project (no code of that project is kept
here). For the figure of docs/performance.md, two releases of requests:

  git clone https://github.com/psf/requests /tmp/requests
  git -C /tmp/requests worktree add --detach /tmp/req-base v2.33.0
  git -C /tmp/requests worktree add --detach /tmp/req-head v2.34.0
  python benchmarks/bench_taste_real.py --base /tmp/req-base --head /tmp/req-head

(or ``--mirror /tmp/requests/.git --base-rev v2.33.0 --head-rev v2.34.0``, which makes the
two worktrees itself). Without ``--files``, the ``--top`` changed Python files of the
product (not tests, not docs) with the most lines at the head: for requests 2.33.0 to
2.34.0, models, utils, sessions, adapters and cookies (4.6 KLOC after, 1,269 lines
changed).

A git repository is made in a temporary folder from the head checkout, its first commit
holding those files as they are at the base, so that ``HEAD~1..HEAD`` is exactly their
change. Then, in one run and in turn (the order rotated each round):

- ``grade``: a fresh process builds the change as ``--proofswe-diff`` does (git, the
  repository's facts and sources), then runs ``grade_taste`` once; the figure is the CPU of
  that call, its child processes (ruff) included, the modules already imported. Then the
  same process grades it again, as it would the next submission of a run: the trees and
  memos of the texts forgotten, what a process reads once kept (``grade (next)``);
- ``grade-old``: the same with the package of ``--old-src`` (the code before a change);
- ``clis``: ``ruff check``, ``radon cc -s`` and ``radon mi`` run on the same files, base and
  head (one process each, given both sides: the cheapest way by hand), CPU of the three;
- ``pytest`` / ``pytest-old``: ``pytest --proofswe-diff=HEAD~1 --proofswe-diff-only`` in the
  repository as a whole process (interpreter, imports, git and the report included), with
  this plugin alone (``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 -p pytest_proofswe.plugin``: the
  start-up of other installed plugins is not this project's).

It prints the median CPU of each and, round by round, the ratios (median, min and max),
the load average before and after, and whether the old and new code gave the same
findings and score (they must).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GIT = [
    "git",
    "-c",
    "user.name=b",
    "-c",
    "user.email=b@b",
    "-c",
    "init.defaultBranch=main",
    "-c",
    "advice.detachedHead=0",
]


def _git(args: list[str], cwd: Path) -> str:
    return subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def changed_python_files(base: Path, head: Path, top: int) -> list[str]:
    """The ``top`` product Python files that differ between the checkouts, most lines at the head first."""
    found = []
    for path in sorted(head.rglob("*.py")):
        rel = path.relative_to(head).as_posix()
        parts = rel.split("/")
        if any(p.startswith(".") or p in ("tests", "test", "docs", "doc") for p in parts[:-1]):
            continue
        if parts[-1].startswith("test_") or not (base / rel).is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if text != (base / rel).read_text(encoding="utf-8", errors="replace"):
            found.append((-text.count("\n"), rel))
    return [rel for _, rel in sorted(found)[:top]]


def make_repo(base: Path, head: Path, files: list[str], where: Path) -> Path:
    """A git repository whose last commit is exactly ``files``' change from ``base`` to ``head``."""
    repo = where / "repo"
    shutil.copytree(head, repo, ignore=shutil.ignore_patterns(".git"), symlinks=True)
    for rel in files:
        shutil.copyfile(base / rel, repo / rel)
    _git(["init", "-q"], repo)
    _git(["add", "-A"], repo)
    _git(["commit", "-qm", "base", "--no-verify"], repo)
    for rel in files:
        shutil.copyfile(head / rel, repo / rel)
    _git(["commit", "-qam", "the change", "--no-verify"], repo)
    return repo


def grade_once(repo: Path) -> None:
    """Child mode: grade the repository's last commit in-process and print the CPU of ``grade_taste``."""
    try:
        from pytest_proofswe.modes import diffmode
    except ImportError:  # an --old-src checkout from before the package's layers (issue 14)
        from pytest_proofswe import diffmode  # type: ignore[attr-defined,no-redef]
    from pytest_proofswe.taste import (  # noqa: F401 - imported before the clock starts
        TasteConfig,
        TasteInput,
        TasteResult,
        churn,
        complexity,
        design,
        grade_taste,
        lint,
        pyparse,
        scope,
        secrets,
        structure,
        tamper,
        testrules,
    )
    from pytest_proofswe.taste.repo import clear_memos, repo_facts, sources

    for lazily_imported in ("radon.metrics", "radon.raw", "radon.visitors", "ruff.__main__"):
        try:  # what the grade imports the first time it needs it: imported before the clock too
            importlib.import_module(lazily_imported)
        except ImportError:
            pass

    def cpu() -> float:
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    def once() -> tuple[float, float, TasteResult]:
        started = cpu()
        change = diffmode.collect_change(repo, "HEAD~1")
        data = TasteInput(files=change.files, sources=sources(repo), **repo_facts(repo).taste_fields())
        prepared = cpu()
        result = grade_taste(data, TasteConfig(), task="diff", submission="HEAD")
        return prepared - started, cpu() - prepared, result

    prepare, first, result = once()
    # The next grade of this process, as of another submission of the same size: the trees and
    # other memos of the texts forgotten; what a process reads once (the installed distributions'
    # metadata, ruff's version) kept.
    for memo in (pyparse.parse, pyparse.definitions, getattr(pyparse, "nodes", None)):
        if memo is not None:
            memo.cache_clear()
    clear_memos()
    _, later, again = once()
    assert [f.render() for f in again.findings] == [f.render() for f in result.findings]
    json.dump(
        {
            "prepare_cpu": prepare,
            "grade_cpu": first,
            "next_grade_cpu": later,
            "score": result.score,
            "findings": [f.render() for f in result.findings],
        },
        sys.stdout,
    )


def timed(
    argv: list[str], cwd: Path, env: dict[str, str] | None = None, ok: tuple[int, ...] = (0,)
) -> tuple[float, str]:
    """(CPU seconds of the process and its children, its output), the process waited for once."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in ok:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), done.stdout


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.3f} to {max(values):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, help="checkout of the base")
    parser.add_argument("--head", type=Path, help="checkout of the head")
    parser.add_argument("--mirror", type=Path, help="a git directory to make the two checkouts from")
    parser.add_argument("--base-rev", default="v2.33.0")
    parser.add_argument("--head-rev", default="v2.34.0")
    parser.add_argument("--files", nargs="*", help="paths in the checkouts (default: the --top largest changed)")
    parser.add_argument("--top", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--old-src", type=Path, help="a checkout of this project before the change, to compare")
    parser.add_argument("--grade-once", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.grade_once is not None:
        grade_once(args.grade_once)
        return
    if args.mirror is None and (args.base is None or args.head is None):
        parser.error("give --base and --head checkouts, or --mirror")
    try:
        with tempfile.TemporaryDirectory(prefix="bench-taste-real-") as tmp_name:
            tmp = Path(tmp_name)
            if args.mirror is not None:
                args.base, args.head = tmp / "base", tmp / "head"
                for rev, where in ((args.base_rev, args.base), (args.head_rev, args.head)):
                    subprocess.run(
                        [*GIT, "--git-dir", str(args.mirror), "worktree", "add", "-q", "--detach", str(where), rev],
                        check=True,
                    )
            measure(args, tmp)
    finally:  # the two worktrees' folders are gone: the mirror forgets them
        if args.mirror is not None:
            subprocess.run([*GIT, "--git-dir", str(args.mirror), "worktree", "prune"], check=False)


def measure(args: argparse.Namespace, tmp: Path) -> None:
    base, head = args.base.resolve(), args.head.resolve()
    files = args.files or changed_python_files(base, head, args.top)
    repo = make_repo(base, head, files, tmp)
    lines = sum((head / f).read_text(encoding="utf-8").count("\n") for f in files)
    print(f"change: {len(files)} files, {lines} lines at the head: {', '.join(files)}")
    bindir = Path(sys.executable).parent
    ruff = shutil.which("ruff", path=str(bindir)) or "ruff"
    radon = shutil.which("radon", path=str(bindir)) or "radon"
    sides = [str(base / f) for f in files] + [str(head / f) for f in files]
    plain_env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTHONPATH")}
    # pytest with this plugin alone: another installed plugin's start-up (hypothesis takes 1 s) is not ours.
    pytest_env = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}

    def env_for(src: Path) -> dict[str, str]:
        return {**plain_env, "PYTHONPATH": str(src)}

    report = tmp / "report.json"
    pytest_argv = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "pytest_proofswe.plugin",
        "--proofswe-diff=HEAD~1",
        "--proofswe-diff-only",
        f"--proofswe-report={report}",
        "--noconftest",
        "-q",
        "-p",
        "no:cacheprovider",
    ]
    grade_argv = [sys.executable, str(Path(__file__).resolve()), "--grade-once", str(repo)]
    kinds: dict[str, tuple[list[str], dict[str, str]]] = {
        "grade": (grade_argv, env_for(ROOT)),
        "clis": ([], plain_env),
        "pytest": (pytest_argv, env_for(ROOT) | pytest_env),
    }
    if args.old_src is not None:
        kinds["grade-old"] = (grade_argv, env_for(args.old_src.resolve()))
        kinds["pytest-old"] = (pytest_argv, env_for(args.old_src.resolve()) | pytest_env)
    cpu: dict[str, list[float]] = {kind: [] for kind in kinds}
    later: dict[str, list[float]] = {kind: [] for kind in kinds if kind.startswith("grade")}
    results: dict[str, dict[str, object]] = {}

    def once(kind: str) -> float:
        argv, env = kinds[kind]
        if kind == "clis":
            total = 0.0
            for cli in (
                [ruff, "check", "--no-cache", "--exit-zero", "--quiet", *sides],
                [radon, "cc", "-s", *sides],
                [radon, "mi", *sides],
            ):
                total += timed(cli, head, plain_env)[0]
            return total
        spent, out = timed(argv, repo, env, ok=(0, 1) if kind.startswith("pytest") else (0,))
        if kind.startswith("grade"):
            got = json.loads(out)
            results[kind] = got
            later[kind].append(float(got["next_grade_cpu"]))
            return float(got["grade_cpu"])
        return spent

    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
    started = time.perf_counter()
    for kind in kinds:  # a warm-up of each: the file cache, bytecode
        once(kind)
    for values in later.values():
        values.clear()
    order = list(kinds)
    for i in range(args.rounds):
        turn = order[i % len(order) :] + order[: i % len(order)]
        for kind in turn:
            cpu[kind].append(once(kind))
    print(
        f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {args.rounds} rounds in "
        f"{time.perf_counter() - started:.0f} s"
    )
    print("\nCPU seconds, median (min to max):")
    for kind, values in cpu.items():
        print(f"  {kind:11s} {spread(values)}")
    for kind, values in later.items():
        cpu[f"{kind} (next)"] = values
        print(f"  {kind + ' (next)':11s} {spread(values)}  (the same process's next grade: see grade_once)")
    print("\nratios, round by round: median (min to max)")

    def ratio(a: str, b: str) -> None:
        if a in cpu and b in cpu:
            print(f"  {a} / {b}: {spread([x / y for x, y in zip(cpu[a], cpu[b], strict=True)])}")

    ratio("grade", "clis")
    ratio("grade-old", "clis")
    ratio("grade", "grade-old")
    ratio("grade (next)", "clis")
    ratio("grade-old (next)", "clis")
    ratio("grade (next)", "grade-old (next)")
    ratio("pytest", "clis")
    ratio("pytest", "pytest-old")
    new = results["grade"]
    print(f"\nscore {new['score']}, {len(new['findings'])} findings")  # type: ignore[arg-type]
    if "grade-old" in results:
        same = results["grade-old"]["findings"] == new["findings"] and results["grade-old"]["score"] == new["score"]
        print(f"old and new code: the same findings and score: {'yes' if same else 'NO'}")
        if not same:
            old_set, new_set = set(results["grade-old"]["findings"]), set(new["findings"])  # type: ignore[call-overload]
            for line in sorted(old_set - new_set):
                print(f"  only before: {line}")
            for line in sorted(new_set - old_set):
                print(f"  only after:  {line}")


if __name__ == "__main__":
    main()
