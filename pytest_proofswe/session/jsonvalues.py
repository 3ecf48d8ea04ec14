"""Typed reads of values in decoded JSON: a wrong type is None (or {}), never an exception."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["as_dict", "as_float", "as_int", "as_str", "json_object"]


def as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def as_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def as_float(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def json_object(text: str | None) -> dict[str, Any]:
    """The JSON object ``text`` holds (tool-call arguments, say); {} for anything else."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}
