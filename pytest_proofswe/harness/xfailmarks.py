"""Which hidden tests declare themselves xfail, read from their source (never run).

pytest reports ``xfailed`` both for a test marked ``xfail`` and for any test during which
``pytest.xfail()`` was called, from anywhere: the code under test can call it to turn its
own failure into an expected one. An xfail counts as a pass only for a test whose own
source declares it (:func:`.verdict.decide`). Declared means, generously (the hidden
tests and the conftests are the task's, put back by the guard, not the submission's):
``xfail`` (any case: sympy's ``@XFAIL``) named in the test function's decorators or body,
in an enclosing class's decorators or body outside its methods, in the module outside
its functions, classes and imports (``pytestmark``, ``pytest.param(..., marks=...)``
lists: every test of that module then counts as declared), or
anywhere in a ``conftest.py`` of the test's folder or a folder above it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from ..pysource import parse_quietly

__all__ = ["xfail_marked"]

_XFAIL = re.compile(r"xfail", re.IGNORECASE)


def _mentions(source: str, node: ast.AST) -> bool:
    segment = ast.get_source_segment(source, node) or ""
    return bool(_XFAIL.search(segment))


def _outside_defs(source: str, body: list[ast.stmt]) -> bool:
    """Whether a statement of ``body`` other than a def, a class or an import mentions xfail."""
    skipped = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)
    return any(_mentions(source, stmt) for stmt in body if not isinstance(stmt, skipped))


def _declared(source: str, tree: ast.Module, names: list[str]) -> bool:
    """Whether the test at ``names`` (classes, then the function) in ``tree`` declares xfail."""
    if _outside_defs(source, tree.body):
        return True
    body: list[ast.stmt] = tree.body
    for depth, name in enumerate(names):
        last = depth == len(names) - 1
        found: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | None = None
        for stmt in body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and stmt.name == name:
                found = stmt  # the last definition wins, as in Python
        if found is None:
            return False
        if any(_mentions(source, d) for d in found.decorator_list):
            return True
        if last or not isinstance(found, ast.ClassDef):
            return _mentions(source, found)
        if _outside_defs(source, found.body):
            return True
        body = found.body
    return False


def _conftests_mention(workspace: Path, test_file: PurePosixPath, cache: dict[Path, bool]) -> bool:
    folder = test_file.parent
    for parent in (folder, *folder.parents):
        path = workspace / parent / "conftest.py"
        if path not in cache:
            try:
                cache[path] = bool(_XFAIL.search(path.read_text(encoding="utf-8", errors="replace")))
            except OSError:
                cache[path] = False
        if cache[path]:
            return True
    return False


def xfail_marked(test_ids: Iterable[str], workspace: Path) -> frozenset[str]:
    """The ids among ``test_ids`` whose source in ``workspace`` declares them xfail."""
    parsed: dict[str, tuple[str, ast.Module] | None] = {}
    conftests: dict[Path, bool] = {}
    out = set()
    for test_id in test_ids:
        file, *names = test_id.split("[", 1)[0].split("::")
        rel = PurePosixPath(file)
        if not names or rel.is_absolute() or ".." in rel.parts:
            continue
        if _conftests_mention(workspace, rel, conftests):
            out.add(test_id)
            continue
        if file not in parsed:
            try:
                source = (workspace / rel).read_text(encoding="utf-8", errors="replace")
                parsed[file] = (source, parse_quietly(source))
            except (OSError, SyntaxError, ValueError):
                parsed[file] = None
        entry = parsed[file]
        if entry is not None and _declared(entry[0], entry[1], names):
            out.add(test_id)
    return frozenset(out)
