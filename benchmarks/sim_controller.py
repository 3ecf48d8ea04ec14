"""The controller with thousands of tasks: scheduling overhead per task and memory, local vs Ray.

Usage: python benchmarks/sim_controller.py [--tasks N] [--small M] [--rounds R] [--modes ...] [--skip-seam]

Generates N task folders (default 2,000; one submission each, four items each) and grades
them with a fake grading function (the testing seam ``$PROOFSWE_TESTING_GRADE_WRAPPER`` of
pytest_proofswe/remote.py: each grading returns a ``resolved`` result at once, no
workspace, no tests), so that what is measured is the controller: collection, the result
cache's key, the dispatch through the executor, the results coming back, the items and the
reports. The tasks share one base state (a task's base is built once, on first use, and is
not what this measures).

Two parts, each alternated for R rounds (default 3); medians, and ratios of medians:

1. Whole ``pytest --proofswe`` processes (``--proofswe-no-cache``, a fresh cache each
   run) with each executor: ``inline`` (the default, --proofswe-jobs 1), ``jobs 2``
   (a thread pool), ``ray`` (a local cluster of 2 CPUs). A conftest records, in the
   controller, the run phase (from the end of collection to the end of the session), the
   controller's resident memory at the end of collection and at the end, and its peak.
   The run phase per task is the scheduling overhead per task (for Ray, less the cluster's
   start, measured apart). The same at M tasks (default 500) gives the memory per task.
2. The seam alone (``--skip-seam`` to leave it out): N calls of the node's grading function
   (``remote.grade_on_node`` with the fake grading) through each executor, without pytest:
   the time per call and the controller's peak of Python allocations while they are in
   flight (tracemalloc).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

MODES = {
    "inline": ["--proofswe-jobs", "1"],
    "jobs 2": ["--proofswe-jobs", "2"],
    "ray": ["--proofswe-executor=ray", "--proofswe-jobs", "2"],
}

FAKE = """
from pytest_proofswe.result import BehaviourResult, GradeResult, PatchSummary, Proof
from pytest_proofswe.harness.verdict import TestGroup


def wrap(grade):
    def fake(request):
        return GradeResult(
            task=request.task.id,
            submission=request.submission.name,
            behaviour=BehaviourResult(
                "resolved",
                fail_to_pass=TestGroup(("tests/test_calc.py::test_f",), ()),
                pass_to_pass=TestGroup((), ()),
                tests_run=1,
            ),
            patch=PatchSummary(sha256="0" * 64),
            proof=Proof(),
            duration_s=0.0,
        )

    return fake
"""

PROBE = """
import json, os, time
import pytest

from pytest_proofswe import executors

T = {"ray_start_s": 0.0}
_init = executors.RayExecutor.__init__


def _timed_init(self, *args, **kwargs):  # the cluster's start is measured apart from the run
    started = time.perf_counter()
    _init(self, *args, **kwargs)
    T["ray_start_s"] += time.perf_counter() - started


executors.RayExecutor.__init__ = _timed_init


def _status_kib(field):
    # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec (the parent's size would count).
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def _rss_kib():
    return _status_kib("VmRSS")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_finish(session):
    T["collected"] = time.perf_counter()
    T["rss_collected_kib"] = _rss_kib()
    T["items"] = len(session.items)


def pytest_sessionfinish(session):
    T["run_s"] = time.perf_counter() - T["collected"]
    T["rss_end_kib"] = _rss_kib()
    T["maxrss_kib"] = _status_kib("VmHWM")
    with open(os.environ["SIM_PROBE_OUT"], "w") as f:
        json.dump(T, f)
"""


def make_tasks(root: Path, count: int) -> None:
    """``count`` small tasks that share one base state, one submission each."""
    source = "def f(x):\n    return x - 1\n"
    test = "import calc\n\n\ndef test_f():\n    assert calc.f(1) == 2\n"
    patch = "--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n def f(x):\n-    return x - 1\n+    return x + 1\n"
    toml = '[tests]\nfail_to_pass = ["tests/test_calc.py::test_f"]\n'
    for n in range(count):
        task = root / f"t{n:05}"
        (task / "repo").mkdir(parents=True)
        (task / "repo" / "calc.py").write_text(source)
        (task / "hidden_tests" / "tests").mkdir(parents=True)
        (task / "hidden_tests" / "tests" / "test_calc.py").write_text(test)
        (task / "task.toml").write_text(toml)
        (task / "submissions").mkdir()
        (task / "submissions" / "agent.diff").write_text(patch)


def run_pytest(work: Path, tasks: Path, mode: str, cache: Path) -> dict[str, float]:
    out = work / "probe.json"
    env = {
        **os.environ,
        "PROOFSWE_CACHE_DIR": str(cache),
        "PROOFSWE_TESTING_GRADE_WRAPPER": f"{work / 'fake.py'}:wrap",
        "SIM_PROBE_OUT": str(out),
    }
    env.pop("PYTEST_ADDOPTS", None)
    argv = [sys.executable, "-m", "pytest", "--proofswe", str(tasks), "-q", "-p", "no:cacheprovider", "-p", "no:xdist"]
    started = time.perf_counter()
    done = subprocess.run(
        [*argv, "--proofswe-no-cache", *MODES[mode]], cwd=work, env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{mode}: pytest exited {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    data: dict[str, float] = json.loads(out.read_text())
    data["wall_s"] = wall
    return data


def seam(tasks: Path, work: Path, cache: Path, mode: str) -> tuple[float, float, int]:
    """(seconds per call, peak traced MiB, most calls in flight) of N calls through one executor."""
    from pytest_proofswe.executors import InlineExecutor, RayExecutor
    from pytest_proofswe.grading import GradeRequest
    from pytest_proofswe.remote import GraderSettings, grade_on_node
    from pytest_proofswe.task import find_submissions, load_task

    requests = []
    for folder in sorted(tasks.iterdir()):
        task = load_task(folder)
        requests += [GradeRequest(task, sub) for sub in find_submissions(task)]
    settings = GraderSettings(cache_dir=cache, testing_wrapper=f"{work / 'fake.py'}:wrap")
    executor = (
        InlineExecutor()
        if mode == "inline"
        else RayExecutor(cpus=2)
        if mode == "ray"
        else __import__("concurrent.futures").futures.ThreadPoolExecutor(2)
    )
    if mode == "ray":  # the workers start and import the grader once: not per call
        executor.submit(grade_on_node, requests[0], settings).result()
    tracemalloc.start()
    started = time.perf_counter()
    futures = [executor.submit(grade_on_node, r, settings) for r in requests]
    results = [f.result() for f in futures]
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert all(r.behaviour.status == "resolved" for r in results)
    in_flight = getattr(executor, "max_running", 1 if mode == "inline" else 2)
    executor.shutdown()
    return elapsed / len(requests), peak / 1024**2, in_flight


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--small", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--modes", nargs="*", default=list(MODES))
    parser.add_argument("--skip-seam", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "fake.py").write_text(FAKE)
        (work / "conftest.py").write_text(PROBE)
        sizes = {args.tasks: work / "tasks", args.small: work / "tasks-small"}
        for count, folder in sizes.items():
            make_tasks(folder, count)
        # The one base, built by a first run and shared by the others (not what this measures).
        shared = work / "shared-cache"
        run_pytest(work, sizes[args.small], "inline", shared)
        runs: dict[tuple[str, int], list[dict[str, float]]] = {(m, n): [] for m in args.modes for n in sizes}
        for round_ in range(args.rounds):
            for count, folder in sizes.items():
                for mode in args.modes:
                    cache = work / f"cache-{round_}-{count}-{mode.replace(' ', '')}"
                    cache.mkdir()
                    (cache / "bases").symlink_to(shared / "bases")
                    runs[(mode, count)].append(run_pytest(work, folder, mode, cache))
        print(f"{args.tasks} tasks ({args.tasks * 4} items), fake grading, {args.rounds} alternated rounds; medians")
        if "ray" in args.modes:
            start = statistics.median(r["ray_start_s"] for r in runs[("ray", args.tasks)])
            print(f"  the local Ray cluster (2 CPUs) started in {start:.1f} s: not counted below")
        print("  mode      run phase  per task  vs inline  controller RSS: collected -> end, peak; per task")
        inline = statistics.median(r["run_s"] for r in runs[("inline", args.tasks)]) if "inline" in args.modes else 0.0
        for mode in args.modes:
            big = runs[(mode, args.tasks)]
            small = runs[(mode, args.small)]
            run_s = statistics.median(r["run_s"] - r["ray_start_s"] for r in big)
            per_task_ms = 1000 * run_s / args.tasks
            rss_a = statistics.median(r["rss_collected_kib"] for r in big) / 1024
            rss_b = statistics.median(r["rss_end_kib"] for r in big) / 1024
            peak = statistics.median(r["maxrss_kib"] for r in big) / 1024
            small_peak = statistics.median(r["maxrss_kib"] for r in small) / 1024
            per_task_kib = (peak - small_peak) * 1024 / (args.tasks - args.small)
            ratio = f"{run_s / inline:.2f}x" if inline else "-"
            print(
                f"  {mode:8}  {run_s:7.1f} s  {per_task_ms:5.1f} ms  {ratio:>8}  "
                f"{rss_a:5.0f} -> {rss_b:5.0f} MiB, peak {peak:5.0f} MiB; {per_task_kib:5.1f} KiB/task "
                f"(peak at {args.small} tasks: {small_peak:.0f} MiB)"
            )
        if args.skip_seam:
            return
        print(f"the seam alone: {args.tasks} calls of grade_on_node (fake grading), no pytest; medians")
        cache = work / "seam-cache"
        cache.mkdir()
        seams: dict[str, list[tuple[float, float, int]]] = {m: [] for m in args.modes}
        for _ in range(args.rounds):
            for mode in args.modes:
                seams[mode].append(seam(sizes[args.tasks], work, cache, mode))
        for mode in args.modes:
            per_call = statistics.median(s[0] for s in seams[mode]) * 1000
            peak = statistics.median(s[1] for s in seams[mode])
            print(
                f"  {mode:8}  {per_call:6.2f} ms per call  traced peak {peak:6.1f} MiB  "
                f"in flight at most {max(s[2] for s in seams[mode])}"
            )


if __name__ == "__main__":
    main()
