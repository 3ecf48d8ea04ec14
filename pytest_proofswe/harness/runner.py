"""Running the hidden tests in a workspace, and reading per-test outcomes from JUnit XML.

Outcomes never come from the command's output (SWE-bench #601/#620: forged ``PASSED``
lines). pytest writes a JUnit XML report to a path outside the workspace; each
``<testcase>`` becomes a test id and one of the outcomes below.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .. import process
from ..task import SandboxSpec, TestsSpec
from .environment import Environment
from .sandbox import Job, NoSandbox, Sandbox

__all__ = [
    "JunitReport",
    "Outcome",
    "TestOutcome",
    "TestRun",
    "build_command",
    "junit_key",
    "outcomes_for",
    "parse_junit",
    "plugin_options",
    "run_tests",
    "selection_ids",
]

Outcome = Literal["passed", "failed", "error", "skipped", "xfailed", "xpassed"]

# Options that make the graded run's report complete and unambiguous. ``xunit1`` adds
# the file attribute that maps a testcase back to its node id.
_PYTEST_OPTIONS = (
    "-p",
    "no:cacheprovider",
    "-p",
    "no:proofswe",
    "-o",
    "junit_family=xunit1",
    "-o",
    "junit_logging=no",
    "-o",
    "junit_log_passing_tests=false",
)


@dataclass(frozen=True)
class TestOutcome:
    __test__ = False

    test_id: str
    outcome: Outcome
    message: str = ""  # the first lines of the failure, error or skip reason
    # For a skip: the file that raised it, as pytest's JUnit records it (the test's own
    # file for a skip mark, the caller's file for ``pytest.skip()`` called at run time).
    skip_path: str = ""


@dataclass(frozen=True)
class TestRun:
    """What one run of the test command gave."""

    __test__ = False

    outcomes: dict[str, TestOutcome]
    collection_errors: tuple[tuple[str, str], ...]
    exit_code: int | None
    timed_out: bool
    duration_s: float
    output_tail: str
    junit_found: bool
    command: process.CommandRecord
    junit_problem: str = ""  # why the JUnit XML was not read, when the run wrote one
    extra_outcomes: dict[str, TestOutcome] = field(default_factory=dict)  # of the ``extra`` ids (the canaries)
    isolation: Mapping[str, Any] = field(default_factory=dict)  # what the sandbox gave, for the proof


def _truncated(test_id: str) -> bool:
    """SWE-bench's log parser cut some ids at their first whitespace: ``test_x[a`` for ``test_x[a b]``."""
    return test_id.count("[") > test_id.count("]")


def selection_ids(test_ids: Iterable[str], *, skip: Iterable[str] = ()) -> list[str]:
    """The test files to pass to pytest for ``test_ids``, in the order they first appear.

    SWE-bench runs the test *files* of the test patch (``pytest -rA tests/test_x.py``) and
    reads the outcome of each named id in the log: the tests of a file run in the file's own
    collection order, unnamed tests included. Passing the ids instead runs FAIL_TO_PASS
    first, and a FAIL_TO_PASS test that leaks global state then breaks a PASS_TO_PASS test
    that SWE-bench runs before it. So a file is selected whole (a truncated parametrised id
    is covered by its file and matched back by prefix, see :func:`outcomes_for`), and the
    outcomes of tests nobody named are read by no one. A string that cannot be a node id
    (``[100%]``) selects nothing, since pytest would abort the whole run on it; ``skip``
    holds files pytest could not find.
    """
    skipped = set(skip)
    out: list[str] = []
    for test_id in test_ids:
        path = test_id.split("::", 1)[0]
        if not path.endswith(".py") and "::" not in test_id:
            continue
        if path not in out and path not in skipped:
            out.append(path)
    return out


def plugin_options(env: Environment) -> tuple[list[str], dict[str, str]]:
    """The options and variables that load only the environment's own pytest plugins.

    Autoloading would load any ``pytest11`` entry point on the import path, the
    workspace's too (a ``*.dist-info`` folder shipped by the patch). It is turned off
    (``PYTEST_DISABLE_PLUGIN_AUTOLOAD``) and the entry points the environment had at
    build time are named with ``-p``. pytest before 4.4 cannot load an entry point by
    name: there, and when the names are unknown, nothing changes.
    """
    names = env.plugin_names
    if names is None or not _knows_entry_point_names(env.packages.get("pytest", "")):
        return [], {}
    args: list[str] = []
    for name in names:
        if name not in _BLOCKED_PLUGINS:
            args += ["-p", name]
    return args, {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


_BLOCKED_PLUGINS = {opt[3:] for opt in _PYTEST_OPTIONS if opt.startswith("no:")}


def _knows_entry_point_names(version: str) -> bool:
    parts = version.split(".")
    try:
        return (int(parts[0]), int(parts[1])) >= (4, 4)
    except (ValueError, IndexError):
        return False


def build_command(
    spec: TestsSpec,
    python: Path,
    junit_path: Path,
    workspace: Path,
    *,
    skip: Iterable[str] = (),
    extra: Iterable[str] = (),
    plugins: Iterable[str] = (),
) -> list[str]:
    """The argv of the test run: the task's command or pytest on the files of the F2P and P2P ids, then
    the files of ``extra`` (the canary tests, after every hidden test).

    A custom command is split like a shell would; ``{tests}`` in it is replaced by the
    selected files, and the JUnit options are appended (the command must be pytest).
    ``plugins`` are options of :func:`plugin_options`.
    """
    selected = selection_ids([*spec.fail_to_pass, *spec.pass_to_pass, *extra], skip=skip)
    junit = [f"--junitxml={junit_path}", f"--rootdir={workspace}", *_PYTEST_OPTIONS, *plugins]
    junit += [f"--deselect={test_id}" for test_id in spec.deselect]
    if spec.command is None:
        return [str(python), "-m", "pytest", "-rN", "--tb=short", "-q", *junit, "--", *selected]
    argv: list[str] = []
    for token in shlex.split(spec.command):
        if token == "{tests}":
            argv.extend(selected)
        elif token in ("python", "python3"):
            argv.append(str(python))
        else:
            argv.append(token)
    return argv + junit


def _short(text: str | None, lines: int = 6) -> str:
    if not text:
        return ""
    kept = [ln for ln in text.strip().splitlines() if ln.strip()]
    return "\n".join(kept[:lines])


def junit_key(test_id: str) -> tuple[str, str]:
    """The (classname, name) pytest's junitxml writes for node id ``test_id``.

    The same mangling as ``_pytest.junitxml.mangle_test_address``: matching on it is
    exact, where rebuilding a node id from the XML is not (inherited test methods
    report the file of their base class).
    """
    path, bracket, params = test_id.partition("[")
    names = path.split("::")
    names[0] = names[0].replace("/", ".")
    if names[0].endswith(".py"):
        names[0] = names[0][:-3]
    names[-1] += bracket + params
    return ".".join(names[:-1]), names[-1]


@dataclass(frozen=True)
class JunitReport:
    cases: dict[tuple[str, str], TestOutcome]
    collection_errors: tuple[tuple[str, str], ...]  # (module, message)


def parse_junit(path: Path) -> JunitReport:
    """Per-test outcomes from a pytest JUnit XML file.

    Read incrementally: each ``<testcase>`` is dropped from the tree once read, so the
    file never sits in memory whole (it cost three times its size).
    """
    cases: dict[tuple[str, str], TestOutcome] = {}
    errors: list[tuple[str, str]] = []
    parents: list[ET.Element] = []
    for event, case in ET.iterparse(path, events=("start", "end")):
        if event == "start":
            parents.append(case)
            continue
        parents.pop()
        if case.tag != "testcase":
            continue
        classname, name = case.get("classname", ""), case.get("name", "")
        outcome: Outcome = "passed"
        message = ""
        skip_path = ""
        for child in case:
            if child.tag == "failure":
                outcome = "failed"
                message = _short(child.get("message")) or _short(child.text)
            elif child.tag == "error":
                outcome = "error"
                message = _short(child.get("message")) or _short(child.text)
            elif child.tag == "skipped":
                message = _short(child.get("message"))
                outcome = "xfailed" if child.get("type", "") == "pytest.xfail" else "skipped"
                skip_path = _skip_path(child.text or "")
        if parents:
            parents[-1].remove(case)
        if not classname and outcome == "error":
            errors.append((name, _short(message or "", 3)))
            continue
        test_id = f"{classname}::{name}"
        previous = cases.get((classname, name))
        # A test with a teardown error appears twice: the worse outcome wins.
        if previous is None or _rank(outcome) > _rank(previous.outcome):
            cases[(classname, name)] = TestOutcome(test_id, outcome, message, skip_path if outcome == "skipped" else "")
    return JunitReport(cases, tuple(errors))


_SKIP_LOCATION = re.compile(r"^(.+?):(\d+): ", re.DOTALL)


def _skip_path(details: str) -> str:
    """The file in pytest's ``<skipped>`` text, ``PATH:LINE: REASON`` (``""`` if absent)."""
    found = _SKIP_LOCATION.match(details)
    return found.group(1) if found else ""


def outcomes_for(test_ids: Iterable[str], report: JunitReport) -> dict[str, TestOutcome]:
    """The outcome of each of ``test_ids`` that the report has (missing ids are absent)."""
    out = {}
    for test_id in test_ids:
        key = junit_key(test_id)
        found = report.cases.get(key)
        if found is None and _truncated(test_id):
            # Every parametrisation whose id, cut at its first whitespace (SWE-bench splits its log
            # lines with str.split()), is this one: the worst counts.
            matches = [c for (cls, name), c in report.cases.items() if cls == key[0] and name.split()[:1] == [key[1]]]
            if matches:
                found = max(matches, key=lambda c: _rank(c.outcome))
        if found is not None:
            out[test_id] = dataclasses.replace(found, test_id=test_id)
    return out


def _rank(outcome: Outcome) -> int:
    return {"passed": 0, "xpassed": 0, "xfailed": 1, "skipped": 2, "failed": 3, "error": 4}[outcome]


def run_tests(
    spec: TestsSpec,
    env: Environment,
    workspace: Path,
    *,
    timeout: float | None = None,
    extra: Iterable[str] = (),
    sandbox: Sandbox | None = None,
    hidden: tuple[Path, ...] = (),
    sandbox_spec: SandboxSpec | None = None,
) -> TestRun:
    """Run the hidden tests of ``spec`` (and the ``extra`` ids after them) in ``workspace``, inside ``sandbox``.

    The JUnit XML goes to a fresh folder only the grader can reach afterwards; it is
    read once the command (with a PID namespace: every process it started) has ended.
    ``hidden`` are folders of this task to hide from the command (the task folder).
    """
    extra = tuple(extra)
    box: Sandbox = sandbox if sandbox is not None else NoSandbox()
    options = sandbox_spec or SandboxSpec()
    budget = timeout if timeout is not None else spec.timeout
    # ignore_cleanup_errors: without a sandbox a process the tests left behind may still be
    # writing there; that must not turn the submission's result into the harness's error.
    with tempfile.TemporaryDirectory(prefix="proofswe-junit-", ignore_cleanup_errors=True) as out_dir:
        junit_path = Path(out_dir) / "junit.xml"
        inner_junit = box.results_path(Path(out_dir)) / "junit.xml"
        wanted = [*spec.fail_to_pass, *spec.pass_to_pass, *extra]
        not_found: list[str] = []
        plugin_args, plugin_env = plugin_options(env)
        environ = {**env.test_environ(workspace), **plugin_env}
        while True:
            argv = build_command(
                spec, env.python, inner_junit, workspace, skip=not_found, extra=extra, plugins=plugin_args
            )
            job = Job(
                argv=tuple(argv),
                workspace=workspace,
                environ=environ,
                results=Path(out_dir),
                readonly=(env.root,),
                hidden=hidden,
                keep_env=tuple(k for k, _v in env.variables),
                limits=options.limits(),
                services=options.services,
            )
            result = box.run(job, timeout=budget)
            # pytest aborts the whole run when a selected file does not exist, and names the first
            # one (exit 4, "ERROR: file or directory not found: ..."): drop it and run again; its
            # ids count as missing. Only a file still selected is dropped (so there are at most as
            # many runs as files, whatever the output says), and no run is made with none left:
            # pytest given no file runs every test it finds.
            selected = selection_ids(wanted, skip=not_found)
            missing = [path for path in _not_found(result.output, workspace) if path in selected]
            if result.timed_out or result.returncode != 4 or not missing or spec.command is not None:
                break
            not_found.extend(missing)
            if not selection_ids(wanted, skip=not_found):
                break
            budget = max(budget - result.duration_s, 1.0)
        outcomes: dict[str, TestOutcome] = {}
        extra_outcomes: dict[str, TestOutcome] = {}
        collection_errors: tuple[tuple[str, str], ...] = ()
        found = junit_path.is_file() and not junit_path.is_symlink() and not result.timed_out
        problem = ""
        if found and junit_path.stat().st_size > spec.max_junit_mb * 1_000_000:
            found = False  # the submission's tests wrote it: never read past the limit
            problem = (
                f"the test run wrote a JUnit XML of {junit_path.stat().st_size / 1e6:.0f} MB, over the limit of "
                f"{spec.max_junit_mb:g} MB ([tests] max_junit_mb), so it was not read and no test counts as run"
            )
        if found:
            try:
                report = parse_junit(junit_path)
            except ET.ParseError:
                found = False
            else:
                outcomes = outcomes_for([*spec.fail_to_pass, *spec.pass_to_pass], report)
                extra_outcomes = outcomes_for(extra, report)
                collection_errors = report.collection_errors
        return TestRun(
            outcomes=outcomes,
            collection_errors=collection_errors,
            exit_code=result.returncode,
            timed_out=result.timed_out,
            duration_s=result.duration_s,
            output_tail=result.tail(40),
            junit_found=found,
            junit_problem=problem,
            extra_outcomes=extra_outcomes,
            isolation=box.describe(job, budget),
            command=process.CommandRecord(
                tuple(_redact(argv, workspace, inner_junit)),
                "<workspace>",
                result.returncode,
                result.duration_s,
                result.timed_out,
            ),
        )


_NOT_FOUND = ("ERROR: file or directory not found: ", "ERROR: file not found: ", "ERROR: not found: ")


def _not_found(output: str, workspace: Path) -> list[str]:
    ids = []
    for line in output.splitlines():
        for marker in _NOT_FOUND:
            if line.startswith(marker):
                target = line[len(marker) :].strip()
                prefix = f"{workspace}/"
                ids.append(target[len(prefix) :] if target.startswith(prefix) else target)
                break
    return ids


def _redact(argv: Iterable[str], workspace: Path, junit: Path) -> list[str]:
    """The argv with this machine's temporary paths replaced by stable placeholders."""
    out = []
    for a in argv:
        a = a.replace(str(junit), "<junit.xml>").replace(str(workspace), "<workspace>")
        out.append(a)
    return out
