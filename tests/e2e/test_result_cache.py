"""A re-run serves stored results whose inputs did not change, and grades only what changed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURES

pytestmark = pytest.mark.slow


def graded(report: Path) -> dict[str, tuple[str, bool, object]]:
    """submission -> (status, cached, taste score)."""
    return {
        r["submission"]: (r["behaviour"]["status"], r["cached"], (r.get("taste") or {}).get("score"))
        for r in json.loads(report.read_text())["results"]
    }


@pytest.fixture
def task(pytester: pytest.Pytester) -> Path:
    dest = pytester.path / "inventory-restock"
    shutil.copytree(FIXTURES / "tasks" / "inventory-restock", dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def run(
    pytester: pytest.Pytester, task: Path, *args: str
) -> tuple[pytest.RunResult, dict[str, tuple[str, bool, object]]]:
    report = pytester.path / "r.json"
    result = pytester.runpytest_subprocess(
        "--proofswe", str(task), "-k", "minimal or partial or wrong", f"--proofswe-report={report}", *args
    )
    return result, graded(report)


def test_a_rerun_serves_what_did_not_change_and_grades_what_did(pytester: pytest.Pytester, task: Path) -> None:
    first_run, first = run(pytester, task)
    assert set(first) == {"minimal", "partial", "wrong"} and not any(cached for _s, cached, _t in first.values())

    second_run, second = run(pytester, task)
    assert {k: (s, t) for k, (s, _c, t) in second.items()} == {k: (s, t) for k, (s, _c, t) in first.items()}
    assert all(cached for _s, cached, _t in second.values())
    out = second_run.stdout.str()
    assert "3 of 3 results from the result cache: nothing they depend on changed" in out
    assert " cached" in next(line for line in second_run.stdout.lines if line.startswith("inventory-restock  minimal"))
    assert json.loads((pytester.path / "r.json").read_text())["summary"]["cached"] == 3
    # The same pass/fail outcomes for pytest: the items judge the stored result as they did the fresh one.
    assert second_run.parseoutcomes() == first_run.parseoutcomes()

    # One submission's patch changes: only it is graded again.
    patch = task / "submissions" / "partial.diff"
    patch.write_text(patch.read_text() + "\n")
    _run, third = run(pytester, task)
    assert {k: cached for k, (_s, cached, _t) in third.items()} == {"minimal": True, "partial": False, "wrong": True}

    # The task changes (a longer timeout): every submission of it is graded again.
    toml = task / "task.toml"
    toml.write_text(toml.read_text().replace("timeout = 60", "timeout = 61"))
    _run, fourth = run(pytester, task)
    assert not any(cached for _s, cached, _t in fourth.values())


@pytest.mark.parametrize("flag", ["--proofswe-no-cache", "--cache-clear"])
def test_no_cache_and_cache_clear_grade_everything_again(pytester: pytest.Pytester, task: Path, flag: str) -> None:
    run(pytester, task)
    _run, again = run(pytester, task, flag)
    assert not any(cached for _s, cached, _t in again.values())
    _run, after = run(pytester, task)  # what the forced run graded was stored
    assert all(cached for _s, cached, _t in after.values())


def test_a_run_stopped_halfway_resumes_where_it_stopped(pytester: pytest.Pytester, task: Path) -> None:
    report = pytester.path / "r.json"
    stopped = pytester.runpytest_subprocess(
        "--proofswe", str(task), "-k", "minimal or partial or wrong", "-x", f"--proofswe-report={report}"
    )
    done_before = graded(report)
    assert stopped.ret == 1 and 0 < len(done_before) < 3  # -x stopped it at the first failure
    _run, resumed = run(pytester, task)
    assert {k for k, (_s, cached, _t) in resumed.items() if cached} == set(done_before)


def test_kept_workspaces_are_never_served_from_the_cache(pytester: pytest.Pytester, task: Path) -> None:
    run(pytester, task)
    _run, kept = run(pytester, task, "--proofswe-keep-workspaces")
    assert not any(cached for _s, cached, _t in kept.values())
