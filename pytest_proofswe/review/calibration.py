"""Agreement of a reviewer with human labels: weighted Cohen's kappa, exact and within-one (pure).

A calibration folder holds one sub-folder per labelled example: ``patch.diff``, an
optional ``issue.md``, and ``labels.toml`` with the human scores per criterion::

    [scores]
    minimal = 4
    readability = 5
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .rubric import SCALE, Rubric

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

__all__ = ["Agreement", "Example", "agreement", "find_examples", "weighted_kappa"]


@dataclass(frozen=True)
class Example:
    name: str
    folder: Path
    patch: str
    issue: str
    labels: dict[str, int]


def find_examples(folder: Path, rubric: Rubric) -> list[Example | str]:
    """The labelled examples of ``folder``; a malformed one is a string saying what is wrong."""
    out: list[Example | str] = []
    ids = {c.id for c in rubric.criteria}
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        patch, labels = sub / "patch.diff", sub / "labels.toml"
        if not patch.is_file() or not labels.is_file():
            out.append(f"{sub}: needs patch.diff and labels.toml")
            continue
        try:
            scores = tomllib.loads(labels.read_text(encoding="utf-8")).get("scores", {})
        except tomllib.TOMLDecodeError as exc:
            out.append(f"{labels}: not valid TOML: {exc}")
            continue
        bad = [k for k, v in scores.items() if k not in ids or not isinstance(v, int) or v not in SCALE]
        if bad or not scores:
            out.append(
                f"{labels}: [scores] must map criteria of rubric {rubric.name} ({', '.join(sorted(ids))}) "
                f"to integers 1-5; wrong: {', '.join(bad) or 'no scores'}"
            )
            continue
        issue = (sub / "issue.md").read_text(encoding="utf-8") if (sub / "issue.md").is_file() else ""
        out.append(Example(sub.name, sub, patch.read_text(encoding="utf-8", errors="replace"), issue, dict(scores)))
    return out


def weighted_kappa(a: Sequence[int], b: Sequence[int], levels: Sequence[int] = SCALE) -> float | None:
    """Cohen's kappa with quadratic weights for two raters on an ordinal scale (None if undefined)."""
    n = len(a)
    if n == 0 or n != len(b):
        return None
    k = len(levels)
    index = {level: i for i, level in enumerate(levels)}
    observed = [[0.0] * k for _ in range(k)]
    for x, y in zip(a, b, strict=True):
        observed[index[x]][index[y]] += 1 / n
    row = [sum(observed[i]) for i in range(k)]
    col = [sum(observed[i][j] for i in range(k)) for j in range(k)]
    num = den = 0.0
    for i in range(k):
        for j in range(k):
            w = (i - j) ** 2 / (k - 1) ** 2
            num += w * observed[i][j]
            den += w * row[i] * col[j]
    if den == 0:
        return None
    return 1 - num / den


@dataclass(frozen=True)
class Agreement:
    criterion: str
    n: int
    exact: float
    within_one: float
    kappa: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "criterion": self.criterion,
            "n": self.n,
            "exact": round(self.exact, 3),
            "within_one": round(self.within_one, 3),
            "weighted_kappa": None if self.kappa is None else round(self.kappa, 3),
        }


def agreement(pairs: dict[str, list[tuple[int, float]]]) -> list[Agreement]:
    """Per criterion, from (human, model) score pairs; the model's median is rounded half up."""
    out = []
    for cid, scores in sorted(pairs.items()):
        human = [h for h, _m in scores]
        model = [min(5, max(1, int(m + 0.5))) for _h, m in scores]
        n = len(scores)
        exact = sum(h == m for h, m in zip(human, model, strict=True)) / n if n else 0.0
        near = sum(abs(h - m) <= 1 for h, m in zip(human, model, strict=True)) / n if n else 0.0
        out.append(Agreement(cid, n, exact, near, weighted_kappa(human, model)))
    return out
