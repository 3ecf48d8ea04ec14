"""The folders the hidden tests need, checked before they are laid over a submission.

A submission that replaces ``tests/`` by a file (or by a symlink) leaves nowhere to put
the hidden tests. That is the submission's failure, graded ``unresolved`` with a reason
that names the path, never the harness's ``error``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path, PurePosixPath

__all__ = ["LayoutBroken", "check_layout"]


class LayoutBroken(Exception):
    """The submission broke the layout the hidden tests need; the message says where."""


def check_layout(workspace: Path, paths: Iterable[str], *, restored: Iterable[str] = ()) -> None:
    """Raise :class:`LayoutBroken` if a hidden test at ``paths`` cannot be written in ``workspace``.

    Every folder above each path must be a real folder (or not exist yet), and the path
    itself must not be a folder, unless it is in ``restored`` (put back to the base state
    first, whatever it is now).
    """
    restored = set(restored)
    for rel in paths:
        parts = PurePosixPath(rel).parts
        for depth in range(1, len(parts)):
            parent_rel = "/".join(parts[:depth])
            parent = workspace / parent_rel
            if parent.is_symlink() or (parent.exists() and not parent.is_dir()):
                what = "a symlink" if parent.is_symlink() else "a file"
                raise LayoutBroken(
                    f"the submission replaced the folder {parent_rel}/ by {what}, so the hidden test "
                    f"{rel} cannot be put in place: not run"
                )
        full = workspace / rel
        if rel not in restored and full.is_dir() and not full.is_symlink():
            raise LayoutBroken(
                f"the submission put a folder where the hidden test {rel} goes, so it cannot be put in place: not run"
            )
