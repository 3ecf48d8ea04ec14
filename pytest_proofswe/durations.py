"""Longest tasks first: the order gradings are handed out in, from the durations of earlier runs.

With several gradings at a time (``-n N``, ``--proofswe-jobs N``, the Ray executor), a long
grading handed out last keeps one worker busy while the others wait: the run lasts as long
as that grading beyond the rest. Handing out the longest first (the classic
longest-processing-time rule) lets the short ones fill in around it.

A run remembers, per task folder, its longest grading (the result's ``duration_s``; a
result served from the result cache keeps its first grading's) in pytest's cache, under
:data:`CACHE_KEY`, merged with what earlier runs recorded of other tasks. The next run
hands out the tasks that took longest first; tasks it knows nothing of come before them,
in collection order (a new task may be the longest). Without pytest's cache
(``-p no:cacheprovider``) the order is the collection's. Only the order in which gradings
start changes: the items still run, and report, in collection order.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

__all__ = ["CACHE_KEY", "load", "longest_first", "record", "submission_scope", "task_of"]

CACHE_KEY = "proofswe/durations"

_CHECKS = ("behaviour", "taste", "review", "session", "validate", "decay")
# <task folder>::<submission>::<check>, or a stepped task's <task folder>::<submission>::<step>::<check>
# (and <task folder>::<submission>::decay); a task folder is a folder, not a .py module.
_OURS = re.compile(r"^(?P<scope>(?P<task>[^:]+)::[^:]+)(?:::[^:]+)?::(?:" + "|".join(_CHECKS) + r")(?:@.*)?$")

_K = TypeVar("_K")


def submission_scope(nodeid: str) -> str | None:
    """``<task folder>::<submission>`` for one of our items (a stepped task's steps too), else None."""
    found = _OURS.match(nodeid)
    if found is None or found.group("task").endswith(".py"):
        return None
    return found.group("scope")


def task_of(nodeid_or_scope: str) -> str | None:
    """The task folder's part of one of our items' node ids (or of a submission scope), else None."""
    task, separator, _ = (submission_scope(nodeid_or_scope) or nodeid_or_scope).partition("::")
    return task if separator and not task.endswith(".py") else None


def load(config: Any) -> dict[str, float]:
    """What earlier runs recorded: task folder -> seconds of its longest grading (empty without a cache)."""
    cache = getattr(config, "cache", None)
    if cache is None:
        return {}
    stored = cache.get(CACHE_KEY, {})
    if not isinstance(stored, dict):
        return {}  # written by something else: ignored, rewritten at the end of the run
    return {
        str(task): float(seconds)
        for task, seconds in stored.items()
        if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and math.isfinite(seconds)
    }


def record(config: Any, seen: Mapping[str, float]) -> None:
    """Store this run's durations over the earlier ones (other tasks' entries are kept)."""
    cache = getattr(config, "cache", None)
    if cache is None or not seen:
        return
    cache.set(CACHE_KEY, {**load(config), **{task: round(seconds, 3) for task, seconds in seen.items()}})


def longest_first(keys: Iterable[_K], task: Callable[[_K], str | None], durations: Mapping[str, float]) -> list[_K]:
    """``keys`` in the order to hand them out: unknown tasks first (collection order), then longest first.

    The sort is stable: the submissions of one task keep their order, and so do keys that
    are not ours (``task`` gives None for them; they count as unknown).
    """

    def rank(key: _K) -> tuple[int, float]:
        name = task(key)
        seconds = durations.get(name) if name is not None else None
        return (0, 0.0) if seconds is None else (1, -seconds)

    return sorted(keys, key=rank)
