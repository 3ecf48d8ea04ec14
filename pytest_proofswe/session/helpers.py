"""Helpers the transcript readers share: the version-control actions in a shell command line."""

from __future__ import annotations

import re
import shlex

__all__ = ["git_actions"]

# git subcommands that change the repository or the work tree (read-only ones such as status,
# diff, log and show are not version-control *actions*).
_GIT_STATE_CHANGING = frozenset(
    {
        "add",
        "am",
        "apply",
        "checkout",
        "cherry-pick",
        "clean",
        "commit",
        "merge",
        "mv",
        "pull",
        "push",
        "rebase",
        "reset",
        "restore",
        "revert",
        "rm",
        "stash",
        "switch",
    }
)
_GIT_OPTIONS_WITH_VALUE = frozenset({"-C", "-c", "--git-dir", "--work-tree", "--namespace", "--exec-path"})
_SHELL_SEPARATORS = re.compile(r"&&|\|\||[;|\n]")
_ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def git_actions(command: str) -> list[tuple[str, str]]:
    """The state-changing git commands in a shell command line, as (subcommand, command text).

    A heuristic: the line is split on ``&&``, ``||``, ``;``, ``|`` and newlines (quotes are not
    respected), so ``cd repo && git checkout -- a.py`` yields ``("checkout", "git checkout -- a.py")``.
    Leading ``VAR=value`` words and git's global options (``-C dir``, ``-c k=v``, ...) are skipped.
    """
    actions: list[tuple[str, str]] = []
    for piece in _SHELL_SEPARATORS.split(command):
        segment = piece.strip()
        try:
            words = shlex.split(segment)
        except ValueError:  # an unbalanced quote, because the split above ignores quoting
            words = segment.split()
        while words and _ENV_ASSIGNMENT.match(words[0]):
            words.pop(0)
        if not words or words[0] != "git":
            continue
        rest = iter(words[1:])
        for word in rest:
            if word in _GIT_OPTIONS_WITH_VALUE:
                next(rest, None)
            elif not word.startswith("-"):
                if word in _GIT_STATE_CHANGING:
                    actions.append((word, segment))
                break
    return actions
