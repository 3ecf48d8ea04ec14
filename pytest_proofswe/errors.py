"""The exception hierarchy: our own breakage, never an agent's failure.

An agent's failure (a patch that does not apply, a test that fails) is data: a
graded result with a status and a reason. An exception from this module means
the harness, the task or the user's configuration is broken::

    ProofsweError                 base of everything below
    +-- UsageError                a bad option or setting value (also a pytest UsageError)
    +-- TaskError                 a task folder is malformed: names the file, the key and the fix
    +-- HarnessError              the harness could not do its job (git missing, disk full, ...)
        +-- EnvironmentBuildError a task's setup command failed: status ``error``

Every message says what was wrong, shows the value, says where, and gives the fix.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "EnvironmentBuildError",
    "HarnessError",
    "ProofsweError",
    "TaskError",
    "UsageError",
]


class ProofsweError(Exception):
    """Base class of every error pytest-proofswe raises on purpose."""


class UsageError(ProofsweError):
    """An option, ini or ``[tool.proofswe]`` value is invalid."""


class TaskError(ProofsweError):
    """A task folder is malformed.

    ``path`` is the offending file, ``key`` the dotted TOML key (or ``None``), and
    ``fix`` one sentence telling the author what to do.
    """

    def __init__(self, path: Path | str, problem: str, *, key: str | None = None, fix: str = "") -> None:
        self.path = Path(path)
        self.key = key
        self.problem = problem
        self.fix = fix
        where = f"{self.path}" + (f": [{key}]" if key else "")
        message = f"{where}: {problem}"
        if fix:
            message += f" (fix: {fix})"
        super().__init__(message)


class HarnessError(ProofsweError):
    """The harness itself failed (a git command, the file system, ...)."""


class EnvironmentBuildError(HarnessError):
    """A task's environment could not be built: a setup command failed.

    ``output_tail`` holds the last lines the failing command printed.
    """

    def __init__(self, message: str, *, command: str = "", output_tail: str = "") -> None:
        self.command = command
        self.output_tail = output_tail
        super().__init__(message)
