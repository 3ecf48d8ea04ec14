"""Grading the session, not just the patch: transcripts -> events -> metrics -> thresholds.

:func:`grade_session` reads a transcript with the reader that recognises it (a plugin's
first: ``pytest_proofswe_session_reader``), computes the metrics of docs/sessions.md and
checks them against the thresholds of ``[tool.proofswe.session]`` and a task's
``[session]``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .events import Event, Reader, Source, TextChange, Usage
from .metrics import Action, SessionMetrics, Signal, compute_metrics
from .pricing import litellm_price

__all__ = [
    "SESSION_THRESHOLDS",
    "Event",
    "Reader",
    "SessionResult",
    "Source",
    "TextChange",
    "Usage",
    "check_session_table",
    "grade_session",
]

#: Thresholds and their defaults (None: not checked). Each is compared with the metric of
#: the same name without ``max_``.
SESSION_THRESHOLDS: dict[str, float | None] = {
    "max_loops": 2,
    "max_corrections": 3,
    "max_interruptions": None,
    "max_rejections": None,
    "max_failed_commands": None,
    "max_reverted_edits": None,
    "max_edits_outside_patch": None,
    "max_cost_usd": None,
    "max_wall_s": None,
}
_BOOL_KEYS = {"require_tests_after_last_edit"}


def check_session_table(table: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Validate a ``[session]`` table; ValueError naming ``where``."""
    unknown = set(table) - set(SESSION_THRESHOLDS) - _BOOL_KEYS
    if unknown:
        raise ValueError(
            f"{where}: unknown session key(s) {', '.join(sorted(unknown))} "
            f"(known: {', '.join(sorted([*SESSION_THRESHOLDS, *_BOOL_KEYS]))})"
        )
    for key, value in table.items():
        if key in _BOOL_KEYS:
            if not isinstance(value, bool):
                raise ValueError(f"{where}: {key} must be true or false, got {value!r}")
        elif not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise ValueError(f"{where}: {key} must be a non-negative number, got {value!r}")
    return dict(table)


@dataclass(frozen=True)
class SessionResult:
    status: Literal["scored", "skipped", "error"]
    reason: str = ""
    path: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    signals: tuple[Signal, ...] = ()
    passed: bool | None = None
    failures: tuple[str, ...] = ()
    duration_s: float = 0.0
    actions: tuple[Action, ...] = ()  # the commands and edits in transcript order (the first and last 250)
    actions_omitted: int = 0  # how many fell between those

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reason": self.reason,
            "path": self.path,
            "metrics": self.metrics,
            "passed": self.passed,
            "failures": list(self.failures),
            "signals": [s.to_json() for s in self.signals],
            "timeline": [a.to_json() for a in self.actions],
            "timeline_omitted": self.actions_omitted,
            "duration_s": round(self.duration_s, 4),
        }


def grade_session(
    path: Path,
    *,
    thresholds: Mapping[str, Any] | None = None,
    final_patch_paths: Sequence[str] | None = None,
    extra_readers: Iterable[Reader] = (),
) -> SessionResult:
    from .readers import detect_reader

    started = time.monotonic()
    reader = detect_reader(path, extra_readers)
    if reader is None:
        return SessionResult(
            "error",
            path=str(path),
            reason=f"{path}: not a transcript format pytest-proofswe reads (Claude Code JSONL, Codex "
            "rollout JSONL, OpenHands events, SWE-agent .traj, aider chat history) (fix: "
            "add a reader with the pytest_proofswe_session_reader hook, or remove the file)",
        )
    try:
        result: SessionMetrics = compute_metrics(
            reader.read(path), format_name=reader.name, final_patch_paths=final_patch_paths, price=litellm_price
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return SessionResult(
            "error",
            path=str(path),
            reason=f"{path}: cannot read this {reader.name} transcript: {type(exc).__name__}: {exc}",
        )
    limits = {**SESSION_THRESHOLDS, **(thresholds or {})}
    failures: list[str] = []
    values = result.values
    for key, limit in limits.items():
        if key in _BOOL_KEYS or limit is None:
            continue
        metric = key.removeprefix("max_")
        value = values.get(metric)
        if value is not None and value > limit:
            failures.append(f"{metric} is {value:g}, above {key}={limit:g}")
    if limits.get("require_tests_after_last_edit") and values.get("tests_after_last_edit") is False:
        failures.append("no test ran after the last edit (require_tests_after_last_edit)")
    return SessionResult(
        "scored",
        path=str(path),
        metrics=values,
        signals=result.signals,
        actions=result.actions,
        actions_omitted=result.actions_omitted,
        passed=not failures,
        failures=tuple(failures),
        duration_s=time.monotonic() - started,
    )
