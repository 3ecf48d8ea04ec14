"""The session's key signals and cost in the terminal summary and the Markdown leaderboard (issue 9, item 7)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_proofswe.outputs.ci import markdown
from pytest_proofswe.outputs.report import session_cell, terminal_summary
from pytest_proofswe.session import grade_session

SESSIONS = Path(__file__).resolve().parents[3] / "shared" / "external" / "sessions"
needs_data = pytest.mark.skipif(not SESSIONS.is_dir(), reason="needs ../shared/external/sessions")
#: Two rejected tool calls (lines 11 and 12) and an interruption (line 13).
REJECTED = SESSIONS / "claude-code__marot-spotter-short-rejected.jsonl"


class Terminal:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write_sep(self, sep: str, title: str) -> None:
        self.lines.append(f"{sep * 3} {title} {sep * 3}")

    def write_line(self, line: str) -> None:
        self.lines.append(line)


def result(submission: str, session: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "task": "calc",
        "submission": submission,
        "meta": {"agent": submission},
        "behaviour": {"status": "resolved", "fail_to_pass": {"passed": ["a"], "failed": []}},
        "taste": {"score": 90, "passed": True, "findings": []},
        "review": {"status": "skipped"},
        "session": session if session is not None else {"status": "skipped", "metrics": {}},
        "duration_s": 2.0,
    }


@needs_data
def test_rejections_and_interruption_do_not_pass_silently() -> None:
    passing = grade_session(REJECTED).to_json()  # no threshold on rejections by default: it passes ...
    failing = grade_session(REJECTED, thresholds={"max_rejections": 1}).to_json()
    assert passing["passed"] is True and failing["passed"] is False
    assert session_cell(passing) == "intr 1, rej 2"  # ... but shows what happened
    assert session_cell(failing) == "rej 2>1, intr 1!"  # failed: the failing metric first, and the mark

    tr = Terminal()
    terminal_summary(tr, [result("claude", failing), result("plain", None)])
    header, _rule, claude, plain = tr.lines[1:5]
    assert header.split() == [
        *("task", "submission", "status", "F2P", "P2P", "taste", "review", "session", "agent", "cost", "seconds")
    ]
    cost = f"${failing['metrics']['cost_usd']:.4f}"
    assert claude.split()[-5:] == ["2>1,", "intr", "1!", cost, "2.0"]
    assert plain.split()[-3:] == ["-", "-", "2.0"]
    assert f"session: 1 transcript(s), 1 failed, agent cost {cost}" in tr.lines
    assert (
        "  calc::claude: rejections 2, above its threshold, at line 11, line 12; interruptions 1 at line 13" in tr.lines
    )
    assert any(line.startswith("session: loop = loops") and "! = the session item failed" in line for line in tr.lines)


def test_no_session_column_without_transcripts() -> None:
    tr = Terminal()
    terminal_summary(tr, [result("plain", None)])
    assert tr.lines[1].split() == ["task", "submission", "status", "F2P", "P2P", "taste", "review", "seconds"]
    assert "session" not in markdown([result("plain", None)])


def test_unknown_cost_and_errors_are_shown_with_their_reason() -> None:
    scored = {
        "status": "scored",
        "passed": True,
        "failures": [],
        "signals": [],
        "metrics": {"loops": 0, "cost_usd": None, "cost_reason": "no price for model 'x'"},
    }
    error = {"status": "error", "reason": "s.jsonl: not a transcript format", "metrics": {}}
    tr = Terminal()
    terminal_summary(tr, [result("a", scored), result("b", error)])
    a, b = tr.lines[3:5]
    assert a.split()[-3:] == ["ok", "?", "2.0"] and b.split()[-3:] == ["error", "-", "2.0"]
    assert "  calc::a: cost unknown: no price for model 'x'" in tr.lines
    assert "  calc::b: s.jsonl: not a transcript format" in tr.lines


def test_markdown_leaderboard_has_the_session_and_its_cost() -> None:
    failed = {
        "status": "scored",
        "passed": False,
        "failures": ["loops is 3, above max_loops=2"],
        "signals": [],
        "metrics": {"loops": 3, "corrections": 1, "cost_usd": 0.25},
    }
    ok = {"status": "scored", "passed": True, "failures": [], "signals": [], "metrics": {"cost_usd": None}}
    rows = [result("a", failed), result("b", ok), {**result("b", None), "task": "other"}]
    md = markdown(rows)
    assert "| session ok | $/trial | tokens/trial | s/trial |" in md
    assert "| =1 | a | 1 | 1 | 1.00 [0.03, 1.00] | 90.0 [90.0, 90.0] | - | 0.00 [0.00, 0.97] | $0.2500 | - | - |" in md
    assert "| =1 | b | 2 | 2 | 1.00 [0.16, 1.00] | 90.0 [90.0, 90.0] | - | 1.00 [0.03, 1.00] | - | - | - |" in md
    assert "| calc | a | resolved | 1/1 | - | 90 | - | - | loop 3>2, corr 1 ❌ | $0.2500 |" in md
    assert "| calc | b | resolved | 1/1 | - | 90 | - | - | ok | ? |" in md
    assert "| other | b | resolved | 1/1 | - | 90 | - | - | - | - |" in md
