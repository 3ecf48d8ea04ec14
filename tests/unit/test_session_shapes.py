"""Session figures on transcripts written here in the shapes of real ones (issue 12).

One test per kind of error the issue lists, each on a small transcript in tests/data/sessions,
written in this repository in the format and structure of a real excerpt of that shape (same
keys, record types, nesting and ordering quirks; our own words, ids, paths and numbers: see
tests/data/sessions/README.md). Unlike the real excerpts beside the repository
(test_session_real_excerpts.py, skipped where ../shared is absent), these run everywhere,
CI included. Every expected figure was counted by hand in the file (line numbers are the
file's own); each of these tests fails on the readers before the issue-12 fixes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_proofswe.session.metrics import is_correction, is_test_command
from tests.unit.transcripts import Transcripts, seconds, signals

DATA = Path(__file__).resolve().parents[1] / "data" / "sessions"


_read = Transcripts(DATA)
grade, events, person, harness = _read.grade, _read.events, _read.person, _read.harness


# --- who typed it ---------------------------------------------------------------------------


def test_claude_task_notification_is_the_harness() -> None:
    name = "claude-code__task-notification.jsonl"
    # line 1: the person's request; line 6: "<task-notification>..." (the background cargo test ended)
    assert [line for line, _ in person(name)] == [1]
    assert list(harness(name)) == [6]
    m = grade(name).metrics
    assert (m["user_turns"], m["commands"], m["test_runs"]) == (1, 1, 1)
    # the only command was left running in the background (backgroundTaskId): its outcome is unknown
    assert m["failed_commands"] is None


def test_claude_queued_messages_counted_once_when_handed_over() -> None:
    name = "claude-code__queued-messages.jsonl"
    # line 4 enqueue, line 6 popAll (given back to be edited), line 7 the edited text enqueued,
    # line 9 remove (handed over); line 11 enqueue, line 13 dequeue, line 14 its delivery as a user line
    assert person(name) == [
        (1, "rename load_config to load_settings"),
        (7, "keep the old name as an alias for one release"),
        (11, "and add a changelog line"),
    ]
    assert harness(name)[14].get("delivery_of_queued") is True
    assert grade(name).metrics["user_turns"] == 3


def test_claude_subagent_file_prompt_is_the_parent_agents_and_its_model_is_named() -> None:
    name = "claude-code__subagent-file.jsonl"  # every line isSidechain
    assert person(name) == []
    assert harness(name)[1].get("from") == "parent agent"
    m = grade(name).metrics
    assert (m["user_turns"], m["models"]) == (0, ["claude-haiku-4-5-20251001"])
    # three Bash calls (lines 3, 6, 8), each answered without is_error and without an exit code
    assert (m["commands"], m["failed_commands"], m["test_runs"]) == (3, 0, 1)


def test_claude_compaction_prompt_is_not_a_person() -> None:
    # line 1, the compaction agent's prompt, says "Do NOT use any tools" and "never leave out":
    # no person typed it, so it is neither a turn nor a correction
    m = grade("claude-code__compaction-agent.jsonl").metrics
    assert (m["user_turns"], m["corrections"], m["models"]) == (0, 0, ["claude-opus-4-6"])


def test_aider_architect_hand_off_and_echo_are_not_a_person() -> None:
    name = "aider__architect-handoff.chat.history.md"
    # line 16 echoes line 14's /architect TEXT; lines 27-31 are the architect's proposal, sent to
    # the editor model after line 25's "Edit the files? (Y)es/(N)o [Yes]: y"
    assert [line for line, _ in person(name)] == [11, 14, 50]
    injected = harness(name)
    assert injected[16]["echo_of_line"] == 14
    assert injected[27]["injected"] == "architect hand-off"
    assert grade(name).metrics["user_turns"] == 3


def test_aider_ask_code_echoes_help_question_and_bang_command() -> None:
    name = "aider__ask-code-help-bang.chat.history.md"
    assert [line for line, _ in person(name)] == [11, 19, 38, 52, 56]  # /ask, /code, /help, !pytest, /ex
    injected = harness(name)
    assert (injected[13]["echo_of_line"], injected[21]["echo_of_line"]) == (11, 19)
    assert injected[40]["echo_of_line"] == 38  # "# Question: ..." and its docs, sent for /help
    result = grade(name)
    m = result.metrics
    assert m["user_turns"] == 5
    # line 52 "!pytest -q ..." is aider's /run: a command the person ran, a test run after the edit
    assert (m["tool_calls"], m["commands"], m["test_runs"], m["tests_after_last_edit"]) == (1, 1, 1, True)
    assert signals(result, "test_runs") == [("line 52", "pytest -q tests/test_retry.py")]


def test_aider_lint_fixer_request_and_ctrl_c_after_the_work() -> None:
    name = "aider__quit-after-work.chat.history.md"
    # line 30 "#### # Fix any errors below, if possible." is aider's lint fixer, not a person
    assert [line for line, _ in person(name)] == [10, 53]
    assert harness(name)[30]["injected"] == "lint errors"
    # line 51: Ctrl-C at the prompt, the work done (line 46's Tokens, then the edit and commit);
    # line 60: Ctrl-C while aider retries the call for line 53: that one interrupts the model
    controls = [(e.source.line, e.control) for e in events(name) if e.kind == "control"]
    assert controls == [(51, "quit"), (60, "interrupt")]
    m = grade(name).metrics
    assert (m["user_turns"], m["interruptions"]) == (2, 1)
    # "Models: X with diff edit format, weak model Y" (aider 0.48) and "3,812 sent ... $0.01 request"
    assert m["models"] == ["claude-3-5-sonnet-20240620"]
    assert (m["tokens"]["input"], m["tokens"]["output"], m["cost_usd"]) == (3812 + 4106, 97 + 61, 0.02)


# --- what a test run is ---------------------------------------------------------------------


def test_mix_test_is_a_test_run_after_the_last_edit() -> None:
    result = grade("claude-code__mix-test-precommit.jsonl")
    m = result.metrics
    assert signals(result, "test_runs") == [("line 3", "mix test test/ledger/total_test.exs 2>&1 | tail -5")]
    assert (m["edits"], m["test_runs"], m["tests_after_last_edit"]) == (1, 1, True)  # Edit at line 1


def test_bun_test_runs_in_codex_before_and_after_the_patch() -> None:
    result = grade("codex__exec-running-bun-test.jsonl")
    m = result.metrics
    assert [where for where, _ in signals(result, "test_runs")] == ["line 5", "line 17"]
    assert (m["edits"], m["test_runs"], m["tests_after_last_edit"]) == (1, 2, True)  # apply_patch at line 14


@pytest.mark.parametrize(
    "command",
    [
        "mix test test/ledger/total_test.exs 2>&1 | tail -5",
        "dotnet test Ledger.sln --no-build",
        "go test ./internal/...",
        "cargo test -p tile-parser",
        "bun test src/cart.test.ts",
        "deno test --allow-read",
        "swift test --filter ParserTests",
        "npm test -- --run src/cart.test.ts",
        "make -j4 test",
        "cd app && MIX_ENV=test mix test",
    ],
)
def test_test_commands_of_every_ecosystem(command: str) -> None:
    assert is_test_command(command)


@pytest.mark.parametrize("command", ["mix deps.get", "dotnet build", "bun install", "swift build", "cat Makefile"])
def test_commands_of_those_ecosystems_that_run_no_tests(command: str) -> None:
    assert not is_test_command(command)


# --- what failed ----------------------------------------------------------------------------


def test_a_commit_the_pre_commit_hook_refused_is_a_failed_command() -> None:
    # line 8: is_error true, "Pre-commit validation failed: ...", no "Exit code" line; line 5
    # (mix test) succeeded without is_error: 1 failure of 2 commands, not unknown
    result = grade("claude-code__mix-test-precommit.jsonl")
    assert (result.metrics["commands"], result.metrics["failed_commands"]) == (2, 1)
    (failure,) = signals(result, "failed_commands")
    assert failure[0] == "line 8" and failure[1].startswith("error: git add lib/ledger/total.ex && git commit")


def test_codex_command_still_running_gets_its_exit_code_when_it_ends() -> None:
    name = "codex__exec-running-bun-test.jsonl"
    # line 7: "Process running with session ID 5021"; line 10: exec_command_end, exit 1;
    # line 11: the write_stdin poll of session 5021 says "Process exited with code 1" too
    outcomes = [(e.source.line, e.exit_code, e.exit_code_source) for e in events(name) if e.call_id == "call_Rn1"]
    assert outcomes == [(5, None, None), (7, None, None), (10, 1, "exec_command_end")]
    result = grade(name)
    assert signals(result, "failed_commands") == [("line 10", "exit 1: bun test src/cart.test.ts")]
    # the second run (line 17) ends with "Process exited with code 0" in the poll at line 21
    assert (result.metrics["commands"], result.metrics["failed_commands"]) == (2, 1)


# --- time -----------------------------------------------------------------------------------


def test_wall_time_is_the_span_of_the_timestamps() -> None:
    # line 1 (a thinking block, 14:00:00.000) starts a model call whose usage is complete at
    # line 2; line 7, the last, holds the last call's usage and is stamped 14:05:08.900, before
    # line 6 (14:05:09.500): the span is line 1 to line 6
    m = grade("claude-code__out-of-order.jsonl").metrics
    assert m["wall_s"] == seconds("2026-03-10T14:00:00.000+00:00", "2026-03-10T14:05:09.500+00:00") == 309.5


def test_aider_launches_appended_to_one_file_are_separate_sessions() -> None:
    # three launches (20 August 09:15 and 09:40, 27 August 18:03), each with only its start
    # time: a week between them is not a session's length
    m = grade("aider__several-launches.chat.history.md").metrics
    assert (m["sessions"], m["wall_s"]) == (3, None)
    assert {e.extra.get("launch") for e in events("aider__several-launches.chat.history.md")} == {1, 2, 3}


# --- models and tokens kept elsewhere ---------------------------------------------------------


def test_openhands_usage_from_tool_call_metadata_once_per_response() -> None:
    # three responses, each repeated on its action and its observation (run, edit) or alone
    # (finish): prompt 2100 + 2600 + 3000, completion 90 + 310 + 60, cache read 0 + 2050 + 2550,
    # cache write 2050 + 500 + 420
    m = grade("openhands__usage-in-tool-call-metadata.json").metrics
    assert m["tokens"] == {"input": 7700, "output": 460, "cache_read": 4600, "cache_write": 2970, "total": 8160}
    assert m["models"] == ["claude-3-7-sonnet-20250219"]
    usage = [e.extra["response_id"] for e in events("openhands__usage-in-tool-call-metadata.json") if e.kind == "usage"]
    assert len(usage) == len(set(usage)) == 3


def test_swe_agent_1x_model_from_its_config_and_time_from_execution_time() -> None:
    m = grade("swe-agent__1x-model-in-config.traj").metrics
    assert m["models"] == ["gpt-4.1-mini"]  # replay_config.agent.model.name
    assert m["wall_s"] == round(0.2231 + 0.3518 + 1.4127 + 0.1904, 1) == 2.2  # the four steps' execution_time
    assert (m["cost_usd"], m["cost_source"]) == (0.00731, "harness")


# --- calls whose arguments are redacted -------------------------------------------------------


def test_redacted_calls_count_by_tool_name_and_hide_whether_tests_ran() -> None:
    result = grade("codex__redacted-calls.jsonl")
    m = result.metrics
    # exec_command (lines 5, 9) and apply_patch (line 7), every argument "[REDACTED_...]"
    assert (m["tool_calls"], m["commands"], m["edits"]) == (3, 2, 1)
    assert [where for where, _ in signals(result, "commands")] == ["line 5", "line 9"]
    # line 9's command, after the last patch, may have run the tests: unknown, not False
    assert m["tests_after_last_edit"] is None


# --- corrections and frustration --------------------------------------------------------------


def test_claude_corrections_in_other_words_from_typed_text_only() -> None:
    result = grade("claude-code__corrections-typed.jsonl")
    # line 7's pasted pytest output ("E   AssertionError: upload still failing ...") is not typed;
    # the agent's "was wrong" (line 2) and "That's not what" (line 4) are not the person's
    assert signals(result, "corrections") == [
        ("line 3", "you set the timeout to 5s, which is wrong. keep 30s"),
        ("line 5", "do NOT touch the vendored http code, ever"),
        ("line 9", "still issues with the large files"),
        ("line 11", "that's not what I asked: chunk only above 100 MB"),
    ]
    assert result.metrics["user_turns"] == 6


def test_aider_corrections_in_other_words_from_typed_text_only() -> None:
    result = grade("aider__corrections-pasted.chat.history.md")
    # lines 34-37 (ERROR ..., a traceback) were pasted under line 33's sentence
    assert signals(result, "corrections") == [
        ("line 19", "that's not what I asked: one file per month, not one per day"),
        ("line 26", "do NOT rename the columns, ever"),
        ("line 44", "it still shows 0 rows for March"),
    ]


@pytest.mark.parametrize(
    ("text", "corrects"),
    [
        ("you set the timeout to 5s, which is wrong. keep 30s", True),
        ("do NOT touch the vendored http code, ever", True),
        ("still issues with the large files", True),
        ("that's not what I asked", True),
        ("here is what the run printed:\nE   AssertionError: upload still failing after 3 retries", False),
        ("here is the log:\nERROR export.py:41 export still failing for 2 rows", False),
    ],
)
def test_is_correction(text: str, corrects: bool) -> None:
    assert is_correction(text) is corrects
