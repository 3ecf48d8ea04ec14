"""Claude Code transcripts: ``~/.claude/projects/<project>/<session-id>.jsonl``.

One JSON object per line; ``type`` says what the line is. Quirks this reader handles:

* **One content block per line.** An assistant reply of one API call (one ``message.id`` and
  one ``requestId``) is split over several ``type: "assistant"`` lines, one per content block
  (text, thinking, tool_use), and *every* line repeats the call's ``usage``. The repeats are
  not always identical: the counts grow while the reply streams (in the tool-heavy sample one
  call says ``output_tokens`` 25 on its first line and 173 on its last). So one ``usage``
  event is emitted per distinct (message.id, requestId) pair, holding the largest value seen
  for each count, once the call is complete: when the next call on the same chain starts
  (the main chain, or one sub-agent's side chain), or at the end of the file. Its ``source``
  is the call's last line; ``extra["lines"]`` lists all of them, and ``extra["started"]`` the
  timestamp of its first line (the event's is its last line's). Lines of model
  ``<synthetic>`` (messages Claude Code writes itself, such as API errors) carry no usage.
  ``input_tokens`` excludes cache reads and writes here (Anthropic's convention); of the cache
  writes, ``cache_creation.ephemeral_1h_input_tokens`` were cached for an hour
  (``Usage.cache_write_1h``), which costs more than the default five minutes. No cost is
  recorded.
* **Tool results are ``type: "user"`` lines** whose content holds ``tool_result`` blocks,
  paired with the call by ``tool_use_id``. ``is_error: true`` marks a failure (an absent
  ``is_error`` means false, as in the API). A failed shell command's text starts
  ``Exit code N``; a command that succeeded records no exit code at all, so it stays None (its
  status "ok" says it succeeded). ``extra["not_run"]`` marks a result of a call that never ran
  (rejected, interrupted, or cancelled because a parallel call failed: ``Sibling tool call
  errored``), ``extra["did_not_finish"]`` a command left running in the background.
* **Rejections**: when the person refuses a tool call the line's ``toolUseResult`` is the
  string ``"User rejected tool use"`` (and the block has ``is_error: true``): both a
  ``tool_result`` and a ``control`` event "rejection" are emitted.
* **Interrupts** are user text ``[Request interrupted by user]`` (or ``... for tool use]``):
  emitted as ``control`` "interrupt", not as a message.
* **Harness text in user lines**: ``isMeta: true`` lines, compaction summaries, slash-command
  echoes (``<command-name>``), their output (``<local-command-stdout>``), caveats,
  ``<system-reminder>`` blocks and ``<task-notification>`` messages (a background command or
  agent finished) are ``user_message`` with origin "harness", as is every user text of a
  sub-agent's chain (``isSidechain``: the parent agent's prompt, ``extra["from"]``); everything
  else typed in a user line is origin "person". ``type: "system"`` lines (for example the
  ``local_command`` echo of a slash command) are also harness messages. ``/rewind`` gives a
  ``control`` "rewind", ``/clear`` a "reset"; a change of ``message.model`` on the main chain
  gives a "model_switch".
* **Edits and version control**: Edit/MultiEdit/Write/NotebookEdit calls also give a
  ``file_edit`` (path from ``file_path`` or ``notebook_path``; ``changes``: an Edit's
  ``old_string`` -> ``new_string``, a MultiEdit's ``edits``, a Write's whole ``content``,
  so that the metrics can see an edit undone); a Bash command with a
  state-changing git subcommand (commit, checkout, restore, reset, stash, ...) also gives a
  ``vcs`` event per git command in it (see :func:`git_actions`): ``text`` is that git
  command, ``extra["action"]`` its subcommand, and ``call_id`` leads to the ``tool_call``
  with the whole command line. ``command`` is left None on purpose, so that a consumer
  counting shell commands does not count the same command twice.
* **Queued messages**: a message the person types while the agent works is written as a
  ``queue-operation`` ``enqueue`` line (its ``content``): once handed over (``remove``,
  ``dequeue``) or if still waiting at the end, a ``user_message`` of origin "person"
  (``extra["queued"]``, on the ``enqueue`` line). One given back to be edited (``popAll``)
  is not counted: its edited text is queued again. If the same text comes later as a user
  line, that line is its delivery (origin "harness", ``extra["delivery_of_queued"]``).
  A queued ``<task-notification>`` is left to its user line, and a queued slash command
  (``/mcp``) is a command to the harness, not a message.
* Lines of type ``progress`` (hook runs), ``file-history-snapshot``, other
  ``queue-operation`` lines and ``summary`` carry no events. Thinking blocks and whitespace-only text blocks are dropped.
  Events from sub-agent lines (``isSidechain: true``) carry ``extra["sidechain"] = True``.

The file is streamed line by line. A line that is not a JSON object is skipped and its
1-based number is appended to :attr:`ClaudeCodeReader.skipped_lines`; blank lines are ignored.

The line streaming and the reader's skeleton are in :mod:`.base`, shared with the Codex
reader, as is :func:`.helpers.git_actions`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .base import JsonLinesReader, head_records, iter_json_lines
from .events import Event, Origin, Source, TextChange, Usage
from .helpers import git_actions
from .jsonvalues import as_int as _int
from .jsonvalues import as_str as _str

# iter_json_lines, head_records and git_actions were first defined here: still importable from here.
__all__ = ["ClaudeCodeReader", "git_actions", "head_records", "iter_json_lines"]

_LINE_TYPES = frozenset(
    {"user", "assistant", "summary", "file-history-snapshot", "progress", "system", "queue-operation"}
)
_LINE_KEYS = ("sessionId", "uuid", "message", "leafUuid", "messageId")
_FALLBACK_TYPE = re.compile(rb'"type"\s*:\s*"(?:user|assistant)"')
_FALLBACK_KEY = re.compile(rb'"(?:sessionId|parentUuid)"\s*:')

_INTERRUPT = "[Request interrupted by user"
_REJECTED = "User rejected tool use"
_HARNESS_PREFIXES = (
    "<command-name>",
    "<command-message>",
    "<command-args>",
    "<local-command-stdout>",
    "<local-command-stderr>",
    "<local-command-caveat>",
    "<system-reminder>",
    "<bash-stdout>",
    "<bash-stderr>",
    "<user-prompt-submit-hook>",
    "<task-notification>",
    "Caveat: The messages below were generated by the user while running local commands",
    "This session is being continued from a previous conversation",
)
_COMMAND_NAME = re.compile(r"<command-name>\s*(/?[^<\s]+)\s*</command-name>")
_SLASH_CONTROLS = {"/rewind": "rewind", "/clear": "reset", "/reset": "reset", "/new": "reset"}
_EXIT_CODE = re.compile(r"\s*Exit code (-?\d+)")
# Results of calls that never ran: cancelled because a parallel call failed, or stopped by the person.
_NOT_RUN = ("<tool_use_error>Sibling tool call errored", "[Request interrupted by user")
_EDIT_TOOLS = frozenset({"Edit", "MultiEdit", "Write", "NotebookEdit"})
_SYNTHETIC_MODEL = "<synthetic>"
_USAGE_KEYS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")


class ClaudeCodeReader(JsonLinesReader):
    """Reads Claude Code JSONL transcripts (see the module docstring for the format's quirks).

    ``skipped_lines`` lists the 1-based numbers of the lines the last :meth:`read` skipped
    because they were not JSON objects (see :class:`.base.JsonLinesReader`).
    """

    name = "claude-code"

    def detect(self, path: Path, head: bytes) -> bool:
        """Content-based: a line with a Claude Code ``type`` and one of its keys (the name is not used)."""
        records = head_records(head)
        for record in records:
            if "payload" in record:  # the Codex envelope
                return False
            if record.get("type") in _LINE_TYPES and any(key in record for key in _LINE_KEYS):
                return True
        if records:
            return False
        # No complete line in the head (a first line longer than 64 KiB): look at the raw text.
        start = head.lstrip()[:1]
        return start == b"{" and bool(_FALLBACK_TYPE.search(head)) and bool(_FALLBACK_KEY.search(head))

    def _parser(self) -> _Parser:
        return _Parser()


@dataclass
class _PendingUsage:
    """The usage of one API call, gathered over the call's lines."""

    chain: tuple[bool, str | None]
    message_id: str
    request_id: str | None
    counts: dict[str, int | None] = field(default_factory=dict)
    lines: list[int] = field(default_factory=list)
    timestamp: str | None = None
    started: str | None = None  # the timestamp of the call's first line (a thinking block, say)
    model: str | None = None
    sidechain: bool = False

    def add(self, usage: dict[str, Any], line: int, timestamp: str | None, model: str | None) -> None:
        creation = usage.get("cache_creation")
        one_hour = _int(creation.get("ephemeral_1h_input_tokens")) if isinstance(creation, dict) else None
        for key, value in (
            *((key, _int(usage.get(key))) for key in _USAGE_KEYS),
            ("ephemeral_1h_input_tokens", one_hour),
        ):
            values = [v for v in (self.counts.get(key), value) if v is not None]
            self.counts[key] = max(values) if values else None  # counts only grow while a reply streams
        self.lines.append(line)
        self.timestamp = timestamp or self.timestamp
        self.started = self.started or timestamp
        self.model = model or self.model

    def event(self) -> Event:
        extra: dict[str, object] = {"message_id": self.message_id, "request_id": self.request_id, "lines": self.lines}
        if self.started and self.started != self.timestamp:
            extra["started"] = self.started
        if self.sidechain:
            extra["sidechain"] = True
        return Event(
            kind="usage",
            source=Source(line=self.lines[-1]),
            timestamp=self.timestamp,
            model=self.model,
            usage=Usage(
                input=self.counts.get("input_tokens"),
                output=self.counts.get("output_tokens"),
                cache_read=self.counts.get("cache_read_input_tokens"),
                cache_write=self.counts.get("cache_creation_input_tokens"),
                cache_write_1h=self.counts.get("ephemeral_1h_input_tokens"),
            ),
            extra=extra,
        )


class _Parser:
    """The state of one read: tool names by call id, usage not yet emitted, the current model."""

    def __init__(self) -> None:
        self.tools: dict[str, str] = {}
        self.pending: dict[tuple[str, str | None], _PendingUsage] = {}
        # Usage already emitted, by (message.id, requestId): the lines of one call are close
        # together, so the last few hundred pairs are enough and memory stays bounded.
        self.done: dict[tuple[str, str | None], None] = {}
        self.model: str | None = None
        self.last_command: str | None = None  # a slash command echoed in a user line, to skip its system echo
        self.queued: list[str] = []  # messages typed while the agent worked, already counted
        self.pending_queue: list[tuple[int, str | None, str]] = []  # (line, timestamp, text) queued, not handed over

    def feed(self, number: int, record: dict[str, Any]) -> Iterator[Event]:
        kind = record.get("type")
        if kind == "assistant":
            yield from self._assistant(number, record)
        elif kind == "user":
            yield from self._user(number, record)
        elif kind == "system":
            yield from self._system(number, record)
        elif kind == "queue-operation":
            yield from self._queue(number, record)

    def finish(self) -> Iterator[Event]:
        while self.pending_queue:  # typed, and still waiting when the transcript ends
            yield from self._delivered()
        for pending in self.pending.values():
            yield pending.event()
        self.pending.clear()

    def _queue(self, number: int, record: dict[str, Any]) -> Iterator[Event]:
        """Messages typed while the agent was working: Claude Code queues them (``enqueue``),
        hands them over (``remove``, ``dequeue``), or gives them back to be edited (``popAll``:
        what is sent after editing is queued again). A handed-over or still waiting message is
        the person's; one given back is not counted (its edited text is)."""
        operation = record.get("operation")
        if operation == "enqueue":
            text = _str(record.get("content")) or ""
            self.pending_queue.append((number, _str(record.get("timestamp")), text))
        elif operation in ("remove", "dequeue") and self.pending_queue:
            yield from self._delivered()
        elif operation == "popAll":
            self.pending_queue.clear()

    def _delivered(self) -> Iterator[Event]:
        number, timestamp, text = self.pending_queue.pop(0)
        if not text.strip() or text.lstrip().startswith((*_HARNESS_PREFIXES, "/")):
            return  # a queued task notification comes again as a user line; a slash command is the harness's
        self.queued.append(text.strip())
        del self.queued[:-16]
        yield Event(
            kind="user_message",
            source=Source(line=number),
            timestamp=timestamp,
            text=text,
            origin="person",
            extra={"queued": True},
        )

    # -- assistant lines

    def _assistant(self, number: int, record: dict[str, Any]) -> Iterator[Event]:
        message = record.get("message")
        if not isinstance(message, dict):
            return
        src, ts, extra = Source(line=number), _str(record.get("timestamp")), _line_extra(record)
        sidechain = bool(record.get("isSidechain"))
        model = _str(message.get("model"))
        self.last_command = None

        usage = message.get("usage")
        if isinstance(usage, dict) and model != _SYNTHETIC_MODEL:
            yield from self._usage(number, record, message, usage, model)

        if model and model != _SYNTHETIC_MODEL and not sidechain:
            if self.model is not None and model != self.model:
                yield Event(
                    kind="control",
                    source=src,
                    timestamp=ts,
                    control="model_switch",
                    model=model,
                    extra={**extra, "from": self.model, "to": model},
                )
            self.model = model

        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        if not isinstance(blocks, list):
            return
        for block in blocks:
            if not isinstance(block, dict):
                continue
            btype = block.get("type")
            if btype == "text":
                text = _str(block.get("text"))
                if text and text.strip():
                    yield Event(
                        kind="assistant_message", source=src, timestamp=ts, text=text, model=model, extra=dict(extra)
                    )
            elif btype in ("tool_use", "server_tool_use"):
                yield from self._tool_use(block, src, ts, model, extra)

    def _usage(
        self, number: int, record: dict[str, Any], message: dict[str, Any], usage: dict[str, Any], model: str | None
    ) -> Iterator[Event]:
        ts = _str(record.get("timestamp"))
        sidechain = bool(record.get("isSidechain"))
        message_id = _str(message.get("id"))
        request_id = _str(record.get("requestId"))
        chain = (sidechain, _str(record.get("agentId")))
        if message_id is None:  # nothing to dedupe on: take the line as one call
            single = _PendingUsage(chain=chain, message_id="", request_id=request_id, sidechain=sidechain)
            single.add(usage, number, ts, model)
            yield single.event()
            return
        key = (message_id, request_id)
        if key in self.done:  # a late line of a call already emitted
            return
        if key not in self.pending:
            # A new call on this chain: the previous one on the same chain is complete.
            for old_key in [k for k, p in self.pending.items() if p.chain == chain]:
                yield self.pending.pop(old_key).event()
                self.done[old_key] = None
                if len(self.done) > 512:
                    del self.done[next(iter(self.done))]
            self.pending[key] = _PendingUsage(
                chain=chain, message_id=message_id, request_id=request_id, sidechain=sidechain
            )
        self.pending[key].add(usage, number, ts, model)

    def _tool_use(
        self, block: dict[str, Any], src: Source, ts: str | None, model: str | None, extra: dict[str, object]
    ) -> Iterator[Event]:
        call_id = _str(block.get("id"))
        tool = _str(block.get("name"))
        args = block.get("input")
        arguments = json.dumps(args, ensure_ascii=False) if args is not None else None
        command = _str(args.get("command")) if tool == "Bash" and isinstance(args, dict) else None
        if call_id and tool:
            self.tools[call_id] = tool
        yield Event(
            kind="tool_call",
            source=src,
            timestamp=ts,
            tool=tool,
            call_id=call_id,
            command=command,
            arguments=arguments,
            model=model,
            extra=dict(extra),
        )
        if tool in _EDIT_TOOLS and isinstance(args, dict):
            path = _str(args.get("file_path")) or _str(args.get("notebook_path"))
            yield Event(
                kind="file_edit",
                source=src,
                timestamp=ts,
                tool=tool,
                call_id=call_id,
                path=path,
                changes=_text_changes(tool, args),
                extra=dict(extra),
            )
        if command:
            for action, text in git_actions(command):
                yield Event(
                    kind="vcs",
                    source=src,
                    timestamp=ts,
                    tool=tool,
                    call_id=call_id,
                    text=text,
                    extra={**extra, "action": action},
                )

    # -- user lines

    def _user(self, number: int, record: dict[str, Any]) -> Iterator[Event]:
        message = record.get("message")
        if not isinstance(message, dict):
            return
        src, ts, extra = Source(line=number), _str(record.get("timestamp")), _line_extra(record)
        meta = bool(record.get("isMeta") or record.get("isCompactSummary"))
        content = message.get("content")
        if isinstance(content, str):
            yield from self._user_text(content, meta, src, ts, extra)
            return
        if not isinstance(content, list):
            return
        for block in content:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "tool_result":
                yield from self._tool_result(block, record, src, ts, extra)
            elif block.get("type") == "text":
                yield from self._user_text(_str(block.get("text")) or "", meta, src, ts, extra)

    def _user_text(
        self, text: str, meta: bool, src: Source, ts: str | None, extra: dict[str, object]
    ) -> Iterator[Event]:
        if not text.strip():
            return
        stripped = text.lstrip()
        if stripped.startswith(_INTERRUPT):
            yield Event(kind="control", source=src, timestamp=ts, control="interrupt", text=stripped, extra=dict(extra))
            return
        command = _slash_command(text)
        # In a sub-agent's chain the "user" is the parent agent: its prompt, never a person's.
        from_parent = bool(extra.get("sidechain"))
        delivered = not (meta or from_parent) and text.strip() in self.queued  # counted when it was queued
        if delivered:
            self.queued.remove(text.strip())
        harness = meta or from_parent or delivered or command is not None or stripped.startswith(_HARNESS_PREFIXES)
        origin: Origin = "harness" if harness else "person"
        message_extra = {**extra, "command": command} if command else dict(extra)
        if from_parent:
            message_extra["from"] = "parent agent"
        elif delivered:
            message_extra["delivery_of_queued"] = True
        yield Event(
            kind="user_message",
            source=src,
            timestamp=ts,
            text=text,
            origin=origin,
            extra=message_extra,
        )
        if command is not None:
            yield from self._slash_control(command, src, ts, extra)
            self.last_command = command
        elif not harness:
            self.last_command = None

    def _slash_control(self, command: str, src: Source, ts: str | None, extra: dict[str, object]) -> Iterator[Event]:
        control = _SLASH_CONTROLS.get(command)
        if control:
            yield Event(
                kind="control",
                source=src,
                timestamp=ts,
                control=control,
                text=command,
                extra={**extra, "command": command},
            )

    def _tool_result(
        self, block: dict[str, Any], record: dict[str, Any], src: Source, ts: str | None, extra: dict[str, object]
    ) -> Iterator[Event]:
        call_id = _str(block.get("tool_use_id"))
        tool = self.tools.pop(call_id, None) if call_id else None  # a call has one result: forget it
        text = _content_text(block.get("content"))
        is_error = block.get("is_error") is True
        match = _EXIT_CODE.match(text)
        exit_code = int(match.group(1)) if match else None
        result_extra = dict(extra)
        outcome = record.get("toolUseResult")
        if isinstance(outcome, dict) and outcome.get("interrupted") is True:
            result_extra["interrupted"] = True
        if isinstance(outcome, dict) and outcome.get("backgroundTaskId"):
            result_extra["did_not_finish"] = "running in the background"
        if is_error and outcome == _REJECTED:
            result_extra["not_run"] = "rejected"
        elif text.lstrip().startswith(_NOT_RUN):
            result_extra["not_run"] = text.strip()[:80]
        yield Event(
            kind="tool_result",
            source=src,
            timestamp=ts,
            tool=tool,
            call_id=call_id,
            text=text,
            status="error" if is_error else "ok",
            exit_code=exit_code,
            exit_code_source="output text" if match else None,
            extra=result_extra,
        )
        if is_error and outcome == _REJECTED:
            yield Event(
                kind="control",
                source=src,
                timestamp=ts,
                control="rejection",
                tool=tool,
                call_id=call_id,
                text=text,
                extra=dict(extra),
            )
        elif text.lstrip().startswith(_INTERRUPT):
            yield Event(
                kind="control",
                source=src,
                timestamp=ts,
                control="interrupt",
                tool=tool,
                call_id=call_id,
                text=text,
                extra=dict(extra),
            )

    # -- system lines

    def _system(self, number: int, record: dict[str, Any]) -> Iterator[Event]:
        content = _str(record.get("content"))
        if not content or not content.strip():
            return
        src, ts = Source(line=number), _str(record.get("timestamp"))
        extra = _line_extra(record)
        subtype = _str(record.get("subtype"))
        if subtype:
            extra["subtype"] = subtype
        command = _slash_command(content)
        if command:
            extra["command"] = command
        yield Event(kind="user_message", source=src, timestamp=ts, text=content, origin="harness", extra=extra)
        if command is not None and command != self.last_command:  # not the echo of a command already seen
            yield from self._slash_control(command, src, ts, _line_extra(record))
            self.last_command = command


def _text_changes(tool: str, args: dict[str, Any]) -> tuple[TextChange, ...]:
    """What an Edit (``old_string`` -> ``new_string``), a MultiEdit (its ``edits``) or a Write
    (the whole ``content``) does to the file's text; nothing for a notebook cell."""
    if tool == "Write":
        content = _str(args.get("content"))
        return (TextChange(None, content),) if content is not None else ()
    edits = args.get("edits") if tool == "MultiEdit" else [args] if tool == "Edit" else []
    changes = []
    for edit in edits if isinstance(edits, list) else []:
        if isinstance(edit, dict):
            old, new = _str(edit.get("old_string")), _str(edit.get("new_string"))
            if old is not None and new is not None:
                changes.append(TextChange(old, new))
    return tuple(changes)


def _slash_command(text: str) -> str | None:
    match = _COMMAND_NAME.search(text)
    return match.group(1) if match else None


def _content_text(content: object) -> str:
    """The text of a tool_result's content: a string, or a list of blocks (text blocks joined)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [b["text"] for b in content if isinstance(b, dict) and isinstance(b.get("text"), str)]
        return "\n".join(parts)
    return ""


def _line_extra(record: dict[str, Any]) -> dict[str, object]:
    return {"sidechain": True} if record.get("isSidechain") else {}
