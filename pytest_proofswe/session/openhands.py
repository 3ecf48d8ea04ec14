"""OpenHands event streams -> normalised events.

Two layouts hold the same events: one JSON list (a trajectory saved with
``save_trajectory_path`` or a test fixture; ``Source.offset`` is the index in the list),
or a folder of per-event files ``0.json``, ``1.json``, ... (the file store's
``sessions/<id>/events/``; read in numeric order, ``Source.offset`` is the number in the
file name). Each event is either an ``action`` or an ``observation``; ``source`` says who
made it (``user``, ``agent``, ``environment``).

Mapping:

- action ``message``: from ``user`` a ``user_message`` (origin ``person``), from ``agent``
  an ``assistant_message``. OpenHands cannot tell a typed message from a task injected by
  an evaluation harness: both have source ``user``.
- an agent action's ``args.thought`` (the model's text before a tool call) becomes an
  ``assistant_message`` before the ``tool_call``.
- action ``run``: ``tool_call`` (tool ``run``, ``command`` from ``args.command``);
  observation ``run``: ``tool_result`` with the exit code from ``extras.metadata.exit_code``
  (older versions: ``extras.exit_code``). **-1 is not a failure**: the command did not
  finish (it timed out, or a server was left running), so the exit code is None, the
  status ``unknown`` and ``extra["did_not_finish"]`` True. 0 is ``ok``, anything else
  ``error``.
- actions ``edit`` and ``write``: ``tool_call`` then ``file_edit`` (``args.path``); an edit
  whose ``args.command`` is ``view`` is only a tool call. Their observations are
  ``tool_result`` (the ``edit`` observation's content is the unified diff).
- other agent actions (``read``, ``run_ipython``, ``browse``, ...): ``tool_call`` with the
  action name as the tool; observations caused by a tool call: ``tool_result`` (an
  ``error`` observation has status ``error``).
- observation ``agent_state_changed``: a ``control`` only for ``paused`` and ``stopped``
  (``interrupt``) and ``user_rejected`` (``rejection``: the person refused the action,
  which the metrics count apart from interrupts); other states are ignored. An
  ``user_rejected`` observation is a ``rejection`` too.
- ``llm_metrics`` on any event (``accumulated_cost``, ``accumulated_token_usage``): a
  ``usage`` event with ``cumulative=True`` and ``cost_usd``, emitted only when the totals
  changed since the last one.
- action ``finish``: ``end`` (text: ``final_thought``; ``extra["task_completed"]``).

- without ``llm_metrics`` (older streams, test fixtures): each model response's ``usage`` in
  ``tool_call_metadata.model_response`` is a ``usage`` event (not cumulative), once per
  response id, since an action and its observation (and the actions of parallel tool calls)
  repeat it; its ``prompt_tokens`` count the cached tokens and, for Anthropic models, the cache
  writes (litellm's convention), which the Usage says. Once a stream has ``llm_metrics`` only
  they count, so nothing is counted twice.

Gaps: ``tool_call_id`` pairs calls and results when present (else the action's ``id`` and
the observation's ``cause``). A model response that made no tool call (a plain agent
``message``) records no usage without ``llm_metrics``. Timestamps are as written (local ISO
8601, no zone).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from .events import Event, Source, TextChange, Usage, editor_changes
from .jsonvalues import as_dict as _dict
from .jsonvalues import as_float as _num
from .jsonvalues import as_int as _int
from .jsonvalues import as_str as _str

__all__ = ["OpenHandsReader"]

_NUMBERED = re.compile(r"^(\d+)\.json$")
_LIST_HEAD = re.compile(rb"^\s*\[\s*\{")
_EVENT_KEY = re.compile(rb'"(?:action|observation)"\s*:')
_CONTROL_STATES = {"paused": "interrupt", "stopped": "interrupt", "user_rejected": "rejection"}
_EDIT_ACTIONS = {"edit", "write"}
# actions that are not tool calls (conversation and bookkeeping)
_NOT_TOOLS = {
    "message",
    "system",
    "change_agent_state",
    "null",
    "finish",
    "reject",
    "recall",
    "think",
    "condensation",
    "condensation_request",
    "delegate",
}
_TOOL_OBSERVATIONS = {"run", "edit", "write", "read", "run_ipython", "browse", "mcp", "error"}


def _numbered_files(folder: Path) -> list[tuple[int, Path]]:
    found = []
    for child in folder.iterdir():
        match = _NUMBERED.match(child.name)
        if match and child.is_file():
            found.append((int(match.group(1)), child))
    return sorted(found)


def _is_event(value: object) -> bool:
    return isinstance(value, dict) and ("action" in value or "observation" in value)


class OpenHandsReader:
    """Reads an OpenHands event stream: a JSON list of events, or a folder of ``N.json`` files."""

    name = "openhands"

    def detect(self, path: Path, head: bytes) -> bool:
        if path.is_dir():
            files = _numbered_files(path)
            if not files:
                return False
            try:
                first = json.loads(files[0][1].read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return False
            return _is_event(first)
        return bool(_LIST_HEAD.match(head) and _EVENT_KEY.search(head))

    def read(self, path: Path) -> Iterator[Event]:
        return _Translator().translate(self._entries(path))

    @staticmethod
    def _entries(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
        if path.is_dir():
            for number, file in _numbered_files(path):
                with open(file, encoding="utf-8") as fh:
                    event = json.load(fh)
                if isinstance(event, dict):
                    yield number, event
            return
        for index, event in enumerate(iter_json_list(path)):
            if isinstance(event, dict):
                yield index, event


def iter_json_list(path: Path, chunk: int = 1 << 16) -> Iterator[Any]:
    """The items of a file holding one JSON list, decoded one at a time (memory stays bounded)."""
    decoder = json.JSONDecoder()
    with open(path, encoding="utf-8") as fh:
        buf, pos = fh.read(chunk), 0

        def fill() -> bool:
            nonlocal buf, pos
            more = fh.read(chunk)
            if not more:
                return False
            buf, pos = buf[pos:] + more, 0
            return True

        while True:  # the opening bracket
            while pos < len(buf) and buf[pos].isspace():
                pos += 1
            if pos < len(buf) or not fill():
                break
        if pos >= len(buf) or buf[pos] != "[":
            raise ValueError("an OpenHands event stream is a JSON list of events")
        pos += 1
        while True:
            while True:  # separators
                while pos < len(buf) and (buf[pos].isspace() or buf[pos] == ","):
                    pos += 1
                if pos < len(buf) or not fill():
                    break
            if pos >= len(buf):
                raise ValueError("the JSON list is not closed")
            if buf[pos] == "]":
                return
            while True:
                try:
                    item, end = decoder.raw_decode(buf, pos)
                    break
                except json.JSONDecodeError:
                    if not fill():
                        raise
            yield item
            pos = end
            if pos > chunk:
                buf, pos = buf[pos:], 0


class _Translator:
    def __init__(self) -> None:
        self.tool_actions: dict[str, str] = {}  # action id -> call_id
        self.last_usage: tuple[object, ...] | None = None
        self.has_llm_metrics = False
        self.responses: set[str] = set()  # model responses whose usage was already counted

    def translate(self, entries: Iterator[tuple[int, dict[str, Any]]]) -> Iterator[Event]:
        for offset, event in entries:
            source = Source(offset=offset)
            if "action" in event:
                yield from self._action(event, source)
            elif "observation" in event:
                yield from self._observation(event, source)
            usage = self._usage(event, source)
            if usage is not None:
                yield usage
            response = self._response_usage(event, source)
            if response is not None:
                yield response

    def _action(self, event: dict[str, Any], source: Source) -> Iterator[Event]:
        action = _str(event.get("action")) or ""
        who = _str(event.get("source"))
        args = _dict(event.get("args"))
        ts = _str(event.get("timestamp"))
        meta = _dict(event.get("tool_call_metadata"))
        model = _str(_dict(meta.get("model_response")).get("model"))
        if action == "message":
            text = _str(args.get("content")) or _str(event.get("message"))
            if who == "user":
                yield Event("user_message", source, timestamp=ts, text=text, origin="person")
            elif who == "agent":
                yield Event("assistant_message", source, timestamp=ts, text=text, model=model)
            return
        if action == "finish":
            text = _str(args.get("final_thought")) or _str(args.get("thought")) or _str(event.get("message"))
            extra: dict[str, object] = {}
            if "task_completed" in args:
                extra["task_completed"] = args["task_completed"]
            if args.get("outputs"):
                extra["outputs"] = args["outputs"]
            yield Event("end", source, timestamp=ts, text=text, extra=extra)
            return
        if action in _NOT_TOOLS or who != "agent":
            return
        thought = (_str(args.get("thought")) or "").strip()
        if thought:
            yield Event("assistant_message", source, timestamp=ts, text=thought, model=model)
        event_id = _int(event.get("id"))
        call_id = _str(meta.get("tool_call_id")) or (f"event-{event_id}" if event_id is not None else None)
        if event_id is not None and call_id is not None:
            self.tool_actions[str(event_id)] = call_id
        extra = {}
        function = _str(meta.get("function_name"))
        if function:
            extra["function"] = function
        arguments = {k: v for k, v in args.items() if k != "thought"}
        yield Event(
            "tool_call",
            source,
            timestamp=ts,
            tool=action,
            call_id=call_id,
            command=_str(args.get("command")) if action == "run" else None,
            arguments=json.dumps(arguments, ensure_ascii=False),
            path=_str(args.get("path")),
            model=model,
            extra=extra,
        )
        if action in _EDIT_ACTIONS and args.get("command") != "view":
            content = _str(args.get("content"))
            changes = (
                (TextChange(None, content),) if action == "write" and content is not None else editor_changes(args)
            )
            yield Event(
                "file_edit",
                source,
                timestamp=ts,
                tool=action,
                call_id=call_id,
                path=_str(args.get("path")),
                changes=changes,
            )
            if args.get("command") == "undo_edit":
                yield Event("control", source, timestamp=ts, control="undo", tool=action, call_id=call_id)

    def _observation(self, event: dict[str, Any], source: Source) -> Iterator[Event]:
        kind = _str(event.get("observation")) or ""
        extras = _dict(event.get("extras"))
        ts = _str(event.get("timestamp"))
        if kind == "agent_state_changed":
            state = _str(extras.get("agent_state"))
            control = _CONTROL_STATES.get(state or "")
            if control is not None:
                yield Event(
                    "control",
                    source,
                    timestamp=ts,
                    text=_str(event.get("message")) or f"agent state: {state}",
                    control=control,
                    extra={"agent_state": state},
                )
            return
        if kind == "user_rejected":
            yield Event(
                "control", source, timestamp=ts, text=_str(event.get("content")) or "user rejected", control="rejection"
            )
            return
        meta = _dict(event.get("tool_call_metadata"))
        cause = event.get("cause")
        call_id = _str(meta.get("tool_call_id"))
        if call_id is None and cause is not None:
            call_id = self.tool_actions.get(str(cause))
        if call_id is None and kind not in _TOOL_OBSERVATIONS:
            return
        if call_id is None and cause is not None and str(cause) not in self.tool_actions and kind == "error":
            return  # an error that answers no tool call (e.g. a failed message)
        text = _str(event.get("content"))
        extra: dict[str, object] = {}
        exit_code: int | None = None
        exit_source: str | None = None
        status: Literal["ok", "error", "unknown"]
        if kind == "run":
            metadata = _dict(extras.get("metadata"))
            if "exit_code" in metadata:
                exit_code, exit_source = _int(metadata.get("exit_code")), "metadata"
            elif "exit_code" in extras:
                exit_code, exit_source = _int(extras.get("exit_code")), "extras"
            if exit_code == -1:
                exit_code = None
                extra["did_not_finish"] = True
                status = "unknown"
            elif exit_code is None:
                status = "unknown"
            else:
                status = "ok" if exit_code == 0 else "error"
        elif kind == "error":
            status = "error"
        elif kind in ("edit", "write", "read"):
            status = "ok"  # their failures arrive as ``error`` observations
        else:
            status = "unknown"
        yield Event(
            "tool_result",
            source,
            timestamp=ts,
            text=text,
            tool=kind,
            call_id=call_id,
            command=_str(extras.get("command")) if kind == "run" else None,
            status=status,
            exit_code=exit_code,
            exit_code_source=exit_source,
            path=_str(extras.get("path")),
            extra=extra,
        )

    def _response_usage(self, event: dict[str, Any], source: Source) -> Event | None:
        """One model response's usage, from ``tool_call_metadata.model_response``, when the stream
        records no ``llm_metrics``: once per response id (an action and its observation, and the
        actions of one response's parallel tool calls, all repeat it)."""
        if self.has_llm_metrics:
            return None
        response = _dict(_dict(event.get("tool_call_metadata")).get("model_response"))
        usage = _dict(response.get("usage"))
        response_id = _str(response.get("id"))
        if not usage or response_id is None or response_id in self.responses:
            return None
        self.responses.add(response_id)
        cached = _int(_dict(usage.get("prompt_tokens_details")).get("cached_tokens"))
        cache_read = _int(usage.get("cache_read_input_tokens"))
        return Event(
            "usage",
            source,
            timestamp=_str(event.get("timestamp")),
            model=_str(response.get("model")),
            usage=Usage(
                input=_int(usage.get("prompt_tokens")),
                output=_int(usage.get("completion_tokens")),
                cache_read=cache_read if cache_read is not None else cached,
                cache_write=_int(usage.get("cache_creation_input_tokens")),
                input_includes_cache_read=True,  # litellm's prompt_tokens count the cached tokens
                input_includes_cache_write=True,  # and, for Anthropic models, the cache writes
            ),
            extra={"response_id": response_id},
        )

    def _usage(self, event: dict[str, Any], source: Source) -> Event | None:
        metrics = event.get("llm_metrics")
        if not isinstance(metrics, dict):
            return None
        self.has_llm_metrics = True
        tokens = _dict(metrics.get("accumulated_token_usage"))
        usage = Usage(
            input=_int(tokens.get("prompt_tokens")),
            output=_int(tokens.get("completion_tokens")),
            cache_read=_int(tokens.get("cache_read_tokens")),
            cache_write=_int(tokens.get("cache_write_tokens")),
            cost_usd=_num(metrics.get("accumulated_cost")),
            cumulative=True,
        )
        key = (usage.input, usage.output, usage.cache_read, usage.cache_write, usage.cost_usd)
        if key == self.last_usage or all(v is None for v in key):
            return None
        self.last_usage = key
        return Event(
            "usage",
            source,
            timestamp=_str(event.get("timestamp")),
            model=_str(tokens.get("model")) or None,
            usage=usage,
        )
