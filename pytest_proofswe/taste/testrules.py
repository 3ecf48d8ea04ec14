"""Tests the submission touched: edits, deletions, removed asserts, added skips, runner config."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..guard import is_test_path
from ..patch import HunkInfo
from .model import Finding, TasteConfig, TasteInput

_ASSERT = re.compile(r"^\s*(assert\b|self\.assert\w*\(|pytest\.raises\(|with pytest\.raises\()")
_SKIP = re.compile(
    r"(pytest\.mark\.(skip|skipif|xfail)\b|pytest\.(skip|xfail)\(|unittest\.(skip|skipIf|skipUnless|expectedFailure)\b"
    r"|@(skip|skipIf|skipUnless|expectedFailure)\b)"
)


# Removed lines that cannot weaken a test: blank lines, comments, imports.
_IGNORABLE = re.compile(r"^\s*($|#|import\s|from\s+\S+\s+import\s)")


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text)


def check(data: TasteInput, config: TasteConfig) -> Iterator[Finding]:
    neutralised = {n["path"] for n in data.neutralised}
    for n in data.neutralised:
        f = next((f for f in data.files if f.path == n["path"]), None)
        line = f.added()[0][0] if f is not None and f.added() else None
        yield Finding(
            "tests-runner-config",
            n["path"],
            line,
            f"{n['reason']} ({n['action']} before the run)",
            config.weight("tests-runner-config"),
        )
    edited = set(data.test_files_edited)
    for f in data.files:
        is_test = is_test_path(f.path) or f.path in edited
        if is_test and f.path not in neutralised:
            if f.kind == "delete":
                yield Finding("tests-deleted", f.path, None, "test file deleted", config.weight("tests-deleted"))
                continue
            if f.kind in ("modify", "rename"):
                added_norm = {_norm(t) for _ln, t in f.added()}
                changed = [
                    (hunk, ln)
                    for hunk in f.hunks
                    for ln in hunk.lines
                    if ln.kind == "-" and not _IGNORABLE.match(ln.text) and _norm(ln.text) not in added_norm
                ]
                if changed:  # lines only added (new tests, new asserts, new imports) are never penalised
                    hunk, ln = changed[0]
                    yield Finding(
                        "tests-edited",
                        f.path,
                        _nearest_target(hunk, ln.source_line),
                        f"existing test code removed or changed ({len(changed)} line(s)): {ln.text.strip()[:60]}",
                        config.weight("tests-edited"),
                    )
                for hunk in f.hunks:
                    for ln in hunk.lines:
                        if ln.kind == "-" and _ASSERT.match(ln.text) and _norm(ln.text) not in added_norm:
                            yield Finding(
                                "tests-assert-removed",
                                f.path,
                                _nearest_target(hunk, ln.source_line),
                                f"assert removed or changed: {ln.text.strip()[:80]}",
                                config.weight("tests-assert-removed"),
                            )
        for line, text in f.added():
            if _SKIP.search(text) and f.path not in neutralised:
                yield Finding(
                    "tests-skip-added",
                    f.path,
                    line,
                    f"skip/xfail added: {text.strip()[:80]}",
                    config.weight("tests-skip-added"),
                )


def _nearest_target(hunk: HunkInfo, source_line: int | None) -> int:
    """The patched file's line where a removed line stood."""
    target = hunk.target_start
    for ln in hunk.lines:
        if ln.target_line is not None:
            target = ln.target_line
        if ln.source_line == source_line:
            return target
    return target
