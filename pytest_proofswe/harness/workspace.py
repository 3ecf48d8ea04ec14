"""Materialising a task's base state, and the per-submission workspaces made from it.

A *base* is built once per task content and cached: a git repository whose single
commit holds the base state (from ``repo/``, or exported from ``[repo] git`` at
``commit`` with ``git archive``). It has no history at all, so nothing the source
repository did after the base commit is reachable from a workspace. A *workspace* is a
copy of the base in a fresh temporary folder, owned by one submission.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import git as gitmod
from ..task import RepoSource, Task
from .locking import file_lock

__all__ = [
    "Base",
    "BaseStore",
    "copy_tree_excluding",
    "default_workspace_parent",
    "hash_tree",
    "new_workspace",
    "remove_tree",
]

# Never part of a base state copied from ``repo/``.
_SKIP_NAMES = {".git", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".tox", ".nox", ".venv"}
_BASE_FORMAT = "2"  # bump when the layout of a cached base changes


@dataclass(frozen=True)
class Base:
    """A cached base state: ``tree`` is a git work tree at commit ``commit``."""

    tree: Path
    commit: str
    sha256: str  # content hash of the base state (the cache key)
    label: str  # what the base came from, for the proof: "repo/" or "<git>@<commit>"


def _skip(name: str) -> bool:
    return name in _SKIP_NAMES or name.endswith(".pyc")


def hash_tree(root: Path) -> str:
    """sha256 over the relative paths, modes and contents of the files under ``root``."""
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not _skip(d))
        rel_dir = os.path.relpath(dirpath, root)
        for name in sorted(filenames):
            if _skip(name):
                continue
            full = os.path.join(dirpath, name)
            rel = os.path.normpath(os.path.join(rel_dir, name)).replace(os.sep, "/")
            st = os.lstat(full)
            digest.update(rel.encode("utf-8", "surrogateescape") + b"\0")
            if stat.S_ISLNK(st.st_mode):
                digest.update(b"L" + os.readlink(full).encode("utf-8", "surrogateescape"))
            else:
                digest.update(b"X" if st.st_mode & 0o111 else b"F")
                with open(full, "rb") as fh:
                    digest.update(hashlib.sha256(fh.read()).digest())
            digest.update(b"\0")
    return digest.hexdigest()


def copy_tree_excluding(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, symlinks=True, ignore=lambda _d, names: [n for n in names if _skip(n)])


def remove_tree(path: Path) -> None:
    """Remove ``path``, making read-only entries writable first (git objects are read-only)."""

    def retry(func: Any, p: str, _exc: object) -> None:
        try:
            os.chmod(p, stat.S_IWUSR | stat.S_IRUSR | stat.S_IXUSR)
            func(p)
        except OSError:
            pass

    if not (path.exists() or path.is_symlink()):
        return
    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=retry)
    else:  # pragma: no cover - Python < 3.12
        shutil.rmtree(path, onerror=retry)


class BaseStore:
    """Builds and caches bases under ``cache_dir / "bases"``; safe across processes."""

    def __init__(self, cache_dir: Path) -> None:
        self.root = cache_dir / "bases"
        self._memo: dict[tuple[str, str], Base] = {}

    def base_for(self, task: Task) -> Base:
        key = (str(task.root), repr(task.repo))
        if key not in self._memo:
            self._memo[key] = self._build(task.repo)
        return self._memo[key]

    def _build(self, source: RepoSource) -> Base:
        if source.kind == "path":
            assert source.path is not None
            sha = hashlib.sha256(f"proofswe-base/{_BASE_FORMAT}/path/{hash_tree(source.path)}".encode()).hexdigest()
            label = "repo/"
        else:
            assert source.git is not None and source.commit is not None
            sha = hashlib.sha256(f"proofswe-base/{_BASE_FORMAT}/git/{source.commit}".encode()).hexdigest()
            label = f"{source.git}@{source.commit}"
        home = self.root / sha[:24]
        tree = home / "tree"
        marker = home / "complete"
        if not marker.exists():
            with file_lock(self.root / f"{sha[:24]}.lock"):
                if not marker.exists():
                    remove_tree(home)
                    home.mkdir(parents=True)
                    tree.mkdir()
                    if source.kind == "path":
                        assert source.path is not None
                        shutil.rmtree(tree)
                        copy_tree_excluding(source.path, tree)
                    else:
                        _export_git(source, tree)
                    commit = gitmod.init_snapshot(tree)
                    # One pack instead of a loose object per file: a workspace copies a
                    # handful of files for .git (and hard-links the pack).
                    gitmod.git(["repack", "-a", "-d", "-q"], cwd=tree)
                    gitmod.git(["prune-packed"], cwd=tree)
                    # Copies keep mtime and size but not inode or ctime: let git trust the former.
                    gitmod.git(["config", "core.checkStat", "minimal"], cwd=tree)
                    gitmod.git(["config", "core.trustctime", "false"], cwd=tree)
                    marker.write_text(commit + "\n")
        commit = marker.read_text().strip()
        return Base(tree=tree, commit=commit, sha256=sha, label=label)


def _export_git(source: RepoSource, tree: Path) -> None:
    """Write the files of ``source.commit`` into ``tree`` (no history, no .git)."""
    assert source.git is not None and source.commit is not None
    repo = source.git
    if "://" in repo or repo.startswith("git@"):
        # A remote: fetch just the commit into a scratch repository.
        scratch = Path(tempfile.mkdtemp(prefix="proofswe-fetch-"))
        try:
            gitmod.git(["init", "-q", "--bare"], cwd=scratch)
            gitmod.git(["fetch", "-q", "--depth=1", "--no-tags", repo, source.commit], cwd=scratch, timeout=1800)
            _archive_into(scratch, "FETCH_HEAD", tree)
        finally:
            remove_tree(scratch)
        return
    _archive_into(Path(repo), source.commit, tree)


def _archive_into(repo: Path, rev: str, tree: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="proofswe-archive-") as tmp:
        tar_path = Path(tmp) / "base.tar"
        gitmod.git(["archive", "--format=tar", f"--output={tar_path}", rev], cwd=repo, timeout=1800)
        with tarfile.open(tar_path) as tar:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(tree, filter="tar")
            else:  # pragma: no cover - Python < 3.10.12
                tar.extractall(tree)


def default_workspace_parent(*, keep: bool = False) -> Path | None:
    """Where workspaces go by default: a tmpfs (/dev/shm) when there is one with room.

    Creating files there is several times faster than on a disk (see
    docs/performance.md), and workspaces are short-lived. Kept workspaces go to the
    system's temporary folder instead, so that they do not hold memory.
    """
    shm = Path("/dev/shm")
    if keep or not shm.is_dir() or not os.access(shm, os.W_OK | os.X_OK):
        return None
    try:
        st = os.statvfs(shm)
    except OSError:
        return None
    return shm if st.f_bavail * st.f_frsize >= 2 * 1024**3 else None


def new_workspace(base: Base, parent: Path | None = None, *, label: str = "") -> Path:
    """A fresh copy of ``base`` in a new temporary folder (the caller removes it)."""
    prefix = f"proofswe-{label}-" if label else "proofswe-"
    root = Path(tempfile.mkdtemp(prefix=prefix, dir=parent)).absolute()
    ws = root / "ws"
    # Copied, never hard-linked: a link shares the file with the cached base, and code under
    # test that chmods and writes its workspace's git pack would change every later workspace.
    shutil.copytree(base.tree, ws, symlinks=True)
    return ws
