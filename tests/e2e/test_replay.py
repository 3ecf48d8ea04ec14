"""--proofswe-replay: grading again from a report says what reproduces and what differs."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import FIXTURES

pytestmark = pytest.mark.slow


def test_replay_reproduces_and_reports_differences(pytester: pytest.Pytester) -> None:
    task = pytester.path / "inventory-restock"
    shutil.copytree(FIXTURES / "tasks" / "inventory-restock", task)
    first = pytester.path / "first.json"
    pytester.runpytest_subprocess("--proofswe", str(task), "-k", "minimal or wrong", f"--proofswe-report={first}")
    # Same inputs: everything reproduces, and only the report's results are graded again.
    again = pytester.path / "again.json"
    res = pytester.runpytest_subprocess(f"--proofswe-replay={first}", str(task), f"--proofswe-report={again}")
    assert "2 reproduce, 0 differ, 0 not graded again" in res.stdout.str()
    replay = json.loads(again.read_text())["replay"]
    assert sorted(r["submission"] for r in replay["reproduced"]) == ["minimal", "wrong"]
    # A different verdict: pretend the first run had recorded a resolved "wrong".
    data = json.loads(first.read_text())
    wrong = next(r for r in data["results"] if r["submission"] == "wrong")
    wrong["behaviour"]["status"] = "resolved"
    wrong["behaviour"]["fail_to_pass"]["passed"] = ["tests/test_restock.py::test_pending_orders_counted"]
    wrong["proof"]["patch_sha256"] = "0" * 64
    first.write_text(json.dumps(data))
    res = pytester.runpytest_subprocess(f"--proofswe-replay={first}", str(task))
    out = res.stdout.str()
    assert "1 reproduce, 1 differ, 0 not graded again" in out
    assert "      input changed: patch_sha256 000000000000 ->" in out
    assert "      behaviour: resolved -> unresolved" in out
    assert "      fail_to_pass: no longer pass: tests/test_restock.py::test_pending_orders_counted" in out


def test_replay_of_a_non_report_is_a_usage_error(pytester: pytest.Pytester) -> None:
    bad = pytester.path / "x.json"
    bad.write_text('{"hello": 1}')
    res = pytester.runpytest_subprocess(f"--proofswe-replay={bad}")
    assert res.ret == pytest.ExitCode.USAGE_ERROR and "is not a pytest-proofswe JSON report" in res.stderr.str()
