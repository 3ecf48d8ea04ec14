"""The OpenHands, SWE-agent and aider readers, checked against the real samples' facts.

The samples and their facts are in ``shared/external/sessions/SOURCES.md`` (outside this
repository); the tests that need them skip when the folder is missing.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from pytest_proofswe.session.aider import AiderReader, parse_tokens
from pytest_proofswe.session.events import Event
from pytest_proofswe.session.openhands import OpenHandsReader
from pytest_proofswe.session.swe_agent import SweAgentReader

SESSIONS = Path(__file__).resolve().parents[3] / "shared" / "external" / "sessions"
OPENHANDS = SESSIONS / "openhands__basic-gui-mode.json"
PYDICOM = SESSIONS / "swe-agent__pydicom-1458-gpt4.traj"
MARSHMALLOW = SESSIONS / "swe-agent__marshmallow-1867-function-calling.traj"
AIDER = SESSIONS / "aider__simple-calculator.chat.history.md"
OTHERS = [
    SESSIONS / "claude-code__marot-spotter-tool-heavy.jsonl",
    SESSIONS / "codex__localpush-redacted-exec.jsonl",
]

needs_samples = pytest.mark.skipif(not SESSIONS.is_dir(), reason=f"no session samples at {SESSIONS}")


def _head(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(64 * 1024)


def _kinds(events: list[Event]) -> Counter[str]:
    return Counter(e.kind for e in events)


# --- OpenHands ---------------------------------------------------------------------------


@needs_samples
def test_openhands_sample() -> None:
    events = list(OpenHandsReader().read(OPENHANDS))
    calls = [e for e in events if e.kind == "tool_call"]
    runs = [e for e in calls if e.tool == "run"]
    assert [e.command for e in runs] == [
        "mkdir -p /workspace/todo-app",
        "cd /workspace/todo-app && python3 -m http.server 8000",
    ]
    assert [e.source.offset for e in runs] == [7, 13]
    results = {e.call_id: e for e in events if e.kind == "tool_result"}
    first, second = (results[e.call_id] for e in runs)
    assert (first.exit_code, first.status, first.exit_code_source) == (0, "ok", "metadata")
    # -1: the server was left running, the command did not finish: unknown, not a failure
    assert (second.exit_code, second.status, second.extra) == (None, "unknown", {"did_not_finish": True})
    edits = [e for e in events if e.kind == "file_edit"]
    assert [e.path for e in edits] == ["/workspace/todo-app/index.html", "/workspace/todo-app/app.js"]
    edit_results = [results[e.call_id] for e in edits]
    assert all(r.tool == "edit" and (r.text or "").startswith("--- ") for r in edit_results)
    people = [e for e in events if e.kind == "user_message"]
    assert len(people) == 1 and people[0].origin == "person" and people[0].source.offset == 4
    assert (people[0].text or "").startswith("I want to create a VueJS app")
    # agent_state_changed here is loading/init/running/awaiting_user_input: no control
    assert _kinds(events)["control"] == 0
    # No llm_metrics: each model response's usage comes from tool_call_metadata, once per
    # response id although the action and its observation both repeat it (issue 12).
    usage = [e for e in events if e.kind == "usage"]
    assert [e.source.offset for e in usage] == [7, 9, 11, 13]
    assert [(e.usage.input, e.usage.output) for e in usage if e.usage] == [
        (3439, 104),
        (3601, 1142),
        (4769, 693),
        (5488, 85),
    ]
    assert {e.model for e in calls} == {"claude-3-5-sonnet-20241022"}
    assert events[0].timestamp == "2025-01-20T20:29:32.262843"


def _write_events(folder: Path, events: list[dict[str, object]], numbers: list[int]) -> None:
    folder.mkdir()
    for number, event in zip(numbers, events, strict=True):
        (folder / f"{number}.json").write_text(json.dumps(event), encoding="utf-8")


def test_openhands_folder_of_events(tmp_path: Path) -> None:
    events: list[dict[str, object]] = [
        {"id": 0, "source": "user", "action": "message", "args": {"content": "fix the bug"}},
        {"id": 1, "source": "agent", "action": "run", "args": {"command": "pytest -q", "thought": "run tests"}},
        {
            "id": 2,
            "source": "agent",
            "cause": 1,
            "observation": "run",
            "content": "1 failed",
            "extras": {"command": "pytest -q", "metadata": {"exit_code": 1}},
            "llm_metrics": {
                "accumulated_cost": 0.25,
                "accumulated_token_usage": {"model": "gpt-4o", "prompt_tokens": 100, "completion_tokens": 20},
            },
        },
        {"id": 3, "source": "agent", "action": "write", "args": {"path": "/w/a.py", "content": "x = 1\n"}},
        {"id": 4, "source": "agent", "cause": 3, "observation": "write", "content": "", "extras": {}},
        {"id": 5, "source": "environment", "observation": "agent_state_changed", "extras": {"agent_state": "paused"}},
        {
            "id": 6,
            "source": "environment",
            "observation": "agent_state_changed",
            "extras": {"agent_state": "user_rejected"},
        },
        {"id": 7, "source": "environment", "observation": "agent_state_changed", "extras": {"agent_state": "running"}},
        {
            "id": 10,
            "source": "agent",
            "action": "finish",
            "args": {"final_thought": "done", "task_completed": "true"},
            "llm_metrics": {
                "accumulated_cost": 0.5,
                "accumulated_token_usage": {"prompt_tokens": 300, "completion_tokens": 40},
            },
        },
    ]
    folder = tmp_path / "events"
    # numbered out of lexical order on purpose: 10 must come after 7, not after 1
    _write_events(folder, events, [0, 1, 2, 3, 4, 5, 6, 7, 10])
    (folder / "notes.txt").write_text("not an event", encoding="utf-8")
    reader = OpenHandsReader()
    assert reader.detect(folder, b"")
    out = list(reader.read(folder))
    assert [e.kind for e in out] == [
        "user_message",
        "assistant_message",
        "tool_call",
        "tool_result",
        "usage",
        "tool_call",
        "file_edit",
        "tool_result",
        "control",
        "control",
        "end",
        "usage",
    ]
    result = out[3]
    assert (result.exit_code, result.status, result.source.offset, result.call_id) == (1, "error", 2, out[2].call_id)
    assert out[4].usage is not None and out[4].usage.cumulative and out[4].usage.cost_usd == 0.25
    assert out[4].model == "gpt-4o"
    assert (out[6].path, out[7].status) == ("/w/a.py", "ok")
    assert [(e.control, e.source.offset) for e in out[8:10]] == [("interrupt", 5), ("rejection", 6)]
    assert (out[10].text, out[10].source.offset) == ("done", 10)
    assert out[11].usage is not None and (out[11].usage.input, out[11].usage.cost_usd) == (300, 0.5)
    assert not reader.detect(tmp_path, b"")  # a folder without numbered events


def test_openhands_old_exit_code_and_empty_folder(tmp_path: Path) -> None:
    path = tmp_path / "events.json"
    path.write_text(
        json.dumps(
            [
                {"id": 0, "source": "agent", "action": "run", "args": {"command": "false"}},
                {"id": 1, "source": "agent", "cause": 0, "observation": "run", "extras": {"exit_code": 2}},
            ]
        ),
        encoding="utf-8",
    )
    reader = OpenHandsReader()
    assert reader.detect(path, path.read_bytes())
    result = next(e for e in reader.read(path) if e.kind == "tool_result")
    assert (result.exit_code, result.exit_code_source, result.status) == (2, "extras", "error")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert not reader.detect(empty, b"")


# --- SWE-agent ---------------------------------------------------------------------------


@needs_samples
def test_swe_agent_pydicom_0x() -> None:
    events = list(SweAgentReader().read(PYDICOM))
    calls = [e for e in events if e.kind == "tool_call"]
    assert len(calls) == 12
    assert Counter(e.tool for e in calls) == Counter(
        {"create": 1, "edit": 5, "python": 2, "find_file": 1, "open": 1, "rm": 1, "submit": 1}
    )
    assert [e.source.offset for e in calls] == list(range(12))
    results = [e for e in events if e.kind == "tool_result"]
    assert len(results) == 12
    assert all(r.exit_code is None and r.status == "unknown" for r in results)
    # three of the five edits were refused by the lint check ("NOT been applied")
    assert [r.source.offset for r in results if r.extra.get("edit_applied") is False] == [5, 6, 7]
    edits = [e for e in events if e.kind == "file_edit"]
    assert [(e.source.offset, e.path) for e in edits] == [
        (0, "reproduce_bug.py"),
        (1, "/pydicom__pydicom/reproduce_bug.py"),
        (8, "/pydicom__pydicom/pydicom/pixel_data_handlers/numpy_handler.py"),
    ]
    first = events[0]
    assert first.kind == "user_message" and first.origin == "harness"
    assert (first.text or "").startswith("We're currently solving the following issue")
    assert not [e for e in events if e.kind == "user_message" and e.origin == "person"]
    (usage,) = [e for e in events if e.kind == "usage"]
    assert usage.usage is not None and usage.usage.cumulative
    assert (usage.usage.input, usage.usage.output, usage.usage.cost_usd) == (122612, 1369, 1.26719)
    assert usage.extra["api_calls"] == 12
    end = events[-1]
    assert end.kind == "end" and end.text == "submitted"
    assert str(end.extra["submission"]).lstrip().startswith("diff --git a/pydicom/pixel_data_handlers/numpy_handler.py")
    assert all(e.timestamp is None for e in events)


@needs_samples
def test_swe_agent_marshmallow_1x() -> None:
    events = list(SweAgentReader().read(MARSHMALLOW))
    calls = [e for e in events if e.kind == "tool_call"]
    assert len(calls) == 11 and [e.source.offset for e in calls] == list(range(11))
    assert calls[2].command == "python reproduce.py" and calls[2].extra["function"] == "bash"
    assert calls[0].arguments == '{"filename":"reproduce.py"}'
    # the replay reuses tool_call_ids: call_id stays unique per step
    assert len({e.call_id for e in calls}) == 11
    results = [e for e in events if e.kind == "tool_result"]
    assert all(isinstance(r.extra.get("execution_time"), float) for r in results)
    assert [e.path for e in events if e.kind == "file_edit"] == [
        "reproduce.py",
        "/testbed/reproduce.py",
        "/testbed/src/marshmallow/fields.py",
    ]
    (usage,) = [e for e in events if e.kind == "usage"]
    assert usage.usage is not None
    assert (usage.usage.cost_usd, usage.usage.input, usage.extra["replay"]) == (0.0, 0, True)
    assert events[-1].kind == "end" and events[-1].text == "submitted"


def test_swe_agent_str_replace_editor(tmp_path: Path) -> None:
    path = tmp_path / "x.traj"
    path.write_text(
        json.dumps(
            {
                "trajectory": [
                    {
                        "action": "str_replace_editor str_replace /testbed/a.py --old_str x --new_str y",
                        "observation": "The file /testbed/a.py has been edited.",
                        "thought": "fix it",
                    },
                    {"action": "str_replace_editor view /testbed/a.py", "observation": "...", "thought": ""},
                ],
                "history": [],
                "info": {"exit_status": "exit_cost"},
            }
        ),
        encoding="utf-8",
    )
    reader = SweAgentReader()
    assert reader.detect(path, path.read_bytes())
    events = list(reader.read(path))
    assert [e.path for e in events if e.kind == "file_edit"] == ["/testbed/a.py"]
    assert [e.kind for e in events] == [
        "assistant_message",
        "tool_call",
        "file_edit",
        "tool_result",
        "tool_call",
        "tool_result",
        "end",
    ]
    assert events[-1].text == "exit_cost" and "submission" not in events[-1].extra


# --- aider -------------------------------------------------------------------------------


def test_parse_tokens() -> None:
    assert [parse_tokens(t) for t in ("222", "3.2k", "10k", "1.1M", "x")] == [222, 3200, 10000, 1100000, None]


@needs_samples
def test_aider_sample() -> None:
    events = list(AiderReader().read(AIDER))
    kinds = _kinds(events)
    assert not [e for e in events if e.exit_code is not None or e.kind in ("tool_call", "tool_result")]
    # SOURCES.md counts 60 "#### " lines. Two of them are Markdown headings inside a reply
    # ("#### If you're using **npm**:"), and multi-line inputs span several lines: the
    # person's messages and slash-command controls cover the other 58.
    raw = AIDER.read_text(encoding="utf-8").splitlines()
    assert sum(1 for line in raw if line.startswith("#### ")) == 60
    from_input = [e for e in events if e.kind in ("user_message", "control") and "line_count" in e.extra]
    headings = [
        e for e in events if e.kind == "assistant_message" and "\n#### If you're using" in "\n" + (e.text or "")
    ]
    assert sum(int(str(e.extra["line_count"])) for e in from_input) + 2 == 60
    assert len(headings) == 1
    multi = [(e.source.line, e.extra["line_count"]) for e in from_input if e.extra["line_count"] != 1]
    assert multi == [(1461, 18), (2656, 7)]
    # /code TEXT makes aider send TEXT again: the echo is the harness's, not the person's
    echoes = [e for e in events if e.kind == "user_message" and e.origin == "harness"]
    assert len(echoes) == 8 and all("echo_of_line" in e.extra for e in echoes)
    person = [e for e in events if e.kind == "user_message" and e.origin == "person"]
    assert len(person) == 23
    texts = [e.text or "" for e in person]
    assert "nothing changed ! cant see any flloating bubbles anywhere" in texts
    assert any(t.startswith("i have this error : Failed to compile.") for t in texts)
    assert kinds["file_edit"] == 18
    usage = [e for e in events if e.kind == "usage"]
    assert len(usage) == 20
    priced = [e for e in usage if e.usage is not None and e.usage.cost_usd is not None]
    assert len(priced) == 12
    assert usage[0].usage is not None and (usage[0].usage.input, usage[0].usage.output) == (3200, 222)
    assert usage[0].usage.cost_usd is None and not usage[0].usage.cumulative
    assert usage[8].usage is not None and usage[8].usage.cost_usd == 0.0014
    assert usage[8].extra["session_cost_usd"] == 0.0014 and usage[8].model == "openai/qwen3:32b"
    commits = [e for e in events if e.kind == "vcs"]
    assert [e.extra["sha"] for e in commits] == ["c339495", "26a3c45", "a89b098"]
    controls = [(e.control, e.model) for e in events if e.kind == "control"]
    assert controls == [
        ("model_switch", "openai/qwen3:32b"),
        ("reset", None),
        ("model_switch", "gemini/gemini-2.5-pro-preview-03-25"),
        ("interrupt", None),  # "> ^C again to exit"
        ("model_switch", "openai/deepseek.deepseek-chat"),
    ]
    # the file has no /undo (SOURCES.md's "/undo help" is the /help listing of /undo)
    assert "undo" not in {c for c, _ in controls}
    assert {e.timestamp for e in events} == {"2025-05-04 17:02:36"}


def test_aider_undo_and_sessions(tmp_path: Path) -> None:
    path = tmp_path / ".aider.chat.history.md"
    path.write_text(
        "\n# aider chat started at 2025-01-01 10:00:00\n\n"
        "> Main model: gpt-4o with diff edit format  \n\n"
        "#### add a flag  \n\n"
        "Sure.\n\n#### Heading in the reply\nmore\n\n"
        "> Tokens: 1.5k sent, 12k cache write, 2.0k cache hit, 300 received. Cost: $0.02 message, $0.02 session.  \n"
        "> Applied edit to a.py  \n"
        "> Commit 1234abc feat: add a flag  \n\n"
        "#### /undo  \n"
        "> Removed: 1234abc feat: add a flag  \n\n"
        "# aider chat started at 2025-01-02 09:00:00\n\n"
        "#### /clear  \n",
        encoding="utf-8",
    )
    reader = AiderReader()
    assert reader.detect(path, path.read_bytes())
    events = list(reader.read(path))
    assert [e.kind for e in events] == [
        "user_message",
        "assistant_message",
        "usage",
        "file_edit",
        "vcs",
        "control",
        "control",
    ]
    assert events[1].text == "Sure.\n\n#### Heading in the reply\nmore" and events[1].model == "gpt-4o"
    u = events[2].usage
    assert u is not None and (u.input, u.output, u.cache_write, u.cache_read, u.cost_usd) == (
        1500,
        300,
        12000,
        2000,
        0.02,
    )
    assert (events[3].path, events[3].source.line) == ("a.py", 14)
    assert [(e.control, e.timestamp) for e in events[5:]] == [
        ("undo", "2025-01-01 10:00:00"),
        ("reset", "2025-01-02 09:00:00"),
    ]


# --- detection ---------------------------------------------------------------------------


@needs_samples
@pytest.mark.parametrize(
    ("reader", "own"),
    [
        (OpenHandsReader(), OPENHANDS),
        (SweAgentReader(), PYDICOM),
        (SweAgentReader(), MARSHMALLOW),
        (AiderReader(), AIDER),
    ],
    ids=["openhands", "swe-agent-0x", "swe-agent-1x", "aider"],
)
def test_detect(reader: OpenHandsReader | SweAgentReader | AiderReader, own: Path) -> None:
    assert reader.detect(own, _head(own))
    for other in [OPENHANDS, PYDICOM, MARSHMALLOW, AIDER, *OTHERS]:
        if other.name.split("__")[0] != own.name.split("__")[0]:
            assert not reader.detect(other, _head(other)), other.name
