"""Per-function cyclomatic complexity before and after, matched by qualified name (radon's rules).

Only the functions the patch changed are measured, each once per side: a function whose
text is the same before and after has the same complexity. The count follows radon's
``ComplexityVisitor`` rule for rule (a test compares the two on real code), in one pass
over each function's own statements instead of radon's visitor over the whole class.

The maintainability index is information only, and only computed for files where
radon's quadratic cost on long multi-line statements (rubik/radon#223) cannot bite.
"""

from __future__ import annotations

import ast
import re
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

_Function = ast.FunctionDef | ast.AsyncFunctionDef
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
#: Where radon's count of a function stops: a closure or an inner class is measured apart.
_STOP = frozenset(_DEFINITIONS)
#: Comprehensions in a test build data, they do not branch: not counted there either.
_STOP_IN_TESTS = _STOP | {ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp}
#: The nodes radon counts (ComplexityVisitor.generic_visit and visit_Assert).
_DECISIONS = frozenset(
    {ast.If, ast.IfExp, ast.BoolOp, ast.Try, ast.For, ast.While, ast.AsyncFor, ast.comprehension, ast.Match, ast.Assert}
)
#: The fields that hold statements (where a definition can be), in each node's field order.
_STATEMENT_FIELDS = frozenset({"body", "handlers", "orelse", "finalbody", "cases"})


def _definitions_in(nodes: list[ast.stmt]) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef]:
    """The definitions ``nodes`` hold outside other definitions (in ``if``, ``try``, ...), in radon's order."""
    for node in nodes:
        if isinstance(node, _DEFINITIONS):
            yield node
            continue
        for name in node._fields:
            if name in _STATEMENT_FIELDS:
                yield from _definitions_in(getattr(node, name, None) or [])


def _functions_in(nodes: list[ast.stmt]) -> Iterator[_Function]:
    # A class inside a function or a class is radon's "inner class": its methods are not reported.
    return (n for n in _definitions_in(nodes) if not isinstance(n, ast.ClassDef))


def _units(tree: ast.Module, only: set[str] | None) -> dict[str, _Function]:
    """Qualified name -> definition of the functions, methods and closures radon reports.

    Of the module's functions and classes (or the module-level ones named in ``only``): functions first,
    then each class's methods, each followed by its closures; for a name defined twice
    (a property and its setter), the last, as in radon's results.
    """
    if only is None:  # the whole module, definitions under a module-level if or try included
        top = list(_definitions_in(tree.body))
    else:
        top = [n for n in tree.body if isinstance(n, _DEFINITIONS) and n.name in only]
    out: dict[str, _Function] = {}

    def add(node: _Function, qual: str) -> None:
        out[qual] = node
        for closure in _functions_in(node.body):
            add(closure, f"{qual}.{closure.name}")

    for node in top:
        if not isinstance(node, ast.ClassDef):
            add(node, node.name)
    for node in top:
        if isinstance(node, ast.ClassDef):
            for method in _functions_in(node.body):
                add(method, f"{node.name}.{method.name}")
    return out


def _match_branches(node: ast.Match) -> int:
    catch_all = any(getattr(case.pattern, "pattern", False) is None for case in node.cases)
    return max(0, len(node.cases) - catch_all)


def complexity_of(node: _Function, *, test: bool = False) -> int:
    """radon's cyclomatic complexity of one function: 1 + its decisions, its closures' not counted.

    With ``test``, asserts and comprehensions count nothing (radon's ``no_assert``, and
    comprehensions taken out). Dispatched on the node's type, children pushed field by
    field: several times faster than radon's visitor, to the same count.
    """
    total = 1
    stop = _STOP_IN_TESTS if test else _STOP
    stack: list[ast.AST] = list(node.body)
    pop, push = stack.pop, stack.append
    while stack:
        n = pop()
        kind = type(n)
        if kind in stop:
            continue
        if kind in _DECISIONS:
            if kind is ast.Assert:
                total += not test  # radon does not look inside an assert
                continue
            if kind is ast.If or kind is ast.IfExp:
                total += 1
            elif kind is ast.BoolOp:
                total += len(n.values) - 1  # type: ignore[attr-defined]
            elif kind is ast.Try:  # not TryStar: radon counts the node named Try only
                total += len(n.handlers) + bool(n.orelse)  # type: ignore[attr-defined]
            elif kind is ast.comprehension:
                total += len(n.ifs) + 1  # type: ignore[attr-defined]
            elif kind is ast.Match:
                total += _match_branches(n)  # type: ignore[arg-type]
            else:  # For, While, AsyncFor
                total += bool(n.orelse) + 1  # type: ignore[attr-defined]
        for name in kind._fields:
            value = getattr(n, name)
            if type(value) is list:
                for item in value:
                    if isinstance(item, ast.AST):
                        push(item)
            elif isinstance(value, ast.AST) and value._fields:  # not the Load/Store leaves
                push(value)
    return total


def function_complexity(text: str, only: set[str] | None = None, *, test: bool = False) -> dict[str, tuple[int, int]]:
    """qualified name -> (cyclomatic complexity, line) of every function, method and closure.

    With ``only``, just the module-level functions and classes of those names. With
    ``test``, the code of a test file: its asserts and comprehensions are checks and
    data, not branches, and do not count.
    """
    tree = tree_of(text)
    if tree is None:
        return {}
    return {qual: (complexity_of(node, test=test), node.lineno) for qual, node in _units(tree, only).items()}


_LINE_BREAK = re.compile(r"\r\n?|\n")


def _source_lines(text: str) -> list[str]:
    """The lines of ``text`` as Python numbers them (not str.splitlines: a form feed is no line break)."""
    return _LINE_BREAK.split(text)


def _same_text(a: _Function, a_lines: list[str], b: _Function, b_lines: list[str]) -> bool:
    """Whether two definitions are the same text (decorators aside: they add no complexity)."""
    a_end, b_end = a.end_lineno or a.lineno, b.end_lineno or b.lineno
    return a_end - a.lineno == b_end - b.lineno and a_lines[a.lineno - 1 : a_end] == b_lines[b.lineno - 1 : b_end]


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
        head_tree = tree_of(f.head)
        base_tree = tree_of(f.base)
        assert head_tree is not None
        head = _units(head_tree, touched) if touched else {}
        base = _units(base_tree, touched) if touched and base_tree is not None else {}
        head_lines = _source_lines(f.head) if head else []
        base_lines = _source_lines(f.base) if base and f.base is not None else []
        for qual, node in head.items():
            old = base.get(qual)
            if old is not None:
                if _same_text(node, head_lines, old, base_lines):
                    continue  # not changed by the patch: the same complexity
                before, cc = complexity_of(old, test=test), complexity_of(node, test=test)
                if cc > before:
                    total_increase += cc - before
                    made_worse += 1
                    yield Finding(
                        "complexity-increase",
                        f.path,
                        node.lineno,
                        f"{qual}: complexity {before} -> {cc} (+{cc - before})",
                        config.weight("complexity-increase") * (cc - before),
                    )
            elif limit is not None and not test:  # a new test is never a cost
                cc = complexity_of(node, test=test)
                if cc > limit:
                    yield Finding(
                        "complexity-new-complex-function",
                        f.path,
                        node.lineno,
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
