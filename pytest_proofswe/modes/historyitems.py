"""``--proofswe-history``: a commit range as pytest items (wiring only; the work is in .history, .decay, .durability).

Items: ``history::<commit id, 12 characters>`` per commit, oldest first; ``history::decay``
(the gate); ``history::durability`` with ``--proofswe-durability``. Their node ids are
stable, so ``-k``, ``--junitxml`` and ``--lf`` work as for any test. The range is measured
once, when the first item needs it.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..git import EMPTY_TREE

if TYPE_CHECKING:
    from ..settings import Settings
    from .decay import DecayGate, DecayTrend, StepDecay
    from .durability import Durability
    from .history import History

__all__ = ["HistoryCollector", "HistoryItem", "HistoryRun", "history_summary", "stepped_summary"]


class HistoryFailure(Exception):
    """A history item failed: the gate, or a step that did most of the decay."""


class HistoryRun:
    """The range of one run and its grade, computed once (thread-safe)."""

    def __init__(self, history: History, settings: Settings) -> None:
        self.history = history
        self.settings = settings
        self._lock = threading.Lock()
        self._trend: DecayTrend | None = None
        self._durability: Durability | None = None
        self._document: dict[str, Any] | None = None

    @property
    def trend(self) -> DecayTrend:
        with self._lock:
            if self._trend is None:
                from .history import grade_history

                self._trend = grade_history(self.history, exclude=self.settings.taste.exclude)
            return self._trend

    @property
    def durability(self) -> Durability | None:
        if self.settings.durability is None:
            return None
        with self._lock:
            if self._durability is None:
                from .durability import AgentSelector, measure_durability

                start = self.history.start
                self._durability = measure_durability(
                    self.history.top,
                    None if start == EMPTY_TREE else start,
                    self.history.head,
                    AgentSelector.parse(self.settings.durability),
                    after=self.settings.durability_after,
                )
            return self._durability

    def gate(self) -> DecayGate | None:
        if self.settings.max_decay is None:
            return None
        return self.trend.gate(self.settings.max_decay)

    def document(self) -> dict[str, Any]:
        """The report's ``history`` object."""
        if self._document is None:
            gate = self.gate()
            durability = self.durability
            self._document = {
                **self.history.to_json(),
                "decay": self.trend.to_json(),
                "gate": gate.to_json() if gate is not None else None,
                "durability": durability.to_json() if durability is not None else None,
            }
        return self._document


def _run(node: pytest.Item | pytest.Collector) -> HistoryRun:
    plugin = node.config.pluginmanager.get_plugin("proofswe-session")
    run = getattr(plugin, "history_run", None)
    assert isinstance(run, HistoryRun)
    return run


class HistoryCollector(pytest.Collector):
    """The range: one item per commit, then the gate and durability."""

    def collect(self) -> list[pytest.Item]:  # type: ignore[override]
        run = _run(self)
        items: list[pytest.Item] = [
            HistoryItem.from_parent(self, name=c.id[:12], kind="step", commit=c.id) for c in run.history.commits
        ]
        items.append(HistoryItem.from_parent(self, name="decay", kind="decay", commit=""))
        if run.settings.durability is not None:
            items.append(HistoryItem.from_parent(self, name="durability", kind="durability", commit=""))
        return items


class HistoryItem(pytest.Item):
    """One commit's decay (``step``), the range's gate (``decay``), or the agent's durability."""

    reported: bool = False

    def __init__(self, *, kind: str, commit: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kind = kind
        self.commit = commit

    def _step(self) -> StepDecay:
        return next(s for s in _run(self).trend.steps if s.info.id == self.commit)

    def runtest(self) -> None:
        run = _run(self)
        if self.kind == "durability":
            durability = run.durability
            assert durability is not None
            share = durability.share_standing
            self.user_properties += [
                ("proofswe_durability_share", "" if share is None else f"{share:g}"),
                ("proofswe_durability_lines", str(durability.lines)),
            ]
            return
        gate = run.gate()
        if self.kind == "decay":
            trend = run.trend
            self.user_properties += [
                ("proofswe_decay", f"{trend.decay:g}"),
                ("proofswe_max_decay", "" if gate is None else f"{gate.max_decay:g}"),
            ]
            if gate is not None and not gate.passed:
                raise HistoryFailure(gate.message())
            return
        step = self._step()
        self.user_properties += [
            ("proofswe_commit", step.info.id),
            ("proofswe_decay_points", f"{step.total:g}"),
            ("proofswe_complexity_excess", f"{step.before.complexity_excess}->{step.after.complexity_excess}"),
            ("proofswe_lint", f"{step.before.lint}->{step.after.lint}"),
            ("proofswe_duplicated_lines", f"{step.before.duplicated_lines}->{step.after.duplicated_lines}"),
            ("proofswe_wrappers", f"{step.before.wrappers}->{step.after.wrappers}"),
            ("proofswe_single_use", f"{step.before.single_use}->{step.after.single_use}"),
            ("proofswe_asserts", f"{step.before.asserts}->{step.after.asserts}"),
        ]
        if gate is not None and any(c.info.id == step.info.id for c in gate.culprits):
            raise HistoryFailure(
                f"{step.info.id[:12]} {step.info.title!r}: {step.total:+g} decay points ({step.explain()}); "
                f"one of the steps that took the range past max_decay={gate.max_decay:g} "
                f"({gate.decay:g} points over {len(run.trend.steps)} commits)"
            )

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return Path(self.config.rootpath), 0, f"history::{self.name}"

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:  # type: ignore[override]
        if isinstance(excinfo.value, HistoryFailure):
            return str(excinfo.value)
        from ..errors import ProofsweError

        if isinstance(excinfo.value, ProofsweError):
            return f"history: {excinfo.value}"
        return str(super().repr_failure(excinfo))


def _delta(before: float | int | None, after: float | int | None) -> str:
    if before is None or after is None:
        return "?"
    change = after - before
    return "0" if change == 0 else f"{change:+g}"


def _steps_table(tr: Any, steps: list[dict[str, Any]], *, label: str = "commit", width: int = 10) -> None:
    """One row per step that gained or lost points: the points, and each figure's change."""
    moved = [s for s in steps if s["points"] != 0]
    if moved:
        header = [label, "points", "cplx", "lint", "dup", "wrap", "1-use", "tests", "subject"]
        rows = [
            [
                s["id"][:width],
                f"{s['points']:+g}",
                _delta(s["complexity"]["excess_before"], s["complexity"]["excess_after"]),
                _delta(s["lint"]["before"], s["lint"]["after"]),
                _delta(s["duplication"]["lines_before"], s["duplication"]["lines_after"]),
                _delta(s["abstraction"]["wrappers_before"], s["abstraction"]["wrappers_after"]),
                _delta(s["abstraction"]["single_use_before"], s["abstraction"]["single_use_after"]),
                f"{s['tests']['points']:+g}" if s["tests"]["points"] else "0",
                s["title"][:50],
            ]
            for s in moved
        ]
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, ["-" * w for w in widths], *rows]:
            tr.write_line("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    if len(moved) < len(steps):
        tr.write_line(f"({len(steps) - len(moved)} {label}(s) with 0 points not shown)")


def _decay_line(decay: dict[str, Any], unit: str) -> str:
    categories = ", ".join(f"{k} {v:+g}" for k, v in decay["by_category"].items() if v)
    trend = decay["trend"]
    steps = len(decay["steps"])
    return (
        f"decay {decay['decay']:+g} points over {steps} {unit}(s)" + (f" ({categories})" if categories else "")
        + f"; {trend['worse_steps']} worse, {trend['better_steps']} better"
    )  # fmt: skip


def _gate_line(tr: Any, gate: dict[str, Any] | None, width: int = 10) -> None:
    if gate is not None:
        verdict = "passed" if gate["passed"] else f"FAILED (steps: {', '.join(c[:width] for c in gate['culprits'])})"
        tr.write_line(f"gate max_decay={gate['max_decay']:g}: {verdict}", red=not gate["passed"])


def history_summary(tr: Any, document: dict[str, Any]) -> None:
    """The terminal section: the steps that moved, the range's decay, the gate, durability."""
    decay = document["decay"]
    steps = decay["steps"]
    tr.write_sep("=", "proofswe history")
    end = decay["end"]
    tr.write_line(
        f"{document['range']}: {len(steps)} commit(s), {end['python_files']} Python file(s) at the end; "
        f"measured in {decay['duration_s']:.1f} s (lint: {decay['lint_tool'] or 'none'}, rules {decay['lint_rules']})"
    )
    _steps_table(tr, steps)
    tr.write_line(_decay_line(decay, "commit"))
    for note in decay["notes"]:
        tr.write_line(f"note: {note}")
    _gate_line(tr, document.get("gate"))
    durability = document.get("durability")
    if durability is not None:
        share = durability["share_standing"]
        text = (
            "no agent line observed" if share is None else f"{share:.0%} of {durability['lines']} agent line(s) stand"
        )
        tr.write_line(
            f"durability ({durability['selector']}): {text}; standing {durability['standing']}, moved "
            f"{durability['moved']}, rewritten {durability['rewritten']}, deleted {durability['deleted']}, "
            f"reverted {durability['reverted']}, pending {durability['pending']}"
        )
        for who, fates in list(durability["by_author"].items())[:5]:
            tr.write_line(f"  {who}: " + ", ".join(f"{n} {fate}" for fate, n in fates.items()))


def stepped_summary(tr: Any, documents: list[dict[str, Any]]) -> None:
    """The terminal section of stepped tasks: each submission's decay from step to step."""
    tr.write_sep("=", "proofswe steps")
    for doc in documents:
        decay = doc["decay"]
        statuses = ", ".join(f"{s['id']} {s['status']}" for s in doc["steps"])
        tr.write_line(f"{doc['task']}::{doc['submission']}: {statuses}")
        if decay is None:
            tr.write_line("  no decay: the first step's patch did not apply")
            continue
        _steps_table(tr, decay["steps"], label="step", width=30)
        tr.write_line(_decay_line(decay, "step"))
        _gate_line(tr, doc.get("gate"), width=30)
