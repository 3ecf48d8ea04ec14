"""Size and scope of a patch: files, hunks, lines, files outside the gold set, config files.

Only code counts as the spread of a change: tests, documentation, changelog entries, lock
files and generated files are reported in the metrics (``files_not_counted``) but never
count against ``max_files_touched``, ``max_lines_changed`` or the reference solution.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

from ..change import is_test_path
from .model import FileText, Finding, TasteConfig, TasteInput

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


#: Folders whose files belong to an example, a demo or a sample, not to the project's own configuration.
_NOT_PROJECT_DIRS = {"examples", "example", "samples", "sample", "demos", "demo", "cookbook", "notebooks"}
_SETUP_SCRIPT = re.compile(
    r"^\s*(?:from|import)\s+(?:setuptools|distutils|skbuild|numpy\.distutils)\b|^\s*setup\(", re.M
)


def is_config_path(path: str, text: str | None = None) -> bool:
    """Whether ``path`` is a packaging, CI or tool configuration file of the project.

    By role and location, not by name alone: a ``setup.py`` is packaging when it is a setup
    script (it imports setuptools or distutils, or calls ``setup()``; without its text, when
    it is not under a ``src/`` folder), and files of an example, a demo or a sample are the
    example's own. ``text`` is the file's content, when known.
    """
    p = PurePosixPath(path)
    name = p.name.lower()
    folders = [part.lower() for part in p.parts[:-1]]
    if any(part in _NOT_PROJECT_DIRS for part in folders):
        return False
    if name == "setup.py":
        return bool(_SETUP_SCRIPT.search(text)) if text is not None else "src" not in folders
    return (
        name in _CONFIG_NAMES
        or bool(_REQUIREMENTS.match(name))
        or (bool(folders) and folders[-1] == "requirements" and name.endswith((".txt", ".in")))
        or (name.endswith((".yml", ".yaml")) and any(part in _CONFIG_DIRS for part in p.parts))
        or any(part in _CONFIG_DIRS for part in p.parts[:-1])
    )


_PAST = {"add": "added", "delete": "deleted", "modify": "modified", "rename": "renamed"}
_DEPENDENCY_NAMES = {
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "pipfile",
    "pipfile.lock",
    "environment.yml",
    "environment.yaml",
    "conda.yaml",
}
#: Which file of a dependency change the finding is reported on (the manifest first).
_MANIFEST_ORDER = {"pyproject.toml": 0, "setup.cfg": 1, "setup.py": 2, "pipfile": 3}


def dependency_group(path: str) -> str | None:
    """The folder whose dependencies ``path`` declares or locks (a manifest, its lock file,
    requirements files: one dependency change), or None for other configuration."""
    p = PurePosixPath(path)
    name = p.name.lower()
    folder = p.parent
    if folder.name.lower() == "requirements":  # requirements/base.txt, requirements/test.txt
        return str(folder.parent)
    is_lock = name in _LOCK_NAMES or (name.endswith(".lock") and name != ".lock")
    if name in _DEPENDENCY_NAMES or is_lock or _REQUIREMENTS.match(name):
        return str(folder)
    return None


#: The kinds of file that are not the spread of a change, in the order they are recognised.
NOT_COUNTED = ("tests", "lock", "changelog", "generated", "docs")
_LOCK_NAMES = {
    "uv.lock",
    "poetry.lock",
    "pdm.lock",
    "pipfile.lock",
    "pixi.lock",
    "conda-lock.yml",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "bun.lockb",
    "cargo.lock",
    "gemfile.lock",
    "composer.lock",
    "go.sum",
    "flake.lock",
    "packages.lock.json",
    "gradle.lockfile",
}
_CHANGELOG_STEMS = {
    "changelog",
    "changes",
    "history",
    "news",
    "release_notes",
    "release-notes",
    "releasenotes",
    "whatsnew",
}
_CHANGELOG_SUFFIXES = {"", ".md", ".rst", ".txt", ".markdown", ".adoc"}
_CHANGELOG_DIRS = {"changelog.d", "newsfragments", ".changeset", "changes"}  # towncrier, changesets
_DOC_SUFFIXES = {".md", ".markdown", ".rst", ".adoc", ".asciidoc"}
_DOC_DIRS = {"docs", "doc", "documentation"}
_DOC_STEMS = {
    "readme",
    "license",
    "licence",
    "copying",
    "authors",
    "contributors",
    "contributing",
    "code_of_conduct",
    "security",
    "notice",
}
_GENERATED_NAME = re.compile(
    r"(_pb2(_grpc)?\.pyi?|\.pb\.go|\.g\.dart|\.min\.(js|css)|\.(js|css)\.map|[._]generated\.\w+)$"
)
_GENERATED_DIRS = {"__generated__", "generated", "_generated"}
# What code generators write at the top of a file (protoc, pip-compile, openapi-typescript,
# Go, Bazel, Sphinx ...).
_GENERATED_MARK = re.compile(
    r"@generated\b|DO NOT EDIT"
    r"|(?i:\b(auto-?generated|generated automatically) (by|from|file|code)\b"
    r"|\bdo not (edit|modify)\b|\bdo not make (direct )?changes\b"
    r"|\b(this|the) (file|module|code) (is|was|has been) (automatically |auto-?)?generated\b)"
)


def _first_lines(text: str, count: int) -> list[str]:
    """``text.splitlines()[:count]``, without splitting all of a long file."""
    prefix = text[:4096]
    lines = prefix.splitlines()
    # More lines than asked for: the first ``count`` end inside the prefix (a "\r\n" cut in two cannot be among them).
    return lines[:count] if len(lines) > count or len(prefix) == len(text) else text.splitlines()[:count]


def file_kind(path: str, text: str | None = None, *, test_files: frozenset[str] = frozenset()) -> str:
    """``"code"`` or, for a file that is not the spread of a change, one of :data:`NOT_COUNTED`.

    ``text`` is the file's content (its first lines are read for a generator's mark).
    """
    p = PurePosixPath(path)
    name, suffix = p.name.lower(), p.suffix.lower()
    stem = name.split(".", 1)[0]
    folders = {part.lower() for part in p.parts[:-1]}
    if is_test_path(path) or path in test_files:
        return "tests"
    if name in _LOCK_NAMES or (name.endswith(".lock") and name != ".lock"):
        return "lock"
    if (stem in _CHANGELOG_STEMS and suffix in _CHANGELOG_SUFFIXES) or (folders & _CHANGELOG_DIRS and suffix != ".py"):
        return "changelog"
    if (
        _GENERATED_NAME.search(name)
        or folders & _GENERATED_DIRS
        or (text is not None and _GENERATED_MARK.search("\n".join(_first_lines(text, 5))))
    ):
        return "generated"
    if suffix in _DOC_SUFFIXES or folders & _DOC_DIRS or (stem in _DOC_STEMS and suffix != ".py"):
        return "docs"
    return "code"


def _kind_of(f: FileText, test_files: frozenset[str]) -> str:
    return file_kind(f.path, f.head if f.head is not None else f.base, test_files=test_files)


def _changed_lines(diff_text: str) -> int:
    return sum(1 for line in diff_text.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---")))


def metrics(data: TasteInput) -> dict[str, Any]:
    files = data.files
    test_files = frozenset(data.test_files_edited)
    not_counted: dict[str, list[str]] = {}
    code = []
    for f in files:
        kind = _kind_of(f, test_files)
        if kind == "code":
            code.append(f)
        else:
            not_counted.setdefault(kind, []).append(f.path)
    return {
        "files_touched": len(files),
        "code_files_touched": len(code),
        "code_lines_changed": sum(len(f.added()) + len(f.removed()) for f in code),
        "files_not_counted": {kind: not_counted[kind] for kind in NOT_COUNTED if kind in not_counted},
        "files_added": sum(f.kind == "add" for f in files),
        "files_deleted": sum(f.kind == "delete" for f in files),
        "files_renamed": sum(f.kind == "rename" for f in files),
        "hunks": sum(len(f.hunks) for f in files),
        "lines_added": sum(len(f.added()) for f in files),
        "lines_removed": sum(len(f.removed()) for f in files),
        "gold_files": None if data.gold_paths is None else len(data.gold_paths),
    }


#: scope-code-lines costs each line of product code changed beyond the first FREE_CODE_LINES
#: (the smallest fixes score 100), or beyond the reference solution's own lines of code when
#: it changes more, up to CODE_LINES_CAP points.
FREE_CODE_LINES = 10
CODE_LINES_CAP = 40.0


def code_lines_of_diff(diff_text: str) -> int:
    """Lines added plus removed in the code files of a unified diff (tests, docs... apart, as in metrics)."""
    total = 0
    counted = False
    for line in diff_text.splitlines():
        if line.startswith("diff --git "):
            path = line.rsplit(" b/", 1)[-1]
            counted = file_kind(path) == "code"
        elif line.startswith(("+++", "---")):
            continue
        elif counted and line[:1] in "+-":
            total += 1
    return total


def _not_counted_note(m: dict[str, Any]) -> str:
    counts = [f"{len(paths)} {kind}" for kind, paths in m.get("files_not_counted", {}).items()]
    return f" (not counted: {', '.join(counts)})" if counts else ""


def check(data: TasteInput, config: TasteConfig, m: dict[str, Any]) -> Iterator[Finding]:
    changed = m["code_lines_changed"]
    gold = code_lines_of_diff(data.gold_text) if data.gold_paths is not None else 0
    free = max(FREE_CODE_LINES, gold)
    if changed > free:
        what = f"the reference solution's {gold}" if gold > FREE_CODE_LINES else f"the first {free}"
        yield Finding(
            "scope-code-lines",
            "",
            None,
            f"{changed} lines of product code changed, {changed - free} beyond {what}" + _not_counted_note(m),
            min(config.weight("scope-code-lines") * (changed - free), CODE_LINES_CAP),
        )
    max_files = config.thresholds.get("max_files_touched")
    if max_files is not None and m["code_files_touched"] > max_files:
        extra = m["code_files_touched"] - int(max_files)
        yield Finding(
            "scope-files-touched",
            "",
            None,
            f"{m['code_files_touched']} code files touched, more than max_files_touched={max_files:g}"
            + _not_counted_note(m),
            config.weight("scope-files-touched") * extra,
        )
    max_lines = config.thresholds.get("max_lines_changed")
    if max_lines is not None and changed > max_lines:
        penalty = min(config.weight("scope-lines-changed") * (changed - max_lines), 15.0)
        yield Finding(
            "scope-lines-changed",
            "",
            None,
            f"{changed} lines of code changed, more than max_lines_changed={max_lines:g}" + _not_counted_note(m),
            penalty,
        )
    gold_lines = _changed_lines(data.gold_text) if data.gold_paths is not None else None
    if gold_lines is not None and changed > 2 * gold_lines + 10:
        extra = changed - (2 * gold_lines + 10)
        yield Finding(
            "scope-larger-than-gold",
            "",
            None,
            f"{changed} lines of code changed where the reference solution changes {gold_lines}",
            min(config.weight("scope-larger-than-gold") * extra, 10.0),
        )
    not_counted = {path for paths in m.get("files_not_counted", {}).values() for path in paths}
    # Tests, docs, changelogs and generated files are never the project's configuration.
    not_counted_config = {
        path for kind, paths in m.get("files_not_counted", {}).items() if kind != "lock" for path in paths
    }
    dependency_changes: dict[str, list[tuple[FileText, int | None]]] = {}
    for f in data.files:
        first = next((ln for ln, _ in f.added()), None) or (f.hunks[0].target_start if f.hunks else None)
        if (
            data.gold_paths is not None
            and f.path not in not_counted
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
        if f.path not in not_counted_config and is_config_path(f.path, f.head if f.head is not None else f.base):
            group = dependency_group(f.path)
            if group is None:
                yield Finding(
                    "scope-config-touched",
                    f.path,
                    first,
                    f"packaging/CI/configuration file {_PAST[f.kind]}",
                    config.weight("scope-config-touched"),
                )
            else:
                dependency_changes.setdefault(group, []).append((f, first))
    for grouped in dependency_changes.values():
        f, first = min(grouped, key=lambda c: _MANIFEST_ORDER.get(PurePosixPath(c[0].path).name.lower(), 9))
        others = [c[0].path for c in grouped if c[0] is not f]
        note = f" with {', '.join(others)}: one dependency change" if others else ""
        yield Finding(
            "scope-config-touched",
            f.path,
            first,
            f"packaging/dependency file {_PAST[f.kind]}{note}",
            config.weight("scope-config-touched"),
        )
