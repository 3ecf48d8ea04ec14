"""Every transcript we have, read whole, against facts read off each file by hand (issue 12).

The transcripts are those written here in the shapes of real ones (tests/data/sessions,
committed: they run everywhere, CI included; see its README.md), and the real ones of
../shared/external/sessions-wild (provenance in its SOURCES.md) and of
../shared/external/sessions (beside the repository; a fresh clone may not have them: those
parts are skipped, saying so). For each file the expected figures were
counted in the file itself, not taken from our readers: tool calls and their results,
exit codes, the person's messages, token counts (deduplicated as each format requires),
the harness's recorded cost, and the first and last timestamps of the lines that carry
events (messages, calls, results, usage), whose span is the wall time.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from pytest_proofswe.session import grade_session

# Fetched from public repositories: kept beside the repository in ../shared (data fetched from other
# repositories is never committed here), with provenance and licences in its SOURCES.md.
DATA = Path(__file__).resolve().parents[3] / "shared" / "external" / "sessions-wild"
SHAPES = Path(__file__).resolve().parents[1] / "data" / "sessions"  # written here: in the repository
SHARED = Path(__file__).resolve().parents[3] / "shared" / "external" / "sessions"
FORMATS = {"claude-code", "codex", "openhands", "swe-agent", "aider"}
OPUS, SONNET45, HAIKU45 = "claude-opus-4-6", "claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001"
SONNET35 = "claude-3-5-sonnet-20241022"


def tokens(input: int | None, output: int | None, cache_read: int | None, cache_write: int | None) -> dict[str, Any]:
    known = [v for v in (input, output) if v is not None]
    return {
        "input": input,
        "output": output,
        "cache_read": cache_read,
        "cache_write": cache_write,
        "total": sum(known) if known else None,
    }


#: file -> the facts read off it; "span" is (first, last) timestamp, else "wall_s" is given.
REPOSITORY: dict[str, dict[str, Any]] = {
    "claude-code__spotter-gqc-rejected-queued-notified.jsonl": {
        "format": "claude-code",
        "models": [OPUS],
        "user_turns": 1,  # "check again" (queued, line 22); line 21 is a task notification
        "tool_calls": 4,  # Bash, TaskOutput, TaskOutput, Bash
        "commands": 2,
        "failed_commands": 0,  # line 10: the Bash call succeeded; line 2's runs in the background
        "rejections": 1,
        "interruptions": 1,
        "tokens": tokens(6, 473, 343499, 93980),  # 4 (message.id, requestId) pairs
        "span": ("2026-02-11T20:46:25.200Z", "2026-02-11T20:51:18.212Z"),
    },
    "claude-code__spotter-dov-mix-test-precommit.jsonl": {
        "format": "claude-code",
        "models": [OPUS],
        "user_turns": 0,
        "tool_calls": 7,  # Read, Edit, Bash x4, AskUserQuestion
        "commands": 4,
        "failed_commands": 1,  # the commit the pre-commit hook refused (line 58)
        "test_runs": 1,
        "tests_after_last_edit": True,
        "edits": 1,
        "tokens": tokens(9, 391, 551204, 4806),
        "span": ("2026-02-12T20:38:26.983Z", "2026-02-12T20:39:57.304Z"),
    },
    "claude-code__spotter-subagent-haiku.jsonl": {
        "format": "claude-code",
        "models": [HAIKU45],
        "user_turns": 0,  # line 1 is the parent agent's prompt
        "tool_calls": 6,
        "commands": 4,
        "failed_commands": 0,
        "tokens": tokens(14, 8, 34998, 5762),
        "span": ("2026-02-10T22:15:36.407Z", "2026-02-10T22:15:44.321Z"),
    },
    "claude-code__spotter-compaction-agent.jsonl": {
        "format": "claude-code",
        "models": [OPUS],
        "user_turns": 0,
        "tool_calls": 0,
        "tokens": tokens(3, 8, 17842, 121689),
        "span": ("2026-02-12T14:47:09.231Z", "2026-02-12T14:48:36.518Z"),
    },
    "claude-code__codemie-bad-idea.jsonl": {
        "format": "claude-code",
        "models": [SONNET45],
        "user_turns": 2,
        "corrections": 1,
        "tool_calls": 3,  # Read, Read, Write
        "commands": 0,
        "edits": 1,
        "tokens": tokens(50, 10720, 101467, 250765),
        "span": ("2026-01-07T20:26:40.535Z", "2026-01-07T20:39:02.436Z"),
    },
    "claude-code__codemie-not-acceptable.jsonl": {
        "format": "claude-code",
        "models": [SONNET45],
        "user_turns": 1,
        "corrections": 1,
        "tool_calls": 1,
        "edits": 1,
        "tokens": tokens(24, 2464, 22403, 237812),
        "span": ("2026-01-02T15:35:07.501Z", "2026-01-02T15:39:44.598Z"),
    },
    "claude-code__codemie-queued-edited.jsonl": {
        "format": "claude-code",
        "models": [SONNET45],
        "user_turns": 1,  # the queued message, edited once (popAll) and handed over
        "tool_calls": 3,  # Read, Edit, Bash
        "commands": 1,
        "failed_commands": 0,
        "edits": 1,
        "tokens": tokens(27, 1158, 313446, 2806),
        "span": ("2026-01-02T15:27:17.883Z", "2026-01-02T15:27:43.059Z"),
    },
    "codex__codemie-exec-running-npm-test.jsonl": {
        "format": "codex",
        "models": ["gpt-5.5"],
        "user_turns": 1,
        "tool_calls": 15,  # exec_command 4, write_stdin 6, apply_patch 3, update_plan 2
        "commands": 4,
        "failed_commands": 1,  # exec_command_end: 0, 1, 0; the fourth is cut off
        "test_runs": 3,
        "tests_after_last_edit": True,
        "edits": 3,
        "tokens": tokens(4120782, 7285, 3004800, None),  # the last total_token_usage
        "span": ("2026-05-11T08:27:17.495Z", "2026-05-11T08:43:05.589Z"),
    },
    "codex__codemie-desktop-no-turn-context.jsonl": {
        "format": "codex",
        "models": [],  # no turn_context line: the model is not recorded
        "user_turns": 3,
        "tool_calls": 11,
        "commands": 11,
        "failed_commands": 0,  # every output says "Process exited with code 0"
        "tokens": tokens(None, None, None, None),  # no token_count line
        "cost_usd": None,
        "span": ("2026-05-11T10:29:40.167Z", "2026-05-11T11:28:54.498Z"),
    },
    "openhands__basic.json": {
        "format": "openhands",
        "models": [SONNET35],
        "user_turns": 1,
        "tool_calls": 1,
        "edits": 1,
        "tokens": tokens(8132, 1312, 3482, 4640),  # 2 model responses in tool_call_metadata
        "span": ("2025-01-27T22:44:56.900854", "2025-01-27T22:45:18.405685"),
    },
    "openhands__basic-interactions.json": {
        "format": "openhands",
        "models": ["gpt-4o-2024-08-06"],
        "user_turns": 3,
        "corrections": 1,  # "No, I mean by Goldbach's conjecture!"
        "tool_calls": 0,
        "tokens": tokens(2473, 10, 2304, None),  # 1 response; cached_tokens 2304
        "span": ("2025-02-01T00:14:10.787622", "2025-02-01T00:19:01.168854"),
    },
    "openhands__wrong-initial-state.json": {
        "format": "openhands",
        "models": [SONNET35],
        "user_turns": 1,
        "tool_calls": 3,  # read, run, read
        "commands": 1,
        "failed_commands": 0,  # exit_code 0
        "tokens": tokens(14828, 358, 10879, 3927),  # 4 model responses
        "span": ("2025-01-27T23:16:50.239610", "2025-01-27T23:17:02.182015"),
    },
    "swe-agent__sweagenttestrepo-1x-gpt4o.traj": {
        "format": "swe-agent",
        "models": ["gpt-4o"],
        "user_turns": 0,
        "tool_calls": 5,
        "edits": 1,
        "tokens": tokens(7141, 243, None, None),
        "cost_usd": 0.01952,
        "cost_source": "harness",
        "wall_s": 1.6,  # the steps' execution_time, 1.6335 s in all
    },
    "swe-agent__test-repo-i1-0x-gpt4.traj": {
        "format": "swe-agent",
        "models": [],
        "tool_calls": 5,
        "edits": 1,
        "tokens": tokens(52861, 326, None, None),
        "cost_usd": 0.53839,
        "wall_s": None,
    },
    "aider__aider-repo-lint-launches-quit.chat.history.md": {
        "format": "aider",
        "models": ["claude-3-5-sonnet-20240620", "gpt-4o-mini"],
        "user_turns": 5,
        "edits": 1,
        "interruptions": 0,
        "tokens": tokens(5244 + 12566, 604 + 84, None, None),
        "cost_usd": 0.0219,
        "sessions": 3,
        "wall_s": None,
    },
    "aider__aider-repo-broke-still-0.chat.history.md": {
        "format": "aider",
        "user_turns": 7,
        "corrections": 3,
        "interruptions": 1,
        "edits": 4,
        "reverted_edits": 1,  # /undo
        "tokens": tokens(5110 + 4871 + 31588 + 31921, 1144 + 1396 + 270 + 11, None, None),
        "cost_usd": 0.27,
        "sessions": 1,  # two parts of the file, no launch heading in either
        "wall_s": None,
    },
    "aider__aider-repo-bang-help-ask.chat.history.md": {
        "format": "aider",
        "models": ["gpt-4o-mini", "openrouter/deepseek/deepseek-coder"],
        "user_turns": 5,  # /ask hi, /help hi, /ask hi, /ex, !!
        "corrections": 0,
        "interruptions": 1,
        "commands": 1,
        "tokens": tokens(63 + 292, 9 + 12, None, None),
        "cost_usd": 0.000066,
        "sessions": 3,  # a fourth launch (--exit) has nothing in it
        "wall_s": None,
    },
    "aider__open-subtitles-architect.chat.history.md": {
        "format": "aider",
        "models": ["ollama/anthropic/claude-3.5-sonnet"],
        "user_turns": 8,
        "interruptions": 1,
        "edits": 1,
        "tokens": tokens(1500 + 3100, 805 + 1300, None, None),
        "sessions": 5,
        "wall_s": None,
    },
}

#: the transcripts written here (tests/data/sessions) -> the facts counted in each by hand.
SHAPE_FACTS: dict[str, dict[str, Any]] = {
    "claude-code__task-notification.jsonl": {
        "format": "claude-code",
        "models": [OPUS],
        "user_turns": 1,  # line 6 is a task notification
        "tool_calls": 1,
        "commands": 1,
        "failed_commands": None,  # the only command ran in the background
        "test_runs": 1,
        "tokens": tokens(3 + 1 + 3, 96 + 21 + 12, 18000 + 23120 + 23360, 5120 + 240 + 410),
        "span": ("2026-03-04T10:00:00.000Z", "2026-03-04T10:02:44.000Z"),
    },
    "claude-code__queued-messages.jsonl": {
        "format": "claude-code",
        "models": [SONNET45],
        "user_turns": 3,  # line 1, and the queued lines 7 and 11 (line 4 was taken back, line 14 delivers 11)
        "tool_calls": 2,
        "commands": 0,
        "edits": 1,
        "tests_after_last_edit": False,
        "tokens": tokens(9 + 8 + 6 + 6, 88 + 140 + 31 + 9, 41000 + 41300 + 41820 + 42520, 300 + 520 + 700 + 120),
        "span": ("2026-03-05T09:00:00.000Z", "2026-03-05T09:00:15.000Z"),
    },
    "claude-code__subagent-file.jsonl": {
        "format": "claude-code",
        "models": [HAIKU45],
        "user_turns": 0,  # line 1 is the parent agent's prompt
        "tool_calls": 3,
        "commands": 3,
        "failed_commands": 0,
        "test_runs": 1,  # go test
        "tokens": tokens(3 + 5 + 5 + 5, 61 + 48 + 52 + 40, 9000 + 10500 + 10710 + 10805, 1500 + 210 + 95 + 180),
        "span": ("2026-03-06T16:20:00.000Z", "2026-03-06T16:20:18.000Z"),
    },
    "claude-code__compaction-agent.jsonl": {
        "format": "claude-code",
        "models": [OPUS],
        "user_turns": 0,
        "corrections": 0,
        "tool_calls": 0,
        "tokens": tokens(3, 1830, 12000, 64000),
        "span": ("2026-03-07T11:30:00.000Z", "2026-03-07T11:31:05.250Z"),
    },
    "claude-code__mix-test-precommit.jsonl": {
        "format": "claude-code",
        "models": [OPUS],
        "user_turns": 0,
        "tool_calls": 3,  # Edit, Bash x2
        "commands": 2,
        "failed_commands": 1,  # the commit the pre-commit hook refused (line 8)
        "test_runs": 1,
        "tests_after_last_edit": True,
        "edits": 1,
        "tokens": tokens(2 + 1 + 1 + 1, 120 + 70 + 88 + 25, 60000 + 60900 + 61210 + 61360, 900 + 310 + 150 + 260),
        "span": ("2026-03-08T15:10:00.000Z", "2026-03-08T15:10:21.000Z"),
    },
    "claude-code__corrections-typed.jsonl": {
        "format": "claude-code",
        "models": [SONNET45],
        "user_turns": 6,
        "corrections": 4,  # lines 3, 5, 9, 11; line 7 is pasted output
        "tool_calls": 0,
        "tokens": tokens(
            10 + 8 * 4, 210 + 40 + 12 + 30 + 14, 30000 + 32000 + 32300 + 32420 + 32620, 2000 + 300 + 120 + 200 + 100
        ),
        "span": ("2026-03-09T13:00:00.000Z", "2026-03-09T13:05:00.000Z"),
    },
    "claude-code__out-of-order.jsonl": {
        "format": "claude-code",
        "models": [SONNET45],
        "user_turns": 1,
        "tool_calls": 1,
        "commands": 1,
        "failed_commands": 0,
        "tokens": tokens(10 + 6 + 6, 850 + 60 + 11, 20000 + 24000 + 24150, 4000 + 150 + 90),
        "span": ("2026-03-10T14:00:00.000Z", "2026-03-10T14:05:09.500Z"),  # line 1 to line 6 (line 7 is earlier)
    },
    "codex__exec-running-bun-test.jsonl": {
        "format": "codex",
        "models": ["gpt-5.5"],
        "user_turns": 1,
        "tool_calls": 5,  # exec_command 2, write_stdin 2, apply_patch 1
        "commands": 2,
        "failed_commands": 1,  # exec_command_end: 1, then the poll of the second run: 0
        "test_runs": 2,
        "tests_after_last_edit": True,
        "edits": 1,
        "tokens": tokens(46700, 370, 40500, None),  # the last total_token_usage
        "span": ("2026-04-02T09:00:00.100Z", "2026-04-02T09:00:24.000Z"),
    },
    "codex__redacted-calls.jsonl": {
        "format": "codex",
        "models": ["gpt-5.3-codex"],
        "user_turns": 1,
        "tool_calls": 3,
        "commands": 2,  # by the tool's name: the arguments are redacted
        "failed_commands": None,
        "edits": 1,
        "tests_after_last_edit": None,  # a hidden command follows the last patch
        "tokens": tokens(30100, 410, 24000, None),
        "span": ("2026-04-03T17:00:00.000Z", "2026-04-03T17:00:16.000Z"),
    },
    "openhands__usage-in-tool-call-metadata.json": {
        "format": "openhands",
        "models": ["claude-3-7-sonnet-20250219"],
        "user_turns": 1,
        "tool_calls": 2,  # run, edit
        "commands": 1,
        "failed_commands": 0,
        "edits": 1,
        "tokens": tokens(7700, 460, 4600, 2970),  # 3 model responses
        "span": ("2025-02-19T21:20:05.118204", "2025-02-19T21:20:21.731550"),
    },
    "swe-agent__1x-model-in-config.traj": {
        "format": "swe-agent",
        "models": ["gpt-4.1-mini"],
        "user_turns": 0,
        "tool_calls": 4,
        "edits": 1,
        "test_runs": 1,
        "tokens": tokens(4810, 196, None, None),
        "cost_usd": 0.00731,
        "cost_source": "harness",
        "wall_s": 2.2,  # the steps' execution_time, 2.178 s in all
    },
    "aider__architect-handoff.chat.history.md": {
        "format": "aider",
        "models": ["claude-3-5-sonnet-20241022"],
        "user_turns": 3,  # /add, /architect TEXT, and line 50
        "edits": 1,
        "tokens": tokens(2300 + 1900 + 2600, 162 + 241 + 31, None, None),
        "cost_usd": 0.0205,
        "sessions": 1,
        "wall_s": None,
    },
    "aider__ask-code-help-bang.chat.history.md": {
        "format": "aider",
        "models": ["gpt-4o-mini"],
        "user_turns": 5,  # /ask, /code, /help, !pytest, /ex
        "tool_calls": 1,
        "commands": 1,
        "test_runs": 1,
        "edits": 1,
        "tokens": tokens(410 + 650 + 1200, 14 + 58 + 25, None, None),
        "cost_usd": 0.00039,
        "sessions": 1,
        "wall_s": None,
    },
    "aider__quit-after-work.chat.history.md": {
        "format": "aider",
        "models": ["claude-3-5-sonnet-20240620"],
        "user_turns": 2,  # line 30 is the lint fixer's
        "interruptions": 1,  # line 60; line 51 is a quit at the prompt
        "edits": 2,
        "tokens": tokens(3812 + 4106, 97 + 61, None, None),
        "cost_usd": 0.02,
        "sessions": 1,
        "wall_s": None,
    },
    "aider__several-launches.chat.history.md": {
        "format": "aider",
        "models": ["gpt-4o-mini"],
        "user_turns": 5,
        "edits": 1,
        "tokens": tokens(820 + 1100, 21 + 44, None, None),
        "cost_usd": 0.00032,
        "sessions": 3,
        "wall_s": None,
    },
    "aider__corrections-pasted.chat.history.md": {
        "format": "aider",
        "models": ["gpt-4o"],
        "user_turns": 5,
        "corrections": 3,  # lines 19, 26, 44; lines 34-37 are pasted
        "edits": 5,
        "tokens": tokens(2000 + 2400 + 2700 + 3100 + 3300, 150 + 180 + 95 + 120 + 88, None, None),
        "cost_usd": 0.0401,
        "sessions": 1,
        "wall_s": None,
    },
}

SHARED_FACTS: dict[str, dict[str, Any]] = {
    "claude-code__marot-spotter-tool-heavy.jsonl": {
        "format": "claude-code",
        "models": [OPUS],
        "user_turns": 2,
        "tool_calls": 6,
        "commands": 2,
        "failed_commands": 0,  # the tail succeeded; mix phx.server runs in the background
        "interruptions": 2,
        "corrections": 1,  # "scrolling back in xterm.js still does not work ..."
        "tokens": tokens(54, 212, 88231, 17696),
        "span": ("2026-02-10T22:57:54.684Z", "2026-02-10T22:59:46.748Z"),
    },
    "claude-code__marot-spotter-short-rejected.jsonl": {
        "format": "claude-code",
        "models": [OPUS],
        "user_turns": 1,
        "tool_calls": 2,
        "commands": 1,
        "failed_commands": None,  # the only command was rejected: it never ran
        "rejections": 2,
        "interruptions": 1,
        "tokens": tokens(3, 13, 11515, 13835),
        # the last line is the /model command the person ran four minutes later
        "span": ("2026-02-10T21:11:56.846Z", "2026-02-10T21:16:12.381Z"),
    },
    "codex__localpush-redacted-exec.jsonl": {
        "format": "codex",
        "models": ["gpt-5.3-codex"],
        "user_turns": 1,
        "tool_calls": 118,  # exec_command 116, write_stdin 2
        "commands": 116,
        "failed_commands": None,  # outputs redacted
        "tokens": tokens(1751428, 14600, 1651968, None),
        "span": ("2026-02-23T11:41:32.240Z", "2026-02-23T11:46:43.614Z"),
    },
    "codex__localpush-redacted-apply-patch.jsonl": {
        "format": "codex",
        "models": ["gpt-5.3-codex"],
        "user_turns": 5,
        "tool_calls": 105,  # exec_command 71, apply_patch 22, write_stdin 9, update_plan 2, web_search 1
        "commands": 71,
        "edits": 22,
        "tests_after_last_edit": None,  # commands after the last patch are redacted
        "tokens": tokens(7204025, 36075, 6836352, None),
        "span": ("2026-02-23T11:40:29.277Z", "2026-02-23T12:45:33.360Z"),
    },
    "openhands__basic-gui-mode.json": {
        "format": "openhands",
        "models": [SONNET35],
        "user_turns": 1,
        "tool_calls": 4,
        "commands": 2,
        "failed_commands": 0,  # exit 0, and -1 (did not finish)
        "edits": 2,
        "tokens": tokens(17297, 2024, 11793, 5482),  # 4 model responses
        "span": ("2025-01-20T20:29:32.262843", "2025-01-20T20:30:35.414886"),  # the person's message (entry 4)
    },
    "swe-agent__pydicom-1458-gpt4.traj": {
        "format": "swe-agent",
        "models": [],
        "tool_calls": 12,
        "edits": 3,
        "tokens": tokens(122612, 1369, None, None),
        "cost_usd": 1.26719,
        "wall_s": None,
    },
    "swe-agent__marshmallow-1867-function-calling.traj": {
        "format": "swe-agent",
        "models": ["gpt-4o"],
        "tool_calls": 11,
        "edits": 3,
        "cost_usd": 0.0,  # a replay: zero as recorded
        "wall_s": 4.0,  # execution_time, 3.999 s in all
    },
    "aider__simple-calculator.chat.history.md": {
        "format": "aider",
        "models": [
            "gemini/gemini-2.5-pro-exp-03-25",
            "openai/qwen3:32b",
            "gemini/gemini-2.5-pro-preview-03-25",
            "openai/deepseek.deepseek-chat",
        ],
        "user_turns": 23,
        "edits": 18,
        "interruptions": 1,  # Ctrl-C during a rate-limit retry loop
        "corrections": 3,
        "tokens": tokens(148200, 18044, None, None),  # 20 Tokens lines, rounded by aider
        "sessions": 1,
        "wall_s": None,
    },
}


def transcripts(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_file() and p.name not in ("SOURCES.md", "README.md"))


def seconds(first: str, last: str) -> float:
    return round((datetime.fromisoformat(last) - datetime.fromisoformat(first)).total_seconds(), 1)


def check(path: Path, facts: dict[str, Any]) -> None:
    result = grade_session(path)
    assert result.status == "scored", result.reason
    m = result.metrics
    for key, value in facts.items():
        if key == "span":
            assert m["wall_s"] == seconds(*value), "wall_s"
        else:
            assert m[key] == value, key


def test_every_written_transcript_has_its_facts_across_the_five_formats() -> None:
    assert transcripts(SHAPES) == sorted(SHAPE_FACTS)
    assert {facts["format"] for facts in SHAPE_FACTS.values()} == FORMATS


@pytest.mark.parametrize("name", sorted(SHAPE_FACTS))
def test_written_transcript(name: str) -> None:
    check(SHAPES / name, SHAPE_FACTS[name])


needs_wild = pytest.mark.skipif(
    not DATA.is_dir(), reason=f"the fetched transcripts are not beside the repository ({DATA})"
)


@needs_wild
def test_fifteen_fetched_real_transcripts_across_the_five_formats() -> None:
    assert transcripts(DATA) == sorted(REPOSITORY)  # every file has its facts, and no file is missing
    assert len(REPOSITORY) >= 15
    assert {facts["format"] for facts in REPOSITORY.values()} == FORMATS


@needs_wild
@pytest.mark.parametrize("name", sorted(REPOSITORY))
def test_fetched_transcript(name: str) -> None:
    check(DATA / name, REPOSITORY[name])


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"the shared transcripts are not beside the repository ({SHARED})")
def test_every_shared_transcript_has_its_facts() -> None:
    assert transcripts(SHARED) == sorted(SHARED_FACTS)


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"the shared transcripts are not beside the repository ({SHARED})")
@pytest.mark.parametrize("name", sorted(SHARED_FACTS))
def test_shared_transcript(name: str) -> None:
    check(SHARED / name, SHARED_FACTS[name])
