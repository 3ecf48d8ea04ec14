"""What a submission may not change before the hidden tests run.

A grader that lets the graded code configure the test runner can be gamed (SWE-bench
#631: a patch that only adds a ``conftest.py`` scored as resolved). Before the hidden
tests run, everything the submission added or changed that configures or loads the
test runner is put back to the base state, and recorded:

* ``conftest.py`` anywhere; ``pytest.ini``, ``.pytest.ini``, ``pytest.toml``,
  ``.pytest.toml``; the ``[pytest]`` section of ``tox.ini``, ``[tool:pytest]`` of
  ``setup.cfg``, ``[tool.pytest.*]`` of ``pyproject.toml`` (the whole file is restored
  when that section changed);
* ``sitecustomize.py``, ``usercustomize.py`` and ``*.pth`` files anywhere;
* the modules of plugins that the base state loads: ``-p NAME`` in ``addopts``,
  ``pytest_plugins`` in the base ``conftest.py`` files, and ``pytest11`` entry points
  of the task's environment;
* new top-level modules that shadow an installed one (a ``pytest.py`` at the root
  would replace the test runner itself).

Test files the submission edited are recorded too. Pure functions over a workspace
plus :func:`restore`, which is the only writer.
"""

from __future__ import annotations

import ast
import configparser
import shlex
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from . import git as gitmod
from .pysource import parse_quietly

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

__all__ = ["Neutralised", "is_test_path", "neutralise", "restore"]

_CONFIG_FILES = {"pytest.ini", ".pytest.ini", "pytest.toml", ".pytest.toml"}
_LOADER_FILES = {"conftest.py", "sitecustomize.py", "usercustomize.py"}
_TEST_DIRS = {"test", "tests", "testing"}
_INI_SECTIONS = {"tox.ini": "pytest", "setup.cfg": "tool:pytest"}


@dataclass(frozen=True)
class Neutralised:
    """A file put back to the base state (or removed if the base did not have it)."""

    path: str
    reason: str
    action: str  # "restored" or "removed"

    def to_json(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason, "action": self.action}


def is_test_path(path: str) -> bool:
    """Whether ``path`` is a test file by pytest's usual conventions."""
    p = PurePosixPath(path)
    name = p.name
    if name == "conftest.py":
        return True
    if p.suffix == ".py" and (name.startswith("test_") or name.endswith("_test.py")):
        return True
    return any(part in _TEST_DIRS for part in p.parts[:-1])


def _base_text(workspace: Path, path: str) -> str | None:
    result = gitmod.git(["show", f"HEAD:{path}"], cwd=workspace, check=False)
    return result.output if result.ok else None


def _head_text(workspace: Path, path: str) -> str | None:
    full = workspace / path
    if not full.is_file():
        return None
    try:
        return full.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _ini_section(text: str | None, section: str) -> dict[str, str] | None:
    if text is None:
        return None
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return {"<unparseable>": text}
    if not parser.has_section(section):
        return None
    return dict(parser.items(section))


def _toml_pytest(text: str | None) -> object:
    if text is None:
        return None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {"<unparseable>": text}
    tool = data.get("tool", {})
    return (
        {k: v for k, v in tool.items() if k == "pytest" or k.startswith("pytest")} if isinstance(tool, dict) else None
    )


def _config_reason(workspace: Path, path: str) -> str | None:
    """Why changed file ``path`` counts as test-runner configuration, or None."""
    name = PurePosixPath(path).name
    if name in _LOADER_FILES:
        return f"{name} is loaded by the test runner"
    if name in _CONFIG_FILES:
        return f"{name} configures pytest"
    if name.endswith(".pth"):
        return ".pth files run code when Python starts"
    if name in _INI_SECTIONS:
        section = _INI_SECTIONS[name]
        if _ini_section(_base_text(workspace, path), section) != _ini_section(_head_text(workspace, path), section):
            return f"its [{section}] section configures pytest"
    elif name == "pyproject.toml" and _toml_pytest(_base_text(workspace, path)) != _toml_pytest(
        _head_text(workspace, path)
    ):
        return "its [tool.pytest] table configures pytest"
    return None


def restore(workspace: Path, path: str, *, rev: str = "HEAD") -> str:
    """Put ``path`` back to its state at ``rev`` (the base commit); "restored" or "removed"."""
    in_base = gitmod.git(["cat-file", "-e", f"{rev}:{path}"], cwd=workspace, check=False).ok
    full = workspace / path
    if in_base:
        if full.is_dir() and not full.is_symlink():
            import shutil

            shutil.rmtree(full)
        gitmod.git(["checkout", "-q", rev, "--", path], cwd=workspace)
        return "restored"
    if full.is_symlink() or full.is_file():
        full.unlink()
    return "removed"


def _addopts_plugins(workspace: Path) -> set[str]:
    """Plugin module names given as ``-p NAME`` in the base configuration's addopts."""
    texts: list[str] = []
    for name in ("pytest.ini", ".pytest.ini", "tox.ini", "setup.cfg"):
        section = "tool:pytest" if name == "setup.cfg" else "pytest"
        values = _ini_section(_head_text(workspace, name), section)
        if values and "addopts" in values:
            texts.append(values["addopts"])
    for name in ("pyproject.toml", "pytest.toml", ".pytest.toml"):
        text = _head_text(workspace, name)
        if text is None:
            continue
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            continue
        table = data.get("tool", {}).get("pytest", {}) if name == "pyproject.toml" else data.get("pytest", {})
        if isinstance(table, dict):
            opts = table.get("ini_options", table).get("addopts")
            if isinstance(opts, list):
                texts.append(" ".join(str(o) for o in opts))
            elif isinstance(opts, str):
                texts.append(opts)
    plugins: set[str] = set()
    for text in texts:
        try:
            tokens = shlex.split(text)
        except ValueError:
            tokens = text.split()
        for i, tok in enumerate(tokens):
            if tok == "-p" and i + 1 < len(tokens):
                plugins.add(tokens[i + 1])
            elif tok.startswith("-p") and len(tok) > 2:
                plugins.add(tok[2:])
    return {p for p in plugins if not p.startswith("no:")}


def _conftest_plugins(workspace: Path) -> set[str]:
    """Module names in ``pytest_plugins`` of the (base) conftest.py files."""
    found: set[str] = set()
    for conftest in sorted(workspace.rglob("conftest.py")):  # sorted: the same order on every machine
        if ".git" in conftest.parts:
            continue
        try:
            tree = parse_quietly(conftest.read_bytes())
        except (SyntaxError, ValueError, OSError):
            continue
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "pytest_plugins" for t in node.targets
            ):
                value = node.value
                items = value.elts if isinstance(value, (ast.List, ast.Tuple)) else [value]
                for item in items:
                    if isinstance(item, ast.Constant) and isinstance(item.value, str):
                        found.add(item.value)
    return found


def _module_files(module: str, roots: Iterable[str]) -> set[str]:
    rel = module.split(":")[0].strip().replace(".", "/")
    out = set()
    for root in roots:
        prefix = f"{root}/" if root else ""
        out.add(f"{prefix}{rel}.py")
        out.add(f"{prefix}{rel}/__init__.py")
    return out


_BASE_PLUGINS: dict[str, frozenset[str]] = {}


def base_plugin_modules(tree: Path) -> frozenset[str]:
    """Plugin modules the base configuration loads (``-p`` in addopts, ``pytest_plugins``).

    Computed once per base tree: after :func:`neutralise` the configuration of every
    workspace is the base's.
    """
    key = str(tree)
    if key not in _BASE_PLUGINS:
        _BASE_PLUGINS[key] = frozenset(_addopts_plugins(tree) | _conftest_plugins(tree))
    return _BASE_PLUGINS[key]


def neutralise(
    workspace: Path,
    changed: Iterable[tuple[str, str]],
    *,
    import_roots: Iterable[str] = ("",),
    entry_point_plugins: Iterable[str] = (),
    installed_names: Iterable[str] = (),
    base_plugins: Iterable[str] | None = None,
) -> tuple[list[Neutralised], list[str]]:
    """Undo the submission's changes to test-runner configuration in ``workspace``.

    ``changed`` is the ``(status, path)`` list of :func:`.patch.changed_paths`;
    ``import_roots`` the workspace folders on the tests' import path ("" is the root,
    "src" for a src layout); ``installed_names`` the top-level module names the task's
    environment provides. Returns what was neutralised and the test files edited.
    """
    changed = list(changed)
    done: list[Neutralised] = []
    roots = list(import_roots)
    for _status, path in changed:
        reason = _config_reason(workspace, path)
        if reason:
            done.append(Neutralised(path, reason, restore(workspace, path)))
    # With the configuration back at its base state, find the plugins it loads.
    if base_plugins is None:
        base_plugins = _addopts_plugins(workspace) | _conftest_plugins(workspace)
    plugin_modules = set(base_plugins) | set(entry_point_plugins)
    plugin_files = set()
    for module in plugin_modules:
        plugin_files |= _module_files(module, roots)
    shadowable = set(installed_names)
    already = {n.path for n in done}
    for status, path in changed:
        if path in already:
            continue
        if path in plugin_files:
            done.append(
                Neutralised(path, "a pytest plugin that the base configuration loads", restore(workspace, path))
            )
            continue
        if status in ("?", "??", "A"):
            top = _top_level_name(path, roots)
            if top and top in shadowable:
                done.append(
                    Neutralised(path, f"a new module '{top}' would shadow the installed one", restore(workspace, path))
                )
    test_files = [path for _status, path in changed if is_test_path(path)]
    return done, test_files


def _top_level_name(path: str, roots: list[str]) -> str | None:
    for root in sorted(roots, key=len, reverse=True):
        prefix = f"{root}/" if root else ""
        if path.startswith(prefix):
            rest = path[len(prefix) :]
            first = rest.split("/", 1)[0]
            if "/" not in rest:
                if first.endswith(".py"):
                    return first[:-3]
                if first.endswith((".so", ".pyd")):
                    return first.split(".", 1)[0]
                return None
            return first
    return None
