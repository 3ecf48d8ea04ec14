"""The Claude Code and Codex transcript readers, on the real samples in shared/external/sessions.

The expected numbers are the facts in that folder's SOURCES.md (checked again by hand); the
synthetic cases below cover what the redacted samples cannot show (commands, exit codes,
patched paths, malformed lines).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest

from pytest_proofswe.session.claude_code import ClaudeCodeReader, git_actions
from pytest_proofswe.session.codex import CodexReader, patch_files
from pytest_proofswe.session.events import Event

SESSIONS = Path(__file__).resolve().parents[3] / "shared" / "external" / "sessions"
if not SESSIONS.is_dir():
    pytest.skip(f"session samples not found at {SESSIONS}", allow_module_level=True)

CLAUDE_HEAVY = SESSIONS / "claude-code__marot-spotter-tool-heavy.jsonl"
CLAUDE_REJECTED = SESSIONS / "claude-code__marot-spotter-short-rejected.jsonl"
CODEX_EXEC = SESSIONS / "codex__localpush-redacted-exec.jsonl"
CODEX_PATCH = SESSIONS / "codex__localpush-redacted-apply-patch.jsonl"
CLAUDE_FILES = [CLAUDE_HEAVY, CLAUDE_REJECTED]
CODEX_FILES = [CODEX_EXEC, CODEX_PATCH]
OTHER_FILES = [
    SESSIONS / "openhands__basic-gui-mode.json",
    SESSIONS / "swe-agent__pydicom-1458-gpt4.traj",
    SESSIONS / "aider__simple-calculator.chat.history.md",
]


def read(reader: ClaudeCodeReader | CodexReader, path: Path) -> list[Event]:
    return list(reader.read(path))


def of(events: list[Event], kind: str) -> list[Event]:
    return [e for e in events if e.kind == kind]


def controls(events: list[Event], control: str) -> list[Event]:
    return [e for e in events if e.kind == "control" and e.control == control]


def head(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(64 * 1024)


# --- detection -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", CLAUDE_FILES, ids=lambda p: p.name)
def test_detect_claude_code(path: Path) -> None:
    assert ClaudeCodeReader().detect(path, head(path))
    assert not CodexReader().detect(path, head(path))


@pytest.mark.parametrize("path", CODEX_FILES, ids=lambda p: p.name)
def test_detect_codex(path: Path) -> None:
    assert CodexReader().detect(path, head(path))
    assert not ClaudeCodeReader().detect(path, head(path))


@pytest.mark.parametrize("path", OTHER_FILES, ids=lambda p: p.name)
def test_detect_other_formats(path: Path) -> None:
    assert not ClaudeCodeReader().detect(path, head(path))
    assert not CodexReader().detect(path, head(path))


def test_detect_uses_content_not_name(tmp_path: Path) -> None:
    renamed = tmp_path / "session.txt"
    renamed.write_bytes(CLAUDE_HEAVY.read_bytes())
    assert ClaudeCodeReader().detect(renamed, head(renamed))
    misnamed = tmp_path / "rollout-2026-01-01.jsonl"
    misnamed.write_bytes(CLAUDE_REJECTED.read_bytes())
    assert not CodexReader().detect(misnamed, head(misnamed))


# --- Claude Code samples -------------------------------------------------------------------


def test_claude_tool_heavy() -> None:
    reader = ClaudeCodeReader()
    events = read(reader, CLAUDE_HEAVY)
    assert reader.skipped_lines == []

    usage = of(events, "usage")
    assert len(usage) == 4  # 9 assistant lines, 4 distinct (message.id, requestId) pairs
    assert sum(e.usage.input or 0 for e in usage if e.usage) == 54
    assert sum(e.usage.output or 0 for e in usage if e.usage) == 212
    assert sum(e.usage.cache_read or 0 for e in usage if e.usage) == 88231
    assert sum(e.usage.cache_write or 0 for e in usage if e.usage) == 17696
    assert {e.model for e in usage} == {"claude-opus-4-6"}
    assert all(e.usage is not None and not e.usage.cumulative for e in usage)

    calls = of(events, "tool_call")
    assert Counter(e.tool for e in calls) == Counter({"Bash": 2, "Glob": 1, "Read": 1, "WebSearch": 1, "WebFetch": 1})
    bash = [e for e in calls if e.tool == "Bash"]
    assert bash[0].command == "mix phx.server"
    assert bash[0].arguments is not None and json.loads(bash[0].arguments)["run_in_background"] is True
    results = of(events, "tool_result")
    assert {e.call_id for e in results} == {e.call_id for e in calls}
    assert all(e.status == "ok" and e.exit_code is None for e in results)  # success records no exit code

    assert len(controls(events, "interrupt")) == 2
    assert [e.source.line for e in controls(events, "interrupt")] == [18, 39]
    person = [e for e in of(events, "user_message") if e.origin == "person"]
    assert [e.text for e in person] == [
        "start phoenix in background",
        "scrolling back in xterm.js still does not work (maybe because outer web catches it)? "
        "websearch xterm.js tmux interactions",
    ]
    harness = [e for e in of(events, "user_message") if e.origin == "harness"]
    assert harness and all(e.text and e.text.lstrip().startswith("<") for e in harness)
    timestamps = [e.timestamp for e in events if e.timestamp]
    assert min(timestamps).startswith("2026-02-10T22:57") and max(timestamps) == "2026-02-10T22:59:46.748Z"
    assert of(events, "file_edit") == [] and of(events, "vcs") == []


def test_claude_short_rejected() -> None:
    events = read(ClaudeCodeReader(), CLAUDE_REJECTED)
    rejections = controls(events, "rejection")
    assert len(rejections) == 2
    assert [e.tool for e in rejections] == ["Bash", "Glob"]
    assert len(controls(events, "interrupt")) >= 1
    results = of(events, "tool_result")
    assert len(results) == 2 and all(e.status == "error" for e in results)
    assert {e.call_id for e in results} == {e.call_id for e in rejections}
    usage = of(events, "usage")
    assert len(usage) == 1  # 5 assistant lines of one API call
    assert usage[0].usage is not None and (usage[0].usage.input, usage[0].usage.output) == (3, 13)


# --- Codex samples -------------------------------------------------------------------------


def test_codex_exec() -> None:
    reader = CodexReader()
    events = read(reader, CODEX_EXEC)
    assert reader.skipped_lines == []
    calls = of(events, "tool_call")
    assert sum(e.tool == "exec_command" for e in calls) == 116
    assert len(of(events, "tool_result")) == 118

    usage = of(events, "usage")
    assert usage and all(e.usage is not None and e.usage.cumulative for e in usage)
    last = usage[-1]
    assert last.usage is not None and last.usage.input is not None and last.usage.output is not None
    assert (last.usage.input, last.usage.cache_read, last.usage.output) == (1751428, 1651968, 14600)
    assert last.usage.cache_write is None
    assert last.extra["total_tokens"] == 1766028 == last.usage.input + last.usage.output
    assert last.extra["reasoning_output_tokens"] == 4293
    assert last.model == "gpt-5.3-codex"
    # 55 token_count events carry counts (one has info null); consecutive repeats are dropped.
    assert len(usage) == 28
    inputs = [e.usage.input or 0 for e in usage if e.usage]
    assert inputs == sorted(inputs)  # cumulative

    person = [e for e in of(events, "user_message") if e.origin == "person"]
    assert len(person) == 1 and person[0].source.line == 10  # not also the response_item copy on line 9


def test_codex_apply_patch() -> None:
    events = read(CodexReader(), CODEX_PATCH)
    person = [e for e in of(events, "user_message") if e.origin == "person"]
    assert len(person) == 5
    tools = Counter(e.tool for e in of(events, "tool_call"))
    assert tools["exec_command"] == 71
    assert tools["apply_patch"] == 22
    assert tools["write_stdin"] == 9 and tools["update_plan"] == 2 and tools["web_search"] == 1
    last = of(events, "usage")[-1]
    assert last.usage is not None and last.usage.input is not None and last.usage.output is not None
    assert last.extra["total_tokens"] == 7240100 == last.usage.input + last.usage.output
    assert {e.model for e in of(events, "usage")} == {"gpt-5.3-codex"}
    # The sample's patches are redacted: no file name can be read, but each call is still an
    # edit (one, without a path), on the call's own line and saying why it has no path.
    edits = of(events, "file_edit")
    patches = [e for e in of(events, "tool_call") if e.tool == "apply_patch"]
    assert [e.source.line for e in edits] == [e.source.line for e in patches] and len(edits) == 22
    assert all(e.path is None and e.extra["unreadable"] == "arguments redacted" for e in edits)
    shells = [e for e in of(events, "tool_call") if e.tool == "exec_command"]
    assert all(e.command is None and e.extra == {"shell": True, "unreadable": "arguments redacted"} for e in shells)


# --- synthetic cases -----------------------------------------------------------------------


def write_lines(path: Path, records: Sequence[object]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return path


def claude_line(kind: str, content: object, **more: object) -> dict[str, object]:
    return {
        "type": kind,
        "sessionId": "s",
        "uuid": "u",
        "timestamp": "2026-01-01T00:00:00Z",
        "message": content,
        **more,
    }


def test_malformed_lines_are_skipped_and_recorded(tmp_path: Path) -> None:
    lines = CLAUDE_REJECTED.read_text(encoding="utf-8").splitlines()
    lines.insert(4, '{"type": "user", "message": {"role": "user", "content": "cut off')  # line 5
    lines.insert(6, "[1, 2]")  # line 7: JSON, but not an object
    broken = write_lines(tmp_path / "broken.jsonl", [*lines, ""])
    reader = ClaudeCodeReader()
    events = read(reader, broken)
    assert reader.skipped_lines == [5, 7]
    assert len(controls(events, "rejection")) == 2
    assert [e.source.line for e in controls(events, "rejection")] == [13, 14]  # lines after the inserts moved down

    codex_lines = CODEX_EXEC.read_text(encoding="utf-8").splitlines()[:12]
    codex_lines.insert(2, "not json at all")
    codex = CodexReader()
    list(codex.read(write_lines(tmp_path / "broken-codex.jsonl", codex_lines)))
    assert codex.skipped_lines == [3]


def test_claude_exit_code_edits_vcs_and_rewind(tmp_path: Path) -> None:
    def assistant(block: dict[str, object], msg: str = "m1") -> dict[str, object]:
        usage = {"input_tokens": 1, "output_tokens": 2, "cache_read_input_tokens": 3, "cache_creation_input_tokens": 4}
        return claude_line(
            "assistant", {"id": msg, "model": "claude-x", "content": [block], "usage": usage}, requestId="r" + msg
        )

    path = write_lines(
        tmp_path / "s.jsonl",
        [
            claude_line("user", {"role": "user", "content": "fix it"}),
            assistant(
                {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "cd x && git checkout -- a.py"}}
            ),
            assistant(
                {"type": "tool_use", "id": "t2", "name": "Edit", "input": {"file_path": "/r/a.py", "old_string": "a"}}
            ),
            claude_line(
                "user",
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "t1", "is_error": True, "content": "Exit code 2\nboom"}
                    ],
                },
            ),
            claude_line("user", {"role": "user", "content": "<command-name>/rewind</command-name>"}),
            claude_line("user", {"role": "user", "content": "<system-reminder>x</system-reminder>"}, isMeta=True),
            assistant({"type": "text", "text": "done"}, msg="m2"),
        ],
    )
    events = read(ClaudeCodeReader(), path)
    result = of(events, "tool_result")[0]
    assert (result.status, result.exit_code, result.exit_code_source, result.tool) == (
        "error",
        2,
        "output text",
        "Bash",
    )
    assert [(e.path, e.tool) for e in of(events, "file_edit")] == [("/r/a.py", "Edit")]
    vcs = of(events, "vcs")
    assert [(e.extra["action"], e.text, e.call_id, e.command) for e in vcs] == [
        ("checkout", "git checkout -- a.py", "t1", None)
    ]
    assert len(controls(events, "rewind")) == 1
    assert [e.origin for e in of(events, "user_message")] == ["person", "harness", "harness"]
    assert len(of(events, "usage")) == 2  # m1 (two lines) and m2


def test_git_actions() -> None:
    assert git_actions("git status && git diff") == []
    assert git_actions("git -C repo restore --staged x") == [("restore", "git -C repo restore --staged x")]
    assert [a for a, _ in git_actions('GIT_PAGER=cat git commit -m "a; b" && git stash')] == ["commit", "stash"]


def test_codex_commands_exit_codes_patches_and_dedupe(tmp_path: Path) -> None:
    def item(payload: dict[str, object]) -> dict[str, object]:
        return {"timestamp": "2026-01-01T00:00:00Z", "type": "response_item", "payload": payload}

    def event(payload: dict[str, object]) -> dict[str, object]:
        return {"timestamp": "2026-01-01T00:00:00Z", "type": "event_msg", "payload": payload}

    patch = "*** Begin Patch\n*** Update File: src/a.py\n@@\n-x\n+y\n*** Add File: b.py\n+z\n*** Delete File: c.py\n*** End Patch"
    total = {"input_tokens": 10, "cached_input_tokens": 4, "output_tokens": 5, "total_tokens": 15}
    path = write_lines(
        tmp_path / "rollout.jsonl",
        [
            {"timestamp": "t", "type": "session_meta", "payload": {"id": "x", "cli_version": "0.1"}},
            item(
                {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": "<environment_context>cwd</environment_context>"}],
                }
            ),
            item({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "please fix"}]}),
            event({"type": "user_message", "message": "please fix"}),
            {"timestamp": "t", "type": "turn_context", "payload": {"model": "gpt-a"}},
            item(
                {
                    "type": "function_call",
                    "name": "shell",
                    "call_id": "c1",
                    "arguments": json.dumps({"command": ["bash", "-lc", "pytest -q"]}),
                }
            ),
            item(
                {
                    "type": "function_call_output",
                    "call_id": "c1",
                    "output": json.dumps({"output": "1 failed", "metadata": {"exit_code": 1}}),
                }
            ),
            item(
                {
                    "type": "function_call",
                    "name": "exec_command",
                    "call_id": "c2",
                    "arguments": json.dumps({"cmd": "git commit -am x"}),
                }
            ),
            item(
                {
                    "type": "function_call_output",
                    "call_id": "c2",
                    "output": "Chunk ID: 1\nWall time: 0.1 seconds\nProcess exited with code 0\nOutput:\nExit code: 9\n",
                }
            ),
            item(
                {
                    "type": "function_call",
                    "name": "exec_command",
                    "call_id": "c3",
                    "arguments": json.dumps({"cmd": "sleep 99"}),
                }
            ),
            item(
                {
                    "type": "function_call_output",
                    "call_id": "c3",
                    "output": "Process running with session ID 7\nOutput:\n",
                }
            ),
            item({"type": "custom_tool_call", "name": "apply_patch", "call_id": "c4", "input": patch}),
            item(
                {
                    "type": "custom_tool_call_output",
                    "call_id": "c4",
                    "output": "Exit code: 0\nWall time: 0 seconds\nOutput:\nSuccess.",
                }
            ),
            event({"type": "token_count", "info": None}),
            event({"type": "token_count", "info": {"total_token_usage": total, "last_token_usage": total}}),
            event({"type": "token_count", "info": {"total_token_usage": total, "last_token_usage": total}}),
            {"timestamp": "t", "type": "turn_context", "payload": {"model": "gpt-b"}},
            event({"type": "turn_aborted", "reason": "interrupted"}),
        ],
    )
    events = read(CodexReader(), path)
    assert [(e.origin, e.text) for e in of(events, "user_message")] == [
        ("harness", "<environment_context>cwd</environment_context>"),
        ("person", "please fix"),
    ]
    calls = {e.call_id: e for e in of(events, "tool_call")}
    assert calls["c1"].command == "pytest -q" and calls["c2"].command == "git commit -am x"
    results = {e.call_id: e for e in of(events, "tool_result")}
    assert (results["c1"].exit_code, results["c1"].exit_code_source, results["c1"].status) == (1, "metadata", "error")
    assert (results["c1"].text, results["c1"].tool) == ("1 failed", "shell")
    assert (results["c2"].exit_code, results["c2"].exit_code_source, results["c2"].status) == (0, "output text", "ok")
    assert (results["c3"].exit_code, results["c3"].status) == (None, "unknown")
    assert results["c4"].exit_code == 0
    assert [(e.extra["change"], e.path) for e in of(events, "file_edit")] == [
        ("update", "src/a.py"),
        ("add", "b.py"),
        ("delete", "c.py"),
    ]
    assert [e.extra["action"] for e in of(events, "vcs")] == ["commit"]
    usage = of(events, "usage")
    assert len(usage) == 1 and usage[0].model == "gpt-a"
    assert usage[0].usage is not None and (usage[0].usage.input, usage[0].usage.cache_read) == (10, 4)
    assert [e.extra["to"] for e in controls(events, "model_switch")] == ["gpt-b"]
    assert [e.text for e in controls(events, "interrupt")] == ["interrupted"]


def test_patch_files_move() -> None:
    patch = "*** Begin Patch\n*** Update File: old.py\n*** Move to: new.py\n@@\n-a\n+b\n*** End Patch\n"
    assert patch_files(patch) == [("update", "old.py"), ("move", "new.py")]
