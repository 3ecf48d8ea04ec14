"""Size and scope of a patch: files, hunks, lines, files outside the gold set, config files."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

from .model import Finding, TasteConfig, TasteInput

_CONFIG_NAMES = {
    "setup.py",
    "setup.cfg",
    "pyproject.toml",
    "tox.ini",
    "noxfile.py",
    "pytest.ini",
    "manifest.in",
    "makefile",
    "dockerfile",
    "poetry.lock",
    "uv.lock",
    "pipfile",
    "pipfile.lock",
    ".pre-commit-config.yaml",
    ".gitignore",
    ".gitattributes",
    ".editorconfig",
    ".flake8",
    "mypy.ini",
    ".coveragerc",
    "ruff.toml",
    ".ruff.toml",
    "environment.yml",
    "conda.yaml",
    ".readthedocs.yml",
    ".readthedocs.yaml",
    "codecov.yml",
}
_CONFIG_DIRS = {".github", ".gitlab", ".circleci", ".devcontainer", ".buildkite"}
_REQUIREMENTS = re.compile(r"^(requirements|constraints)[\w.-]*\.(txt|in)$", re.IGNORECASE)


def is_config_path(path: str) -> bool:
    p = PurePosixPath(path)
    name = p.name.lower()
    return (
        name in _CONFIG_NAMES
        or bool(_REQUIREMENTS.match(name))
        or (name.endswith((".yml", ".yaml")) and any(part in _CONFIG_DIRS for part in p.parts))
        or any(part in _CONFIG_DIRS for part in p.parts[:-1])
    )


def _changed_lines(diff_text: str) -> int:
    return sum(1 for line in diff_text.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---")))


def metrics(data: TasteInput) -> dict[str, Any]:
    files = data.files
    return {
        "files_touched": len(files),
        "files_added": sum(f.kind == "add" for f in files),
        "files_deleted": sum(f.kind == "delete" for f in files),
        "files_renamed": sum(f.kind == "rename" for f in files),
        "hunks": sum(len(f.hunks) for f in files),
        "lines_added": sum(len(f.added()) for f in files),
        "lines_removed": sum(len(f.removed()) for f in files),
        "gold_files": None if data.gold_paths is None else len(data.gold_paths),
    }


def check(data: TasteInput, config: TasteConfig, m: dict[str, Any]) -> Iterator[Finding]:
    max_files = config.thresholds.get("max_files_touched")
    if max_files is not None and m["files_touched"] > max_files:
        extra = m["files_touched"] - int(max_files)
        yield Finding(
            "scope-files-touched",
            "",
            None,
            f"{m['files_touched']} files touched, more than max_files_touched={max_files:g}",
            config.weight("scope-files-touched") * extra,
        )
    max_lines = config.thresholds.get("max_lines_changed")
    changed = m["lines_added"] + m["lines_removed"]
    if max_lines is not None and changed > max_lines:
        penalty = min(config.weight("scope-lines-changed") * (changed - max_lines), 15.0)
        yield Finding(
            "scope-lines-changed",
            "",
            None,
            f"{changed} lines changed, more than max_lines_changed={max_lines:g}",
            penalty,
        )
    gold_lines = _changed_lines(data.gold_text) if data.gold_paths is not None else None
    if gold_lines is not None and changed > 2 * gold_lines + 10:
        extra = changed - (2 * gold_lines + 10)
        yield Finding(
            "scope-larger-than-gold",
            "",
            None,
            f"{changed} lines changed where the reference solution changes {gold_lines}",
            min(config.weight("scope-larger-than-gold") * extra, 10.0),
        )
    for f in data.files:
        first = next((ln for ln, _ in f.added()), None) or (f.hunks[0].target_start if f.hunks else None)
        if (
            data.gold_paths is not None
            and f.path not in data.gold_paths
            and (f.old_path or f.path) not in data.gold_paths
        ):
            yield Finding(
                "scope-outside-gold",
                f.path,
                first,
                f"{f.kind} of a file the reference solution does not touch",
                config.weight("scope-outside-gold"),
            )
        if is_config_path(f.path):
            yield Finding(
                "scope-config-touched",
                f.path,
                first,
                f"packaging/CI/configuration file {f.kind}ed"
                if f.kind != "modify"
                else "packaging/CI/configuration file modified",
                config.weight("scope-config-touched"),
            )
