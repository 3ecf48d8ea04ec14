"""aider's ``.aider.chat.history.md`` -> normalised events (streamed line by line).

The file is Markdown that aider appends to as the chat goes:

- ``# aider chat started at 2025-05-04 17:02:36`` opens each session. It is the only time
  in the file: every later event gets that session start as its ``timestamp`` (local time,
  no zone, as written), so the times cannot measure how long a session took. Each event's
  ``extra["launch"]`` is the number of the launch it belongs to (1 for the first heading):
  a file appends every launch, so one file is several sessions.
- ``#### text`` lines are what the person typed; a multi-line input is consecutive
  ``####`` lines, read as one ``user_message`` (origin ``person``; ``extra["line_count"]``
  is the number of ``####`` lines). aider ends each of them with two spaces (a Markdown
  line break); a ``#### `` line without them inside the model's reply is a Markdown
  heading of the reply, not input.
- Slash commands: ``/undo`` is a ``control`` ``undo``; ``/model NAME`` a ``control``
  ``model_switch`` (its ``model`` is the one aider reports next, ``> Main model: ...``);
  ``/reset`` and ``/clear`` a ``control`` ``reset``. Other commands (``/code``, ``/ask``,
  ``/commit``, ``/help``, ``/models``, ...) are ``user_message`` (origin ``person``) with
  ``extra["slash_command"]`` (and ``extra["message"]``, the text a ``/ask``, ``/code``,
  ``/architect``, ``/help`` or ``/context`` sends to the model). ``!CMD`` is ``/run CMD``;
  ``/run CMD`` and ``/test CMD`` also give a ``tool_call`` with ``command`` CMD
  (``extra["by"]`` "person": aider runs it and adds its output to the chat). Commands are
  matched by their full name only (aider also accepts unique prefixes).
- Text aider sends as if typed is a ``user_message`` with origin ``harness``: the echo of
  ``/code TEXT`` (``/ask``, ``/architect``, ...) as a new ``####`` line
  (``extra["echo_of_line"]``, so a person's request is counted once), ``/help``'s question
  with its docs (``# Question:``), the lint fixer's ``# Fix any errors below``, and in
  architect mode the architect's proposal handed to the editor model once the person
  accepts it (``> Edit the files? ... y``; ``extra["injected"]`` says which).
- ``> ...`` lines are aider's own output. Read: ``> Applied edit to PATH`` (``file_edit``),
  ``> Commit SHA MESSAGE`` (``vcs``, the sha in ``extra``), ``> Tokens: ...`` (``usage``),
  ``> Main model: NAME with ...`` (``Model:``, ``Models:``; the model of the following
  events) and ``> ^C again to exit``: the person pressed Ctrl-C, a ``control``
  ``interrupt`` when the model was working (a message went to it and its ``> Tokens:`` line
  has not come, or aider is retrying a failed call), else ``quit`` (the person leaving aider
  at its prompt, which interrupts nothing). The rest (prompts, warnings, command output) is
  not an event.
- Other lines are the model's reply: consecutive ones (blank lines included) form one
  ``assistant_message``, ended by the next ``>`` or ``####`` line.

Usage: ``> Tokens: 3.2k sent, 1.1k received. Cost: $0.01 message, $0.05 session.`` is one
model call (``cumulative=False``); older versions write ``5,244 sent`` and ``$0.02 request``. The counts are **rounded** by aider ("3.2k" is read as
3200, "10k" as 10000, "1.1M" as 1100000), so they are approximate; ``cache write`` and
``cache hit`` parts are read when present. ``cost_usd`` is the message's cost (absent when
aider could not price the model); the session's running cost is ``extra["session_cost_usd"]``.

Gaps: aider never records exit codes (the model runs no tools of its own): no
``tool_result`` events, never an ``exit_code``. An assistant's Markdown blockquote (``> ``)
cannot be told from aider's output.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path

from .events import Event, Origin, Source, Usage

__all__ = ["AiderReader"]

_STARTED = "# aider chat started at"
_HEAD_USER = re.compile(rb"^#### ", re.M)
_HEAD_TOKENS = re.compile(rb"^> Tokens: ", re.M)
_TOKEN_PART = re.compile(r"(\d[\d.,]*)\s*([kKmM]?)\s+(sent|received|cache write|cache hit)")
# "message" since aider 0.50 or so, "request" before it
_COST = re.compile(r"Cost:\s*\$([\d.]+)\s+(?:message|request),\s*\$([\d.]+)\s+session")
_COMMIT = re.compile(r"^Commit ([0-9a-f]{7,40})\b\s*(.*)$")
_MAIN_MODEL = re.compile(r"^(?:Main model|Models?):\s*(\S+)")  # "Models: X with diff edit format, weak model Y"
_CONTROLS = {"/undo": "undo", "/reset": "reset", "/clear": "reset"}
_RUNS = ("/run", "/test")  # aider runs the command and adds its output to the chat
_MESSAGE_COMMANDS = frozenset({"/ask", "/code", "/architect", "/help", "/context"})  # /ask X sends X to the model
# Text aider sends as if typed: the lint fixer's request, /help's question with its docs.
_INJECTED = (("# Fix any errors below", "lint errors"), ("# Question:", "/help question"))
_CONFIRM_EDIT = re.compile(r"^Edit the files\?.*:\s*(y|yes)?\s*$", re.IGNORECASE)
_WORDS = re.compile(r"\s+")
_FAILED_CALL = re.compile(r"^(Unexpected error|\S*(Error|Exception)\b)")


def _same(a: str, b: str) -> bool:
    return _WORDS.sub(" ", a).strip() == _WORDS.sub(" ", b).strip()


def parse_tokens(text: str) -> int | None:
    """aider's token text as a number: "222" -> 222, "5,244" -> 5244, "3.2k" -> 3200, "1.1M" -> 1100000."""
    match = re.fullmatch(r"\s*([\d.]+)\s*([kKmM]?)\s*", text.replace(",", ""))
    if not match:
        return None
    try:
        number = Decimal(match.group(1))
    except InvalidOperation:
        return None
    scale = {"": 1, "k": 1000, "m": 1_000_000}[match.group(2).lower()]
    return int(number * scale)


def _usage(text: str) -> Usage | None:
    counts: dict[str, int] = {}
    for number, unit, what in _TOKEN_PART.findall(text):
        value = parse_tokens(number + unit)
        if value is not None:
            counts[what] = value
    if not counts:
        return None
    cost = _COST.search(text)
    return Usage(
        input=counts.get("sent"),
        output=counts.get("received"),
        cache_read=counts.get("cache hit"),
        cache_write=counts.get("cache write"),
        cost_usd=float(cost.group(1)) if cost else None,
    )


class AiderReader:
    """Reads aider's ``.aider.chat.history.md``."""

    name = "aider"

    def detect(self, path: Path, head: bytes) -> bool:
        if _STARTED.encode() in head:
            return True
        return bool(_HEAD_USER.search(head) and _HEAD_TOKENS.search(head))

    def read(self, path: Path) -> Iterator[Event]:
        state = _State()
        with open(path, encoding="utf-8", errors="replace") as fh:
            for number, raw in enumerate(fh, 1):
                yield from state.line(number, raw.rstrip("\r\n"))
        yield from state.finish()


class _State:
    def __init__(self) -> None:
        self.timestamp: str | None = None
        self.model: str | None = None
        self.user: list[str] = []  # the current block of #### lines
        self.user_line = 0
        self.reply: list[str] = []  # the current reply's lines
        self.reply_line = 0
        self.switch: Event | None = None  # a /model control waiting for "> Main model:"
        self.echo: tuple[str, int, str] | None = None  # (text aider will send again, line, command)
        self.launch = 0  # the launches ("# aider chat started at") so far
        self.busy = False  # a message went to the model and its reply is not complete ("> Tokens:")
        self.handoff = False  # the person accepted an architect's proposal: aider sends it to the editor
        self.last_reply = ""

    def _extra(self, **more: object) -> dict[str, object]:
        return {"launch": self.launch, **more} if self.launch else dict(more)

    def line(self, number: int, line: str) -> Iterator[Event]:
        if line.startswith(_STARTED):
            yield from self.finish()
            self.timestamp = line[len(_STARTED) :].strip() or None
            self.launch += 1
            self.busy = self.handoff = False
            self.last_reply = ""
            return
        # a "####" line is input, unless it is a heading inside a reply (no trailing "  ");
        # a reply never starts with a blank line, so a non-empty one has text
        if (line.startswith("#### ") or line == "####") and (self.user or line.endswith("  ") or not self.reply):
            yield from self._flush_reply()
            if not self.user:
                self.user_line = number
            self.user.append(line[5:].rstrip() if len(line) > 5 else "")
            return
        yield from self._flush_user()
        if line == ">" or line.startswith("> "):
            yield from self._flush_reply()
            yield from self._harness(number, line[2:].strip())
            return
        if not self.reply and not line.strip():
            return
        if not self.reply:
            self.reply_line = number
        self.reply.append(line)

    def finish(self) -> Iterator[Event]:
        yield from self._flush_user()
        yield from self._flush_reply()
        yield from self._flush_switch()

    def _event(self, event: Event) -> Iterator[Event]:
        yield from self._flush_switch()
        yield event

    def _flush_switch(self) -> Iterator[Event]:
        if self.switch is not None:
            switch, self.switch = self.switch, None
            yield switch

    def _flush_reply(self) -> Iterator[Event]:
        text = "\n".join(self.reply).strip()
        self.reply = []
        if text:
            self.last_reply = text
            yield from self._event(
                Event(
                    "assistant_message",
                    Source(line=self.reply_line),
                    timestamp=self.timestamp,
                    text=text,
                    model=self.model,
                    extra=self._extra(),
                )
            )

    def _flush_user(self) -> Iterator[Event]:
        if not self.user:
            return
        lines, self.user = self.user, []
        text = "\n".join(lines).strip()
        source = Source(line=self.user_line)
        extra = self._extra(line_count=len(lines))
        echo, self.echo = self.echo, None
        handoff, self.handoff = self.handoff, False
        injected = next((why for prefix, why in _INJECTED if text.startswith(prefix)), None)
        if handoff or (self.last_reply and _same(text, self.last_reply)):
            # the architect's proposal, sent on to the editor model as if typed
            injected = "architect hand-off"
        if text.startswith("!") and injected is None:  # "!cmd" is /run cmd
            text = "/run " + text[1:].strip()
            extra["shell"] = "!"
        if text.startswith("/") and injected is None:
            command, _, args = text.partition(" ")
            args = args.strip()
            extra["slash_command"] = command
            if command in _CONTROLS:
                yield from self._event(
                    Event(
                        "control",
                        source,
                        timestamp=self.timestamp,
                        text=text,
                        control=_CONTROLS[command],
                        extra=extra,
                    )
                )
                return
            if command == "/model" and args:
                yield from self._flush_switch()
                extra["requested"] = args
                self.switch = Event(
                    "control", source, timestamp=self.timestamp, text=text, control="model_switch", extra=extra
                )
                return
            if args and command not in _RUNS:
                self.echo = (args, self.user_line, command)
            if args and command in _MESSAGE_COMMANDS:
                extra["message"] = args
            yield from self._event(
                Event("user_message", source, timestamp=self.timestamp, text=text, origin="person", extra=extra)
            )
            if args and command in _RUNS:
                yield Event(
                    "tool_call",
                    source,
                    timestamp=self.timestamp,
                    tool=command,
                    call_id=f"line-{source.line}",
                    command=args,
                    extra=self._extra(by="person"),
                )
            return
        if echo is not None and (text == echo[0] or (echo[2] == "/help" and injected == "/help question")):
            extra["echo_of_line"] = echo[1]
            injected = injected or f"{echo[2]} echo"
        origin: Origin = "harness" if injected else "person"
        if injected and "echo_of_line" not in extra:
            extra["injected"] = injected
        self.busy = True
        yield from self._event(
            Event("user_message", source, timestamp=self.timestamp, text=text, origin=origin, extra=extra)
        )

    def _harness(self, number: int, text: str) -> Iterator[Event]:
        source = Source(line=number)
        if _CONFIRM_EDIT.match(text):
            self.handoff = True
            return
        if text.startswith("Retrying in "):  # the model call failed and aider tries again: still working
            self.busy = True
        elif _FAILED_CALL.search(text):  # the model call failed: aider is back at its prompt
            self.busy = False
        main_model = _MAIN_MODEL.match(text)
        if main_model:
            self.model = main_model.group(1)
            if self.switch is not None:
                switch, self.switch = self.switch, None
                yield Event(
                    switch.kind,
                    switch.source,
                    timestamp=switch.timestamp,
                    text=switch.text,
                    control=switch.control,
                    model=self.model,
                    extra=switch.extra,
                )
            return
        if text.startswith("Tokens:"):
            self.busy = False  # the reply is complete
            usage = _usage(text)
            if usage is not None:
                cost = _COST.search(text)
                extra = self._extra(rounded=True)
                if cost:
                    extra["session_cost_usd"] = float(cost.group(2))
                yield from self._event(
                    Event("usage", source, timestamp=self.timestamp, model=self.model, usage=usage, extra=extra)
                )
            return
        if text.startswith("Applied edit to "):
            path = text[len("Applied edit to ") :].strip()
            self.busy = False
            yield from self._event(
                Event("file_edit", source, timestamp=self.timestamp, path=path or None, extra=self._extra())
            )
            return
        commit = _COMMIT.match(text)
        if commit:
            yield from self._event(
                Event(
                    "vcs",
                    source,
                    timestamp=self.timestamp,
                    text=commit.group(2) or None,
                    extra=self._extra(action="commit", sha=commit.group(1)),
                )
            )
            return
        if text.startswith("^C again to exit"):
            # Ctrl-C while the model works interrupts it; at the prompt (its reply complete) the
            # person is leaving aider, which interrupts nothing.
            control = "interrupt" if self.busy else "quit"
            self.busy = False
            yield from self._event(
                Event("control", source, timestamp=self.timestamp, text=text, control=control, extra=self._extra())
            )
