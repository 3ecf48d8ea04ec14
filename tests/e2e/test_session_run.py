"""The session item end to end, on a real transcript copied into a task at test time."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, ROOT

pytestmark = pytest.mark.slow
SESSIONS = ROOT.parent / "shared" / "external" / "sessions"
TASK = "inventory-restock"


@pytest.fixture
def task(pytester: pytest.Pytester) -> Path:
    if not SESSIONS.is_dir():
        pytest.skip("needs ../shared/external/sessions")
    root = pytester.path / TASK
    shutil.copytree(FIXTURES / "tasks" / TASK, root)
    shutil.copy(
        SESSIONS / "claude-code__marot-spotter-short-rejected.jsonl",
        root / "submissions" / "conftest-hack" / "session.jsonl",
    )
    return root


def test_session_item_thresholds_and_evidence(pytester: pytest.Pytester, task: Path) -> None:
    (task / "task.toml").write_text((task / "task.toml").read_text() + "\n[session]\nmax_rejections = 1\n")
    report = pytester.path / "r.json"
    res = pytester.runpytest_subprocess("--proofswe", str(task), "-k", "session", f"--proofswe-report={report}", "-rs")
    res.assert_outcomes(failed=1, skipped=8)  # the other submissions have no transcript
    out = res.stdout.str()
    assert "inventory-restock::conftest-hack: session (claude-code," in out
    assert "  rejections is 2, above max_rejections=1" in out
    assert "      line 11: " in out and "      line 12: " in out  # each signal cites its line
    assert "the submission has no session trace" in out
    results = {r["submission"]: r for r in json.loads(report.read_text())["results"]}
    session = results["conftest-hack"]["session"]
    assert session["metrics"]["format"] == "claude-code" and session["metrics"]["rejections"] == 2
    assert session["metrics"]["tokens"]["cache_write"] == 13835
    assert results["minimal"]["session"]["status"] == "skipped"
    # The summary table shows the session: the failing metric first, the mark, and the cost.
    cost = f"${session['metrics']['cost_usd']:.4f}"
    assert session["metrics"]["cost_source"] == "price" and session["metrics"]["cost_usd"] > 0.09
    assert any(
        line.startswith("inventory-restock  conftest-hack") and f"rej 2>1, intr 1!  {cost}" in line
        for line in out.splitlines()
    ), out
    assert "  inventory-restock::conftest-hack: rejections 2, above its threshold, at line 11, line 12" in out


def test_session_within_thresholds_still_shows_its_signals(pytester: pytest.Pytester, task: Path) -> None:
    res = pytester.runpytest_subprocess("--proofswe", str(task), "-k", "session and conftest")
    res.assert_outcomes(passed=1)
    # No threshold on rejections or interruptions by default: the item passes, but not silently.
    res.stdout.re_match_lines([r"inventory-restock\s+conftest-hack\s+.*\s+intr 1, rej 2\s+\$0\.\d{4}\s"])
    res.stdout.fnmatch_lines(["*inventory-restock::conftest-hack: interruptions 1 at line 13; rejections 2 at*"])


def test_session_within_thresholds_passes(pytester: pytest.Pytester, task: Path) -> None:
    res = pytester.runpytest_subprocess("--proofswe", str(task), "-k", "session and conftest")
    res.assert_outcomes(passed=1)


def test_unknown_transcript_format_is_an_error(pytester: pytest.Pytester, task: Path) -> None:
    (task / "submissions" / "conftest-hack" / "session.jsonl").write_text('{"hello": "world"}\n')
    res = pytester.runpytest_subprocess("--proofswe", str(task), "-k", "session and conftest")
    res.assert_outcomes(errors=1)
    assert "not a transcript format pytest-proofswe reads" in res.stdout.str()


def test_bad_session_table_is_a_task_error(pytester: pytest.Pytester, task: Path) -> None:
    (task / "task.toml").write_text((task / "task.toml").read_text() + "\n[session]\nmax_loopz = 1\n")
    res = pytester.runpytest_subprocess("--proofswe", str(task))
    res.assert_outcomes(errors=1)
    assert "unknown session key(s) max_loopz" in res.stdout.str()


def test_a_plugin_adds_a_reader(pytester: pytest.Pytester, task: Path) -> None:
    (task / "submissions" / "conftest-hack" / "session.jsonl").unlink()
    (task / "submissions" / "conftest-hack" / "session.log").write_text("USER: fix it\nUSER: no, that's wrong\n")
    pytester.makeconftest("""
        from pytest_proofswe.session import Event, Source

        class LogReader:
            name = "mylog"

            def detect(self, path, head):
                return head.startswith(b"USER:")

            def read(self, path):
                for number, line in enumerate(open(path), 1):
                    yield Event("user_message", Source(line=number), origin="person", text=line[5:].strip())

        def pytest_proofswe_session_reader(config):
            return LogReader()
    """)
    report = pytester.path / "r.json"
    res = pytester.runpytest_subprocess(
        "--proofswe", str(task), "-k", "session and conftest", f"--proofswe-report={report}"
    )
    res.assert_outcomes(passed=1)
    (result,) = json.loads(report.read_text())["results"]
    metrics = result["session"]["metrics"]
    assert metrics["format"] == "mylog" and metrics["user_turns"] == 2 and metrics["corrections"] == 1
