"""Session figures on excerpts of real transcripts nobody here wrote (issue 12).

One test per kind of error the issue lists, each on an excerpt of a real transcript of that
shape (../shared/external/sessions-wild, provenance in its SOURCES.md; the tests are
skipped, saying so, where ../shared is not beside the repository). The expected figures were read off
the files by hand (the line numbers are the excerpt's own).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_proofswe.session.metrics import is_test_command, typed_text
from tests.unit.transcripts import Transcripts, seconds, signals

# Fetched from public repositories: kept beside the repository in ../shared (data fetched from other
# repositories is never committed here), with provenance and licences in its SOURCES.md.
DATA = Path(__file__).resolve().parents[3] / "shared" / "external" / "sessions-wild"
pytestmark = pytest.mark.skipif(
    not DATA.is_dir(), reason=f"the fetched transcripts are not beside the repository ({DATA})"
)


_read = Transcripts(DATA)
grade, events, person = _read.grade, _read.events, _read.person


# --- who typed it ---------------------------------------------------------------------------


def test_claude_task_notification_is_the_harness_and_a_queued_message_is_the_person() -> None:
    name = "claude-code__spotter-gqc-rejected-queued-notified.jsonl"
    # line 21: "<task-notification>..." (a background command finished); line 22: a
    # queue-operation enqueue of "check again", typed while the agent worked.
    assert person(name) == [(22, "check again")]
    harness = [e for e in events(name) if e.kind == "user_message" and e.origin == "harness"]
    assert [(e.source.line, (e.text or "")[:19]) for e in harness] == [(21, "<task-notification>")]
    m = grade(name).metrics
    assert (m["user_turns"], m["rejections"], m["interruptions"]) == (1, 1, 1)


def test_claude_queued_message_taken_back_to_edit_counts_once() -> None:
    # line 5: "check 019b..." queued; line 7: popAll (taken back to be edited); line 8: the
    # edited text queued again; line 10: remove (handed over to the agent)
    assert person("claude-code__codemie-queued-edited.jsonl") == [
        (8, "check 019b7f07-4a68-7d10-a8ef-8454269f439d and event_msg type")
    ]


def test_claude_subagent_file_prompt_is_the_parent_agents_and_its_model_is_named() -> None:
    name = "claude-code__spotter-subagent-haiku.jsonl"  # every line isSidechain
    m = grade(name).metrics
    assert m["user_turns"] == 0  # line 1 is the parent agent's prompt
    assert m["models"] == ["claude-haiku-4-5-20251001"]
    first = next(e for e in events(name) if e.kind == "user_message")
    assert (first.origin, first.extra.get("from")) == ("harness", "parent agent")


def test_claude_compaction_prompt_is_not_a_person() -> None:
    m = grade("claude-code__spotter-compaction-agent.jsonl").metrics
    assert (m["user_turns"], m["corrections"], m["models"]) == (0, 0, ["claude-opus-4-6"])


def test_aider_lint_fixer_request_and_ctrl_c_at_the_prompt() -> None:
    name = "aider__aider-repo-lint-launches-quit.chat.history.md"
    # line 48 "#### # Fix any errors below, if possible." is aider's lint fixer, not a person
    assert [line for line, _ in person(name)] == [113, 214, 216, 227, 243]
    injected = [e for e in events(name) if e.kind == "user_message" and e.origin == "harness"]
    assert [(e.source.line, e.extra.get("injected")) for e in injected] == [(48, "lint errors")]
    # Ctrl-C at line 46 (after lint output) and line 241 (after "hi" was answered, line 236's
    # Tokens): the person at aider's prompt, leaving it; nothing was interrupted.
    controls = [(e.source.line, e.control) for e in events(name) if e.kind == "control"]
    assert controls == [(46, "quit"), (241, "quit")]
    assert grade(name).metrics["interruptions"] == 0


def test_aider_architect_hand_off_is_not_a_person() -> None:
    name = "aider__open-subtitles-architect.chat.history.md"
    # line 145 onward: the architect's proposal, sent to the editor model after line 143's
    # "Edit the files? (Y)es/(N)o [Yes]: y"; line 34 is the echo of line 32's /architect TEXT
    assert [line for line, _ in person(name)] == [20, 23, 26, 29, 32, 437, 458, 470]
    harness = {e.source.line: e.extra for e in events(name) if e.kind == "user_message" and e.origin == "harness"}
    assert harness[145]["injected"] == "architect hand-off" and harness[34]["echo_of_line"] == 32
    m = grade(name).metrics
    assert m["user_turns"] == 8
    assert m["interruptions"] == 1  # line 456: Ctrl-C during a retry loop, the model still working


def test_aider_help_question_is_aiders_and_bang_is_a_shell_command() -> None:
    name = "aider__aider-repo-bang-help-ask.chat.history.md"
    harness = {e.source.line: e.extra for e in events(name) if e.kind == "user_message" and e.origin == "harness"}
    assert harness[20]["echo_of_line"] == 18  # "# Question:  hi" + docs, sent for "/help hi" (line 18)
    assert harness[12]["echo_of_line"] == 10  # the echo of "/ask hi"
    m = grade(name).metrics
    # line 291 "#### !!" runs "!" in the shell (aider's !CMD), it is no cry of frustration
    assert m["corrections"] == 0
    assert (m["commands"], m["tool_calls"]) == (1, 1)
    # line 253: Ctrl-C while /help's answer was coming; lines 276 and 296: at the prompt
    assert [(e.source.line, e.control) for e in events(name) if e.kind == "control"] == [
        (253, "interrupt"),
        (276, "quit"),
        (296, "quit"),
    ]
    assert m["interruptions"] == 1


# --- what a test run is ---------------------------------------------------------------------


def test_mix_test_is_a_test_run_after_the_last_edit() -> None:
    result = grade("claude-code__spotter-dov-mix-test-precommit.jsonl")
    m = result.metrics
    assert signals(result, "test_runs") == [("line 29", 'mix test 2>&1 | grep -E "(tests|failures)"')]
    assert (m["test_runs"], m["edits"], m["tests_after_last_edit"]) == (1, 1, True)  # Edit at line 9


@pytest.mark.parametrize(
    "command",
    [
        'mix test 2>&1 | grep -E "(tests|failures)"',  # spotter (Claude Code)
        'npm test -- --run src/agents/plugins/__tests__/codemie-code-reasoning.test.ts -t "Compaction Config"',
        "cd /home/USER/projects/spotter-worktrees/spotter-fum && mix test test/x_test.exs 2>&1",
        "mix compile --warnings-as-errors 2>&1 && mix test test/spotter/transcripts/resources_test.exs 2>&1 | tail -10",
        "npx vitest run 2>&1",
        "go test ./...",
        "cargo test -p core",
        "dotnet test",
        "bun test",
        "deno test -A",
        "swift test",
        "make -C sub test",
        "uv run pytest -q",
        "./gradlew test",
    ],
)
def test_test_commands_of_every_ecosystem(command: str) -> None:
    assert is_test_command(command)


@pytest.mark.parametrize(
    "command",
    [
        "pip install pytest",
        "cat pytest.ini",
        "grep -r jest src",
        "mix compile",
        "test -f mix.exs",
        "git add test/x.exs",
    ],
)
def test_commands_that_only_name_a_test_runner(command: str) -> None:
    assert not is_test_command(command)


# --- what failed ----------------------------------------------------------------------------


def test_a_commit_the_pre_commit_hook_refused_is_a_failed_command() -> None:
    # line 58: is_error true, "Pre-commit validation failed: ...", no "Exit code" line; the
    # three other Bash calls (lines 21, 29, 44) succeeded (no is_error): 1 failure, not unknown.
    result = grade("claude-code__spotter-dov-mix-test-precommit.jsonl")
    assert (result.metrics["commands"], result.metrics["failed_commands"]) == (4, 1)
    (failure,) = signals(result, "failed_commands")
    assert failure[0] == "line 58" and failure[1].startswith('error: git commit -m "$(cat')


def test_commands_that_succeeded_are_zero_failures_not_unknown() -> None:
    # four Bash calls, each answered without is_error (lines 7, 19, 25, 30)
    m = grade("claude-code__spotter-subagent-haiku.jsonl").metrics
    assert (m["commands"], m["failed_commands"]) == (4, 0)


def test_codex_command_still_running_gets_its_exit_code_when_it_ends() -> None:
    name = "codex__codemie-exec-running-npm-test.jsonl"
    # line 27 runs npm test; line 29's output says "Process running with session ID 83395";
    # line 33 (exec_command_end) says exit 1; line 36 (a write_stdin poll) says so too.
    outcomes = [
        (e.source.line, e.exit_code, e.exit_code_source)
        for e in events(name)
        if e.kind == "tool_result" and e.call_id == "call_nTBN3WDXOZcJOBB6UsOQHpni"
    ]
    assert outcomes == [(29, None, None), (33, 1, "exec_command_end")]
    result = grade(name)
    assert signals(result, "failed_commands") == [
        (
            "line 33",
            'exit 1: npm test -- --run src/agents/plugins/__tests__/codemie-code-reasoning.test.ts -t "Compaction Config"',
        )
    ]
    # 4 exec_command calls: 3 ended (0, 1, 0), the last one is cut off by the excerpt
    assert (result.metrics["commands"], result.metrics["failed_commands"]) == (4, 1)


# --- time -----------------------------------------------------------------------------------


def test_wall_time_is_the_span_of_the_timestamps() -> None:
    # The first line (a thinking block, 15:35:07.501) is the first of a model call whose
    # usage is only complete at its last line; the last line is a tool result (15:39:44.598).
    m = grade("claude-code__codemie-not-acceptable.jsonl").metrics
    assert m["wall_s"] == seconds("2026-01-02T15:35:07.501+00:00", "2026-01-02T15:39:44.598+00:00") == 277.1


def test_aider_launches_appended_to_one_file_are_separate_sessions() -> None:
    m = grade("aider__aider-repo-lint-launches-quit.chat.history.md").metrics
    # three launches (19:33:02, 19:33:32, 20:39:59), each with only its start time: how long
    # each lasted is not recorded, and the hour between them is not a session's length
    assert (m["sessions"], m["wall_s"]) == (3, None)
    assert grade("aider__open-subtitles-architect.chat.history.md").metrics["sessions"] == 5


# --- models and tokens kept elsewhere ---------------------------------------------------------


def test_openhands_usage_from_tool_call_metadata_once_per_response() -> None:
    # basic.json: two responses (chatcmpl-6814daca... on the edit and its observation,
    # chatcmpl-27cc0ad9... on finish): prompt 3486 + 4646, completion 1135 + 177, cache
    # read 0 + 3482, cache write 3482 + 1158
    m = grade("openhands__basic.json").metrics
    assert m["tokens"] == {"input": 8132, "output": 1312, "cache_read": 3482, "cache_write": 4640, "total": 9444}
    assert m["models"] == ["claude-3-5-sonnet-20241022"]


def test_swe_agent_1x_model_from_its_config_and_time_from_execution_time() -> None:
    m = grade("swe-agent__sweagenttestrepo-1x-gpt4o.traj").metrics
    assert m["models"] == ["gpt-4o"]  # replay_config.agent.model.name
    assert m["wall_s"] == 1.6  # the five steps' execution_time: 1.6335 s
    assert (m["cost_usd"], m["cost_source"]) == (0.01952, "harness")


def test_aider_older_token_and_cost_format() -> None:
    # "Tokens: 5,244 sent, 604 received. Cost: $0.02 request, $0.02 session." (aider 0.47)
    # and "Tokens: 12,566 sent, 84 received. Cost: $0.0019 request, ..."
    m = grade("aider__aider-repo-lint-launches-quit.chat.history.md").metrics
    assert (m["tokens"]["input"], m["tokens"]["output"]) == (5244 + 12566, 604 + 84)
    assert (m["cost_usd"], m["cost_source"]) == (0.0219, "harness")
    assert m["models"] == ["claude-3-5-sonnet-20240620", "gpt-4o-mini"]  # "Models: ..." and "Model: ..." lines


# --- corrections and frustration --------------------------------------------------------------


def test_corrections_in_other_words_from_what_the_person_typed() -> None:
    result = grade("aider__aider-repo-broke-still-0.chat.history.md")
    assert signals(result, "corrections") == [
        # the YAML pasted below the sentence is not what the person typed
        ("line 17", "That broke everything. All releases show 0 total lines, no counts."),
        ("line 224", "it still shows 0 lines for all tooltips"),
        ("line 265", "still 0!"),
    ]
    assert result.metrics["interruptions"] == 1  # line 268: Ctrl-C while "still 0!" is answered


@pytest.mark.parametrize(
    ("name", "where", "start"),
    [
        ("claude-code__codemie-bad-idea.jsonl", "line 4", "it's bad idea, since entire converation"),
        ("claude-code__codemie-not-acceptable.jsonl", "line 4", "TODO is not acceptable, implementation must be full."),
    ],
)
def test_corrections_in_claude_code_sessions(name: str, where: str, start: str) -> None:
    result = grade(name)
    assert result.metrics["corrections"] == 1
    (signal,) = signals(result, "corrections")
    assert signal[0] == where and signal[1].startswith(start)


def test_typed_text_leaves_out_what_was_pasted() -> None:
    # person messages of the aider history (tests/fixtures/chat-history.md, lines 3354 and 23102)
    pasted = (
        ">               self.assertIn(external_file_path, coder.abs_read_only_fnames)\n"
        "E               AssertionError: '/var/folders/49/kx/T/tmplbtvvo9l' not found in {'/private/var/tmplbtvvo9l'}"
    )
    assert typed_text(pasted) == ""
    assert typed_text("E           AttributeError: <module 'aider.main'> does not have the attribute 'RepoMap'") == ""
