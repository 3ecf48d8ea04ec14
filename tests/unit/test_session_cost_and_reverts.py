"""Session cost (every token kind at its list price) and reverted edits, redacted calls (issue 9, items 7 and 8).

The real transcripts are those of ``shared/external/sessions`` (provenance in its SOURCES.md):
expected figures are computed here from the files and litellm's own cost map, never taken
from our code. The synthetic transcripts copy the line shapes of those files.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from pytest_proofswe.session import Event, Source, TextChange, Usage, grade_session
from pytest_proofswe.session.claude_code import ClaudeCodeReader
from pytest_proofswe.session.codex import CodexReader, patch_changes
from pytest_proofswe.session.events import editor_changes
from pytest_proofswe.session.metrics import CallTokens, compute_metrics
from pytest_proofswe.session.pricing import litellm_price

SESSIONS = Path(__file__).resolve().parents[3] / "shared" / "external" / "sessions"
needs_data = pytest.mark.skipif(not SESSIONS.is_dir(), reason="needs ../shared/external/sessions")
CLAUDE_REJECTED = SESSIONS / "claude-code__marot-spotter-short-rejected.jsonl"
CODEX_EXEC = SESSIONS / "codex__localpush-redacted-exec.jsonl"
CODEX_PATCH = SESSIONS / "codex__localpush-redacted-apply-patch.jsonl"


def cost_map() -> dict[str, Any]:
    from pytest_proofswe.review.reviewer import import_litellm

    return dict(import_litellm().model_cost)


def records(path: Path) -> list[tuple[int, dict[str, Any]]]:
    return [(n, json.loads(line)) for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)]


# --- cost -----------------------------------------------------------------------------------


@needs_data
def test_claude_code_cache_writes_and_reads_are_priced() -> None:
    # By hand: one usage per (message.id, requestId), each count at its largest; the price of
    # each kind from litellm's map. This session's 13 835 cache writes were one-hour writes
    # (usage.cache_creation.ephemeral_1h_input_tokens), which the map prices apart.
    calls: dict[tuple[str, str], dict[str, int]] = {}
    model = ""
    for _n, r in records(CLAUDE_REJECTED):
        message = r.get("message")
        if r.get("type") != "assistant" or not isinstance(message, dict) or "usage" not in message:
            continue
        model, u = message["model"], message["usage"]
        seen = calls.setdefault((message["id"], r["requestId"]), {})
        for key, value in [*u.items(), *u.get("cache_creation", {}).items()]:
            if isinstance(value, int):
                seen[key] = max(seen.get(key, 0), value)
    rates = cost_map()[model]
    expected = sum(
        c["input_tokens"] * rates["input_cost_per_token"]
        + c["output_tokens"] * rates["output_cost_per_token"]
        + c["cache_read_input_tokens"] * rates["cache_read_input_token_cost"]
        + c["ephemeral_5m_input_tokens"] * rates["cache_creation_input_token_cost"]
        + c["ephemeral_1h_input_tokens"] * rates["cache_creation_input_token_cost_above_1hr"]
        for c in calls.values()
    )
    assert sum(c["cache_creation_input_tokens"] for c in calls.values()) == 13835
    assert sum(c["cache_read_input_tokens"] for c in calls.values()) == 11515
    m = grade_session(CLAUDE_REJECTED).metrics
    assert m["cost_usd"] == pytest.approx(expected, abs=1e-6)
    assert m["cost_usd"] > 0.09  # priced at $0.00034 before: input and output tokens only
    assert (m["cost_source"], m["cost_reason"]) == ("price", None)


@needs_data
def test_codex_cached_input_is_not_counted_twice() -> None:
    # The last total_token_usage (SOURCES.md): input 1 751 428 *including* 1 651 968 cached.
    rates = cost_map()["gpt-5.3-codex"]
    uncached = 1751428 - 1651968
    expected = (
        uncached * rates["input_cost_per_token"]
        + 1651968 * rates["cache_read_input_token_cost"]
        + 14600 * rates["output_cost_per_token"]
    )
    m = grade_session(CODEX_EXEC).metrics
    assert m["cost_usd"] == pytest.approx(expected, abs=1e-6)
    assert m["tokens"]["input"] == 1751428  # the counts stay as the harness wrote them


def usage_events(model: str | None, *usages: Usage) -> list[Event]:
    return [Event("usage", Source(line=n), model=model, usage=u) for n, u in enumerate(usages, 1)]


def test_unknown_model_gives_no_cost_and_says_why(capsys: pytest.CaptureFixture[str]) -> None:
    events = usage_events("no-such-model-1234", Usage(input=10, output=5))
    m = compute_metrics(events, format_name="t", price=litellm_price).values
    assert m["cost_usd"] is None and m["cost_source"] is None
    assert "no price for model 'no-such-model-1234' in the cost map of litellm" in m["cost_reason"]
    assert capsys.readouterr().out == ""  # litellm's provider list is not printed into the run


def test_without_litellm_the_cost_is_unknown_and_says_how_to_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "litellm", None)  # import litellm fails, as when it is not installed
    m = compute_metrics(usage_events("claude-opus-4-6", Usage(input=1)), format_name="t", price=litellm_price).values
    assert m["cost_usd"] is None and "pip install 'pytest-proofswe[llm]'" in m["cost_reason"]


def test_no_model_or_no_tokens_says_why() -> None:
    def price(model: str, calls: Sequence[CallTokens]) -> float:
        raise AssertionError("not called")

    m = compute_metrics(usage_events(None, Usage(input=1)), format_name="t", price=price).values
    assert (m["cost_usd"], m["cost_reason"]) == (None, "the transcript names no model to price its tokens with")
    m = compute_metrics([Event("user_message", Source(line=1))], format_name="t", price=price).values
    assert (m["cost_usd"], m["cost_reason"]) == (None, "the transcript records no cost and no token counts")


def test_calls_are_priced_with_their_own_model_and_running_totals_by_difference() -> None:
    priced: dict[str, list[CallTokens]] = {}

    def price(model: str, calls: Sequence[CallTokens]) -> float:
        priced[model] = list(calls)
        return float(len(calls))

    total = Usage(input=100, cache_read=60, output=10, cumulative=True, input_includes_cache_read=True)
    later = Usage(input=250, cache_read=160, output=30, cumulative=True, input_includes_cache_read=True)
    events = [*usage_events("gpt-a", total), *usage_events("gpt-b", later)]
    events += usage_events("claude-x", Usage(input=3, output=4, cache_read=5, cache_write=6, cache_write_1h=2))
    m = compute_metrics(events, format_name="t", price=price).values
    assert priced == {
        "gpt-a": [CallTokens(40, 10, 60, 0)],  # input 100 counted 60 cache reads: 40 uncached
        "gpt-b": [CallTokens(50, 20, 100, 0)],  # the difference of the two totals
        "claude-x": [CallTokens(3, 4, 5, 6, 2)],
    }
    assert m["cost_usd"] == 3.0 and m["cost_source"] == "price"


# --- reverted edits -------------------------------------------------------------------------


def claude(number: int, kind: str, content: list[dict[str, Any]], **more: Any) -> dict[str, Any]:
    """A Claude Code line, shaped as in the marot-spotter samples."""
    message: dict[str, Any] = {"role": kind, "content": content}
    if kind == "assistant":
        message |= {"id": f"msg_{number}", "model": "claude-opus-4-6", "type": "message"}
    return {
        "type": kind,
        "sessionId": "s",
        "uuid": f"u{number}",
        "timestamp": f"2026-02-10T22:{number:02d}:00.000Z",
        "message": message,
        **more,
    }


def edit_call(n: int, tool: str, **args: Any) -> dict[str, Any]:
    return claude(n, "assistant", [{"type": "tool_use", "id": f"t{n}", "name": tool, "input": args}])


def edit_result(n: int, call: int, error: str | None = None) -> dict[str, Any]:
    block = {"type": "tool_result", "tool_use_id": f"t{call}", "content": error or "The file has been updated."}
    more = {"toolUseResult": "User rejected tool use"} if error else {}
    return claude(n, "user", [dict(block, is_error=True) if error else block], **more)


def claude_metrics(tmp_path: Path, lines: list[dict[str, Any]]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    path = tmp_path / "session.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    result = compute_metrics(ClaudeCodeReader().read(path), format_name="claude-code")
    return result.values, [(s.where, s.text) for s in result.signals if s.metric == "reverted_edits"]


def test_claude_edit_that_puts_back_what_an_earlier_edit_replaced(tmp_path: Path) -> None:
    f = "/repo/calc.py"
    values, signals = claude_metrics(
        tmp_path,
        [
            claude(1, "user", [{"type": "text", "text": "fix the rounding"}]),
            edit_call(2, "Edit", file_path=f, old_string="return a / b", new_string="return round(a / b)"),
            edit_result(3, 2),
            edit_call(4, "Edit", file_path=f, old_string="return round(a / b)", new_string="return a / b"),
            edit_result(5, 4),
        ],
    )
    assert values["edits"] == 2 and values["reverted_edits"] == 1
    assert signals == [("line 4", f"{f}: undoes the edit at line 2")]


def test_claude_reverts_over_several_steps_multiedit_and_write(tmp_path: Path) -> None:
    f, g = "/repo/a.py", "/repo/b.py"
    values, signals = claude_metrics(
        tmp_path,
        [
            edit_call(1, "Edit", file_path=f, old_string="x = 1", new_string="x = 2"),
            edit_result(2, 1),
            edit_call(3, "MultiEdit", file_path=f, edits=[{"old_string": "x = 2", "new_string": "x = 3"}]),
            edit_result(4, 3),
            edit_call(5, "Edit", file_path=f, old_string="x = 3", new_string="x = 1"),  # back to the start
            edit_result(6, 5),
            edit_call(7, "Write", file_path=g, content="v1\n"),
            edit_result(8, 7),
            edit_call(9, "Write", file_path=g, content="v2\n"),
            edit_result(10, 9),
            edit_call(11, "Write", file_path=g, content="v1\n"),  # the file as it was
            edit_result(12, 11),
        ],
    )
    assert values["reverted_edits"] == 2
    assert signals == [("line 5", f"{f}: undoes the edit at line 1"), ("line 11", f"{g}: undoes the edit at line 9")]


def test_a_refused_edit_changes_nothing_and_undoes_nothing(tmp_path: Path) -> None:
    f = "/repo/calc.py"
    values, _ = claude_metrics(
        tmp_path,
        [
            edit_call(1, "Edit", file_path=f, old_string="a", new_string="b"),
            edit_result(2, 1, error="User rejected tool use"),
            edit_call(3, "Edit", file_path=f, old_string="b", new_string="a"),
            edit_result(4, 3),
            edit_call(5, "Edit", file_path=f, old_string="c", new_string="d"),  # an unrelated edit
            edit_result(6, 5),
        ],
    )
    assert values["edits"] == 3 and values["reverted_edits"] == 0 and values["rejections"] == 1


def codex_item(payload: dict[str, Any]) -> dict[str, Any]:
    return {"timestamp": "2026-02-23T11:41:38.901Z", "type": "response_item", "payload": payload}


def test_codex_patch_that_reverses_an_earlier_one(tmp_path: Path) -> None:
    forward = "*** Begin Patch\n*** Update File: src/a.py\n@@ def f():\n x = 1\n-y = 2\n+y = 3\n z = 4\n*** End Patch"
    back = "*** Begin Patch\n*** Update File: src/a.py\n@@ def f():\n x = 1\n-y = 3\n+y = 2\n z = 4\n*** End Patch"
    ok = json.dumps({"output": "Success. Updated the following files:\nM src/a.py\n", "metadata": {"exit_code": 0}})
    lines = [{"timestamp": "t", "type": "turn_context", "payload": {"model": "gpt-5.3-codex"}}]
    for n, patch in enumerate([forward, back]):
        lines.append(
            codex_item({"type": "custom_tool_call", "name": "apply_patch", "call_id": f"c{n}", "input": patch})
        )
        lines.append(codex_item({"type": "custom_tool_call_output", "call_id": f"c{n}", "output": ok}))
    path = tmp_path / "rollout.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    result = compute_metrics(CodexReader().read(path), format_name="codex")
    assert result.values["edits"] == 2 and result.values["reverted_edits"] == 1
    assert [(s.where, s.text) for s in result.signals if s.metric == "reverted_edits"] == [
        ("line 4", "src/a.py: undoes the edit at line 2")
    ]


def test_patch_changes_and_editor_arguments() -> None:
    patch = "*** Begin Patch\n*** Add File: n.py\n+a\n+b\n*** Update File: o.py\n@@\n-x\n+y\n*** End Patch"
    assert patch_changes(patch) == {"n.py": (TextChange(None, "a\nb\n"),), "o.py": (TextChange("x", "y"),)}
    assert editor_changes({"command": "str_replace", "old_str": "a", "new_str": "b"}) == (TextChange("a", "b"),)
    assert editor_changes({"command": "str_replace", "old_str": "a"}) == (TextChange("a", ""),)
    assert editor_changes({"command": "create", "file_text": "t"}) == (TextChange(None, "t"),)
    assert editor_changes({"search": "s", "replace": "r"}) == (TextChange("s", "r"),)  # SWE-agent's edit
    assert editor_changes({"command": "insert", "new_str": "n", "insert_line": 3}) == ()


def test_openhands_str_replace_back_and_undo_edit(tmp_path: Path) -> None:
    def edit(n: int, **args: Any) -> dict[str, Any]:
        meta = {"tool_call_id": f"t{n}", "function_name": "str_replace_editor"}
        return {
            "id": n,
            "source": "agent",
            "action": "edit",
            "args": {"path": "/w/a.py", **args},
            "tool_call_metadata": meta,
        }

    def seen(n: int) -> dict[str, Any]:
        return {"id": n + 100, "cause": n, "source": "agent", "observation": "edit", "content": "ok", "extras": {}}

    path = tmp_path / "events.json"
    path.write_text(
        json.dumps(
            [
                edit(1, command="create", file_text="a = 1\n"),
                seen(1),
                edit(2, command="str_replace", old_str="a = 1", new_str="a = 2"),
                seen(2),
                edit(3, command="str_replace", old_str="a = 2", new_str="a = 1"),
                seen(3),
                edit(4, command="undo_edit"),
                seen(4),
            ]
        )
    )
    result = grade_session(path)
    assert result.metrics["format"] == "openhands" and result.metrics["edits"] == 4
    assert result.metrics["reverted_edits"] == 2  # the edit put back, and the undo
    assert [s.where for s in result.signals if s.metric == "reverted_edits"] == ["entry 4", "entry 6"]


# --- redacted Codex calls -------------------------------------------------------------------


def call_lines(path: Path, kind: str, name: str) -> list[int]:
    return [
        n
        for n, r in records(path)
        if r.get("type") == "response_item" and r["payload"].get("type") == kind and r["payload"].get("name") == name
    ]


@needs_data
@pytest.mark.parametrize(
    ("path", "commands", "edits"),
    [(CODEX_EXEC, 116, 0), (CODEX_PATCH, 71, 22)],
    ids=["exec", "apply-patch"],
)
def test_codex_redacted_calls_are_commands_and_edits(path: Path, commands: int, edits: int) -> None:
    shell_lines = call_lines(path, "function_call", "exec_command")
    patch_lines = call_lines(path, "custom_tool_call", "apply_patch")
    assert (len(shell_lines), len(patch_lines)) == (commands, edits)  # counted in the file, not by our reader
    result = grade_session(path)
    assert (result.metrics["commands"], result.metrics["edits"]) == (commands, edits)
    cited = {m: [s.where for s in result.signals if s.metric == m] for m in ("commands", "edits")}
    assert cited["commands"] == [f"line {n}" for n in shell_lines[:50]]  # at most 50 signals of a metric are kept
    assert cited["edits"] == [f"line {n}" for n in patch_lines]
    assert all(
        s.text == "exec_command: arguments redacted, counted as one command by the tool's name"
        for s in result.signals
        if s.metric == "commands"
    )


@needs_data
def test_codex_redacted_excerpt(tmp_path: Path) -> None:
    # A small excerpt of the real rollout (its first lines up to the first patch's output).
    lines = CODEX_PATCH.read_text(encoding="utf-8").splitlines()
    first_patch = call_lines(CODEX_PATCH, "custom_tool_call", "apply_patch")[0]
    excerpt = tmp_path / "rollout.jsonl"
    excerpt.write_text("\n".join(lines[: first_patch + 1]) + "\n")
    shells = len([n for n in call_lines(CODEX_PATCH, "function_call", "exec_command") if n < first_patch])
    m = grade_session(excerpt).metrics
    assert (m["commands"], m["edits"], m["failed_commands"]) == (shells, 1, None)  # redacted outputs: unknown
