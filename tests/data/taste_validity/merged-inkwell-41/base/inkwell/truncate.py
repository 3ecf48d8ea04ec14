"""Shortening text to a display width."""

from __future__ import annotations

ELLIPSIS = "…"


def truncate(text: str, width: int, *, marker: str = ELLIPSIS) -> str:
    """Cut ``text`` to at most ``width`` characters, ending with ``marker`` when it was cut."""
    if width < 0:
        raise ValueError(f"width must be at least 0, got {width}")
    if len(text) <= width:
        return text
    if width <= len(marker):
        return marker[:width]
    return text[: width - len(ELLIPSIS)] + marker


def truncate_lines(lines: list[str], width: int, *, marker: str = ELLIPSIS) -> list[str]:
    """:func:`truncate` applied to each line."""
    return [truncate(line, width, marker=marker) for line in lines]
