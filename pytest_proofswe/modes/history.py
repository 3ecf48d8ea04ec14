"""``--proofswe-history=BASE..HEAD``: the decay of each commit of a range, read from git's objects.

Nothing is checked out. The files of the commit the range starts from are listed with
``git ls-tree``, each commit's changes with ``git diff-tree`` against its first parent,
and every distinct file version is read once with ``git cat-file --batch``. So the
working copy, the index and the repository's administrative files are never touched
(``git worktree add`` would write under ``.git/worktrees``; a checkout would rewrite
the user's files). The commits are those of ``git rev-list --first-parent BASE..HEAD``,
oldest first: a merge is one step, its first parent the state it was made on.
"""

from __future__ import annotations

import fnmatch
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import git as gitmod
from ..errors import UsageError
from .decay import MAX_FILE_BYTES, DecayTrend, StepInfo, measure, ruff_config_from

__all__ = ["Commit", "History", "grade_history", "resolve_history"]

_SEP, _END = "\x1f", "\x1e"
_FORMAT = _SEP.join(["%H", "%P", "%an", "%ae", "%aI", "%s", "%B"]) + _END


@dataclass(frozen=True)
class Commit:
    id: str
    parents: tuple[str, ...]
    author: str
    email: str
    date: str  # ISO 8601, the author's date
    subject: str
    message: str

    def info(self) -> StepInfo:
        return StepInfo(self.id, self.subject, f"{self.author} <{self.email}>", self.date)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "subject": self.subject, "author": self.author, "email": self.email, "date": self.date}


@dataclass(frozen=True)
class History:
    """A range of commits of the repository the run started in."""

    top: Path  # the repository's top level
    spec: str  # what the user wrote
    base: str  # BASE, resolved
    head: str  # HEAD, resolved
    start: str  # the commit the first step was made on (gitmod.EMPTY_TREE for a root commit)
    commits: tuple[Commit, ...]  # oldest first
    scope: str = ""  # the folder the measures are limited to ("" for the whole repository)

    def to_json(self) -> dict[str, Any]:
        return {
            "range": self.spec,
            "base": self.base,
            "head": self.head,
            "start": self.start,
            "scope": self.scope,
            "commits": [c.to_json() for c in self.commits],
        }


def _git(args: Sequence[str], top: Path) -> str:
    return gitmod.output(list(args), top)


def _verify(top: Path, rev: str, shallow: bool) -> str:
    try:
        return _git(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], top).strip()
    except gitmod.GitError:
        hint = (
            "this is a shallow clone: fetch the history (actions/checkout with fetch-depth: 0, or git fetch --unshallow)"
            if shallow
            else f"fetch it first (git fetch origin {rev}), or name a commit that git log shows"
        )
        raise UsageError(f"--proofswe-history: unknown revision {rev!r} (fix: {hint})") from None


def resolve_history(rootdir: Path, spec: str) -> History:
    """The commits of ``spec`` (``BASE..HEAD``, or ``BASE`` for ``BASE..HEAD``) in the repository holding ``rootdir``."""
    if "..." in spec:
        raise UsageError(
            f"--proofswe-history={spec}: a symmetric range (...) has no order of steps "
            "(fix: write BASE..HEAD, e.g. v1.0..HEAD)"
        )
    base_name, sep, head_name = spec.partition("..")
    base_name, head_name = base_name.strip(), (head_name.strip() or "HEAD") if sep else "HEAD"
    if not base_name:
        raise UsageError(f"--proofswe-history={spec}: no BASE (fix: write BASE..HEAD, e.g. HEAD~10..HEAD)")
    try:
        top = Path(_git(["rev-parse", "--show-toplevel"], rootdir).strip())
    except gitmod.GitError:
        raise UsageError(
            f"--proofswe-history: {rootdir} is not inside a git repository (fix: run pytest in a git checkout)"
        ) from None
    shallow = _git(["rev-parse", "--is-shallow-repository"], top).strip() == "true"
    base = _verify(top, base_name, shallow)
    head = _verify(top, head_name, shallow)
    log = _git(["log", "--first-parent", "--reverse", f"--format={_FORMAT}", f"{base}..{head}"], top)
    commits = []
    for record in log.split(_END):
        record = record.strip("\n")
        if not record:
            continue
        cid, parents, author, email, date, subject, message = record.split(_SEP, 6)
        commits.append(Commit(cid, tuple(parents.split()), author, email, date, subject, message.strip()))
    if not commits:
        raise UsageError(
            f"--proofswe-history={spec}: no commits between {base_name} and {head_name} "
            f"({head_name} is {base_name} or one of its ancestors) (fix: name the older commit first, BASE..HEAD)"
        )
    first = commits[0]
    if first.parents:
        start = first.parents[0]
    elif shallow:  # pragma: no cover - a grafted commit looks like a root
        raise UsageError(
            f"--proofswe-history: {first.id[:12]} has no parent in this shallow clone "
            "(fix: fetch the whole history: actions/checkout with fetch-depth: 0, or git fetch --unshallow)"
        )
    else:
        start = gitmod.EMPTY_TREE
    scope = os.path.relpath(rootdir.resolve(), top.resolve()).replace(os.sep, "/")
    return History(top, spec, base, head, start, tuple(commits), "" if scope == "." else scope)


def _wanted(path: str, scope: str, exclude: Callable[[str], bool]) -> bool:
    if not path.endswith(".py"):
        return False
    if scope and not path.startswith(scope + "/"):
        return False
    return not exclude(path)


def _tree(top: Path, rev: str) -> dict[str, str]:
    """path -> blob id of every regular file of ``rev``."""
    if rev == gitmod.EMPTY_TREE:
        return {}
    out: dict[str, str] = {}
    for entry in _git(["ls-tree", "-r", "-z", "--full-tree", rev], top).split("\0"):
        if not entry:
            continue
        meta, _tab, path = entry.partition("\t")
        mode, kind, blob = meta.split()
        if kind == "blob" and mode in ("100644", "100755"):
            out[path] = blob
    return out


def _changes(top: Path, parent: str, commit: str) -> list[tuple[str, str | None]]:
    """(path, new blob id or None when removed) of every file ``commit`` changed against ``parent``."""
    raw = _git(["diff-tree", "-r", "-z", "--no-renames", "--no-commit-id", parent, commit], top).split("\0")
    out: list[tuple[str, str | None]] = []
    i = 0
    while i < len(raw) - 1:
        meta = raw[i]
        if not meta.startswith(":"):
            i += 1
            continue
        _old_mode, new_mode, _old, new, status = meta[1:].split()
        path = raw[i + 1]
        regular = new_mode in ("100644", "100755")
        out.append((path, None if status.startswith("D") or not regular else new))
        i += 2
    return out


def states_of(history: History, exclude: Callable[[str], bool]) -> list[dict[str, str]]:
    """The Python files (path -> blob id) at the start and after each commit."""
    top, scope = history.top, history.scope
    current = {p: b for p, b in _tree(top, history.start).items() if _wanted(p, scope, exclude)}
    states = [dict(current)]
    parent = history.start
    for commit in history.commits:
        for path, blob in _changes(top, parent, commit.id):
            if not _wanted(path, scope, exclude):
                continue
            if blob is None:
                current.pop(path, None)
            else:
                current[path] = blob
        states.append(dict(current))
        parent = commit.id
    return states


def _show(top: Path, rev: str, path: str) -> str | None:
    if rev == gitmod.EMPTY_TREE:
        return None
    try:
        return _git(["show", f"{rev}:{path}"], top)
    except gitmod.GitError:
        return None


def grade_history(history: History, *, exclude: Sequence[str] = (), lint: bool = True) -> DecayTrend:
    """Measure every commit of ``history`` against its first parent (docs/decay.md)."""
    started = time.monotonic()

    def excluded(path: str) -> bool:
        return any(fnmatch.fnmatch(path, pattern) for pattern in exclude)

    states = states_of(history, excluded)
    raw = gitmod.blobs(history.top, [b for state in states for b in state.values()], max_bytes=MAX_FILE_BYTES)
    texts = {k: v.decode("utf-8", errors="replace") for k, v in raw.items()}
    prefix = f"{history.scope}/" if history.scope else ""
    config = ruff_config_from(lambda name: _show(history.top, history.start, prefix + name))
    trend = measure(states, [c.info() for c in history.commits], texts.get, ruff_config=config, lint=lint)
    from dataclasses import replace

    return replace(trend, duration_s=time.monotonic() - started)
