"""The grading pipeline for one (task, submission): a function of its inputs.

``grade`` knows nothing of pytest. It takes its collaborators (the base store and the
environment manager) as arguments, so a run can hand it to any executor, and a test
can pass fakes. An agent's failure comes back as a result with a status; only a
programming error escapes, and even that is caught by :func:`grade_safely`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, Protocol, TypeVar

from .errors import ProofsweError
from .git import git
from .harness import guard, patch, runner
from .harness.canary import Canary
from .harness.canary import plant as plant_canary
from .harness.environment import Environment
from .harness.layout import LayoutBroken, check_layout
from .harness.sandbox import Sandbox
from .harness.skips import untrusted_skips
from .harness.verdict import Status, TestGroup, decide
from .harness.workspace import Base, hash_tree, new_workspace, remove_tree
from .harness.xfailmarks import xfail_marked
from .result import BehaviourResult, GradeResult, PatchSummary, Proof
from .review import Reviewer, ReviewResult
from .review.rubric import RubricError, load_rubric
from .session import SessionResult, grade_session
from .task import EnvironmentSpec, Submission, Task
from .taste import FileText, TasteConfig, TasteExtensions, TasteInput, TasteResult, grade_taste
from .taste.repo import repo_facts, sources

__all__ = [
    "STAGES",
    "BaseProvider",
    "EnvironmentProvider",
    "GradeRequest",
    "Grader",
    "grade",
    "grade_safely",
    "task_sha256",
]


@dataclass(frozen=True)
class GradeRequest:
    task: Task
    submission: Submission
    allow_empty: bool = False  # the empty patch of --proofswe-validate
    probe: bool = False  # an internal run of the base state: never probes again


class BaseProvider(Protocol):
    """Gives the cached base state of a task (:class:`.workspace.BaseStore`)."""

    def base_for(self, task: Task) -> Base: ...


class EnvironmentProvider(Protocol):
    """Gives a built environment for a task (:class:`.environment.EnvironmentManager`)."""

    def get(self, spec: EnvironmentSpec, base: Base, *, need_pytest: bool = True) -> Environment: ...

    def key_for(self, spec: EnvironmentSpec, base: Base, *, need_pytest: bool) -> str:
        """The environment's key, without building it (for the result cache)."""
        ...


@dataclass
class Grader:
    """The collaborators a grading needs; one per process."""

    bases: BaseProvider
    envs: EnvironmentProvider
    keep_workspaces: bool = False
    workspace_parent: Path | None = None
    taste_config: TasteConfig = dataclasses.field(default_factory=TasteConfig)
    taste_extensions: TasteExtensions | None = None
    reviewer: Reviewer | None = None  # None: no model configured
    session_thresholds: dict[str, Any] = dataclasses.field(default_factory=dict)  # [tool.proofswe.session]
    session_readers: tuple[Any, ...] = ()  # readers from the pytest_proofswe_session_reader hook
    rubric: str = "taste"  # the default rubric (a name or an absolute path); a task's [review] rubric wins
    sandbox: Sandbox | None = None  # where the hidden tests run (None: unsandboxed, see .sandbox.NoSandbox)
    # (task id, environment key) -> whether the base state runs any selected test
    _base_runs: dict[tuple[str, str], tuple[bool, tuple[dict[str, object], ...]]] = dataclasses.field(
        default_factory=dict
    )
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    def __call__(self, request: GradeRequest) -> GradeResult:
        return grade_safely(request, self)

    def base_runs_tests(self, task: Task, env_key: str) -> tuple[bool, tuple[dict[str, object], ...]]:
        """Whether any selected test runs at the base state (the empty patch), once per task.

        Also the commands that probe ran, marked ``"stage": "base-probe"``, for the proof
        of the result it decides.
        """
        key = (task.id, env_key)
        with self._lock:
            known = self._base_runs.get(key)
        if known is None:
            probe = grade(
                GradeRequest(task, Submission("base-probe", "empty", patch_text=""), allow_empty=True, probe=True), self
            )
            commands = tuple({**c, "stage": "base-probe"} for c in probe.proof.commands)
            known = (bool(probe.behaviour.tests_run), commands)
            with self._lock:
                self._base_runs[key] = known
        return known


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def hidden_tests_sha256(task: Task) -> str:
    if task.hidden_tests_dir is not None:
        return hash_tree(task.hidden_tests_dir)
    if task.hidden_tests_diff is not None:
        return _sha(task.hidden_tests_diff.read_bytes())
    return ""


def task_sha256(task: Task, base_sha: str) -> str:
    """Content hash of what defines the task: task.toml, issue, hidden tests, base."""
    digest = hashlib.sha256()
    for part in (task.toml_path, task.issue_path):
        digest.update(part.read_bytes() if part is not None and part.is_file() else b"")
        digest.update(b"\0")
    digest.update(hidden_tests_sha256(task).encode() + b"\0" + base_sha.encode())
    return digest.hexdigest()


def _overlay_hidden_tests(task: Task, workspace: Path, base_commit: str, changed: set[str]) -> list[dict[str, object]]:
    """Lay the hidden tests over ``workspace``; ``changed`` are the paths the submission touched."""
    commands: list[dict[str, object]] = []
    if task.hidden_tests_dir is not None:
        for src in sorted(task.hidden_tests_dir.rglob("*")):
            if src.is_dir() or "__pycache__" in src.parts or src.suffix == ".pyc":
                continue
            rel = src.relative_to(task.hidden_tests_dir).as_posix()
            check_layout(workspace, [rel])
            # The file is replaced whole, and never written through a symlink of the
            # submission (in its place or in place of a folder on the way).
            guard.place_file(workspace, rel, src.read_bytes())
    elif task.hidden_tests_diff is not None:
        text = task.hidden_tests_diff.read_text(encoding="utf-8", errors="surrogateescape")
        try:
            parsed = patch.parse_patch(text)
        except patch.PatchRejected as exc:
            raise ProofsweError(
                f"{task.hidden_tests_diff}: {exc.describe()} (fix: regenerate the hidden tests diff)"
            ) from None
        for rel in parsed.paths:
            guard.real_parents(workspace, rel)  # git apply must not meet a symlinked folder either
            if rel in changed:  # the others are still at the base state
                guard.restore(workspace, rel, rev=base_commit)
        check_layout(workspace, parsed.paths)  # what restoring did not repair
        diff_file = workspace.parent / "hidden_tests.diff"
        diff_file.write_text(parsed.text, encoding="utf-8", errors="surrogateescape")
        result = git(["apply", "--whitespace=nowarn", "--binary", str(diff_file)], cwd=workspace, check=False)
        commands.append(result.record(cwd_label="<workspace>").to_json())
        if not result.ok:
            raise ProofsweError(
                f"{task.hidden_tests_diff} does not apply to the base state: {result.tail(4)} "
                "(fix: regenerate it against the task's base state)"
            )
    return commands


def _hidden_files(task: Task) -> list[str]:
    """The paths the hidden tests write in a workspace."""
    if task.hidden_tests_dir is not None:
        return [p.relative_to(task.hidden_tests_dir).as_posix() for p in task.hidden_tests_dir.rglob("*.py")]
    if task.hidden_tests_diff is not None:
        try:
            return list(patch.parse_patch(task.hidden_tests_diff.read_text(encoding="utf-8", errors="replace")).paths)
        except patch.PatchRejected:
            return []  # the overlay says what is wrong with it
    return []


def _overlay_artefacts(env_src: Path, artefacts: tuple[str, ...], workspace: Path) -> None:
    for rel in artefacts:
        src = env_src / rel
        if not src.is_file():
            continue
        dest = guard.real_parents(workspace, rel)
        if dest.exists() or dest.is_symlink():
            continue
        shutil.copy2(src, dest)


def _read_text(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def _file_texts(parsed: patch.ParsedPatch, base_tree: Path, workspace: Path) -> tuple[FileText, ...]:
    """Each file of the patch with its text at the base state and after the patch."""
    out = []
    for f in parsed.files:
        base_text = None if f.source_path is None or f.binary else _read_text(base_tree / f.source_path)
        head_text = None if f.target_path is None or f.binary else _read_text(workspace / f.target_path)
        out.append(
            FileText(
                path=f.path,
                kind=f.kind,
                base=base_text,
                head=head_text,
                hunks=f.hunks,
                old_path=f.source_path if f.kind == "rename" else None,
                binary=f.binary,
            )
        )
    return tuple(out)


def _grade_taste(request: GradeRequest, grader: Grader, base: Base, change: _Change) -> TasteResult:
    """Stage taste: the static grade of the applied patch."""
    task = request.task
    gold_text = task.gold_diff.read_text(encoding="utf-8", errors="replace") if task.gold_diff else ""
    gold_paths: frozenset[str] | None = None
    if gold_text.strip():
        try:
            gold_paths = frozenset(patch.parse_patch(gold_text).paths)
        except patch.PatchRejected:
            gold_paths = None
    facts = repo_facts(base.tree)
    data = TasteInput(
        files=change.texts,
        gold_paths=gold_paths,
        gold_text=gold_text if gold_paths is not None else "",
        neutralised=tuple(n.to_json() for n in change.neutralised),
        test_files_edited=change.test_files,
        sources=sources(base.tree),
        **facts.taste_fields(),
    )
    config = grader.taste_config.merged(task.taste, str(task.toml_path))
    return grade_taste(
        data, config, task=task.id, submission=request.submission.name, extensions=grader.taste_extensions
    )


def _session(request: GradeRequest, grader: Grader, final_paths: tuple[str, ...] | None) -> SessionResult | None:
    """Stage session: the grade of the submission's transcript, or None without one."""
    sub = request.submission
    if sub.session_path is None or request.probe:
        return None
    return grade_session(
        sub.session_path,
        thresholds={**grader.session_thresholds, **request.task.session},
        final_patch_paths=list(final_paths) if final_paths is not None else None,
        extra_readers=grader.session_readers,
    )


NO_MODEL = (
    "no reviewer model configured: set --proofswe-model, or model in [tool.proofswe] "
    "(any litellm model name, e.g. openai/gpt-4o-mini or anthropic/claude-sonnet-4-5)"
)


def _review(request: GradeRequest, grader: Grader, parsed: patch.ParsedPatch, taste: TasteResult) -> ReviewResult:
    """Stage review: the reviewer's grade of the applied patch (skipped without a model)."""
    if grader.reviewer is None:
        return ReviewResult("skipped", reason=NO_MODEL)
    task = request.task
    own = task.review.get("rubric")
    try:
        # A task's own rubric is relative to its folder; the run's was made absolute by Settings.
        rubric = load_rubric(str(own), base=task.root) if own else load_rubric(grader.rubric)
    except RubricError as exc:
        return ReviewResult("error", reason=str(exc))
    issue = task.issue_path.read_text(encoding="utf-8", errors="replace") if task.issue_path else task.title
    static = [f.render() for f in taste.findings if f.penalty > 0]
    config = grader.taste_config.merged(task.taste, str(task.toml_path))
    review = grader.reviewer.review(
        rubric, issue, parsed.files, static, exclude=config.excluded, checklist=task.checklist
    )
    unmet = review.checklist_unmet
    if unmet and not task.checklist_only and review.passed:
        # With hidden tests the checklist is part of the review: an item not met fails it.
        # (Without them it is the behaviour's oracle instead: see _checklist_verdict.)
        why = f"checklist: {len(unmet)} of {len(review.checklist)} item(s) not met: " + "; ".join(
            repr(c["item"]) for c in unmet
        )
        review = dataclasses.replace(review, passed=False, reason="; ".join(filter(None, [review.reason, why])))
    return review


def _checklist_verdict(request: GradeRequest, behaviour: _Behaviour, review: ReviewResult | None) -> _Behaviour:
    """Stage verdict of a task without hidden tests: its checklist, answered by the reviewer, decides.

    ``resolved`` when every item is met (yes, with a quote that is in the diff), ``partial``
    when some are, ``unresolved`` when none is; ``error`` when the checklist could not be
    answered (no reviewer model, a failed or unscorable review): the harness's failure, not the
    agent's. A patch that did not apply stays ``patch_failed``.
    """
    result = behaviour.result
    if result.status == "patch_failed":
        return behaviour
    status: Status
    if request.submission.origin == "empty" or behaviour.change is None:
        status, reason = "unresolved", "the empty patch: the checklist has nothing to find in it"
    elif review is None or review.status not in ("scored", "unstable"):
        why = review.reason if review is not None else "no review was made"
        if review is not None and review.status == "skipped" and review.reason == NO_MODEL:
            why = "no reviewer model is configured (fix: set --proofswe-model, or model in [tool.proofswe])"
        status = "error"
        reason = (
            f"this task has no hidden tests: its [review] checklist decides, and could not be answered: "
            f"review {review.status if review is not None else 'missing'}: {why}"
        )
    else:
        met = [c for c in review.checklist if c["met"]]
        status = "resolved" if len(met) == len(review.checklist) else ("partial" if met else "unresolved")
        lines = [f"checklist: {len(met)} of {len(review.checklist)} item(s) met (the reviewer's yes/no, with evidence)"]
        for c in review.checklist_unmet:
            unverified = " (its quotes are not in the diff)" if c["answer"] == "yes" else ""
            lines.append(f"  not met: {c['item']}: {c['answer']}{unverified}: {c['rationale']}".rstrip(": "))
        reason = "\n".join(lines) if status != "resolved" else ""
    return dataclasses.replace(behaviour, result=dataclasses.replace(result, status=status, reason=reason))


def _failure_text(verdict_f2p: TestGroup, verdict_p2p: TestGroup) -> str:
    lines: list[str] = []
    for title, group in (("FAIL_TO_PASS", verdict_f2p), ("PASS_TO_PASS", verdict_p2p)):
        if group.failed:
            lines.append(f"{title} failed ({len(group.failed)} of {group.total}):")
            for test_id in group.failed[:20]:
                reason = group.reasons.get(test_id, "")
                first, *rest = reason.splitlines() or [""]
                lines.append(f"  {test_id}: {first}")
                lines.extend(f"      {ln}" for ln in rest[:3])
            if len(group.failed) > 20:
                lines.append(f"  ... and {len(group.failed) - 20} more")
    return "\n".join(lines)


# --- the pipeline --------------------------------------------------------------------------

STAGES = (
    "base",
    "hash",
    "parse",
    "workspace",
    "patch",
    "environment",
    "guard",
    "overlay",
    "tests",
    "verdict",
    "taste",
    "review",
    "session",
)

_P = ParamSpec("_P")
_R = TypeVar("_R")


class _Stages:
    """The one place that times the stages of a grading (as pytest's ``CallInfo`` times a phase)."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.timings: dict[str, float] = {}

    def call(self, when: str, func: Callable[_P, _R], /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        """``func(*args, **kwargs)`` as the stage ``when``: timed also when it ends the grading early."""
        assert when in STAGES, f"unknown stage {when!r}"
        start = time.monotonic()
        try:
            return func(*args, **kwargs)
        finally:
            self.timings[when] = self.timings.get(when, 0.0) + (time.monotonic() - start)


class _PatchFailed(Exception):
    """Stages parse and patch: the patch did not parse or apply. The behaviour is ``patch_failed``."""

    def __init__(self, rejected: patch.PatchRejected, parsed: patch.ParsedPatch | None = None) -> None:
        super().__init__(rejected.describe())
        self.reason = rejected.describe()
        self.parsed = parsed  # None when it did not parse
        self.commands = tuple(c.to_json() for c in rejected.commands)  # the attempts to apply it

    def behaviour(self, proof: Proof) -> _Behaviour:
        return _Behaviour(
            BehaviourResult("patch_failed", reason=self.reason),
            dataclasses.replace(proof, commands=self.commands),
            _summary(proof.patch_sha256, self.parsed),
            paths=self.parsed.paths if self.parsed is not None else None,
        )


class _TestsNotRun(Exception):
    """Before the tests stage: no environment, hidden tests that do not apply, a layout the submission broke."""

    def __init__(self, reason: str, status: Status = "error") -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status  # "unresolved" when the submission is to blame (a broken layout)


@dataclass(frozen=True)
class _Change:
    """The applied patch, as the taste and review stages judge it."""

    parsed: patch.ParsedPatch
    texts: tuple[FileText, ...]
    neutralised: tuple[guard.Neutralised, ...]
    test_files: tuple[str, ...]


@dataclass(frozen=True)
class _Behaviour:
    """What the behaviour stages (parse to verdict) give the rest of the grading."""

    result: BehaviourResult
    proof: Proof
    patch: PatchSummary
    paths: tuple[str, ...] | None = None  # the patch's paths, for the session; None: it did not parse, or is empty
    change: _Change | None = None  # None when the patch did not apply (or is the empty patch)
    workspace: str | None = None  # where the workspace was kept


def grade(request: GradeRequest, grader: Grader) -> GradeResult:
    """Grade one submission: its behaviour (parse to verdict), then taste, review and session."""
    sub = request.submission
    stages = _Stages()
    patch_text = sub.read_patch() if sub.problem is None else ""
    patch_sha = _sha(patch_text.encode("utf-8", "surrogateescape"))
    if sub.problem is not None:  # nothing to grade: no stage runs
        problem = BehaviourResult("error", reason=sub.problem)
        return _result(request, stages, _Behaviour(problem, Proof(patch_sha256=patch_sha), PatchSummary(patch_sha)))

    base = stages.call("base", grader.bases.base_for, request.task)
    proof = stages.call("hash", _proof, request.task, base, patch_sha)
    try:
        behaviour = _grade_behaviour(request, grader, stages, base, patch_text, proof)
    except _PatchFailed as failed:
        behaviour = failed.behaviour(proof)
    change = behaviour.change
    taste: TasteResult | None = None
    review: ReviewResult | None = None
    if change is not None and not request.probe and sub.origin != "empty":
        taste = stages.call("taste", _grade_taste, request, grader, base, change)
        review = stages.call("review", _review, request, grader, change.parsed, taste)
    if request.task.checklist_only:
        behaviour = stages.call("verdict", _checklist_verdict, request, behaviour, review)
    session = stages.call("session", _session, request, grader, behaviour.paths)
    behaviour = dataclasses.replace(behaviour, patch=dataclasses.replace(behaviour.patch, text=patch_text))
    return _result(request, stages, behaviour, taste=taste, review=review, session=session)


def _grade_behaviour(
    request: GradeRequest, grader: Grader, stages: _Stages, base: Base, patch_text: str, proof: Proof
) -> _Behaviour:
    """The behaviour stages, parse to verdict, in a workspace removed afterwards unless kept."""
    task = request.task
    parsed = stages.call("parse", _parse, patch_text, allow_empty=request.allow_empty, max_mb=task.tests.max_patch_mb)
    paths = parsed.paths if parsed is not None else None
    keep = grader.keep_workspaces and not request.probe
    label = f"{task.id}-{request.submission.name}"[:60]
    workspace = stages.call("workspace", new_workspace, base, grader.workspace_parent, label=label)
    try:
        applied = stages.call("patch", _apply, parsed, workspace, base.tree, proof.patch_sha256)
        if task.checklist_only:  # no test run: the review's checklist decides (grade, _checklist_verdict)
            guarded = stages.call("guard", _guard, task, workspace, applied.changed, None, base.tree)
            change = None if parsed is None else _Change(parsed, applied.texts, guarded.neutralised, guarded.test_files)
            pending = BehaviourResult(
                "error",
                reason="decided by the checklist",
                neutralised=tuple(n.to_json() for n in guarded.neutralised),
                test_files_edited=guarded.test_files,
                oracle="checklist",
            )
            proof = dataclasses.replace(proof, commands=applied.commands)
            return _Behaviour(
                pending, proof, applied.summary, paths, change, workspace=str(workspace) if keep else None
            )
        setup = stages.call("environment", _environment, task, grader.envs, base)
        guarded = stages.call("guard", _guard, task, workspace, applied.changed, setup.env, base.tree)
        change = None if parsed is None else _Change(parsed, applied.texts, guarded.neutralised, guarded.test_files)
        recorded = BehaviourResult(  # what the guard found; the status and reason come later
            "error",
            neutralised=tuple(n.to_json() for n in guarded.neutralised),
            test_files_edited=guarded.test_files,
        )
        proof = dataclasses.replace(proof, environment=setup.record, commands=applied.commands)
        try:
            result, proof = _run_hidden_tests(request, grader, stages, workspace, base, applied, setup, recorded, proof)
        except _TestsNotRun as exc:  # no tests ran: the workspace is not reported, even when kept
            result = dataclasses.replace(recorded, status=exc.status, reason=exc.reason)
            return _Behaviour(result, proof, applied.summary, paths, change)
        return _Behaviour(result, proof, applied.summary, paths, change, workspace=str(workspace) if keep else None)
    finally:
        if not keep:
            remove_tree(workspace.parent)


def _run_hidden_tests(
    request: GradeRequest,
    grader: Grader,
    stages: _Stages,
    workspace: Path,
    base: Base,
    applied: _Applied,
    setup: _Setup,
    recorded: BehaviourResult,
    proof: Proof,
) -> tuple[BehaviourResult, Proof]:
    """The stages overlay, tests and verdict: the behaviour, and the proof with what they ran."""
    task = request.task
    if setup.env is None:
        raise _TestsNotRun(setup.error)
    env = setup.env
    overlaid = stages.call("overlay", _overlay, request, env, workspace, base.commit, applied.changed)
    run = stages.call(
        "tests",
        runner.run_tests,
        task.tests,
        env,
        workspace,
        extra=overlaid.canary.ids if overlaid.canary else (),
        sandbox=grader.sandbox,
        hidden=(task.root,),
        sandbox_spec=task.sandbox,
    )
    environment = {**setup.record, "sandbox": dict(run.isolation)}
    proof = dataclasses.replace(
        proof,
        environment=environment,
        commands=(*applied.commands, *overlaid.commands, run.command.to_json()),
        canary=overlaid.canary_record,
    )
    judged = stages.call(
        "verdict", _verdict, request, grader, env, workspace, base, run, overlaid.canary, recorded, applied.parsed
    )
    return judged.result, dataclasses.replace(proof, commands=(*proof.commands, *judged.commands))


def _result(
    request: GradeRequest,
    stages: _Stages,
    behaviour: _Behaviour,
    *,
    taste: TasteResult | None = None,
    review: ReviewResult | None = None,
    session: SessionResult | None = None,
) -> GradeResult:
    return GradeResult(
        taste=taste,
        review=review,
        session=session,
        task=request.task.id,
        submission=request.submission.name,
        behaviour=behaviour.result,
        patch=behaviour.patch,
        proof=behaviour.proof,
        duration_s=time.monotonic() - stages.started,
        timings=stages.timings,
        workspace=behaviour.workspace,
        meta=dict(request.submission.meta),
    )


# --- the stages, in order ------------------------------------------------------------------


def _proof(task: Task, base: Base, patch_sha: str) -> Proof:
    """Stage hash: what proves the result, before any command has run."""
    return Proof(
        task_sha256=task_sha256(task, base.sha256),
        patch_sha256=patch_sha,
        hidden_tests_sha256=hidden_tests_sha256(task),
        base=base.label,
        base_sha256=base.sha256,
    )


def _parse(patch_text: str, *, allow_empty: bool, max_mb: float) -> patch.ParsedPatch | None:
    """Stage parse: the submission's patch; None for the empty patch of --proofswe-validate."""
    if allow_empty and not patch_text.strip():
        return None
    try:
        return patch.parse_patch(patch_text, max_mb=max_mb)
    except patch.PatchRejected as exc:
        raise _PatchFailed(exc) from None


def _summary(patch_sha: str, parsed: patch.ParsedPatch | None) -> PatchSummary:
    return PatchSummary(sha256=patch_sha, files=tuple((f.kind, f.path) for f in parsed.files) if parsed else ())


@dataclass(frozen=True)
class _Applied:
    """Stage patch: the patch in the workspace, and each of its files' text before and after."""

    parsed: patch.ParsedPatch | None
    summary: PatchSummary
    changed: tuple[tuple[str, str], ...] = ()  # (status, path) of every file that differs from the base
    texts: tuple[FileText, ...] = ()
    commands: tuple[dict[str, object], ...] = ()


def _apply(parsed: patch.ParsedPatch | None, workspace: Path, base_tree: Path, patch_sha: str) -> _Applied:
    """Stage patch: apply the patch to the workspace under the path policy (see patch.py)."""
    if parsed is None:
        return _Applied(None, PatchSummary(sha256=patch_sha))
    try:
        outcome = patch.apply_patch(parsed, workspace)
    except patch.PatchRejected as exc:
        raise _PatchFailed(exc, parsed) from None
    summary = dataclasses.replace(_summary(patch_sha, parsed), applied_with=outcome.method, attempts=outcome.attempts)
    return _Applied(
        parsed,
        summary,
        # Walked, not asked of git: a .gitignore of the submission hides files from git status.
        changed=tuple(guard.tree_changes(workspace, base_tree)),
        texts=_file_texts(parsed, base_tree, workspace),
        commands=tuple(c.to_json() for c in outcome.commands),
    )


@dataclass(frozen=True)
class _Setup:
    """Stage environment: the task's environment (or why it could not be built), as the proof records it."""

    env: Environment | None
    error: str  # why env is None
    record: Mapping[str, object]


def _environment(task: Task, envs: EnvironmentProvider, base: Base) -> _Setup:
    """Stage environment: a broken one is not an exit yet; the guard and the taste still run."""
    record: dict[str, object] = {"setup": list(task.environment.setup)}
    try:
        env = envs.get(task.environment, base, need_pytest=task.tests.command is None or "pytest" in task.tests.command)
    except ProofsweError as exc:  # the task is broken; the taste of the patch can still be judged
        return _Setup(None, str(exc), record)
    record |= {
        "key": env.key,
        "python": env.python_version,
        "packages": env.key_packages(),
        "reused": env.reused,
        "build_commands": [c.to_json() for c in env.build_commands],
    }
    if env.note:
        record["note"] = env.note
    return _Setup(env, "", record)


@dataclass(frozen=True)
class _Guarded:
    """Stage guard: the files put back, and the test files the submission edited."""

    neutralised: tuple[guard.Neutralised, ...]
    test_files: tuple[str, ...]


def _guard(
    task: Task, workspace: Path, changed: tuple[tuple[str, str], ...], env: Environment | None, base_tree: Path
) -> _Guarded:
    """Stage guard: undo what the submission may not change before the tests run (see guard.py)."""
    neutralised, test_files = guard.neutralise(
        workspace,
        list(changed),
        import_roots=env.import_roots if env else ("",),
        entry_point_plugins=env.entry_point_plugins if env else (),
        installed_names=env.installed_names if env else (),
        base_plugins=guard.base_plugin_modules(base_tree),
        test_paths=guard.hidden_test_paths([*task.tests.fail_to_pass, *task.tests.pass_to_pass], _hidden_files(task)),
    )
    return _Guarded(tuple(neutralised), tuple(test_files))


@dataclass(frozen=True)
class _Overlaid:
    """Stage overlay: the commands it ran, and the canary planted (with what the proof says of it)."""

    commands: tuple[dict[str, object], ...]
    canary: Canary | None
    canary_record: Mapping[str, str]


def _overlay(
    request: GradeRequest, env: Environment, workspace: Path, base_commit: str, changed: tuple[tuple[str, str], ...]
) -> _Overlaid:
    """Stage overlay: the hidden tests, the environment's setup artefacts, then the canary tests."""
    task = request.task
    try:
        commands = _overlay_hidden_tests(task, workspace, base_commit, {p for _s, p in changed})
    except LayoutBroken as exc:  # the submission's doing: not the harness's error
        raise _TestsNotRun(str(exc), status="unresolved") from None
    except ProofsweError as exc:  # the task's hidden tests are broken
        raise _TestsNotRun(str(exc)) from None
    _overlay_artefacts(env.src, env.artefacts, workspace)
    if request.probe:
        return _Overlaid(tuple(commands), None, {})
    canary = plant_canary(task.tests, workspace) if task.tests.canaries else None
    if canary is not None:
        return _Overlaid(tuple(commands), canary, canary.to_json())
    why = "[tests] canaries = false in task.toml" if not task.tests.canaries else "the task's command has no {tests}"
    return _Overlaid(tuple(commands), None, {"none": why})


@dataclass(frozen=True)
class _Judged:
    """Stage verdict: the behaviour, and the commands of the base-state probe when one decided it."""

    result: BehaviourResult
    commands: tuple[dict[str, object], ...] = ()


def _verdict(
    request: GradeRequest,
    grader: Grader,
    env: Environment,
    workspace: Path,
    base: Base,
    run: runner.TestRun,
    canary: Canary | None,
    recorded: BehaviourResult,
    parsed: patch.ParsedPatch | None,
) -> _Judged:
    """Stage verdict: the status from the test run (``recorded`` holds what the guard found)."""
    task = request.task
    common = dataclasses.replace(
        recorded,
        output_tail=run.output_tail,
        test_duration_s=run.duration_s,
        tests_run=len(run.outcomes),
        environment_reused=env.reused,
    )
    if run.timed_out:
        return _Judged(
            dataclasses.replace(
                common,
                status="timeout",
                reason=f"the test command ran out of its {task.tests.timeout:g} s and was killed "
                f"with its whole process group\n--- last lines of its output ---\n{run.output_tail}",
            )
        )
    missing = "not in the test run's results (not collected, or the run stopped early)"
    if not run.junit_found:
        missing = run.junit_problem or (
            f"the test run wrote no JUnit XML (exit code {run.exit_code}), so no test counts as run"
        )
    elif run.collection_errors:
        mods = ", ".join(m for m, _ in run.collection_errors[:3])
        first = (run.collection_errors[0][1].splitlines() or [""])[0]
        missing = f"not run: collection failed in {mods}: {first}"
    xfailed = [o.test_id for o in run.outcomes.values() if o.outcome == "xfailed"]
    verdict = decide(
        task.tests.fail_to_pass,
        task.tests.pass_to_pass,
        run.outcomes,
        missing_reason=missing,
        canaries=canary.expected() if canary else None,
        canary_outcomes=run.extra_outcomes,
        xfail_marked=xfail_marked(xfailed, workspace),
        untrusted_skips=untrusted_skips(
            run.outcomes.values(),
            workspace=workspace,
            base_tree=base.tree,
            laid_by_harness={*_hidden_files(task), *([canary.path] if canary else [])},
            trusted_roots=(env.root, env.python.resolve().parent.parent),
        ),
    )
    reason = _failure_text(verdict.fail_to_pass, verdict.pass_to_pass)
    if verdict.tampered:
        reason = f"{verdict.tampered}\n{reason}".rstrip()
    if not run.junit_found:
        reason += f"\n--- last lines of the test output ---\n{run.output_tail}"
    behaviour = dataclasses.replace(
        common,
        status=verdict.status,
        reason=reason,
        fail_to_pass=verdict.fail_to_pass,
        pass_to_pass=verdict.pass_to_pass,
        canaries=verdict.canaries,
    )
    if run.outcomes or request.probe:
        return _Judged(behaviour)
    # Not one selected test ran. The submission may have broken the imports, or the
    # task's environment is broken: the base state tells which.
    base_ran, probe_commands = grader.base_runs_tests(task, env.key) if parsed is not None else (False, ())
    if base_ran:
        return _Judged(behaviour, probe_commands)
    broken = dataclasses.replace(
        behaviour,
        status="error",
        reason="the task's environment is broken: none of the selected tests runs at the base state "
        "either (fix the [environment] setup, then check with --proofswe-validate)\n" + reason,
    )
    return _Judged(broken, probe_commands)


def grade_safely(request: GradeRequest, grader: Grader) -> GradeResult:
    """:func:`grade`, with our own errors and bugs turned into an ``error`` result."""
    started = time.monotonic()
    try:
        return grade(request, grader)
    except ProofsweError as exc:
        reason = str(exc)
    except Exception as exc:
        reason = f"internal error in pytest-proofswe: {type(exc).__name__}: {exc}\n" + "".join(
            traceback.format_exception(type(exc), exc, exc.__traceback__)[-6:]
        )
    return GradeResult(
        task=request.task.id,
        submission=request.submission.name,
        behaviour=BehaviourResult("error", reason=reason),
        patch=PatchSummary(sha256=""),
        proof=Proof(),
        duration_s=time.monotonic() - started,
    )
