"""The bwrap command line the sandbox builds, the choice of backend, and [sandbox] in task.toml."""

from __future__ import annotations

import dataclasses
import os
import resource
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_proofswe.errors import TaskError, UsageError
from pytest_proofswe.harness import sandbox
from pytest_proofswe.harness.sandbox import RESULTS_DIR, BwrapSandbox, Job, Limits, NoSandbox, Probe
from pytest_proofswe.task import SandboxSpec, load_task

PROBE = Probe("/usr/bin/bwrap", "0.8.0", works=True, user_namespace=True)


@pytest.fixture
def tmp_path() -> Iterator[Path]:
    """A folder outside /tmp: the sandbox's /tmp is private anyway, so nothing under it is hidden or bound."""
    base = Path("/var/tmp")
    if not os.access(base, os.W_OK):
        pytest.skip("/var/tmp is not writable")
    path = Path(tempfile.mkdtemp(prefix="proofswe-sandbox-", dir=base))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _job(tmp_path: Path, **kw: object) -> Job:
    ws = tmp_path / "ws" / "workspace"
    ws.mkdir(parents=True, exist_ok=True)
    results = tmp_path / "results"
    results.mkdir(exist_ok=True)
    env_root = tmp_path / "cache" / "envs" / "abc"
    (env_root / "venv").mkdir(parents=True, exist_ok=True)
    defaults: dict[str, object] = {
        "argv": ("python", "-m", "pytest"),
        "workspace": ws,
        "environ": {
            "PATH": "/venv/bin:/usr/bin",
            "HOME": "/home/grader",
            "MYSQL_PWD": "secret",
            "DATABASE_URL": "postgres://x",
            "PYTHONPATH": str(ws),
            "LC_ALL": "C.UTF-8",
            "TASK_FLAG": "1",
        },
        "results": results,
        "readonly": (env_root,),
        "keep_env": ("TASK_FLAG",),
    }
    defaults.update(kw)
    return Job(**defaults)  # type: ignore[arg-type]


def _pairs(argv: list[str], flag: str) -> list[tuple[str, str]]:
    return [(argv[i + 1], argv[i + 2]) for i, a in enumerate(argv) if a == flag]


def test_argv_unshares_everything_and_drops_capabilities(tmp_path: Path) -> None:
    argv = BwrapSandbox(PROBE).argv(_job(tmp_path))
    assert argv[0] == "/usr/bin/bwrap"
    for flag in ("--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-user"):
        assert flag in argv
    assert "--die-with-parent" in argv and "--new-session" in argv
    assert argv[argv.index("--cap-drop") + 1] == "ALL"
    assert argv[-4:] == ["--", "python", "-m", "pytest"]


def test_no_user_namespace_when_the_probe_found_none(tmp_path: Path) -> None:
    probe = Probe("/usr/bin/bwrap", "0.8.0", works=True, user_namespace=False)
    argv = BwrapSandbox(probe).argv(_job(tmp_path))
    assert "--unshare-user" not in argv
    assert "user" not in BwrapSandbox(probe).describe()["namespaces"]


def test_filesystem_read_only_host_private_tmp_writable_workspace(tmp_path: Path) -> None:
    job = _job(tmp_path)
    argv = BwrapSandbox(PROBE).argv(job)
    assert ("/", "/") in _pairs(argv, "--ro-bind")
    assert argv[argv.index("--proc") + 1] == "/proc" and argv[argv.index("--dev") + 1] == "/dev"
    assert "/tmp" in [argv[i + 1] for i, a in enumerate(argv) if a == "--tmpfs"]
    binds = _pairs(argv, "--bind")
    assert (str(job.workspace), str(job.workspace)) in binds  # the only writable folders:
    assert (str(job.results), str(RESULTS_DIR)) in binds  # the workspace, and the results at a fixed path
    assert len(binds) == 2
    assert argv[argv.index("--chdir") + 1] == str(job.workspace)


def test_grader_folders_hidden_and_the_environment_bound_back_read_only(tmp_path: Path) -> None:
    home, task = tmp_path / "home", tmp_path / "task"
    home.mkdir()
    task.mkdir()
    job = _job(tmp_path, hidden=(task,))
    argv = BwrapSandbox(PROBE, hidden=(home, tmp_path / "cache", tmp_path / "missing")).argv(job)
    tmpfs = [argv[i + 1] for i, a in enumerate(argv) if a == "--tmpfs"]
    assert str(home) in tmpfs and str(task) in tmpfs and str(tmp_path / "cache") in tmpfs
    assert str(tmp_path / "missing") not in tmpfs  # bwrap cannot make a mount point on the read-only host
    env_root = str(job.readonly[0])
    assert (env_root, env_root) in _pairs(argv, "--ro-bind")
    # Order matters: the environment is bound after the cache is hidden, the workspace last.
    assert argv.index(str(tmp_path / "cache")) < argv.index(env_root) < argv.index("--bind")


def test_system_folders_are_never_hidden(tmp_path: Path) -> None:
    argv = BwrapSandbox(PROBE, hidden=(Path("/"), Path("/usr"), Path("/tmp"))).argv(_job(tmp_path))
    assert [argv[i + 1] for i, a in enumerate(argv) if a == "--tmpfs"] == ["/tmp"]


def test_environment_is_an_allow_list(tmp_path: Path) -> None:
    box = BwrapSandbox(PROBE)
    job = _job(tmp_path)
    argv = box.argv(job)
    assert "--clearenv" in argv
    env = dict(_pairs(argv, "--setenv"))
    assert "MYSQL_PWD" not in env and "DATABASE_URL" not in env
    assert env["HOME"] == sandbox.SANDBOX_HOME and env["TMPDIR"] == "/tmp"
    assert env["PATH"] == "/venv/bin:/usr/bin" and env["LC_ALL"] == "C.UTF-8"
    assert env["TASK_FLAG"] == "1"  # declared by the task: kept
    assert env["PYTHONPATH"] == str(job.workspace)


def test_services_start_before_the_command(tmp_path: Path) -> None:
    argv = BwrapSandbox(PROBE).argv(_job(tmp_path, services=("python -m http.server 8080",)))
    tail = argv[argv.index("--") + 1 :]
    assert tail[:2] == ["/bin/sh", "-c"]
    assert "(python -m http.server 8080) &" in tail[2] and 'exec "$@"' in tail[2]
    assert tail[-3:] == ["python", "-m", "pytest"]


def test_limits_become_rlimits_and_the_cpu_default_follows_the_timeout() -> None:
    limits = Limits(memory_mb=512, file_size_mb=10, processes=64)
    got = limits.rlimits(100)
    assert got[resource.RLIMIT_AS] == 512 * 1024 * 1024 and got[resource.RLIMIT_FSIZE] == 10 * 1024 * 1024
    assert got[resource.RLIMIT_NPROC] == 64 and got[resource.RLIMIT_CPU] == 160
    assert Limits(cpu_s=5).rlimits(100)[resource.RLIMIT_CPU] == 5


def test_choose_none_auto_and_bwrap(tmp_path: Path) -> None:
    assert isinstance(sandbox.choose("none"), NoSandbox)
    missing = str(tmp_path / "no-bwrap")
    sandbox.probe_bwrap.cache_clear()
    box = sandbox.choose("auto", binary=missing)
    assert isinstance(box, NoSandbox) and box.reason.startswith("auto: ")
    assert "bubblewrap is not installed" in box.reason
    not_a_sandbox = tmp_path / "false-bwrap"
    not_a_sandbox.write_text("#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n")
    not_a_sandbox.chmod(0o755)
    with pytest.raises(
        UsageError, match=r"--proofswe-sandbox=bwrap: .*cannot create a sandbox here.*Permission denied"
    ):
        sandbox.choose("bwrap", binary=str(not_a_sandbox))
    sandbox.probe_bwrap.cache_clear()
    with pytest.raises(UsageError, match="must be one of auto, bwrap, none"):
        sandbox.choose("docker")


def test_missing_binary_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    sandbox.probe_bwrap.cache_clear()
    try:
        with pytest.raises(UsageError, match=r"bubblewrap is not installed.*apt-get install bubblewrap"):
            sandbox.choose("bwrap")
    finally:
        sandbox.probe_bwrap.cache_clear()


def test_user_namespace_hint_names_the_sysctl(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    knob = tmp_path / "unprivileged_userns_clone"
    knob.write_text("0\n")
    real = Path.read_text

    def fake(self: Path, *a: object, **kw: object) -> str:
        if str(self) == "/proc/sys/kernel/unprivileged_userns_clone":
            return real(knob)
        return real(self, *a, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", fake)
    assert "sysctl -w kernel.unprivileged_userns_clone=1" in sandbox._userns_hint()


def _task(tmp_path: Path, extra: str) -> Path:
    (tmp_path / "repo").mkdir()
    (tmp_path / "task.toml").write_text('[tests]\nfail_to_pass = ["tests/test_a.py::test_a"]\n' + extra)
    return tmp_path


def test_task_sandbox_table(tmp_path: Path) -> None:
    task = load_task(_task(tmp_path, '[sandbox]\nmemory_mb = 1024\ncpu_s = 30\nservices = ["redis-server"]\n'))
    assert task.sandbox == SandboxSpec(memory_mb=1024, cpu_s=30, services=("redis-server",))
    limits = task.sandbox.limits()
    assert limits.memory_mb == 1024 and limits.cpu_s == 30 and limits.processes == Limits().processes


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("[sandbox]\nmemory_mb = 0\n", "'sandbox.memory_mb' must be a whole number of at least 1"),
        ("[sandbox]\nprocesses = 1.5\n", "'sandbox.processes' must be a whole number"),
        ("[sandbox]\nservices = 'x'\n", "sandbox.services"),
        ("[sandbox]\nmemory = 1\n", "memory"),
    ],
)
def test_task_sandbox_table_errors(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(TaskError, match=message):
        load_task(_task(tmp_path, extra))


def test_without_a_sandbox_the_rlimits_still_hold(tmp_path: Path) -> None:
    """--proofswe-sandbox=none isolates nothing, but the rlimits need no privilege: they apply."""
    code = (
        "import resource\n"
        "print('FSIZE', resource.getrlimit(resource.RLIMIT_FSIZE)[0])\n"
        "print('AS', resource.getrlimit(resource.RLIMIT_AS)[0])\n"
        "print('CPU', resource.getrlimit(resource.RLIMIT_CPU)[0])\n"
    )
    job = Job(
        argv=(sys.executable, "-c", code),
        workspace=tmp_path,
        environ={"PATH": "/usr/bin:/bin"},
        results=tmp_path,
        limits=Limits(memory_mb=4096, file_size_mb=3, cpu_s=77),
    )
    out = NoSandbox().run(job, timeout=30).output
    assert f"FSIZE {3 * 1024 * 1024}" in out and f"AS {4096 * 1024 * 1024}" in out and "CPU 77" in out, out
    default = NoSandbox().run(dataclasses.replace(job, limits=Limits()), timeout=40).output
    assert "CPU 100" in default, default  # the timeout plus a minute
    described = NoSandbox().describe(job, 30)
    assert described["limits"] == {"memory_mb": 4096, "file_size_mb": 3, "processes": 4096, "cpu_s": 77}
    assert described["backend"] == "none" and described["reason"] == "--proofswe-sandbox=none"


def test_without_a_timeout_the_cpu_limit_is_an_hour_and_a_minute() -> None:
    assert Limits().rlimits(None) == {
        resource.RLIMIT_AS: 8192 * 1024 * 1024,
        resource.RLIMIT_FSIZE: 2048 * 1024 * 1024,
        resource.RLIMIT_NPROC: 4096,
        resource.RLIMIT_CPU: 3660,
        resource.RLIMIT_CORE: 0,  # no core files in the workspace
    }
    assert Limits().to_json(None) == {"memory_mb": 8192, "file_size_mb": 2048, "processes": 4096, "cpu_s": 3660}


KNOBS = [
    ("/proc/sys/kernel/unprivileged_userns_clone", "0", "sysctl -w kernel.unprivileged_userns_clone=1"),
    ("/proc/sys/user/max_user_namespaces", "0", "sysctl -w user.max_user_namespaces=15000"),
    (
        "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
        "1",
        "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 (or an AppArmor profile for bwrap)",
    ),
]


def _knobs(monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> None:
    """/proc/sys as ``values`` says; a knob not in it does not exist on this kernel."""
    real = Path.read_text

    def fake(self: Path, *a: object, **kw: object) -> str:
        if str(self).startswith("/proc/sys/"):
            if str(self) not in values:
                raise FileNotFoundError(str(self))
            return values[str(self)] + "\n"
        return real(self, *a, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", fake)


@pytest.mark.parametrize(("knob", "bad", "fix"), KNOBS)
def test_each_user_namespace_knob_is_named_with_its_fix(
    monkeypatch: pytest.MonkeyPatch, knob: str, bad: str, fix: str
) -> None:
    _knobs(monkeypatch, {knob: bad})  # the knobs before it do not exist here
    assert sandbox._userns_hint() == f"user namespaces are disabled ({knob} is {bad}; fix: {fix})"


def test_no_hint_when_no_knob_disables_user_namespaces(monkeypatch: pytest.MonkeyPatch) -> None:
    _knobs(monkeypatch, {KNOBS[0][0]: "1", KNOBS[1][0]: "15000", KNOBS[2][0]: "0"})
    assert sandbox._userns_hint() == ""


def test_every_service_starts_in_a_shell_named_for_them(tmp_path: Path) -> None:
    wait = (
        "import os, time\nfor _ in range(400):\n    if os.path.exists('s2') and os.path.getsize('s2'):\n"
        "        break\n    time.sleep(0.05)\nprint(open('s1').read().strip(), open('s2').read().strip())"
    )
    job = Job(
        argv=(sys.executable, "-c", wait),
        workspace=tmp_path,
        environ={"PATH": "/usr/bin:/bin"},
        results=tmp_path,
        services=('echo "one $0" > s1', 'echo "two $0" > s2'),
    )
    result = NoSandbox().run(job, timeout=60)
    assert result.output.strip() == "one proofswe-services two proofswe-services"


def test_the_environment_and_the_interpreter_it_comes_from_are_bound_back(tmp_path: Path) -> None:
    """Read-only: the environment's folders, and the installations its pyvenv.cfg and bin/python lead to,
    when a hidden folder covers them; never a system folder, a folder that does not exist or one in plain view."""
    cache = tmp_path / "cache"
    env_root = cache / "envs" / "abc"  # holds its venv in venv/ (no pyvenv.cfg of its own)
    home = cache / "pythons" / "cpython=3.11"  # the base installation (an "=" in its path)
    real = cache / "pythons" / "real"  # where venv/bin/python leads
    (home / "bin").mkdir(parents=True)
    (real / "bin").mkdir(parents=True)
    (real / "bin" / "python3.11").write_text("")
    (cache / "pythons" / "exe" / "bin").mkdir(parents=True)
    (env_root / "venv" / "bin").mkdir(parents=True)
    (env_root / "venv" / "bin" / "python").symlink_to(real / "bin" / "python3.11")
    (env_root / "venv" / "pyvenv.cfg").write_text(
        f"home = {home}/bin\ninclude-system-site-packages = false\n"
        f"executable = {cache}/pythons/exe/bin/python3.11\nversion = 3.11.4\n"
    )
    flat = cache / "envs" / "flat"  # a venv at its root
    flat_home = cache / "pythons" / "flat"
    (flat_home / "bin").mkdir(parents=True)
    flat.mkdir(parents=True)
    (flat / "pyvenv.cfg").write_text(f"home = {flat_home}/bin\n")
    from_tmp = cache / "envs" / "from-tmp"  # made from an interpreter in /tmp: never bound over the private /tmp
    (from_tmp / "venv").mkdir(parents=True)
    (from_tmp / "venv" / "pyvenv.cfg").write_text("home = /tmp/bin\n")
    in_view = tmp_path / "in-view"
    in_view.mkdir()
    readonly = (env_root, flat, from_tmp, cache / "envs" / "missing", in_view)
    argv = BwrapSandbox(PROBE, hidden=(cache,)).argv(_job(tmp_path, readonly=readonly))
    bound = [src for src, dst in _pairs(argv, "--ro-bind") if src == dst]
    assert bound == ["/", str(env_root), str(flat), str(from_tmp), str(home), str(real), str(flat_home)]


def test_folders_already_out_of_sight_get_no_mount_of_their_own(tmp_path: Path) -> None:
    """A folder inside another hidden one, or inside the sandbox's private /tmp, /dev or /proc."""
    home = tmp_path / "home"
    (home / "sub").mkdir(parents=True)
    in_tmp = Path(tempfile.mkdtemp(prefix="proofswe-hidden-"))
    try:
        box = BwrapSandbox(PROBE, hidden=(home / "sub", home, in_tmp, Path("/dev/shm"), Path("/proc/sys")))
        argv = box.argv(_job(tmp_path))
    finally:
        in_tmp.rmdir()
    assert [argv[i + 1] for i, a in enumerate(argv) if a == "--tmpfs"] == ["/tmp", str(home)]


def test_describe_is_the_proof_record(tmp_path: Path) -> None:
    job = _job(tmp_path, services=("redis-server",), limits=Limits(memory_mb=1024))
    assert BwrapSandbox(PROBE).describe(job, 30) == {
        "backend": "bwrap",
        "version": "0.8.0",
        "namespaces": ["pid", "net", "ipc", "uts", "cgroup", "user"],
        "capabilities": "all dropped",
        "filesystem": "host read-only; workspace writable; environment read-only; "
        "private /tmp, /proc, /dev; grader folders hidden",
        "environment": "allow-list",
        "limits": {"memory_mb": 1024, "file_size_mb": 2048, "processes": 4096, "cpu_s": 90},
        "services": ["redis-server"],
    }
    no_user = BwrapSandbox(Probe("/usr/bin/bwrap", "0.9.0", works=True, user_namespace=False)).describe()
    assert no_user["namespaces"] == ["pid", "net", "ipc", "uts", "cgroup"] and no_user["version"] == "0.9.0"
    assert "limits" not in no_user and "services" not in no_user
    assert NoSandbox().describe() == {"backend": "none", "reason": "--proofswe-sandbox=none"}


def _fake_bwrap(path: Path, *, user_namespace: bool) -> str:
    """A stand-in for bwrap: prints a version, runs nothing, refuses --unshare-user unless ``user_namespace``."""
    refuse = "" if user_namespace else 'for a in "$@"; do [ "$a" = --unshare-user ] && exit 1; done\n'
    path.write_text(f'#!/bin/sh\n[ "$1" = --version ] && {{ echo "bubblewrap 0.9.0"; exit 0; }}\n{refuse}exit 0\n')
    path.chmod(0o755)
    return str(path)


@pytest.mark.parametrize("user_namespace", [True, False])
def test_a_bwrap_that_works_is_chosen_with_what_the_probe_found(tmp_path: Path, user_namespace: bool) -> None:
    binary = _fake_bwrap(tmp_path / "bwrap", user_namespace=user_namespace)
    sandbox.probe_bwrap.cache_clear()
    try:
        for mode in ("bwrap", "auto"):
            box = sandbox.choose(mode, hidden=[tmp_path / "home"], binary=binary)
            probe = Probe(binary, "0.9.0", works=True, user_namespace=user_namespace)
            assert box == BwrapSandbox(probe, hidden=(tmp_path / "home",))
    finally:
        sandbox.probe_bwrap.cache_clear()
