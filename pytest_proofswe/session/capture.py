"""Capture: turn a real session into a task folder (the author then adds hidden tests).

From a repository, the agent's transcript and its final diff, write ``task.toml``
(``[repo] git`` + ``commit``), ``issue.md`` (the first message a person typed) and
``submissions/<agent>/`` with ``patch.diff``, the transcript as ``session.<ext>`` and a
``meta.toml``. The base commit comes from ``--base``, else from the transcript: Codex
records it (``session_meta.git.commit_hash``); Claude Code records the branch
(``gitBranch``) and the time, so the base is that branch's last commit before the
session's first timestamp.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from .. import git as gitmod
from ..errors import UsageError
from .readers import detect_reader

__all__ = ["Captured", "capture"]


@dataclass(frozen=True)
class Captured:
    folder: Path
    base: str
    how: str  # how the base was found
    agent: str


def _git(repo: Path, *args: str) -> str:
    try:
        return gitmod.output(list(args), repo).strip()
    except gitmod.GitError as exc:
        raise UsageError(f"git {' '.join(args)} failed in {repo}: {exc}") from None


def _transcript_base(path: Path, repo: Path) -> tuple[str, str] | None:
    """(commit, how) from what the transcript recorded, or None."""
    branch = first_time = None
    with open(path, encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh):
            if number > 2000:
                break
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if not isinstance(record, dict):
                continue
            meta = record.get("payload") if record.get("type") == "session_meta" else None
            if isinstance(meta, dict) and isinstance(meta.get("git"), dict) and meta["git"].get("commit_hash"):
                return str(meta["git"]["commit_hash"]), "the transcript's session_meta.git.commit_hash"
            branch = branch or record.get("gitBranch")
            first_time = first_time or record.get("timestamp")
    if not first_time:
        return None
    ref, note = _branch_in(repo, str(branch) if branch else None)
    if ref is None:
        return None
    try:
        commit = gitmod.output(["rev-list", "-1", f"--before={first_time}", ref, "--"], repo).strip()
    except gitmod.GitError:
        return None
    if not commit:
        return None
    return commit, f"the last commit of {ref}{note} before the session began ({first_time})"


def _is_commit(repo: Path, ref: str) -> bool:
    try:
        gitmod.output(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], repo)
    except gitmod.GitError:
        return False
    return True


def _default_branch(repo: Path) -> str | None:
    """The repository's default branch: origin's HEAD, else init.defaultBranch, else main/master/trunk."""
    candidates = []
    for args in (["symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD"], ["config", "init.defaultBranch"]):
        try:
            candidates.append(gitmod.output(args, repo).strip())
        except gitmod.GitError:
            pass
    candidates += ["main", "master", "trunk", "origin/main", "origin/master"]
    return next((c for c in candidates if c and _is_commit(repo, c)), None)


def _branch_in(repo: Path, branch: str | None) -> tuple[str | None, str]:
    """The ref to read the base from: the transcript's branch (or origin's), else the default branch."""
    if branch:
        for ref in (branch, f"origin/{branch}"):
            if _is_commit(repo, ref):
                return ref, ""
    default = _default_branch(repo)
    if default is None:
        return None, ""
    why = f"the transcript's branch {branch!r} is not in this repository" if branch else "no branch in the transcript"
    return default, f" (the repository's default branch: {why})"


def capture(
    repo: Path,
    transcript: Path,
    out: Path,
    *,
    agent: str,
    task_id: str | None = None,
    base: str | None = None,
    diff: Path | None = None,
) -> Captured:
    repo = repo.resolve()
    reader = detect_reader(transcript)
    if reader is None:
        raise UsageError(f"{transcript}: not a transcript format pytest-proofswe reads")
    if base is not None:
        commit, how = _git(repo, "rev-parse", "--verify", f"{base}^{{commit}}"), f"--base {base}"
    else:
        found = _transcript_base(transcript, repo)
        if found is None:
            raise UsageError(
                f"{transcript}: it does not say which commit the session started from, and no commit of "
                f"{repo} before its first timestamp was found (fix: pass --base COMMIT)"
            )
        commit, how = found
    if diff is not None:
        patch_text = diff.read_text(encoding="utf-8", errors="surrogateescape")
    else:  # the working tree's change since the base, untracked files included
        from ..modes.diffmode import collect_change

        patch_text = collect_change(repo, commit).patch_text
    if not patch_text.strip():
        raise UsageError(f"{repo}: no change since {commit[:12]} (fix: pass the agent's final diff with --diff)")
    first_person = next(
        (e.text for e in reader.read(transcript) if e.kind == "user_message" and e.origin == "person" and e.text), ""
    )
    models = sorted({e.model for e in reader.read(transcript) if e.model})
    task_id = task_id or f"{repo.name}-{commit[:8]}"
    folder = out / task_id
    if folder.exists():
        raise UsageError(f"{folder} already exists (fix: choose another --id or remove it)")
    sub = folder / "submissions" / agent
    sub.mkdir(parents=True)
    rel = os.path.relpath(repo, folder.resolve())
    (folder / "task.toml").write_text(
        f"# Captured from a {reader.name} session by `python -m pytest_proofswe capture`.\n"
        f"id = {json.dumps(task_id)}\n"
        f"title = {json.dumps((first_person.strip().splitlines() or [task_id])[0][:120])}\n\n"
        f"[repo]\ngit = {json.dumps(rel)}\ncommit = {json.dumps(commit)}  # {how}\n\n"
        "[tests]\n"
        "# Add the hidden tests (hidden_tests/ or hidden_tests.diff) and list the ids that must go\n"
        "# from failing to passing; the task is not gradable until then.\n"
        "fail_to_pass = []\npass_to_pass = []\n",
        encoding="utf-8",
    )
    (folder / "issue.md").write_text(first_person.strip() + "\n", encoding="utf-8")
    (sub / "patch.diff").write_text(patch_text, encoding="utf-8", errors="surrogateescape")
    suffix = "".join(transcript.suffixes[-2:]) if transcript.name.endswith(".chat.history.md") else transcript.suffix
    shutil.copyfile(transcript, sub / f"session{suffix or '.txt'}")
    (sub / "meta.toml").write_text(
        f"agent = {json.dumps(agent)}\nharness = {json.dumps(reader.name)}\n"
        f"models = {json.dumps(models)}\ncaptured_from = {json.dumps(str(transcript.name))}\n",
        encoding="utf-8",
    )
    return Captured(folder, commit, how, agent)
