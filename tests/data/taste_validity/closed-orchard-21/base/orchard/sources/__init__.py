"""The kinds of source a ``[sources.<name>]`` table can name."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from .csv_source import read_records as read_csv
from .feed import read_feed

Reader = Callable[..., Iterator[dict[str, Any]]]

READERS: dict[str, Reader] = {
    "csv": read_csv,
    "feed": read_feed,
}


def reader_for(kind: str) -> Reader:
    """The reader of a source's ``kind``."""
    try:
        return READERS[kind]
    except KeyError:
        raise ValueError(f"unknown source kind {kind!r}: expected one of {', '.join(sorted(READERS))}") from None
