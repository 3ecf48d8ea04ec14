"""What compiling an environment's bytecode at build time saves each hidden-test run.

Usage: python benchmarks/bench_bytecode.py [--repeat N] [--task NAME]

Builds the environment of an example task (default inventory-restock) in a temporary
cache, copies its virtual environment without any ``__pycache__`` (an environment as
built before bytecode was compiled), and runs the task's hidden tests with each,
alternated, with ``PYTHONDONTWRITEBYTECODE=1`` as the harness runs them: the copy
compiles pytest from source on every run. Prints the median CPU and wall time of a run
with each, and their ratio (median of the pair ratios).
"""

from __future__ import annotations

import argparse
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
sys.path.insert(0, str(ROOT))

from pytest_proofswe.harness.environment import EnvironmentManager  # noqa: E402
from pytest_proofswe.harness.workspace import BaseStore, new_workspace  # noqa: E402
from pytest_proofswe.task import load_task  # noqa: E402


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(CPU seconds of the child, wall seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    # 1: the FAIL_TO_PASS tests fail at the base state, as they should; anything else is a broken run.
    assert done.returncode in (0, 1), done.stdout[-2000:]
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--task", default="inventory-restock")
    args = parser.parse_args()
    task = load_task(ROOT / "fixtures" / "tasks" / args.task)
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp, "cache")
        base = BaseStore(cache).base_for(task)
        env = EnvironmentManager(cache).get(task.environment, base)
        bare = Path(tmp, "bare-venv")
        shutil.copytree(env.root / "venv", bare, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
        Path(tmp, "ws").mkdir()
        workspace = new_workspace(base, Path(tmp, "ws"), label="bench")
        assert task.hidden_tests_dir is not None
        shutil.copytree(task.hidden_tests_dir, workspace, dirs_exist_ok=True)
        tests = [*task.tests.fail_to_pass, *task.tests.pass_to_pass]
        environ = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONPATH": str(workspace),
        }
        pythons = {"compiled": env.root / "venv" / "bin" / "python", "as built before": bare / "bin" / "python"}
        cpu: dict[str, list[float]] = {k: [] for k in pythons}
        wall: dict[str, list[float]] = {k: [] for k in pythons}
        for i in range(args.repeat + 1):
            for name, python in pythons.items():
                c, w = timed([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests], workspace, environ)
                if i:  # the first round warms the page cache
                    cpu[name].append(c)
                    wall[name].append(w)
    print(f"task {args.task}: its {len(tests)} hidden tests, {args.repeat} alternated runs each")
    for name in pythons:
        print(
            f"  {name:16} cpu {statistics.median(cpu[name]):.3f} s   wall {statistics.median(wall[name]):.3f} s"
            f"   (cpu min {min(cpu[name]):.3f}, max {max(cpu[name]):.3f})"
        )
    ratios = [a / b for a, b in zip(cpu["as built before"], cpu["compiled"], strict=True)]
    print(f"  a run without bytecode costs {statistics.median(ratios):.2f}x the CPU (median of the pair ratios)")


if __name__ == "__main__":
    main()
