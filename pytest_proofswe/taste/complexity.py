"""Per-function cyclomatic complexity before and after, matched by qualified name (radon).

The maintainability index is information only, and only computed for files where
radon's quadratic cost on long multi-line statements (rubik/radon#223) cannot bite.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterator
from time import perf_counter as clock
from typing import Any

from ..change import is_test_path
from .model import Finding, TasteConfig, TasteInput
from .pyparse import tree_of

#: The maintainability index is skipped for files longer than this, or with a statement
#: spanning more lines than MI_MAX_SPAN (radon's raw metrics are quadratic there).
MI_MAX_LINES = 3000
MI_MAX_SPAN = 60
#: Seconds spent on the maintainability index per patch; files after that get none.
MI_BUDGET_S = 0.1
MI_SECONDS_PER_LINE = 50e-6


class _WithoutComprehensions(ast.NodeTransformer):
    """Comprehensions made constants: in a test they build data, they do not branch."""

    def _drop(self, node: ast.expr) -> ast.expr:
        return ast.copy_location(ast.Constant(value=None), node)

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _drop


def function_complexity(text: str, only: set[str] | None = None, *, test: bool = False) -> dict[str, tuple[int, int]]:
    """qualified name -> (cyclomatic complexity, line) of every function and method.

    With ``only``, just the module-level functions and classes of those names: code the
    patch did not touch keeps its complexity, so a delta needs only the touched ones.
    With ``test``, the code of a test file: its asserts and comprehensions are checks and
    data, not branches, and do not count.
    """
    from radon.complexity import cc_visit_ast  # type: ignore[import-untyped]

    tree = tree_of(text)
    if tree is None:
        return {}
    if only is not None:
        tree = ast.Module(body=[n for n in tree.body if getattr(n, "name", None) in only], type_ignores=[])
    if test:  # a copy: the parsed tree is shared by every analyser
        tree = _WithoutComprehensions().visit(copy.deepcopy(tree))
    out: dict[str, tuple[int, int]] = {}

    def add(block: Any, prefix: str) -> None:
        qual = f"{prefix}{block.name}"
        out[qual] = (block.complexity, block.lineno)
        for closure in getattr(block, "closures", []):
            add(closure, f"{qual}.")

    for block in cc_visit_ast(tree, no_assert=test):
        if type(block).__name__ == "Function":
            add(block, f"{block.classname}." if getattr(block, "classname", None) else "")
    return out


def _touched_names(text: str | None, lines: set[int]) -> set[str]:
    """Names of the module-level definitions whose lines include one of ``lines``."""
    tree = tree_of(text)
    if tree is None or not lines:
        return set()
    names = set()
    for node in tree.body:
        name = getattr(node, "name", None)
        if name is not None:
            end = getattr(node, "end_lineno", None) or node.lineno
            start = min([node.lineno, *[d.lineno for d in getattr(node, "decorator_list", [])]])
            if any(start <= line <= end for line in lines):
                names.add(name)
    return names


_COMPOUND = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.If,
    ast.For,
    ast.While,
    ast.With,
    ast.Try,
    ast.AsyncFor,
    ast.AsyncWith,
)


def _mi_safe(text: str) -> bool:
    if text.count("\n") > MI_MAX_LINES:
        return False
    tree = tree_of(text)
    if tree is None:
        return False
    for node in ast.walk(tree):
        end = getattr(node, "end_lineno", None)
        start = getattr(node, "lineno", None)
        long = isinstance(node, ast.stmt) and end is not None and start is not None and end - start > MI_MAX_SPAN
        if long and not isinstance(node, _COMPOUND):
            return False
    return True


def maintainability(text: str | None) -> float | None:
    if not text or not _mi_safe(text):
        return None
    # radon's mi_visit(text, multi=True), from the tree parsed once (and quietly: radon's
    # own ast.parse would raise or emit the analysed code's warnings).
    from radon.metrics import h_visit_ast, mi_compute  # type: ignore[import-untyped]
    from radon.raw import analyze  # type: ignore[import-untyped]
    from radon.visitors import ComplexityVisitor  # type: ignore[import-untyped]

    tree = tree_of(text)
    if tree is None:
        return None
    try:
        raw = analyze(text)
        comments = (raw.comments + raw.multi) / float(raw.sloc) * 100 if raw.sloc else 0
        volume = h_visit_ast(tree).total.volume
        complexity = ComplexityVisitor.from_ast(tree).total_complexity
        return round(float(mi_compute(volume, complexity, raw.lloc, comments)), 1)
    except (SyntaxError, ValueError, ZeroDivisionError):
        return None


def _parses(text: str | None) -> bool:
    return tree_of(text) is not None


def check(data: TasteInput, config: TasteConfig, metrics: dict[str, Any]) -> Iterator[Finding]:
    started = clock()
    total_increase = 0
    made_worse = 0
    limit = config.thresholds.get("max_function_complexity")
    mi: dict[str, dict[str, Any]] = {}
    test_files = set(data.test_files_edited)
    for f in data.files:
        if not f.is_python or f.binary or not _parses(f.head):
            continue
        assert f.head is not None
        touched = _touched_names(f.head, {ln for ln, _ in f.added()})
        touched |= _touched_names(f.base, {ln for ln, _ in f.removed()})
        test = is_test_path(f.path) or f.path in test_files
        base = function_complexity(f.base, touched, test=test) if f.base is not None and _parses(f.base) else {}
        head = function_complexity(f.head, touched, test=test)
        for qual, (cc, line) in head.items():
            if qual in base:
                before = base[qual][0]
                if cc > before:
                    total_increase += cc - before
                    made_worse += 1
                    yield Finding(
                        "complexity-increase",
                        f.path,
                        line,
                        f"{qual}: complexity {before} -> {cc} (+{cc - before})",
                        config.weight("complexity-increase") * (cc - before),
                    )
            elif limit is not None and cc > limit and not test:  # a new test is never a cost
                yield Finding(
                    "complexity-new-complex-function",
                    f.path,
                    line,
                    f"new function {qual} has complexity {cc} (max_function_complexity={limit:g})",
                    config.weight("complexity-new-complex-function"),
                )
        # Information only (a metric, never a finding), within a time budget: radon's MI
        # costs more than everything else here together on large files (about
        # MI_SECONDS_PER_LINE for each version), so it is skipped where it would not fit.
        estimate = MI_SECONDS_PER_LINE * (f.head.count("\n") + (f.base or "").count("\n"))
        if clock() - started + estimate < MI_BUDGET_S:
            mi[f.path] = {"before": maintainability(f.base), "after": maintainability(f.head)}
        else:
            mi[f.path] = {"before": None, "after": None, "skipped": "time budget"}
    metrics["complexity_increase"] = total_increase
    metrics["functions_more_complex"] = made_worse
    metrics["maintainability"] = mi
