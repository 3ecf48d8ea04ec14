"""One normalised event model for every harness's transcript (pure values).

Every event keeps where it came from in the file (``line``, 1-based, for line formats;
``offset`` into a JSON document's top-level list or a byte offset otherwise), so that a
session signal can cite its evidence. Unknown is None, never 0.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

__all__ = ["Event", "EventKind", "Origin", "Reader", "Source", "TextChange", "Usage", "editor_changes"]

EventKind = Literal[
    "user_message",  # text given to the agent: by a person, a harness injection, or a tool result wrapper
    "assistant_message",  # the model's text
    "tool_call",  # the model asks for a tool (shell command, file edit, search, ...)
    "tool_result",  # what the tool returned
    "file_edit",  # a change to a file (an edit tool, apply_patch, aider's "Applied edit")
    "usage",  # token counts (and cost, where the harness records it)
    "control",  # interrupt, rejection, rewind, undo, model switch, reset
    "vcs",  # a version-control action (commit, checkout, restore, stash)
    "end",  # the session ended (with its exit status where known)
]
Origin = Literal["person", "harness", "tool"]


@dataclass(frozen=True)
class Source:
    """Where an event came from: ``line`` (1-based) or ``offset`` (an index or a byte offset)."""

    line: int | None = None
    offset: int | None = None

    def __str__(self) -> str:
        if self.line is not None:
            return f"line {self.line}"
        return f"entry {self.offset}" if self.offset is not None else "?"


@dataclass(frozen=True)
class Usage:
    """Token counts of one model call (or the session's total, see ``cumulative``)."""

    input: int | None = None
    output: int | None = None
    cache_read: int | None = None
    cache_write: int | None = None
    cache_write_1h: int | None = None  # of cache_write, those cached for an hour (priced above a 5-minute write)
    cost_usd: float | None = None  # only when the harness records it
    cumulative: bool = False  # the counts are the session's running total so far
    # OpenAI's convention (Codex): ``input`` already counts the ``cache_read`` tokens. Anthropic's
    # (Claude Code, the default): ``input`` is the uncached input only, cache reads and writes apart.
    input_includes_cache_read: bool = False
    # litellm's ``prompt_tokens`` for an Anthropic model (OpenHands' usage) also counts the cache writes.
    input_includes_cache_write: bool = False


@dataclass(frozen=True)
class TextChange:
    """What one ``file_edit`` did to a file's text, when the transcript shows it.

    ``old`` became ``new``: a replacement (an ``Edit``, a patch hunk's removed and added
    lines). ``old`` None: the whole file was written and ``new`` is its whole content.
    """

    old: str | None
    new: str


def editor_changes(args: Mapping[str, object]) -> tuple[TextChange, ...]:
    """The text changes of a file-editor tool call, from its arguments, for the shapes agents share.

    ``str_replace_editor`` (SWE-agent 1.x, OpenHands): ``str_replace`` gives ``old_str`` ->
    ``new_str`` (absent: deleted), ``create`` the whole ``file_text``; SWE-agent's ``edit``
    function gives ``search`` -> ``replace``. Anything else (an insert at a line, an
    undo): nothing, since the text it replaces is not in the arguments.
    """
    old, new = args.get("old_str", args.get("search")), args.get("new_str", args.get("replace", ""))
    if args.get("command") in ("str_replace", None) and isinstance(old, str) and old and isinstance(new, str):
        return (TextChange(old, new),)
    text = args.get("file_text")
    if args.get("command") == "create" and isinstance(text, str):
        return (TextChange(None, text),)
    return ()


@dataclass(frozen=True)
class Event:
    kind: EventKind
    source: Source
    timestamp: str | None = None  # ISO 8601 as the harness wrote it
    text: str | None = None
    origin: Origin | None = None  # for user_message
    tool: str | None = None  # tool name for tool_call / tool_result
    call_id: str | None = None  # pairs a tool_call with its tool_result
    command: str | None = None  # the shell command, for shell tool calls
    arguments: str | None = None  # the call's arguments as the harness wrote them (JSON text)
    status: Literal["ok", "error", "unknown"] | None = None  # tool_result
    exit_code: int | None = None  # tool_result of a command: None when unknown or not finished
    exit_code_source: str | None = None  # where the exit code came from ("metadata", "output text", ...)
    path: str | None = None  # file_edit
    changes: tuple[TextChange, ...] = ()  # file_edit: the text it replaced, when the transcript shows it
    control: str | None = None  # control: "interrupt", "rejection", "rewind", "undo", "model_switch", "reset"
    model: str | None = None
    usage: Usage | None = None
    # Keys the metrics read: "sidechain" (a sub-agent's event), "shell" (a tool_call of a shell
    # tool whose command the transcript hides: redacted or unparseable arguments); on a
    # tool_result "running" (the command goes on, a later result has its outcome), "not_run"
    # (the call never ran: rejected, cancelled), "did_not_finish" (left running, timed out),
    # "execution_time" (seconds the action ran); "slash_command" and "message" (a command to
    # the harness, and the text it sends to the model), "launch" (aider: the launch an event
    # belongs to), "started" (a usage event: when the model call's first line was written).
    extra: dict[str, object] = field(default_factory=dict)


class Reader(Protocol):
    """A transcript reader: the plugin hook ``pytest_proofswe_session_reader`` returns one."""

    name: str  # "claude-code", "codex", "openhands", "swe-agent", "aider", ...

    def detect(self, path: Path, head: bytes) -> bool:
        """Whether the file at ``path`` (whose first 64 KiB are ``head``) is this reader's format."""
        ...

    def read(self, path: Path) -> Iterator[Event]:
        """The file's events, in order; line formats are streamed, never read whole."""
        ...
