"""Greedy word wrapping."""

from __future__ import annotations


def wrap_words(text: str, width: int) -> list[str]:
    """Split ``text`` into lines of at most ``width`` characters, breaking between words.

    A word longer than ``width`` gets a line of its own.
    """
    if width < 1:
        raise ValueError(f"width must be at least 1, got {width}")
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if len(candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = word
    return lines


def wrap_paragraphs(text: str, width: int) -> list[str]:
    """Wrap each paragraph (paragraphs are separated by a blank line), one blank line between them."""
    out: list[str] = []
    for number, paragraph in enumerate(text.split("\n\n")):
        if number:
            out.append("")
        out.extend(wrap_words(paragraph, width))
    return out
