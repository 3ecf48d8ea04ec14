"""The sandbox's cost per submission: the hidden-test run with bubblewrap and without.

Usage: python benchmarks/bench_sandbox.py [--repeat N] [--sandbox both|bwrap|none] [--task NAME] [--micro]

Grades the minimal submission of an example task (default inventory-restock) N times
with warm caches (base and environment built once first) and prints the median time of
the hidden-test step. With ``--sandbox both`` (the default) the two backends alternate,
submission by submission, so that drift of the machine hits both alike; the difference
of the medians is the sandbox's cost per submission. With ``bwrap`` or ``none`` only that
backend runs: two such processes can be compared from outside (whole-process time).

``--micro`` times the sandbox alone: ``python -c pass`` run through each backend exactly as
the hidden tests are (same binds, environment, limits), alternated; the difference is what
the sandbox adds to every test command.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_proofswe.grading import Grader, GradeRequest, grade  # noqa: E402
from pytest_proofswe.harness import sandbox  # noqa: E402
from pytest_proofswe.harness.environment import EnvironmentManager  # noqa: E402
from pytest_proofswe.harness.workspace import BaseStore, default_workspace_parent  # noqa: E402
from pytest_proofswe.task import find_submissions, load_task  # noqa: E402


def micro(repeat: int) -> None:
    boxes = {"bwrap": sandbox.choose("bwrap"), "none": sandbox.choose("none")}
    times: dict[str, list[float]] = {m: [] for m in boxes}
    with tempfile.TemporaryDirectory() as tmp:
        ws, results, env_root = Path(tmp, "ws"), Path(tmp, "results"), Path(sys.executable).parent.parent
        ws.mkdir()
        results.mkdir()
        job = sandbox.Job(
            argv=(sys.executable, "-c", "pass"),
            workspace=ws,
            environ={"PATH": "/usr/bin:/bin"},
            results=results,
            readonly=(env_root,),
            hidden=(Path.home(),),
        )
        for i in range(repeat + 1):
            for mode, box in boxes.items():
                started = time.perf_counter()
                result = box.run(job, timeout=60)
                assert result.ok, result.output
                if i:  # the first round warms up
                    times[mode].append(time.perf_counter() - started)
    for mode, t in times.items():
        print(f"  {mode:5}  python -c pass: {statistics.median(t) * 1000:6.1f} ms  (min {min(t) * 1000:.1f})")
    diffs = [a - b for a, b in zip(times["bwrap"], times["none"], strict=True)]
    print(f"  the sandbox adds {statistics.median(diffs) * 1000:.1f} ms per command (median of {repeat} pairs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--sandbox", choices=("both", "bwrap", "none"), default="both")
    parser.add_argument("--task", default="inventory-restock")
    parser.add_argument("--cache-dir", default=None, help="default: a temporary folder (built once)")
    parser.add_argument("--micro", action="store_true", help="time `python -c pass` in each backend instead")
    args = parser.parse_args()
    if args.micro:
        micro(args.repeat)
        return

    task = load_task(ROOT / "fixtures" / "tasks" / args.task)
    sub = next(s for s in find_submissions(task) if s.name == "minimal")
    modes = ("bwrap", "none") if args.sandbox == "both" else (args.sandbox,)
    boxes = {m: sandbox.choose(m) for m in modes}
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(args.cache_dir or tmp)
        graders = {
            m: Grader(
                BaseStore(cache), EnvironmentManager(cache), workspace_parent=default_workspace_parent(), sandbox=b
            )
            for m, b in boxes.items()
        }
        for grader in graders.values():  # warm-up: base, environment, first imports
            result = grade(GradeRequest(task, sub), grader)
            assert result.behaviour.status == "resolved", result.behaviour.reason
        times: dict[str, list[float]] = {m: [] for m in modes}
        for _ in range(args.repeat):
            for mode in modes:
                result = grade(GradeRequest(task, sub), graders[mode])
                assert result.behaviour.status == "resolved", result.behaviour.reason
                times[mode].append(result.timings["tests"])
    print(f"task {args.task}, submission minimal, {args.repeat} runs each, median of the hidden-test step:")
    for mode in modes:
        t = times[mode]
        print(f"  {mode:5}  {statistics.median(t) * 1000:7.1f} ms  (min {min(t) * 1000:.1f}, max {max(t) * 1000:.1f})")
    if len(modes) == 2:
        diffs = [a - b for a, b in zip(times["bwrap"], times["none"], strict=True)]
        ratio = statistics.median(a / b for a, b in zip(times["bwrap"], times["none"], strict=True))
        print(
            f"  cost of the sandbox: {statistics.median(diffs) * 1000:.1f} ms per submission (median of pairs), "
            f"ratio {ratio:.3f}"
        )


if __name__ == "__main__":
    main()
