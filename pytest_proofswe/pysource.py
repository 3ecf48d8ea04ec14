"""Parsing code under analysis: no warning of the analysed code's, no error but real ones.

Analysed code is data, not code of this process: parsing it must neither raise nor emit
the warnings its compiler finds (``"a\\*b"`` is an invalid escape sequence: a
DeprecationWarning on 3.11, a SyntaxWarning on 3.12+). Under a user's
``filterwarnings = error`` such a warning becomes a SyntaxError, and otherwise it lands in
the user's warnings summary. Every parse of analysed code (the taste check's, the guard's)
goes through :func:`parse_quietly`, which names the code with a file name of its own and
ignores warnings from that name only.
"""

from __future__ import annotations

import ast
import re
import warnings

__all__ = ["ANALYSED", "parse_quietly"]

#: The file name analysed code is compiled under; warnings from it are ignored.
ANALYSED = "<proofswe: analysed code>"
_ANALYSED_MODULE = re.escape(ANALYSED) + r"\Z"
#: The messages of compiler warnings promoted to SyntaxError by an "error" filter.
_PROMOTED = re.compile(r"^(invalid (octal )?escape sequence|invalid \w+ literal)")
#: A backslash escape in source text: an escaped backslash is consumed as a pair.
_ESCAPE = re.compile(r"\\(.)", re.S)
_VALID_ESCAPES = frozenset("\r\n\\'\"abfnrtv01234567xNuU")


def _ignore_analysed_warnings() -> None:
    # Put (or move) the filter at the front of the filters in force now: pytest installs
    # its own filters for each test phase, in front of anything set earlier. The filter
    # matches only the ANALYSED name, so a copy left in anyone's filter list is harmless.
    warnings.filterwarnings("ignore", category=Warning, module=_ANALYSED_MODULE)


def _without_invalid_escapes(text: str) -> str:
    """``text`` with each invalid escape ``\\X`` replaced by ``\\\\`` (same length, same tree shape)."""
    return _ESCAPE.sub(lambda m: m.group(0) if m.group(1) in _VALID_ESCAPES else "\\\\", text)


def parse_quietly(source: str | bytes) -> ast.Module:
    """``ast.parse(source)`` that emits no warning and raises only for real syntax errors.

    Raises SyntaxError (or ValueError for NUL bytes) when ``source`` does not parse.
    """
    for _attempt in range(2):
        _ignore_analysed_warnings()
        try:
            return ast.parse(source, filename=ANALYSED)
        except SyntaxError as exc:
            if not _PROMOTED.match(str(exc.msg or "")):
                raise
            # Another thread (pytest's per-phase filters) replaced the filters between our
            # filter and the parse: a warning was promoted to an error. Try again.
    text = source.decode("utf-8", errors="replace") if isinstance(source, bytes) else source
    _ignore_analysed_warnings()
    return ast.parse(_without_invalid_escapes(text), filename=ANALYSED)
