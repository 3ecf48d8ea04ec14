"""Harness overhead per submission: everything but the environment build and the tests.

Usage: python benchmarks/bench_overhead.py [--repeat N] [--workspace-dir DIR]

Measures, with warm caches (base and environment already built), the time the harness
spends around the hidden tests: base lookup, task hashing, patch parse, workspace copy,
patch application, guard, overlay and verdict. Two settings:

1. the example tasks in fixtures/tasks (minimal submissions), as a share of their
   hidden-test time;
2. a generated repository of about 100 files, in milliseconds per submission.

The static taste grade is timed apart (the last column): it is not harness overhead.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_proofswe.grading import Grader, GradeRequest, grade  # noqa: E402
from pytest_proofswe.harness.environment import EnvironmentManager  # noqa: E402
from pytest_proofswe.harness.workspace import BaseStore, default_workspace_parent  # noqa: E402
from pytest_proofswe.task import Submission, find_submissions, load_task  # noqa: E402

OVERHEAD_STEPS = ("base", "hash", "parse", "workspace", "patch", "guard", "overlay", "verdict")


def overhead(timings: dict[str, float]) -> float:
    return sum(timings.get(k, 0.0) for k in OVERHEAD_STEPS)


def make_repo(root: Path, files: int = 100) -> Path:
    task = root / "hundred-files"
    repo = task / "repo"
    for i in range(files - 2):
        path = repo / f"pkg{i % 10}" / f"mod{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        body = "\n".join(f"def f{j}(x):\n    return x + {j}\n" for j in range(40))
        path.write_text(f'"""Module {i}."""\n\n{body}\n')
    for i in range(10):
        (repo / f"pkg{i}" / "__init__.py").write_text("")
    (repo / "tests").mkdir()
    (repo / "tests" / "test_mod.py").write_text("from pkg0.mod0 import f1\n\n\ndef test_f1():\n    assert f1(1) == 3\n")
    (task / "task.toml").write_text('[tests]\nfail_to_pass = ["tests/test_mod.py::test_f1"]\n')
    patch = textwrap.dedent("""\
        --- a/pkg0/mod0.py
        +++ b/pkg0/mod0.py
        @@ -5,3 +5,3 @@ def f0(x):
         def f1(x):
        -    return x + 1
        +    return x + 2

        """)
    (task / "submissions").mkdir()
    (task / "submissions" / "fix.diff").write_text(patch)
    return task


def measure(grader: Grader, task_dir: Path, name: str, repeat: int) -> tuple[float, float, str, float]:
    task = load_task(task_dir)
    sub = next(s for s in find_submissions(task) if s.name == name)
    grade(GradeRequest(task, sub), grader)  # warm: base and environment built
    overheads, tests, tastes = [], [], []
    status = ""
    for _ in range(repeat):
        result = grade(GradeRequest(task, Submission(name, sub.origin, sub.patch_path)), grader)
        overheads.append(overhead(result.timings))
        tests.append(result.timings["tests"])
        tastes.append(result.timings.get("taste", 0.0))
        status = result.behaviour.status
    return statistics.median(overheads), statistics.median(tests), status, statistics.median(tastes)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--workspace-dir", type=Path, default=None, help="as --proofswe-workspace-dir (default: the plugin's default)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        grader = Grader(
            bases=BaseStore(cache),
            envs=EnvironmentManager(cache),
            workspace_parent=args.workspace_dir or default_workspace_parent(),
        )
        print(f"{'task':<20} {'status':<10} {'overhead ms':>12} {'tests ms':>10} {'share':>7} {'taste ms':>9}")
        for task_name in ("inventory-restock", "slugify-git", "units-convert"):
            oh, tests, status, taste = measure(grader, ROOT / "fixtures" / "tasks" / task_name, "minimal", args.repeat)
            print(
                f"{task_name:<20} {status:<10} {oh * 1000:>12.1f} {tests * 1000:>10.1f} {oh / tests:>7.1%}"
                f" {taste * 1000:>9.1f}"
            )
        big = make_repo(Path(tmp))
        oh, tests, status, taste = measure(grader, big, "fix", args.repeat)
        print(
            f"{'100-file repo':<20} {status:<10} {oh * 1000:>12.1f} {tests * 1000:>10.1f} {oh / tests:>7.1%}"
            f" {taste * 1000:>9.1f}"
        )


if __name__ == "__main__":
    main()
