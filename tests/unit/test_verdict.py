"""SWE-bench's resolution semantics, including how skips, xfails and missing tests count."""

from __future__ import annotations

import pytest

from pytest_proofswe.harness.runner import TestOutcome
from pytest_proofswe.harness.verdict import decide

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


# -- canaries and declared xfails (issue 10, item 2) ----------------------------------------

CANARIES = {"c.py::must_fail": "failed", "c.py::must_pass": "passed"}
ALL_PASS = dict(f1="passed", f2="passed", p1="passed")


def canary_outcomes(must_fail: str | None, must_pass: str | None) -> dict[str, TestOutcome]:
    out = {}
    for test_id, got in (("c.py::must_fail", must_fail), ("c.py::must_pass", must_pass)):
        if got is not None:
            out[test_id] = TestOutcome(test_id, got, "")  # type: ignore[arg-type]
    return out


@pytest.mark.parametrize(
    ("hidden", "must_fail", "must_pass", "status"),
    [
        (ALL_PASS, "failed", "passed", "resolved"),  # the canaries as expected: the hidden tests decide
        (dict(f1="passed", f2="failed", p1="passed"), "failed", "passed", "partial"),
        (ALL_PASS, "passed", "passed", "tampered"),  # every failure turned into a pass
        (ALL_PASS, "xfailed", "passed", "tampered"),
        (ALL_PASS, "skipped", "passed", "tampered"),
        (dict(f1="failed", f2="failed", p1="failed"), "failed", "failed", "tampered"),  # everything made to fail
        (dict(f1="failed", f2="failed", p1="passed"), "passed", "passed", "tampered"),  # wrong even when unresolved
        (ALL_PASS, None, None, "tampered"),  # every hidden test passed, the canaries were cut off
        (ALL_PASS, "failed", None, "tampered"),
        (dict(f1="failed", f2="passed", p1="passed"), None, None, "partial"),  # a run stopped early (-x)
        ({}, None, None, "unresolved"),  # nothing ran (a collection error): no lie
    ],
)
def test_canaries(hidden: dict[str, str], must_fail: str | None, must_pass: str | None, status: str) -> None:
    v = decide(F2P, P2P, outcomes(**hidden), canaries=CANARIES, canary_outcomes=canary_outcomes(must_fail, must_pass))
    assert v.status == status
    assert [c.test_id for c in v.canaries] == list(CANARIES)
    assert bool(v.tampered) == (status == "tampered")


def test_tampered_reason_names_the_canary_and_what_it_got() -> None:
    v = decide(F2P, P2P, outcomes(**ALL_PASS), canaries=CANARIES, canary_outcomes=canary_outcomes("passed", None))
    assert v.tampered == (
        "the test results were tampered with: canary c.py::must_fail (must fail) got passed; "
        "canary c.py::must_pass (must pass) got not run"
    )
    assert [c.to_json() for c in v.canaries] == [
        {"test_id": "c.py::must_fail", "expected": "failed", "got": "passed", "ok": False},
        {"test_id": "c.py::must_pass", "expected": "passed", "got": "not run", "ok": False},
    ]
    # The canaries are not hidden tests: not in F2P/P2P.
    assert "c.py::must_fail" not in v.fail_to_pass.passed + v.pass_to_pass.passed


def test_no_canaries_keeps_swebench_semantics() -> None:
    assert decide(F2P, P2P, outcomes(**ALL_PASS)).canaries == ()


@pytest.mark.parametrize(
    ("marked", "status"),
    [
        (None, "resolved"),  # unknown: every xfail counts, as SWE-bench
        ({"t.py::f2"}, "resolved"),  # the hidden test is marked xfail
        (set(), "partial"),  # xfailed without a marker: pytest.xfail() called by the code under test
    ],
)
def test_xfail_counts_only_when_declared(marked: set[str] | None, status: str) -> None:
    v = decide(F2P, P2P, outcomes(f1="passed", f2="xfailed", p1="passed"), xfail_marked=marked)
    assert v.status == status
    if status == "partial":
        assert v.fail_to_pass.failed == ("t.py::f2",)
        assert "not marked xfail" in v.fail_to_pass.reasons["t.py::f2"]


def test_undeclared_xfail_fails_pass_to_pass_too() -> None:
    v = decide(F2P, P2P, outcomes(f1="passed", f2="passed", p1="xfailed"), xfail_marked=frozenset())
    assert v.status == "unresolved"
    assert v.pass_to_pass.failed == ("t.py::p1",)


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


def test_a_wrong_canary_is_described_with_the_first_line_of_its_message() -> None:
    """The reason says why the canary got what it got (an error's first line), only when it is wrong."""
    got = {
        "c.py::must_fail": TestOutcome("c.py::must_fail", "error", "ImportError: no module x\n  more detail"),
        "c.py::must_pass": TestOutcome("c.py::must_pass", "passed", "captured output"),
    }
    v = decide(F2P, P2P, outcomes(**ALL_PASS), canaries=CANARIES, canary_outcomes=got)
    assert v.tampered == (
        "the test results were tampered with: canary c.py::must_fail (must fail) got error: ImportError: no module x"
    )
    assert [c.message for c in v.canaries] == ["ImportError: no module x\n  more detail", "captured output"]
    assert [c.describe() for c in v.canaries][1] == "canary c.py::must_pass (must pass) got passed"


def test_an_undeclared_xfail_reason_keeps_pytests_message() -> None:
    xfailed = {**outcomes(f1="passed", p1="passed"), "t.py::f2": TestOutcome("t.py::f2", "xfailed", "reason: flaky")}
    v = decide(F2P, P2P, xfailed, xfail_marked=frozenset())
    reason = v.fail_to_pass.reasons["t.py::f2"]
    assert reason.endswith(": reason: flaky") and "not marked xfail" in reason
    bare = {**xfailed, "t.py::f2": TestOutcome("t.py::f2", "xfailed", "")}
    assert decide(F2P, P2P, bare, xfail_marked=frozenset()).fail_to_pass.reasons["t.py::f2"].endswith("as a pass")
