"""--proofswe-compare OLD.json and --proofswe-fail-on-regression end to end (issue 13, item 6).

The story: an agent's submission ``minimal`` is graded; a later version of the agent writes
the over-engineered patch instead. It still resolves the task and passes the taste gate, so
the run passes, but its taste fell by 28 points: a regression the flag turns into exit 1.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURES

pytestmark = pytest.mark.slow

TASK = "inventory-restock"


def test_compare_with_an_old_report_and_fail_on_regression(pytester: pytest.Pytester) -> None:
    task = pytester.path / TASK
    shutil.copytree(FIXTURES / "tasks" / TASK, task)
    first = pytester.path / "first.json"
    run = pytester.runpytest_subprocess("--proofswe", str(task), "-k", "minimal", f"--proofswe-report={first}")
    run.assert_outcomes(passed=2, skipped=2)

    # The old report, as an older version of the tool may have written it: no session part, no agent or
    # trial; and a submission this run will not have.
    old = json.loads(first.read_text())
    (minimal,) = old["results"]
    for key in ("session", "agent", "trial"):
        del minimal[key]
    old["results"].append({**minimal, "submission": "gone"})
    old_path = pytester.path / "old.json"
    old_path.write_text(json.dumps(old))

    # The agent's next version: resolved still, taste 66.6 (above a gate of 60), 33.4 points down.
    shutil.copy(task / "submissions" / "overengineered" / "patch.diff", task / "submissions" / "minimal.diff")
    report = pytester.path / "second.json"
    args = [
        "--proofswe",
        str(task),
        "-k",
        "minimal or overengineered",
        f"--proofswe-compare={old_path}",
        "--proofswe-min-taste-score=60",
    ]
    run = pytester.runpytest_subprocess(*args, f"--proofswe-report={report}")
    assert run.ret == pytest.ExitCode.OK  # without the flag, a regression is reported, not a failure
    out = run.stdout.str()
    assert f"against {old_path} (pytest-proofswe 0.1.0): 1 changed, 0 unchanged, 1 new, 1 missing; 1 regressed" in out
    assert f"  {TASK}::minimal: taste 100 -> 66.6 (-33.4) REGRESSION" in out
    assert f"new in this run: {TASK}::overengineered" in out and f"missing from this run: {TASK}::gone" in out
    assert "old report: 2 result(s) of the old report have no session: session not compared for them" in out
    compare = json.loads(report.read_text())["compare"]
    assert compare["summary"] == {"changed": 1, "unchanged": 0, "new": 1, "missing": 1, "regressed": 1}
    assert compare["changed"][0]["agent"] == "minimal" and compare["changed"][0]["trial"] == 1
    assert compare["changed"][0]["changes"] == [
        {"field": "taste", "old": 100.0, "new": 66.6, "delta": -33.4, "regression": True}
    ]
    assert compare["thresholds"] == {"taste_drop": 5.0, "review_drop": 0.5}

    run = pytester.runpytest_subprocess(*args, "--proofswe-fail-on-regression")
    assert run.ret == pytest.ExitCode.TESTS_FAILED
    run.assert_outcomes(passed=4, skipped=4)  # every item passed: the regression alone fails the run
    assert (
        f"proofswe: --proofswe-fail-on-regression: 1 submission(s) regressed against {old_path}: "
        f"{TASK}::minimal (taste 100 -> 66.6 (-33.4) REGRESSION)"
    ) in run.stdout.str()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--proofswe-fail-on-regression"], "--proofswe-fail-on-regression fails the run when a submission regressed"),
        (["--proofswe-compare=missing.json"], "--proofswe-compare: cannot read missing.json"),
        (["--proofswe-compare=pyproject.toml"], "--proofswe-compare: cannot read pyproject.toml"),
        (["--proofswe-compare=other.json"], "other.json is not a pytest-proofswe JSON report"),
    ],
)
def test_bad_compare_options_are_usage_errors(pytester: pytest.Pytester, args: list[str], words: str) -> None:
    pytester.makepyprojecttoml("[tool.pytest.ini_options]\n")
    (pytester.path / "other.json").write_text('{"results": []}')
    run = pytester.runpytest_subprocess(*args, str(pytester.path))
    assert run.ret == pytest.ExitCode.USAGE_ERROR
    assert words in run.stderr.str()


def test_a_missing_submission_is_not_a_regression(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """A run that grades nothing the old report has (a subset, -k): listed as missing, the run still passes."""
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"schema": "proofswe-report/1", "results": [{"task": "t", "submission": "s"}]}))
    pytester.makepyfile("def test_ok():\n    pass\n")
    run = pytester.runpytest_subprocess(
        f"--proofswe-compare={old}", "--proofswe-fail-on-regression", "-p", "no:randomly"
    )
    assert run.ret == pytest.ExitCode.OK
    assert "0 changed, 0 unchanged, 0 new, 1 missing; 0 regressed" in run.stdout.str()
