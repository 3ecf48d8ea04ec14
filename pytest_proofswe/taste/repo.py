"""What the taste check needs to know of the repository's base state (reads files; memoised).

One walk of the repository (vendored, virtual-environment, build and hidden folders
skipped) finds its own modules, the dependencies it declares anywhere (subprojects,
``backend/requirements/*.txt``...), its console entry points, its ruff configuration files
and the Python version it supports. :func:`sources` reads the texts the design rules
search (who calls a new function, whether added code already exists, whether a removed
name is still used): its Python files and the configuration files that can name them.
"""

from __future__ import annotations

import configparser
import functools
import os
import re
import sys
import types
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

__all__ = ["RepoFacts", "clear_memos", "python_target", "repo_facts", "sources"]

_REQ_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?")
_REQUIREMENTS = re.compile(r"^(requirements|constraints)[\w.-]*\.(txt|in)$", re.IGNORECASE)
_SKIP_DIRS = {
    "node_modules",
    "__pycache__",
    "site-packages",
    "dist-packages",
    "build",
    "dist",
    "venv",
    "env",
    "_vendor",
    "vendor",
    "third_party",
}
#: Bounds of the walk: a repository this large is read in part (the first folders found).
MAX_DEPTH = 8
MAX_ENTRIES = 100_000
_ENTRY_POINT = re.compile(r"""["']\s*[\w.-]+\s*=\s*([A-Za-z_][\w.]*)\s*:\s*[\w.]+""")
_SETUP_LIST = re.compile(r"\b(?:install_requires|tests_require|setup_requires)\s*=\s*\[(.*?)\]", re.DOTALL)
_SETUP_EXTRAS = re.compile(r"\bextras_require\s*=\s*\{(.*?)\}", re.DOTALL)
_STRING = re.compile(r"""["']([^"'\n]+)["']""")
_PYTHON_REQUIRES = re.compile(r"""python_requires\s*=\s*["']([^"']+)["']""")
_MIN_PYTHON = re.compile(r"(?:>=|~=|==|\^|>|~)\s*3\.(\d+)")
_PRECOMMIT_RUFF = re.compile(r"ruff-pre-commit['\"]?\s*\n\s*rev:\s*['\"]?v?([0-9][\w.]*)")
_RUFF_PIN = re.compile(r"^\s*ruff\s*((?:[=<>~!]=?|===)\s*[0-9][\w.]*(?:\s*,\s*(?:[=<>~!]=?)\s*[0-9][\w.]*)*)", re.I)


@dataclass(frozen=True)
class RepoFacts:
    local_modules: frozenset[str]
    declared_dependencies: frozenset[str]
    ruff_config: str | None  # the root's ruff configuration (as ruff_configs holds it)
    ruff_config_name: str
    ruff_configs: tuple[tuple[str, str], ...] = ()  # (path from the root, text) of every ruff configuration
    python_target: str | None = None  # "py310": the oldest Python the project supports, as ruff names it
    entry_modules: frozenset[str] = frozenset()  # dotted modules of console and GUI entry points
    project_ruff: str | None = None  # the ruff version the project pins, and where

    def taste_fields(self) -> dict[str, Any]:
        """The :class:`~.model.TasteInput` fields these facts fill."""
        return {
            "local_modules": self.local_modules,
            "declared_dependencies": self.declared_dependencies,
            "ruff_config": self.ruff_config,
            "ruff_config_name": self.ruff_config_name,
            "ruff_configs": self.ruff_configs,
            "python_target": self.python_target,
            "entry_modules": self.entry_modules,
            "project_ruff": self.project_ruff,
        }


def _normalise(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


def _names(requirements: Iterable[str]) -> set[str]:
    """Normalised distribution names of requirement strings; ``pkg[a,b]`` also declares ``pkg_a``, ``pkg_b``."""
    out = set()
    for req in requirements:
        m = _REQ_NAME.match(req)
        if m and not req.strip().startswith(("-", "#")):
            name = _normalise(m.group(1))
            out.add(name)
            for extra in (m.group(2) or "").split(","):
                if extra.strip():
                    out.add(f"{name}_{_normalise(extra.strip())}")
    return out


def python_target(spec: str) -> str | None:
    """``">=3.10,<4"`` -> ``"py310"``: the oldest Python 3 a requirement allows, as ruff names it."""
    versions = [int(m) for m in _MIN_PYTHON.findall(spec)]
    if not versions:
        return None
    return f"py3{min(max(min(versions), 7), 15)}"


def _walk(root: Path) -> Iterator[tuple[PurePosixPath, list[str], list[str]]]:
    """(folder relative to ``root``, its subfolders, its files), pruned and bounded (walked once per root)."""
    for rel, dirs, files in _listing(root):
        yield rel, list(dirs), list(files)


@functools.lru_cache(maxsize=4)
def _listing(root: Path) -> tuple[tuple[PurePosixPath, tuple[str, ...], tuple[str, ...]], ...]:
    return tuple((rel, tuple(dirs), tuple(files)) for rel, dirs, files in _walk_tree(root))


def _walk_tree(root: Path) -> Iterator[tuple[PurePosixPath, list[str], list[str]]]:
    seen = 0
    for folder, dirs, files in os.walk(root):
        rel = PurePosixPath(Path(folder).relative_to(root).as_posix())
        depth = 0 if str(rel) == "." else len(rel.parts)
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".")
            and d.lower() not in _SKIP_DIRS
            and not d.endswith(".egg-info")
            and not (Path(folder) / d / "pyvenv.cfg").exists()
            and depth < MAX_DEPTH
        )
        seen += len(dirs) + len(files)
        yield rel, dirs, files
        if seen > MAX_ENTRIES:
            return


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _toml(text: str) -> dict[str, Any]:
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {}
    return data


def _strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _pyproject(data: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(declared dependencies, entry-point modules) of a parsed pyproject.toml."""
    deps: set[str] = set()
    project = data.get("project", {})
    deps |= _names(_strings(project.get("dependencies")))
    for extra in dict(project.get("optional-dependencies", {})).values():
        deps |= _names(_strings(extra))
    for group in dict(data.get("dependency-groups", {})).values():
        deps |= _names(_strings(group))
    build = data.get("build-system", {})
    deps |= _names(_strings(build.get("requires")))
    tool = data.get("tool", {})
    poetry = tool.get("poetry", {})
    deps |= {_normalise(n) for n in dict(poetry.get("dependencies", {}))}
    deps |= {_normalise(n) for n in dict(poetry.get("dev-dependencies", {}))}
    for group in dict(poetry.get("group", {})).values():
        deps |= {_normalise(n) for n in dict(group.get("dependencies", {}))}
    deps |= _names(_strings(tool.get("uv", {}).get("dev-dependencies")))
    for group in dict(tool.get("pdm", {}).get("dev-dependencies", {})).values():
        deps |= _names(_strings(group))
    for env in dict(tool.get("hatch", {}).get("envs", {})).values():
        deps |= _names(_strings(env.get("dependencies"))) | _names(_strings(env.get("extra-dependencies")))
    entries: set[str] = set()
    for table in (project.get("scripts", {}), project.get("gui-scripts", {}), poetry.get("scripts", {})):
        for target in dict(table).values():
            if isinstance(target, str) and ":" in target:
                entries.add(target.split(":")[0].strip())
    return deps, entries


def _setup_cfg(text: str) -> tuple[set[str], set[str], str | None]:
    """(declared dependencies, entry-point modules, python_requires) of a setup.cfg."""
    parser = configparser.RawConfigParser(strict=False)
    try:
        parser.read_string(text)
    except configparser.Error:
        return set(), set(), None
    deps: set[str] = set()
    for section, option in (("options", "install_requires"), ("options", "tests_require")):
        if parser.has_option(section, option):
            deps |= _names(parser.get(section, option).splitlines())
    if parser.has_section("options.extras_require"):
        for _key, value in parser.items("options.extras_require"):
            deps |= _names(value.splitlines())
    entries = set()
    if parser.has_section("options.entry_points"):
        for key, value in parser.items("options.entry_points"):
            if key in ("console_scripts", "gui_scripts"):
                for line in value.splitlines():
                    if "=" in line and ":" in line:
                        entries.add(line.split("=", 1)[1].split(":")[0].strip())
    requires = parser.get("options", "python_requires") if parser.has_option("options", "python_requires") else None
    return deps, entries, requires


def _setup_py(text: str) -> tuple[set[str], set[str], str | None]:
    """What a setup.py states literally: install/test/extra requirements, entry points, python_requires."""
    deps: set[str] = set()
    for block in [*_SETUP_LIST.findall(text), *_SETUP_EXTRAS.findall(text)]:
        deps |= _names(s for s in _STRING.findall(block) if not s.rstrip().endswith(":"))
    entries = set(_ENTRY_POINT.findall(text)) if "entry_points" in text else set()
    m = _PYTHON_REQUIRES.search(text)
    return deps, entries, m.group(1) if m else None


def _pipfile(data: dict[str, Any]) -> set[str]:
    return {_normalise(n) for key in ("packages", "dev-packages") for n in dict(data.get(key, {}))}


def _has_ruff_table(data: dict[str, Any]) -> bool:
    return "ruff" in data.get("tool", {})


@functools.lru_cache(maxsize=64)
def repo_facts(root: Path) -> RepoFacts:
    """Own modules, declared dependencies, entry points, ruff configuration and target of ``root``."""
    local: set[str] = set()
    deps: set[str] = set()
    entries: set[str] = set()
    ruff_configs: list[tuple[str, str]] = []
    targets: dict[str, str] = {}  # folder -> requires-python
    project_ruff: str | None = None
    for rel, dirs, files in _walk(root):
        folder = root / rel
        has_python = any(name.endswith(".py") for name in files)
        if has_python:
            local.update(part for part in rel.parts if part.isidentifier())
        local.update(d for d in dirs if d.isidentifier() and (folder / d / "__init__.py").is_file())
        local.update(name[:-3] for name in files if name.endswith(".py") and name[:-3].isidentifier())
        in_requirements_dir = rel.name.lower() == "requirements"
        for name in files:
            lower = name.lower()
            path = folder / name
            where = (rel / name).as_posix()
            if lower == "pyproject.toml":
                text = _read(path) or ""
                data = _toml(text)
                found, found_entries = _pyproject(data)
                deps |= found
                entries |= found_entries
                requires = data.get("project", {}).get("requires-python")
                poetry_python = data.get("tool", {}).get("poetry", {}).get("dependencies", {}).get("python")
                for spec in (requires, poetry_python):
                    if isinstance(spec, str):
                        targets.setdefault(str(rel), spec)
                if _has_ruff_table(data):
                    ruff_configs.append((where, text))
                pin = next((p for p in _strings_in(data) if _RUFF_PIN.match(p)), None)
                if pin and project_ruff is None:
                    project_ruff = f"{pin.strip()} ({where})"
            elif lower in ("ruff.toml", ".ruff.toml"):
                ruff_configs.append((where, _read(path) or ""))
            elif lower == "setup.cfg":
                found, found_entries, requires = _setup_cfg(_read(path) or "")
                deps |= found
                entries |= found_entries
                if requires:
                    targets.setdefault(str(rel), requires)
            elif lower == "setup.py":
                found, found_entries, requires = _setup_py(_read(path) or "")
                deps |= found
                entries |= found_entries
                if requires:
                    targets.setdefault(str(rel), requires)
            elif lower == "pipfile":
                deps |= _pipfile(_toml(_read(path) or ""))
            elif _REQUIREMENTS.match(name) or (in_requirements_dir and lower.endswith((".txt", ".in"))):
                lines = (_read(path) or "").splitlines()
                deps |= _names(lines)
                pin = next((line for line in lines if _RUFF_PIN.match(line)), None)
                if pin and project_ruff is None:
                    project_ruff = f"{pin.strip()} ({where})"
            elif lower == ".pre-commit-config.yaml" and project_ruff is None:
                m = _PRECOMMIT_RUFF.search(_read(path) or "")
                if m:
                    project_ruff = f"{m.group(1)} ({where})"
    # Shallowest first; in one folder, in ruff's own order of precedence.
    precedence = {".ruff.toml": 0, "ruff.toml": 1, "pyproject.toml": 2}
    ruff_configs.sort(
        key=lambda c: (
            len(PurePosixPath(c[0]).parts),
            str(PurePosixPath(c[0]).parent),
            precedence.get(PurePosixPath(c[0]).name, 3),
        )
    )
    root_config = next(((p, t) for p, t in ruff_configs if "/" not in p), None)
    spec = targets.get(".")
    target = python_target(spec) if spec else None
    if target is None:  # no root project: the oldest Python any part of the repository supports
        stated = [t for t in (python_target(s) for s in targets.values()) if t]
        target = min(stated, key=lambda t: int(t[3:])) if stated else None
    return RepoFacts(
        local_modules=frozenset(local),
        declared_dependencies=frozenset(deps),
        ruff_config=root_config[1] if root_config else None,
        ruff_config_name=root_config[0] if root_config else "ruff.toml",
        ruff_configs=tuple(ruff_configs),
        python_target=target,
        entry_modules=frozenset(entries),
        project_ruff=project_ruff,
    )


def _strings_in(data: object) -> Iterator[str]:
    """Every string in a parsed TOML document (dependency lists wherever a tool keeps them)."""
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for value in data.values():
            yield from _strings_in(value)
    elif isinstance(data, list):
        for value in data:
            yield from _strings_in(value)


#: What :func:`sources` reads: Python files, and configuration files that can name Python
#: objects (entry points in ``pyproject.toml`` or ``setup.cfg``, YAML configuration).
SOURCE_SUFFIXES = (".py", ".pyi")
_CONFIG_SUFFIXES = (".toml", ".cfg", ".ini", ".yaml", ".yml")
#: Files larger than this are not read (generated tables, vendored bundles), nor files
#: beyond SOURCES_MAX_BYTES in all: a repository that large is searched in part.
SOURCE_MAX_FILE_BYTES = 1 << 20
SOURCES_MAX_BYTES = 64 << 20


def is_source(path: str) -> bool:
    """Whether :func:`sources` reads the file at ``path`` (by its name)."""
    return path.endswith(SOURCE_SUFFIXES + _CONFIG_SUFFIXES)


@functools.lru_cache(maxsize=4)
def sources(root: Path) -> Mapping[str, str]:
    """Path (POSIX, from ``root``) -> text of the repository's Python and configuration files.

    The same walk as :func:`repo_facts` (vendored, virtual-environment, build and hidden
    folders skipped), files above SOURCE_MAX_FILE_BYTES and undecodable ones left out.
    """
    out: dict[str, str] = {}
    total = 0
    for rel, _dirs, files in _walk(root):
        for name in files:
            if not is_source(name):
                continue
            path = root / rel / name
            try:
                size = path.stat().st_size
                if size > SOURCE_MAX_FILE_BYTES or total + size > SOURCES_MAX_BYTES:
                    continue
                text = path.read_bytes().decode("utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            total += size
            out[(rel / name).as_posix()] = text
    return types.MappingProxyType(out)


def clear_memos() -> None:
    """Forget every repository read so far (a folder whose files changed is read again)."""
    for memo in (repo_facts, sources, _listing):
        memo.cache_clear()
