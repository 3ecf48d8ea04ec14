"""Typed reads of values in decoded JSON: a wrong type is None (or {}), never an exception."""

from __future__ import annotations

from typing import Any

__all__ = ["as_dict", "as_float", "as_int", "as_str"]


def as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def as_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def as_float(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
