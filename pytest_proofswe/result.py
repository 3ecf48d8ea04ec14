"""The values a grading produces: small, frozen, serialisable to the JSON report."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .harness.verdict import CanaryCheck, Status, TestGroup
from .review.reviewer import ReviewResult
from .session import SessionResult
from .task import agent_of, split_trial
from .taste.model import TasteResult

__all__ = ["MAX_REPORTED_PATCH_CHARS", "BehaviourResult", "GradeResult", "PatchSummary", "Proof", "reported_patch"]

#: The report keeps the patch's text up to this many characters (the HTML report shows it).
MAX_REPORTED_PATCH_CHARS = 200_000


def reported_patch(text: str) -> tuple[str, bool]:
    """The patch as the report keeps it: cut at a line end past MAX_REPORTED_PATCH_CHARS, credentials redacted.

    Returns (the text, whether it was cut). A report is shared more widely than a
    submission: a credential the diff adds is shown as ``[REDACTED kind]``, as the reviewer
    is sent it (the taste finding ``secrets-credential`` says where it was).
    """
    from .review.prompt import redact

    cut = len(text) > MAX_REPORTED_PATCH_CHARS
    if cut:
        text = text[: text.rfind("\n", 0, MAX_REPORTED_PATCH_CHARS) + 1]
    return redact(text)[0], cut


@dataclass(frozen=True)
class PatchSummary:
    sha256: str
    files: tuple[tuple[str, str], ...] = ()  # (kind, path)
    applied_with: str | None = None
    attempts: tuple[tuple[str, str], ...] = ()  # (method, its error) of failed attempts
    text: str | None = None  # the submission's patch as given (None: not known here)

    def to_json(self) -> dict[str, Any]:
        shown, cut = reported_patch(self.text) if self.text is not None else (None, False)
        return {
            "sha256": self.sha256,
            "files": [{"path": p, "kind": k} for k, p in self.files],
            "applied_with": self.applied_with,
            "failed_attempts": [{"method": m, "error": e} for m, e in self.attempts],
            "text": shown,
            "text_truncated": cut,
        }


@dataclass(frozen=True)
class Proof:
    """What reproduces a result."""

    task_sha256: str = ""
    patch_sha256: str = ""
    hidden_tests_sha256: str = ""
    base: str = ""
    base_sha256: str = ""
    environment: Mapping[str, Any] = field(default_factory=dict)
    commands: tuple[dict[str, Any], ...] = ()
    canary: Mapping[str, str] = field(default_factory=dict)  # the canary file and its test ids (empty: none)

    def to_json(self) -> dict[str, Any]:
        return {
            "task_sha256": self.task_sha256,
            "patch_sha256": self.patch_sha256,
            "hidden_tests_sha256": self.hidden_tests_sha256,
            "base": self.base,
            "base_sha256": self.base_sha256,
            "environment": dict(self.environment),
            "commands": list(self.commands),
            "canary": dict(self.canary) or None,
        }


@dataclass(frozen=True)
class BehaviourResult:
    status: Status
    reason: str = ""  # why it is not resolved: shown as the item's failure text
    fail_to_pass: TestGroup = field(default_factory=TestGroup)
    pass_to_pass: TestGroup = field(default_factory=TestGroup)
    neutralised: tuple[dict[str, str], ...] = ()
    test_files_edited: tuple[str, ...] = ()
    output_tail: str = ""
    test_duration_s: float | None = None
    environment_reused: bool | None = None
    tests_run: int | None = None  # how many of the selected tests have an outcome
    canaries: tuple[CanaryCheck, ...] = ()  # the canary tests' expected and actual outcomes
    oracle: str = "tests"  # what decided the status: "tests", or "checklist" for a task without hidden tests

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "oracle": self.oracle,
            "reason": self.reason,
            "fail_to_pass": self.fail_to_pass.to_json(),
            "pass_to_pass": self.pass_to_pass.to_json(),
            "failures": dict(self.fail_to_pass.reasons) | dict(self.pass_to_pass.reasons),
            "neutralised": list(self.neutralised),
            "test_files_edited": list(self.test_files_edited),
            "test_duration_s": None if self.test_duration_s is None else round(self.test_duration_s, 3),
            "environment_reused": self.environment_reused,
            "tests_run": self.tests_run,
            "canaries": [c.to_json() for c in self.canaries],
        }


@dataclass(frozen=True)
class GradeResult:
    """Everything known about one (task, submission) pair."""

    task: str
    submission: str
    behaviour: BehaviourResult
    patch: PatchSummary
    proof: Proof
    duration_s: float
    timings: dict[str, float] = field(default_factory=dict)
    workspace: str | None = None  # set when --proofswe-keep-workspaces kept it
    meta: dict[str, Any] = field(default_factory=dict)
    taste: TasteResult | None = None  # None when the patch did not apply
    review: ReviewResult | None = None  # None when the patch did not apply
    session: SessionResult | None = None  # None when the submission has no transcript
    cached: bool = False  # served from the result cache: nothing it depends on changed (resultcache.py)

    def to_json(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "submission": self.submission,
            "agent": agent_of(self.submission, self.meta),
            "trial": split_trial(self.submission)[1] or 1,
            "behaviour": self.behaviour.to_json(),
            "taste": self.taste.to_json()
            if self.taste is not None
            else {
                "status": "skipped",
                "reason": "the patch did not apply",
                "score": None,
                "passed": None,
                "metrics": {},
                "findings": [],
            },
            "review": self.review.to_json()
            if self.review is not None
            else {
                "status": "skipped",
                "reason": "the patch did not apply",
                "score": None,
                "criteria": [],
                "findings": [],
                "cost_usd": None,
            },
            "session": self.session.to_json()
            if self.session is not None
            else {"status": "skipped", "reason": "the submission has no session trace", "metrics": {}},
            "patch": self.patch.to_json(),
            "proof": self.proof.to_json(),
            "duration_s": round(self.duration_s, 3),
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "workspace": self.workspace,
            "meta": self.meta,
            "cached": self.cached,
        }
