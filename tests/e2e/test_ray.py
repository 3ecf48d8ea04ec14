"""--proofswe-executor=ray: pytest stays the controller, a Ray cluster grades (local clusters here)."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES, GraderRun, needs_ray, run_grader

pytestmark = pytest.mark.slow

# The example tasks, less units-convert (its `hang` submission waits out an 8 s timeout).
QUICK_TASKS = ("inventory-restock", "slugify-git", "netrc-leak")

# A testing seam (pytest_proofswe/remote.py): each grading is logged; the first attempt of
# `minimal` kills its Ray worker process, as a lost node or an OOM kill would.
KILLER = """
import os
from pathlib import Path

LOG = Path(__file__).with_name("gradings.log")


def wrap(grade):
    def run(request):
        name = f"{request.task.id}::{request.submission.name}"
        first = name not in LOG.read_text().split() if LOG.exists() else True
        with LOG.open("a") as log:
            log.write(name + "\\n")
        if request.submission.name == "minimal" and first:
            os._exit(1)
        return grade(request)

    return run
"""

COUNTER = """
from pathlib import Path


def wrap(grade):
    def run(request):
        with Path(__file__).with_name("gradings.log").open("a") as log:
            log.write(f"{request.task.id}::{request.submission.name}\\n")
        return grade(request)

    return run
"""


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A copy of fixtures/ (relative git paths still resolve)."""
    shutil.copytree(FIXTURES, tmp_path / "fixtures", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


@pytest.fixture
def task(pytester: pytest.Pytester) -> Path:
    """inventory-restock, copied into the pytester folder (where its conftest.py applies)."""
    dest = pytester.path / "inventory-restock"
    shutil.copytree(FIXTURES / "tasks" / "inventory-restock", dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def slug(mode: str) -> str:
    return re.sub(r"\W+", "-", mode).strip("-")


def grades(run: GraderRun) -> dict[tuple[str, str], tuple[Any, ...]]:
    """(task, submission) -> everything a grade says: status, tests, taste score and findings, review, session."""
    out = {}
    for key, r in run.by_task.items():
        b, taste = r["behaviour"], r.get("taste") or {}
        out[key] = (
            b["status"],
            tuple(b["fail_to_pass"]["passed"]),
            tuple(b["pass_to_pass"]["passed"]),
            taste.get("score"),
            taste.get("passed"),
            tuple(sorted(f["rule"] for f in taste.get("findings", []))),
            (r.get("review") or {}).get("status"),
            (r.get("session") or {}).get("status"),
        )
    return out


def outcomes(junit: Path) -> dict[str, str]:
    """node -> passed / failed / error / skipped, from a --junitxml file."""
    found = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        found[f"{case.get('classname')}::{case.get('name')}"] = kinds[0] if kinds else "passed"
    return found


def summary_counts(output: str) -> dict[str, int]:
    last = [line for line in output.splitlines() if re.match(r"^=+ .* in [\d.]+s", line)][-1]
    return {kind: int(n) for n, kind in re.findall(r"(\d+) (\w+)", last)}


@needs_ray
def test_the_same_grades_from_every_way_of_running(work: Path, cache_dir: Path) -> None:
    """-n 0, -n 2, --proofswe-jobs 2, the Ray executor on a local cluster, and a cached re-run agree."""
    tasks = [f"fixtures/tasks/{t}" for t in QUICK_TASKS]
    modes = {
        "-n 0": ["-p", "no:xdist", "--proofswe-no-cache"],
        "-n 2": ["-n", "2", "--proofswe-no-cache"],
        "--proofswe-jobs 2": ["-p", "no:xdist", "--proofswe-jobs", "2", "--proofswe-no-cache"],
        "--proofswe-executor=ray": ["-p", "no:xdist", "--proofswe-executor=ray", "--proofswe-no-cache"],
        # Nothing changed since the runs above: every result is served from the result cache.
        "cached re-run": ["-p", "no:xdist", "--proofswe-executor=ray"],
    }
    runs: dict[str, GraderRun] = {}
    for mode, args in modes.items():
        run = run_grader(work, cache_dir, "--proofswe", *tasks, f"--junitxml=junit-{slug(mode)}.xml", *args)
        assert run.returncode == 1, run.output[-3000:]  # some example submissions fail
        runs[mode] = GraderRun(run.returncode, run.output, run.report_path.rename(work / f"report-{slug(mode)}.json"))

    first = runs["-n 0"]
    expected = grades(first)
    assert len(expected) == 17 and {g[0] for g in expected.values()} >= {"resolved", "unresolved", "patch_failed"}
    for mode, run in runs.items():
        assert grades(run) == expected, mode
        assert outcomes(work / f"junit-{slug(mode)}.xml") == outcomes(work / "junit-n-0.xml"), mode
        assert summary_counts(run.output) == summary_counts(first.output), mode

    ray_run, cached = runs["--proofswe-executor=ray"], runs["cached re-run"]
    assert "proofswe: grading on Ray, a local cluster of" in ray_run.output
    assert not any(r["cached"] for r in ray_run.report["results"])
    assert all(r["cached"] for r in cached.report["results"])
    assert "grading on Ray" not in cached.output  # everything was stored: no cluster was started


@needs_ray
def test_a_lost_ray_worker_is_graded_again_and_a_failing_submission_is_not(work: Path, cache_dir: Path) -> None:
    killer = work / "killer.py"
    killer.write_text(KILLER)
    run = run_grader(
        work,
        cache_dir,
        "--proofswe",
        "fixtures/tasks/inventory-restock",
        "-k",
        "minimal or wrong",
        "--proofswe-executor=ray",
        env={"PROOFSWE_TESTING_GRADE_WRAPPER": f"{killer}:wrap"},
    )
    gradings = (work / "gradings.log").read_text().split()
    # minimal: its first worker died in the middle of the grading, the second attempt graded it;
    # wrong (its tests fail): graded once.
    assert sorted(gradings) == ["inventory-restock::minimal", "inventory-restock::minimal", "inventory-restock::wrong"]
    statuses = {k[1]: v["behaviour"]["status"] for k, v in run.by_task.items()}
    assert statuses == {"minimal": "resolved", "wrong": "unresolved"}, run.output[-3000:]
    assert re.search(
        r"proofswe: inventory-restock::minimal: its Ray worker was lost 1 time, the grading was run again "
        r"\(WorkerCrashedError: ",
        run.output,
    ), run.output[-3000:]
    assert "inventory-restock::wrong: its Ray worker" not in run.output
    assert run.returncode == 1  # wrong fails, as in a local run


@needs_ray
def test_x_stops_the_dispatch_and_lf_regrades_only_the_failure(
    pytester: pytest.Pytester, task: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    counter = pytester.path / "counter.py"
    counter.write_text(COUNTER)
    log = pytester.path / "gradings.log"
    monkeypatch.setenv("PROOFSWE_TESTING_GRADE_WRAPPER", f"{counter}:wrap")
    report = pytester.path / "r.json"
    stopped = pytester.runpytest_subprocess(
        "--proofswe", str(task), "--proofswe-executor=ray", "--proofswe-jobs=1", "-x", f"--proofswe-report={report}"
    )
    stopped.stdout.fnmatch_lines(["*grading on Ray, a local cluster of 1 CPUs*", "*stopping after 1 failures*"])
    graded = log.read_text().split()
    # bloated fails first (its taste); what had not started when -x stopped the run never was.
    assert graded[0] == "inventory-restock::bloated" and len(graded) < 9, graded
    assert [r["submission"] for r in json.loads(report.read_text())["results"]] == ["bloated"]

    log.unlink()
    again = pytester.runpytest_subprocess(
        "--proofswe", str(task), "--proofswe-executor=ray", "--lf", "--proofswe-no-cache", f"--proofswe-report={report}"
    )
    again.assert_outcomes(failed=1, deselected=35)
    assert log.read_text().split() == ["inventory-restock::bloated"]


def test_ray_not_installed_is_a_usage_error_saying_how_to_install_it(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("import sys\nsys.modules['ray'] = None  # as when Ray is not installed\n")
    result = pytester.runpytest_subprocess("--proofswe", "--proofswe-executor=ray")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert (
        "ERROR: --proofswe-executor=ray needs Ray, which is not installed here "
        "(fix: pip install 'pytest-proofswe[ray]')" in result.stderr.str()
    )


@pytest.mark.parametrize(
    ("args", "pyproject", "message"),
    [
        (
            ["--proofswe-ray-address=10.0.0.1:6379"],
            "",
            "--proofswe-ray-address=10.0.0.1:6379 names a Ray cluster, but the executor is 'local' "
            "(fix: add --proofswe-executor=ray, or drop the address)",
        ),
        (
            [],
            '[tool.proofswe]\nexecutor = "dask"\n',
            "--proofswe-executor (or executor in [tool.proofswe], proofswe_executor in the ini file) "
            "must be one of local, ray, got 'dask'",
        ),
        (
            ["-o", "proofswe_executor=spark"],
            "",
            "--proofswe-executor (or executor in [tool.proofswe], proofswe_executor in the ini file) "
            "must be one of local, ray, got 'spark'",
        ),
        (
            ["-n", "2", "--proofswe-executor=ray"],
            "",
            "--proofswe-executor=ray and -n 2: each pytest-xdist worker would dispatch to Ray on its own (fix: drop -n;",
        ),
    ],
)
def test_executor_settings_are_checked(
    pytester: pytest.Pytester, args: list[str], pyproject: str, message: str
) -> None:
    if pyproject:
        pytester.makefile(".toml", pyproject=pyproject)
    result = pytester.runpytest_subprocess("--proofswe", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"ERROR: {message}" in result.stderr.str()


@needs_ray
def test_grading_hooks_cannot_run_on_a_ray_node(pytester: pytest.Pytester, task: Path) -> None:
    pytester.makeconftest("def pytest_proofswe_taste_findings(config, context):\n    return []\n")
    result = pytester.runpytest_subprocess("--proofswe", str(task), "--proofswe-executor=ray")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*--proofswe-executor=ray: pytest_proofswe_taste_findings (*conftest.py) run inside each grading, "
            "in the pytest process, and a Ray node has no pytest process (fix: grade with the local executor*"
        ]
    )


@needs_ray
def test_an_address_where_nothing_answers_is_a_usage_error_at_once(pytester: pytest.Pytester, task: Path) -> None:
    result = pytester.runpytest_subprocess(
        "--proofswe", str(task), "--proofswe-executor=ray", "--proofswe-ray-address=127.0.0.1:1"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--proofswe-ray-address=127.0.0.1:1: nothing answers there*ray start --head*"])
