"""Design rules: what a change adds that the code does not need.

Volume is measured elsewhere (scope); these rules judge what the added code is for, with
the repository at the head of the change as the witness (:mod:`.references`):

- ``design-single-use``: a new public function or class (not a method) called from one place only;
- ``design-pass-through``: a new function that only hands its arguments on to another;
- ``design-unused-parameter``: a parameter the change adds that the function never reads
  (libcst's scope analysis: a name a nested function or a comprehension rebinds is not a
  use, which a scan of the names in the body would miss);
- ``design-unreferenced``: a private function, class, method or constant the change adds
  that nothing references;
- ``design-duplicate-code``: added lines that repeat lines already in the repository.

Only product code is judged: tests, examples, scripts, docs and migrations are not the
project's design (:func:`.structure.is_api_module`). ``ast`` does the rest: libcst parses
only the functions whose parameters are judged, each on its own (a whole module through
libcst's scope analysis costs about a second per thousand lines; a function, milliseconds).
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from .model import FileText, Finding, TasteConfig, TasteInput
from .pyparse import tree_of
from .references import Occurrence, head_texts, occurrences
from .scope import file_kind

__all__ = ["DUPLICATE_MIN_CHARS", "DUPLICATE_WINDOW", "LIBCST_MAX_LINES", "check"]

#: Added lines repeating at least this many consecutive meaningful lines found elsewhere are
#: a duplicate, when those lines hold at least DUPLICATE_MIN_CHARS characters.
DUPLICATE_WINDOW = 6
DUPLICATE_MIN_CHARS = 150
#: Lines of functions parsed with libcst per grade at most (the functions beyond are not judged).
LIBCST_MAX_LINES = 4000

_Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
#: Decorators that leave a function an ordinary function called by name. Any other decorator
#: registers it with a framework (a route, a fixture, a command, a validator, a property):
#: whoever calls it, and with which arguments, is not in the code.
_PLAIN_DECORATORS = {
    "staticmethod",
    "classmethod",
    "functools.cache",
    "functools.lru_cache",
    "lru_cache",
    "cache",
    "override",
    "typing.override",
    "typing_extensions.override",
}
_ABSTRACT_DECORATORS = {"abstractmethod", "abc.abstractmethod", "overload", "typing.overload"}
_ENTRY_NAMES = {"main", "run", "cli", "app", "setup", "teardown", "handler", "lambda_handler"}


@dataclass(frozen=True)
class _Def:
    qual: str
    node: _Definition
    in_class: ast.ClassDef | None  # the class whose body holds it

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def kind(self) -> str:
        if isinstance(self.node, ast.ClassDef):
            return "class"
        return "method" if self.in_class is not None else "function"


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else node.attr
    if isinstance(node, ast.Call):
        return _dotted(node.func)
    return ""


def _decorators(node: _Definition) -> set[str]:
    return {_dotted(d) for d in node.decorator_list}


def _registered(node: _Definition) -> bool:
    """Decorated by something that registers it (a route, a fixture, a property...)."""
    return bool(_decorators(node) - _PLAIN_DECORATORS - _ABSTRACT_DECORATORS)


def _definitions(tree: ast.Module) -> dict[str, _Def]:
    """Module-level functions and classes and the methods of classes, by qualified name (not inside functions)."""
    out: dict[str, _Def] = {}

    def visit(body: list[ast.stmt], prefix: str, owner: ast.ClassDef | None) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                qual = f"{prefix}{node.name}"
                out.setdefault(qual, _Def(qual, node, owner))
                if isinstance(node, ast.ClassDef):
                    visit(node.body, f"{qual}.", node)
            elif isinstance(node, (ast.If, ast.Try)) and owner is None and not prefix:
                visit(node.body, prefix, owner)
                visit(node.orelse, prefix, owner)

    visit(tree.body, "", None)
    return out


def _module_assignments(tree: ast.Module) -> dict[str, int]:
    """Names a module assigns at its top level -> line."""
    out: dict[str, int] = {}
    for node in tree.body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Name):
                out.setdefault(target.id, node.lineno)
    return out


def _public(qual: str) -> bool:
    return not any(part.startswith("_") for part in qual.split("."))


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


def _body(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.stmt]:
    """The statements of a function without its docstring."""
    body = list(node.body)
    first = body[0] if body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        body = body[1:]
    return body


def _is_stub(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A body of ``pass``, ``...``, a docstring only, or ``raise NotImplementedError``."""
    body = _body(node)
    if not body:
        return True
    if len(body) != 1:
        return False
    stmt = body[0]
    if isinstance(stmt, ast.Pass):
        return True
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and stmt.value.value is Ellipsis:
        return True
    return isinstance(stmt, ast.Raise) and stmt.exc is not None and "NotImplementedError" in _dotted(stmt.exc)


def _is_product(f: FileText, data: TasteInput) -> bool:
    from .structure import is_api_module

    return (
        f.is_python
        and not f.binary
        and f.head is not None
        and f.path not in data.test_files_edited
        and file_kind(f.path, f.head) == "code"
        and is_api_module(f.path, f.head)
    )


@dataclass
class _FileChange:
    """One product file of the change: its trees and what the change added to it."""

    file: FileText
    head: ast.Module
    base: ast.Module | None
    added: set[int]
    head_defs: dict[str, _Def]
    base_defs: dict[str, _Def]

    def new_definitions(self) -> list[_Def]:
        return [d for q, d in self.head_defs.items() if q not in self.base_defs and d.node.lineno in self.added]


def _changes(data: TasteInput) -> list[_FileChange]:
    out = []
    for f in data.files:
        if not _is_product(f, data):
            continue
        head = tree_of(f.head)
        if head is None:
            continue
        base = tree_of(f.base)
        out.append(
            _FileChange(
                f,
                head,
                base,
                {ln for ln, _ in f.added()},
                _definitions(head),
                _definitions(base) if base is not None else {},
            )
        )
    return out


class _Uses:
    """Occurrences of names in the repository after the change, found once for all rules."""

    def __init__(self, texts: Mapping[str, str], names: set[str]) -> None:
        self.by_name = occurrences(texts, names)

    def of(self, name: str, *, besides: tuple[str, int]) -> list[Occurrence]:
        """Where ``name`` occurs, the definition at ``besides`` (path, line) left out."""
        return [o for o in self.by_name.get(name, []) if (o.path, o.line) != besides]


def _single_use(change: _FileChange, uses: _Uses, config: TasteConfig) -> Iterator[Finding]:
    from .structure import _is_abstract, _is_plain

    f = change.file
    for d in change.new_definitions():
        node = d.node
        if _registered(node) or _dunder(d.name) or d.name in _ENTRY_NAMES or not _public(d.qual):
            continue  # a private helper called once is a piece of its caller given a name: no abstraction
        if d.in_class is not None:
            continue  # a method of a new class: the class is judged; of an existing one: it extends that interface
        if isinstance(node, ast.ClassDef) and (_is_abstract(node) or _is_plain(node, set())):
            continue  # abstractions and data classes have rules of their own
        others = uses.of(d.name, besides=(f.path, node.lineno))
        if any(o.kind == "definition" for o in others):
            continue  # defined elsewhere too: an override, an implementation of an interface
        if any(o.kind == "string" or (o.kind == "import" and o.path.endswith("__init__.py")) for o in others):
            continue  # exported (__all__, a package's imports) or looked up by name
        calls = [o for o in others if o.kind in ("call", "use")]
        if len(calls) == 1 and calls[0].kind == "call":
            where = calls[0]
            yield Finding(
                "design-single-use",
                f.path,
                node.lineno,
                f"new {d.kind} {d.qual} is called from one place only ({where.path}:{where.line}): "
                "an abstraction with a single use",
                config.weight("design-single-use"),
            )


def _unreferenced(change: _FileChange, uses: _Uses, config: TasteConfig) -> Iterator[Finding]:
    f = change.file
    candidates: list[tuple[str, str, int]] = []  # (what, name, line)
    for d in change.new_definitions():
        if not _private(d.name) or _registered(d.node):
            continue
        if d.in_class is not None and (d.in_class.bases or d.in_class.keywords):
            continue  # may override a hook of a base class defined elsewhere (a library's)
        candidates.append((f"{d.kind} {d.qual}", d.name, d.node.lineno))
    base_assigned = _module_assignments(change.base) if change.base is not None else {}
    for name, line in _module_assignments(change.head).items():
        if _private(name) and name not in base_assigned and line in change.added:
            candidates.append((f"constant {name}", name, line))
    for what, name, line in candidates:
        if not uses.of(name, besides=(f.path, line)):
            yield Finding(
                "design-unreferenced",
                f.path,
                line,
                f"new {what} is never referenced in the repository",
                config.weight("design-unreferenced"),
            )


def _passed_on(node: ast.FunctionDef | ast.AsyncFunctionDef, method: bool) -> ast.Call | None:
    """The call a function's whole body makes with exactly its own arguments, or None."""
    body = _body(node)
    if len(body) != 1:
        return None
    stmt = body[0]
    value = stmt.value if isinstance(stmt, (ast.Return, ast.Expr)) else None
    if isinstance(value, ast.Await):
        value = value.value
    if not isinstance(value, ast.Call):
        return None
    args = node.args
    positional = [a.arg for a in (*args.posonlyargs, *args.args)]
    if method and positional and not _decorators(node) & {"staticmethod"}:
        positional = positional[1:]  # self or cls
    passed = []
    for arg in value.args:
        if isinstance(arg, ast.Name):
            passed.append(arg.id)
        elif isinstance(arg, ast.Starred) and isinstance(arg.value, ast.Name):
            passed.append(f"*{arg.value.id}")
        else:
            return None
    expected = positional + ([f"*{args.vararg.arg}"] if args.vararg else [])
    keywords: dict[str, str] = {}
    for kw in value.keywords:
        if not isinstance(kw.value, ast.Name):
            return None
        keywords[kw.arg or "**"] = kw.value.id
    # Positional parameters may also be passed by keyword, each to itself.
    given = passed + [v for k, v in keywords.items() if k != "**" and k == v]
    if any(k not in ("**", v) for k, v in keywords.items()):
        return None
    wanted = expected + [a.arg for a in args.kwonlyargs]
    if sorted(given) != sorted(wanted) or passed != expected[: len(passed)]:
        return None
    if (args.kwarg is None) != ("**" not in keywords) or (args.kwarg and keywords.get("**") != args.kwarg.arg):
        return None
    if not wanted and args.kwarg is None:
        return None  # no arguments at all: a named shortcut, not a wrapper
    return value


def _pass_through(change: _FileChange, config: TasteConfig) -> Iterator[Finding]:
    f = change.file
    for d in change.new_definitions():
        node = d.node
        if isinstance(node, ast.ClassDef) or _registered(node) or _is_stub(node):
            continue
        call = _passed_on(node, d.in_class is not None)
        if call is not None:
            callee = _dotted(call.func) or "another function"
            yield Finding(
                "design-pass-through",
                f.path,
                node.lineno,
                f"new {d.kind} {d.qual} only passes its arguments on to {callee}()",
                config.weight("design-pass-through"),
            )


def _segment(text: str, node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    """The source of a function (without its decorators), dedented to parse on its own."""
    lines = text.splitlines()[node.lineno - 1 : node.end_lineno or node.lineno]
    if not lines:
        return None
    first = lines[0]
    indent = len(first) - len(first.lstrip())
    out = [line[indent:] if not line[:indent].strip() else line.lstrip() for line in lines]
    return textwrap.dedent("\n".join(out)) + "\n"


def _unread_parameters(source: str) -> list[str] | None:
    """Parameters of the function in ``source`` that its body never reads (libcst scopes), or None if it does not parse."""
    import libcst as cst
    from libcst.metadata import MetadataWrapper, ScopeProvider

    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError:
        return None
    if not module.body or not isinstance(module.body[0], cst.FunctionDef):
        return None
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    scopes = wrapper.resolve(ScopeProvider)
    fn = module.body[0]
    if not fn.body.body:
        return None
    scope = scopes.get(fn.body.body[0])
    if scope is None:
        return None
    params = [*fn.params.posonly_params, *fn.params.params, *fn.params.kwonly_params]
    unread = []
    for param in params:
        name = param.name.value
        assignments = [a for a in scope.assignments[name] if a.scope is scope]
        if assignments and not any(a.references for a in assignments):
            unread.append(name)
    return unread


_SCOPES = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.Lambda,
    ast.ClassDef,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
)


def _reads(node: ast.FunctionDef | ast.AsyncFunctionDef, names: set[str]) -> tuple[set[str], set[str]]:
    """(names the function's own scope reads, names that occur only inside its nested scopes).

    What neither holds is never read; what only nested scopes (functions, lambdas, classes,
    comprehensions) hold needs scope analysis: they may bind the name again.
    """
    direct: set[str] = set()
    nested: set[str] = set()
    stack: list[tuple[ast.AST, bool]] = [(stmt, False) for stmt in node.body]
    while stack:
        current, inside = stack.pop()
        if isinstance(current, ast.Name) and current.id in names:
            if inside:
                nested.add(current.id)
            elif isinstance(current.ctx, ast.Load):
                direct.add(current.id)
        for child in ast.iter_child_nodes(current):
            stack.append((child, inside or isinstance(current, _SCOPES)))
    return direct, nested - direct


def _unused_parameters(change: _FileChange, uses: _Uses, config: TasteConfig, budget: list[int]) -> Iterator[Finding]:
    f = change.file
    assert f.head is not None
    for qual, d in change.head_defs.items():
        node = d.node
        if isinstance(node, ast.ClassDef):
            continue
        names = [a.arg for a in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs)]
        old = change.base_defs.get(qual)
        if old is None and node.lineno not in change.added:
            continue
        old_names = set()
        if old is not None and not isinstance(old.node, ast.ClassDef):
            old_names = {a.arg for a in (*old.node.args.posonlyargs, *old.node.args.args, *old.node.args.kwonlyargs)}
        positional = [a.arg for a in (*node.args.posonlyargs, *node.args.args)]
        receiver = (
            positional[0] if d.in_class is not None and positional and "staticmethod" not in _decorators(node) else None
        )
        judged = [n for n in names if n not in old_names and not n.startswith("_") and n != receiver]
        if not judged or _registered(node) or _is_stub(node) or _dunder(d.name):
            continue
        if _decorators(node) & _ABSTRACT_DECORATORS:
            continue
        if d.in_class is not None and (d.in_class.bases or d.in_class.keywords):
            continue  # its signature may be a base class's (a library's hook)
        others = uses.of(d.name, besides=(f.path, node.lineno))
        if any(o.kind in ("definition", "use", "string") for o in others):
            continue  # implemented elsewhere too, or handed over as a callback: the caller fixes the signature
        if any(isinstance(n, ast.Name) and n.id in ("locals", "vars") for n in ast.walk(node)):
            continue
        direct, nested = _reads(node, set(judged))
        unread = {n for n in judged if n not in direct and n not in nested}
        size = (node.end_lineno or node.lineno) - node.lineno + 1
        if nested and budget[0] >= size:  # read only where a nested scope may rebind it: libcst's scopes decide
            budget[0] -= size
            source = _segment(f.head, node)
            scoped = _unread_parameters(source) if source is not None else None
            unread |= nested & set(scoped or ())
        for name in judged:
            if name in unread:
                yield Finding(
                    "design-unused-parameter",
                    f.path,
                    node.lineno,
                    f"{qual}: new parameter {name} is never used",
                    config.weight("design-unused-parameter"),
                )


_TRIVIAL = {"else:", "try:", "finally:", "pass", "return", "continue", "break", '"""', "'''", "...", "*/", "/*"}


def _meaningful(line: str) -> bool:
    """A stripped line worth matching: not blank, a comment, an import, a bracket or a lone keyword."""
    if len(line) < 4 or line in _TRIVIAL or line.startswith(("#", "import ", "from ", "@")):
        return False
    return any(c.isalnum() for c in line)


def _unmatched_lines(tree: ast.Module, added: set[int]) -> set[int]:
    """Added lines a duplicate is not made of: inside strings spanning several lines
    (docstrings, SQL, templates), and the signatures of functions (an interface and its
    implementations repeat them by design). Only the subtrees holding an added line are walked."""
    from .structure import _touching

    out: set[int] = set()
    for node in _touching(tree, sorted(added)):
        end = getattr(node, "end_lineno", None)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and end and end > node.lineno:
            out.update(range(node.lineno, end + 1))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            out.update(range(first, node.body[0].lineno))
            if _is_stub(node):
                out.update(range(node.body[0].lineno, (node.end_lineno or node.lineno) + 1))
    return out & added


def _windows(lines: list[tuple[int, str]]) -> Iterator[tuple[int, tuple[str, ...]]]:
    for i in range(len(lines) - DUPLICATE_WINDOW + 1):
        window = tuple(text for _, text in lines[i : i + DUPLICATE_WINDOW])
        if sum(map(len, window)) >= DUPLICATE_MIN_CHARS:
            yield i, window


def _runs(changes: list[_FileChange]) -> list[tuple[str, list[tuple[int, str]]]]:
    """(path, [(line, stripped text)]) of each block of consecutive added lines, meaningful lines only."""
    runs: list[tuple[str, list[tuple[int, str]]]] = []
    for change in changes:
        if sum(1 for _, text in change.file.added() if _meaningful(text.strip())) < DUPLICATE_WINDOW:
            continue
        unmatched = _unmatched_lines(change.head, change.added)
        current: list[tuple[int, str]] = []
        previous: int | None = None
        for line, text in change.file.added():
            if previous is not None and line != previous + 1:
                runs.append((change.file.path, current))
                current = []
            previous = line
            stripped = text.strip()
            if line not in unmatched and _meaningful(stripped):
                current.append((line, stripped))
        runs.append((change.file.path, current))
    return [(path, run) for path, run in runs if len(run) >= DUPLICATE_WINDOW]


def _duplicates(changes: list[_FileChange], texts: Mapping[str, str], config: TasteConfig) -> Iterator[Finding]:
    """Blocks of added lines that repeat, line for line, code found elsewhere in the repository."""
    runs = _runs(changes)
    wanted: dict[tuple[str, ...], list[tuple[str, int]]] = {}
    for path, run in runs:
        for i, window in _windows(run):
            wanted.setdefault(window, []).append((path, run[i][0]))
    if not wanted:
        return
    vocabulary = {line for window in wanted for line in window}
    found: dict[tuple[str, ...], list[tuple[str, int]]] = {}
    for path, text in texts.items():
        if not path.endswith((".py", ".pyi")):
            continue
        lines = text.splitlines()
        if len(vocabulary.intersection(map(str.strip, lines))) < DUPLICATE_WINDOW:
            continue
        kept = [(n, s) for n, s in ((n, line.strip()) for n, line in enumerate(lines, 1)) if _meaningful(s)]
        for i, window in _windows(kept):
            if window in wanted:
                found.setdefault(window, []).append((path, kept[i][0]))
    for path, run in runs:
        # A window repeats when it is found elsewhere; of two copies the change adds, the later one repeats.
        repeats: dict[int, tuple[str, int]] = {}
        for i, window in _windows(run):
            here = (path, run[i][0])
            added_copies = set(wanted[window])
            elsewhere = sorted(w for w in found.get(window, []) if w != here and (w not in added_copies or w < here))
            if elsewhere:
                repeats[i] = elsewhere[0]
        block_start: int | None = None
        for i in sorted(repeats):
            if block_start is None or i - 1 not in repeats:
                block_start = i
            if i + 1 not in repeats:
                other_path, other_line = repeats[block_start]
                count = i - block_start + DUPLICATE_WINDOW
                yield Finding(
                    "design-duplicate-code",
                    path,
                    run[block_start][0],
                    f"{count} added lines repeat {other_path}:{other_line}",
                    config.weight("design-duplicate-code"),
                )


def check(data: TasteInput, config: TasteConfig) -> Iterator[Finding]:
    changes = _changes(data)
    if not changes:
        return
    texts = head_texts(data)
    names: set[str] = set()  # what the rules look up: the names the change defines or gives new parameters
    for change in changes:
        names.update(d.name for d in change.new_definitions())
        for qual, d in change.head_defs.items():
            old = change.base_defs.get(qual)
            if (
                old is not None
                and not isinstance(d.node, ast.ClassDef)
                and not isinstance(old.node, ast.ClassDef)
                and ast.dump(d.node.args) != ast.dump(old.node.args)
            ):
                names.add(d.name)
        base_assigned = _module_assignments(change.base) if change.base is not None else {}
        names.update(n for n in _module_assignments(change.head) if _private(n) and n not in base_assigned)
    uses = _Uses(texts, names)
    budget = [LIBCST_MAX_LINES]
    for change in changes:
        yield from _single_use(change, uses, config)
        yield from _pass_through(change, config)
        yield from _unused_parameters(change, uses, config, budget)
        yield from _unreferenced(change, uses, config)
    yield from _duplicates(changes, texts, config)
