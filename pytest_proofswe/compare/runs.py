"""``--proofswe-compare OLD.json``: what changed between an old report and this run (pure, but for the loader).

Submission by submission, keyed by (task, submission) (the name carries the trial:
``claude@2``): the behaviour status, the taste and review scores, the session's verdict, and
the agent's cost (dollars, tokens, wall time); submissions new in this run and missing from
it. A submission *regressed* when it was resolved and is not any more (``error`` included:
a run that can no longer grade it has regressed), when its taste score fell by more than
:data:`TASTE_DROP` points, its review score by more than :data:`REVIEW_DROP`, or its session
passed and now fails. Costs are reported, never a regression. docs/compare.md says more.

An old report may predate fields this run has: what it lacks is not compared, and the
comparison says so (``problems``); only a file that is not a report at all is an error.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .agents import Trial, trial_from_result

__all__ = [
    "REVIEW_DROP",
    "TASTE_DROP",
    "Change",
    "OldReport",
    "RunComparison",
    "SubmissionChange",
    "compare_runs",
    "load_old_report",
]

#: A taste score (0-100) that falls by more than this many points is a regression.
TASTE_DROP = 5.0
#: A review score (1-5) that falls by more than this is a regression.
REVIEW_DROP = 0.5

_Key = tuple[str, str]


@dataclass(frozen=True)
class OldReport:
    """The results of an old JSON report, and what in it could not be read."""

    path: str
    generator: str | None
    results: tuple[Mapping[str, Any], ...]
    problems: tuple[str, ...] = ()


def load_old_report(path: Path, *, option: str = "--proofswe-compare") -> OldReport:
    """Read an old report; UsageError (naming the option and the file) when it is not a report at all."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{option}: cannot read {path}: {exc} (fix: give the file --proofswe-report wrote)") from None
    if not isinstance(data, dict) or not str(data.get("schema", "")).startswith("proofswe-report/"):
        raise UsageError(
            f"{option}: {path} is not a pytest-proofswe JSON report (no proofswe-report schema) "
            "(fix: give the file --proofswe-report wrote)"
        )
    results = data.get("results")
    if not isinstance(results, list):
        raise UsageError(f"{option}: {path} has no list of results (fix: give the file --proofswe-report wrote)")
    problems = []
    kept = []
    for index, result in enumerate(results):
        if not isinstance(result, dict) or not isinstance(result.get("task"), str):
            problems.append(f"result {index} is not a result with a task: left out")
        elif isinstance(result.get("submission"), str):
            kept.append(result)
    generator = data.get("generator")
    return OldReport(str(path), generator if isinstance(generator, str) else None, tuple(kept), tuple(problems))


@dataclass(frozen=True)
class Change:
    """One figure of one submission that differs: ``old`` -> ``new``, and whether that is a regression."""

    field: str  # status, taste, review, review_status, session, cost_usd, tokens, wall_s
    old: Any
    new: Any
    regression: bool = False

    @property
    def delta(self) -> float | None:
        if _is_number(self.old) and _is_number(self.new):
            return float(self.new) - float(self.old)
        return None

    def text(self) -> str:
        delta = f" ({self.delta:+g})" if self.delta is not None else ""
        return f"{self.field} {_show(self.old)} -> {_show(self.new)}{delta}" + (
            " REGRESSION" if self.regression else ""
        )

    def to_json(self) -> dict[str, Any]:
        delta = self.delta
        return {
            "field": self.field,
            "old": self.old,
            "new": self.new,
            "delta": None if delta is None else round(delta, 6),
            "regression": self.regression,
        }


@dataclass(frozen=True)
class SubmissionChange:
    """What changed for one submission (task, submission; its agent and trial)."""

    task: str
    submission: str
    agent: str
    trial: int
    changes: tuple[Change, ...]

    @property
    def regressions(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.regression)

    def text(self) -> str:
        return f"{self.task}::{self.submission}: " + "; ".join(c.text() for c in self.changes)

    def to_json(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "submission": self.submission,
            "agent": self.agent,
            "trial": self.trial,
            "changes": [c.to_json() for c in self.changes],
            "regressed": bool(self.regressions),
        }


@dataclass(frozen=True)
class AgentShift:
    """An agent's resolved rate (mean over its tasks of the share of resolved trials) in each run."""

    agent: str
    old: float | None
    new: float | None
    old_tasks: int
    new_tasks: int

    def to_json(self) -> dict[str, Any]:
        return {
            "agent": self.agent,
            "old": {"resolved": _round(self.old), "tasks": self.old_tasks},
            "new": {"resolved": _round(self.new), "tasks": self.new_tasks},
        }


@dataclass(frozen=True)
class RunComparison:
    """This run against an old report."""

    old: str
    old_generator: str | None
    changed: tuple[SubmissionChange, ...]
    unchanged: int
    new: tuple[_Key, ...]
    missing: tuple[_Key, ...]
    problems: tuple[str, ...]
    agents: tuple[AgentShift, ...]
    taste_drop: float = TASTE_DROP
    review_drop: float = REVIEW_DROP

    @property
    def regressed(self) -> tuple[SubmissionChange, ...]:
        return tuple(s for s in self.changed if s.regressions)

    def summary(self) -> str:
        """``3 changed, 30 unchanged, 1 new, 0 missing; 1 regressed``."""
        return (
            f"{len(self.changed)} changed, {self.unchanged} unchanged, {len(self.new)} new, "
            f"{len(self.missing)} missing; {len(self.regressed)} regressed"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "old": self.old,
            "old_generator": self.old_generator,
            "thresholds": {"taste_drop": self.taste_drop, "review_drop": self.review_drop},
            "summary": {
                "changed": len(self.changed),
                "unchanged": self.unchanged,
                "new": len(self.new),
                "missing": len(self.missing),
                "regressed": len(self.regressed),
            },
            "changed": [s.to_json() for s in self.changed],
            "regressions": [
                {"task": s.task, "submission": s.submission, "what": [c.text() for c in s.regressions]}
                for s in self.regressed
            ],
            "new": [{"task": t, "submission": s} for t, s in self.new],
            "missing": [{"task": t, "submission": s} for t, s in self.missing],
            "problems": list(self.problems),
            "agents": [a.to_json() for a in self.agents],
        }


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if _is_number(value):
        return f"{value:g}"
    return str(value)


_ABSENT = object()


def _get(result: Mapping[str, Any], part: str, key: str) -> Any:
    """``result[part][key]``; _ABSENT when the result has no such part at all (an older report)."""
    section = result.get(part, _ABSENT)
    if section is _ABSENT:
        return _ABSENT
    if not isinstance(section, Mapping):
        return None
    return section.get(key)


def _number(value: Any) -> float | None:
    return float(value) if _is_number(value) else None


def _figures(result: Mapping[str, Any]) -> dict[str, Any]:
    """The compared figures of one result; _ABSENT where the result lacks the part they come from."""
    review_status = _get(result, "review", "status")
    session_status = _get(result, "session", "status")
    trial = trial_from_result(result)
    session: Any = _ABSENT
    if session_status is not _ABSENT:
        session = None if session_status != "scored" else ("passed" if _get(result, "session", "passed") else "failed")
    taste = _get(result, "taste", "score")
    review = _get(result, "review", "score")
    status = _get(result, "behaviour", "status")
    return {
        "status": status if isinstance(status, str) else _ABSENT,  # unreadable: not compared (a problem says so)
        "taste": taste if taste is _ABSENT else _number(taste),
        "review_status": review_status if isinstance(review_status, str) or review_status is _ABSENT else None,
        "review": review if review is _ABSENT else _number(review),
        "session": session,
        "cost_usd": trial.cost_usd if trial else None,
        "tokens": trial.tokens if trial else None,
        "wall_s": trial.wall_s if trial else None,
    }


def _changes(old: Mapping[str, Any], new: Mapping[str, Any], taste_drop: float, review_drop: float) -> list[Change]:
    before, after = _figures(old), _figures(new)
    out = []
    for name in before:
        a, b = before[name], after[name]
        if a is _ABSENT or b is _ABSENT or a == b:
            continue
        if _is_number(a) and _is_number(b) and abs(float(a) - float(b)) < 1e-9:
            continue
        regression = False
        if name == "status":
            regression = a == "resolved"
        elif name in ("taste", "review") and _is_number(a) and _is_number(b):
            regression = float(a) - float(b) > (taste_drop if name == "taste" else review_drop)
        elif name == "session":
            regression = a == "passed" and b == "failed"
        out.append(Change(name, a, b, regression))
    return out


def _missing_parts(results: Iterable[Mapping[str, Any]]) -> list[str]:
    """What the old results lack, once per part: ``4 result(s) have no review: review not compared for them``."""
    lacking: dict[str, int] = {}
    for result in results:
        for part, key in (("behaviour", "status"), ("taste", "score"), ("review", "score"), ("session", "status")):
            value = _get(result, part, key)
            if value is _ABSENT or (part == "behaviour" and not isinstance(value, str)):
                label = f"{part}.{key}" if part == "behaviour" else part
                lacking[label] = lacking.get(label, 0) + 1
    what = {"behaviour.status": "status", "taste": "taste", "review": "review", "session": "session"}
    return [
        f"{count} result(s) of the old report have no {label}: {what[label]} not compared for them"
        for label, count in lacking.items()
    ]


def _rates(trials: Iterable[Trial]) -> dict[str, tuple[float, int]]:
    """Each agent's resolved rate over its tasks (graded trials only) and how many tasks."""
    per: dict[str, dict[str, list[bool]]] = {}
    for t in trials:
        if t.graded:
            per.setdefault(t.agent, {}).setdefault(t.task, []).append(t.resolved)
    return {
        agent: (sum(sum(v) / len(v) for v in tasks.values()) / len(tasks), len(tasks)) for agent, tasks in per.items()
    }


def compare_runs(
    old: OldReport,
    new_results: Sequence[Mapping[str, Any]],
    *,
    taste_drop: float = TASTE_DROP,
    review_drop: float = REVIEW_DROP,
) -> RunComparison:
    """What changed from ``old`` to ``new_results``, submission by submission, in the order of this run."""
    problems = list(old.problems)
    old_by_key: dict[_Key, Mapping[str, Any]] = {}
    for result in old.results:
        key = (result["task"], result["submission"])
        if key in old_by_key:
            problems.append(f"{key[0]}::{key[1]} is in the old report twice: the last one is compared")
        old_by_key[key] = result
    problems += _missing_parts(old_by_key.values())
    new_by_key = {
        (r["task"], r["submission"]): r
        for r in new_results
        if isinstance(r.get("task"), str) and isinstance(r.get("submission"), str)
    }
    changed, unchanged, fresh = [], 0, []
    for key, result in new_by_key.items():
        if key not in old_by_key:
            fresh.append(key)
            continue
        found = _changes(old_by_key[key], result, taste_drop, review_drop)
        if not found:
            unchanged += 1
            continue
        trial = trial_from_result(result)
        assert trial is not None
        changed.append(SubmissionChange(key[0], key[1], trial.agent, trial.trial, tuple(found)))
    missing = tuple(k for k in old_by_key if k not in new_by_key)
    before = _rates(t for t in map(trial_from_result, old_by_key.values()) if t is not None)
    after = _rates(t for t in map(trial_from_result, new_by_key.values()) if t is not None)
    agents = tuple(
        AgentShift(
            name,
            before.get(name, (None, 0))[0],
            after.get(name, (None, 0))[0],
            before.get(name, (None, 0))[1],
            after.get(name, (None, 0))[1],
        )
        for name in sorted(set(before) | set(after))
    )
    return RunComparison(
        old=old.path,
        old_generator=old.generator,
        changed=tuple(changed),
        unchanged=unchanged,
        new=tuple(fresh),
        missing=missing,
        problems=tuple(problems),
        agents=agents,
        taste_drop=taste_drop,
        review_drop=review_drop,
    )
