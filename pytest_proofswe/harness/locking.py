"""A cross-process lock on a file, for caches that pytest-xdist workers share."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["file_lock"]

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


@contextmanager
def file_lock(path: Path, *, timeout: float = 3600.0) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if needed) for the ``with`` block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fcntl is not None:
        with open(path, "a+b") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        return
    deadline = time.monotonic() + timeout  # pragma: no cover - Windows fallback
    lockdir = path.with_suffix(path.suffix + ".d")
    while True:
        try:
            os.mkdir(lockdir)
            break
        except FileExistsError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not lock {path} within {timeout} s") from None
            time.sleep(0.1)
    try:
        yield
    finally:
        os.rmdir(lockdir)
