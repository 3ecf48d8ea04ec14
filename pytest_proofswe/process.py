"""The one place that spawns processes: own process group, timeout, capped output.

Every subprocess the harness starts (git, the task's setup commands, the hidden
tests) goes through :func:`run`. The child gets a new session (and so its own
process group), a closed stdin, and on timeout the whole group is killed, so a
submission cannot leave a forked child behind. Output is read by a thread that
keeps only a head and a tail, so memory stays bounded whatever the child prints.
"""

from __future__ import annotations

import os
import re
import resource
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CommandRecord", "ProcessResult", "is_secret_name", "output", "output_bytes", "run", "scrubbed_environ"]

#: Bytes of output kept from the start and from the end of a command's output.
HEAD_BYTES = 16 * 1024
TAIL_BYTES = 64 * 1024

# A variable whose name contains one of these words is a credential.
_SECRET_WORDS = re.compile(
    r"KEY|TOKEN|SECRET|PASSW|PASSPHRASE|CREDENTIAL|AUTH|COOKIE|SESSION|PRIVATE|DSN",
    re.IGNORECASE,
)
# LLM providers and clouds whose whole variable families are dropped (base URLs and
# organisation ids included: they let code reach a paid account with the ambient login).
_PROVIDER_PREFIXES = (
    "OPENAI",
    "ANTHROPIC",
    "AZURE",
    "AWS",
    "GOOGLE",
    "GCLOUD",
    "GEMINI",
    "VERTEX",
    "PALM",
    "COHERE",
    "MISTRAL",
    "GROQ",
    "HF_",
    "HUGGINGFACE",
    "TOGETHER",
    "REPLICATE",
    "OPENROUTER",
    "DEEPSEEK",
    "XAI",
    "LITELLM",
    "OLLAMA",
    "FIREWORKS",
    "PERPLEXITY",
    "VOYAGE",
    "ANYSCALE",
    "DATABRICKS",
    "WATSONX",
    "BEDROCK",
    "SAGEMAKER",
    "CLAUDE",
    "CODEX",
    "CEREBRAS",
    "NVIDIA_NIM",
    "GITHUB_TOKEN",
    "GH_",
    "GITLAB",
    "NPM_",
    "PYPI",
    "TWINE",
    "UV_PUBLISH",
    "DOCKER_AUTH",
)
# The harness's own pytest and Python settings must not leak into the graded run.
_HARNESS_PREFIXES = (
    "PYTEST_",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONUSERBASE",
    "PYTHONINSPECT",
    "PYTHONBREAKPOINT",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "COV_CORE_",
    # A Ray worker's own variables (the cluster's address, the raylet's pid): a graded run
    # must not reach the cluster that grades it (--proofswe-executor=ray).
    "RAY_",
)


def is_secret_name(name: str) -> bool:
    """Whether an environment variable called ``name`` may hold a credential."""
    upper = name.upper()
    return bool(_SECRET_WORDS.search(upper)) or upper.startswith(_PROVIDER_PREFIXES)


def scrubbed_environ(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of ``base`` (default ``os.environ``) without secrets and harness settings."""
    source = os.environ if base is None else base
    return {
        name: value
        for name, value in source.items()
        if not is_secret_name(name) and not name.upper().startswith(_HARNESS_PREFIXES)
    }


@dataclass(frozen=True)
class CommandRecord:
    """What reproduces one command: its argv, where it ran, how it ended, how long it took."""

    argv: tuple[str, ...]
    cwd: str
    exit_code: int | None
    duration_s: float
    timed_out: bool = False

    def to_json(self) -> dict[str, object]:
        return {
            "argv": list(self.argv),
            "cwd": self.cwd,
            "exit_code": self.exit_code,
            "duration_s": round(self.duration_s, 3),
            "timed_out": self.timed_out,
        }


@dataclass(frozen=True)
class ProcessResult:
    """The outcome of :func:`run`."""

    argv: tuple[str, ...]
    cwd: str
    returncode: int | None
    output: str
    output_bytes: int
    duration_s: float
    timed_out: bool = False
    truncated: bool = field(default=False)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def tail(self, lines: int = 30) -> str:
        """The last ``lines`` lines of the output."""
        return "\n".join(self.output.rstrip().splitlines()[-lines:])

    def record(self, *, cwd_label: str | None = None) -> CommandRecord:
        return CommandRecord(self.argv, cwd_label or self.cwd, self.returncode, self.duration_s, self.timed_out)


class _CappedReader(threading.Thread):
    """Drains a pipe, keeping the first HEAD_BYTES and the last TAIL_BYTES."""

    def __init__(self, stream: object) -> None:
        super().__init__(daemon=True)
        self._stream = stream
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def run(self) -> None:
        read = self._stream.read  # type: ignore[attr-defined]
        while True:
            chunk: bytes = read(65536)
            if not chunk:
                break
            self.total += len(chunk)
            room = HEAD_BYTES - len(self.head)
            if room > 0:
                self.head += chunk[:room]
                chunk = chunk[room:]
            if chunk:
                self.tail += chunk
                if len(self.tail) > TAIL_BYTES:
                    del self.tail[: len(self.tail) - TAIL_BYTES]

    def text(self) -> tuple[str, bool]:
        truncated = self.total > len(self.head) + len(self.tail)
        data = bytes(self.head)
        if truncated:
            omitted = self.total - len(self.head) - len(self.tail)
            data += f"\n[... {omitted} bytes of output omitted ...]\n".encode()
        data += bytes(self.tail)
        return data.decode("utf-8", errors="replace"), truncated


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _limiter(rlimits: Mapping[int, int]) -> Callable[[], None]:
    """A preexec function that lowers the child's rlimits (computed here, in the parent)."""
    pairs = []
    for res, value in rlimits.items():
        _soft, hard = resource.getrlimit(res)
        limit = value if hard == resource.RLIM_INFINITY else min(value, hard)
        pairs.append((res, limit))

    def apply() -> None:
        for res, limit in pairs:
            resource.setrlimit(res, (limit, limit))

    return apply


def run(
    argv: Sequence[str],
    *,
    cwd: Path | str,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    input_bytes: bytes | None = None,
    rlimits: Mapping[int, int] | None = None,
) -> ProcessResult:
    """Run ``argv`` in ``cwd`` and wait for it, bounded by ``timeout`` seconds.

    stdout and stderr are merged. When the command ends (or times out) the whole
    process group is killed, so that daemons a submission starts do not outlive it.
    ``rlimits`` (resource -> limit) are set in the child before it starts ``argv``,
    never above the grader's own hard limits.
    """
    started = time.monotonic()
    preexec = _limiter(rlimits) if rlimits else None
    proc = subprocess.Popen(
        list(argv),
        cwd=str(cwd),
        env=dict(env) if env is not None else None,
        stdin=subprocess.PIPE if input_bytes is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        close_fds=True,
        preexec_fn=preexec,
    )
    reader = _CappedReader(proc.stdout)
    reader.start()
    if input_bytes is not None and proc.stdin is not None:
        try:
            proc.stdin.write(input_bytes)
        except BrokenPipeError:
            pass
        finally:
            proc.stdin.close()
    timed_out = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
    except BaseException:
        # Ctrl-C or anything else: never leave the group running.
        _kill_group(proc)
        proc.wait()
        raise
    finally:
        _kill_group(proc)
    proc.wait()
    reader.join(timeout=5)
    if not reader.is_alive() and proc.stdout is not None:
        proc.stdout.close()
    text, truncated = reader.text()
    return ProcessResult(
        argv=tuple(argv),
        cwd=str(cwd),
        returncode=None if timed_out else proc.returncode,
        output=text,
        output_bytes=reader.total,
        duration_s=time.monotonic() - started,
        timed_out=timed_out,
        truncated=truncated,
    )


def output(
    argv: Sequence[str], *, cwd: Path | str, env: Mapping[str, str] | None = None, timeout: float = 300
) -> tuple[int, str, str]:
    """Run a trusted, quick command (git on the user's repository) and return (exit code, stdout, stderr).

    Unlike :func:`run`, stdout and stderr are kept apart: the caller parses stdout.
    """
    done = subprocess.run(
        list(argv),
        cwd=str(cwd),
        env=dict(env) if env is not None else None,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout,
        start_new_session=True,
    )
    return (
        done.returncode,
        done.stdout.decode("utf-8", errors="replace"),
        done.stderr.decode("utf-8", errors="replace"),
    )


def output_bytes(
    argv: Sequence[str],
    *,
    cwd: Path | str,
    env: Mapping[str, str] | None = None,
    input_bytes: bytes | None = None,
    timeout: float = 600,
) -> tuple[int, bytes, str]:
    """Like :func:`output`, with stdout as bytes, whole, and optional input (``git cat-file --batch``)."""
    done = subprocess.run(
        list(argv),
        cwd=str(cwd),
        env=dict(env) if env is not None else None,
        input=input_bytes if input_bytes is not None else b"",
        capture_output=True,
        timeout=timeout,
        start_new_session=True,
    )
    return done.returncode, done.stdout, done.stderr.decode("utf-8", errors="replace")
