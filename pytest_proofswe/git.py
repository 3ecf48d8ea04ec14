"""Thin wrappers over the git command line (through :mod:`.process`)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from . import process
from .errors import HarnessError

__all__ = ["EMPTY_TREE", "GitError", "blobs", "git", "git_env", "init_snapshot", "output", "resolve_commit"]

# A fixed identity and no user or system configuration: the same inputs give the same
# commit ids on every machine, and no hook, template or alias of the user's runs.
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "proofswe",
    "GIT_AUTHOR_EMAIL": "proofswe@localhost",
    "GIT_COMMITTER_NAME": "proofswe",
    "GIT_COMMITTER_EMAIL": "proofswe@localhost",
    "GIT_AUTHOR_DATE": "2000-01-01T00:00:00+0000",
    "GIT_COMMITTER_DATE": "2000-01-01T00:00:00+0000",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_TERMINAL_PROMPT": "0",
    "LC_ALL": "C",
}


#: The id of the empty tree: what a root commit is compared with.
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


class GitError(HarnessError):
    """A git command failed."""


def git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(_GIT_ENV)
    return env


def git(
    args: Sequence[str], cwd: Path | str, *, check: bool = True, input_bytes: bytes | None = None, timeout: float = 600
) -> process.ProcessResult:
    result = process.run(
        ["git", "-c", "core.hooksPath=/dev/null", "-c", "core.autocrlf=false", "-c", "core.safecrlf=false", *args],
        cwd=cwd,
        env=git_env(),
        timeout=timeout,
        input_bytes=input_bytes,
    )
    if check and not result.ok:
        raise GitError(f"git {' '.join(args)} failed in {cwd} (exit {result.returncode}): {result.tail(5)}")
    return result


def output(args: Sequence[str], cwd: Path | str, *, env: dict[str, str] | None = None) -> str:
    """stdout of a quick git command on the user's repository (stderr kept apart); GitError on failure."""
    code, out, err = process.output(["git", "-c", "core.quotepath=off", *args], cwd=cwd, env=env or git_env())
    if code != 0:
        raise GitError(err.strip() or out.strip())
    return out


def blobs(repo: Path | str, ids: Sequence[str], *, max_bytes: int | None = None) -> dict[str, bytes]:
    """The content of each blob in ``ids`` (read in one ``git cat-file --batch``); larger than ``max_bytes``: left out."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    argv = ["git", "-c", "core.quotepath=off", "cat-file"]
    if max_bytes is not None:
        code, out, err = process.output_bytes(
            [*argv, "--batch-check"], cwd=repo, env=git_env(), input_bytes="\n".join(wanted).encode() + b"\n"
        )
        if code != 0:
            raise GitError(err.strip())
        sizes = {}
        for line in out.decode("ascii", errors="replace").splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] == "blob":
                sizes[parts[0]] = int(parts[2])
        wanted = [i for i in wanted if i in sizes and sizes[i] <= max_bytes]
        if not wanted:
            return {}
    code, out, err = process.output_bytes(
        [*argv, "--batch"], cwd=repo, env=git_env(), input_bytes="\n".join(wanted).encode() + b"\n"
    )
    if code != 0:
        raise GitError(err.strip())
    found: dict[str, bytes] = {}
    pos = 0
    while pos < len(out):
        end = out.index(b"\n", pos)
        header = out[pos:end].decode("ascii", errors="replace").split()
        pos = end + 1
        if len(header) != 3:  # "<id> missing"
            continue
        size = int(header[2])
        found[header[0]] = out[pos : pos + size]
        pos += size + 1
    return found


def resolve_commit(repo: str | Path, commit: str) -> str:
    """The full id of ``commit`` in the local repository ``repo``."""
    if not Path(repo).exists():
        raise GitError(f"{repo} does not exist")
    result = git(["rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}"], cwd=repo, check=False)
    if not result.ok:
        raise GitError(f"unknown revision {commit!r}")
    return result.output.strip()


def init_snapshot(folder: Path) -> str:
    """Make ``folder`` a git repository whose one commit holds every file in it.

    There is no history: nothing of the source repository before or after the base
    state is reachable. Returns the commit id.
    """
    git(["init", "-q", "--initial-branch=proofswe-base"], cwd=folder)
    # -f: record files a .gitignore of the task would hide, so that a reset restores them.
    git(["add", "-A", "-f", "."], cwd=folder)
    git(["commit", "-q", "--allow-empty", "--no-verify", "-m", "base state"], cwd=folder)
    return git(["rev-parse", "HEAD"], cwd=folder).output.strip()
