"""Isolation of the commands that run submission code: a :class:`Sandbox` backend per run.

Every command that runs code a submission can reach (the hidden test command, and so
the base probes, which run it on the empty patch) is started by a sandbox:

* ``bwrap`` (bubblewrap): new PID, network, IPC, UTS, cgroup and (where the kernel
  allows it) user namespaces; the host read-only; the grader's ``$HOME``, working
  folder, cache, task folder and report folders hidden under empty tmpfs mounts; only
  the workspace writable; the environment and its interpreter read-only; a private
  ``/tmp``, ``/proc`` and ``/dev``; a cleared environment with an allow-list; every
  capability dropped; rlimits. The command is the namespace's init: when it ends, the
  kernel kills every process left in the namespace, daemons included.
* ``none``: the command runs as the grader's own child (the behaviour before the
  sandbox). docs/security.md lists what a submission can do then.

The JUnit XML is written to a grader-only folder bound at :data:`RESULTS_DIR` for the
duration of the run; the grader reads it after ``bwrap`` has exited, that is after
every process of the sandbox is dead, so nothing can rewrite it afterwards.
"""

from __future__ import annotations

import functools
import os
import resource
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .. import process
from ..errors import UsageError

__all__ = [
    "MODES",
    "RESULTS_DIR",
    "BwrapSandbox",
    "Job",
    "Limits",
    "NoSandbox",
    "Probe",
    "Sandbox",
    "choose",
    "probe_bwrap",
]

MODES = ("auto", "bwrap", "none")

#: Where the grader's private results folder appears inside the sandbox (inside its private /tmp).
RESULTS_DIR = Path("/tmp/.proofswe-results")
#: The fake, writable $HOME of the command inside the sandbox.
SANDBOX_HOME = "/tmp/home"

# Variables the command may see. Everything else of the grader's environment is dropped;
# the task's own [environment] env is added by name.
_ALLOWED = frozenset(
    {
        "PATH",
        "LANG",
        "LANGUAGE",
        "TZ",
        "TERM",
        "VIRTUAL_ENV",
        "PYTHONPATH",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONHASHSEED",
        "PYTHONNOUSERSITE",
        "PYTHONIOENCODING",
        "PYTHONUTF8",
        "PYTHONWARNINGS",
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD",
        "PYTEST_PLUGINS",
        "PYTEST_ADDOPTS",
        "NO_COLOR",
        "FORCE_COLOR",
    }
)
_ALLOWED_PREFIXES = ("LC_",)

# Folders never hidden under a tmpfs (hiding them would hide the system).
_SYSTEM = frozenset({"/", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc", "/opt", "/var", "/tmp", "/dev"})

_MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """rlimits of every process of a sandboxed command (task.toml ``[sandbox]`` overrides them)."""

    memory_mb: int = 8192  # address space per process
    file_size_mb: int = 2048  # largest file a process may write
    processes: int = 4096  # processes of the user (counted by the kernel per real user)
    cpu_s: int = 0  # CPU seconds per process; 0: the test timeout plus a minute

    def rlimits(self, timeout: float | None) -> dict[int, int]:
        cpu = self.cpu_s or int(timeout or 3600) + 60
        return {
            resource.RLIMIT_AS: self.memory_mb * _MB,
            resource.RLIMIT_FSIZE: self.file_size_mb * _MB,
            resource.RLIMIT_NPROC: self.processes,
            resource.RLIMIT_CPU: cpu,
            resource.RLIMIT_CORE: 0,
        }

    def to_json(self, timeout: float | None) -> dict[str, int]:
        return {
            "memory_mb": self.memory_mb,
            "file_size_mb": self.file_size_mb,
            "processes": self.processes,
            "cpu_s": self.cpu_s or int(timeout or 3600) + 60,
        }


@dataclass(frozen=True)
class Job:
    """One command to run in a sandbox."""

    argv: tuple[str, ...]
    workspace: Path  # the one writable folder; also the working directory
    environ: Mapping[str, str]
    results: Path  # the grader's private results folder, seen at RESULTS_DIR inside
    readonly: tuple[Path, ...] = ()  # folders the command needs, bound read-only (the environment)
    hidden: tuple[Path, ...] = ()  # folders of this job to hide besides the sandbox's own (the task folder)
    keep_env: tuple[str, ...] = ()  # names of variables the task declared: kept in the allow-list
    limits: Limits = field(default_factory=Limits)
    services: tuple[str, ...] = ()  # shell commands started in the background inside, before argv


class Sandbox(Protocol):
    """Runs a :class:`Job` and tells what isolation it gave."""

    @property
    def name(self) -> str: ...

    def results_path(self, host_dir: Path) -> Path:
        """Where the command sees the grader's results folder ``host_dir``."""
        ...

    def run(self, job: Job, *, timeout: float | None) -> process.ProcessResult: ...

    def describe(self, job: Job | None = None, timeout: float | None = None) -> dict[str, Any]:
        """The isolation, for the proof of each result and the report."""
        ...


@dataclass(frozen=True)
class NoSandbox:
    """The command runs as the grader's child: no isolation beyond a scrubbed environment."""

    reason: str = "--proofswe-sandbox=none"
    name: str = "none"

    def results_path(self, host_dir: Path) -> Path:
        return host_dir

    def run(self, job: Job, *, timeout: float | None) -> process.ProcessResult:
        services = _with_services(job.argv, job.services)
        # The rlimits hold without a sandbox too: they need no privilege.
        limits = job.limits.rlimits(timeout)
        return process.run(services, cwd=job.workspace, env=job.environ, timeout=timeout, rlimits=limits)

    def describe(self, job: Job | None = None, timeout: float | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"backend": "none", "reason": self.reason}
        if job is not None:
            out["limits"] = job.limits.to_json(timeout)
            out["services"] = list(job.services)
        return out


@dataclass(frozen=True)
class Probe:
    """What a trial run of bwrap showed."""

    binary: str | None
    version: str = ""
    works: bool = False
    user_namespace: bool = False
    problem: str = ""  # why it does not work, and how to enable it


_PROBE_FLAGS = ("--die-with-parent", "--unshare-pid", "--unshare-net", "--ro-bind", "/", "/", "--proc", "/proc")


def _userns_hint() -> str:
    """The sysctl that disables unprivileged user namespaces here, if one does."""
    checks = (
        ("/proc/sys/kernel/unprivileged_userns_clone", "0", "sysctl -w kernel.unprivileged_userns_clone=1"),
        ("/proc/sys/user/max_user_namespaces", "0", "sysctl -w user.max_user_namespaces=15000"),
        (
            "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
            "1",
            "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 (or an AppArmor profile for bwrap)",
        ),
    )
    for path, bad, fix in checks:
        try:
            if Path(path).read_text().strip() == bad:
                return f"user namespaces are disabled ({path} is {bad}; fix: {fix})"
        except OSError:
            continue
    return ""


@functools.lru_cache(maxsize=4)
def probe_bwrap(binary: str | None = None) -> Probe:
    """Whether bwrap runs a command here, and with a user namespace or not (cached per process)."""
    found = shutil.which(binary or "bwrap")
    if not found:
        return Probe(
            None,
            problem=f"bubblewrap is not installed: no {binary or 'bwrap'} on PATH "
            "(fix: install it, e.g. apt-get install bubblewrap, dnf install bubblewrap or pacman -S bubblewrap)",
        )
    version = process.run([found, "--version"], cwd="/", timeout=30)
    label = version.output.strip().split()[-1] if version.ok and version.output.strip() else ""
    errors = []
    for user in (True, False):
        argv = [found, *_PROBE_FLAGS, *(["--unshare-user"] if user else []), "--", "/bin/sh", "-c", "exit 0"]
        trial = process.run(argv, cwd="/", timeout=30)
        if trial.ok:
            return Probe(found, label, works=True, user_namespace=user)
        errors.append(trial.tail(2))
    hint = _userns_hint() or "fix: check that this kernel and container allow namespaces"
    return Probe(found, label, problem=f"{found} cannot create a sandbox here ({errors[-1].strip()}); {hint}")


def _with_services(argv: Sequence[str], services: Sequence[str]) -> list[str]:
    """``argv``, preceded by the task's services started in the background by a shell."""
    if not services:
        return list(argv)
    script = "".join(f"({svc}) &\n" for svc in services) + 'exec "$@"\n'
    return ["/bin/sh", "-c", script, "proofswe-services", *argv]


def _inside(path: Path, parents: Iterable[Path]) -> bool:
    return any(path == p or p in path.parents for p in parents)


def _interpreter_prefixes(readonly: Iterable[Path]) -> list[Path]:
    """The installations a venv's interpreter comes from (``home`` in pyvenv.cfg, and its real path)."""
    out: list[Path] = []
    for root in readonly:
        for cfg in (root / "pyvenv.cfg", root / "venv" / "pyvenv.cfg"):
            try:
                lines = cfg.read_text().splitlines()
            except OSError:
                continue
            for line in lines:
                key, _, value = line.partition("=")
                if key.strip() == "home" and value.strip():
                    out.append(Path(value.strip()).parent)
            python = cfg.parent / "bin" / "python"
            if python.exists():
                out.append(Path(os.path.realpath(python)).parent.parent)
    return out


@dataclass(frozen=True)
class BwrapSandbox:
    """bubblewrap: namespaces, a read-only host and hidden grader folders, for each job."""

    probe: Probe
    hidden: tuple[Path, ...] = ()  # the run's folders to hide: $HOME, cwd, cache, reports, workspaces
    name: str = "bwrap"

    def results_path(self, host_dir: Path) -> Path:
        return RESULTS_DIR

    def environ(self, job: Job) -> dict[str, str]:
        """The allow-listed variables of ``job.environ``, with a fake HOME and TMPDIR."""
        keep = set(job.keep_env)
        env = {k: v for k, v in job.environ.items() if k in _ALLOWED or k in keep or k.startswith(_ALLOWED_PREFIXES)}
        env["HOME"] = SANDBOX_HOME
        env["TMPDIR"] = "/tmp"
        return env

    def argv(self, job: Job) -> list[str]:
        """The bwrap command line for ``job``."""
        assert self.probe.binary is not None
        # --as-pid-1: the command is the namespace's init, so its exit kills every process left
        # in the namespace at once (the kernel does it as part of that exit): no daemon gets the
        # moment between the tests' end and the namespace's to rewrite the JUnit file.
        args = [self.probe.binary, "--die-with-parent", "--new-session", "--as-pid-1"]
        args += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
        if self.probe.user_namespace:
            args.append("--unshare-user")
        args += ["--cap-drop", "ALL"]
        args += ["--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--dir", SANDBOX_HOME]
        private = [Path("/tmp"), Path("/dev"), Path("/proc")]
        hidden: list[Path] = []
        # Sorted: a folder comes before the folders inside it, which it hides already.
        for raw in sorted({Path(os.path.abspath(p)) for p in (*self.hidden, *job.hidden)}):
            if str(raw) in _SYSTEM or _inside(raw, private) or _inside(raw, hidden) or not raw.is_dir():
                continue
            hidden.append(raw)
            args += ["--tmpfs", str(raw)]
        needed = [Path(os.path.abspath(p)) for p in job.readonly]
        needed += [p for p in _interpreter_prefixes(job.readonly) if str(p) not in _SYSTEM]
        for path in dict.fromkeys(needed):
            if path.exists() and (_inside(path, hidden) or _inside(path, private)):
                args += ["--ro-bind", str(path), str(path)]
        # Absolute: bwrap resolves a relative source from its own working directory (the workspace).
        workspace = os.path.abspath(job.workspace)
        args += ["--bind", workspace, workspace]
        git_dir = os.path.join(workspace, ".git")
        if os.path.isdir(git_dir) and not os.path.islink(git_dir):
            # Read-only: a test could plant a hook or core.fsmonitor in .git/config that runs
            # when someone later uses git in a kept workspace, or rewrite the git objects.
            args += ["--ro-bind", git_dir, git_dir]
        args += ["--bind", os.path.abspath(job.results), str(RESULTS_DIR)]
        args += ["--chdir", workspace, "--clearenv"]
        for key, value in sorted(self.environ(job).items()):
            args += ["--setenv", key, value]
        return [*args, "--", *_with_services(job.argv, job.services)]

    def run(self, job: Job, *, timeout: float | None) -> process.ProcessResult:
        limits = job.limits.rlimits(timeout)
        result = process.run(self.argv(job), cwd=job.workspace, env=self.environ(job), timeout=timeout, rlimits=limits)
        return result

    def describe(self, job: Job | None = None, timeout: float | None = None) -> dict[str, Any]:
        namespaces = ["pid", "net", "ipc", "uts", "cgroup"] + (["user"] if self.probe.user_namespace else [])
        out: dict[str, Any] = {
            "backend": "bwrap",
            "version": self.probe.version,
            "namespaces": namespaces,
            "capabilities": "all dropped",
            "filesystem": "host read-only; workspace writable; environment read-only; "
            "private /tmp, /proc, /dev; grader folders hidden",
            "environment": "allow-list",
        }
        if job is not None:
            out["limits"] = job.limits.to_json(timeout)
            out["services"] = list(job.services)
        return out


def choose(mode: str, *, hidden: Sequence[Path] = (), binary: str | None = None) -> Sandbox:
    """The sandbox of a run for ``--proofswe-sandbox=mode``; UsageError when ``bwrap`` cannot work."""
    if mode not in MODES:
        raise UsageError(f"--proofswe-sandbox must be one of {', '.join(MODES)}, got {mode!r}")
    if mode == "none":
        return NoSandbox()
    found = probe_bwrap(binary)
    if found.works:
        return BwrapSandbox(found, hidden=tuple(hidden))
    if mode == "bwrap":
        raise UsageError(f"--proofswe-sandbox=bwrap: {found.problem}")
    return NoSandbox(reason=f"auto: {found.problem}")
