"""What one version of one Python file contributes to the decay figures, and ruff over many versions.

Pure functions of a file's text and path (:func:`file_facts`), memoised by the caller; only
:func:`lint_versions` spawns a process, one ruff run for every version of every file.
docs/decay.md says what each figure means.
"""

from __future__ import annotations

import ast
import hashlib
import json
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ..change import is_test_path
from ..taste.pyparse import tree_of

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

__all__ = [
    "COMPLEXITY_FREE",
    "MAX_FILE_BYTES",
    "WINDOW",
    "FileFacts",
    "LintCounts",
    "content_key",
    "file_facts",
    "is_wrapper",
    "lint_versions",
    "ruff_config_from",
    "significant",
]

#: Cyclomatic complexity a function may have for free: radon's rank A (1 to 5).
COMPLEXITY_FREE = 5
#: Consecutive significant lines that make a window; a window seen twice is duplication.
WINDOW = 6
#: Files larger than this are not measured (generated code, vendored bundles).
MAX_FILE_BYTES = 1_000_000
#: Skips that silence a test wherever it runs. A conditional one (skipif, skipIf, skipUnless)
#: says where a test does not apply (a platform, a missing tool): not counted.
_SKIP_NAMES = frozenset({"skip", "xfail", "skipTest", "expectedFailure"})
_NOT_ABSTRACT_DECORATORS = frozenset({"overload", "abstractmethod", "abc.abstractmethod", "typing.overload"})


def content_key(text: str) -> str:
    """The content key of a text that has no git blob id (a file of a workspace)."""
    return hashlib.sha1(text.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass(frozen=True)
class FileFacts:
    """What one version of one file contributes to its state (pure function of text and kind)."""

    parsed: bool
    test: bool
    functions: tuple[tuple[str, int, int, int], ...] = ()  # (qualified name, complexity, first line, last line)
    defs: tuple[tuple[str, str, str], ...] = ()  # (kind, qualified name, name): functions, methods, classes
    wrappers: tuple[str, ...] = ()  # qualified names of pass-through wrappers
    refs: Mapping[str, int] = field(default_factory=dict)  # name -> times it is used (loads and attributes)
    sig_lines: tuple[int, ...] = ()  # line numbers of the significant lines (code files)
    windows: tuple[int, ...] = ()  # hash of the window starting at each significant line
    asserts: int = 0
    skips: int = 0
    test_functions: int = 0

    @property
    def complexity(self) -> int:
        return sum(cc for _q, cc, _s, _e in self.functions) if not self.test else 0

    @property
    def excess(self) -> int:
        return sum(max(0, cc - COMPLEXITY_FREE) for _q, cc, _s, _e in self.functions) if not self.test else 0


def significant(line: str) -> str | None:
    """The normalised text of a line that counts for duplication, or None.

    Blank lines, comments, lines with no letter or digit (closing brackets) and imports
    do not count; whitespace is collapsed.
    """
    text = line.strip()
    if not text or text.startswith("#") or not any(c.isalnum() for c in text):
        return None
    if text.startswith("import ") or (text.startswith("from ") and " import " in text):
        return None
    return " ".join(text.split())


def _decorator_name(node: ast.expr) -> str:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _decorator_name(node.value)
        return f"{base}.{node.attr}" if base else node.attr
    return ""


def is_wrapper(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A pass-through wrapper: its body (past a docstring) is one call of another function.

    ``return f(a, b)`` or ``f(a, b)``, where every argument is one of the function's own
    parameters (``*args`` and ``**kwargs`` included) and ``f`` is a name or an attribute
    (``self._impl.run``). Dunder methods, overloads and abstract methods are not wrappers, nor
    a method forwarding to the method of the same name of something it holds (an adapter).
    """
    if fn.name.startswith("__") and fn.name.endswith("__"):
        return False
    if any(_decorator_name(d) in _NOT_ABSTRACT_DECORATORS for d in fn.decorator_list):
        return False
    body = list(fn.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    if len(body) != 1 or not isinstance(body[0], (ast.Return, ast.Expr)):
        return False
    call = body[0].value
    if not isinstance(call, ast.Call) or not isinstance(call.func, (ast.Name, ast.Attribute)):
        return False
    if isinstance(call.func, ast.Name) and call.func.id == fn.name:
        return False  # recursion
    if isinstance(call.func, ast.Attribute) and call.func.attr == fn.name:
        return False  # an adapter forwarding the same operation (def flush(self): self._stream.flush())
    a = fn.args
    params = {p.arg for p in (*a.posonlyargs, *a.args, *a.kwonlyargs)}
    params |= {p.arg for p in (a.vararg, a.kwarg) if p is not None}
    values = [v.value if isinstance(v, ast.Starred) else v for v in call.args] + [k.value for k in call.keywords]
    return all(isinstance(v, ast.Name) and v.id in params for v in values)


def file_facts(text: str | None, path: str) -> FileFacts:
    test = is_test_path(path)
    if text is None:  # not read (too large, not text): measured as an empty file
        return FileFacts(parsed=True, test=test)
    try:
        tree = tree_of(text)
    except (RecursionError, MemoryError):  # nesting deeper than the parser goes: it does not parse here
        tree = None
    if tree is None:
        return FileFacts(parsed=False, test=test)
    from radon.complexity import cc_visit_ast  # type: ignore[import-untyped]

    functions: list[tuple[str, int, int, int]] = []

    def add(block: Any, prefix: str) -> None:
        qual = f"{prefix}{block.name}"
        functions.append((qual, int(block.complexity), int(block.lineno), int(block.endline)))
        for closure in getattr(block, "closures", []):
            add(closure, f"{qual}.")

    try:
        blocks = cc_visit_ast(tree)
    except (RecursionError, ValueError):  # pragma: no cover - radon on pathological trees
        blocks = []
    for block in blocks:
        if type(block).__name__ == "Function":
            add(block, f"{block.classname}." if getattr(block, "classname", None) else "")

    defs: list[tuple[str, str, str]] = []
    wrappers: list[str] = []

    def visit(body: Iterable[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef):
                defs.append(("class", f"{prefix}{node.name}", node.name))
                visit(node.body, f"{prefix}{node.name}.")
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                defs.append(("function", f"{prefix}{node.name}", node.name))
                if is_wrapper(node):
                    wrappers.append(f"{prefix}{node.name}")
            elif isinstance(node, (ast.If, ast.Try)) and not prefix:
                visit(node.body, prefix)
                visit(node.orelse, prefix)

    visit(tree.body, "")
    refs: Counter[str] = Counter()
    asserts = skips = tests = 0
    unrepeatable: set[int] = set()  # docstrings and overloads: lines duplication does not count
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            refs[node.id] += 1
            skips += node.id in _SKIP_NAMES
        elif isinstance(node, ast.Attribute):
            refs[node.attr] += 1
            skips += node.attr in _SKIP_NAMES
        elif isinstance(node, ast.Assert):
            asserts += 1
        elif isinstance(node, ast.Call):
            callee = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            asserts += callee.startswith("assert")
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
            _decorator_name(d).rpartition(".")[2] == "overload" for d in node.decorator_list
        ):
            # Typing overloads repeat a signature on purpose: not duplication.
            first_line = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            unrepeatable.update(range(first_line, (node.end_lineno or node.lineno) + 1))
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            tests += not isinstance(node, (ast.Module, ast.ClassDef)) and node.name.startswith("test")
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                unrepeatable.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    if test:
        return FileFacts(
            parsed=True,
            test=True,
            functions=tuple(functions),
            refs=dict(refs),
            asserts=asserts,
            skips=skips,
            test_functions=tests,
        )
    sig: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if number in unrepeatable:
            continue
        norm = significant(line)
        if norm is not None:
            sig.append((number, norm))
    windows = tuple(hash("\n".join(n for _l, n in sig[i : i + WINDOW])) for i in range(len(sig) - WINDOW + 1))
    return FileFacts(
        parsed=True,
        test=False,
        functions=tuple(functions),
        defs=tuple((k, q, n) for k, q, n in defs if not (n.startswith("__") and n.endswith("__"))),
        wrappers=tuple(wrappers),
        refs=dict(refs),
        sig_lines=tuple(line for line, _n in sig),
        windows=windows,
    )


# --- lint ------------------------------------------------------------------------------------


def ruff_config_from(read: Callable[[str], str | None]) -> tuple[str, str] | None:
    """(text, file name) of the repository's ruff configuration, read with ``read(path)``.

    ``ruff.toml`` or ``.ruff.toml`` at the top wins over ``pyproject.toml``'s ``[tool.ruff]``
    (as in :mod:`.taste.repo`); None when there is none.
    """
    for name in ("ruff.toml", ".ruff.toml"):
        text = read(name)
        if text is not None:
            return text, name
    text = read("pyproject.toml")
    if text is not None:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            return None
        if isinstance(data.get("tool"), dict) and "ruff" in data["tool"]:
            return text, "pyproject.toml"
    return None


@dataclass(frozen=True)
class LintCounts:
    counts: Mapping[tuple[str, str], Mapping[str, int]]  # (path, key) -> rule code -> violations
    rules: str  # "repository" or the default rule set
    tool: str
    note: str = ""  # why the repository's configuration was not used, or why there is no lint


def lint_versions(
    versions: Mapping[tuple[str, str], str],
    config: tuple[str, str] | None,
    skeleton: Iterable[str],
) -> LintCounts:
    """Ruff over every file version, in one process: versions of one path go to separate layers.

    Each layer is a copy of the project's top with the configuration, the folders of every
    Python file seen and an empty ``__init__.py`` for each package file missing from it, so
    that a file is linted in the same surroundings whichever layer holds it.
    """
    from .. import process
    from ..taste.lint import DEFAULT_CONFIG, DEFAULT_SELECT, find_ruff

    ruff = find_ruff()
    if ruff is None:
        return LintCounts({}, "", "", note="ruff is not installed")
    layers: list[dict[str, str]] = []
    seen: Counter[str] = Counter()
    for (path, key), _text in sorted(versions.items()):
        index = seen[path]
        seen[path] += 1
        if index == len(layers):
            layers.append({})
        layers[index][path] = key
    packages = sorted({p for p in skeleton if PurePosixPath(p).name == "__init__.py"})
    folders = sorted({str(PurePosixPath(p).parent) for p in skeleton})

    def attempt(config_text: str, config_name: str) -> tuple[dict[tuple[str, str], dict[str, int]], str] | str:
        with tempfile.TemporaryDirectory(prefix="proofswe-decay-lint-") as tmp:
            root = Path(tmp)
            where: dict[str, tuple[str, str]] = {}
            for number, layer in enumerate(layers):
                top = root / f"L{number}"
                top.mkdir()
                (top / config_name).write_text(config_text, encoding="utf-8")
                for folder in folders:
                    (top / folder).mkdir(parents=True, exist_ok=True)
                for path, key in layer.items():
                    target = top / path
                    target.write_text(versions[(path, key)], encoding="utf-8", errors="surrogateescape")
                    where[f"L{number}/{path}"] = (path, key)
                for package in packages:
                    if package not in layer:
                        (top / package).touch()
            # The report goes to a file: the output of a process is capped (process.run keeps its head and tail).
            report = Path(tmp) / "ruff.json"
            argv = [ruff, "check", "--output-format=json", f"--output-file={report}", "--no-cache", "--exit-zero"]
            argv += ["--quiet", *(f"L{n}" for n in range(len(layers)))]
            result = process.run(
                argv,
                cwd=root,
                env={"PATH": "", "NO_COLOR": "1"},
                timeout=600,
            )
            version = process.run([ruff, "--version"], cwd=root, env={"PATH": ""}, timeout=30).output.strip()
            if not result.ok:
                return f"ruff failed (exit {result.returncode}): {result.tail(3)}"
            try:
                found = json.loads(report.read_text(encoding="utf-8") or "[]")
            except (OSError, ValueError) as exc:
                return f"ruff wrote no readable report: {exc}"
            counts: dict[tuple[str, str], dict[str, int]] = {pk: {} for pk in versions}
            for v in found:
                rel = Path(v["filename"]).resolve().relative_to(root.resolve()).as_posix()
                owner = where.get(rel)
                if owner is None:  # a filler __init__.py
                    continue
                code = v.get("code") or "syntax"
                counts[owner][code] = counts[owner].get(code, 0) + 1
            return counts, version

    note = ""
    if config is not None:
        outcome = attempt(*config)
        if not isinstance(outcome, str):
            return LintCounts(outcome[0], "repository", outcome[1])
        note = f"the repository's ruff configuration ({config[1]}) did not work here: {outcome}; the default rule set was used"
    outcome = attempt(DEFAULT_CONFIG, "ruff.toml")
    if isinstance(outcome, str):
        return LintCounts({}, "", "", note=outcome)
    return LintCounts(outcome[0], ",".join(DEFAULT_SELECT), outcome[1], note=note)
