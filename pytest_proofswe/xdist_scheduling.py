"""Under pytest-xdist, every item of one submission goes to one worker: graded once.

A submission's items (``<task folder>::<submission>::behaviour``, ``taste``, ``review``,
``session``, ``validate``) share one grading, done in the process that runs the first of
them. xdist's ``load`` scheduling deals items out one by one, so a submission's items
landed on two workers and each graded it (its workspace built twice, its tests run
twice). This scheduler hands out each submission's items as one unit of work, the
submissions of the tasks that took longest in earlier runs first (:mod:`.durations`), and keeps
xdist's own rule for every other test: one unit per test (``load``, ``worksteal``), per
``xdist_group`` (``loadgroup``), per module or class (``loadscope``), per file
(``loadfile``). ``--dist each`` and ``no`` are left alone.

Imported only when pytest-xdist is installed (it subclasses xdist's scheduler).
"""

from __future__ import annotations

from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped,unused-ignore]

from . import durations
from .durations import submission_scope

__all__ = ["SubmissionScheduling", "XdistScheduling", "submission_scope"]

_TAKEN_OVER = ("load", "worksteal", "loadgroup", "loadscope", "loadfile")


class SubmissionScheduling(LoadScopeScheduling):  # type: ignore[misc,unused-ignore]
    """xdist's scope scheduling, where a submission is a scope and every other test keeps its ``--dist`` rule."""

    def __init__(self, config: pytest.Config, log: Any = None) -> None:
        super().__init__(config, log)
        self.dist = str(config.getvalue("dist"))
        self._ordered = False

    def _assign_work_unit(self, node: Any) -> None:
        """The first time: the work queue ordered longest task first (:mod:`pytest_proofswe.durations`)."""
        if not self._ordered:
            self._ordered = True
            known = durations.load(self.config)
            if known:
                for scope in durations.longest_first(list(self.workqueue), durations.task_of, known):
                    self.workqueue.move_to_end(scope)
        super()._assign_work_unit(node)

    def _split_scope(self, nodeid: str) -> str:
        ours = submission_scope(nodeid)
        if ours is not None:
            return ours
        if self.dist == "loadscope":
            return str(super()._split_scope(nodeid))
        if self.dist == "loadfile":
            return nodeid.split("::", 1)[0]
        if self.dist == "loadgroup" and "@" in nodeid:
            return nodeid.rsplit("@", 1)[-1]
        return nodeid  # load, worksteal: each test on its own


class XdistScheduling:
    """The plugin that gives xdist's controller :class:`SubmissionScheduling`."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> SubmissionScheduling | None:
        if config.getvalue("dist") not in _TAKEN_OVER:
            return None
        return SubmissionScheduling(config, log)
