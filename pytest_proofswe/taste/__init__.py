"""Taste: a static, deterministic grade of a diff from 0 to 100, built from findings.

Every analyser is a pure function of a :class:`TasteInput` (the files of the patch with
their text before and after, plus what the harness recorded) and a :class:`TasteConfig`;
only :mod:`.lint` spawns a process (one ruff run for all files). :func:`grade_taste`
runs them, applies suppressions, the reference solution's allowance and the weights,
and decides the gate. Rules are documented in docs/rules.md.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .model import RULES, THRESHOLDS, FileText, Finding, Rule, TasteConfig, TasteInput, TasteResult

__all__ = [
    "RULES",
    "THRESHOLDS",
    "FileText",
    "Finding",
    "Rule",
    "TasteConfig",
    "TasteContext",
    "TasteExtensions",
    "TasteInput",
    "TasteResult",
    "grade_taste",
]

_INLINE = re.compile(r"#\s*proofswe:\s*ignore(?:\[([\w,\s-]+)\])?")
_ALLOWANCE_RULES = (
    "structure-new-class",
    "structure-new-abstraction",
    "structure-new-public-function",
    "structure-new-module",
)
# Without a reference solution a fix may add one helper function, and no class or module.
_DEFAULT_ALLOWANCE = {
    "structure-new-class": 0,
    "structure-new-abstraction": 0,
    "structure-new-public-function": 1,
    "structure-new-module": 0,
}


@dataclass
class TasteContext:
    """What a ``pytest_proofswe_taste_findings`` hook sees."""

    task: str
    submission: str
    data: TasteInput
    config: TasteConfig
    findings: list[Finding]
    metrics: dict[str, Any] = field(default_factory=dict)


class TasteExtensions(Protocol):
    """Plugins' say in the grade (the pytest hooks, in a run)."""

    def adjust_weights(self, task: str, weights: dict[str, float]) -> None: ...

    def extra_findings(self, context: TasteContext) -> list[Finding]: ...


def _suppressed(f: FileText | None, finding: Finding) -> bool:
    # The tamper-* rules flag a submission forging its own verdict: the submission cannot
    # silence them with a comment it writes (only the run's configuration can ignore them).
    if f is None or f.head is None or not finding.line or finding.rule.startswith("tamper-"):
        return False
    lines = f.head.splitlines()
    if not 0 < finding.line <= len(lines):
        return False
    m = _INLINE.search(lines[finding.line - 1])
    if not m:
        return False
    return m.group(1) is None or finding.rule in {r.strip() for r in m.group(1).split(",")}


def _apply_allowance(findings: list[Finding], allowance: Mapping[str, int]) -> list[Finding]:
    left = dict(allowance)
    out = []
    for finding in findings:
        if finding.rule in left and left[finding.rule] > 0 and finding.penalty > 0:
            left[finding.rule] -= 1
            finding = dataclasses.replace(
                finding, penalty=0.0, message=f"{finding.message} (within what the fix needs)"
            )
        out.append(finding)
    return out


def grade_taste(
    data: TasteInput,
    config: TasteConfig,
    *,
    task: str = "",
    submission: str = "",
    extensions: TasteExtensions | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> TasteResult:
    from . import churn, complexity, design, lint, scope, secrets, structure, tamper, testrules  # when grading

    started = clock()
    if extensions is not None:
        weights = {rule: config.weight(rule) for rule in RULES} | dict(config.weights)
        extensions.adjust_weights(task, weights)
        config = dataclasses.replace(config, weights=weights)
    data = dataclasses.replace(data, files=tuple(f for f in data.files if not config.excluded(f.path)))
    metrics: dict[str, Any] = scope.metrics(data)
    findings: list[Finding] = [
        *scope.check(data, config, metrics),
        *churn.check(data, config),
        *secrets.check(data, config),
        *tamper.check(data, config),
        *testrules.check(data, config),
        *structure.check(data, config),
        *design.check(data, config),
        *complexity.check(data, config, metrics),
        *lint.check(data, config, metrics),
    ]
    allowance = structure.count_gold_abstractions(data.gold_text) if data.gold_paths is not None else _DEFAULT_ALLOWANCE
    findings = _apply_allowance(findings, allowance)
    if extensions is not None:
        context = TasteContext(task, submission, data, config, list(findings), metrics)
        findings += extensions.extra_findings(context)
    by_path = {f.path: f for f in data.files}
    findings = [f for f in findings if f.rule not in config.ignore and not _suppressed(by_path.get(f.path), f)]
    findings.sort(key=lambda f: (-f.penalty, f.path, f.line or 0, f.rule))
    score = max(0.0, min(100.0, 100.0 - sum(f.penalty for f in findings)))

    gates: list[str] = []
    if score < config.min_score:
        gates.append(f"score {score:.1f} is below min_taste_score={config.min_score:g}")
    measured = {
        "max_files_touched": metrics.get("code_files_touched"),  # tests, docs, changelogs, locks: not the spread
        "max_lines_changed": metrics.get("code_lines_changed"),
        "max_complexity_increase": metrics.get("complexity_increase"),
        "max_new_lint": metrics.get("lint_introduced"),
        "max_function_complexity": max(
            [
                int(re.search(r"complexity (\d+)", f.message).group(1))  # type: ignore[union-attr]
                for f in findings
                if f.rule == "complexity-new-complex-function"
            ]
            or [0]
        ),
    }
    for key in sorted(config.gates):
        limit, value = config.thresholds.get(key), measured.get(key)
        if limit is not None and value is not None and value > limit:
            gates.append(f"{key.removeprefix('max_').replace('_', ' ')} is {value:g}, above {key}={limit:g}")
    metrics["findings"] = len(findings)
    return TasteResult(
        score=round(score, 1),
        passed=not gates,
        findings=tuple(findings),
        metrics=metrics,
        gate_failures=tuple(gates),
        duration_s=clock() - started,
    )
