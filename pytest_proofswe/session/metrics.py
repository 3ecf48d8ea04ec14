"""Session metrics from normalised events (pure), each signal with the place it came from.

The metrics are the contract's (docs/sessions.md says what each means and which format
supplies what). Unknown is None, never 0: a format that records no exit codes has
``failed_commands`` None, not 0.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .events import Event

__all__ = ["SessionMetrics", "Signal", "compute_metrics", "is_test_command"]

_TEST_COMMAND = re.compile(
    r"(^|[\s;&|(/])(pytest|py\.test|tox|nox|unittest|nosetests|trial|go test|cargo test|cargo nextest|npm (run )?test"
    r"|yarn test|pnpm test|jest|vitest|mocha|rspec|phpunit|mvn (-\S+ )*test|gradle(w)? test|ctest|make (check|test)"
    r"|python -m pytest|manage\.py test|bin/test)\b"
)
_CORRECTION = re.compile(
    r"(^\s*(no|nope|wrong|stop|undo|revert)\b|\bthat'?s (not|wrong)|\bnot what i\b|\bi (said|asked|told you)\b"
    r"|\b(doesn'?t|didn'?t|does not|did not|still (doesn'?t|does not|not))( seem to)? work|\bstill (broken|failing|wrong)"
    r"|\bnothing (changed|happened)\b|\b(i|still) (have|get|got|see) (this |an |the |a )?error\b|\bfailed to compile\b|\bwhy did you\b|\bplease don'?t\b|\bdon'?t do that\b|\btry again\b"
    r"|\bwtf\b|\bf+u+c+k|\bshit\b|\bdamn\b|\bstupid\b|\buseless\b|!!+)",
    re.IGNORECASE,
)
_REVERT_COMMAND = re.compile(r"\bgit\s+(checkout\s+(--\s+)?\S|restore\b|reset\s+--hard|stash\b|revert\b)")


def is_test_command(command: str | None) -> bool:
    return bool(command and _TEST_COMMAND.search(command))


@dataclass(frozen=True)
class Signal:
    metric: str
    where: str  # "line 12", "entry 4"
    text: str

    def to_json(self) -> dict[str, str]:
        return {"metric": self.metric, "where": self.where, "text": self.text}


@dataclass(frozen=True)
class SessionMetrics:
    values: dict[str, Any]
    signals: tuple[Signal, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return dict(self.values)


def _parse_time(ts: str | None) -> datetime | None:
    if not ts:
        return None
    try:
        return datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return None


def _action_key(e: Event) -> str:
    return f"{e.tool}|{e.command or e.arguments or ''}"


def compute_metrics(
    events: Iterable[Event],
    *,
    format_name: str,
    final_patch_paths: Sequence[str] | None = None,
    price: Callable[[str, dict[str, int | None]], float | None] | None = None,
) -> SessionMetrics:
    """The contract's session metrics, and the signals behind them."""
    signals = _Signals()
    loop_detector = _LoopDetector(signals)
    models: list[str] = []
    user_turns = tool_calls = commands = edits = interruptions = rejections = corrections = test_runs = 0
    failed: int | None = None
    exit_codes_known = False
    per_call_usage: dict[str, int] = {"input": 0, "output": 0, "cache_read": 0, "cache_write": 0}
    usage_seen = {"input": False, "output": False, "cache_read": False, "cache_write": False}
    cumulative: dict[str, Any] | None = None
    harness_cost: float | None = None
    first_time = last_time = None
    last_edit_index: int | None = None
    last_test_index: int | None = None
    edited_paths: dict[str, str] = {}
    reverted = 0
    calls: dict[str, Event] = {}  # calls waiting for their result
    for index, e in enumerate(events, 1):
        t = _parse_time(e.timestamp)
        if t is not None:
            first_time = first_time or t
            last_time = t
        if e.model and e.model not in models and not e.extra.get("sidechain"):  # a sub-agent is not a switch
            if models:
                signals.append(Signal("model_switch", str(e.source), f"{models[-1]} -> {e.model}"))
            models.append(e.model)
        if e.kind == "user_message" and e.origin == "person":
            user_turns += 1
            text = (e.text or "").strip()
            if _CORRECTION.search(text):
                corrections += 1
                signals.append(Signal("corrections", str(e.source), text[:120]))
        elif e.kind == "tool_call":
            tool_calls += 1
            if e.call_id:
                calls[e.call_id] = e
            if e.command is not None:
                commands += 1
                if is_test_command(e.command):
                    test_runs += 1
                    last_test_index = index
                    signals.append(Signal("test_runs", str(e.source), e.command[:120]))
                if _REVERT_COMMAND.search(e.command):
                    reverted += 1
                    signals.append(Signal("reverted_edits", str(e.source), e.command[:120]))
            if e.call_id is None:
                loop_detector.add(_action_key(e), "", str(e.source))
        elif e.kind == "tool_result":
            call = calls.pop(e.call_id or "", None)
            if e.exit_code is not None:
                exit_codes_known = True
                failed = (failed or 0) + (1 if e.exit_code != 0 else 0)
                if e.exit_code != 0:
                    signals.append(
                        Signal(
                            "failed_commands",
                            str(e.source),
                            f"exit {e.exit_code}: {(call.command if call else e.command) or ''}"[:120],
                        )
                    )
            if call is not None:
                loop_detector.add(_action_key(call), e.text or "", str(call.source))
        elif e.kind == "file_edit":
            edits += 1
            last_edit_index = index
            if e.path:
                edited_paths.setdefault(e.path, str(e.source))
        elif e.kind == "control":
            if e.control == "interrupt":
                interruptions += 1
                signals.append(Signal("interruptions", str(e.source), e.text or "interrupted"))
            elif e.control == "rejection":
                rejections += 1
                signals.append(Signal("rejections", str(e.source), e.text or "tool use rejected"))
            elif e.control in ("undo", "rewind"):
                reverted += 1
                signals.append(Signal("reverted_edits", str(e.source), e.control))
        elif e.kind == "vcs" and e.command and _REVERT_COMMAND.search(e.command):
            reverted += 1
            signals.append(Signal("reverted_edits", str(e.source), e.command[:120]))
        if e.usage is not None:
            u = e.usage
            if u.cumulative:
                cumulative = {
                    "input": u.input,
                    "output": u.output,
                    "cache_read": u.cache_read,
                    "cache_write": u.cache_write,
                    "cost_usd": u.cost_usd,
                }
            else:
                for key, value in (
                    ("input", u.input),
                    ("output", u.output),
                    ("cache_read", u.cache_read),
                    ("cache_write", u.cache_write),
                ):
                    if value is not None:
                        per_call_usage[key] += value
                        usage_seen[key] = True
                if u.cost_usd is not None:
                    harness_cost = (harness_cost or 0.0) + u.cost_usd

    loops = loop_detector.loops
    if cumulative is not None:
        tokens = {k: cumulative.get(k) for k in ("input", "output", "cache_read", "cache_write")}
        if cumulative.get("cost_usd") is not None:
            harness_cost = cumulative["cost_usd"]
    else:
        tokens = {k: (per_call_usage[k] if usage_seen[k] else None) for k in per_call_usage}
    known = [v for k, v in tokens.items() if k in ("input", "output") and v is not None]
    tokens["total"] = sum(known) if known else None
    cost = harness_cost
    cost_source = "harness" if cost is not None else None
    if cost is None and price is not None and models and tokens["total"]:
        cost = price(models[-1], tokens)
        cost_source = "price" if cost is not None else None
    outside: int | None = None
    if final_patch_paths is not None:
        final = set(final_patch_paths)
        outside_paths = [(p, w) for p, w in edited_paths.items() if not _in_patch(p, final)]
        outside = len(outside_paths)
        for p, w in outside_paths:
            signals.append(Signal("edits_outside_patch", w, p))
    tests_after = None
    if edits:
        tests_after = last_test_index is not None and last_edit_index is not None and last_test_index > last_edit_index
    # One timestamp for the whole session (aider writes only its start) says nothing of its length.
    wall = (last_time - first_time).total_seconds() if first_time and last_time and last_time != first_time else None
    values: dict[str, Any] = {
        "format": format_name,
        "models": models,
        "user_turns": user_turns,
        "tool_calls": tool_calls,
        "commands": commands,
        "failed_commands": failed if exit_codes_known else None,
        "test_runs": test_runs,
        "tests_after_last_edit": tests_after,
        "edits": edits,
        "edits_outside_patch": outside,
        "interruptions": interruptions,
        "rejections": rejections,
        "corrections": corrections,
        "loops": loops,
        "reverted_edits": reverted,
        "tokens": tokens,
        "cost_usd": None if cost is None else round(cost, 6),
        "cost_source": cost_source,
        "wall_s": None if wall is None else round(wall, 1),
    }
    return SessionMetrics(values, tuple(signals.kept))


def _in_patch(path: str, final: set[str]) -> bool:
    return path in final or any(path.endswith("/" + p) for p in final)


class _LoopDetector:
    """Repeated identical actions with the same result (OpenHands' StuckDetector, simplified), streamed.

    A loop is the same action with the same result 3 times in a row, or an A/B/A/B
    alternation over 6 steps. Each loop counts once, however long it runs. Only the last
    six actions are kept, so memory does not grow with the session.
    """

    def __init__(self, signals: _Signals) -> None:
        self.window: list[tuple[str, str]] = []  # (action, hash of its result)
        self.where: list[str] = []
        self.loops = 0
        self.signals = signals
        self.in_run = False

    def add(self, action: str, result: str, where: str) -> None:
        key = (action, hashlib.sha1(result.encode("utf-8", "replace")).hexdigest())
        self.window = [*self.window[-5:], key]
        self.where = [*self.where[-5:], where]
        w = self.window
        repeated = len(w) >= 3 and w[-1] == w[-2] == w[-3]
        alternating = len(w) == 6 and w[0] != w[1] and all(w[k] == w[k % 2] for k in range(6))
        if (repeated or alternating) and not self.in_run:
            self.loops += 1
            what = "the same action 3 times with the same result" if repeated else "an A/B/A/B alternation"
            self.signals.add(Signal("loops", self.where[-3] if repeated else self.where[0], f"{what}: {action[:80]}"))
            self.in_run = True
        elif not (repeated or alternating):
            self.in_run = False


class _Signals:
    """Signals, at most PER_METRIC of each metric kept (the count goes on): memory stays bounded."""

    PER_METRIC = 50

    def __init__(self) -> None:
        self.kept: list[Signal] = []
        self.counts: dict[str, int] = {}

    def add(self, signal: Signal) -> None:
        n = self.counts.get(signal.metric, 0)
        self.counts[signal.metric] = n + 1
        if n < self.PER_METRIC:
            self.kept.append(signal)

    def append(self, signal: Signal) -> None:
        self.add(signal)
