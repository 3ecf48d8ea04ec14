"""Structural facts of a Python change, from ``ast`` (fast enough; libcst is not needed).

New classes, abstract bases and Protocols, new public functions, new modules; public
signatures changed and public names removed while the repository still uses them the old
way; new third-party imports; debug leftovers; TODO comments and commented-out code; bare
and blind ``except``; code made unreachable; a patched file that no longer parses.
"""

from __future__ import annotations

import ast
import bisect
import functools
import importlib.metadata
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from ..pysource import parse_quietly
from .model import FileText, Finding, TasteConfig, TasteInput
from .pyparse import parse, tree_of
from .references import attribute_uses, head_texts, imported_from, may_import

# `_typeshed` is the standard library's own, in typeshed's stubs only: type checkers provide
# it (imported under `if TYPE_CHECKING:`), nothing installs it.
_STDLIB = (
    frozenset(getattr(sys, "stdlib_module_names", ()))
    | frozenset(sys.builtin_module_names)
    | {"__future__", "_typeshed"}
)
_TEST_TOOLS = {"pytest", "_pytest", "hypothesis", "mock", "freezegun", "responses", "respx"}
_TODO = re.compile(r"\b(TODO|FIXME|XXX|HACK)\b")
_ABSTRACT_BASES = {"ABC", "ABCMeta", "Protocol", "abc.ABC", "typing.Protocol", "typing_extensions.Protocol"}


@dataclass
class Facts:
    """What one version of a module defines."""

    classes: dict[str, tuple[int, bool]] = field(default_factory=dict)  # qualname -> (line, abstract)
    plain: set[str] = field(default_factory=set)  # data classes, models, enums and exceptions (qualnames)
    functions: dict[str, tuple[int, ast.arguments]] = field(default_factory=dict)  # qualname -> (line, args)
    public_names: dict[str, int] = field(default_factory=dict)  # module-level public names -> line
    reexports: set[str] = field(default_factory=set)  # public names a package's __init__ imports


@dataclass(frozen=True)
class _Removal:
    """Public names a file of the change removed (or a module deleted with them)."""

    path: str
    line: int | None
    names: tuple[str, ...]
    reexport: bool = False
    deleted: bool = False


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


#: Decorators and bases that make a class plain data (or an exception): no design of its own.
_DATA_DECORATORS = {
    "dataclass",
    "dataclasses.dataclass",
    "pydantic.dataclasses.dataclass",
    "attr.s",
    "attr.attrs",
    "attr.define",
    "attr.frozen",
    "attr.mutable",
    "attrs.define",
    "attrs.frozen",
    "attrs.mutable",
    "define",
    "frozen",
    "mutable",
    "dataclass_json",
}
_DATA_BASES = {
    "NamedTuple",
    "TypedDict",
    "Enum",
    "IntEnum",
    "StrEnum",
    "Flag",
    "IntFlag",
    "BaseModel",
    "RootModel",
    "BaseSettings",
    "SQLModel",
    "Struct",
    "Schema",
    "Exception",
    "BaseException",
}


def _is_plain(node: ast.ClassDef, plain_names: set[str]) -> bool:
    """A data class (dataclass, attrs), a pydantic/msgspec model, a NamedTuple, TypedDict or Enum, or an exception.

    ``plain_names``: classes of the module already known to be plain (a subclass of one is too).
    """
    for deco in node.decorator_list:
        target = deco.func if isinstance(deco, ast.Call) else deco
        if _dotted(target) in _DATA_DECORATORS:
            return True
    for base in node.bases:
        last = _dotted(base).rpartition(".")[2]
        if last in _DATA_BASES or last in plain_names or last.endswith(("Error", "Exception", "Warning")):
            return True
    return False


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
                if _is_plain(node, {q.rpartition(".")[2] for q in out.plain}):
                    out.plain.add(qual)
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
            out.reexports.update(t for t in targets if not t.startswith("_"))
        for name in targets:
            if not name.startswith("_"):
                out.public_names.setdefault(name, node.lineno)
    return out


_IMPORT_LINE = re.compile(r"^[ \t]*(?:import[ \t]+([\w., \t]+)|from[ \t]+(\w[\w.]*)[ \t]+import\b)", re.MULTILINE)
_PRINT_CALL = re.compile(r"\bprint\(")


def text_imports(text: str) -> set[str]:
    """Top-level module names a module imports anywhere (absolute imports; from its text)."""
    found = set()
    for m in _IMPORT_LINE.finditer(text):
        if m.group(1):
            for part in m.group(1).split(","):
                name = part.strip().split(" ")[0].split(".")[0]
                if name:
                    found.add(name)
        else:
            found.add(m.group(2).split(".")[0])
    return found


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
    from ..change import is_test_path

    return is_test_path(path)


def _parse(text: str | None) -> ast.Module | SyntaxError | None:
    return None if text is None else parse(text)


#: Files that are run, not imported: their names are no one's API.
_NOT_API_NAMES = {"setup.py", "conftest.py", "noxfile.py", "fabfile.py", "manage.py", "__main__.py", "dodo.py"}
_NOT_API_DIRS = {
    "docs",
    "doc",
    "documentation",
    "examples",
    "example",
    "samples",
    "demos",
    "demo",
    "scripts",
    "script",
    "bin",
    "benchmarks",
    "migrations",
    "alembic",
}
_SPHINX_SETTING = re.compile(
    r"^(?:extensions|html_theme|master_doc|root_doc|templates_path|html_static_path)\s*=", re.M
)


def is_api_module(path: str, text: str | None) -> bool:
    """Whether the module at ``path`` is importable code whose public names others may use.

    Not a test, not a script run by a tool (``setup.py``, ``conftest.py``, ``noxfile.py``,
    ``manage.py``, ``__main__.py``...), not a Sphinx ``conf.py``, and not under a docs,
    examples, scripts, benchmarks or migrations folder.
    """
    p = PurePosixPath(path)
    if _is_test(path) or p.name in _NOT_API_NAMES or any(part.lower() in _NOT_API_DIRS for part in p.parts[:-1]):
        return False
    return not (p.name == "conf.py" and text is not None and _SPHINX_SETTING.search(text))


def check_file(
    f: FileText,
    data: TasteInput,
    config: TasteConfig,
    removals: list[_Removal] | None = None,
    local: frozenset[str] | None = None,
    texts: Mapping[str, str] | None = None,
) -> Iterator[Finding]:
    """The findings of one file; public names it removes are added to ``removals`` (one finding per name, later).

    ``local``: the repository's own module names (its local_modules and the change's own files).
    ``texts``: the repository's files after the change (:func:`.references.head_texts`).
    """
    removals = [] if removals is None else removals
    local = data.local_modules | patch_modules(data) if local is None else local
    texts = head_texts(data) if texts is None else texts
    if not f.is_python or f.binary:
        return
    base = _parse(f.base)
    head = _parse(f.head)
    added_lines = {ln for ln, _ in f.added()}
    string_lines: set[int] = set()
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
    api = is_api_module(f.path, f.base)

    if head is not None:
        if f.kind == "add" and not is_test and api and _defines_something(head) and _is_code(f):
            yield Finding(
                "structure-new-module",
                f.path,
                1,
                f"new module {_module_name(f.path)}",
                config.weight("structure-new-module"),
            )
        # New abstractions
        for qual, (line, abstract) in head_facts.classes.items():
            if qual not in base_facts.classes and not (qual in head_facts.plain and not abstract):
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
        if api:
            for qual, (_line, old_args) in base_facts.functions.items():
                if not _public(qual) or qual not in head_facts.functions:
                    continue
                new_args = head_facts.functions[qual][1]
                why = _signature_break(old_args, new_args)
                caller = _broken_call(texts, f.path, qual, old_args, new_args) if why else None
                if why and caller:
                    yield Finding(
                        "api-signature-changed",
                        f.path,
                        head_facts.functions[qual][0],
                        f"{qual}: {why}, and {caller[0]}:{caller[1]} still calls it the old way",
                        config.weight("api-signature-changed"),
                    )
            for name in base_facts.public_names:
                if name not in head_facts.public_names:
                    reexport = name in base_facts.reexports
                    removals.append(_Removal(f.path, _first_changed_line(f), (name,), reexport=reexport))
        # New third-party imports: imports on added lines of modules the base did not import
        # (an example's, a demo's or a sample's imports are that program's own requirements)
        base_imports = text_imports(f.base) if isinstance(f.base, str) else set()
        example = any(part.lower() in _EXAMPLE_DIRS for part in PurePosixPath(f.path).parts[:-1])
        for module, line in [] if example else _added_imports(head, sorted(added_lines)):
            if module in base_imports or module in _STDLIB or module in local:
                continue
            if is_declared(module, data.declared_dependencies):
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
        interface = is_command_line(f.path, head, data.entry_modules)
        yield from _added_nodes(f, head, added_lines, config, string_lines, interface=interface)
    elif f.kind == "delete" and base is not None and api and base_facts.public_names:
        removals.append(_Removal(f.path, None, tuple(sorted(base_facts.public_names)), deleted=True))
    if f.head is not None:
        yield from _comments(f, string_lines, config)


#: Folders of examples, demos and samples: programs with requirements of their own (as in scope).
_EXAMPLE_DIRS = {"examples", "example", "samples", "sample", "demos", "demo", "cookbook", "notebooks"}


def _defines_something(tree: ast.Module) -> bool:
    """Whether a module defines a function or a class (an ``__init__.py`` of imports alone does not)."""
    return any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) for n in tree.body)


def _is_code(f: FileText) -> bool:
    from .scope import file_kind

    return file_kind(f.path, f.head) == "code"


def _accepts(sig: ast.arguments, call: ast.Call, bound: bool) -> bool:
    """Whether ``call`` can call a function of signature ``sig`` (``bound``: its first parameter is the receiver).

    A call that unpacks ``*args`` or ``**kwargs`` is taken to fit.
    """
    if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
        return True
    positional = [a.arg for a in (*sig.posonlyargs, *sig.args)]
    required = set(positional[: len(positional) - len(sig.defaults)])
    if bound and positional:
        required.discard(positional[0])
        positional = positional[1:]
    if len(call.args) > len(positional) and sig.vararg is None:
        return False
    filled = set(positional[: len(call.args)])
    by_keyword = {a.arg for a in sig.args} | {a.arg for a in sig.kwonlyargs}
    for keyword in call.keywords:
        if keyword.arg in filled:
            return False
        if keyword.arg in by_keyword:
            filled.add(keyword.arg)
        elif sig.kwarg is None:
            return False
    required |= {a.arg for a, d in zip(sig.kwonlyargs, sig.kw_defaults, strict=True) if d is None}
    return required <= filled


def _broken_call(
    texts: Mapping[str, str], path: str, qual: str, old: ast.arguments, new: ast.arguments
) -> tuple[str, int] | None:
    """A call in the repository that fits the old signature of ``qual`` (defined in ``path``) and not the new one."""
    name = qual.rpartition(".")[2]
    method = "." in qual
    first = (old.posonlyargs + old.args)[:1]
    bound = method and bool(first) and first[0].arg in ("self", "cls")
    old_pos = [a.arg for a in (*old.posonlyargs, *old.args)][int(bound) :]
    new_pos = [a.arg for a in (*new.posonlyargs, *new.args)][int(bound) :]
    # A parameter that moved: a call passing it by position now gives its value to another.
    moved = min((i for i, p in enumerate(old_pos) if p in new_pos and new_pos.index(p) != i), default=None)
    for where, text in sorted(texts.items()):
        if not where.endswith(".py") or name not in text:
            continue
        own = where == path
        if not own and not may_import(text, where, path):
            continue
        tree = tree_of(text)
        if tree is None:
            continue
        names, aliases = ({}, {}) if own else imported_from(tree, where, path)
        if not own and not names and not aliases:
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if method:
                match = isinstance(func, ast.Attribute) and func.attr == name
            else:
                match = (isinstance(func, ast.Name) and func.id == name and (own or name in names)) or (
                    isinstance(func, ast.Attribute) and func.attr == name and _dotted(func.value) in aliases
                )
            if not match or not _accepts(old, node, bound):
                continue
            shifted = (
                moved is not None and len(node.args) > moved and not any(isinstance(a, ast.Starred) for a in node.args)
            )
            if shifted or not _accepts(new, node, bound):
                return where, node.lineno
    return None


def _reference(texts: Mapping[str, str], path: str, name: str, *, whole_module: bool = False) -> tuple[str, int] | None:
    """Where the repository still imports ``name`` from the module at ``path`` (or uses it as
    ``module.name``); with ``whole_module``, where it imports anything from that module at all."""
    for where, text in sorted(texts.items()):
        if where == path or not where.endswith(".py") or (name not in text and not whole_module):
            continue
        if not may_import(text, where, path):
            continue
        tree = tree_of(text)
        if tree is None:
            continue
        names, aliases = imported_from(tree, where, path)
        if whole_module and (names or aliases):
            return where, min([*names.values(), *aliases.values()])
        if name in names:
            return where, names[name]
        for node in attribute_uses(tree, set(aliases), name):
            return where, node.lineno
    return None


def _normalise(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


#: Import names whose distribution is named otherwise, for the well-known cases (normalised
#: distribution names). The environment's own metadata (importlib.metadata) adds the rest.
_DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "bs4": ("beautifulsoup4",),
    "yaml": ("pyyaml",),
    "PIL": ("pillow",),
    "sklearn": ("scikit_learn",),
    "skimage": ("scikit_image",),
    "cv2": ("opencv_python", "opencv_python_headless", "opencv_contrib_python", "opencv_contrib_python_headless"),
    "dateutil": ("python_dateutil",),
    "dotenv": ("python_dotenv",),
    "jwt": ("pyjwt",),
    "jose": ("python_jose",),
    "multipart": ("python_multipart",),
    "attr": ("attrs",),
    "docx": ("python_docx",),
    "pptx": ("python_pptx",),
    "magic": ("python_magic",),
    "serial": ("pyserial",),
    "usb": ("pyusb",),
    "Crypto": ("pycryptodome",),
    "Cryptodome": ("pycryptodomex",),
    "OpenSSL": ("pyopenssl",),
    "git": ("gitpython",),
    "socketio": ("python_socketio",),
    "engineio": ("python_engineio",),
    "telegram": ("python_telegram_bot",),
    "slugify": ("python_slugify",),
    "fitz": ("pymupdf",),
    "zmq": ("pyzmq",),
    "psycopg2": ("psycopg2_binary",),
    "MySQLdb": ("mysqlclient",),
    "grpc": ("grpcio",),
    "google": ("protobuf",),
    "pkg_resources": ("setuptools",),
    "win32api": ("pywin32",),
    "win32con": ("pywin32",),
    "gi": ("pygobject",),
    "wx": ("wxpython",),
    "Levenshtein": ("python_levenshtein", "levenshtein"),
    "faiss": ("faiss_cpu", "faiss_gpu"),
    "snowflake": ("snowflake_connector_python",),
}


@functools.lru_cache(maxsize=256)
def _providers(module: str) -> tuple[str, ...]:
    """The installed distributions that provide the top-level import ``module``, by name.

    ``importlib.metadata.packages_distributions().get(module)``, without reading every
    distribution's file list and metadata: a distribution's names are its ``top_level.txt``
    or, from Python 3.11, inferred from the paths of its files; a name inferred from a
    ``RECORD`` is part of its text, so only the distributions whose ``RECORD`` mentions
    ``module`` are asked (about 0.1 s saved per process, more in a large environment).
    """
    md = importlib.metadata
    declared_names = getattr(md, "_top_level_declared", None)
    inferred_names = getattr(md, "_top_level_inferred", None)
    infers = sys.version_info >= (3, 11)
    if infers and (declared_names is None or inferred_names is None):  # pragma: no cover - a later Python
        return tuple(md.packages_distributions().get(module, ()))
    found: list[str] = []
    try:
        for dist in md.distributions():
            tops = list(declared_names(dist)) if infers else (dist.read_text("top_level.txt") or "").split()  # type: ignore[misc]
            if not tops and infers:
                record = dist.read_text("RECORD")
                if record and module not in record:
                    continue  # its files are read from the RECORD, which never names the module
                tops = list(inferred_names(dist))  # type: ignore[misc]
            if module in tops:
                found.append(dist.metadata["Name"])
    except Exception:  # broken metadata of some installed package: the table and names suffice
        return ()
    return tuple(found)


def is_declared(module: str, declared: frozenset[str]) -> bool:
    """Whether the top-level import ``module`` belongs to a declared distribution.

    By name (``requests``), by the well-known table (``bs4`` is beautifulsoup4), as a
    namespace (``opentelemetry`` by ``opentelemetry-sdk``, ``google`` by
    ``google-cloud-storage``), by the usual affixes (``python-``, ``py``, ``-python``,
    ``-py``: ``quickbooks`` by ``python-quickbooks``), and by the installed distributions'
    metadata.
    """
    if not declared:
        return False
    key = _normalise(module)
    if key in declared or any(d in declared for d in _DISTRIBUTIONS.get(module, ())):
        return True
    if any(d.startswith(f"{key}_") for d in declared):
        return True
    if declared & {f"python_{key}", f"py{key}", f"{key}_python", f"{key}_py"}:  # python-dateutil, pyserial...
        return True
    return any(_normalise(d) in declared for d in _providers(module))


def patch_modules(data: TasteInput) -> frozenset[str]:
    """Names the change's own Python files can be imported by: their folders and module names."""
    names: set[str] = set()
    for f in data.files:
        if f.path.endswith(".py") and f.head is not None:
            p = PurePosixPath(f.path)
            names.update(part for part in p.parts[:-1] if part.isidentifier())
            if p.stem.isidentifier() and p.stem != "__init__":
                names.add(p.stem)
    return frozenset(names)


def _first_changed_line(f: FileText) -> int | None:
    for hunk in f.hunks:
        for ln in hunk.lines:
            if ln.kind != " ":
                return ln.target_line or hunk.target_start
    return None


def _touching(tree: ast.Module, added: list[int]) -> tuple[ast.AST, ...]:
    """Nodes whose lines include an added line (subtrees without one are skipped), depth first.

    Listed once per tree and added lines: three rules walk them (imports, the added nodes,
    the lines a duplicate is not made of).
    """
    return _touching_nodes(tree, tuple(added))


@functools.lru_cache(maxsize=16)
def _touching_nodes(tree: ast.Module, added: tuple[int, ...]) -> tuple[ast.AST, ...]:
    out: list[ast.AST] = []
    stack: list[ast.AST] = [tree]
    pop, push = stack.pop, stack.append
    while stack:
        node = pop()
        start = getattr(node, "lineno", None)
        if start is not None:
            end = getattr(node, "end_lineno", None) or start
            i = bisect.bisect_left(added, start)
            if i == len(added) or added[i] > end:
                continue
        out.append(node)
        for name in node._fields:  # ast.iter_child_nodes, without its generators
            value = getattr(node, name, None)
            if isinstance(value, ast.AST):
                push(value)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        push(item)
    return tuple(out)


def _added_imports(head: ast.Module, added: list[int]) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    seen: set[str] = set()
    lines = set(added)
    for node in _touching(head, added):
        names: list[str] = []
        if isinstance(node, ast.Import) and node.lineno in lines:
            names = [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level and node.lineno in lines:
            names = [node.module.split(".")[0]]
        for name in names:
            if name not in seen:
                seen.add(name)
                out.append((name, getattr(node, "lineno", 0)))
    return sorted(out, key=lambda x: x[1])


#: Calls that raise or end the process: a handler that makes one does not swallow the error.
_RAISING_CALLS = {
    "pytest.fail",
    "pytest.skip",
    "pytest.xfail",
    "pytest.exit",
    "self.fail",
    "self.skipTest",
    "sys.exit",
    "os._exit",
    "os.abort",
}


def _ends_the_error(handler: ast.ExceptHandler) -> bool:
    """Whether an ``except`` block re-raises, or fails the test (``pytest.fail()``, ``self.fail()``) or the process."""
    for stmt in handler.body:
        for n in ast.walk(stmt):
            if isinstance(n, ast.Raise) or (isinstance(n, ast.Call) and _dotted(n.func) in _RAISING_CALLS):
                return True
    return False


#: Libraries that make a module a command-line interface.
_CLI_LIBRARIES = {"argparse", "click", "typer", "fire", "docopt", "rich_click", "cyclopts", "optparse"}
#: Folders of scripts, examples and demos: programs whose output is for whoever runs them.
_SCRIPT_DIRS = {
    "scripts",
    "script",
    "bin",
    "examples",
    "example",
    "samples",
    "sample",
    "demos",
    "demo",
    "cookbook",
    "notebooks",
    "benchmarks",
    "tutorials",
}


def _module_name(path: str) -> str:
    p = PurePosixPath(path)
    parts = [*p.parts[:-1], p.stem] if p.stem != "__init__" else list(p.parts[:-1])
    return ".".join(parts)


def _main_guard(tree: ast.Module) -> bool:
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Compare):
            sides = [node.test.left, *node.test.comparators]
            names = {_dotted(s) for s in sides} | {s.value for s in sides if isinstance(s, ast.Constant)}
            if {"__name__", "__main__"} <= names:
                return True
    return False


def is_command_line(path: str, tree: ast.Module, entry_modules: frozenset[str] = frozenset()) -> bool:
    """Whether the module is a program or a command-line interface, whose prints are its output.

    A ``__main__.py``, a module with an ``if __name__ == "__main__":`` guard, one that imports
    a command-line library (argparse, click, typer, fire, docopt...), the module of a console
    entry point, or a file under a scripts, examples, demos or benchmarks folder.
    """
    p = PurePosixPath(path)
    if p.name == "__main__.py" or any(part.lower() in _SCRIPT_DIRS for part in p.parts[:-1]):
        return True
    module = _module_name(path)
    if any(module == m or module.endswith(f".{m}") for m in entry_modules):
        return True
    if _main_guard(tree):
        return True
    for node in tree.body:
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] in _CLI_LIBRARIES for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in _CLI_LIBRARIES and not node.level:
            return True
    return False


def _prompting_lines(tree: ast.Module) -> set[int]:
    """Lines of the functions that ask the user (call ``input()`` or ``getpass()``): their prints talk to the user."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
            isinstance(n, ast.Call) and _dotted(n.func) in ("input", "getpass", "getpass.getpass")
            for n in ast.walk(node)
        ):
            lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return lines


def _added_nodes(
    f: FileText, head: ast.Module, added: set[int], config: TasteConfig, string_lines: set[int], *, interface: bool
) -> Iterator[Finding]:
    base_prints = bool(f.base and _PRINT_CALL.search(f.base))
    prompting: set[int] | None = None  # walks every function: only when a print() was added
    is_test = _is_test(f.path)  # a test's output is captured by pytest: shown with its failure
    for node in _touching(head, sorted(added)):
        line = getattr(node, "lineno", None)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.end_lineno:
            string_lines.update(range(node.lineno + 1, node.end_lineno + 1))
        if isinstance(node, ast.Call) and line in added:
            name = _dotted(node.func)
            if name == "print" and not (base_prints or is_test or interface) and prompting is None:
                prompting = _prompting_lines(head)
            if (
                name == "print"
                and not (base_prints or is_test or interface or line in (prompting or ()))
                and not any(k.arg == "file" for k in node.keywords)  # written to a stream on purpose
            ):
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
            elif _dotted(node.type) in ("Exception", "BaseException") and not _ends_the_error(node):
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


def _comment_of(line: str) -> str | None:
    """The comment on a line of code (after a ``#`` outside string quotes), or None."""
    quote: str | None = None
    i = 0
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if line.startswith(quote, i):
                i += len(quote)
                quote = None
                continue
        elif ch == "#":
            return line[i + 1 :]
        elif ch in "'\"":
            quote = ch * 3 if line.startswith(ch * 3, i) else ch
            i += len(quote)
            continue
        i += 1
    return None


def _looks_like_code(text: str) -> bool:
    text = text.strip()
    if not text or len(text) < 4 or not re.search(r"[=()\[\]:.]", text):
        return False
    if re.match(r"^(noqa|type:|pragma|pylint:|fmt:|isort:|mypy:|pyright:|ruff:|proofswe:)", text):
        return False
    if text.endswith(":") and not re.match(r"^(if|for|while|def|class|with|try|else|elif|except)\b", text):
        return False  # "Example:" prose
    try:
        tree = parse_quietly(text if not text.endswith(":") else text + " pass")
    except (SyntaxError, ValueError):
        return False
    if len(tree.body) != 1:
        return False
    stmt = tree.body[0]
    return not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, (ast.Name, ast.Constant)))


def _comments(f: FileText, string_lines: set[int], config: TasteConfig) -> Iterator[Finding]:
    previous_code_comment = -10
    for line, text in f.added():
        if line in string_lines:  # inside a multi-line string: not a comment
            continue
        comment = _comment_of(text)
        if comment is None:
            continue
        body = comment.lstrip("#").strip()
        todo = _TODO.search(body)
        if todo:
            yield Finding(
                "comments-todo", f.path, line, f"{todo.group(1)} added: {body[:60]}", config.weight("comments-todo")
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


def _removal_findings(removals: list[_Removal], config: TasteConfig, texts: Mapping[str, str]) -> Iterator[Finding]:
    """One ``api-name-removed`` per removed name the repository still uses: a name removed where
    it is defined and where it is re-exported (or re-exported from several packages) is one
    removal, not one per file. A removal nothing in the repository imports any more is no finding."""
    defined = {name for r in removals if not r.reexport for name in r.names}
    echoes: dict[str, list[str]] = {}  # name -> the other files it was removed from
    reported: set[str] = set()
    for r in removals:
        if r.reexport:
            name = r.names[0]
            if name in defined or name in reported:
                echoes.setdefault(name, []).append(r.path)
                continue
            reported.add(name)
    for r in removals:
        name = r.names[0]
        if r.reexport and (name in defined or r.path in echoes.get(name, [])):
            continue
        also = sorted({p for n in r.names for p in echoes.get(n, []) if p != r.path})
        places = [r.path, *also]
        if r.deleted:
            used = next((u for p in places if (u := _reference(texts, p, name, whole_module=True))), None)
        else:
            used = next((u for p in places if (u := _reference(texts, p, name))), None)
        if used is None:
            continue
        note = f" (also from {', '.join(also)})" if also else ""
        if r.deleted:
            shown = ", ".join(r.names[:5]) + ("..." if len(r.names) > 5 else "")
            message = f"module deleted with its public names ({shown}){note}: {used[0]}:{used[1]} still imports from it"
        else:
            reexport = " (a re-export)" if r.reexport else ""
            message = f"public name {name} removed{reexport}{note}: {used[0]}:{used[1]} still imports it"
        yield Finding("api-name-removed", r.path, r.line, message, config.weight("api-name-removed"))


def check(data: TasteInput, config: TasteConfig) -> Iterator[Finding]:
    removals: list[_Removal] = []
    local = data.local_modules | patch_modules(data)
    texts = head_texts(data)
    for f in data.files:
        yield from check_file(f, data, config, removals, local, texts)
    yield from _removal_findings(removals, config, texts)


def count_gold_abstractions(gold_text: str) -> dict[str, int]:
    """How many classes, abstract bases, public functions and modules the reference diff adds."""
    counts = {
        "structure-new-class": 0,
        "structure-new-abstraction": 0,
        "structure-new-public-function": 0,
        "structure-new-module": 0,
    }
    for added in re.finditer(r"^diff --git a/\S+ b/(\S+)\nnew file mode", gold_text, re.M):
        path = added.group(1)
        if path.endswith(".py") and is_api_module(path, None) and not path.endswith("__init__.py"):
            counts["structure-new-module"] += 1
    decorated = False  # the previous added line makes the next class a data class
    for line in gold_text.splitlines():
        if not line.startswith("+") or line.startswith("+++"):
            continue
        m = re.match(r"^\+\s*class\s+(\w+)\s*(\((.*)\))?\s*:", line)
        plain, decorated = decorated, False
        deco = re.match(r"^\+\s*@([\w.]+)", line)
        if deco:
            decorated = plain or deco.group(1) in _DATA_DECORATORS
        elif m:
            bases = m.group(3) or ""
            abstract = bool(re.search(r"\b(ABC|ABCMeta|Protocol)\b", bases))
            names = [b.strip().rpartition(".")[2] for b in bases.split(",")]
            plain = plain or any(n in _DATA_BASES or n.endswith(("Error", "Exception", "Warning")) for n in names)
            if abstract or not plain:  # data classes, models, enums and exceptions are not counted
                counts["structure-new-abstraction" if abstract else "structure-new-class"] += 1
        elif re.match(r"^\+\s*(async\s+)?def\s+[a-zA-Z]\w*\s*\(", line):
            counts["structure-new-public-function"] += 1
    return counts
