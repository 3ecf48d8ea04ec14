"""What the taste check needs to know of the repository's base state (reads files; memoised)."""

from __future__ import annotations

import configparser
import functools
import re
import sys
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

__all__ = ["RepoFacts", "repo_facts"]

_REQ_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True)
class RepoFacts:
    local_modules: frozenset[str]
    declared_dependencies: frozenset[str]
    ruff_config: str | None
    ruff_config_name: str


def _normalise(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


def _names(requirements: list[str]) -> set[str]:
    out = set()
    for req in requirements:
        m = _REQ_NAME.match(req)
        if m and not req.strip().startswith(("-", "#")):
            out.add(_normalise(m.group(1)))
    return out


@functools.lru_cache(maxsize=64)
def repo_facts(root: Path) -> RepoFacts:
    """Local top-level modules, declared dependencies and ruff configuration of ``root``."""
    local: set[str] = set()
    for folder in (root, root / "src", root / "lib"):
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            if entry.name.startswith("."):
                continue
            if entry.is_dir() and entry.name.isidentifier():
                local.add(entry.name)
            elif entry.suffix == ".py" and entry.stem.isidentifier():
                local.add(entry.stem)
    deps: set[str] = set()
    ruff_config: str | None = None
    ruff_name = "ruff.toml"
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            data = {}
        project = data.get("project", {})
        deps |= _names(list(project.get("dependencies", [])))
        for extra in project.get("optional-dependencies", {}).values():
            deps |= _names(list(extra))
        for group in data.get("dependency-groups", {}).values():
            deps |= _names([g for g in group if isinstance(g, str)])
        poetry = data.get("tool", {}).get("poetry", {})
        deps |= {_normalise(n) for n in poetry.get("dependencies", {})}
        if "ruff" in data.get("tool", {}):
            ruff_config, ruff_name = pyproject.read_text(encoding="utf-8"), "pyproject.toml"
    for name in ("ruff.toml", ".ruff.toml"):
        if (root / name).is_file():
            ruff_config, ruff_name = (root / name).read_text(encoding="utf-8"), name
            break
    setup_cfg = root / "setup.cfg"
    if setup_cfg.is_file():
        parser = configparser.RawConfigParser(strict=False)
        try:
            parser.read_string(setup_cfg.read_text(encoding="utf-8"))
            if parser.has_option("options", "install_requires"):
                deps |= _names(parser.get("options", "install_requires").splitlines())
        except (configparser.Error, UnicodeDecodeError):
            pass
    for req in root.glob("requirements*.txt"):
        try:
            deps |= _names(req.read_text(encoding="utf-8").splitlines())
        except (OSError, UnicodeDecodeError):
            pass
    return RepoFacts(frozenset(local), frozenset(deps), ruff_config, ruff_name)
