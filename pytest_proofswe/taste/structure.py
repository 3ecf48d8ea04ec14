"""Structural facts of a Python change, from ``ast`` (fast enough; libcst is not needed).

New classes, abstract bases and Protocols, new public functions; public signatures
changed and public names removed; new third-party imports; debug leftovers; TODO
comments and commented-out code; bare and blind ``except``; code made unreachable; a
patched file that no longer parses.
"""

from __future__ import annotations

import ast
import io
import re
import sys
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass, field

from .model import FileText, Finding, TasteConfig, TasteInput

_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ())) | frozenset(sys.builtin_module_names) | {"__future__"}
_TEST_TOOLS = {"pytest", "_pytest", "hypothesis", "mock", "freezegun", "responses", "respx"}
_TODO = re.compile(r"\b(TODO|FIXME|XXX|HACK)\b")
_ABSTRACT_BASES = {"ABC", "ABCMeta", "Protocol", "abc.ABC", "typing.Protocol", "typing_extensions.Protocol"}


@dataclass
class Facts:
    """What one version of a module defines."""

    classes: dict[str, tuple[int, bool]] = field(default_factory=dict)  # qualname -> (line, abstract)
    functions: dict[str, tuple[int, ast.arguments]] = field(default_factory=dict)  # qualname -> (line, args)
    public_names: dict[str, int] = field(default_factory=dict)  # module-level public names -> line
    imports: dict[str, int] = field(default_factory=dict)  # top-level module -> line
    prints: int = 0


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Subscript):
        return _dotted(node.value)
    return ""


def _is_abstract(node: ast.ClassDef) -> bool:
    if any(_dotted(b) in _ABSTRACT_BASES for b in node.bases):
        return True
    return any(k.arg == "metaclass" and _dotted(k.value) in _ABSTRACT_BASES for k in node.keywords)


def _public(qualname: str) -> bool:
    return not any(part.startswith("_") for part in qualname.split("."))


def facts(tree: ast.Module, *, package_init: bool = False) -> Facts:
    """Definitions of a module; imported names count as public only in a package's __init__."""
    out = Facts()

    def visit(body: list[ast.stmt], prefix: str, in_function: bool) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef):
                qual = f"{prefix}{node.name}"
                out.classes[qual] = (node.lineno, _is_abstract(node))
                visit(node.body, f"{qual}.", in_function)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                qual = f"{prefix}{node.name}"
                if not in_function:
                    out.functions[qual] = (node.lineno, node.args)
                visit(node.body, f"{qual}.", True)
            elif isinstance(node, (ast.If, ast.Try)) and not prefix:
                # Module-level conditional definitions (try: import x except: def x) count too.
                visit(node.body, prefix, in_function)
                visit(getattr(node, "orelse", []), prefix, in_function)

    visit(tree.body, "", False)
    for node in tree.body:
        targets: list[str] = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            targets = [node.name]
        elif isinstance(node, ast.Assign):
            targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            targets = [node.target.id]
        elif isinstance(node, (ast.Import, ast.ImportFrom)) and package_init:
            targets = [(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"]
        for name in targets:
            if not name.startswith("_"):
                out.public_names.setdefault(name, node.lineno)
    for walked in ast.walk(tree):
        if isinstance(walked, ast.Import):
            for alias in walked.names:
                out.imports.setdefault(alias.name.split(".")[0], walked.lineno)
        elif isinstance(walked, ast.ImportFrom) and walked.module and not walked.level:
            out.imports.setdefault(walked.module.split(".")[0], walked.lineno)
        elif isinstance(walked, ast.Call) and isinstance(walked.func, ast.Name) and walked.func.id == "print":
            out.prints += 1
    return out


def _signature_break(old: ast.arguments, new: ast.arguments) -> str | None:
    """Why ``new`` cannot be called the way ``old`` could, or None."""
    old_pos = [a.arg for a in (*old.posonlyargs, *old.args)]
    new_pos = [a.arg for a in (*new.posonlyargs, *new.args)]
    if new_pos[: len(old_pos)] != old_pos:
        missing = [p for p in old_pos if p not in new_pos]
        if missing:
            return f"parameter(s) {', '.join(missing)} removed or renamed"
        return f"positional parameters reordered ({', '.join(old_pos)} -> {', '.join(new_pos)})"
    extra_pos = len(new_pos) - len(old_pos)
    new_defaults = len(new.defaults)
    if extra_pos > new_defaults and new.vararg is None:
        return f"new required parameter(s) {', '.join(new_pos[len(old_pos) : len(new_pos) - new_defaults])}"
    old_kw = {a.arg for a in old.kwonlyargs}
    new_kw = {a.arg: d for a, d in zip(new.kwonlyargs, new.kw_defaults, strict=True)}
    removed_kw = old_kw - set(new_kw)
    if removed_kw and new.kwarg is None:
        return f"keyword parameter(s) {', '.join(sorted(removed_kw))} removed"
    required_kw = [k for k, d in new_kw.items() if d is None and k not in old_kw]
    if required_kw:
        return f"new required keyword parameter(s) {', '.join(required_kw)}"
    if old.vararg is not None and new.vararg is None:
        return f"*{old.vararg.arg} removed"
    if old.kwarg is not None and new.kwarg is None:
        return f"**{old.kwarg.arg} removed"
    return None


def _is_test(path: str) -> bool:
    from ..guard import is_test_path

    return is_test_path(path)


def _parse(text: str | None) -> ast.Module | SyntaxError | None:
    if text is None:
        return None
    try:
        return ast.parse(text)
    except SyntaxError as exc:
        return exc
    except ValueError as exc:  # NUL bytes
        return SyntaxError(str(exc))


def check_file(f: FileText, data: TasteInput, config: TasteConfig) -> Iterator[Finding]:
    if not f.is_python or f.binary:
        return
    base = _parse(f.base)
    head = _parse(f.head)
    added_lines = {ln for ln, _ in f.added()}
    if isinstance(head, SyntaxError):
        if not isinstance(base, SyntaxError):
            yield Finding(
                "code-syntax-error",
                f.path,
                head.lineno,
                f"the patched file does not parse: {head.msg}",
                config.weight("code-syntax-error"),
            )
        return
    if isinstance(base, SyntaxError):
        base = None  # base did not parse either (Python 2 code, say): judge the head alone
    init = f.path.endswith("__init__.py")
    base_facts = facts(base, package_init=init) if base is not None else Facts()
    head_facts = facts(head, package_init=init) if head is not None else Facts()
    is_test = _is_test(f.path)

    if head is not None:
        # New abstractions
        for qual, (line, abstract) in head_facts.classes.items():
            if qual not in base_facts.classes:
                rule = "structure-new-abstraction" if abstract else "structure-new-class"
                kind = "abstract base/Protocol" if abstract else "class"
                if not is_test:
                    yield Finding(rule, f.path, line, f"new {kind} {qual}", config.weight(rule))
        new_classes = {q for q in head_facts.classes if q not in base_facts.classes}
        for qual, (line, _args) in head_facts.functions.items():
            owner = qual.rpartition(".")[0]
            if (
                qual not in base_facts.functions
                and _public(qual)
                and owner not in new_classes
                and not is_test
                and not qual.rpartition(".")[2].startswith("test")
            ):
                yield Finding(
                    "structure-new-public-function",
                    f.path,
                    line,
                    f"new public function {qual}",
                    config.weight("structure-new-public-function"),
                )
        # API breaks
        if not is_test:
            for qual, (_line, old_args) in base_facts.functions.items():
                if not _public(qual) or qual not in head_facts.functions:
                    continue
                why = _signature_break(old_args, head_facts.functions[qual][1])
                if why:
                    yield Finding(
                        "api-signature-changed",
                        f.path,
                        head_facts.functions[qual][0],
                        f"{qual}: {why}",
                        config.weight("api-signature-changed"),
                    )
            for name, _line in base_facts.public_names.items():
                if name not in head_facts.public_names:
                    where = _first_changed_line(f)
                    yield Finding(
                        "api-name-removed",
                        f.path,
                        where,
                        f"public name {name} removed",
                        config.weight("api-name-removed"),
                    )
        # New third-party imports
        for module, line in head_facts.imports.items():
            if module in base_facts.imports or module in _STDLIB or module in data.local_modules:
                continue
            if _normalise(module) in data.declared_dependencies:
                continue
            if is_test and (module in _TEST_TOOLS or module.startswith("pytest_")):
                continue
            yield Finding(
                "imports-new-third-party",
                f.path,
                line,
                f"new third-party import {module}",
                config.weight("imports-new-third-party"),
            )
        yield from _added_nodes(f, head, added_lines, base_facts, config)
    elif f.kind == "delete" and base is not None and not is_test and base_facts.public_names:
        names = ", ".join(sorted(base_facts.public_names)[:5])
        yield Finding(
            "api-name-removed",
            f.path,
            None,
            f"module deleted with its public names ({names}...)",
            config.weight("api-name-removed"),
        )
    if f.head is not None:
        yield from _comments(f, added_lines, config)


def _normalise(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


def _first_changed_line(f: FileText) -> int | None:
    for hunk in f.hunks:
        for ln in hunk.lines:
            if ln.kind != " ":
                return ln.target_line or hunk.target_start
    return None


def _added_nodes(
    f: FileText, head: ast.Module, added: set[int], base_facts: Facts, config: TasteConfig
) -> Iterator[Finding]:
    for node in ast.walk(head):
        line = getattr(node, "lineno", None)
        if isinstance(node, ast.Call) and line in added:
            name = _dotted(node.func)
            if name == "print" and base_facts.prints == 0 and not f.path.endswith("__main__.py"):
                yield Finding("debug-print", f.path, line, "print() call added", config.weight("debug-print"))
            elif name in ("breakpoint", "pdb.set_trace", "ipdb.set_trace", "pudb.set_trace", "pdb.post_mortem"):
                yield Finding("debug-breakpoint", f.path, line, f"{name}() added", config.weight("debug-breakpoint"))
        elif isinstance(node, ast.Import) and line in added:
            for alias in node.names:
                if alias.name in ("pdb", "ipdb", "pudb"):
                    yield Finding(
                        "debug-breakpoint",
                        f.path,
                        line,
                        f"import {alias.name} added",
                        config.weight("debug-breakpoint"),
                    )
        elif isinstance(node, ast.ExceptHandler) and line in added:
            if node.type is None:
                yield Finding(
                    "errors-bare-except",
                    f.path,
                    line,
                    "bare except: catches everything, SystemExit too",
                    config.weight("errors-bare-except"),
                )
            elif _dotted(node.type) in ("Exception", "BaseException") and not any(
                isinstance(n, ast.Raise) for n in ast.walk(ast.Module(body=node.body, type_ignores=[]))
            ):
                yield Finding(
                    "errors-blind-except",
                    f.path,
                    line,
                    f"except {_dotted(node.type)} swallows every error",
                    config.weight("errors-blind-except"),
                )
        for block in ("body", "orelse", "finalbody"):
            stmts = getattr(node, block, None)
            if not isinstance(stmts, list) or not stmts or not isinstance(stmts[0], ast.stmt):
                continue
            for i, stmt in enumerate(stmts[:-1]):
                if isinstance(stmt, (ast.Return, ast.Raise, ast.Continue, ast.Break)):
                    dead = stmts[i + 1]
                    if stmt.lineno in added or dead.lineno in added:
                        yield Finding(
                            "code-unreachable",
                            f.path,
                            dead.lineno,
                            f"unreachable after {type(stmt).__name__.lower()} on line {stmt.lineno}",
                            config.weight("code-unreachable"),
                        )
                    break


def _looks_like_code(text: str) -> bool:
    text = text.strip()
    if not text or len(text) < 4 or not re.search(r"[=()\[\]:.]", text):
        return False
    if re.match(r"^(noqa|type:|pragma|pylint:|fmt:|isort:|mypy:|pyright:|ruff:|proofswe:)", text):
        return False
    if text.endswith(":") and not re.match(r"^(if|for|while|def|class|with|try|else|elif|except)\b", text):
        return False  # "Example:" prose
    try:
        tree = ast.parse(text if not text.endswith(":") else text + " pass")
    except SyntaxError:
        return False
    if len(tree.body) != 1:
        return False
    stmt = tree.body[0]
    return not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, (ast.Name, ast.Constant)))


def _comments(f: FileText, added: set[int], config: TasteConfig) -> Iterator[Finding]:
    assert f.head is not None
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(f.head).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return
    previous_code_comment = -10
    for tok in tokens:
        if tok.type != tokenize.COMMENT or tok.start[0] not in added:
            continue
        line = tok.start[0]
        body = tok.string.lstrip("#").strip()
        if _TODO.search(body):
            yield Finding(
                "comments-todo",
                f.path,
                line,
                f"{_TODO.search(body).group(1)} added: {body[:60]}",  # type: ignore[union-attr]
                config.weight("comments-todo"),
            )
        elif _looks_like_code(body):
            if line != previous_code_comment + 1:  # one finding per block of commented-out lines
                yield Finding(
                    "comments-commented-out-code",
                    f.path,
                    line,
                    f"commented-out code: {body[:60]}",
                    config.weight("comments-commented-out-code"),
                )
            previous_code_comment = line


def check(data: TasteInput, config: TasteConfig) -> Iterator[Finding]:
    for f in data.files:
        yield from check_file(f, data, config)


def count_gold_abstractions(gold_text: str) -> dict[str, int]:
    """How many classes, abstract bases and public functions the reference diff adds."""
    counts = {"structure-new-class": 0, "structure-new-abstraction": 0, "structure-new-public-function": 0}
    for line in gold_text.splitlines():
        if not line.startswith("+") or line.startswith("+++"):
            continue
        m = re.match(r"^\+\s*class\s+(\w+)\s*(\((.*)\))?\s*:", line)
        if m:
            bases = m.group(3) or ""
            abstract = bool(re.search(r"\b(ABC|ABCMeta|Protocol)\b", bases))
            counts["structure-new-abstraction" if abstract else "structure-new-class"] += 1
        elif re.match(r"^\+\s*(async\s+)?def\s+[a-zA-Z]\w*\s*\(", line):
            counts["structure-new-public-function"] += 1
    return counts
