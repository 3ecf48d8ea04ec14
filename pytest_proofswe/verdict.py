"""From per-test outcomes to a behaviour status (pure; SWE-bench's semantics).

* A FAIL_TO_PASS test counts as passed when it ``passed``, ``xfailed`` or ``xpassed``
  (non-strict); ``failed``, ``error``, ``skipped`` or missing from the run is a failure.
* A PASS_TO_PASS test counts as passed when it ``passed``, ``xfailed``, ``xpassed`` or
  was ``skipped`` (as SWE-bench, which ignores skipped tests: skips depend on the
  machine, not the patch); ``failed``, ``error`` or missing is a failure. Skipped
  PASS_TO_PASS tests are listed under ``skipped`` in the report.
* ``resolved``: every F2P and every P2P test passes. ``partial``: at least one but not
  every F2P test passes, and every P2P test passes. Otherwise ``unresolved``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from .runner import TestOutcome

__all__ = ["STATUSES", "Status", "TestGroup", "Verdict", "decide"]

Status = Literal["resolved", "partial", "unresolved", "patch_failed", "timeout", "error"]
STATUSES: tuple[Status, ...] = ("resolved", "partial", "unresolved", "patch_failed", "timeout", "error")

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
class Verdict:
    status: Status
    fail_to_pass: TestGroup
    pass_to_pass: TestGroup


def _group(
    ids: Sequence[str], outcomes: Mapping[str, TestOutcome], passing: set[str], missing_reason: str
) -> TestGroup:
    passed, failed, skipped, reasons = [], [], [], {}
    for test_id in ids:
        outcome = outcomes.get(test_id)
        if outcome is None:
            failed.append(test_id)
            reasons[test_id] = missing_reason
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
) -> Verdict:
    """The verdict for the given F2P and P2P ids from per-test ``outcomes``."""
    f2p = _group(fail_to_pass, outcomes, _F2P_PASS, missing_reason)
    p2p = _group(pass_to_pass, outcomes, _P2P_PASS, missing_reason)
    if not f2p.failed and not p2p.failed:
        status: Status = "resolved"
    elif f2p.passed and not p2p.failed:
        status = "partial"
    else:
        status = "unresolved"
    return Verdict(status, f2p, p2p)
