"""From per-test outcomes to a behaviour status (pure; SWE-bench's semantics).

* A FAIL_TO_PASS test counts as passed when it ``passed``, ``xfailed`` or ``xpassed``
  (non-strict); ``failed``, ``error``, ``skipped`` or missing from the run is a failure.
* A PASS_TO_PASS test counts as passed when it ``passed``, ``xfailed``, ``xpassed`` or
  was ``skipped`` (as SWE-bench, which ignores skipped tests: skips depend on the
  machine, not the patch); ``failed``, ``error`` or missing is a failure. Skipped
  PASS_TO_PASS tests are listed under ``skipped`` in the report. A skip the submission
  raised itself (``untrusted_skips``: :mod:`.skips`, a skip raised from a file the patch
  wrote) is a failure.
* ``xfailed`` counts as a pass only for a test whose own source declares it xfail
  (``xfail_marked``): a submission whose code calls ``pytest.xfail()`` does not turn a
  failing hidden test into a pass. Without ``xfail_marked`` every xfail counts (SWE-bench).
* ``resolved``: every F2P and every P2P test passes. ``partial``: at least one but not
  every F2P test passes, and every P2P test passes. Otherwise ``unresolved``.
* ``tampered``: a canary test (:mod:`.canary`) did not get its known outcome (a
  must-fail canary passed, a must-pass one failed), or the canaries are missing from a
  run whose hidden tests all passed: the run's results cannot be trusted.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from .runner import TestOutcome

__all__ = ["STATUSES", "CanaryCheck", "Status", "TestGroup", "Verdict", "decide"]

Status = Literal["resolved", "partial", "unresolved", "tampered", "patch_failed", "timeout", "error"]
STATUSES: tuple[Status, ...] = ("resolved", "partial", "unresolved", "tampered", "patch_failed", "timeout", "error")

_F2P_PASS = {"passed", "xfailed", "xpassed"}
_P2P_PASS = {"passed", "xfailed", "xpassed", "skipped"}


@dataclass(frozen=True)
class TestGroup:
    """The tests of one list (F2P or P2P), split by how they count."""

    __test__ = False

    passed: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    # test id -> why it failed (the first lines of its failure, or "not run")
    reasons: Mapping[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.passed) + len(self.failed)

    def to_json(self) -> dict[str, object]:
        return {"passed": list(self.passed), "failed": list(self.failed), "skipped": list(self.skipped)}


@dataclass(frozen=True)
class CanaryCheck:
    """One canary test: the outcome it must have and the one it got (``not run`` when missing)."""

    test_id: str
    expected: str  # "failed" or "passed"
    got: str
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.got == self.expected

    def describe(self) -> str:
        must = "must fail" if self.expected == "failed" else "must pass"
        text = f"canary {self.test_id} ({must}) got {self.got}"
        return f"{text}: {self.message.splitlines()[0]}" if self.message and not self.ok else text

    def to_json(self) -> dict[str, object]:
        return {"test_id": self.test_id, "expected": self.expected, "got": self.got, "ok": self.ok}


@dataclass(frozen=True)
class Verdict:
    status: Status
    fail_to_pass: TestGroup
    pass_to_pass: TestGroup
    canaries: tuple[CanaryCheck, ...] = ()
    tampered: str = ""  # why the status is tampered: which canary got what


_UNDECLARED_XFAIL = (
    "xfailed, but the hidden test is not marked xfail: code outside the test (the code under test?) "
    "called pytest.xfail(), which does not count as a pass"
)


def _group(
    ids: Sequence[str],
    outcomes: Mapping[str, TestOutcome],
    passing: set[str],
    missing_reason: str,
    xfail_marked: Collection[str] | None,
    untrusted_skips: Mapping[str, str],
) -> TestGroup:
    passed, failed, skipped, reasons = [], [], [], {}
    for test_id in ids:
        outcome = outcomes.get(test_id)
        if outcome is None:
            failed.append(test_id)
            reasons[test_id] = missing_reason
        elif outcome.outcome == "xfailed" and xfail_marked is not None and test_id not in xfail_marked:
            failed.append(test_id)
            reasons[test_id] = f"{_UNDECLARED_XFAIL}: {outcome.message}" if outcome.message else _UNDECLARED_XFAIL
        elif outcome.outcome == "skipped" and test_id in untrusted_skips:
            failed.append(test_id)
            reasons[test_id] = untrusted_skips[test_id]
        elif outcome.outcome in passing:
            passed.append(test_id)
            if outcome.outcome == "skipped":
                skipped.append(test_id)
        else:
            failed.append(test_id)
            label = outcome.outcome
            reasons[test_id] = f"{label}: {outcome.message}" if outcome.message else label
    return TestGroup(tuple(passed), tuple(failed), tuple(skipped), reasons)


def decide(
    fail_to_pass: Sequence[str],
    pass_to_pass: Sequence[str],
    outcomes: Mapping[str, TestOutcome],
    *,
    missing_reason: str = "not in the test run's results (not collected, or the run stopped early)",
    canaries: Mapping[str, str] | None = None,
    canary_outcomes: Mapping[str, TestOutcome] | None = None,
    xfail_marked: Collection[str] | None = None,
    untrusted_skips: Mapping[str, str] | None = None,
) -> Verdict:
    """The verdict for the given F2P and P2P ids from per-test ``outcomes``.

    ``canaries`` maps each canary test id to the outcome it must have (``failed`` or
    ``passed``), ``canary_outcomes`` has what they got. ``xfail_marked`` are the ids
    whose source declares them xfail (None: every xfail counts, as SWE-bench).
    ``untrusted_skips`` maps the ids of skips the submission raised to why.
    """
    skips = untrusted_skips or {}
    f2p = _group(fail_to_pass, outcomes, _F2P_PASS, missing_reason, xfail_marked, skips)
    p2p = _group(pass_to_pass, outcomes, _P2P_PASS, missing_reason, xfail_marked, skips)
    if not f2p.failed and not p2p.failed:
        status: Status = "resolved"
    elif f2p.passed and not p2p.failed:
        status = "partial"
    else:
        status = "unresolved"
    got = canary_outcomes or {}
    checks = tuple(
        CanaryCheck(
            test_id,
            expected,
            got[test_id].outcome if test_id in got else "not run",
            got[test_id].message if test_id in got else "",
        )
        for test_id, expected in (canaries or {}).items()
    )
    # A canary that ran with the wrong outcome is tampering whatever the hidden tests
    # got; canaries that did not run at all are, when the hidden tests all passed (a run
    # cut short before them, or their results removed). When hidden tests failed, a run
    # stopped early (a collection error, -x in the task's command) is not a lie.
    wrong = [c for c in checks if not c.ok and (c.got != "not run" or status == "resolved")]
    if wrong:
        why = "; ".join(c.describe() for c in wrong)
        return Verdict("tampered", f2p, p2p, checks, f"the test results were tampered with: {why}")
    return Verdict(status, f2p, p2p, checks)
