"""The values of the taste check: rules, findings, configuration, result (pure)."""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..change import HunkInfo

__all__ = ["RULES", "THRESHOLDS", "FileText", "Finding", "Rule", "TasteConfig", "TasteInput", "TasteResult"]


@dataclass(frozen=True)
class Rule:
    id: str
    weight: float  # points per occurrence (or per unit, for the scaled rules)
    category: str
    summary: str


_RULE_LIST = [
    # Size and scope
    Rule(
        "scope-code-lines",
        0.15,
        "scope",
        "each line of product code changed beyond the first 10 (or the reference solution's; at most 40 points)",
    ),
    Rule("scope-files-touched", 4, "scope", "more files touched than max_files_touched (per extra file)"),
    Rule("scope-lines-changed", 0.1, "scope", "more lines changed than max_lines_changed (per extra line, at most 15)"),
    Rule(
        "scope-larger-than-gold",
        0.2,
        "scope",
        "more than twice the reference solution's changed lines, plus 10 (per extra line, at most 10)",
    ),
    Rule("scope-outside-gold", 5, "scope", "a file the reference solution does not touch"),
    Rule("scope-config-touched", 4, "scope", "a packaging, CI or configuration file touched"),
    # Complexity
    Rule("complexity-increase", 3, "complexity", "a function made more complex (per point of cyclomatic complexity)"),
    Rule("complexity-new-complex-function", 5, "complexity", "a new function above max_function_complexity"),
    # Lint
    Rule("lint-introduced", 2, "lint", "a lint violation the patch introduced"),
    Rule("lint-removed", -1, "lint", "a lint violation the patch removed (credit)"),
    # Structure
    Rule("structure-new-class", 6, "structure", "a new class beyond what the fix needs"),
    Rule(
        "structure-new-abstraction", 8, "structure", "a new abstract base class or Protocol beyond what the fix needs"
    ),
    Rule("structure-new-public-function", 2, "structure", "a new public function beyond what the fix needs"),
    Rule("structure-new-module", 15, "structure", "a new module of product code beyond what the fix needs"),
    # Design: what the added code is for, with the repository as the witness
    Rule("design-single-use", 2, "design", "a new public function or class called from one place only"),
    Rule("design-pass-through", 3, "design", "a new function that only passes its arguments on to another"),
    Rule("design-unused-parameter", 2, "design", "a parameter added that the function never uses"),
    Rule("design-unreferenced", 2, "design", "a new private function, class, method or constant nothing references"),
    Rule("design-duplicate-code", 3, "design", "added lines that repeat code already in the repository (per block)"),
    Rule("api-signature-changed", 6, "api", "a public function's signature changed incompatibly"),
    Rule("api-name-removed", 8, "api", "a public name removed from a module"),
    Rule("imports-new-third-party", 3, "imports", "a new third-party import"),
    Rule("debug-print", 4, "debug", "a print() call added"),
    Rule("debug-breakpoint", 8, "debug", "a breakpoint(), pdb or ipdb call added"),
    Rule("comments-todo", 2, "comments", "a TODO, FIXME or XXX comment added"),
    Rule("comments-commented-out-code", 2, "comments", "commented-out code added"),
    Rule("errors-bare-except", 5, "errors", "a bare except: added"),
    Rule("errors-blind-except", 3, "errors", "an except Exception/BaseException that swallows the error added"),
    Rule("code-unreachable", 4, "code", "code made unreachable (after return, raise, break or continue)"),
    Rule("code-syntax-error", 30, "code", "the patched file does not parse"),
    # Churn
    Rule("churn-formatting-only", 1, "churn", "a hunk that changes only formatting, quotes or comments"),
    # Tests
    Rule("tests-added", -8, "tests", "product code changed with new tests or checks (credit)"),
    Rule("tests-edited", 0, "tests", "an existing test file's lines changed (information)"),
    Rule("tests-deleted", 8, "tests", "a test file deleted"),
    Rule("tests-assert-removed", 5, "tests", "an assert removed or weakened in a test"),
    Rule("tests-skip-added", 6, "tests", "a skip or xfail added to a test"),
    Rule("tests-runner-config", 10, "tests", "test-runner configuration added or changed (put back before the run)"),
    # Secrets
    Rule("secrets-credential", 20, "secrets", "a credential (API key or token) added"),
    # Tampering: never legitimate in product code (tests and pytest's own code aside)
    Rule("tamper-pytest-outcome", 40, "tamper", "pytest.xfail(), skip() or exit() called from non-test code"),
    Rule(
        "tamper-pytest-internals",
        40,
        "tamper",
        "pytest's internals (_pytest, sys.modules['pytest']) reached from non-test code",
    ),
    Rule("tamper-atexit", 30, "tamper", "an atexit handler added: code that runs after the test run"),
    Rule("tamper-detach", 40, "tamper", "a detached or forked process (setsid, fork, start_new_session) added"),
    Rule("tamper-proc", 30, "tamper", "a /proc path added: other processes' memory, environment and files"),
    Rule("tamper-site-packages", 40, "tamper", "site-packages or a .pth file reached from non-test code"),
]
RULES: dict[str, Rule] = {r.id: r for r in _RULE_LIST}

#: Thresholds and their defaults. A threshold set in configuration is also a gate.
THRESHOLDS: dict[str, float | None] = {
    "max_files_touched": 3,
    "max_lines_changed": 120,
    "max_function_complexity": 10,
    "max_complexity_increase": None,
    "max_new_lint": None,
}
DEFAULT_MIN_SCORE = 70.0
_CONFIG_KEYS = {*THRESHOLDS, "min_taste_score", "weights", "ignore", "exclude"}


def format_finding(path: str | None, line: int | None, rule: str, message: str, penalty: float) -> str:
    """``path:line rule message (-points)``; a finding about the whole patch is at ``<patch>``."""
    where = f"{path or '<patch>'}:{line}" if line else (path or "<patch>")
    return f"{where} {rule} {message} ({0.0 - penalty:+g})"  # 0.0 - 0.0 is +0, where -0.0 is -0


@dataclass(frozen=True)
class Finding:
    rule: str
    path: str
    line: int | None
    message: str
    penalty: float = 0.0
    why: str = ""  # why it matters (the rule's summary unless given)

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "path": self.path,
            "line": self.line,
            "message": self.message,
            "penalty": round(self.penalty, 2),
            "why": self.why or RULES[self.rule].summary if self.rule in RULES else self.why,
        }

    def render(self) -> str:
        return format_finding(self.path, self.line, self.rule, self.message, self.penalty)


@dataclass(frozen=True)
class TasteConfig:
    """Weights, thresholds, suppressed rules and excluded paths."""

    thresholds: Mapping[str, float | None] = field(default_factory=lambda: dict(THRESHOLDS))
    gates: frozenset[str] = frozenset()  # thresholds set explicitly: exceeding one fails the item
    min_score: float = DEFAULT_MIN_SCORE
    weights: Mapping[str, float] = field(default_factory=dict)
    ignore: frozenset[str] = frozenset()
    exclude: tuple[str, ...] = ()

    def weight(self, rule: str) -> float:
        if rule in self.weights:
            return float(self.weights[rule])
        return RULES[rule].weight if rule in RULES else 1.0

    def excluded(self, path: str) -> bool:
        return any(fnmatch.fnmatch(path, pattern) for pattern in self.exclude)

    def merged(self, table: Mapping[str, Any], where: str) -> TasteConfig:
        """This configuration updated by a ``[taste]``-style table; ValueError names ``where``."""
        unknown = set(table) - _CONFIG_KEYS
        if unknown:
            raise ValueError(
                f"{where}: unknown taste key(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(_CONFIG_KEYS))})"
            )
        thresholds = dict(self.thresholds)
        gates = set(self.gates)
        for key in THRESHOLDS:
            if key in table:
                value = table[key]
                if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                    raise ValueError(f"{where}: {key} must be a non-negative number, got {value!r}")
                thresholds[key] = value
                gates.add(key)
        min_score = self.min_score
        if "min_taste_score" in table:
            value = table["min_taste_score"]
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 100:
                raise ValueError(f"{where}: min_taste_score must be a number from 0 to 100, got {value!r}")
            min_score = float(value)
        weights = dict(self.weights)
        for rule, value in dict(table.get("weights", {})).items():
            if rule not in RULES:
                raise ValueError(f"{where}: weights: unknown rule {rule!r} (rules: docs/rules.md)")
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise ValueError(f"{where}: weights.{rule} must be a number, got {value!r}")
            weights[rule] = float(value)
        ignore = set(self.ignore)
        for rule in table.get("ignore", []):
            if rule not in RULES:
                raise ValueError(f"{where}: ignore: unknown rule {rule!r} (rules: docs/rules.md)")
            ignore.add(rule)
        exclude = (*self.exclude, *[str(p) for p in table.get("exclude", [])])
        return TasteConfig(thresholds, frozenset(gates), min_score, weights, frozenset(ignore), exclude)


@dataclass(frozen=True)
class FileText:
    """One file of the patch with its text before and after (None where it does not exist)."""

    path: str
    kind: Literal["add", "delete", "modify", "rename"]
    base: str | None
    head: str | None
    hunks: tuple[HunkInfo, ...] = ()
    old_path: str | None = None
    binary: bool = False

    @property
    def is_python(self) -> bool:
        return self.path.endswith((".py", ".pyi"))

    def added(self) -> list[tuple[int, str]]:
        """(line in the patched file, text) of every added line."""
        return list(self._added)

    def removed(self) -> list[tuple[int, str]]:
        """(line in the base file, text) of every removed line."""
        return list(self._removed)

    # Read from the hunks once per file, not once per rule that asks (a grade asks dozens of times).
    @functools.cached_property
    def _added(self) -> tuple[tuple[int, str], ...]:
        return tuple(
            (ln.target_line, ln.text)
            for h in self.hunks
            for ln in h.lines
            if ln.kind == "+" and ln.target_line is not None
        )

    @functools.cached_property
    def _removed(self) -> tuple[tuple[int, str], ...]:
        return tuple(
            (ln.source_line, ln.text)
            for h in self.hunks
            for ln in h.lines
            if ln.kind == "-" and ln.source_line is not None
        )


@dataclass(frozen=True)
class TasteInput:
    files: tuple[FileText, ...]
    gold_paths: frozenset[str] | None = None
    gold_text: str = ""
    neutralised: tuple[Mapping[str, str], ...] = ()
    test_files_edited: tuple[str, ...] = ()
    local_modules: frozenset[str] = frozenset()  # names of the repository's own packages and modules
    declared_dependencies: frozenset[str] = frozenset()  # normalised names from pyproject/requirements/...
    ruff_config: str | None = None  # the repository's root ruff configuration (TOML text), if any
    ruff_config_name: str = "ruff.toml"
    ruff_configs: tuple[tuple[str, str], ...] = ()  # every ruff configuration: (path from the root, text)
    python_target: str | None = None  # the oldest Python the project supports, as ruff names it ("py310")
    entry_modules: frozenset[str] = frozenset()  # dotted modules of the project's console/GUI entry points
    project_ruff: str | None = None  # the ruff version the project pins, and where (information)
    # The repository's Python and configuration files as the grade found them (path from the
    # top of the repository -> text; repo.sources): where the design rules look for callers,
    # duplicates and references. The change's own files are read from ``files``, not here.
    sources: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TasteResult:
    score: float
    passed: bool
    findings: tuple[Finding, ...]
    metrics: Mapping[str, Any]
    gate_failures: tuple[str, ...] = ()
    duration_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "status": "scored",
            "score": round(self.score, 1),
            "passed": self.passed,
            "metrics": dict(self.metrics),
            "findings": [f.to_json() for f in self.findings],
            "gate_failures": list(self.gate_failures),
            "duration_s": round(self.duration_s, 3),
        }
