"""Tests the submission touched: tests added, edits, deletions, removed asserts, added skips, runner config.

Adding tests is never a cost, and a change of product code that comes with tests earns a
credit; only what can weaken tests costs points. An assert replaced by a stronger one (the
test checks at least as much as before) is neither removed nor an edit. A test file deleted
with the code it tested (it imports names the change removes) weakens nothing.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from ..change import HunkInfo, HunkLine, is_test_path
from ..pysource import parse_quietly
from .model import FileText, Finding, TasteConfig, TasteInput
from .pyparse import enclosing, tree_of
from .references import imported_from

_ASSERT = re.compile(r"^\s*(assert\b|self\.assert\w*\(|pytest\.raises\(|with pytest\.raises\()")
_SKIP = re.compile(
    r"(pytest\.mark\.(skip|skipif|xfail)\b|pytest\.(skip|xfail)\(|unittest\.(skip|skipIf|skipUnless|expectedFailure)\b"
    r"|@(skip|skipIf|skipUnless|expectedFailure)\b)"
)


# Removed lines that cannot weaken a test: blank lines, comments, imports.
_IGNORABLE = re.compile(r"^\s*($|#|import\s|from\s+\S+\s+import\s)")
_EXACT_OPS = (ast.Eq, ast.Is)


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _is_check_call(node: ast.expr) -> bool:
    if not isinstance(node, ast.Call):
        return False
    name = _dotted(node.func)
    return name.startswith("self.assert") or name in ("pytest.raises", "pytest.warns", "pytest.approx")


def _checked(node: ast.stmt) -> list[ast.expr] | None:
    """What a check statement checks (an assert's test, a ``self.assert*`` call, a ``pytest.raises``), or None."""
    if isinstance(node, ast.Assert):
        return [node.test]
    if isinstance(node, ast.Expr) and _is_check_call(node.value):
        return [node.value]
    if isinstance(node, (ast.With, ast.AsyncWith)):
        items = [item.context_expr for item in node.items if _is_check_call(item.context_expr)]
        return items or None
    return None


def _checks(nodes: list[ast.AST]) -> list[ast.stmt]:
    return [n for top in nodes for n in ast.walk(top) if isinstance(n, ast.stmt) and _checked(n) is not None]


_Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def _function(tree: ast.Module, qual: str) -> _Definition | None:
    """The function or class of qualified name ``qual`` in ``tree``."""
    node: ast.AST = tree
    found: _Definition | None = None
    for part in qual.split("."):
        found = next(
            (c for c in ast.walk(node) if isinstance(c, _Definition) and c.name == part and c is not node), None
        )
        if found is None:
            return None
        node = found
    return found


def _still_there(node: ast.AST, words: set[str], text: str) -> bool:
    """Whether a name, attribute or literal of a removed check appears in the added ``text``."""
    if isinstance(node, ast.Name):
        return node.id in words
    if isinstance(node, ast.Attribute):
        return node.attr in words
    if not isinstance(node, ast.Constant):
        return True
    value = node.value
    if isinstance(value, str):
        return value in text
    if isinstance(value, (int, float, complex)) and not isinstance(value, bool):
        return bool(re.search(rf"(?<![\w.]){re.escape(repr(value))}(?![\w.])", text))
    return str(value) in words  # True, False, None, ...


def _tokens(node: ast.AST) -> set[str]:
    """Names, attributes and literals of an expression."""
    out: set[str] = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Name):
            out.add(n.id)
        elif isinstance(n, ast.Attribute):
            out.add(n.attr)
        elif isinstance(n, ast.Constant):
            out.add(repr(n.value))
    return out


def _comparisons(checks: list[ast.stmt]) -> list[tuple[set[type[ast.cmpop]], set[str]]]:
    """(operators, tokens) of every comparison the checks make."""
    return [
        ({type(op) for op in node.ops}, _tokens(node))
        for check in checks
        for expr in _checked(check) or []
        for node in ast.walk(expr)
        if isinstance(node, ast.Compare)
    ]


def _strengthened(removed: ast.stmt, added_text: str, added_checks: list[ast.stmt], before: int, after: int) -> bool:
    """Whether the added lines check at least what ``removed`` checked.

    At least as many checks as before; every name, attribute and literal the removed check
    used still appears in the added lines; each of its comparisons made again by an added
    check about the same things (sharing a name, attribute or literal): an exact one
    (``==``, ``is``) by an exact one, another by the same or an exact one; no added
    ``assert ... or ...``.
    """
    if after < before or not added_checks:
        return False
    if any(
        isinstance(c, ast.Assert) and isinstance(c.test, ast.BoolOp) and isinstance(c.test.op, ast.Or)
        for c in added_checks
    ):
        return False
    words = set(re.findall(r"\w+", added_text))
    exprs = _checked(removed) or []
    if not all(_still_there(node, words, added_text) for expr in exprs for node in ast.walk(expr)):
        return False
    added = _comparisons(added_checks)
    for ops, tokens in _comparisons([removed]):
        for op in ops:
            if not any(
                shared & tokens and (new_ops & set(_EXACT_OPS) or (op not in _EXACT_OPS and op in new_ops))
                for new_ops, shared in added
            ):
                return False
    return True


def _parse_line(text: str) -> ast.stmt | None:
    text = text.strip()
    if text.endswith(":"):
        text += " pass"
    try:
        tree = parse_quietly(text)
    except (SyntaxError, ValueError):
        return None
    return tree.body[0] if len(tree.body) == 1 else None


def _blocks(hunk: HunkInfo) -> list[list[HunkLine]]:
    """Runs of changed lines between context lines."""
    blocks: list[list[HunkLine]] = [[]]
    for ln in hunk.lines:
        if ln.kind == " ":
            if blocks[-1]:
                blocks.append([])
        else:
            blocks[-1].append(ln)
    return [b for b in blocks if b]


def strengthened_asserts(f: FileText) -> set[int]:
    """Base lines of removed checks that the patch replaced by checks at least as strong.

    With both texts, the unit is the test function (matched by qualified name); without
    them (a diff alone), the block of changed lines.
    """
    removed = [(line, text) for line, text in f.removed() if _ASSERT.match(text)]
    if not removed:
        return set()
    out: set[int] = set()
    base, head = tree_of(f.base), tree_of(f.head)
    added_lines = dict(f.added())
    if base is not None and head is not None and f.base is not None and f.head is not None:
        base_checks = {n.lineno: n for n in _checks([base])}
        for line, _text in removed:
            node = base_checks.get(line)
            qual = enclosing(f.base, line)
            old_fn, new_fn = _function(base, qual), _function(head, qual)
            if node is None or qual == "<module>" or old_fn is None or new_fn is None:
                continue
            start, end = new_fn.lineno, new_fn.end_lineno or new_fn.lineno
            new_checks = _checks([new_fn])
            added_text = "\n".join(t for ln, t in added_lines.items() if start <= ln <= end)
            added_checks = [c for c in new_checks if c.lineno in added_lines]
            before = len(_checks([old_fn]))
            if _strengthened(node, added_text, added_checks, before, len(new_checks)):
                out.add(line)
        return out
    for hunk in f.hunks:
        for block in _blocks(hunk):
            gone = [(ln.source_line, ln.text) for ln in block if ln.kind == "-" and _ASSERT.match(ln.text)]
            new = [ln.text for ln in block if ln.kind == "+"]
            added_checks = [n for n in (_parse_line(t) for t in new if _ASSERT.match(t)) if n is not None]
            for source_line, text in gone:
                node = _parse_line(text)
                if (
                    source_line is not None
                    and node is not None
                    and _checked(node) is not None
                    and _strengthened(node, "\n".join(new), added_checks, len(gone), len(added_checks))
                ):
                    out.add(source_line)
    return out


def check(data: TasteInput, config: TasteConfig) -> Iterator[Finding]:
    neutralised = {n["path"] for n in data.neutralised}
    for n in data.neutralised:
        f = next((f for f in data.files if f.path == n["path"]), None)
        line = f.added()[0][0] if f is not None and f.added() else None
        yield Finding(
            "tests-runner-config",
            n["path"],
            line,
            f"{n['reason']} ({n['action']} before the run)",
            config.weight("tests-runner-config"),
        )
    edited = set(data.test_files_edited)
    yield from _tests_added(data, config, edited)
    removed: dict[str, set[str]] | None = None
    for f in data.files:
        is_test = is_test_path(f.path) or f.path in edited
        if is_test and f.path not in neutralised:
            if f.kind == "delete":
                removed = _removed_names(data) if removed is None else removed
                subject = _subject_removed(f, removed)
                if subject:
                    yield Finding(
                        "tests-deleted", f.path, None, f"test file deleted with the code it tested ({subject})"
                    )
                else:
                    yield Finding("tests-deleted", f.path, None, "test file deleted", config.weight("tests-deleted"))
                continue
            if f.kind in ("modify", "rename"):
                added_norm = {_norm(t) for _ln, t in f.added()}
                stronger = strengthened_asserts(f)
                changed = [
                    (hunk, ln)
                    for hunk in f.hunks
                    for ln in hunk.lines
                    if ln.kind == "-"
                    and not _IGNORABLE.match(ln.text)
                    and _norm(ln.text) not in added_norm
                    and ln.source_line not in stronger
                ]
                if changed:  # lines only added (new tests, new asserts, new imports) are never penalised
                    hunk, ln = changed[0]
                    yield Finding(
                        "tests-edited",
                        f.path,
                        _nearest_target(hunk, ln.source_line),
                        f"existing test code removed or changed ({len(changed)} line(s)): {ln.text.strip()[:60]}",
                        config.weight("tests-edited"),
                    )
                for hunk in f.hunks:
                    for ln in hunk.lines:
                        if (
                            ln.kind == "-"
                            and _ASSERT.match(ln.text)
                            and _norm(ln.text) not in added_norm
                            and ln.source_line not in stronger
                        ):
                            yield Finding(
                                "tests-assert-removed",
                                f.path,
                                _nearest_target(hunk, ln.source_line),
                                f"assert removed or changed: {ln.text.strip()[:80]}",
                                config.weight("tests-assert-removed"),
                            )
        for line, text in f.added():
            if _SKIP.search(text) and f.path not in neutralised:
                yield Finding(
                    "tests-skip-added",
                    f.path,
                    line,
                    f"skip/xfail added: {text.strip()[:80]}",
                    config.weight("tests-skip-added"),
                )


_TEST_FUNCTION = re.compile(r"^\s*(?:async\s+)?def\s+test\w*\s*\(")


def _tests_added(data: TasteInput, config: TasteConfig, edited: set[str]) -> Iterator[Finding]:
    """The credit of a change of Python product code that comes with new tests: a Python test
    file with more test functions, or more checks, than before (a check rewritten, a skip
    added or an assert made weaker adds nothing)."""
    from .scope import file_kind

    product = any(
        f.is_python
        and not f.binary
        and file_kind(f.path, f.head if f.head is not None else f.base, test_files=frozenset(edited)) == "code"
        and (f.added() or f.removed())
        for f in data.files
    )
    if not product:
        return
    for f in data.files:
        if not ((is_test_path(f.path) or f.path in edited) and f.is_python and f.head is not None):
            continue
        added, removed = [t for _, t in f.added()], [t for _, t in f.removed()]
        new_tests = sum(map(bool, map(_TEST_FUNCTION.match, added))) - sum(
            map(bool, map(_TEST_FUNCTION.match, removed))
        )
        new_checks = sum(map(bool, map(_ASSERT.match, added))) - sum(map(bool, map(_ASSERT.match, removed)))
        if new_tests > 0 or new_checks > 0:
            line = next(ln for ln, t in f.added() if _TEST_FUNCTION.match(t) or _ASSERT.match(t))
            what = f"{new_tests} test function(s)" if new_tests > 0 else f"{new_checks} check(s)"
            yield Finding(
                "tests-added",
                f.path,
                line,
                f"tests added with the change ({what} more here)",
                config.weight("tests-added"),
            )
            return


def _removed_names(data: TasteInput) -> dict[str, set[str]]:
    """Path of each product module of the change -> the module-level names it no longer defines
    (every name, for a module deleted)."""
    from .structure import facts

    out: dict[str, set[str]] = {}
    for f in data.files:
        if not f.path.endswith(".py") or is_test_path(f.path):
            continue
        base = tree_of(f.base)
        if base is None:
            continue
        before = set(facts(base).public_names) | {
            n.name for n in base.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        }
        head = tree_of(f.head)
        after = (
            set(facts(head).public_names)
            | {n.name for n in head.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
            if head is not None
            else set()
        )
        gone = before - after if f.head is not None else before | {"*"}
        if gone:
            out[f.old_path or f.path] = gone
    return out


def _subject_removed(f: FileText, removed: dict[str, set[str]]) -> str:
    """What a deleted test file imported that the change removed (its subject), or ""."""
    tree = tree_of(f.base)
    if tree is None:
        return ""
    for module, gone in sorted(removed.items()):
        names, aliases = imported_from(tree, f.path, module)
        hit = sorted(set(names) & gone)
        if hit:
            return f"{', '.join(hit[:3])} from {module}"
        if "*" in gone and (names or aliases):
            return f"{module}, deleted"
    return ""


def _nearest_target(hunk: HunkInfo, source_line: int | None) -> int:
    """The patched file's line where a removed line stood."""
    target = hunk.target_start
    for ln in hunk.lines:
        if ln.target_line is not None:
            target = ln.target_line
        if ln.source_line == source_line:
            return target
    return target
