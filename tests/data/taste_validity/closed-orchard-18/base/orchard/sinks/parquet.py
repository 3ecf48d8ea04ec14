"""Writing records to Parquet files."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def write_parquet(records: Iterable[dict[str, object]], path: Path) -> int:
    """Write ``records`` to ``path``; returns how many were written."""
    rows = list(records)
    pq.write_table(pa.Table.from_pylist(rows), path)
    return len(rows)
