"""The shared model of a change: its files and hunks, and which paths are tests.

What the harness makes of a patch (:mod:`.patch` parses it, :mod:`.guard` judges what it
may touch) and what the checks read of it (:mod:`.taste`, :mod:`.review`, the decay
measures) meet here, so that no check reaches into the harness. Plain frozen values and
pure functions; nothing here reads a file or runs a process.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal

__all__ = ["TEST_DIRS", "FileChange", "HunkInfo", "HunkLine", "is_test_path"]

# A file under a folder of one of these names is a test file (pytest's usual layouts).
TEST_DIRS = frozenset({"test", "tests", "testing"})


@dataclass(frozen=True, slots=True)
class HunkLine:
    kind: Literal["+", "-", " "]
    source_line: int | None  # line number in the base file (None for an added line)
    target_line: int | None  # line number in the patched file (None for a removed line)
    text: str  # without its newline


@dataclass(frozen=True)
class HunkInfo:
    """One hunk; its lines are kept as the hunk's text and made into :class:`HunkLine` on demand.

    One object per line of a large patch cost about 60 times the patch's size in memory; the
    text costs about its size.
    """

    header: str
    source_start: int
    source_length: int
    target_start: int
    target_length: int
    body: str = ""  # the hunk's "+", "-" and " " lines, each with its newline

    @property
    def lines(self) -> tuple[HunkLine, ...]:
        out: list[HunkLine] = []
        source, target = self.source_start, self.target_start
        for raw in self.body.split("\n")[:-1]:  # not splitlines(): a line may hold \f or \u2028
            kind, text = raw[:1], raw[1:].rstrip("\r")
            if kind == "\\":  # "\ No newline at end of file"
                continue
            if kind == "+":
                out.append(HunkLine("+", None, target, text))
                target += 1
            elif kind == "-":
                out.append(HunkLine("-", source, None, text))
                source += 1
            else:
                out.append(HunkLine(" ", source, target, text))
                source += 1
                target += 1
        return tuple(out)


@dataclass(frozen=True)
class FileChange:
    """One file of a patch, paths relative to the workspace (``a/``/``b/`` stripped)."""

    path: str  # the path after the patch (the old one for a deletion)
    source_path: str | None  # None for a new file
    target_path: str | None  # None for a deleted file
    kind: Literal["add", "delete", "modify", "rename"]
    binary: bool
    symlink: bool
    hunks: tuple[HunkInfo, ...]
    added: int
    removed: int


def is_test_path(path: str) -> bool:
    """Whether ``path`` is a test file by pytest's usual conventions."""
    p = PurePosixPath(path)
    name = p.name
    if name == "conftest.py":
        return True
    if p.suffix == ".py" and (name.startswith("test_") or name.endswith("_test.py")):
        return True
    return any(part in TEST_DIRS for part in p.parts[:-1])
