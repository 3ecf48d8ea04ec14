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
  would replace the test runner itself);
* package metadata (``*.dist-info``, ``*.egg-info``): its ``entry_points.txt`` can
  register a pytest plugin (``[pytest11]``) that loads from the workspace;
* ``__init__.py`` on the import path of a hidden test file: pytest imports the test's
  packages before the test, so their code runs like a ``conftest.py``;
* compiled code the diff does not show: ``__pycache__/``, ``*.pyc``, ``*.pyo`` (an
  "unchecked" hash-based ``.pyc`` is used without looking at its source, a sourceless
  ``module.pyc`` is imported when ``module.py`` is absent) and extension modules;
* symlinks pointing outside the workspace (however they were made: a symlink sent as a
  git binary patch has no target to read in the diff).

What the submission changed is found by walking the files (:func:`tree_changes`), not
by asking git: a ``.gitignore`` of the submission would hide files from ``git status``.
Test files the submission edited are recorded too. Pure functions over a workspace
plus :func:`restore` and :func:`place_file`, the only writers.
"""

from __future__ import annotations

import ast
import configparser
import filecmp
import functools
import os
import posixpath
import shlex
import shutil
import stat
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .. import git as gitmod
from ..change import TEST_DIRS, is_test_path
from ..pysource import parse_quietly

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

__all__ = [
    "Neutralised",
    "hidden_test_paths",
    "is_test_path",
    "neutralise",
    "place_file",
    "real_parents",
    "restore",
    "tree_changes",
]

_CONFIG_FILES = {"pytest.ini", ".pytest.ini", "pytest.toml", ".pytest.toml"}
_LOADER_FILES = {"conftest.py", "sitecustomize.py", "usercustomize.py"}
_INI_SECTIONS = {"tox.ini": "pytest", "setup.cfg": "tool:pytest"}


@dataclass(frozen=True)
class Neutralised:
    """A file put back to the base state (or removed if the base did not have it)."""

    path: str
    reason: str
    action: str  # "restored" or "removed"

    def to_json(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason, "action": self.action}


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
            shutil.rmtree(full)
        gitmod.git(["checkout", "-q", rev, "--", path], cwd=workspace)
        return "restored"
    if full.is_symlink() or full.is_file():
        full.unlink()
    return "removed"


# What the walk records of a path: (kind, size, mtime_ns, executable, symlink target).
_Entry = tuple[str, int, int, bool, str]


def _walk(root: Path) -> dict[str, _Entry]:
    """Every file and symlink under ``root``, without following symlinks; ``.git`` excluded."""
    out: dict[str, _Entry] = {}
    stack = [("", str(root))]
    while stack:
        rel_dir, full_dir = stack.pop()
        try:
            entries = list(os.scandir(full_dir))
        except OSError:
            continue
        for entry in entries:
            rel = rel_dir + entry.name
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(st.st_mode):
                if entry.name != ".git":
                    stack.append((rel + "/", entry.path))
            elif stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", 0, 0, False, os.readlink(entry.path))
            else:
                kind = "file" if stat.S_ISREG(st.st_mode) else "other"
                out[rel] = (kind, st.st_size, st.st_mtime_ns, bool(st.st_mode & 0o111), "")
    return out


@functools.lru_cache(maxsize=4)
def _base_listing(base_tree: str) -> dict[str, _Entry]:
    # A base tree never changes once built (its folder is named by its content hash).
    return _walk(Path(base_tree))


def _differs(head: _Entry, base: _Entry, head_path: Path, base_path: Path) -> bool:
    if head[0] != base[0]:
        return True
    if head[0] == "link":
        return head[4] != base[4]
    if head[1] != base[1] or head[3] != base[3]:
        return True
    if head[2] == base[2]:
        # Same size and mtime as the base's copy: the workspace copy kept both, and a
        # write (git apply, patch) sets the time to now. No submission code has run yet.
        return False
    try:
        return not filecmp.cmp(head_path, base_path, shallow=False)
    except OSError:
        return True


def tree_changes(workspace: Path, base_tree: Path) -> list[tuple[str, str]]:
    """``(status, path)`` of every file of ``workspace`` that differs from ``base_tree``.

    Found by walking both trees, so a file the submission's ``.gitignore`` names is
    listed like any other. Status is ``A`` (added), ``M`` (content, mode, kind or
    symlink target changed) or ``D`` (deleted); symlinks are never followed.
    """
    base = _base_listing(str(base_tree))
    head = _walk(workspace)
    out: list[tuple[str, str]] = []
    for rel in sorted(head.keys() | base.keys()):
        h, b = head.get(rel), base.get(rel)
        if b is None:
            out.append(("A", rel))
        elif h is None:
            out.append(("D", rel))
        elif _differs(h, b, workspace / rel, base_tree / rel):
            out.append(("M", rel))
    return out


_COMPILED_SUFFIXES = (".pyc", ".pyo", ".so", ".pyd")
_METADATA_SUFFIXES = (".dist-info", ".egg-info")


def _shipped_code_reason(path: str) -> str | None:
    """Why ``path`` is code or metadata the diff does not show, or None."""
    p = PurePosixPath(path)
    if "__pycache__" in p.parts or p.suffix in (".pyc", ".pyo"):
        return "compiled bytecode: Python may run it instead of the source the diff shows"
    if p.name.endswith(_COMPILED_SUFFIXES):
        return "a compiled extension module: Python imports it before the source the diff shows"
    if any(part.endswith(_METADATA_SUFFIXES) for part in p.parts):
        return "package metadata: its entry points can load a pytest plugin from the workspace"
    return None


def _escapes(link_rel: str, target: str) -> bool:
    """Whether symlink ``link_rel`` pointing at ``target`` leads outside the workspace or into .git."""
    if target.startswith("/") or "\x00" in target:
        return True
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(link_rel), target))
    return joined == ".." or joined.startswith("../") or joined.split("/")[0] == ".git"


def _test_package_inits(test_paths: Iterable[str]) -> dict[str, bool]:
    """``__init__.py`` paths on the import path of each hidden test file.

    The value says whether the folder is part of a test suite (below a ``test``,
    ``tests`` or ``testing`` folder): such an ``__init__.py`` is restored when changed.
    Above that, the packages are the code under test, which the fix may change; a new
    ``__init__.py`` there is still removed (the hidden tests were written without it).
    """
    out: dict[str, bool] = {}
    for path in test_paths:
        parts = PurePosixPath(path).parts[:-1]
        for depth in range(len(parts) + 1):
            folder = parts[:depth]
            init = "/".join((*folder, "__init__.py"))
            out[init] = out.get(init, False) or any(part in TEST_DIRS for part in folder)
    return out


def hidden_test_paths(test_ids: Iterable[str], hidden_files: Iterable[str] = ()) -> tuple[str, ...]:
    """The files of the hidden tests: the paths of ``test_ids`` and the files the task ships."""
    paths = {test_id.split("::", 1)[0] for test_id in test_ids}
    paths.update(hidden_files)
    return tuple(sorted(p for p in paths if p.endswith(".py")))


def place_file(workspace: Path, rel: str, data: bytes) -> None:
    """Write ``data`` at ``rel`` in ``workspace`` without following any symlink.

    Every folder on the way is made a real folder of the workspace (a symlink or a file
    in its place is removed first), and what was at ``rel`` is replaced. The harness
    writes the hidden tests with this: a symlink of the submission must never redirect
    that write outside the workspace.
    """
    dest = real_parents(workspace, rel)
    try:
        st = os.lstat(dest)
    except FileNotFoundError:
        pass
    else:
        if stat.S_ISDIR(st.st_mode):
            shutil.rmtree(dest)
        else:
            os.unlink(dest)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(dest, flags, 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def real_parents(workspace: Path, rel: str) -> Path:
    """Make each folder leading to ``rel`` a real folder inside ``workspace``; the path of ``rel``.

    A symlink or a file where a folder must be is removed and a folder made in its
    place. ``rel`` must be relative and free of ``..`` (ValueError otherwise).
    """
    parts = rel.split("/")
    if rel.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"not a plain relative path inside the workspace: {rel!r}")
    current = workspace
    for part in parts[:-1]:
        current = current / part
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            os.mkdir(current)
            continue
        if not stat.S_ISDIR(st.st_mode):
            os.unlink(current)
            os.mkdir(current)
    return current / parts[-1]


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
    test_paths: Iterable[str] = (),
) -> tuple[list[Neutralised], list[str]]:
    """Undo the submission's changes to test-runner configuration in ``workspace``.

    ``changed`` is the ``(status, path)`` list of :func:`tree_changes` (or of
    :func:`.patch.changed_paths`); ``import_roots`` the workspace folders on the tests'
    import path ("" is the root, "src" for a src layout); ``installed_names`` the
    top-level module names the task's environment provides; ``test_paths`` the files of
    the hidden tests (:func:`hidden_test_paths`). Returns what was neutralised and the
    test files edited.
    """
    changed = list(changed)
    done: list[Neutralised] = []
    roots = list(import_roots)
    inits = _test_package_inits(test_paths)
    for status, path in changed:
        reason = _config_reason(workspace, path)
        if reason is None and status != "D":
            reason = _shipped_code_reason(path)
            if reason is None and os.path.islink(workspace / path) and _escapes(path, os.readlink(workspace / path)):
                reason = f"a symlink pointing outside the workspace ({os.readlink(workspace / path)!r})"
        if reason is None and PurePosixPath(path).name == "__init__.py":
            added = status in ("?", "??", "A")
            # Hidden tests may import any package of a tests/ folder (a helper package):
            # an existing one is put back; a new one off their import path is never imported.
            in_tests = inits.get(path, False) or (not added and "tests" in PurePosixPath(path).parts[:-1])
            if in_tests or (added and path in inits):
                reason = "a package __init__.py on the hidden tests' import path runs before them, like a conftest.py"
        if reason:
            done.append(Neutralised(path, reason, restore(workspace, path)))
    _prune_empty(workspace, [n.path for n in done if n.action == "removed"])
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


def _prune_empty(workspace: Path, removed: Iterable[str]) -> None:
    """Remove the metadata and bytecode folders that removing ``removed`` left empty."""
    for path in removed:
        parent = PurePosixPath(path).parent
        while parent.parts and (parent.name == "__pycache__" or parent.name.endswith(_METADATA_SUFFIXES)):
            try:
                os.rmdir(workspace / parent)
            except OSError:
                break
            parent = parent.parent


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
