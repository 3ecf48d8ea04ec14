"""Grading in another process or on another machine: the Grader's settings as a value.

A :class:`.grading.Grader` holds live collaborators (a base store, an environment
manager, a sandbox, a reviewer) that cannot travel. :class:`GraderSettings` is what
they are made from, a small frozen value; :func:`build_grader` makes a Grader from it
wherever it is, and :func:`grade_on_node` is the self-contained function an executor
such as Ray runs on a node: ``(GradeRequest, GraderSettings) -> GradeResult``. It builds
its Grader once per process (reused by every later call with the same settings) and
never raises for an agent's failure nor for a node that cannot grade (a missing task
folder, a sandbox that does not work there): those come back as ``error`` results that
name the node.

Testing seam (for this project's tests and benchmarks only, not a user feature):
``$PROOFSWE_TESTING_GRADE_WRAPPER=/path/to/file.py:name`` makes the grading function
``name(grade)`` of that file, where ``grade`` is the real one. The tests use it to kill a
Ray worker in the middle of a grading; ``benchmarks/sim_controller.py`` to replace the
grading by a fake one. Read by the controller and handed to the nodes in the settings.
"""

from __future__ import annotations

import importlib.util
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .taste.model import TasteConfig

if TYPE_CHECKING:
    from .grading import Grader, GradeRequest
    from .harness.sandbox import Sandbox
    from .result import GradeResult
    from .review.reviewer import ReviewConfig, Reviewer
    from .taste import TasteExtensions

__all__ = ["TESTING_WRAPPER_VAR", "GraderSettings", "build_grader", "error_result", "grade_on_node", "wrap_for_testing"]

TESTING_WRAPPER_VAR = "PROOFSWE_TESTING_GRADE_WRAPPER"

GradeFunction = Callable[["GradeRequest"], "GradeResult"]


@dataclass(frozen=True)
class GraderSettings:
    """Everything a Grader is made from (see :func:`build_grader`)."""

    cache_dir: Path
    run_id: str = ""
    rebuild_envs: bool = False
    keep_workspaces: bool = False
    workspace_dir: Path | None = None  # None: /dev/shm when it has room there, else the temporary folder
    taste: TasteConfig = field(default_factory=TasteConfig)
    review: ReviewConfig | None = None
    rubric: str = "taste"
    session: dict[str, Any] = field(default_factory=dict)
    # The sandbox the controller resolved (``auto`` is resolved there, never on a node: a node
    # without bubblewrap must not grade unsandboxed when the controller's run is sandboxed).
    sandbox: str = "none"  # bwrap or none
    sandbox_reason: str = ""  # none: why (shown in each result's proof)
    hidden: tuple[Path, ...] = ()  # the folders the sandbox hides
    testing_wrapper: str | None = None  # $PROOFSWE_TESTING_GRADE_WRAPPER of the controller


def build_grader(
    settings: GraderSettings,
    *,
    sandbox: Sandbox | None = None,
    reviewer: Reviewer | None = None,
    taste_extensions: TasteExtensions | None = None,
    session_readers: Sequence[Any] = (),
) -> Grader:
    """A Grader made from ``settings``; the keyword arguments replace what it would make itself."""
    from .grading import Grader
    from .harness.environment import EnvironmentManager
    from .harness.workspace import BaseStore, default_workspace_parent

    if sandbox is None:
        from .harness.sandbox import NoSandbox, choose

        # The controller's folders, and this machine's own home and working folder (a node's
        # home is not the controller's: its secrets, Ray's token, must be hidden as well).
        hidden = (*settings.hidden, Path.home(), Path.cwd())
        sandbox = (
            choose("bwrap", hidden=hidden)
            if settings.sandbox == "bwrap"
            else NoSandbox(reason=settings.sandbox_reason or "--proofswe-sandbox=none")
        )
    if reviewer is None and settings.review is not None:
        from .review import Reviewer

        reviewer = Reviewer(settings.review, settings.cache_dir)
    cache = settings.cache_dir
    return Grader(
        bases=BaseStore(cache),
        envs=EnvironmentManager(cache, rebuild=settings.rebuild_envs, run_id=settings.run_id),
        keep_workspaces=settings.keep_workspaces,
        workspace_parent=settings.workspace_dir or default_workspace_parent(keep=settings.keep_workspaces),
        taste_config=settings.taste,
        taste_extensions=taste_extensions,
        reviewer=reviewer,
        rubric=settings.rubric,
        sandbox=sandbox,
        session_thresholds=settings.session,
        session_readers=tuple(session_readers),
    )


def wrap_for_testing(grade: GradeFunction, spec: str | None) -> GradeFunction:
    """``grade``, or what the testing wrapper ``spec`` (``FILE.py:NAME``) makes of it."""
    if not spec:
        return grade
    path, _, name = spec.rpartition(":")
    loaded = (
        importlib.util.spec_from_file_location(f"_proofswe_testing_{abs(hash(spec))}", path)
        if name and Path(path).is_file()
        else None
    )
    if loaded is None or loaded.loader is None:
        raise ValueError(f"${TESTING_WRAPPER_VAR}={spec!r}: expected FILE.py:NAME of an existing file")
    module = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(module)
    wrapped: GradeFunction = getattr(module, name)(grade)
    return wrapped


def error_result(request: GradeRequest, reason: str, *, duration_s: float = 0.0) -> GradeResult:
    """The ``error`` result of a grading that could not be made (not the agent's failure)."""
    from .result import BehaviourResult, GradeResult, PatchSummary, Proof

    return GradeResult(
        task=request.task.id,
        submission=request.submission.name,
        behaviour=BehaviourResult("error", reason=reason),
        patch=PatchSummary(sha256=""),
        proof=Proof(),
        duration_s=duration_s,
    )


_node_lock = threading.Lock()
_node_grader: tuple[GraderSettings, GradeFunction] | None = None


def _node_grade_function(settings: GraderSettings) -> GradeFunction:
    """This process's grading function for ``settings``, made on first use (environments stay memoised)."""
    global _node_grader
    with _node_lock:
        if _node_grader is None or _node_grader[0] != settings:
            grader = build_grader(settings)
            _node_grader = (settings, wrap_for_testing(grader, settings.testing_wrapper))
        return _node_grader[1]


def grade_on_node(request: GradeRequest, settings: GraderSettings) -> GradeResult:
    """Grade ``request`` here, with a Grader made from ``settings``: what a Ray task runs."""
    from .errors import ProofsweError

    started = time.monotonic()
    node = socket.gethostname()
    missing = [
        f"{what} {path}"
        for what, path in (("the task folder", request.task.root), ("the cache folder", settings.cache_dir))
        if not path.is_dir()
    ]
    if missing:
        return error_result(
            request,
            f"node {node} cannot grade: {' and '.join(missing)} is not there (fix: give every node the tasks "
            "and the cache at the same paths as the controller, e.g. a shared file system; docs/scale.md)",
            duration_s=time.monotonic() - started,
        )
    try:
        grade = _node_grade_function(settings)
    except ProofsweError as exc:  # e.g. --proofswe-sandbox=bwrap where bubblewrap cannot work
        return error_result(request, f"node {node} cannot grade: {exc}", duration_s=time.monotonic() - started)
    return grade(request)
