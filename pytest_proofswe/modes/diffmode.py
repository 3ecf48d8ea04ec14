"""``--proofswe-diff=BASE``: the repository's own change since its merge base with BASE.

What counts as the change: everything in the working tree that differs from the merge
base of BASE and HEAD: commits on the branch, staged and unstaged edits, and untracked
files that git does not ignore. It is computed with a temporary index, so the user's
index is never touched. When pytest's rootdir is below the repository's top (a package of
a monorepo), only the change under the rootdir counts; paths stay relative to the top,
as code-scanning tools and GitHub annotations expect.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import git as gitmod
from ..errors import UsageError
from ..harness.patch import PatchRejected, parse_patch
from ..taste import FileText, TasteConfig, TasteExtensions, TasteInput, grade_taste
from ..taste.repo import repo_facts, sources

if TYPE_CHECKING:
    from ..review.reviewer import Reviewer, ReviewResult

__all__ = ["Change", "collect_change", "grade_change"]


@dataclass(frozen=True)
class Change:
    top: Path  # the repository's top level
    base: str  # what the user named
    merge_base: str  # its merge base with HEAD (full id)
    head: str  # HEAD's id, or "HEAD" before the first commit
    branch: str | None  # None for a detached HEAD
    patch_text: str
    files: tuple[FileText, ...]
    scope: str  # the folder the change is limited to ("" for the whole repository)


_git = gitmod.output

#: Never part of a change, tracked or not: compiled files and tools' caches. A repository
#: that does not ignore ``__pycache__/`` would otherwise count the bytecode its own test
#: run writes (git pathspecs, matched from the repository's top).
NEVER_CHANGED = (
    "**/__pycache__/**",
    "**/*.py[cod]",
    "**/*$py.class",
    "**/.pytest_cache/**",
    "**/.mypy_cache/**",
    "**/.ruff_cache/**",
    "**/.hypothesis/**",
    "**/.proofswe_cache/**",
)


def _excluded(patterns: Sequence[str], literal: Sequence[str]) -> list[str]:
    return [f":(top,exclude,glob){p}" for p in patterns] + [f":(top,exclude,literal){p}" for p in literal]


def collect_change(rootdir: Path, base: str, *, outputs: Sequence[Path] = ()) -> Change:
    """The change of the repository holding ``rootdir`` since its merge base with ``base``.

    ``outputs`` are files this run writes (its report, Markdown, SARIF): never part of the
    change, whether or not git ignores them.
    """
    try:
        top = Path(_git(["rev-parse", "--show-toplevel"], rootdir).strip())
    except gitmod.GitError:
        raise UsageError(
            f"--proofswe-diff: {rootdir} is not inside a git repository (fix: run pytest in a git checkout)"
        ) from None
    shallow = _git(["rev-parse", "--is-shallow-repository"], top).strip() == "true"
    try:
        _git(["rev-parse", "--verify", "--quiet", f"{base}^{{commit}}"], top)
    except gitmod.GitError:
        hint = (
            "this is a shallow clone: fetch the history (actions/checkout with fetch-depth: 0, "
            "or git fetch --unshallow)"
            if shallow
            else f"fetch it first, e.g. git fetch origin {base}"
        )
        raise UsageError(f"--proofswe-diff: unknown revision {base!r} (fix: {hint})") from None
    try:
        merge_base = _git(["merge-base", base, "HEAD"], top).strip()
    except gitmod.GitError:
        if shallow:
            raise UsageError(
                f"--proofswe-diff: {base} and HEAD have no common commit in this shallow clone "
                "(fix: fetch the whole history: actions/checkout with fetch-depth: 0, "
                "or git fetch --unshallow)"
            ) from None
        raise UsageError(
            f"--proofswe-diff: {base} and HEAD have no common ancestor (fix: name the branch this one was made from)"
        ) from None
    head = _git(["rev-parse", "HEAD"], top).strip()
    branch = _git(["rev-parse", "--abbrev-ref", "HEAD"], top).strip()
    scope = os.path.relpath(rootdir.resolve(), top.resolve()).replace(os.sep, "/")
    scope = "" if scope == "." else scope
    own = []
    for path in outputs:
        rel = os.path.relpath(Path(path).resolve(), top.resolve()).replace(os.sep, "/")
        if not rel.startswith("../"):
            own.append(rel)
    exclude = _excluded(NEVER_CHANGED, own)
    with tempfile.TemporaryDirectory(prefix="proofswe-index-") as tmp:
        env = {**gitmod.git_env(), "GIT_INDEX_FILE": str(Path(tmp) / "index")}
        _git(["read-tree", merge_base], top, env=env)
        _git(["add", "-A", "--", ":(top)", *exclude], top, env=env)  # untracked but not ignored files too
        pathspec = ["--", f":(top){scope}" if scope else ":(top)", *exclude]
        patch_text = _git(
            ["diff", "--cached", "-M", "--binary", "--no-color", "--no-ext-diff", merge_base, *pathspec], top, env=env
        )
    files: list[FileText] = []
    if patch_text.strip():
        try:
            parsed = parse_patch(patch_text)
        except PatchRejected as exc:  # pragma: no cover - git's own diff always parses
            raise UsageError(f"--proofswe-diff: cannot read the change: {exc.describe()}") from None
        for f in parsed.files:
            base_text = None
            if f.source_path is not None and not f.binary:
                try:
                    base_text = _git(["show", f"{merge_base}:{f.source_path}"], top)
                except gitmod.GitError:
                    base_text = None
            head_text = None
            if f.target_path is not None and not f.binary and (top / f.target_path).is_file():
                head_text = (top / f.target_path).read_bytes().decode("utf-8", errors="replace")
            files.append(
                FileText(
                    f.path,
                    f.kind,
                    base_text,
                    head_text,
                    f.hunks,
                    old_path=f.source_path if f.kind == "rename" else None,
                    binary=f.binary,
                )
            )
    return Change(
        top=top,
        base=base,
        merge_base=merge_base,
        head=head,
        branch=None if branch == "HEAD" else branch,
        patch_text=patch_text,
        files=tuple(files),
        scope=scope,
    )


def grade_change(
    change: Change,
    taste_config: TasteConfig,
    reviewer: Reviewer | None,
    rubric_name: str,
    *,
    extensions: TasteExtensions | None = None,
    rootdir: Path | None = None,
) -> dict[str, Any]:
    """The JSON-ready result of grading ``change``: taste always, review with a model."""
    from ..grading import NO_MODEL
    from ..result import reported_patch
    from ..review.reviewer import ReviewResult
    from ..review.rubric import RubricError, load_rubric

    started = time.monotonic()
    facts = repo_facts((rootdir or change.top).resolve())
    data = TasteInput(
        files=change.files,
        sources=sources(change.top.resolve()),
        **facts.taste_fields(),
    )
    taste = grade_taste(data, taste_config, task="diff", submission=change.branch or "HEAD", extensions=extensions)
    if reviewer is None:
        review: ReviewResult = ReviewResult("skipped", reason=NO_MODEL)
    elif not change.files:
        review = ReviewResult("skipped", reason="no change to review")
    else:
        try:
            rubric = load_rubric(rubric_name)  # a name, or the absolute path Settings resolved
            parsed = parse_patch(change.patch_text)
            static = [f.render() for f in taste.findings if f.penalty > 0]
            review = reviewer.review(
                rubric, _commit_messages(change), parsed.files, static, exclude=taste_config.excluded
            )
        except (RubricError, PatchRejected) as exc:
            review = ReviewResult("error", reason=str(exc))
    shown, cut = reported_patch(change.patch_text)
    return {
        "task": "diff",
        "submission": change.branch or "HEAD",
        "check": "diff",
        "behaviour": {"status": None, "reason": "the repository's own tests run as usual in this session"},
        "taste": taste.to_json(),
        "review": review.to_json(),
        "change": {
            "base": change.base,
            "merge_base": change.merge_base,
            "head": change.head,
            "branch": change.branch,
            "scope": change.scope,
        },
        "patch": {
            "sha256": hashlib.sha256(change.patch_text.encode()).hexdigest(),
            "files": [{"path": f.path, "kind": f.kind} for f in change.files],
            "text": shown,
            "text_truncated": cut,
        },
        "duration_s": round(time.monotonic() - started, 3),
        "meta": {},
    }


def _commit_messages(change: Change) -> str:
    """What the change says it does: its commit messages (the closest thing to an issue)."""
    try:
        log = _git(["log", "--format=%s%n%n%b", f"{change.merge_base}..HEAD"], change.top)
    except gitmod.GitError:
        return ""
    return log.strip() or "(no commit message: uncommitted changes)"
