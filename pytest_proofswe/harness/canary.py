"""Canary tests: hidden tests whose outcome the harness knows, to catch a run that lies.

Code that runs inside the pytest process (the package under test, imported by the hidden
tests) can rewrite its own results: patch ``_pytest`` at import, register a hook, rewrite
the JUnit file at exit. Such tampering is indiscriminate in practice, so each grading
lays one more test file beside the hidden tests, under a name drawn at random for that
grading: one test that must fail and one that must pass, in the same pytest process,
after every hidden test (tampering switched on lazily, by the first call into the code
under test, is on by then). A must-fail canary that passes, a must-pass canary that
fails, or canaries missing from a run whose hidden tests all passed mean the results
were tampered with (see :func:`.verdict.decide`).

A tamperer that recognises the canaries (or only touches failures raised in its own
code) is not caught here; the sandbox, the xfail marker check and the ``tamper-*`` taste
rules are the other layers (docs/security.md).
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..task import TestsSpec

__all__ = ["Canary", "plant"]

_SYSTEM_RANDOM = random.SystemRandom()


@dataclass(frozen=True)
class Canary:
    """The canary file of one grading, and the ids of its two tests."""

    path: str  # relative to the workspace, POSIX
    must_fail: str
    must_pass: str
    source: str

    @property
    def ids(self) -> tuple[str, str]:
        return (self.must_fail, self.must_pass)

    def expected(self) -> dict[str, str]:
        """Test id -> the outcome it must have."""
        return {self.must_fail: "failed", self.must_pass: "passed"}

    def to_json(self) -> dict[str, str]:
        return {"path": self.path, "must_fail": self.must_fail, "must_pass": self.must_pass}


def _word(rng: random.Random, length: int = 10) -> str:
    return rng.choice(string.ascii_lowercase) + "".join(
        rng.choice(string.ascii_lowercase + string.digits) for _ in range(length - 1)
    )


def _folder(spec: TestsSpec, workspace: Path) -> str:
    """The folder of the first hidden test file, when it is a real folder inside the workspace; else the root."""
    root = workspace.resolve()
    for test_id in (*spec.fail_to_pass, *spec.pass_to_pass):
        parent = PurePosixPath(test_id.split("::", 1)[0]).parent
        if parent.is_absolute() or ".." in parent.parts:
            continue
        folder = workspace / parent
        # resolve() follows symlinks: a folder the submission replaced by a link is not used.
        if folder.resolve() == root / parent and folder.is_dir():
            return "" if str(parent) == "." else parent.as_posix()
    return ""


def plant(spec: TestsSpec, workspace: Path, *, rng: random.Random = _SYSTEM_RANDOM) -> Canary | None:
    """Write a canary test file into ``workspace`` and return it; None when the task's command cannot select it.

    A task ``command`` without ``{tests}`` runs what it names, which the canary is not.
    """
    if spec.command is not None and "{tests}" not in spec.command:
        return None
    folder = _folder(spec, workspace)
    while True:
        name = f"test_{_word(rng)}.py"
        rel = f"{folder}/{name}" if folder else name
        if not (workspace / rel).exists() and not (workspace / rel).is_symlink():
            break
    fail_name, pass_name = f"test_{_word(rng)}", f"test_{_word(rng)}"
    a, b = rng.randrange(10, 1000), rng.randrange(10, 1000)
    # Plain tests, with no marker of the harness in them: a tamperer has to tell them
    # from the hidden tests by their random names.
    source = (
        f"def {fail_name}():\n    assert {a} + {b} == {a + b + 1}\n\n\n"
        f"def {pass_name}():\n    assert {a} + {b} == {a + b}\n"
    )
    (workspace / rel).write_text(source, encoding="utf-8")
    return Canary(rel, f"{rel}::{fail_name}", f"{rel}::{pass_name}", source)
