"""Which skips a submission raised itself, read from where pytest says each skip came from.

SWE-bench ignores a skipped PASS_TO_PASS test (skips depend on the machine, not the
patch), and so does :func:`.verdict.decide`. That opens a door: code under test that
calls ``pytest.skip()`` (or raises ``unittest.SkipTest``) when its own bug shows turns
a PASS_TO_PASS test it breaks into a skip. pytest's JUnit file records where each skip
was raised: the test's own file and line for a skip mark, the caller's file for a skip
raised at run time (``pytest.skip`` hides its own frame). A skip counts as the
machine's, and so as a pass, only when that file is one the submission did not write:

* in the workspace, a file whose bytes are still those of the base state, a hidden
  test file or the canaries' file (the harness laid those after the patch);
* outside it, a file of the task's environment (read-only to the tests in a sandbox)
  or of the interpreter it was made from.

Anything else (a file the patch added or changed, a base file rewritten during the run,
a file in ``/tmp``) makes the skip the submission's, and the test is failed.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from pathlib import Path, PurePosixPath

from .runner import TestOutcome

__all__ = ["untrusted_skips"]


def _inside(path: Path, root: Path) -> str | None:
    """``path`` relative to ``root`` (POSIX), or None when it is not inside it."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return None


def _same_bytes(a: Path, b: Path) -> bool:
    try:
        return not a.is_symlink() and a.is_file() and b.is_file() and a.read_bytes() == b.read_bytes()
    except OSError:
        return False


def untrusted_skips(
    outcomes: Iterable[TestOutcome],
    *,
    workspace: Path,
    base_tree: Path,
    laid_by_harness: Collection[str],
    trusted_roots: Iterable[Path],
) -> Mapping[str, str]:
    """Test id -> why its skip is the submission's, for each skipped test in ``outcomes``.

    ``laid_by_harness`` are the workspace paths the harness wrote after the patch (hidden
    tests, canaries); ``trusted_roots`` the folders of the environment and interpreter.
    A skip without a recorded file (an old pytest) is trusted: nothing tells otherwise.
    """
    roots = [form for r in trusted_roots for form in (r, r.resolve())]
    ws = workspace.resolve()
    verdicts: dict[str, str | None] = {}  # skip file -> why it is untrusted (None: trusted)
    out: dict[str, str] = {}
    for outcome in outcomes:
        if outcome.outcome != "skipped" or not outcome.skip_path:
            continue
        where = outcome.skip_path
        if where not in verdicts:
            verdicts[where] = _judge(where, ws, base_tree, laid_by_harness, roots)
        why = verdicts[where]
        if why is not None:
            out[outcome.test_id] = why
    return out


def _judge(where: str, ws: Path, base_tree: Path, laid: Collection[str], roots: list[Path]) -> str | None:
    path = ws / where  # an absolute ``where`` stays as it is
    # Not resolve(): a symlink the submission planted must not lead the check elsewhere.
    rel = _inside(Path(_normal(path)), ws)
    if rel is not None:
        if rel in laid or _same_bytes(ws / rel, base_tree / rel):
            return None
        return (
            f"skipped by {rel}, a file the submission added or changed: a skip raised by the code under "
            "test does not count as a pass"
        )
    if any(_inside(Path(_normal(path)), root) is not None for root in roots):
        return None
    return f"skipped by {where}, a file outside the workspace and the environment: does not count as a pass"


def _normal(path: Path) -> str:
    """``path`` with ``..`` folded, without following symlinks (pathlib drops ``.`` itself)."""
    parts: list[str] = []
    for part in PurePosixPath(path.as_posix()).parts:
        if part != "..":
            parts.append(part)
        elif len(parts) > 1:  # never above the root
            parts.pop()
    return str(PurePosixPath(*parts))
