"""The task model: loading and validating ``task.toml``, and finding submissions.

Pure data plus the loaders that read a task folder. Nothing here imports pytest.
The layout and the keys are the user-facing contract (docs/task-format.md).
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .errors import TaskError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

__all__ = [
    "EnvironmentSpec",
    "RepoSource",
    "SandboxSpec",
    "StepSpec",
    "Submission",
    "Task",
    "TestsSpec",
    "agent_of",
    "find_submissions",
    "is_task_dir",
    "load_task",
    "read_toml",
    "split_trial",
]

TASK_FILE = "task.toml"
DEFAULT_TIMEOUT_S = 600.0
DEFAULT_MAX_PATCH_MB = 10.0  # a submission's patch is not parsed past this size
DEFAULT_MAX_JUNIT_MB = 50.0  # nor the JUnit XML its test run wrote
SUBMISSION_PATCH_SUFFIXES = (".diff", ".patch")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+@=,-]*$")
_TRIAL_RE = re.compile(r"^(?P<agent>.+)@(?P<trial>[0-9]+)$")

# The schema of task.toml: a type, or a nested table. ``dict`` means a free-form table
# whose keys are validated by the stage that owns it (taste, review, session).
_STR, _STR_LIST, _STR_MAP, _NUMBER, _TABLE = "string", "list of strings", "table of strings", "number", "table"
_BOOL = "boolean"
_SCHEMA: dict[str, Any] = {
    "id": _STR,
    "title": _STR,
    "repo": {"path": _STR, "git": _STR, "commit": _STR},
    "environment": {"setup": _STR_LIST, "python": _STR, "env": _STR_MAP},
    "tests": {
        "command": _STR,
        "fail_to_pass": _STR_LIST,
        "pass_to_pass": _STR_LIST,
        "deselect": _STR_LIST,
        "timeout": _NUMBER,
        "max_patch_mb": _NUMBER,
        "max_junit_mb": _NUMBER,
        "canaries": _BOOL,
    },
    "sandbox": {
        "memory_mb": _NUMBER,
        "file_size_mb": _NUMBER,
        "processes": _NUMBER,
        "cpu_s": _NUMBER,
        "services": _STR_LIST,
    },
    "taste": _TABLE,
    "review": _TABLE,
    "session": _TABLE,
    # A stepped task (docs/task-format.md#stepped-tasks): a list of tables, each validated with this schema.
    "steps": [{"id": _STR, "title": _STR, "fail_to_pass": _STR_LIST, "pass_to_pass": _STR_LIST}],
}
STEPS_DIR = "steps"


@dataclass(frozen=True)
class RepoSource:
    """Where the base state comes from: a folder of plain files, or a git repository at a commit."""

    kind: Literal["path", "git"]
    path: Path | None = None  # kind == "path": the folder
    git: str | None = None  # kind == "git": a local path (resolved) or a URL
    commit: str | None = None  # kind == "git": the full commit id (resolved at load time)


@dataclass(frozen=True)
class EnvironmentSpec:
    python: str | None = None
    setup: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class TestsSpec:
    __test__ = False  # not a pytest test class

    fail_to_pass: tuple[str, ...]
    pass_to_pass: tuple[str, ...] = ()
    command: str | None = None
    timeout: float = DEFAULT_TIMEOUT_S
    # Tests that must never run (they reach the network, say): passed to pytest as --deselect.
    deselect: tuple[str, ...] = ()
    # Inputs a submission controls are not read past these sizes (MB: millions of characters or bytes).
    max_patch_mb: float = DEFAULT_MAX_PATCH_MB
    max_junit_mb: float = DEFAULT_MAX_JUNIT_MB
    # Canary tests beside the hidden tests (canary.py); off for a task whose own test
    # configuration would stop plain ``test_*`` functions (it is recorded in the proof).
    canaries: bool = True


@dataclass(frozen=True)
class SandboxSpec:
    """``[sandbox]``: rlimit overrides (0: the default) and services started inside the sandbox."""

    memory_mb: int = 0
    file_size_mb: int = 0
    processes: int = 0
    cpu_s: int = 0
    services: tuple[str, ...] = ()

    def limits(self) -> Any:
        """The :class:`.sandbox.Limits` of a test run of this task."""
        from .harness.sandbox import Limits

        default = Limits()
        return Limits(
            memory_mb=self.memory_mb or default.memory_mb,
            file_size_mb=self.file_size_mb or default.file_size_mb,
            processes=self.processes or default.processes,
            cpu_s=self.cpu_s or default.cpu_s,
        )


@dataclass(frozen=True)
class StepSpec:
    """One step of a stepped task: an issue, hidden tests and a patch per submission, on top of the previous step."""

    id: str
    index: int  # 1-based
    title: str
    tests: TestsSpec
    folder: Path  # steps/<id>/
    issue_path: Path | None = None
    hidden_tests_dir: Path | None = None
    hidden_tests_diff: Path | None = None
    gold_diff: Path | None = None


@dataclass(frozen=True)
class Task:
    """One task folder, validated."""

    id: str
    root: Path
    title: str
    repo: RepoSource
    environment: EnvironmentSpec
    tests: TestsSpec
    issue_path: Path | None = None
    hidden_tests_dir: Path | None = None
    hidden_tests_diff: Path | None = None
    gold_diff: Path | None = None
    taste: Mapping[str, Any] = field(default_factory=dict)
    review: Mapping[str, Any] = field(default_factory=dict)
    session: Mapping[str, Any] = field(default_factory=dict)
    sandbox: SandboxSpec = field(default_factory=SandboxSpec)
    # [review] checklist: yes/no items the reviewer answers with evidence from the diff. A task
    # without fail_to_pass is graded by it alone (docs/task-format.md#checklists).
    checklist: tuple[str, ...] = ()
    steps: tuple[StepSpec, ...] = ()  # a stepped task: each step graded on top of the previous one

    @property
    def toml_path(self) -> Path:
        return self.root / TASK_FILE

    @property
    def checklist_only(self) -> bool:
        """No hidden tests: the checklist is the oracle of the behaviour verdict."""
        return not self.tests.fail_to_pass


@dataclass(frozen=True)
class Submission:
    """One graded patch: from ``submissions/``, a predictions file, or the validation pair.

    ``patch_text`` is set when the patch does not live in a file (predictions, the
    empty patch of ``--proofswe-validate``); otherwise ``patch_path`` is read lazily.
    """

    name: str
    origin: Literal["file", "folder", "predictions", "gold", "empty"]
    patch_path: Path | None = None
    patch_text: str | None = None
    folder: Path | None = None
    session_path: Path | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    # A problem found while discovering the submission (no patch.diff, bad meta.toml):
    # the submission still becomes an item, which reports this as an error.
    problem: str | None = None
    # A stepped task's submission: (step id, its patch) in the order of the steps.
    step_patches: tuple[tuple[str, Path], ...] = ()

    def read_patch(self) -> str:
        if self.patch_text is not None:
            return self.patch_text
        if self.patch_path is None:
            return ""
        return self.patch_path.read_bytes().decode("utf-8", errors="surrogateescape")


def split_trial(name: str) -> tuple[str, int | None]:
    """``"claude@3"`` -> ``("claude", 3)``; a name without ``@<n>`` -> ``(name, None)``."""
    match = _TRIAL_RE.match(name)
    if match is None:
        return name, None
    return match["agent"], int(match["trial"])


def agent_of(name: str, meta: Mapping[str, Any] | None = None) -> str:
    """The agent a submission is a trial of (docs/compare.md#agents-and-trials).

    ``agent`` in its meta.toml when that is a non-empty string; else the prediction's
    ``model_name_or_path``; else the submission's name without its ``@<n>`` trial suffix.
    """
    for key in ("agent", "model_name_or_path"):
        value = (meta or {}).get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return split_trial(name)[0]


def is_task_dir(path: Path) -> bool:
    return (path / TASK_FILE).is_file()


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; a syntax error becomes a TaskError naming the line."""
    try:
        with path.open("rb") as fh:
            data: dict[str, Any] = tomllib.load(fh)
            return data
    except tomllib.TOMLDecodeError as exc:
        raise TaskError(
            path, f"is not valid TOML: {exc}", fix="correct the TOML syntax at the position shown"
        ) from None
    except OSError as exc:
        raise TaskError(path, f"cannot be read: {exc.strerror}") from None


def _type_ok(kind: str, value: Any) -> bool:
    if kind == _STR:
        return isinstance(value, str)
    if kind == _STR_LIST:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == _STR_MAP:
        return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    if kind == _NUMBER:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == _TABLE:
        return isinstance(value, dict)
    if kind == _BOOL:
        return isinstance(value, bool)
    raise AssertionError(kind)


def _describe(value: Any) -> str:
    names = {str: "a string", bool: "a boolean", int: "an integer", float: "a number", list: "a list", dict: "a table"}
    return names.get(type(value), type(value).__name__)


def _validate(data: Mapping[str, Any], schema: Mapping[str, Any], path: Path, prefix: str = "") -> None:
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if key not in schema:
            close = difflib.get_close_matches(key, list(schema), n=1)
            hint = f"did you mean '{prefix}{close[0]}'?" if close else f"known keys here: {', '.join(sorted(schema))}"
            raise TaskError(path, f"unknown key '{dotted}'", key=dotted, fix=f"remove it or rename it; {hint}")
        kind = schema[key]
        if isinstance(kind, list):  # an array of tables ([[steps]])
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise TaskError(
                    path,
                    f"'{dotted}' must be a list of tables, got {_describe(value)}",
                    key=dotted,
                    fix=f"write each one as a [[{dotted}]] section",
                )
            for item in value:
                _validate(item, kind[0], path, prefix=f"{dotted}.")
            continue
        if isinstance(kind, dict):
            if not isinstance(value, dict):
                raise TaskError(
                    path,
                    f"'{dotted}' must be a table, got {_describe(value)}",
                    key=dotted,
                    fix=f"write it as a [{dotted}] section",
                )
            _validate(value, kind, path, prefix=f"{dotted}.")
        elif not _type_ok(kind, value):
            example = {
                _STR_LIST: f'{key} = ["..."]',
                _STR_MAP: f'{key} = {{ NAME = "value" }}',
                _STR: f'{key} = "..."',
                _NUMBER: f"{key} = 600",
                _BOOL: f"{key} = false",
            }.get(kind, "")
            raise TaskError(
                path,
                f"'{dotted}' must be {'a ' if kind == _BOOL else ''}{kind}, got {_describe(value)}: {value!r}",
                key=dotted,
                fix=f"write it as {example}" if example else "",
            )


def _git_commit(task_toml: Path, git: str, commit: str) -> str:
    """Resolve ``commit`` in the local repository ``git`` to a full id, or raise TaskError."""
    from . import git as gitmod  # local import: keeps collection of valid tasks cheap to read

    try:
        return gitmod.resolve_commit(git, commit)
    except gitmod.GitError as exc:
        raise TaskError(
            task_toml,
            f"commit {commit!r} is not in {git}: {exc}",
            key="repo.commit",
            fix="use a commit id that exists in that repository (git log --oneline shows them)",
        ) from None


def _entries(folder: Path) -> dict[str, os.DirEntry[str]]:
    """The entries of ``folder`` by name, read once (a DirEntry tells a file from a folder
    without a stat call of its own, except for a symbolic link, which it follows); empty
    when the folder cannot be listed."""
    try:
        with os.scandir(folder) as listing:
            return {entry.name: entry for entry in listing}
    except OSError:
        return {}


def _is_dir(entry: os.DirEntry[str] | None) -> bool:
    try:
        return entry is not None and entry.is_dir()
    except OSError:
        return False


def _is_file(entry: os.DirEntry[str] | None) -> bool:
    try:
        return entry is not None and entry.is_file()
    except OSError:
        return False


def load_task(root: Path) -> Task:
    """Load and validate the task in folder ``root``; raise TaskError on any problem."""
    root = root.resolve()
    toml_path = root / TASK_FILE
    entries = _entries(root)
    data = read_toml(toml_path)
    _validate(data, _SCHEMA, toml_path)

    task_id = data.get("id", root.name)
    if not task_id or "::" in task_id or "/" in task_id:
        raise TaskError(
            toml_path,
            f"id {task_id!r} cannot be used in a test id",
            key="id",
            fix="use letters, digits, '-', '_' and '.' only",
        )

    repo_table = data.get("repo", {})
    if "git" in repo_table and "path" in repo_table:
        raise TaskError(
            toml_path,
            "both 'repo.path' and 'repo.git' are set",
            key="repo",
            fix="keep exactly one source of the base state",
        )
    if "git" in repo_table:
        if "commit" not in repo_table:
            raise TaskError(
                toml_path,
                "'repo.git' needs 'repo.commit'",
                key="repo.commit",
                fix='add commit = "<the base commit id>" under [repo]',
            )
        git_src = repo_table["git"]
        if "://" not in git_src and not git_src.startswith("git@"):
            local = (root / git_src).resolve()
            if not local.exists():
                raise TaskError(
                    toml_path,
                    f"git repository {git_src!r} does not exist (looked in {local})",
                    key="repo.git",
                    fix="give a path relative to the task folder, or a URL",
                )
            git_src = str(local)
            commit = _git_commit(toml_path, git_src, repo_table["commit"])
        else:
            commit = repo_table["commit"]
        repo = RepoSource("git", git=git_src, commit=commit)
    else:
        if "commit" in repo_table:
            raise TaskError(
                toml_path,
                "'repo.commit' is set without 'repo.git'",
                key="repo.commit",
                fix='add git = "..." under [repo], or remove commit',
            )
        rel = repo_table.get("path", "repo")
        entry = entries.get(rel)
        # A plain entry of the task folder (already resolved) needs no resolving of its own.
        repo_path = root / rel if entry is not None and not entry.is_symlink() else (root / rel).resolve()
        if not repo_path.is_dir():
            raise TaskError(
                toml_path,
                f"the base-state folder {rel!r} does not exist (looked in {repo_path})",
                key="repo.path",
                fix="create the folder with the repository's files, or set [repo] git and commit",
            )
        if not repo_path.is_relative_to(root):
            raise TaskError(
                toml_path,
                f"'repo.path' {rel!r} points outside the task folder",
                key="repo.path",
                fix="keep the base state inside the task folder, or use [repo] git",
            )
        repo = RepoSource("path", path=repo_path)

    env_table = data.get("environment", {})
    environment = EnvironmentSpec(
        python=env_table.get("python"),
        setup=tuple(env_table.get("setup", ())),
        env=tuple(sorted(env_table.get("env", {}).items())),
    )

    checklist = _checklist(data.get("review", {}), toml_path)
    tests_table = data.get("tests")
    stepped = "steps" in data
    if tests_table is None and not checklist and not stepped:
        raise TaskError(
            toml_path,
            "the [tests] section is missing",
            key="tests",
            fix='add [tests] with fail_to_pass = ["path/to/test_x.py::test_y"], '
            'or a [review] checklist = ["..."] for a task without tests (docs/task-format.md#checklists)',
        )
    tests_table = tests_table or {}
    if stepped:
        for key in ("fail_to_pass", "pass_to_pass"):
            if key in tests_table:
                raise TaskError(
                    toml_path,
                    f"'tests.{key}' is set in a stepped task",
                    key=f"tests.{key}",
                    fix=f"list each step's tests in its [[steps]] table ({key} = [...]); [tests] holds what the steps share",
                )
    f2p = tuple(tests_table.get("fail_to_pass", ()))
    if not f2p and not checklist and not stepped:  # a stepped task's are its steps' (_load_steps)
        raise TaskError(
            toml_path,
            "'tests.fail_to_pass' is missing or empty",
            key="tests.fail_to_pass",
            fix="list at least one test id that fails before the fix and passes after it, "
            'or give the task a [review] checklist = ["..."] instead (docs/task-format.md#checklists)',
        )
    if not f2p and not stepped:
        _check_checklist_only(root, toml_path, tests_table)
    timeout = float(tests_table.get("timeout", DEFAULT_TIMEOUT_S))
    if timeout <= 0:
        raise TaskError(
            toml_path,
            f"'tests.timeout' must be positive, got {timeout}",
            key="tests.timeout",
            fix="give the seconds the whole test command may take, e.g. timeout = 600",
        )
    limits = {}
    for key, default in (("max_patch_mb", DEFAULT_MAX_PATCH_MB), ("max_junit_mb", DEFAULT_MAX_JUNIT_MB)):
        limits[key] = float(tests_table.get(key, default))
        if limits[key] <= 0:
            raise TaskError(
                toml_path,
                f"'tests.{key}' must be positive, got {limits[key]:g}",
                key=f"tests.{key}",
                fix=f"give a size in MB, e.g. {key} = {default:g}",
            )
    deselect = tuple(tests_table.get("deselect", ()))
    clash = sorted(set(deselect) & set(f2p))
    if clash:
        raise TaskError(
            toml_path,
            f"'tests.deselect' names FAIL_TO_PASS tests: {', '.join(clash)}",
            key="tests.deselect",
            fix="a test that must not run cannot decide the verdict: remove one of them",
        )
    p2p = tuple(t for t in tests_table.get("pass_to_pass", ()) if t not in deselect)
    tests = TestsSpec(
        fail_to_pass=f2p,
        pass_to_pass=p2p,
        command=tests_table.get("command"),
        timeout=timeout,
        deselect=deselect,
        max_patch_mb=limits["max_patch_mb"],
        max_junit_mb=limits["max_junit_mb"],
        canaries=tests_table.get("canaries", True),
    )

    sandbox_table = data.get("sandbox", {})
    numbers = {}
    for key in ("memory_mb", "file_size_mb", "processes", "cpu_s"):
        value = sandbox_table.get(key, 0)
        if key in sandbox_table and (value != int(value) or value < 1):
            raise TaskError(
                toml_path,
                f"'sandbox.{key}' must be a whole number of at least 1, got {value!r}",
                key=f"sandbox.{key}",
                fix=f"e.g. {key} = {dict(memory_mb=4096, file_size_mb=1024, processes=512, cpu_s=600)[key]}",
            )
        numbers[key] = int(value)
    sandbox_spec = SandboxSpec(**numbers, services=tuple(sandbox_table.get("services", ())))

    from .taste.model import TasteConfig

    try:
        TasteConfig().merged(data.get("taste", {}), str(toml_path))
    except ValueError as exc:
        raise TaskError(
            toml_path, str(exc).split(": ", 1)[1], key="taste", fix="see docs/rules.md for the taste keys and rule ids"
        ) from None

    from .session import check_session_table

    try:
        check_session_table(data.get("session", {}), str(toml_path))
    except ValueError as exc:
        raise TaskError(
            toml_path, str(exc).split(": ", 1)[1], key="session", fix="see docs/sessions.md for the session thresholds"
        ) from None

    review_table = data.get("review", {})
    if "rubric" in review_table:
        from .review.rubric import RubricError, load_rubric

        if not isinstance(review_table["rubric"], str):
            raise TaskError(toml_path, "'review.rubric' must be a string", key="review.rubric")
        try:
            load_rubric(review_table["rubric"], base=root)
        except RubricError as exc:
            raise TaskError(
                toml_path,
                str(exc),
                key="review.rubric",
                fix="name a built-in rubric or a rubric file relative to the task folder",
            ) from None

    hidden_dir = root / "hidden_tests"
    hidden_diff = root / "hidden_tests.diff"
    has_hidden_dir, has_hidden_diff = _is_dir(entries.get(hidden_dir.name)), _is_file(entries.get(hidden_diff.name))
    has_gold, has_issue = _is_file(entries.get("gold.diff")), _is_file(entries.get("issue.md"))
    if has_hidden_dir and has_hidden_diff:
        raise TaskError(
            root, "has both hidden_tests/ and hidden_tests.diff", fix="keep one way of adding the hidden tests"
        )
    gold = root / "gold.diff"
    issue = root / "issue.md"
    steps: tuple[StepSpec, ...] = ()
    if stepped:
        if has_hidden_dir or has_hidden_diff or has_gold:
            extra = "hidden_tests/" if has_hidden_dir else "hidden_tests.diff" if has_hidden_diff else "gold.diff"
            raise TaskError(
                root / extra,
                "a stepped task's hidden tests and gold patch belong to its steps",
                fix=f"move it into {STEPS_DIR}/<step id>/",
            )
        steps = _load_steps(root, toml_path, data["steps"], tests)
    return Task(
        id=task_id,
        root=root,
        title=data.get("title", ""),
        repo=repo,
        environment=environment,
        tests=tests,
        issue_path=issue if has_issue else None,
        hidden_tests_dir=hidden_dir if has_hidden_dir else None,
        hidden_tests_diff=hidden_diff if has_hidden_diff else None,
        gold_diff=gold if has_gold else None,
        taste=data.get("taste", {}),
        review=data.get("review", {}),
        session=data.get("session", {}),
        sandbox=sandbox_spec,
        checklist=checklist,
        steps=steps,
    )


def _checklist(review_table: Mapping[str, Any], toml_path: Path) -> tuple[str, ...]:
    """``[review] checklist``, validated: non-empty, distinct strings (and ``[review]``'s keys checked)."""
    unknown_review = set(review_table) - {"rubric", "checklist"}
    if unknown_review:
        raise TaskError(
            toml_path,
            f"unknown key(s) in [review]: {', '.join(sorted(unknown_review))}",
            key=f"review.{sorted(unknown_review)[0]}",
            fix='[review] takes rubric = "NAME_OR_PATH" and checklist = ["a yes/no question about the diff", ...]',
        )
    items = review_table.get("checklist", [])
    example = 'checklist = ["The README documents the new --verbose flag", "No function grows beyond 40 lines"]'
    if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
        raise TaskError(
            toml_path,
            f"'review.checklist' must be a list of non-empty strings, got {items!r}",
            key="review.checklist",
            fix=f"write it as {example}",
        )
    stripped = [i.strip() for i in items]
    twice = sorted({i for i in stripped if stripped.count(i) > 1})
    if twice:
        raise TaskError(
            toml_path, f"'review.checklist' has {twice[0]!r} twice", key="review.checklist", fix="keep each item once"
        )
    if "checklist" in review_table and not stripped:
        raise TaskError(
            toml_path, "'review.checklist' is empty", key="review.checklist", fix=f"remove it, or write it as {example}"
        )
    return tuple(stripped)


def _check_checklist_only(root: Path, toml_path: Path, tests_table: Mapping[str, Any]) -> None:
    """A task graded by its checklist runs no tests: nothing may say otherwise."""
    if tests_table:
        raise TaskError(
            toml_path,
            f"[tests] has {', '.join(sorted(tests_table))} but no fail_to_pass: a task graded by its checklist "
            "runs no tests",
            key="tests",
            fix="remove [tests] (the [review] checklist decides the verdict), or list fail_to_pass",
        )
    for name in ("hidden_tests", "hidden_tests.diff"):
        if (root / name).exists():
            raise TaskError(
                root / name,
                "hidden tests, but task.toml names no fail_to_pass test: they would never decide anything",
                fix="list the tests in [tests] fail_to_pass, or remove them to grade the task by its [review] checklist",
            )


def _load_steps(root: Path, toml_path: Path, tables: list[dict[str, Any]], shared: TestsSpec) -> tuple[StepSpec, ...]:
    """The ``[[steps]]`` of task.toml, each with its folder ``steps/<id>/``."""
    if not tables:
        raise TaskError(
            toml_path, "'steps' is empty", key="steps", fix="add at least one [[steps]] table, or remove steps"
        )
    out: list[StepSpec] = []
    seen: set[str] = set()
    for index, table in enumerate(tables, 1):
        step_id = table.get("id", str(index))
        where = f"steps[{index}]"
        if not _NAME_RE.match(step_id) or step_id in (".", ".."):
            raise TaskError(
                toml_path,
                f"{where}: id {step_id!r} cannot be used in a test id or as a folder name",
                key="steps.id",
                fix="use letters, digits, '.', '_' and '-' only, e.g. id = \"2-tax\"",
            )
        if step_id in seen:
            raise TaskError(
                toml_path, f"{where}: id {step_id!r} is used twice", key="steps.id", fix="give each step its own id"
            )
        seen.add(step_id)
        f2p = tuple(table.get("fail_to_pass", ()))
        if not f2p:
            raise TaskError(
                toml_path,
                f"{where} ({step_id}): 'fail_to_pass' is missing or empty",
                key="steps.fail_to_pass",
                fix="list at least one test id that fails before the step and passes after it",
            )
        clash = sorted(set(shared.deselect) & set(f2p))
        if clash:
            raise TaskError(
                toml_path,
                f"{where} ({step_id}): 'tests.deselect' names its FAIL_TO_PASS tests: {', '.join(clash)}",
                key="tests.deselect",
                fix="a test that must not run cannot decide the verdict: remove one of them",
            )
        folder = root / STEPS_DIR / step_id
        hidden_dir, hidden_diff = folder / "hidden_tests", folder / "hidden_tests.diff"
        if hidden_dir.is_dir() and hidden_diff.is_file():
            raise TaskError(
                folder, "has both hidden_tests/ and hidden_tests.diff", fix="keep one way of adding the hidden tests"
            )
        if not (hidden_dir.is_dir() or hidden_diff.is_file()):
            raise TaskError(
                folder,
                f"{where} ({step_id}) has no hidden tests",
                fix=f"add {STEPS_DIR}/{step_id}/hidden_tests/ (files laid over the workspace) or {STEPS_DIR}/{step_id}/hidden_tests.diff",
            )
        p2p = tuple(t for t in table.get("pass_to_pass", ()) if t not in shared.deselect)
        out.append(
            StepSpec(
                id=step_id,
                index=index,
                title=table.get("title", ""),
                tests=dataclasses.replace(shared, fail_to_pass=f2p, pass_to_pass=p2p),
                folder=folder,
                issue_path=folder / "issue.md" if (folder / "issue.md").is_file() else None,
                hidden_tests_dir=hidden_dir if hidden_dir.is_dir() else None,
                hidden_tests_diff=hidden_diff if hidden_diff.is_file() else None,
                gold_diff=folder / "gold.diff" if (folder / "gold.diff").is_file() else None,
            )
        )
    return tuple(out)


def _folder_submission(folder: Path) -> Submission:
    name = folder.name
    patches = [
        folder / f"patch{suffix}" for suffix in SUBMISSION_PATCH_SUFFIXES if (folder / f"patch{suffix}").is_file()
    ]
    sessions = sorted(p for p in folder.glob("session.*") if p.is_file())
    meta: dict[str, Any] = {}
    problem = None
    if (folder / "meta.toml").is_file():
        try:
            meta = read_toml(folder / "meta.toml")
        except TaskError as exc:
            problem = str(exc)
    if not patches:
        problem = (
            f"{folder}: no patch.diff in this submission folder (fix: put the agent's patch in {folder / 'patch.diff'})"
        )
    return Submission(
        name=name,
        origin="folder",
        patch_path=patches[0] if patches else None,
        folder=folder,
        session_path=sessions[0] if sessions else None,
        meta=meta,
        problem=problem,
    )


def _stepped_submission(folder: Path, task: Task) -> Submission:
    """A stepped task's submission folder: ``steps/<step id>.diff`` for every step, and meta.toml."""
    meta: dict[str, Any] = {}
    problem = None
    if (folder / "meta.toml").is_file():
        try:
            meta = read_toml(folder / "meta.toml")
        except TaskError as exc:
            problem = str(exc)
    patches: list[tuple[str, Path]] = []
    missing = []
    for step in task.steps:
        found = [folder / STEPS_DIR / f"{step.id}{suffix}" for suffix in SUBMISSION_PATCH_SUFFIXES]
        found = [p for p in found if p.is_file()]
        if found:
            patches.append((step.id, found[0]))
        else:
            missing.append(step.id)
    known = {step.id for step in task.steps}
    unknown = sorted(
        p.name
        for p in (folder / STEPS_DIR).glob("*")
        if p.is_file() and p.suffix in SUBMISSION_PATCH_SUFFIXES and p.stem not in known
    )
    if missing:
        problem = (
            f"{folder}: no patch for step(s) {', '.join(missing)} "
            f"(fix: put each step's patch in {folder / STEPS_DIR}/<step id>.diff)"
        )
    elif unknown:
        problem = (
            f"{folder / STEPS_DIR}: {', '.join(unknown)} name(s) no step of the task "
            f"(its steps: {', '.join(sorted(known))}) (fix: rename or remove them)"
        )
    return Submission(
        name=folder.name,
        origin="folder",
        folder=folder,
        meta=meta,
        problem=problem,
        step_patches=tuple(patches),
    )


def find_submissions(task: Task) -> list[Submission]:
    """The submissions in ``task.root / "submissions"``, sorted by name.

    A malformed submission is returned with ``problem`` set, so that it becomes an
    error item of its own while its siblings still run.
    """
    folder = task.root / "submissions"
    found: dict[str, Submission] = {}
    listing = _entries(folder)
    for name in sorted(listing):
        if name.startswith("."):
            continue
        entry = folder / name
        if _is_dir(listing[name]):
            sub = _folder_submission(entry) if not task.steps else _stepped_submission(entry, task)
        elif entry.suffix in SUBMISSION_PATCH_SUFFIXES and _is_file(listing[name]):
            sub = Submission(name=entry.stem, origin="file", patch_path=entry)
            if task.steps:
                sub = dataclasses.replace(
                    sub,
                    problem=f"{entry}: a stepped task takes one patch per step (fix: put them in "
                    f"submissions/{entry.stem}/{STEPS_DIR}/<step id>.diff)",
                )
        else:
            continue
        if not _NAME_RE.match(sub.name):
            sub = Submission(
                name=re.sub(r"[^A-Za-z0-9._+@=,-]", "_", sub.name) or "_",
                origin=sub.origin,
                problem=f"{entry}: the name {sub.name!r} cannot be used in a test id "
                "(fix: rename it with letters, digits, '.', '_' or '-')",
            )
        if sub.name in found:
            sub = Submission(
                name=sub.name,
                origin=sub.origin,
                problem=f"{entry}: submission {sub.name!r} is given twice "
                f"(also {found[sub.name].patch_path or found[sub.name].folder}) (fix: keep one)",
            )
        found[sub.name] = sub
    return list(found.values())
