"""Finding the reader for a transcript: by content, not only by file name."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from .events import Reader

__all__ = ["builtin_readers", "detect_reader"]

_HEAD_BYTES = 64 * 1024


def builtin_readers() -> list[Reader]:
    from .aider import AiderReader
    from .claude_code import ClaudeCodeReader
    from .codex import CodexReader
    from .openhands import OpenHandsReader
    from .swe_agent import SweAgentReader

    return [ClaudeCodeReader(), CodexReader(), OpenHandsReader(), SweAgentReader(), AiderReader()]


def detect_reader(path: Path, extra: Iterable[Reader] = ()) -> Reader | None:
    """The first reader (plugins' first) that recognises the transcript at ``path``."""
    head = b""
    if path.is_file():
        with open(path, "rb") as fh:
            head = fh.read(_HEAD_BYTES)
    readers: Sequence[Reader] = [*extra, *builtin_readers()]
    for reader in readers:
        try:
            if reader.detect(path, head):
                return reader
        except Exception:
            continue
    return None
