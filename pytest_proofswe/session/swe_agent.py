"""SWE-agent ``.traj`` files (0.x and 1.x) -> normalised events.

A ``.traj`` is one JSON object: ``trajectory`` (the steps), ``history`` (the messages the
model saw) and ``info`` (``exit_status``, ``submission``, ``model_stats``). 0.x steps hold
``action``, ``observation``, ``response``, ``thought`` and ``state`` (a JSON string);
1.x steps add ``execution_time`` (``state`` is an object), and the history entries carry
``message_type``, ``tool_calls`` and ``tool_call_ids`` (function calling).

Mapping (``Source.offset`` is the step's index in ``trajectory``):

- the first user message of ``history`` that is not a demonstration (``is_demo``) is the
  problem statement: a ``user_message`` with origin ``harness`` (the harness injects it;
  no person types in a SWE-agent run). Its Source has no offset; ``extra["at"]`` names the
  history entry.
- each step: an ``assistant_message`` (``thought``, else ``response``), a ``tool_call``
  (tool: the action's first word; ``command``: the whole action string, since every
  SWE-agent command runs in its shell), a ``file_edit`` for ``create``, ``edit``,
  ``insert``, ``append`` and ``str_replace_editor`` create/str_replace/insert/undo_edit
  actions, and a ``tool_result`` (the observation).
- ``info.model_stats``: one ``usage`` event, ``cumulative=True``: ``tokens_sent`` ->
  input, ``tokens_received`` -> output, cost from ``instance_cost`` (0.x's ``total_cost``
  is the running total of the whole batch, so it is used only when ``instance_cost`` is
  missing); ``api_calls`` in ``extra``. A replay (a file with ``replay_config``) records
  cost and tokens of 0: they are kept as recorded (0.0, not None) and
  ``extra["replay"]`` is True, so a reader of the metrics can tell.
- ``info.exit_status``: the ``end`` event (text: the status; ``extra["submission"]``: the
  final diff when recorded).

Quirks and gaps:

- No exit codes: SWE-agent does not record them, so every ``tool_result`` has status
  ``unknown`` and exit code None.
- No timestamps: 0.x has none; 1.x records only each step's ``execution_time`` (in the
  result's ``extra``), the time its action ran in the environment (the model's time is not
  recorded).
- The edited path: from the action when it names one (``create PATH``,
  ``str_replace_editor CMD PATH``), else the open file of the step's ``state``
  (``extra["path_source"]`` says which; 0.x records the state before the step, 1.x after
  it, which is the same file for an edit). An edit the harness refused ("Your changes have
  NOT been applied", e.g. a lint error) changed nothing: no ``file_edit``, and the result
  has ``extra["edit_applied"]`` False.
- 1.x replays reuse ``tool_call_ids`` across steps, so ``call_id`` is the step
  (``step-N``); the recorded id is in the call's ``extra["tool_call_id"]``.
- The model: 1.x names it in its run configuration (``replay_config.agent.model.name``), set
  on the steps' messages and the usage event (a ``replay`` or ``human`` model is not a model:
  None); 0.x does not name it, so ``model`` is not set.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .events import Event, Source, Usage, editor_changes
from .jsonvalues import as_dict as _dict
from .jsonvalues import as_float as _num
from .jsonvalues import as_int as _int
from .jsonvalues import as_str as _str
from .jsonvalues import json_object

__all__ = ["SweAgentReader"]

_OBJECT_HEAD = re.compile(rb"^\s*\{")
_TRAJECTORY_KEY = re.compile(rb'"trajectory"\s*:\s*\[')
_EDIT_COMMANDS = {"create", "edit", "insert", "append"}
_EDITOR_EDITS = {"create", "str_replace", "insert", "undo_edit"}
_NOT_APPLIED = "Your changes have NOT been applied"
# SWE-agent's models that are not language models (a replay, a person at the keyboard, test stubs).
_NOT_MODELS = frozenset({"replay", "human", "human_thought", "instant_empty_submit"})


def _words(first_line: str) -> list[str]:
    try:
        return shlex.split(first_line)
    except ValueError:
        return first_line.split()


def _state(step: dict[str, Any]) -> dict[str, Any]:
    state = step.get("state")
    if isinstance(state, str):
        try:
            state = json.loads(state)
        except ValueError:
            return {}
    return _dict(state)


def _edit_path(action: str, step: dict[str, Any]) -> tuple[bool, str | None, str | None]:
    """(is an edit, path, where the path came from)."""
    words = _words(action.strip().split("\n", 1)[0])
    if not words:
        return False, None, None
    name = words[0]
    if name == "str_replace_editor":
        if len(words) < 2 or words[1] not in _EDITOR_EDITS:
            return False, None, None
        if len(words) >= 3:
            return True, words[2], "action"
    elif name not in _EDIT_COMMANDS:
        return False, None, None
    elif name == "create" and len(words) >= 2:
        return True, words[1], "action"
    open_file = _str(_state(step).get("open_file"))
    if open_file and open_file != "n/a":
        return True, open_file, "state.open_file"
    return True, None, None


def _config_model(doc: dict[str, Any]) -> str | None:
    """The model a 1.x trajectory names in its run configuration (``replay_config``, an object or
    its JSON text: ``agent.model.name``); None for 0.x, which does not name it."""
    config = doc.get("replay_config")
    if isinstance(config, str):
        config = json_object(config)
    name = _str(_dict(_dict(_dict(config).get("agent")).get("model")).get("name"))
    return name if name and name not in _NOT_MODELS else None


def _history_actions(history: list[Any]) -> list[dict[str, Any]]:
    """The history's assistant entries that are actions (demonstrations left out), in order."""
    found = []
    for entry in history:
        if not isinstance(entry, dict) or entry.get("is_demo"):
            continue
        if entry.get("role") == "assistant" and entry.get("message_type", "action") == "action" and "action" in entry:
            found.append(entry)
    return found


class SweAgentReader:
    """Reads a SWE-agent trajectory (``.traj``), 0.x or 1.x."""

    name = "swe-agent"

    def detect(self, path: Path, head: bytes) -> bool:
        if not _OBJECT_HEAD.match(head):
            return False
        return bool(_TRAJECTORY_KEY.search(head)) or (path.suffix == ".traj" and b'"trajectory"' in head)

    def read(self, path: Path) -> Iterator[Event]:
        with open(path, encoding="utf-8") as fh:
            document = json.load(fh)
        if not isinstance(document, dict) or not isinstance(document.get("trajectory"), list):
            raise ValueError("a SWE-agent trajectory is a JSON object with a 'trajectory' list")
        return self._events(document)

    def _events(self, doc: dict[str, Any]) -> Iterator[Event]:
        model = _config_model(doc)
        raw_history = doc.get("history")
        history: list[Any] = raw_history if isinstance(raw_history, list) else []
        for index, entry in enumerate(history):
            if not isinstance(entry, dict) or entry.get("is_demo") or entry.get("role") != "user":
                continue
            yield Event(
                "user_message",
                Source(),
                text=_str(entry.get("content")),
                origin="harness",
                extra={"at": f"history[{index}]"},
            )
            break
        entries = _history_actions(history)
        for index, step in enumerate(doc["trajectory"]):
            if isinstance(step, dict):
                entry = entries[index] if index < len(entries) else {}
                yield from self._step(index, step, entry, model)
        info = _dict(doc.get("info"))
        stats = info.get("model_stats")
        if isinstance(stats, dict):
            cost = _num(stats.get("instance_cost"))
            if cost is None:
                cost = _num(stats.get("total_cost"))
            extra: dict[str, object] = {"at": "info.model_stats"}
            if "api_calls" in stats:
                extra["api_calls"] = stats["api_calls"]
            if "replay_config" in doc:
                extra["replay"] = True
            yield Event(
                "usage",
                Source(),
                model=model,
                usage=Usage(
                    input=_int(stats.get("tokens_sent")),
                    output=_int(stats.get("tokens_received")),
                    cost_usd=cost,
                    cumulative=True,
                ),
                extra=extra,
            )
        status = _str(info.get("exit_status"))
        if status is not None or "submission" in info:
            end_extra: dict[str, object] = {"at": "info.exit_status"}
            if info.get("submission") is not None:
                end_extra["submission"] = info["submission"]
            yield Event("end", Source(), text=status, extra=end_extra)

    def _step(self, index: int, step: dict[str, Any], entry: dict[str, Any], model: str | None) -> Iterator[Event]:
        source = Source(offset=index)
        action = _str(step.get("action")) or ""
        observation = _str(step.get("observation"))
        text = (_str(step.get("thought")) or "").strip() or (_str(step.get("response")) or "").strip()
        if text:
            yield Event("assistant_message", source, text=text, model=model)
        if not action.strip():
            return  # a step that only talked (a format error, a requery)
        call_id = f"step-{index}"
        call_extra: dict[str, object] = {}
        arguments: str | None = None
        if entry and _str(entry.get("action")) == step.get("action"):
            calls = entry.get("tool_calls")
            if isinstance(calls, list) and calls and isinstance(calls[0], dict):
                function = _dict(calls[0].get("function"))
                arguments = _str(function.get("arguments"))
                if _str(function.get("name")):
                    call_extra["function"] = function["name"]
                if _str(calls[0].get("id")):
                    call_extra["tool_call_id"] = calls[0]["id"]
        command = action.strip()
        words = _words(command.split("\n", 1)[0])
        tool = words[0] if words else command.split()[0]
        yield Event(
            "tool_call",
            source,
            tool=tool,
            call_id=call_id,
            command=command,
            arguments=arguments,
            extra=call_extra,
        )
        is_edit, path, path_source = _edit_path(command, step)
        applied = not (observation and _NOT_APPLIED in observation)
        if is_edit and applied:
            args = json_object(arguments)
            yield Event(
                "file_edit",
                source,
                tool=tool,
                call_id=call_id,
                path=path,
                changes=editor_changes(args),
                extra={"path_source": path_source} if path_source else {},
            )
            if tool == "str_replace_editor" and len(words) > 1 and words[1] == "undo_edit":
                yield Event("control", source, control="undo", tool=tool, call_id=call_id, path=path)
        result_extra: dict[str, object] = {}
        seconds = _num(step.get("execution_time"))
        if seconds is not None:
            result_extra["execution_time"] = seconds
        if is_edit and not applied:
            result_extra["edit_applied"] = False
        yield Event(
            "tool_result",
            source,
            text=observation,
            tool=tool,
            call_id=call_id,
            status="unknown",
            extra=result_extra,
        )
