"""Stepped tasks: each step's patch graded on top of the state the submission's previous steps left.

Step k of a submission is an ordinary grading (:func:`.grading.grade`) of a task whose
base state is the task's base with the submission's patches 1 .. k-1 applied, whose
issue and hidden tests are step k's, and whose submission is patch k. Its environment is
the task's, built once from the task's base (a step cannot add a dependency). After the
gradings, :func:`.decay.measure` compares each state with the one before it.

A step whose patch does not apply leaves no state for the next ones: they are
``patch_failed`` with a reason saying so, and the decay covers the steps before it.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ProofsweError
from ..grading import Grader, GradeRequest
from ..harness.environment import Environment
from ..harness.patch import PatchRejected, apply_patch, parse_patch
from ..harness.verdict import Status
from ..harness.workspace import Base, new_workspace, remove_tree
from ..result import BehaviourResult, GradeResult, PatchSummary, Proof
from ..task import EnvironmentSpec, RepoSource, StepSpec, Submission, Task
from .decay import MAX_FILE_BYTES, DecayGate, DecayTrend, StepInfo, content_key, measure

__all__ = ["SteppedResult", "grade_stepped", "step_task"]

_SKIP_DIRS = {".git", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".tox", ".nox", ".venv"}


@dataclass(frozen=True)
class SteppedResult:
    """Every step of one submission of a stepped task, and the decay across them."""

    task: str
    submission: str
    steps: tuple[StepSpec, ...]
    results: tuple[GradeResult, ...]  # one per step, in order
    trend: DecayTrend | None  # None when not even the first step applied
    duration_s: float = 0.0

    def gate(self, max_decay: float | None) -> DecayGate | None:
        if max_decay is None or self.trend is None:
            return None
        return self.trend.gate(max_decay)

    def step_json(self, index: int) -> dict[str, Any]:
        """What a step's result adds to its row of the report: which step it is, and its decay."""
        step = self.steps[index]
        decay = None
        if self.trend is not None and index < len(self.trend.steps):
            decay = self.trend.steps[index].to_json()
        return {
            "step": {"task": self.task, "id": step.id, "index": step.index, "of": len(self.steps), "title": step.title},
            "decay": decay,
        }

    def to_json(self, max_decay: float | None = None) -> dict[str, Any]:
        gate = self.gate(max_decay)
        return {
            "task": self.task,
            "submission": self.submission,
            "steps": [
                {"id": s.id, "title": s.title, "status": r.behaviour.status}
                for s, r in zip(self.steps, self.results, strict=True)
            ],
            "decay": self.trend.to_json() if self.trend is not None else None,
            "gate": gate.to_json() if gate is not None else None,
            "duration_s": round(self.duration_s, 3),
        }


class _TaskEnvironment:
    """Gives every step the environment of the task's base state, built once (see the module's docstring)."""

    def __init__(self, inner: Any, base: Base) -> None:
        self.inner = inner
        self.base = base

    def get(self, spec: EnvironmentSpec, base: Base, *, need_pytest: bool = True) -> Environment:
        env: Environment = self.inner.get(spec, self.base, need_pytest=need_pytest)
        return env

    def key_for(self, spec: EnvironmentSpec, base: Base, *, need_pytest: bool) -> str:
        key: str = self.inner.key_for(spec, self.base, need_pytest=need_pytest)
        return key


def step_task(task: Task, step: StepSpec, state: Path) -> Task:
    """The ordinary task that step ``step`` of ``task`` is, on the state folder ``state``."""
    return dataclasses.replace(
        task,
        id=f"{task.id}.{step.id}",
        title=step.title or task.title,
        repo=RepoSource("path", path=state),
        tests=step.tests,
        issue_path=step.issue_path,
        hidden_tests_dir=step.hidden_tests_dir,
        hidden_tests_diff=step.hidden_tests_diff,
        gold_diff=step.gold_diff,
        steps=(),
    )


def _python_files(root: Path, texts: dict[str, str], excluded: Callable[[str], bool]) -> dict[str, str]:
    """path -> content key of the Python files under ``root`` (their texts go into ``texts``)."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for name in filenames:
            if not name.endswith(".py"):
                continue
            full = Path(dirpath, name)
            rel = full.relative_to(root).as_posix()
            if excluded(rel) or full.is_symlink() or full.stat().st_size > MAX_FILE_BYTES:
                continue
            text = full.read_bytes().decode("utf-8", errors="replace")
            key = content_key(text)
            texts[key] = text
            out[rel] = key
    return out


def _failed(
    task: Task, step: StepSpec, submission: Submission, reason: str, status: Status = "patch_failed"
) -> GradeResult:
    return GradeResult(
        task=f"{task.id}.{step.id}",
        submission=submission.name,
        behaviour=BehaviourResult(status, reason=reason),
        patch=PatchSummary(sha256=""),
        proof=Proof(),
        duration_s=0.0,
        meta=dict(submission.meta),
    )


def grade_stepped(task: Task, submission: Submission, grader: Grader) -> SteppedResult:
    """Grade every step of ``submission`` in order, then the decay between the states they left."""
    from ..taste.repo import repo_facts

    started = time.monotonic()
    try:
        base = grader.bases.base_for(task)
    except ProofsweError as exc:  # the task's base cannot be built: every step is an error
        errors = tuple(_failed(task, s, submission, str(exc), "error") for s in task.steps)
        return SteppedResult(task.id, submission.name, task.steps, errors, None, time.monotonic() - started)
    step_grader = dataclasses.replace(grader, envs=_TaskEnvironment(grader.envs, base))
    config = grader.taste_config.merged(task.taste, str(task.toml_path))
    patches = dict(submission.step_patches)
    results: list[GradeResult] = []
    texts: dict[str, str] = {}
    states = [_python_files(base.tree, texts, config.excluded)]
    infos: list[StepInfo] = []
    scratch = Path(tempfile.mkdtemp(prefix=f"proofswe-steps-{task.id}-"[:60], dir=grader.workspace_parent))
    state: Path | None = base.tree
    try:
        for step in task.steps:
            if state is None:
                results.append(
                    _failed(
                        task, step, submission, "an earlier step's patch did not apply: no state to apply this one to"
                    )
                )
                continue
            text = patches[step.id].read_bytes().decode("utf-8", errors="surrogateescape")
            this = step_task(task, step, state)
            sub = dataclasses.replace(submission, origin="folder", patch_text=text, patch_path=patches[step.id])
            results.append(step_grader(GradeRequest(this, sub)))
            # The state the next step starts from: this patch applied to this step's base, as the agent left it.
            try:
                workspace = new_workspace(step_grader.bases.base_for(this), scratch, label=step.id)
                apply_patch(parse_patch(text, max_mb=task.tests.max_patch_mb), workspace)
            except PatchRejected:
                state = None
                continue
            except ProofsweError as exc:  # the harness could not make the state: the next steps cannot run
                state, broken = None, str(exc)
                results += [_failed(task, s, submission, broken, "error") for s in task.steps[len(results) :]]
                break
            state = workspace
            states.append(_python_files(workspace, texts, config.excluded))
            infos.append(StepInfo(step.id, step.title, submission.name))
        trend = None
        if infos:
            facts = repo_facts(base.tree)
            ruff = (facts.ruff_config, facts.ruff_config_name) if facts.ruff_config is not None else None
            trend = measure(states, infos, texts.get, ruff_config=ruff)
    finally:
        remove_tree(scratch)
    return SteppedResult(
        task.id, submission.name, task.steps, tuple(results), trend, duration_s=time.monotonic() - started
    )
