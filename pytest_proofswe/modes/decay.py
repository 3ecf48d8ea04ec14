"""Decay across repeated edits: what each step did to the codebase it was made on.

A *state* is one version of a codebase: the path -> content key of each of its Python
files (equal keys, equal text: a git blob id, or a hash of the text). A *step* goes from
one state to the next: a commit of a range (:mod:`.history`), or one step of a stepped
task (:mod:`.steps`). :func:`measure` reads every distinct file version once, measures
each state as a whole, and compares each step with the state it was made on.

Every figure, and what it does not show, is in docs/decay.md. In short, a state's *debt*
is a number of points::

    debt = excess complexity                 (sum over functions of max(0, cc - 5))
         + lint violations                    (ruff, one rule set for the whole range)
         + 0.25 x duplicated lines            (lines inside a repeated 6-line window)
         + 2 x pass-through wrappers          (a function whose body only calls another)
         + 0.5 x single-use functions/classes (named exactly once in the codebase)
         + 10 x Python files that do not parse

A step's *decay* is the debt after it minus the debt before it, plus what it did to the
tests (2 points per assert lost, 3 per skip added, 5 per test file removed; tests never
earn credit). The decay of a range is the sum over its steps. Only ruff runs in another
process (once for the whole range); the rest is pure.
"""

from __future__ import annotations

import difflib
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from ..change import is_test_path
from .codefacts import (
    COMPLEXITY_FREE,
    MAX_FILE_BYTES,
    WINDOW,
    FileFacts,
    LintCounts,
    content_key,
    file_facts,
    is_wrapper,
    lint_versions,
    ruff_config_from,
    significant,
)

__all__ = [
    "COMPLEXITY_FREE",
    "MAX_FILE_BYTES",
    "WEIGHTS",
    "WINDOW",
    "CodebaseMetrics",
    "DecayGate",
    "DecayTrend",
    "StepDecay",
    "StepInfo",
    "content_key",
    "is_wrapper",
    "measure",
    "ruff_config_from",
    "significant",
]

#: Points per unit of each figure (docs/decay.md).
WEIGHTS: Mapping[str, float] = {
    "complexity": 1.0,  # per point of excess cyclomatic complexity
    "lint": 1.0,  # per lint violation
    "duplication": 0.25,  # per duplicated line
    "wrappers": 2.0,  # per pass-through wrapper
    "single_use": 0.5,  # per single-use function or class
    "syntax": 10.0,  # per Python file that does not parse
    "asserts_lost": 2.0,  # per assert fewer in the test files
    "skips_added": 3.0,  # per skip or xfail more in the test files
    "test_files_removed": 5.0,  # per test file fewer
}


# --- states ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CodebaseMetrics:
    """One state measured as a whole (Python files only; tests apart from code)."""

    python_files: int
    code_files: int
    test_files: int
    code_lines: int  # significant lines of code (docs/decay.md)
    functions: int
    classes: int
    complexity_total: int
    complexity_excess: int
    lint: int | None  # None: no lint (ruff missing or failing)
    duplicated_lines: int
    wrappers: int
    single_use: int
    asserts: int
    skips: int
    test_functions: int
    syntax_errors: int

    @property
    def duplication_ratio(self) -> float:
        return round(self.duplicated_lines / self.code_lines, 4) if self.code_lines else 0.0

    @property
    def debt(self) -> float:
        w = WEIGHTS
        return round(
            w["complexity"] * self.complexity_excess
            + w["lint"] * (self.lint or 0)
            + w["duplication"] * self.duplicated_lines
            + w["wrappers"] * self.wrappers
            + w["single_use"] * self.single_use
            + w["syntax"] * self.syntax_errors,
            2,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "python_files": self.python_files,
            "code_files": self.code_files,
            "test_files": self.test_files,
            "code_lines": self.code_lines,
            "functions": self.functions,
            "classes": self.classes,
            "complexity_total": self.complexity_total,
            "complexity_excess": self.complexity_excess,
            "lint": self.lint,
            "duplicated_lines": self.duplicated_lines,
            "duplication_ratio": self.duplication_ratio,
            "wrappers": self.wrappers,
            "single_use": self.single_use,
            "asserts": self.asserts,
            "skips": self.skips,
            "test_functions": self.test_functions,
            "syntax_errors": self.syntax_errors,
            "debt": self.debt,
        }


@dataclass(frozen=True)
class StepInfo:
    """What names a step: a commit (id, subject, author, date) or a task's step."""

    id: str
    title: str = ""
    author: str = ""
    date: str = ""


@dataclass(frozen=True)
class StepDecay:
    """One step compared with the state it was made on."""

    index: int  # 1-based
    info: StepInfo
    before: CodebaseMetrics
    after: CodebaseMetrics
    files_changed: int
    lines_added: int  # Python lines (blank lines aside)
    lines_removed: int
    code_lines_added: int  # in code files, not tests
    touched_functions: tuple[str, ...]  # path::qualified name of the functions whose lines changed
    touched_complexity_before: int
    touched_complexity_after: int
    new_modules: tuple[str, ...]
    new_classes: tuple[str, ...]
    new_functions: tuple[str, ...]
    new_wrappers: tuple[str, ...]
    new_single_use: tuple[str, ...]
    new_clones: tuple[tuple[str, int, str], ...]  # (path, line, where else the same lines are), at most 10
    lint_introduced: Mapping[str, int]  # rule -> violations more in the changed files (fewer: negative)
    points: Mapping[str, float]  # category -> decay points

    @property
    def total(self) -> float:
        return round(sum(self.points.values()), 2)

    @property
    def abstractions_per_100_lines(self) -> float | None:
        made = len(self.new_modules) + len(self.new_classes) + len(self.new_functions)
        return round(100 * made / self.code_lines_added, 2) if self.code_lines_added else None

    def explain(self, limit: int = 3) -> str:
        """The categories that cost the most points, in words (``duplication +6 (24 lines), ...``)."""
        units = {
            "complexity": lambda: (
                f"excess complexity {self.before.complexity_excess} -> {self.after.complexity_excess}"
            ),
            "lint": lambda: f"lint {self.before.lint} -> {self.after.lint}",
            "duplication": lambda: f"duplicated lines {self.before.duplicated_lines} -> {self.after.duplicated_lines}",
            "wrappers": lambda: f"wrappers {self.before.wrappers} -> {self.after.wrappers}",
            "single_use": lambda: f"single-use {self.before.single_use} -> {self.after.single_use}",
            "syntax": lambda: f"files that do not parse {self.before.syntax_errors} -> {self.after.syntax_errors}",
            "tests": lambda: (
                f"asserts {self.before.asserts} -> {self.after.asserts}, skips {self.before.skips} -> "
                f"{self.after.skips}, test files {self.before.test_files} -> {self.after.test_files}"
            ),
        }
        costly = sorted(((p, c) for c, p in self.points.items() if p > 0), reverse=True)[:limit]
        return "; ".join(f"{c} {p:+g} ({units[c]()})" for p, c in costly) or "no category got worse"

    def to_json(self) -> dict[str, Any]:
        b, a = self.before, self.after
        return {
            "index": self.index,
            "id": self.info.id,
            "title": self.info.title,
            "author": self.info.author,
            "date": self.info.date,
            "files_changed": self.files_changed,
            "lines_added": self.lines_added,
            "lines_removed": self.lines_removed,
            "code_lines_added": self.code_lines_added,
            "complexity": {
                "total_before": b.complexity_total,
                "total_after": a.complexity_total,
                "excess_before": b.complexity_excess,
                "excess_after": a.complexity_excess,
                "touched_functions": list(self.touched_functions),
                "touched_before": self.touched_complexity_before,
                "touched_after": self.touched_complexity_after,
                "points": self.points["complexity"],
            },
            "lint": {
                "before": b.lint,
                "after": a.lint,
                "by_rule": dict(sorted(self.lint_introduced.items())),
                "points": self.points["lint"],
            },
            "duplication": {
                "lines_before": b.duplicated_lines,
                "lines_after": a.duplicated_lines,
                "ratio_before": b.duplication_ratio,
                "ratio_after": a.duplication_ratio,
                "new_clones": [{"path": p, "line": n, "also_at": o} for p, n, o in self.new_clones],
                "points": self.points["duplication"],
            },
            "abstraction": {
                "new_modules": list(self.new_modules),
                "new_classes": list(self.new_classes),
                "new_functions": list(self.new_functions),
                "per_100_lines": self.abstractions_per_100_lines,
                "wrappers_before": b.wrappers,
                "wrappers_after": a.wrappers,
                "new_wrappers": list(self.new_wrappers),
                "single_use_before": b.single_use,
                "single_use_after": a.single_use,
                "new_single_use": list(self.new_single_use),
                "points": round(self.points["wrappers"] + self.points["single_use"], 2),
            },
            "tests": {
                "files_before": b.test_files,
                "files_after": a.test_files,
                "asserts_before": b.asserts,
                "asserts_after": a.asserts,
                "skips_before": b.skips,
                "skips_after": a.skips,
                "test_functions_before": b.test_functions,
                "test_functions_after": a.test_functions,
                "points": self.points["tests"],
            },
            "syntax_errors": {"before": b.syntax_errors, "after": a.syntax_errors, "points": self.points["syntax"]},
            "points": self.total,
        }


@dataclass(frozen=True)
class DecayGate:
    """``--proofswe-max-decay``: whether the range stayed within the threshold, and who did most."""

    decay: float
    max_decay: float
    culprits: tuple[StepDecay, ...]  # the fewest steps whose points, taken out, bring the range within

    @property
    def passed(self) -> bool:
        return self.decay <= self.max_decay

    def message(self) -> str:
        if self.passed:
            return f"decay {self.decay:+g} points, within max_decay={self.max_decay:g}"
        lines = [
            f"code quality fell by {self.decay:g} decay points over the range, more than max_decay={self.max_decay:g}; "
            f"the step(s) that did most of it:"
        ]
        for step in self.culprits:
            lines.append(f"  {step.info.id[:12]} {step.info.title[:60]!r}: {step.total:+g} ({step.explain()})")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "decay": self.decay,
            "max_decay": self.max_decay,
            "passed": self.passed,
            "culprits": [s.info.id for s in self.culprits],
        }


@dataclass(frozen=True)
class DecayTrend:
    """Every step of a range, the states at its ends, and the trend between them."""

    steps: tuple[StepDecay, ...]
    start: CodebaseMetrics
    end: CodebaseMetrics
    lint_rules: str = ""
    lint_tool: str = ""
    notes: tuple[str, ...] = ()
    duration_s: float = 0.0

    @property
    def decay(self) -> float:
        return round(sum(s.total for s in self.steps), 2)

    @property
    def cumulative(self) -> tuple[float, ...]:
        out: list[float] = []
        total = 0.0
        for s in self.steps:
            total += s.total
            out.append(round(total, 2))
        return tuple(out)

    def by_category(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for s in self.steps:
            for category, points in s.points.items():
                out[category] = round(out.get(category, 0.0) + points, 2)
        return out

    def gate(self, max_decay: float) -> DecayGate:
        excess = self.decay - max_decay
        culprits: list[StepDecay] = []
        if excess > 0:
            for step in sorted(self.steps, key=lambda s: (-s.total, s.index)):
                if step.total <= 0 or excess <= 0:
                    break
                culprits.append(step)
                excess -= step.total
        return DecayGate(self.decay, max_decay, tuple(culprits))

    def series(self) -> dict[str, list[float | int | None]]:
        """Each figure at the start and after each step (for a chart)."""
        states = [self.start, *(s.after for s in self.steps)]
        keys = (
            "complexity_excess",
            "complexity_total",
            "lint",
            "duplicated_lines",
            "wrappers",
            "single_use",
            "asserts",
            "skips",
            "test_files",
            "code_lines",
            "debt",
        )
        return {k: [m.to_json()[k] for m in states] for k in keys}

    def to_json(self) -> dict[str, Any]:
        return {
            "decay": self.decay,
            "by_category": self.by_category(),
            "start": self.start.to_json(),
            "end": self.end.to_json(),
            "steps": [s.to_json() for s in self.steps],
            "trend": {
                "cumulative": list(self.cumulative),
                "worse_steps": sum(1 for s in self.steps if s.total > 0),
                "better_steps": sum(1 for s in self.steps if s.total < 0),
                "series": self.series(),
            },
            "weights": dict(WEIGHTS),
            "lint_rules": self.lint_rules,
            "lint_tool": self.lint_tool,
            "notes": list(self.notes),
            "duration_s": round(self.duration_s, 3),
        }


# --- measuring -------------------------------------------------------------------------------


class _Measurer:
    """Facts per file version, and the running counters of the current state."""

    def __init__(self, read: Callable[[str], str | None], lint: LintCounts | None) -> None:
        self.read = read
        self.lint = lint
        self._facts: dict[tuple[str, bool], FileFacts] = {}
        self._texts: dict[str, str | None] = {}

    def text(self, key: str) -> str | None:
        if key not in self._texts:
            self._texts[key] = self.read(key)
        return self._texts[key]

    def facts(self, path: str, key: str) -> FileFacts:
        slot = (key, is_test_path(path))
        if slot not in self._facts:
            self._facts[slot] = file_facts(self.text(key), path)
        return self._facts[slot]

    def lint_of(self, path: str, key: str) -> Mapping[str, int] | None:
        if self.lint is None or not self.lint.counts:
            return None
        return self.lint.counts.get((path, key), {})

    def metrics(self, files: Mapping[str, str]) -> tuple[CodebaseMetrics, Counter[int], Counter[str]]:
        windows: Counter[int] = Counter()
        refs: Counter[str] = Counter()
        for path, key in files.items():
            f = self.facts(path, key)
            refs.update(f.refs)
            windows.update(f.windows)
        code = [(p, self.facts(p, k)) for p, k in files.items() if not is_test_path(p)]
        tests = [self.facts(p, k) for p, k in files.items() if is_test_path(p)]
        lint_total: int | None = None
        if self.lint is not None and self.lint.counts:
            lint_total = sum(sum((self.lint_of(p, k) or {}).values()) for p, k in files.items())
        metrics = CodebaseMetrics(
            python_files=len(files),
            code_files=len(code),
            test_files=len(tests),
            code_lines=sum(len(f.sig_lines) for _p, f in code),
            functions=sum(1 for _p, f in code for kind, _q, _n in f.defs if kind == "function"),
            classes=sum(1 for _p, f in code for kind, _q, _n in f.defs if kind == "class"),
            complexity_total=sum(f.complexity for _p, f in code),
            complexity_excess=sum(f.excess for _p, f in code),
            lint=lint_total,
            duplicated_lines=sum(len(_duplicated(f, windows)) for _p, f in code),
            wrappers=sum(len(f.wrappers) for _p, f in code),
            single_use=sum(1 for _p, f in code for _k, _q, name in f.defs if refs[name] == 1),
            asserts=sum(f.asserts for f in tests),
            skips=sum(f.skips for f in tests),
            test_functions=sum(f.test_functions for f in tests),
            syntax_errors=sum(1 for p, k in files.items() if not self.facts(p, k).parsed),
        )
        return metrics, windows, refs


def _duplicated(f: FileFacts, windows: Counter[int]) -> set[int]:
    """The significant lines of ``f`` inside a window that occurs at least twice in the state."""
    covered: set[int] = set()
    for i, h in enumerate(f.windows):
        if windows[h] >= 2:
            covered.update(f.sig_lines[i : i + WINDOW])
    return covered


def _renames(before: Mapping[str, str], after: Mapping[str, str], m: _Measurer) -> dict[str, str]:
    """new path -> old path for files a step moved: the same content, or the same name and mostly the same text."""
    added = [p for p in after if p not in before]
    removed = [p for p in before if p not in after]
    out: dict[str, str] = {}
    by_key = {before[p]: p for p in removed}
    for path in added:
        if after[path] in by_key:
            out[path] = by_key.pop(after[path])
    left = [p for p in removed if p not in out.values()]
    for path in added:
        if path in out:
            continue
        name = PurePosixPath(path).name
        for old in left:
            if PurePosixPath(old).name != name:
                continue
            a, b = m.text(before[old]) or "", m.text(after[path]) or ""
            if difflib.SequenceMatcher(None, a.splitlines(), b.splitlines(), autojunk=False).quick_ratio() >= 0.5:
                out[path] = old
                left.remove(old)
                break
    return out


def _changed_lines(old: str, new: str) -> tuple[set[int], set[int], int, int]:
    """(lines removed from old, lines added to new, non-blank lines added, non-blank lines removed).

    The common head and tail are set aside first: a step changes a few lines of a long
    file, and difflib is quadratic in what is left.
    """
    a, b = old.splitlines(), new.splitlines()
    head = 0
    while head < len(a) and head < len(b) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < len(a) - head and tail < len(b) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    mid_a, mid_b = a[head : len(a) - tail], b[head : len(b) - tail]
    removed: set[int] = set()
    added: set[int] = set()
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, mid_a, mid_b, autojunk=False).get_opcodes():
        if tag in ("replace", "delete"):
            removed.update(range(head + i1 + 1, head + i2 + 1))
        if tag in ("replace", "insert"):
            added.update(range(head + j1 + 1, head + j2 + 1))
    plus = sum(1 for n in added if b[n - 1].strip())
    minus = sum(1 for n in removed if a[n - 1].strip())
    return removed, added, plus, minus


def _touched(f: FileFacts, lines: set[int]) -> dict[str, int]:
    return {q: cc for q, cc, s, e in f.functions if any(s <= n <= e for n in lines)}


def _step(
    index: int,
    info: StepInfo,
    before: Mapping[str, str],
    after: Mapping[str, str],
    m: _Measurer,
    mb: tuple[CodebaseMetrics, Counter[int], Counter[str]],
    ma: tuple[CodebaseMetrics, Counter[int], Counter[str]],
) -> StepDecay:
    (b, windows_b, refs_b), (a, windows_a, refs_a) = mb, ma
    renamed = _renames(before, after, m)  # new path -> old path
    old_of = {p: renamed.get(p, p) for p in after}
    # (path after, path before) of every file the step added, removed, changed or moved
    pairs: list[tuple[str | None, str | None]] = [
        (p, old_of[p] if old_of[p] in before else None) for p in after if before.get(old_of[p]) != after[p]
    ]
    pairs += [(p, renamed[p]) for p in after if p in renamed and before[renamed[p]] == after[p]]
    moved = set(renamed.values())
    pairs += [(None, p) for p in before if p not in after and p not in moved]
    lines_added = lines_removed = code_added = 0
    touched: list[str] = []
    touched_before = touched_after = 0
    lint_by_rule: Counter[str] = Counter()
    for new, old in pairs:
        new_text = (m.text(after[new]) or "") if new is not None else ""
        old_text = (m.text(before[old]) or "") if old is not None else ""
        removed_lines, added_lines, plus, minus = _changed_lines(old_text, new_text)
        lines_added += plus
        lines_removed += minus
        if new is not None:
            lint_by_rule.update(m.lint_of(new, after[new]) or {})
        if old is not None:
            lint_by_rule.subtract(m.lint_of(old, before[old]) or {})
        if is_test_path(new or old or ""):
            continue
        code_added += plus
        fb = m.facts(old, before[old]) if old is not None else None
        fa = m.facts(new, after[new]) if new is not None else None
        # A function is touched when one of its lines changed, on either side; its complexity on each side.
        names = sorted(set(_touched(fb, removed_lines) if fb else {}) | set(_touched(fa, added_lines) if fa else {}))
        all_b = {q: cc for q, cc, _s, _e in fb.functions} if fb is not None else {}
        all_a = {q: cc for q, cc, _s, _e in fa.functions} if fa is not None else {}
        touched += [f"{new or old}::{q}" for q in names]
        touched_before += sum(all_b.get(q, 0) for q in names)
        touched_after += sum(all_a.get(q, 0) for q in names)

    def named(files: Mapping[str, str], pick: Callable[[FileFacts], Iterable[str]], as_old: bool) -> set[str]:
        """path::name of what ``pick`` gives in each code file; after a step, renamed files under their old path."""
        return {
            f"{old_of[p] if as_old else p}::{q}"
            for p, k in files.items()
            if not is_test_path(p)
            for q in pick(m.facts(p, k))
        }

    def grown(
        pick: Callable[[FileFacts], Iterable[str]], pick_before: Callable[[FileFacts], Iterable[str]] | None = None
    ) -> tuple[str, ...]:
        grown = named(after, pick, True) - named(before, pick_before or pick, False)
        back = {old: new for new, old in renamed.items()}
        return tuple(sorted(_rename_back(q, back) for q in grown))

    new_functions = grown(lambda f: [q for kind, q, _n in f.defs if kind == "function"])
    new_classes = grown(lambda f: [q for kind, q, _n in f.defs if kind == "class"])
    new_wrappers = grown(lambda f: f.wrappers)
    new_single_use = grown(
        lambda f: [q for _k, q, n in f.defs if refs_a[n] == 1], lambda f: [q for _k, q, n in f.defs if refs_b[n] == 1]
    )
    new_modules = tuple(sorted(p for p in after if p not in before and p not in renamed and not is_test_path(p)))
    clones = _new_clones(
        [n for n, _o in pairs if n is not None and not is_test_path(n)], after, m, windows_a, windows_b
    )
    w = WEIGHTS
    points = {
        "complexity": round(w["complexity"] * (a.complexity_excess - b.complexity_excess), 2),
        "lint": round(w["lint"] * ((a.lint or 0) - (b.lint or 0)), 2),
        "duplication": round(w["duplication"] * (a.duplicated_lines - b.duplicated_lines), 2),
        "wrappers": round(w["wrappers"] * (a.wrappers - b.wrappers), 2),
        "single_use": round(w["single_use"] * (a.single_use - b.single_use), 2),
        "syntax": round(w["syntax"] * (a.syntax_errors - b.syntax_errors), 2),
        "tests": round(
            w["asserts_lost"] * max(0, b.asserts - a.asserts)
            + w["skips_added"] * max(0, a.skips - b.skips)
            + w["test_files_removed"] * max(0, b.test_files - a.test_files),
            2,
        ),
    }
    return StepDecay(
        index=index,
        info=info,
        before=b,
        after=a,
        files_changed=len(pairs),
        lines_added=lines_added,
        lines_removed=lines_removed,
        code_lines_added=code_added,
        touched_functions=tuple(touched),
        touched_complexity_before=touched_before,
        touched_complexity_after=touched_after,
        new_modules=new_modules,
        new_classes=new_classes,
        new_functions=new_functions,
        new_wrappers=new_wrappers,
        new_single_use=new_single_use,
        new_clones=tuple(clones),
        lint_introduced={k: v for k, v in lint_by_rule.items() if v},
        points=points,
    )


def _rename_back(qual: str, back: Mapping[str, str]) -> str:
    path, sep, rest = qual.partition("::")
    return f"{back.get(path, path)}{sep}{rest}"


def _new_clones(
    paths: Sequence[str],
    after: Mapping[str, str],
    m: _Measurer,
    windows_a: Counter[int],
    windows_b: Counter[int],
    limit: int = 10,
) -> list[tuple[str, int, str]]:
    """Where a changed file now repeats lines found elsewhere (windows duplicated after, not before)."""
    wanted: dict[int, tuple[str, int]] = {}
    for path in paths:
        f = m.facts(path, after[path])
        for i, h in enumerate(f.windows):
            if windows_a[h] >= 2 and windows_b[h] < 2 and h not in wanted:
                wanted[h] = (path, f.sig_lines[i])
    if not wanted:
        return []
    # Overlapping or adjacent windows of one file are one clone: keep the first window of each run.
    kept: list[tuple[int, str, int]] = []
    run_end: tuple[str, int] | None = None  # (path, significant index) where the current run's last window starts
    index_of = {(path, line): i for path in paths for i, line in enumerate(m.facts(path, after[path]).sig_lines)}
    for h, (path, line) in sorted(wanted.items(), key=lambda kv: kv[1]):
        i = index_of[(path, line)]
        if run_end is not None and run_end[0] == path and i - run_end[1] <= WINDOW:
            run_end = (path, i)
            continue
        kept.append((h, path, line))
        run_end = (path, i)
    kept = kept[:limit]
    hashes = {h for h, _p, _l in kept}
    seen: dict[int, list[tuple[str, int]]] = {h: [] for h in hashes}
    for path, key in after.items():
        if is_test_path(path):
            continue
        f = m.facts(path, key)
        for i, h in enumerate(f.windows):
            if h in hashes:
                seen[h].append((path, f.sig_lines[i]))
    out = []
    for h, path, line in kept:
        others = [f"{p}:{n}" for p, n in seen[h] if (p, n) != (path, line)]
        out.append((path, line, others[0] if others else ""))
    return out


def measure(
    states: Sequence[Mapping[str, str]],
    steps: Sequence[StepInfo],
    read: Callable[[str], str | None],
    *,
    ruff_config: tuple[str, str] | None = None,
    lint: bool = True,
    clock: Callable[[], float] = time.monotonic,
) -> DecayTrend:
    """Measure ``states`` (path -> content key of each Python file) and the steps between them.

    ``steps[i]`` goes from ``states[i]`` to ``states[i + 1]``. ``read(key)`` gives a file's
    text (None when it cannot be read). ``ruff_config`` is the repository's ruff
    configuration at the start, used for every state (None: the default rule set).
    """
    if len(states) != len(steps) + 1:
        raise ValueError(f"{len(states)} states need {len(states) - 1} steps, got {len(steps)}")
    started = clock()
    notes: list[str] = []
    texts: dict[str, str | None] = {}

    def cached(key: str) -> str | None:
        if key not in texts:
            texts[key] = read(key)
        return texts[key]

    lint_result: LintCounts | None = None
    if lint:
        versions: dict[tuple[str, str], str] = {}
        for state in states:
            for path, key in state.items():
                text = cached(key)
                if text is not None and (path, key) not in versions:
                    versions[(path, key)] = text
        skeleton = {p for state in states for p in state}
        lint_result = lint_versions(versions, ruff_config, skeleton)
        if lint_result.note:
            notes.append(f"lint: {lint_result.note}")
    else:
        notes.append("lint: not measured")
    m = _Measurer(cached, lint_result)
    measured = [m.metrics(state) for state in states]
    out = [
        _step(i + 1, info, states[i], states[i + 1], m, measured[i], measured[i + 1]) for i, info in enumerate(steps)
    ]
    return DecayTrend(
        steps=tuple(out),
        start=measured[0][0],
        end=measured[-1][0],
        lint_rules=lint_result.rules if lint_result else "",
        lint_tool=lint_result.tool if lint_result else "",
        notes=tuple(notes),
        duration_s=clock() - started,
    )
