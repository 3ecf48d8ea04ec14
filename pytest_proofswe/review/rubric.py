"""Rubrics: loading and validating the criteria a reviewer scores a diff against.

A rubric is a TOML file: ``name``, ``version``, ``description``, ``pass_threshold`` (on
the criteria's 1-5 scale) and ``[[criteria]]`` with ``id``, ``title``, ``weight``,
``look_for`` and ``scale`` (an anchor description for each of 1 to 5). Built-in rubrics
live in ``pytest_proofswe/rubrics/``; a rubric is chosen by name or by path. A path is
relative to whatever named it: :func:`resolve_rubric` makes it absolute once.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

__all__ = [
    "BUILTIN_DIR",
    "CHECKLIST_KEY",
    "Criterion",
    "Rubric",
    "RubricError",
    "builtin_rubrics",
    "load_rubric",
    "parse_rubric",
    "resolve_rubric",
]

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "rubrics"
SCALE = (1, 2, 3, 4, 5)
#: The key of the reviewer's reply that holds a task's checklist answers: no criterion may use it.
CHECKLIST_KEY = "checklist"
_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_TOP_KEYS = {"name", "version", "description", "pass_threshold", "criteria"}
_CRITERION_KEYS = {"id", "title", "weight", "look_for", "scale"}


class RubricError(UsageError):
    """A rubric file is invalid: names the file, the criterion and the key."""

    def __init__(
        self, path: Path | str, problem: str, *, criterion: str | None = None, key: str | None = None, fix: str = ""
    ) -> None:
        where = str(path)
        if criterion:
            where += f": criterion {criterion!r}"
        if key:
            where += f": key {key!r}"
        super().__init__(f"{where}: {problem}" + (f" (fix: {fix})" if fix else ""))
        self.path, self.criterion, self.key = Path(path), criterion, key


@dataclass(frozen=True)
class Criterion:
    id: str
    title: str
    weight: float
    look_for: str
    scale: tuple[tuple[int, str], ...]  # (level, anchor) for 1..5


@dataclass(frozen=True)
class Rubric:
    name: str
    version: str
    description: str
    pass_threshold: float
    criteria: tuple[Criterion, ...]
    source: str  # the file it came from
    sha256: str  # of the file's bytes: part of the review cache key

    def criterion(self, cid: str) -> Criterion:
        return next(c for c in self.criteria if c.id == cid)

    def weighted(self, scores: dict[str, float]) -> float:
        total = sum(c.weight for c in self.criteria)
        return sum(scores[c.id] * c.weight for c in self.criteria) / total

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "sha256": self.sha256,
            "source": self.source,
            "pass_threshold": self.pass_threshold,
        }


def builtin_rubrics() -> dict[str, Path]:
    return {p.stem: p for p in sorted(BUILTIN_DIR.glob("*.toml"))}


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def parse_rubric(data: dict[str, Any], path: Path, raw: bytes) -> Rubric:
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise RubricError(
            path,
            f"unknown key(s) {', '.join(sorted(unknown))}",
            key=sorted(unknown)[0],
            fix=f"the keys are {', '.join(sorted(_TOP_KEYS))}",
        )
    for key in ("name", "version", "description"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise RubricError(path, f"'{key}' must be a non-empty string", key=key)
    threshold = data.get("pass_threshold")
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or not 1 <= threshold <= 5:
        raise RubricError(
            path,
            f"'pass_threshold' must be a number from 1 to 5, got {threshold!r}",
            key="pass_threshold",
            fix="it is compared with the weighted mean of the 1-5 scores",
        )
    raw_criteria = data.get("criteria")
    if not isinstance(raw_criteria, list) or not raw_criteria:
        raise RubricError(path, "no [[criteria]]", key="criteria", fix="add at least one [[criteria]] table")
    criteria: list[Criterion] = []
    for index, item in enumerate(raw_criteria, 1):
        label = str(item.get("id", f"#{index}")) if isinstance(item, dict) else f"#{index}"
        if not isinstance(item, dict):
            raise RubricError(path, "must be a table", criterion=label)
        unknown = set(item) - _CRITERION_KEYS
        if unknown:
            raise RubricError(
                path,
                f"unknown key(s) {', '.join(sorted(unknown))}",
                criterion=label,
                key=sorted(unknown)[0],
                fix=f"the keys are {', '.join(sorted(_CRITERION_KEYS))}",
            )
        cid = item.get("id")
        if not isinstance(cid, str) or not _ID.match(cid):
            raise RubricError(
                path,
                f"'id' must be lower-case letters, digits and _ (up to 40), got {cid!r}",
                criterion=label,
                key="id",
            )
        if any(c.id == cid for c in criteria):
            raise RubricError(path, "the id is used twice", criterion=cid, key="id")
        if cid == CHECKLIST_KEY:
            raise RubricError(
                path,
                f"the id {cid!r} is reserved: the reviewer's reply holds a task's checklist answers under it",
                criterion=cid,
                key="id",
                fix="rename the criterion",
            )
        for key in ("title", "look_for"):
            if not isinstance(item.get(key), str) or not item[key].strip():
                raise RubricError(path, f"'{key}' must be a non-empty string", criterion=cid, key=key)
        weight = item.get("weight", 1)
        if not _number(weight) or weight <= 0:
            raise RubricError(path, f"'weight' must be a positive number, got {weight!r}", criterion=cid, key="weight")
        scale = item.get("scale")
        if not isinstance(scale, dict):
            raise RubricError(
                path,
                "'scale' must be a table of anchors for 1 to 5",
                criterion=cid,
                key="scale",
                fix='scale = { 1 = "...", 2 = "...", 3 = "...", 4 = "...", 5 = "..." }',
            )
        levels = {}
        for level, anchor in scale.items():
            if not str(level).isdigit() or int(level) not in SCALE:
                raise RubricError(path, f"scale level {level!r} is not 1 to 5", criterion=cid, key="scale")
            if not isinstance(anchor, str) or not anchor.strip():
                raise RubricError(
                    path, f"the anchor of level {level} must be a non-empty string", criterion=cid, key="scale"
                )
            levels[int(level)] = anchor.strip()
        missing = [lvl for lvl in SCALE if lvl not in levels]
        if missing:
            raise RubricError(
                path,
                f"scale has no anchor for level(s) {', '.join(map(str, missing))}",
                criterion=cid,
                key="scale",
                fix="describe what each of 1 to 5 looks like",
            )
        criteria.append(
            Criterion(
                cid, item["title"].strip(), float(weight), item["look_for"].strip(), tuple(sorted(levels.items()))
            )
        )
    return Rubric(
        name=data["name"],
        version=data["version"],
        description=data["description"].strip(),
        pass_threshold=float(threshold),
        criteria=tuple(criteria),
        source=str(path),
        sha256=hashlib.sha256(raw).hexdigest(),
    )


def resolve_rubric(name_or_path: str, base: Path) -> str:
    """A built-in rubric's name as it is; a path made absolute against ``base`` (not checked)."""
    if name_or_path in builtin_rubrics():
        return name_or_path
    path = Path(name_or_path).expanduser()
    return os.path.abspath(path if path.is_absolute() else base / path)


def load_rubric(name_or_path: str, *, base: Path | None = None) -> Rubric:
    """A built-in rubric by name, or a rubric file by path (relative to ``base``)."""
    builtins = builtin_rubrics()
    if name_or_path in builtins:
        path = builtins[name_or_path]
    else:
        path = Path(name_or_path)
        if not path.is_absolute() and base is not None:
            path = base / path
        if not path.is_file():
            raise RubricError(
                name_or_path,
                "no such rubric",
                fix=f"name a built-in rubric ({', '.join(builtins)}) or the path of a TOML file",
            )
    raw = path.read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RubricError(path, f"is not valid TOML: {exc}") from None
    return parse_rubric(data, path, raw)
