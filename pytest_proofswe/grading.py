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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from . import guard, patch, runner
from .canary import plant as plant_canary
from .environment import Environment
from .errors import ProofsweError
from .git import git
from .layout import LayoutBroken, check_layout
from .result import BehaviourResult, GradeResult, PatchSummary, Proof
from .review import Reviewer, ReviewResult
from .review.rubric import RubricError, load_rubric
from .sandbox import Sandbox
from .session import SessionResult, grade_session
from .task import EnvironmentSpec, Submission, Task
from .taste import FileText, TasteConfig, TasteExtensions, TasteInput, TasteResult, grade_taste
from .taste.repo import repo_facts
from .verdict import TestGroup, decide
from .workspace import Base, hash_tree, new_workspace, remove_tree
from .xfailmarks import xfail_marked

__all__ = ["BaseProvider", "EnvironmentProvider", "GradeRequest", "Grader", "grade", "grade_safely", "task_sha256"]


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
    _base_runs: dict[tuple[str, str], bool] = dataclasses.field(default_factory=dict)
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    def __call__(self, request: GradeRequest) -> GradeResult:
        return grade_safely(request, self)

    def base_runs_tests(self, task: Task, env_key: str) -> bool:
        """Whether any selected test runs at the base state (the empty patch), once per task."""
        key = (task.id, env_key)
        with self._lock:
            known = self._base_runs.get(key)
        if known is None:
            probe = grade(
                GradeRequest(task, Submission("base-probe", "empty", patch_text=""), allow_empty=True, probe=True), self
            )
            known = bool(probe.behaviour.tests_run)
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


def _grade_taste(
    request: GradeRequest,
    grader: Grader,
    base: Base,
    texts: tuple[FileText, ...],
    neutralised: list[guard.Neutralised],
    test_files: list[str],
) -> TasteResult:
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
        files=texts,
        gold_paths=gold_paths,
        gold_text=gold_text if gold_paths is not None else "",
        neutralised=tuple(n.to_json() for n in neutralised),
        test_files_edited=tuple(test_files),
        **facts.taste_fields(),
    )
    config = grader.taste_config.merged(task.taste, str(task.toml_path))
    return grade_taste(
        data, config, task=task.id, submission=request.submission.name, extensions=grader.taste_extensions
    )


def _session(request: GradeRequest, grader: Grader, final_paths: list[str] | None) -> SessionResult | None:
    """The grade of the submission's transcript, or None without one."""
    sub = request.submission
    if sub.session_path is None or request.probe:
        return None
    return grade_session(
        sub.session_path,
        thresholds={**grader.session_thresholds, **request.task.session},
        final_patch_paths=final_paths,
        extra_readers=grader.session_readers,
    )


NO_MODEL = (
    "no reviewer model configured: set --proofswe-model, or model in [tool.proofswe] "
    "(any litellm model name, e.g. openai/gpt-4o-mini or anthropic/claude-sonnet-4-5)"
)


def _review(request: GradeRequest, grader: Grader, parsed: patch.ParsedPatch, taste: TasteResult) -> ReviewResult:
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
    return grader.reviewer.review(rubric, issue, parsed.files, static, exclude=config.excluded)


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


def grade(request: GradeRequest, grader: Grader) -> GradeResult:
    """Grade one submission's behaviour: workspace, patch, guard, hidden tests, verdict."""
    task, sub = request.task, request.submission
    started = time.monotonic()
    timings: dict[str, float] = {}
    commands: list[dict[str, object]] = []
    meta = dict(sub.meta)

    def lap(name: str, since: float) -> float:
        now = time.monotonic()
        timings[name] = timings.get(name, 0.0) + (now - since)
        return now

    patch_text = sub.read_patch() if sub.problem is None else ""
    patch_sha = _sha(patch_text.encode("utf-8", "surrogateescape"))
    summary = PatchSummary(sha256=patch_sha)

    taste: TasteResult | None = None
    review: ReviewResult | None = None
    session: SessionResult | None = None

    def finish(behaviour: BehaviourResult, proof: Proof, workspace: str | None = None) -> GradeResult:
        return GradeResult(
            taste=taste,
            review=review,
            session=session,
            task=task.id,
            submission=sub.name,
            behaviour=behaviour,
            patch=summary,
            proof=proof,
            duration_s=time.monotonic() - started,
            timings=timings,
            workspace=workspace,
            meta=meta,
        )

    if sub.problem is not None:
        return finish(BehaviourResult("error", reason=sub.problem), Proof(patch_sha256=patch_sha))

    t = time.monotonic()
    base = grader.bases.base_for(task)
    t = lap("base", t)
    proof_base = Proof(
        task_sha256=task_sha256(task, base.sha256),
        patch_sha256=patch_sha,
        hidden_tests_sha256=hidden_tests_sha256(task),
        base=base.label,
        base_sha256=base.sha256,
    )
    t = lap("hash", t)

    parsed: patch.ParsedPatch | None = None
    if not (request.allow_empty and not patch_text.strip()):
        try:
            parsed = patch.parse_patch(patch_text, max_mb=task.tests.max_patch_mb)
        except patch.PatchRejected as exc:
            session = _session(request, grader, None)  # the session is graded all the same
            return finish(BehaviourResult("patch_failed", reason=exc.describe()), proof_base)
        summary = PatchSummary(sha256=patch_sha, files=tuple((f.kind, f.path) for f in parsed.files))
    t = lap("parse", t)
    session = _session(request, grader, list(parsed.paths) if parsed is not None else None)
    t = lap("session", t)

    keep = grader.keep_workspaces and not request.probe
    workspace = new_workspace(base, grader.workspace_parent, label=f"{task.id}-{sub.name}"[:60])
    t = lap("workspace", t)
    kept: str | None = None
    try:
        if parsed is not None:
            try:
                outcome = patch.apply_patch(parsed, workspace)
            except patch.PatchRejected as exc:
                t = lap("patch", t)
                tried = dataclasses.replace(proof_base, commands=tuple(c.to_json() for c in exc.commands))
                return finish(BehaviourResult("patch_failed", reason=exc.describe()), tried)
            commands.extend(c.to_json() for c in outcome.commands)
            summary = PatchSummary(
                sha256=patch_sha, files=summary.files, applied_with=outcome.method, attempts=outcome.attempts
            )

        # Walked, not asked of git: a .gitignore of the submission hides files from git status.
        changed = guard.tree_changes(workspace, base.tree) if parsed is not None else []
        texts = _file_texts(parsed, base.tree, workspace) if parsed is not None else ()
        t = lap("patch", t)
        env: Environment | None = None
        env_error: ProofsweError | None = None
        try:
            env = grader.envs.get(
                task.environment, base, need_pytest=task.tests.command is None or "pytest" in task.tests.command
            )
        except ProofsweError as exc:  # the task is broken; the taste of the patch can still be judged
            env_error = exc
        t = lap("environment", t)
        environment: dict[str, object] = {"setup": list(task.environment.setup)}
        if env is not None:
            environment |= {
                "key": env.key,
                "python": env.python_version,
                "packages": env.key_packages(),
                "reused": env.reused,
                "build_commands": [c.to_json() for c in env.build_commands],
            }

        neutralised, test_files = guard.neutralise(
            workspace,
            changed,
            import_roots=env.import_roots if env else ("",),
            entry_point_plugins=env.entry_point_plugins if env else (),
            installed_names=env.installed_names if env else (),
            base_plugins=guard.base_plugin_modules(base.tree),
            test_paths=guard.hidden_test_paths(
                [*task.tests.fail_to_pass, *task.tests.pass_to_pass], _hidden_files(task)
            ),
        )
        t = lap("guard", t)
        if parsed is not None and not request.probe and sub.origin != "empty":
            taste = _grade_taste(request, grader, base, texts, neutralised, test_files)
            t = lap("taste", t)
            review = _review(request, grader, parsed, taste)
            t = lap("review", t)
        recorded = BehaviourResult(
            "error", neutralised=tuple(n.to_json() for n in neutralised), test_files_edited=tuple(test_files)
        )
        proof = dataclasses.replace(proof_base, environment=environment, commands=tuple(commands))
        if env is None:
            assert env_error is not None
            return finish(dataclasses.replace(recorded, reason=str(env_error)), proof)
        try:
            commands.extend(_overlay_hidden_tests(task, workspace, base.commit, {p for _s, p in changed}))
        except LayoutBroken as exc:  # the submission's doing: not the harness's error
            return finish(dataclasses.replace(recorded, status="unresolved", reason=str(exc)), proof)
        except ProofsweError as exc:
            return finish(dataclasses.replace(recorded, reason=str(exc)), proof)
        _overlay_artefacts(env.src, env.artefacts, workspace)
        canary = None if request.probe else plant_canary(task.tests, workspace)
        if canary is not None:
            proof_base = dataclasses.replace(proof_base, canary=canary.to_json())
        t = lap("overlay", t)

        run = runner.run_tests(
            task.tests,
            env,
            workspace,
            extra=canary.ids if canary else (),
            sandbox=grader.sandbox,
            hidden=(task.root,),
            sandbox_spec=task.sandbox,
        )
        timings["tests"] = run.duration_s
        t = time.monotonic()
        commands.append(run.command.to_json())
        environment["sandbox"] = dict(run.isolation)
        proof = dataclasses.replace(proof_base, environment=environment, commands=tuple(commands))
        common = dataclasses.replace(
            recorded,
            output_tail=run.output_tail,
            test_duration_s=run.duration_s,
            tests_run=len(run.outcomes),
            environment_reused=env.reused,
        )
        if run.timed_out:
            behaviour = dataclasses.replace(
                common,
                status="timeout",
                reason=f"the test command ran out of its {task.tests.timeout:g} s and was killed "
                f"with its whole process group\n--- last lines of its output ---\n{run.output_tail}",
            )
        else:
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
            if not run.outcomes and not request.probe:
                # Not one selected test ran. The submission may have broken the imports, or
                # the task's environment is broken: the base state tells which.
                base_ran = grader.base_runs_tests(task, env.key) if parsed is not None else False
                if not base_ran:
                    behaviour = dataclasses.replace(
                        behaviour,
                        status="error",
                        reason="the task's environment is broken: none of the selected tests runs at the base state "
                        "either (fix the [environment] setup, then check with --proofswe-validate)\n" + reason,
                    )
        lap("verdict", t)
        if keep:
            kept = str(workspace)
        return finish(behaviour, proof, kept)
    finally:
        if not keep:
            remove_tree(workspace.parent)


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
