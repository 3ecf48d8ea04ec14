"""Records from CSV files."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path


def read_records(path: Path, *, has_header: bool = True, columns: list[str] | None = None) -> Iterator[dict[str, str]]:
    """Each row of ``path`` as a dict, keyed by the header row or by ``columns``."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        if has_header:
            names = next(reader, None)
            if names is None:
                return
        else:
            names = columns or []
            next(reader, None)
        for row in reader:
            yield dict(zip(names, row))
