"""Codex CLI / Codex Desktop rollouts: ``~/.codex/sessions/YYYY/MM/DD/rollout-<time>-<id>.jsonl``.

One JSON object per line, each an envelope ``{"timestamp", "type", "payload"}``. ``type`` is
``session_meta`` (first line: id, cwd, cli_version, git), ``turn_context`` (one per model
request: cwd, approval and sandbox policy, **the model name, which is nowhere else**),
``response_item`` (what went to or came from the model: ``message``, ``function_call``,
``function_call_output``, ``custom_tool_call``, ``custom_tool_call_output``,
``local_shell_call``, ``reasoning``, ``web_search_call``), ``event_msg`` (UI events:
``user_message``, ``agent_message``, ``agent_reasoning``, ``token_count``,
``exec_command_end``, ``turn_aborted``, ``task_started``, ``task_complete``, ...) or
``compacted``. Quirks this reader handles:

* **Messages are written twice.** A person's message is a ``response_item`` message of role
  user *and*, right after it, an ``event_msg`` ``user_message``; the model's text is a
  ``response_item`` assistant message and an ``event_msg`` ``agent_message``. Person messages
  are taken from ``event_msg`` ``user_message`` (origin "person", or "harness" when its
  ``kind`` or its text says it is environment context or instructions); assistant messages
  from the ``response_item``. A role-user ``response_item`` is held back for one line: if an
  ``event_msg`` ``user_message`` follows it is the same message and is dropped, otherwise it
  was injected by the harness (``<environment_context>``, AGENTS.md ``<user_instructions>``,
  context re-sent after compaction) and becomes a ``user_message`` with origin "harness".
  Role developer/system messages are harness messages too. Text with a known harness tag is
  a harness message at once (this pairing also works on redacted samples, where every text is
  replaced by a ``[REDACTED_* ...]`` marker and no tag can be seen).
* **Token counts are cumulative and duplicated.** ``token_count`` carries
  ``info.total_token_usage`` (the session's running total) and ``info.last_token_usage``
  (the last request); ``info`` is null before the first request, and the same total is often
  written twice in a row. One ``usage`` event with ``cumulative=True`` is emitted per change
  of the total, so the session's cost is the *last* usage event, never a sum. Mapping:
  ``input_tokens`` → ``input``, ``cached_input_tokens`` → ``cache_read``, ``output_tokens`` →
  ``output``; ``cache_write`` is None (not recorded). OpenAI's ``input_tokens`` *includes*
  the cached tokens (unlike Claude's), and ``output_tokens`` includes the reasoning tokens:
  ``Usage.input_includes_cache_read`` is True (and ``extra`` says so too, with
  ``input_includes_cache_read: True``), so the cost does not count cache reads twice; ``extra`` holds ``total_tokens``
  (= input + output), ``reasoning_output_tokens`` and ``last_token_usage``.
* **Shell calls**: a ``function_call`` named ``exec_command`` (argument ``cmd``, a string),
  ``shell`` (``command``, an argv list, usually ``["bash", "-lc", script]``),
  ``shell_command`` (``command``, a string) or a ``local_shell_call`` (``action.command``)
  gives a ``tool_call`` with ``command``. ``arguments`` is a JSON string (or, in redacted
  samples, an opaque marker ``[REDACTED_ARGUMENTS len=N sha=...]``): when the command cannot
  be read ``command`` is None and ``extra`` has ``shell: True`` and ``unreadable`` (why), so
  that it is still counted as a command. ``write_stdin`` feeds a running ``exec_command``
  session (not a new command).
* **Exit codes** are not fields of the output item. The output is either JSON
  ``{"output": ..., "metadata": {"exit_code": N}}`` (``exit_code_source`` "metadata") or
  text with a header such as ``Exit code: N`` or ``Process exited with code N`` before an
  ``Output:`` line ("output text"). An ``exec_command_end`` event (not persisted by default)
  gives the code when it comes before the output ("exec_command_end"). A ``tool_result``'s
  status is "ok" for exit code 0, "error" for any other code, else "unknown" (for example
  ``Process running with session ID N``: the command has not finished).
* **apply_patch** is a ``custom_tool_call`` whose ``input`` is the patch text (older
  versions: a function_call with ``{"input": patch}``, or a shell command ``apply_patch``
  with the patch); each ``*** Update File:``, ``*** Add File:``, ``*** Delete File:`` (and
  ``*** Move to:``) line gives a ``file_edit`` with ``extra["change"]`` and, as ``changes``,
  the text its hunks replace (see :func:`patch_changes`). A patch with no readable file
  line (redacted, or not a patch) gives one ``file_edit`` without a path, ``extra["unreadable"]``
  saying why: the call is still an edit.
* ``turn_aborted`` is a ``control`` "interrupt" (``extra["reason"]``); a changed model in
  ``turn_context`` is a ``control`` "model_switch". Shell commands with state-changing git
  subcommands also give ``vcs`` events (``text`` the git command, ``command`` None, as in the
  Claude Code reader). Reasoning items and agent_reasoning events are
  dropped. The older rollout format (before the envelope, about mid-2025) is not read.

The file is streamed line by line. A line that is not a JSON object is skipped and its
1-based number is appended to :attr:`CodexReader.skipped_lines`; blank lines are ignored.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from .base import JsonLinesReader, head_records
from .events import Event, Source, TextChange, Usage
from .helpers import git_actions
from .jsonvalues import as_int as _int
from .jsonvalues import as_str as _str
from .jsonvalues import json_object as _json_object

__all__ = ["CodexReader", "patch_changes", "patch_files"]

_ENVELOPE_TYPES = frozenset({"session_meta", "turn_context", "response_item", "event_msg", "compacted"})
_FALLBACK = re.compile(rb'"type"\s*:\s*"(?:session_meta|turn_context|response_item|event_msg)"\s*,\s*"payload"')

_SHELL_TOOLS = frozenset({"exec_command", "shell", "shell_command", "container.exec", "local_shell"})
_SHELLS = frozenset({"bash", "sh", "zsh", "/bin/bash", "/bin/sh", "/bin/zsh"})
_HARNESS_TAGS = (
    "<environment_context>",
    "<user_instructions>",
    "<user_shell_command>",
    "<turn_aborted>",
    "<INSTRUCTIONS>",
    "# AGENTS.md instructions",
)
_HARNESS_KINDS = frozenset({"environment_context", "user_instructions"})
_PATCH_FILE = re.compile(r"^\*\*\* (Update|Add|Delete) File: (.+?)\s*$|^\*\*\* Move to: (.+?)\s*$", re.MULTILINE)
_EXIT_PATTERNS = (
    re.compile(r"^Exit code: (-?\d+)", re.MULTILINE),
    re.compile(r"^Process exited with code (-?\d+)", re.MULTILINE),
)
_REDACTED = re.compile(r"\s*\[REDACTED[_\s\]]")
_RUNNING = re.compile(r"^Process running with session ID (\d+)", re.MULTILINE)
_HEADER_LINES = 6  # where no "Output:" line ends the header, only its first lines are searched


class CodexReader(JsonLinesReader):
    """Reads Codex rollout JSONL files (see the module docstring for the format's quirks).

    ``skipped_lines`` lists the 1-based numbers of the lines the last :meth:`read` skipped
    because they were not JSON objects (see :class:`.base.JsonLinesReader`).
    """

    name = "codex"

    def detect(self, path: Path, head: bytes) -> bool:
        """Content-based: a line that is a Codex envelope (``type`` and a ``payload`` object)."""
        records = head_records(head)
        for record in records:
            if record.get("type") in _ENVELOPE_TYPES and isinstance(record.get("payload"), dict):
                return True
        if records:
            return False
        # No complete line in the head (a session_meta longer than 64 KiB): look at the raw text.
        return head.lstrip()[:1] == b"{" and bool(_FALLBACK.search(head[:1024]))

    def _parser(self) -> _Parser:
        return _Parser()


def patch_changes(patch: str) -> dict[str, tuple[TextChange, ...]]:
    """The text each file's part of an apply_patch patch replaces, by path.

    An ``*** Update File`` hunk (after its ``@@`` line) gives its old side (context and ``-``
    lines) and its new side (context and ``+`` lines); an ``*** Add File`` gives the whole
    new text. A deleted or moved file gives none.
    """
    changes: dict[str, list[TextChange]] = {}
    path: str | None = None
    mode = ""
    old: list[str] = []
    new: list[str] = []

    def flush() -> None:
        if path is not None and (old or new):
            if mode == "add":
                changes.setdefault(path, []).append(TextChange(None, "\n".join(new) + "\n"))
            elif mode == "update" and old != new:
                changes.setdefault(path, []).append(TextChange("\n".join(old), "\n".join(new)))
        old.clear()
        new.clear()

    for line in patch.splitlines():
        header = _PATCH_FILE.match(line)
        if header and header.group(3):  # *** Move to: the hunks that follow are the moved file's
            continue
        if header or line.startswith(("*** End Patch", "*** Begin Patch")):
            flush()
            path, mode = (header.group(2), header.group(1).lower()) if header else (None, "")
        elif line.startswith("@@") or line == "*** End of File":
            flush()
        elif path is not None and mode == "add" and line.startswith("+"):
            new.append(line[1:])
        elif path is not None and mode == "update" and line[:1] in (" ", "-", "+"):
            if line[:1] != "+":
                old.append(line[1:])
            if line[:1] != "-":
                new.append(line[1:])
    flush()
    return {p: tuple(c) for p, c in changes.items()}


def patch_files(patch: str) -> list[tuple[str, str]]:
    """The files an apply_patch patch touches, as (change, path): change is update/add/delete/move."""
    files: list[tuple[str, str]] = []
    for match in _PATCH_FILE.finditer(patch):
        if match.group(1):
            files.append((match.group(1).lower(), match.group(2)))
        else:
            files.append(("move", match.group(3)))
    return files


class _Parser:
    """The state of one read: the model, calls by id, the last total, a held-back user message."""

    def __init__(self) -> None:
        self.model: str | None = None
        self.tools: dict[str, str] = {}
        self.exit_codes: dict[str, int] = {}  # from exec_command_end, waiting for the call's output
        self.answered: set[str] = set()
        self.running: dict[str, str] = {}  # session id -> the exec_command call still running in it
        self.stdin_sessions: dict[str, str] = {}  # write_stdin call id -> the session it feeds
        self.last_total: dict[str, Any] | None = None
        self.held: Event | None = None  # a role-user response_item: the person's, or the harness's?

    def feed(self, number: int, record: dict[str, Any]) -> Iterator[Event]:
        rtype = record.get("type")
        payload = record.get("payload")
        if not isinstance(payload, dict):
            return
        ptype = payload.get("type")
        if self.held is not None:
            if not (rtype == "event_msg" and ptype == "user_message"):
                yield self.held  # no user_message event followed: the harness injected it
            self.held = None
        src, ts = Source(line=number), _str(record.get("timestamp"))
        if rtype == "turn_context":
            yield from self._turn_context(payload, src, ts)
        elif rtype == "response_item":
            yield from self._response_item(ptype, payload, src, ts)
        elif rtype == "event_msg":
            yield from self._event_msg(ptype, payload, src, ts)

    def finish(self) -> Iterator[Event]:
        if self.held is not None:
            yield self.held
            self.held = None

    def _turn_context(self, payload: dict[str, Any], src: Source, ts: str | None) -> Iterator[Event]:
        model = _str(payload.get("model"))
        if model is None:
            return
        if self.model is not None and model != self.model:
            yield Event(
                kind="control",
                source=src,
                timestamp=ts,
                control="model_switch",
                model=model,
                extra={"from": self.model, "to": model},
            )
        self.model = model

    # -- response items

    def _response_item(self, ptype: object, payload: dict[str, Any], src: Source, ts: str | None) -> Iterator[Event]:
        if ptype == "message":
            yield from self._message(payload, src, ts)
        elif ptype in ("function_call", "custom_tool_call"):
            name = _str(payload.get("name"))
            raw = payload.get("arguments") if ptype == "function_call" else payload.get("input")
            arguments = raw if isinstance(raw, str) else json.dumps(raw) if raw is not None else None
            yield from self._tool_call(
                name, arguments, _str(payload.get("call_id")), ptype == "custom_tool_call", src, ts
            )
        elif ptype == "local_shell_call":
            action = payload.get("action")
            arguments = json.dumps(action) if action is not None else None
            call_id = _str(payload.get("call_id")) or _str(payload.get("id"))
            yield from self._tool_call("local_shell", arguments, call_id, False, src, ts)
        elif ptype in ("function_call_output", "custom_tool_call_output"):
            yield from self._tool_result(payload, src, ts)
        elif ptype == "web_search_call":
            action = payload.get("action")
            yield Event(
                kind="tool_call",
                source=src,
                timestamp=ts,
                tool="web_search",
                call_id=_str(payload.get("id")),
                arguments=json.dumps(action) if action is not None else None,
                model=self.model,
            )

    def _message(self, payload: dict[str, Any], src: Source, ts: str | None) -> Iterator[Event]:
        role = _str(payload.get("role"))
        text = _message_text(payload.get("content"))
        if not text.strip():
            return
        if role == "assistant":
            yield Event(kind="assistant_message", source=src, timestamp=ts, text=text, model=self.model)
            return
        event = Event(kind="user_message", source=src, timestamp=ts, text=text, origin="harness", extra={"role": role})
        if role == "user" and not text.lstrip().startswith(_HARNESS_TAGS):
            self.held = event  # decided by the next line
        else:
            yield event

    def _tool_call(
        self, name: str | None, arguments: str | None, call_id: str | None, custom: bool, src: Source, ts: str | None
    ) -> Iterator[Event]:
        command: str | None = None
        patch: str | None = None
        args = _json_object(arguments)
        call_extra: dict[str, object] = {}
        if name == "apply_patch":
            patch = arguments if custom else _str(args.get("input"))
        elif name in _SHELL_TOOLS:
            raw = args.get("cmd", args.get("command"))
            command = _command_text(raw)
            if isinstance(raw, list) and len(raw) > 1 and raw[0] == "apply_patch":
                patch = _str(raw[1])
            elif command and "*** Begin Patch" in command:
                patch = command
            if command is None:  # redacted or unparseable: still a command, by the tool's name
                call_extra = {"shell": True, "unreadable": _unreadable(arguments)}
        if call_id and name:
            self.tools[call_id] = name
        session = args.get("session_id")
        if name == "write_stdin" and call_id and isinstance(session, (int, str)) and not isinstance(session, bool):
            self.stdin_sessions[call_id] = str(session)
        yield Event(
            kind="tool_call",
            source=src,
            timestamp=ts,
            tool=name,
            call_id=call_id,
            command=command,
            arguments=arguments,
            model=self.model,
            extra=call_extra,
        )
        files = patch_files(patch or "")
        if name == "apply_patch" and not files:  # a patch that cannot be read is still an edit
            yield Event(
                kind="file_edit",
                source=src,
                timestamp=ts,
                tool=name,
                call_id=call_id,
                extra={"change": None, "unreadable": _unreadable(patch if custom else arguments)},
            )
        changes = patch_changes(patch or "")
        for change, path in files:
            yield Event(
                kind="file_edit",
                source=src,
                timestamp=ts,
                tool=name,
                call_id=call_id,
                path=path,
                changes=changes.get(path, ()),
                extra={"change": change},
            )
        for action, text in git_actions(command or ""):
            yield Event(
                kind="vcs",
                source=src,
                timestamp=ts,
                tool=name,
                call_id=call_id,
                text=text,
                extra={"action": action},
            )

    def _tool_result(self, payload: dict[str, Any], src: Source, ts: str | None) -> Iterator[Event]:
        call_id = _str(payload.get("call_id"))
        text, exit_code, exit_source = _parse_output(payload.get("output"))
        tool = self.tools.get(call_id) if call_id else None
        extra: dict[str, object] = {}
        if call_id:
            self.answered.add(call_id)
            ended = self.exit_codes.pop(call_id, None)
            if exit_code is None and ended is not None:
                exit_code, exit_source = ended, "exec_command_end"
        session = self.stdin_sessions.pop(call_id, None) if call_id else None
        if tool == "write_stdin" and session is not None:
            # Its output reports on the command running in that session: the code is that command's.
            if exit_code is not None:
                extra["session_exit_code"] = exit_code
                running = self.running.pop(session, None)
                if running is not None:
                    yield self._final(running, exit_code, "write_stdin output", text, src, ts)
            exit_code = exit_source = None
        running_in = _RUNNING.search(text) if exit_code is None and tool != "write_stdin" else None
        if running_in and call_id:  # not finished: its exit code comes later (exec_command_end, write_stdin)
            self.running[running_in.group(1)] = call_id
            extra.update(running=True, session_id=running_in.group(1))
        yield Event(
            kind="tool_result",
            source=src,
            timestamp=ts,
            tool=tool,
            call_id=call_id,
            text=text,
            status=_status(exit_code),
            exit_code=exit_code,
            exit_code_source=exit_source,
            extra=extra,
        )

    def _final(self, call_id: str, exit_code: int, where: str, text: str, src: Source, ts: str | None) -> Event:
        """The outcome of a command that was still running when its output was written."""
        return Event(
            kind="tool_result",
            source=src,
            timestamp=ts,
            tool=self.tools.get(call_id),
            call_id=call_id,
            text=text,
            status=_status(exit_code),
            exit_code=exit_code,
            exit_code_source=where,
            extra={"final": True},
        )

    # -- events

    def _event_msg(self, ptype: object, payload: dict[str, Any], src: Source, ts: str | None) -> Iterator[Event]:
        if ptype == "user_message":
            text = _str(payload.get("message")) or ""
            kind = _str(payload.get("kind"))
            harness = kind in _HARNESS_KINDS or text.lstrip().startswith(_HARNESS_TAGS)
            yield Event(
                kind="user_message",
                source=src,
                timestamp=ts,
                text=text,
                origin="harness" if harness else "person",
                extra={"kind": kind} if kind else {},
            )
        elif ptype == "token_count":
            yield from self._token_count(payload, src, ts)
        elif ptype == "exec_command_end":
            call_id = _str(payload.get("call_id"))
            code = _int(payload.get("exit_code"))
            session = next((s for s, c in self.running.items() if c == call_id), None)
            if call_id and code is not None and session is not None:  # it ended after its output was written
                del self.running[session]
                yield self._final(
                    call_id, code, "exec_command_end", _str(payload.get("aggregated_output")) or "", src, ts
                )
            elif call_id and code is not None and call_id not in self.answered:
                self.exit_codes[call_id] = code
        elif ptype == "turn_aborted":
            reason = _str(payload.get("reason"))
            yield Event(
                kind="control", source=src, timestamp=ts, control="interrupt", text=reason, extra={"reason": reason}
            )

    def _token_count(self, payload: dict[str, Any], src: Source, ts: str | None) -> Iterator[Event]:
        info = payload.get("info")
        total = info.get("total_token_usage") if isinstance(info, dict) else None
        if not isinstance(total, dict) or total == self.last_total:
            return  # no request yet, or the same total written again
        self.last_total = total
        extra: dict[str, object] = {
            "total_tokens": _int(total.get("total_tokens")),
            "reasoning_output_tokens": _int(total.get("reasoning_output_tokens")),
            "input_includes_cache_read": True,
        }
        last = info.get("last_token_usage") if isinstance(info, dict) else None
        if isinstance(last, dict):
            extra["last_token_usage"] = dict(last)
        yield Event(
            kind="usage",
            source=src,
            timestamp=ts,
            model=self.model,
            usage=Usage(
                input=_int(total.get("input_tokens")),
                output=_int(total.get("output_tokens")),
                cache_read=_int(total.get("cached_input_tokens")),
                cumulative=True,
                input_includes_cache_read=True,
            ),
            extra=extra,
        )


def _status(exit_code: int | None) -> Literal["ok", "error", "unknown"]:
    return "unknown" if exit_code is None else "ok" if exit_code == 0 else "error"


def _unreadable(arguments: str | None) -> str:
    """Why a call's arguments cannot be read: a redaction marker (``[REDACTED_... len=N sha=...]``) or not."""
    if arguments is None or not arguments.strip():
        return "no arguments"
    if _REDACTED.match(arguments):
        return "arguments redacted"
    return "arguments unparseable"


def _parse_output(output: object) -> tuple[str, int | None, str | None]:
    """A tool output's text, exit code and where the code came from."""
    if isinstance(output, str) and output.lstrip().startswith("{"):
        parsed = _json_object(output)
        if "output" in parsed or "metadata" in parsed:
            output = parsed
    if isinstance(output, dict):
        text = output.get("output", output.get("content"))
        metadata = output.get("metadata")
        code = _int(metadata.get("exit_code")) if isinstance(metadata, dict) else None
        text_str = text if isinstance(text, str) else json.dumps(text) if text is not None else ""
        if code is not None:
            return text_str, code, "metadata"
        output = text_str
    if isinstance(output, list):  # content items
        output = "\n".join(i["text"] for i in output if isinstance(i, dict) and isinstance(i.get("text"), str))
    text = output if isinstance(output, str) else ""
    head, marker, _ = text.partition("\nOutput:")
    header = head if marker else "\n".join(text.splitlines()[:_HEADER_LINES])
    for pattern in _EXIT_PATTERNS:
        match = pattern.search(header)
        if match:
            return text, int(match.group(1)), "output text"
    return text, None, None


def _command_text(raw: object) -> str | None:
    """A shell command as one string: ``["bash", "-lc", script]`` gives the script."""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, list) and raw and all(isinstance(w, str) for w in raw):
        if len(raw) == 3 and raw[0] in _SHELLS and raw[1] in ("-lc", "-c"):
            return str(raw[2])
        return shlex.join(raw)
    return None


def _message_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(b["text"] for b in content if isinstance(b, dict) and isinstance(b.get("text"), str))
    return ""
