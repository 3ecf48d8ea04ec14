"""Parsing Python once per text: every analyser shares the same trees (pure, memoised)."""

from __future__ import annotations

import ast
import functools

from ..pysource import parse_quietly

__all__ = ["definitions", "enclosing", "nodes", "parse"]


@functools.lru_cache(maxsize=256)
def parse(text: str) -> ast.Module | SyntaxError:
    """The tree of ``text``, or the SyntaxError it raises (NUL bytes included)."""
    try:
        return parse_quietly(text)
    except SyntaxError as exc:
        return exc
    except ValueError as exc:
        return SyntaxError(str(exc))


def tree_of(text: str | None) -> ast.Module | None:
    """The tree of ``text``, or None when there is no text or it does not parse."""
    if text is None:
        return None
    tree = parse(text)
    return tree if isinstance(tree, ast.Module) else None


@functools.lru_cache(maxsize=64)
def nodes(text: str) -> tuple[ast.AST, ...]:
    """Every node of the tree of ``text`` in ``ast.walk``'s order (breadth first), listed once per text.

    For the rules that look at every node: one pass shared by all of them, without
    ``ast.walk``'s generators (about twice as fast).
    """
    tree = tree_of(text)
    if tree is None:
        return ()
    out: list[ast.AST] = [tree]
    append = out.append
    for node in out:  # the list grows as it is read: breadth first, as ast.walk
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, ast.AST):
                append(value)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        append(item)
    return tuple(out)


_BODIES = ("body", "orelse", "finalbody", "handlers", "cases")


@functools.lru_cache(maxsize=256)
def definitions(text: str) -> tuple[tuple[int, int, str], ...]:
    """(first line, last line, qualified name) of every function and class, outermost first.

    Walks statement bodies only, not expressions: a fraction of ``ast.walk``'s nodes.
    """
    tree = tree_of(text)
    if tree is None:
        return ()
    out: list[tuple[int, int, str]] = []
    stack: list[tuple[ast.AST, str]] = [(tree, "")]
    while stack:
        node, prefix = stack.pop()
        for name in _BODIES:
            for child in getattr(node, name, None) or ():
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    qual = f"{prefix}{child.name}"
                    out.append((child.lineno, child.end_lineno or child.lineno, qual))
                    stack.append((child, f"{qual}."))
                elif isinstance(child, ast.AST):
                    stack.append((child, prefix))
    out.sort()
    return tuple(out)


def enclosing(text: str, line: int) -> str:
    """Qualified name of the innermost function or class holding ``line`` ("<module>" if none)."""
    best = "<module>"
    best_size = None
    for start, end, qual in definitions(text):
        if start > line:
            break
        if start <= line <= end and (best_size is None or end - start <= best_size):
            best, best_size = qual, end - start
    return best
