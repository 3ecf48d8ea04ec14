"""The skeleton shared by the line-format transcript readers (Claude Code, Codex).

A :class:`JsonLinesReader` streams a file of JSON objects, one a line, into a parser made
afresh for each read (``feed(number, record)`` per line, then ``finish()``), and records the
lines that were not JSON objects in ``skipped_lines``. :func:`head_records` reads the first
lines of a file's head, for content-based detection.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from .events import Event

__all__ = ["JsonLinesReader", "LineParser", "head_records", "iter_json_lines"]


class LineParser(Protocol):
    """The state of one read of a line-format transcript."""

    def feed(self, number: int, record: dict[str, Any]) -> Iterator[Event]: ...

    def finish(self) -> Iterator[Event]: ...


class JsonLinesReader:
    """A reader of JSON-lines transcripts: a subclass gives ``name``, ``detect`` and ``_parser``.

    ``skipped_lines`` lists the 1-based numbers of the lines the last :meth:`read` skipped
    because they were not JSON objects; it is reset when a read starts and filled as the
    events are consumed.
    """

    name = ""

    def __init__(self) -> None:
        self.skipped_lines: list[int] = []

    def detect(self, path: Path, head: bytes) -> bool:
        raise NotImplementedError

    def _parser(self) -> LineParser:
        raise NotImplementedError

    def read(self, path: Path) -> Iterator[Event]:
        self.skipped_lines = []
        parser = self._parser()
        for number, record in iter_json_lines(path, self.skipped_lines):
            yield from parser.feed(number, record)
        yield from parser.finish()


def iter_json_lines(path: Path, skipped: list[int]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (1-based line number, object) for each JSON-object line of ``path``, streamed.

    Blank lines are ignored; any other line that is not a JSON object (bad JSON, bad UTF-8, a
    truncated last line) is skipped and its number appended to ``skipped``.
    """
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
                skipped.append(number)
                continue
            if not isinstance(record, dict):
                skipped.append(number)
                continue
            yield number, record


def head_records(head: bytes, limit: int = 50) -> list[dict[str, Any]]:
    """The JSON objects among the first ``limit`` lines of ``head`` (a cut-off last line fails to parse)."""
    records: list[dict[str, Any]] = []
    for raw in head.split(b"\n")[:limit]:
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except (ValueError, RecursionError):
            continue
        if isinstance(record, dict):
            records.append(record)
    return records
