"""runner.run_tests on tiny workspaces: real pytest runs, with this interpreter as the task's environment.

Fast (about a second a case): the environment is the host's, with pytest's plugin
autoloading off, so each run imports pytest and nothing else.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pytest_proofswe import process
from pytest_proofswe.harness.environment import Environment
from pytest_proofswe.harness.runner import TestRun, build_command, plugin_options, run_tests
from pytest_proofswe.harness.sandbox import BwrapSandbox, Job, NoSandbox, Sandbox, probe_bwrap
from pytest_proofswe.task import SandboxSpec, TestsSpec

PYTEST_VERSION = pytest.__version__


def host_env(
    root: Path,
    *,
    plugin_names: tuple[str, ...] | None = (),
    pytest_version: str = PYTEST_VERSION,
    variables: tuple[tuple[str, str], ...] = (),
    import_roots: tuple[str, ...] = ("",),
) -> Environment:
    """This interpreter as a task's environment; ``plugin_names=()``: no plugin but pytest's own."""
    root.mkdir(parents=True, exist_ok=True)
    return Environment(
        key="host",
        root=root,
        python=Path(sys.executable),
        python_version="host",
        import_roots=import_roots,
        artefacts=(),
        installed_names=frozenset(),
        entry_point_plugins=(),
        packages={"pytest": pytest_version},
        variables=variables,
        reused=True,
        plugin_names=plugin_names,
    )


def workspace(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


@dataclass
class Recording:
    """A sandbox (NoSandbox unless told) that keeps each job and the timeout it was given, and fails a
    test whose command is run again and again (a loop never ends it). ``duration`` replaces the run's
    measured seconds; the command then runs with a minute at least, so that a loaded machine never
    times it out."""

    inner: Sandbox = field(default_factory=NoSandbox)
    duration: float | None = None
    calls: list[tuple[Job, float | None]] = field(default_factory=list)
    name: str = "recording"

    def results_path(self, host_dir: Path) -> Path:
        return self.inner.results_path(host_dir)

    def run(self, job: Job, *, timeout: float | None) -> process.ProcessResult:
        self.calls.append((job, timeout))
        assert len(self.calls) < 10, "the test command was run again and again"
        if self.duration is None:
            return self.inner.run(job, timeout=timeout)
        result = self.inner.run(job, timeout=max(timeout or 0, 60))
        return dataclasses.replace(result, duration_s=self.duration)

    def describe(self, job: Job | None = None, timeout: float | None = None) -> dict[str, Any]:
        return self.inner.describe(job, timeout)


def run_recorded(spec: TestsSpec, env: Environment, ws: Path, **kw: Any) -> TestRun:
    """run_tests through a :class:`Recording` of NoSandbox."""
    return run_tests(spec, env, ws, sandbox=Recording(), **kw)


def outcomes(run: TestRun) -> dict[str, str]:
    return {test_id: o.outcome for test_id, o in run.outcomes.items()}


TESTS_A = """\
import pytest


def test_pass():
    pass


def test_fail():
    print("\\n".join(f"line {i}" for i in range(60)))
    assert 1 + 1 == 3


def test_skip():
    pytest.skip("no network here")


@pytest.mark.xfail(reason="known", strict=True)
def test_xfail():
    assert False


@pytest.fixture
def broken():
    raise RuntimeError("fixture down")


def test_error(broken):
    pass


def test_deselected():
    assert False, "deselected: never runs"
"""


def test_each_named_id_has_the_outcome_pytest_gave(tmp_path: Path) -> None:
    ws = workspace(tmp_path / "ws", {"tests/test_a.py": TESTS_A, "tests/test_b.py": "def test_other():\n    pass\n"})
    spec = TestsSpec(
        fail_to_pass=("tests/test_a.py::test_fail",),
        pass_to_pass=(
            "tests/test_a.py::test_pass",
            "tests/test_a.py::test_skip",
            "tests/test_a.py::test_xfail",
            "tests/test_a.py::test_error",
            "tests/test_a.py::test_deselected",
            "tests/test_a.py::test_not_there",
        ),
        deselect=("tests/test_a.py::test_deselected",),
        timeout=0.001,  # the timeout argument wins
    )
    run = run_tests(spec, host_env(tmp_path / "env"), ws, timeout=100)
    assert outcomes(run) == {
        "tests/test_a.py::test_fail": "failed",
        "tests/test_a.py::test_pass": "passed",
        "tests/test_a.py::test_skip": "skipped",
        "tests/test_a.py::test_xfail": "xfailed",
        "tests/test_a.py::test_error": "error",
    }  # the deselected test never ran; nobody named tests/test_b.py, so it is read by no one
    assert run.outcomes["tests/test_a.py::test_fail"].test_id == "tests/test_a.py::test_fail"
    assert "assert (1 + 1) == 3" in run.outcomes["tests/test_a.py::test_fail"].message
    assert run.outcomes["tests/test_a.py::test_skip"].skip_path == str(ws / "tests" / "test_a.py")
    assert run.junit_found and run.junit_problem == "" and run.collection_errors == ()
    assert run.exit_code == 1 and not run.timed_out and run.extra_outcomes == {}
    assert "1 failed, 1 passed, 1 skipped, 1 deselected, 1 xfailed, 1 error" in run.output_tail
    assert len(run.output_tail.splitlines()) == 40  # the last 40 lines of the output
    assert run.isolation == {
        "backend": "none",
        "reason": "--proofswe-sandbox=none",
        "limits": {"memory_mb": 8192, "file_size_mb": 2048, "processes": 4096, "cpu_s": 160},
        "services": [],
    }


def test_the_command_record_names_no_path_of_this_machine(tmp_path: Path) -> None:
    ws = workspace(tmp_path / "ws", {"test_a.py": "def test_a():\n    pass\n"})
    spec = TestsSpec(fail_to_pass=("test_a.py::test_a",), deselect=("test_a.py::test_b",))
    env = host_env(tmp_path / "env", plugin_names=("myplug",))
    workspace(ws, {"myplug.py": ""})
    run = run_recorded(spec, env, ws, timeout=60)
    assert outcomes(run) == {"test_a.py::test_a": "passed"}
    # The argv run, with the workspace and the JUnit file (a fresh temporary folder) as placeholders.
    plugins, _env = plugin_options(env)
    expected = build_command(spec, env.python, Path("<junit.xml>"), Path("<workspace>"), plugins=plugins)
    assert run.command == process.CommandRecord(tuple(expected), "<workspace>", 0, run.duration_s, False)
    assert "--junitxml=<junit.xml>" in expected and "--rootdir=<workspace>" in expected
    assert 0 < run.duration_s < 60


PLUGIN = """\
import pytest


@pytest.fixture
def planted():
    return "from the plugin"
"""


def test_only_the_environments_own_plugins_load(tmp_path: Path) -> None:
    """Autoloading is off; the environment's entry points are named with -p, ours and the cache's never."""
    ws = workspace(
        tmp_path / "ws",
        {
            "myplug.py": PLUGIN,
            "test_p.py": "import os\n\n\ndef test_p(planted):\n"
            "    assert planted == 'from the plugin'\n"
            "    assert os.environ['PYTEST_DISABLE_PLUGIN_AUTOLOAD'] == '1'\n",
        },
    )
    env = host_env(tmp_path / "env", plugin_names=("myplug", "proofswe", "cacheprovider"))
    run = run_recorded(TestsSpec(fail_to_pass=("test_p.py::test_p",)), env, ws, timeout=60)
    assert outcomes(run) == {"test_p.py::test_p": "passed"}, run.output_tail
    pairs = [run.command.argv[i + 1] for i, a in enumerate(run.command.argv) if a == "-p"]
    assert pairs == ["no:cacheprovider", "no:proofswe", "myplug"]


@pytest.mark.parametrize(
    ("names", "version", "expected"),
    [
        (("a", "proofswe"), "8.3.2", (["-p", "a"], {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})),
        (("a", "b"), "8.3.2", (["-p", "a", "-p", "b"], {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})),
        (("a",), "4.4.0", (["-p", "a"], {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})),
        (("a",), "10.0", (["-p", "a"], {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})),
        ((), "8.3.2", ([], {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})),  # none at all: still only pytest's own
        (("a",), "4.3.9", ([], {})),  # cannot load an entry point by name: autoloading stays
        (("a",), "3.10.1", ([], {})),
        (None, "8.3.2", ([], {})),  # the names are unknown
        (("a",), "", ([], {})),  # the version is unknown
        (("a",), "8", ([], {})),
        (("a",), "8.dev1", ([], {})),
    ],
)
def test_plugin_options(
    tmp_path: Path, names: tuple[str, ...] | None, version: str, expected: tuple[list[str], dict[str, str]]
) -> None:
    env = host_env(tmp_path, plugin_names=names, pytest_version=version)
    if not version:
        env = dataclasses.replace(env, packages={})
    assert plugin_options(env) == expected


def test_a_test_file_pytest_cannot_find_is_dropped_and_the_run_repeated(tmp_path: Path) -> None:
    ws = workspace(tmp_path / "ws", {"tests/test_a.py": "def test_a():\n    pass\n"})
    spec = TestsSpec(fail_to_pass=("tests/test_gone.py::test_g",), pass_to_pass=("tests/test_a.py::test_a",))
    box = Recording(duration=30)
    run = run_tests(spec, host_env(tmp_path / "env"), ws, timeout=100, sandbox=box)
    assert [j.argv[j.argv.index("--") + 1 :] for j, _t in box.calls] == [
        ("tests/test_gone.py", "tests/test_a.py"),
        ("tests/test_a.py",),
    ]
    assert [t for _j, t in box.calls] == [100, 70]  # the second run has what the first left
    assert outcomes(run) == {"tests/test_a.py::test_a": "passed"} and run.junit_found
    assert run.exit_code == 0 and "tests/test_gone.py" not in run.command.argv
    assert run.isolation["limits"]["cpu_s"] == 70 + 60


def test_every_test_file_pytest_cannot_find_is_dropped(tmp_path: Path) -> None:
    """pytest names one missing file per run: a submission that deleted two test files loses only their tests."""
    ws = workspace(tmp_path / "ws", {"tests/test_a.py": "def test_a():\n    pass\n"})
    spec = TestsSpec(
        fail_to_pass=("tests/test_gone.py::test_g",),
        pass_to_pass=("tests/test_a.py::test_a", "tests/test_gone2.py::test_h", "tests/test_gone.py::test_i"),
    )
    box = Recording()
    run = run_tests(spec, host_env(tmp_path / "env"), ws, timeout=100, sandbox=box)
    assert outcomes(run) == {"tests/test_a.py::test_a": "passed"} and run.exit_code == 0
    assert [j.argv[j.argv.index("--") + 1 :] for j, _t in box.calls] == [
        ("tests/test_gone.py", "tests/test_a.py", "tests/test_gone2.py"),
        ("tests/test_a.py", "tests/test_gone2.py"),
        ("tests/test_a.py",),
    ]


def test_no_run_is_left_without_a_file(tmp_path: Path) -> None:
    """When every selected file is gone, no run follows: pytest given no file runs every test it finds."""
    ws = workspace(tmp_path / "ws", {"tests/test_other.py": "def test_o():\n    pass\n"})
    spec = TestsSpec(fail_to_pass=("tests/test_gone.py::test_g",), pass_to_pass=("tests/test_gone.py::test_h",))
    box = Recording()
    run = run_tests(spec, host_env(tmp_path / "env"), ws, timeout=100, sandbox=box)
    assert len(box.calls) == 1 and run.exit_code == 4 and run.outcomes == {}
    assert "ERROR: file or directory not found: tests/test_gone.py" in run.output_tail


def test_only_a_selected_file_is_dropped(tmp_path: Path) -> None:
    """The "not found" lines come from the run: a name it makes up is no reason to run again."""
    ws = workspace(
        tmp_path / "ws",
        {
            "conftest.py": "import os\n\n\ndef pytest_configure(config):\n"
            "    print('ERROR: file or directory not found: tests/test_made_up.py', flush=True)\n"
            "    os._exit(4)\n",
            "test_a.py": "def test_a():\n    pass\n",
        },
    )
    box = Recording()
    run = run_tests(TestsSpec(fail_to_pass=("test_a.py::test_a",)), host_env(tmp_path / "env"), ws, sandbox=box)
    assert len(box.calls) == 1 and run.exit_code == 4 and run.outcomes == {}


def test_a_file_is_dropped_once(tmp_path: Path) -> None:
    """A run that names a file already dropped is not repeated again."""
    ws = workspace(
        tmp_path / "ws",
        {
            "conftest.py": "import os\n\n\ndef pytest_configure(config):\n"
            "    print('ERROR: file or directory not found: tests/test_b.py', flush=True)\n"
            "    os._exit(4)\n",
            "tests/test_a.py": "def test_a():\n    pass\n",
            "tests/test_b.py": "def test_b():\n    pass\n",
        },
    )
    spec = TestsSpec(fail_to_pass=("tests/test_a.py::test_a",), pass_to_pass=("tests/test_b.py::test_b",))
    box = Recording()
    run = run_tests(spec, host_env(tmp_path / "env"), ws, timeout=100, sandbox=box)
    assert [j.argv[j.argv.index("--") + 1 :] for j, _t in box.calls] == [
        ("tests/test_a.py", "tests/test_b.py"),
        ("tests/test_a.py",),
    ]
    assert run.exit_code == 4 and run.outcomes == {}


def test_a_file_named_by_its_full_path_is_dropped_too(tmp_path: Path) -> None:
    """As a plugin (or another pytest) may name it: the workspace's path is taken off."""
    ws = workspace(
        tmp_path / "ws",
        {
            "conftest.py": "import os, sys\n\n\ndef pytest_configure(config):\n"
            "    if 'tests/test_gone.py' in sys.argv:\n"
            "        print(f'ERROR: file not found: {os.getcwd()}/tests/test_gone.py', flush=True)\n"
            "        os._exit(4)\n",
            "tests/test_a.py": "def test_a():\n    pass\n",
        },
    )
    spec = TestsSpec(fail_to_pass=("tests/test_a.py::test_a",), pass_to_pass=("tests/test_gone.py::test_g",))
    box = Recording()
    run = run_tests(spec, host_env(tmp_path / "env"), ws, timeout=100, sandbox=box)
    assert len(box.calls) == 2 and outcomes(run) == {"tests/test_a.py::test_a": "passed"}


def test_a_run_that_ended_otherwise_is_not_repeated(tmp_path: Path) -> None:
    """The words of pytest's "not found" in a test's own output, in a run that went through, are no reason."""
    ws = workspace(
        tmp_path / "ws",
        {
            "tests/test_a.py": "def test_a():\n    print('ERROR: file or directory not found: tests/test_a.py')\n"
            "    assert False\n",
            "tests/test_b.py": "def test_b():\n    pass\n",
        },
    )
    spec = TestsSpec(fail_to_pass=("tests/test_a.py::test_a",), pass_to_pass=("tests/test_b.py::test_b",))
    box = Recording()
    run = run_tests(spec, host_env(tmp_path / "env"), ws, sandbox=box)
    assert "ERROR: file or directory not found: tests/test_a.py" in run.output_tail
    assert len(box.calls) == 1 and run.exit_code == 1
    assert outcomes(run) == {"tests/test_a.py::test_a": "failed", "tests/test_b.py::test_b": "passed"}


def test_the_repeated_run_has_at_least_a_second(tmp_path: Path) -> None:
    ws = workspace(tmp_path / "ws", {"test_a.py": "def test_a():\n    pass\n"})
    spec = TestsSpec(fail_to_pass=("test_gone.py::test_g",), pass_to_pass=("test_a.py::test_a",))
    box = Recording(duration=150)
    run = run_tests(spec, host_env(tmp_path / "env"), ws, timeout=100, sandbox=box)
    assert [t for _j, t in box.calls] == [100, 1.0]
    assert outcomes(run) == {"test_a.py::test_a": "passed"}


def test_a_custom_command_is_run_once_as_written(tmp_path: Path) -> None:
    """The task's own command: pytest's "not found" is its answer (the files are the task's to name)."""
    ws = workspace(tmp_path / "ws", {"test_a.py": "def test_a():\n    pass\n"})
    spec = TestsSpec(
        fail_to_pass=("test_gone.py::test_g",), pass_to_pass=("test_a.py::test_a",), command="python -m pytest {tests}"
    )
    box = Recording()
    run = run_tests(spec, host_env(tmp_path / "env"), ws, timeout=60, sandbox=box)
    assert len(box.calls) == 1 and run.exit_code == 4 and run.outcomes == {}
    assert "ERROR: file or directory not found: test_gone.py" in run.output_tail


def test_collection_errors_are_reported_by_module(tmp_path: Path) -> None:
    ws = workspace(
        tmp_path / "ws",
        {"tests/test_a.py": "def test_a():\n    pass\n", "tests/test_broken.py": "def test_b(:\n    pass\n"},
    )
    spec = TestsSpec(fail_to_pass=("tests/test_broken.py::test_b",), pass_to_pass=("tests/test_a.py::test_a",))
    run = run_recorded(spec, host_env(tmp_path / "env"), ws, timeout=60)
    assert outcomes(run) == {}  # pytest stops the session after a collection error
    assert [module for module, _message in run.collection_errors] == ["tests.test_broken"]
    assert run.collection_errors[0][1] == "collection failure" and run.junit_found and run.exit_code == 2


def test_the_canary_ids_run_after_the_hidden_tests_and_are_reported_apart(tmp_path: Path) -> None:
    ws = workspace(
        tmp_path / "ws",
        {
            "tests/test_a.py": "def test_a():\n    pass\n",
            "tests/test_q1w2e3.py": "def test_f():\n    assert 2 + 2 == 5\n\n\ndef test_p():\n    assert 2 + 2 == 4\n",
        },
    )
    spec = TestsSpec(fail_to_pass=("tests/test_a.py::test_a",))
    extra = ("tests/test_q1w2e3.py::test_f", "tests/test_q1w2e3.py::test_p")
    box = Recording()
    run = run_tests(spec, host_env(tmp_path / "env"), ws, timeout=60, extra=iter(extra), sandbox=box)
    assert outcomes(run) == {"tests/test_a.py::test_a": "passed"}
    assert {k: v.outcome for k, v in run.extra_outcomes.items()} == {extra[0]: "failed", extra[1]: "passed"}
    assert run.command.argv[-2:] == ("tests/test_a.py", "tests/test_q1w2e3.py")


def test_the_tasks_limits_services_variables_and_import_roots_apply(tmp_path: Path) -> None:
    ws = workspace(
        tmp_path / "ws",
        {
            "test_l.py": "import os, resource, time\n\n\ndef test_l():\n"
            "    assert resource.getrlimit(resource.RLIMIT_FSIZE)[0] == 3 * 1024 * 1024\n"
            "    assert os.environ['TASK_FLAG'] == 'on'\n"
            "    for _ in range(200):\n"
            "        if os.path.exists('service-ran'):\n"
            "            break\n"
            "        time.sleep(0.05)\n"
            "    assert open('service-ran').read().strip() == 'up'\n",
            "tests/test_src.py": "def test_src():\n    import mypkg\n\n    assert mypkg.X == 1\n",
            "src/mypkg/__init__.py": "X = 1\n",
        },
    )
    options = SandboxSpec(file_size_mb=3, services=("echo up > service-ran",))
    env = host_env(tmp_path / "env", variables=(("TASK_FLAG", "on"),), import_roots=("src",))
    spec = TestsSpec(fail_to_pass=("test_l.py::test_l",), pass_to_pass=("tests/test_src.py::test_src",))
    run = run_recorded(spec, env, ws, timeout=60, sandbox_spec=options)
    # The environment's variables, and its import roots inside the workspace (src/ here).
    assert outcomes(run) == {"test_l.py::test_l": "passed", "tests/test_src.py::test_src": "passed"}, run.output_tail
    assert run.isolation["limits"] == {"memory_mb": 8192, "file_size_mb": 3, "processes": 4096, "cpu_s": 120}
    assert run.isolation["services"] == ["echo up > service-ran"]


# A "test command" that writes the JUnit file itself (as code under test could), then does what it is told.
WRITER = """\
import os, sys, time
path = next(a.split("=", 1)[1] for a in sys.argv if a.startswith("--junitxml="))
how, size = sys.argv[1], int(sys.argv[2])
body = '<testsuites><testsuite><testcase classname="test_a" name="test_a"/></testsuite></testsuites>'
if how == "broken":
    body = body[:40]
body += " " * (size - len(body))
if how == "symlink":
    with open("elsewhere.xml", "w") as f:
        f.write(body)
    os.symlink(os.path.abspath("elsewhere.xml"), path)
else:
    with open(path, "w") as f:
        f.write(body)
open("wrote", "w").close()
if how == "hang":
    time.sleep(60)
"""


def writer_run(tmp_path: Path, how: str, size: int = 200, **spec: Any) -> TestRun:
    ws = workspace(tmp_path / "ws", {"writer.py": WRITER, "test_a.py": ""})
    tests = TestsSpec(fail_to_pass=("test_a.py::test_a",), command=f"python writer.py {how} {size}", **spec)
    return run_recorded(tests, host_env(tmp_path / "env"), ws)


def test_a_junit_file_is_read(tmp_path: Path) -> None:
    run = writer_run(tmp_path, "write", timeout=60)
    assert outcomes(run) == {"test_a.py::test_a": "passed"} and run.junit_found and run.exit_code == 0


def test_a_run_that_timed_out_counts_nothing_it_wrote(tmp_path: Path) -> None:
    """The spec's timeout applies; a JUnit file written before the kill is not read (the run did not end)."""
    run = writer_run(tmp_path, "hang", timeout=2.0)
    assert (tmp_path / "ws" / "wrote").exists()  # the file was there when the run was killed
    assert run.timed_out and run.command.timed_out
    assert run.junit_found is False and run.outcomes == {} and run.extra_outcomes == {} and run.collection_errors == ()
    assert run.isolation["limits"]["cpu_s"] == 62


@pytest.mark.parametrize(("size", "read"), [(1_000_000, True), (1_000_001, False)])
def test_a_junit_file_over_the_limit_is_not_read(tmp_path: Path, size: int, read: bool) -> None:
    """[tests] max_junit_mb: a MB is a million bytes."""
    run = writer_run(tmp_path, "write", size, max_junit_mb=1, timeout=60)
    assert run.junit_found is read
    assert outcomes(run) == ({"test_a.py::test_a": "passed"} if read else {})
    assert run.junit_problem == (
        ""
        if read
        else "the test run wrote a JUnit XML of 1 MB, over the limit of 1 MB ([tests] max_junit_mb), "
        "so it was not read and no test counts as run"
    )


def test_the_size_is_told_in_mb(tmp_path: Path) -> None:
    run = writer_run(tmp_path, "write", 2_500_001, max_junit_mb=0.5, timeout=60)
    assert run.junit_problem.startswith("the test run wrote a JUnit XML of 3 MB, over the limit of 0.5 MB ")


@pytest.mark.parametrize("how", ["symlink", "broken"])
def test_a_junit_file_that_is_a_symlink_or_not_xml_is_not_read(tmp_path: Path, how: str) -> None:
    run = writer_run(tmp_path, how, timeout=60)
    assert run.exit_code == 0 and run.junit_found is False and run.junit_problem == ""
    assert run.outcomes == {} and run.extra_outcomes == {} and run.collection_errors == ()


@pytest.fixture
def outside_tmp() -> Iterator[Path]:
    """A folder outside /tmp (the sandbox's /tmp is private: nothing there needs hiding)."""
    base = Path("/var/tmp")
    if not os.access(base, os.W_OK):
        pytest.skip("/var/tmp is not writable")
    path = Path(tempfile.mkdtemp(prefix="proofswe-runner-", dir=base))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@dataclass
class SuitesInterpreter:
    """A sandbox whose jobs also read the suite's own installation: ``host_env`` stands this
    interpreter in for a task's environment, and a virtual environment of the suite's under /tmp
    (``git clone . /tmp/x && bash .ci/run``) would otherwise be hidden by the sandbox's private /tmp."""

    inner: Sandbox
    name: str = "bwrap"

    def results_path(self, host_dir: Path) -> Path:
        return self.inner.results_path(host_dir)

    def run(self, job: Job, *, timeout: float | None) -> process.ProcessResult:
        job = dataclasses.replace(job, readonly=(*job.readonly, Path(sys.prefix)))
        return self.inner.run(job, timeout=timeout)

    def describe(self, job: Job | None = None, timeout: float | None = None) -> dict[str, Any]:
        return self.inner.describe(job, timeout)


@pytest.mark.skipif(not probe_bwrap().works, reason=f"bubblewrap does not work here: {probe_bwrap().problem}")
def test_in_the_bwrap_sandbox(tmp_path: Path, outside_tmp: Path) -> None:
    """The JUnit file comes back from the sandbox; the task folder is hidden, the environment readable."""
    task = outside_tmp / "task"
    (task / "hidden_tests").mkdir(parents=True)
    env = host_env(outside_tmp / "cache" / "env", variables=(("TASK_FLAG", "on"),))
    (env.root / "marker").write_text("")
    ws = workspace(
        tmp_path / "ws",
        {
            "test_s.py": "import os\n\n\ndef test_s():\n"
            f"    assert os.listdir({str(task)!r}) == []\n"
            f"    assert os.listdir({str(env.root)!r}) == ['marker']\n"
            "    assert os.environ['TASK_FLAG'] == 'on' and os.environ['HOME'] == '/tmp/home'\n",
        },
    )
    box = Recording(SuitesInterpreter(BwrapSandbox(probe_bwrap(), hidden=(outside_tmp / "cache",))))
    run = run_tests(TestsSpec(fail_to_pass=("test_s.py::test_s",)), env, ws, timeout=60, sandbox=box, hidden=(task,))
    assert outcomes(run) == {"test_s.py::test_s": "passed"}, run.output_tail
    assert run.isolation["backend"] == "bwrap" and run.isolation["limits"]["cpu_s"] == 120
