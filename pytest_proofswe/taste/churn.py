"""Hunks that change only formatting, whitespace, quotes or comments: touched for no reason."""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterator

from ..change import HunkLine
from .model import FileText, Finding, TasteConfig, TasteInput

_WS = re.compile(r"\s+")
_FSTRING_START = getattr(tokenize, "FSTRING_START", -1)
_FSTRING_END = getattr(tokenize, "FSTRING_END", -1)


def _normalise_python(lines: list[str]) -> str | None:
    """Tokens of ``lines`` without comments, layout or quote style; None if they do not tokenize."""
    text = "\n".join(lines) + "\n"
    out: list[str] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in (
                tokenize.COMMENT,
                tokenize.NL,
                tokenize.NEWLINE,
                tokenize.INDENT,
                tokenize.DEDENT,
                tokenize.ENDMARKER,
            ):
                continue
            value = tok.string
            if tok.type == tokenize.STRING:
                value = _unquote(value)
            elif tok.type == _FSTRING_START:  # Python 3.12+ splits f-strings into tokens
                value = value.rstrip("'\"").lower() + "<"
            elif tok.type == _FSTRING_END:
                value = ">"
            out.append(value)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None
    # A trailing comma is formatting too.
    joined = " ".join(out)
    return re.sub(r",\s*([)\]}])", r" \1", joined)


def _unquote(token: str) -> str:
    m = re.match(r"^([rRbBuUfF]*)('''|\"\"\"|'|\")(.*)\2$", token, re.DOTALL)
    return f"{m.group(1).lower()}<{m.group(3)}>" if m else token


_NOT_WORD = re.compile(r"\W+")


def _code_differs(removed: list[str], added: list[str]) -> bool:
    """A cheap proof that two blocks without comments differ in more than formatting.

    Their normalised tokens keep every letter, digit and underscore of the code (a
    string's prefix in lower case); so blocks whose letters and digits differ, as a
    multiset and in lower case, cannot normalise the same. Not a proof when a line holds
    a ``#``: a comment's words do not count (tokenizing decides).
    """
    before, after = "".join(removed), "".join(added)
    if "#" in before or "#" in after:
        return False
    return sorted(_NOT_WORD.sub("", before).lower()) != sorted(_NOT_WORD.sub("", after).lower())


def _normalise_text(lines: list[str]) -> str:
    return _WS.sub("", "".join(lines))


def check(data: TasteInput, config: TasteConfig) -> Iterator[Finding]:
    for f in data.files:
        if f.kind not in ("modify", "rename") or f.binary:
            continue
        for hunk in f.hunks:
            for block in _blocks(hunk.lines):
                finding = _formatting_only(f, block, config)
                if finding is not None:
                    yield finding


def _blocks(lines: tuple[HunkLine, ...]) -> list[list[HunkLine]]:
    """Runs of changed lines between context lines: the unit a reviewer reads."""
    blocks: list[list[HunkLine]] = [[]]
    for ln in lines:
        if ln.kind == " ":
            if blocks[-1]:
                blocks.append([])
        else:
            blocks[-1].append(ln)
    return [b for b in blocks if b]


def _formatting_only(f: FileText, block: list[HunkLine], config: TasteConfig) -> Finding | None:
    removed = [ln.text for ln in block if ln.kind == "-"]
    added = [ln.text for ln in block if ln.kind == "+"]
    if not removed or not added:
        return None
    if f.is_python:
        if _code_differs(removed, added):  # most edited blocks: no need to tokenize them
            return None
        before, after = _normalise_python(removed), _normalise_python(added)
        same = before is not None and before == after
    else:
        same = _normalise_text(removed) == _normalise_text(added)
    if not same:
        return None
    line = next(ln.target_line for ln in block if ln.kind == "+")
    return Finding(
        "churn-formatting-only",
        f.path,
        line,
        f"{len(added)} line(s) changed only in formatting, quotes or comments",
        config.weight("churn-formatting-only"),
    )
