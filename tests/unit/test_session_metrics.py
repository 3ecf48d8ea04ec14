"""Session metrics on the real transcripts: the facts of shared/external/sessions/SOURCES.md."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_proofswe.session import Event, Source, grade_session
from pytest_proofswe.session.metrics import compute_metrics

SESSIONS = Path(__file__).resolve().parents[3] / "shared" / "external" / "sessions"
needs_data = pytest.mark.skipif(not SESSIONS.is_dir(), reason="needs ../shared/external/sessions")


@needs_data
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "claude-code__marot-spotter-tool-heavy.jsonl",
            {
                "format": "claude-code",
                "models": ["claude-opus-4-6"],
                "interruptions": 2,
                "tool_calls": 6,
                "tokens": {"input": 54, "output": 212, "cache_read": 88231, "cache_write": 17696, "total": 266},
                "cost_source": "price",
                # the `tail` Bash call succeeded (no is_error): 0 failures, not unknown (issue 12);
                # the backgrounded `mix phx.server` did not finish and says nothing
                "failed_commands": 0,
            },
        ),
        ("claude-code__marot-spotter-short-rejected.jsonl", {"rejections": 2, "interruptions": 1}),
        (
            "codex__localpush-redacted-exec.jsonl",
            {
                "format": "codex",
                "models": ["gpt-5.3-codex"],
                "tool_calls": 118,
                "tokens": {
                    "input": 1751428,
                    "output": 14600,
                    "cache_read": 1651968,
                    "cache_write": None,
                    "total": 1766028,
                },
            },
        ),
        ("codex__localpush-redacted-apply-patch.jsonl", {"user_turns": 5}),
        (
            "openhands__basic-gui-mode.json",
            {
                "format": "openhands",
                "commands": 2,
                "failed_commands": 0,  # exit -1 did not finish: unknown, not failure
                "edits": 2,
                "user_turns": 1,
                "cost_usd": None,
            },
        ),
        (
            "swe-agent__pydicom-1458-gpt4.traj",
            {
                "format": "swe-agent",
                "tool_calls": 12,
                "cost_usd": 1.26719,
                "cost_source": "harness",
                "wall_s": None,
                "tokens": {"input": 122612, "output": 1369, "cache_read": None, "cache_write": None, "total": 123981},
            },
        ),
        (
            "aider__simple-calculator.chat.history.md",
            {"format": "aider", "edits": 18, "failed_commands": None, "cost_source": "harness", "wall_s": None},
        ),
    ],
)
def test_real_transcripts(name: str, expected: dict[str, object]) -> None:
    result = grade_session(SESSIONS / name)
    assert result.status == "scored"
    for key, value in expected.items():
        assert result.metrics[key] == value, key


@needs_data
def test_aider_corrections_cite_their_lines() -> None:
    result = grade_session(SESSIONS / "aider__simple-calculator.chat.history.md")
    texts = [s.text for s in result.signals if s.metric == "corrections"]
    assert any("nothing changed" in t for t in texts) and any("Failed to compile" in t for t in texts)
    assert all(s.where.startswith("line ") for s in result.signals if s.metric == "corrections")


def _call(n: int, command: str, result: str, exit_code: int | None = 0) -> list[Event]:
    cid = f"c{n}"
    return [
        Event("tool_call", Source(line=2 * n), tool="shell", call_id=cid, command=command),
        Event("tool_result", Source(line=2 * n + 1), call_id=cid, text=result, exit_code=exit_code),
    ]


def test_loops_reverts_tests_after_edit_and_outside_patch() -> None:
    events: list[Event] = [Event("user_message", Source(line=1), origin="person", text="fix it")]
    for i in range(4):  # the same failing command 4 times: one loop
        events += _call(i + 1, "pytest -x", "1 failed", exit_code=1)
    events += [Event("file_edit", Source(line=20), path="src/a.py"), Event("file_edit", Source(line=21), path="b.py")]
    events += _call(11, "git checkout -- b.py", "")
    events += [Event("user_message", Source(line=30), origin="person", text="No, that's not what I asked!!")]
    events += [Event("user_message", Source(line=31), origin="harness", text="no")]  # not typed by a person
    m = compute_metrics(events, format_name="test", final_patch_paths=["src/a.py"]).values
    assert m["loops"] == 1 and m["test_runs"] == 4 and m["failed_commands"] == 4
    assert m["reverted_edits"] == 1 and m["edits_outside_patch"] == 1
    assert m["tests_after_last_edit"] is False and m["corrections"] == 1 and m["user_turns"] == 2


def test_ab_alternation_is_a_loop() -> None:
    events: list[Event] = []
    for i in range(6):
        events += _call(i, "ls" if i % 2 == 0 else "cat x", "same")
    assert compute_metrics(events, format_name="t").values["loops"] == 1


def test_unknown_is_null_not_zero() -> None:
    m = compute_metrics(
        [
            Event("tool_call", Source(line=1), tool="shell", call_id="a", command="make"),
            Event("tool_result", Source(line=2), call_id="a", text="?"),
        ],
        format_name="t",
    ).values
    assert m["failed_commands"] is None and m["tokens"]["total"] is None and m["cost_usd"] is None


def test_json_list_is_streamed_item_by_item(tmp_path: Path) -> None:
    from pytest_proofswe.session.openhands import iter_json_list

    items = [{"id": i, "text": "x" * (i * 7 % 50), "nested": {"a": [1, 2, {"b": "]"}]}} for i in range(200)]
    path = tmp_path / "events.json"
    path.write_text(" [\n" + ",\n  ".join(json.dumps(i) for i in items) + "\n]\n")
    assert list(iter_json_list(path, chunk=17)) == items  # a tiny chunk: every refill path runs
    path.write_text('[{"a": 1}, {"b": ')
    with pytest.raises(ValueError):
        list(iter_json_list(path, chunk=4))
    (tmp_path / "empty.json").write_text("[]")
    assert list(iter_json_list(tmp_path / "empty.json")) == []


def test_the_timeline_keeps_commands_and_edits_in_order_first_and_last() -> None:
    """session.timeline (the HTML report's session timeline): each command and edit with its line, bounded."""
    events: list[Event] = []
    events += _call(1, "pytest -x", "1 failed", exit_code=1)
    events += [Event("file_edit", Source(line=20), path="src/a.py")]
    events += _call(21, "pytest -x", "ok", exit_code=0)
    m = compute_metrics(events, format_name="t")
    assert [a.to_json() for a in m.actions] == [
        {"kind": "command", "where": "line 2", "text": "pytest -x"},
        {"kind": "edit", "where": "line 20", "text": "src/a.py"},
        {"kind": "command", "where": "line 42", "text": "pytest -x"},
    ]
    assert m.actions_omitted == 0

    many = [Event("file_edit", Source(line=n), path=f"f{n}.py") for n in range(1, 1001)]
    m = compute_metrics(many, format_name="t")
    assert len(m.actions) == 500 and m.actions_omitted == 500 and m.values["edits"] == 1000
    assert (m.actions[0].where, m.actions[249].where, m.actions[250].where, m.actions[-1].where) == (
        "line 1",
        "line 250",
        "line 751",
        "line 1000",
    )
