"""SWE-bench's resolution semantics, including how skips, xfails and missing tests count."""

from __future__ import annotations

import pytest

from pytest_proofswe.runner import TestOutcome
from pytest_proofswe.verdict import decide

F2P = ["t.py::f1", "t.py::f2"]
P2P = ["t.py::p1"]


def outcomes(**by_name: str) -> dict[str, TestOutcome]:
    return {f"t.py::{k}": TestOutcome(f"t.py::{k}", v, "boom" if v == "failed" else "") for k, v in by_name.items()}  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("given", "status"),
    [
        (dict(f1="passed", f2="passed", p1="passed"), "resolved"),
        (dict(f1="passed", f2="xfailed", p1="passed"), "resolved"),
        (dict(f1="passed", f2="passed", p1="skipped"), "resolved"),
        (dict(f1="passed", f2="passed", p1="xfailed"), "resolved"),
        (dict(f1="passed", f2="failed", p1="passed"), "partial"),
        (dict(f1="passed", f2="skipped", p1="passed"), "partial"),
        (dict(f1="passed", p1="passed"), "partial"),  # f2 missing
        (dict(f1="passed", f2="passed", p1="failed"), "unresolved"),
        (dict(f1="passed", f2="failed", p1="error"), "unresolved"),
        (dict(f1="failed", f2="error", p1="passed"), "unresolved"),
        (dict(f1="passed", f2="passed"), "unresolved"),  # p1 missing
        ({}, "unresolved"),
    ],
)
def test_status(given: dict[str, str], status: str) -> None:
    assert decide(F2P, P2P, outcomes(**given)).status == status


def test_groups_and_reasons() -> None:
    v = decide(F2P, P2P, outcomes(f1="failed", f2="skipped", p1="skipped"), missing_reason="not run")
    assert v.fail_to_pass.failed == ("t.py::f1", "t.py::f2")
    assert v.fail_to_pass.reasons["t.py::f1"] == "failed: boom"
    assert v.fail_to_pass.reasons["t.py::f2"] == "skipped"
    assert v.pass_to_pass.passed == ("t.py::p1",) and v.pass_to_pass.skipped == ("t.py::p1",)
    missing = decide(F2P, [], {}, missing_reason="not run")
    assert missing.fail_to_pass.reasons["t.py::f1"] == "not run"


def test_every_failing_outcome_is_named_in_its_reason() -> None:
    given = {
        "t.py::f1": TestOutcome("t.py::f1", "error", "fixture 'db' not found"),
        "t.py::f2": TestOutcome("t.py::f2", "skipped", "needs linux"),
        "t.py::p1": TestOutcome("t.py::p1", "error"),
    }
    v = decide(F2P, P2P, given)
    assert v.fail_to_pass.reasons == {"t.py::f1": "error: fixture 'db' not found", "t.py::f2": "skipped: needs linux"}
    assert v.pass_to_pass.reasons == {"t.py::p1": "error"}
    assert v.pass_to_pass.failed == ("t.py::p1",) and v.pass_to_pass.passed == ()


def test_a_missing_test_is_a_failure_of_its_list_with_the_reason_given() -> None:
    v = decide(F2P, P2P, outcomes(f1="passed"), missing_reason="not run")
    assert v.fail_to_pass.passed == ("t.py::f1",) and v.fail_to_pass.failed == ("t.py::f2",)
    assert v.fail_to_pass.reasons == {"t.py::f2": "not run"}
    assert v.pass_to_pass.failed == ("t.py::p1",)
    assert v.pass_to_pass.reasons == {"t.py::p1": "not run"}
    assert (v.fail_to_pass.total, v.pass_to_pass.total) == (2, 1)


def test_the_default_reason_for_a_missing_test_says_why() -> None:
    v = decide([], P2P, {})
    assert v.pass_to_pass.reasons == {
        "t.py::p1": "not in the test run's results (not collected, or the run stopped early)"
    }


def test_group_json_lists_passed_failed_and_skipped() -> None:
    v = decide(F2P, P2P, outcomes(f1="passed", f2="failed", p1="skipped"))
    assert v.fail_to_pass.to_json() == {"passed": ["t.py::f1"], "failed": ["t.py::f2"], "skipped": []}
    assert v.pass_to_pass.to_json() == {"passed": ["t.py::p1"], "failed": [], "skipped": ["t.py::p1"]}
