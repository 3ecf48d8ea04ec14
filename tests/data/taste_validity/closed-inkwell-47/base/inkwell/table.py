"""Plain-text tables."""

from __future__ import annotations

from collections.abc import Sequence

BORDERS = {
    "ascii": ("+", "-", "|"),
    "none": ("", "", ""),
}


def render_table(
    rows: Sequence[Sequence[object]],
    headers: Sequence[str] | None = None,
    *,
    align: str = "left",
    border: str = "ascii",
    max_width: int | None = None,
) -> str:
    """Lay ``rows`` out as a table, with ``headers`` on top when given."""
    if border not in BORDERS:
        raise ValueError(f"unknown border {border!r}: expected one of {', '.join(BORDERS)}")
    cells = [[str(value) for value in row] for row in rows]
    if headers is not None:
        cells.insert(0, list(headers))
    if not cells:
        return ""
    columns = max(len(row) for row in cells)
    for row in cells:
        row.extend([""] * (columns - len(row)))
    widths = [max(len(row[i]) for row in cells) for i in range(columns)]
    if max_width is not None:
        widths = [min(w, max_width) for w in widths]
        cells = [[value[:w] for value, w in zip(row, widths)] for row in cells]
    corner, horizontal, vertical = BORDERS[border]
    lines = []
    rule = corner + corner.join(horizontal * (w + 2) for w in widths) + corner if corner else None
    if rule:
        lines.append(rule)
    for number, row in enumerate(cells):
        parts = []
        for value, width in zip(row, widths):
            if align == "left":
                parts.append(value.ljust(width))
            elif align == "right":
                parts.append(value.rjust(width))
            elif align == "center":
                parts.append(value.center(width))
            else:
                raise ValueError(f"unknown align {align!r}: expected left, right or center")
        if vertical:
            lines.append(f"{vertical} " + f" {vertical} ".join(parts) + f" {vertical}")
        else:
            lines.append("  ".join(parts).rstrip())
        if number == 0 and headers is not None and rule:
            lines.append(rule)
    if rule:
        lines.append(rule)
    return "\n".join(lines)
