"""Capturing a session into a task folder, from a Claude Code transcript and a repository."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from pytest_proofswe.__main__ import main
from pytest_proofswe.errors import TaskError
from pytest_proofswe.task import find_submissions, load_task

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main"]


def git(repo: Path, *args: str, date: str | None = None) -> str:
    env = {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date} if date else {}
    import os

    return subprocess.run(
        [*GIT, *args], cwd=repo, check=True, capture_output=True, text=True, env={**os.environ, **env}
    ).stdout.strip()


def transcript(path: Path, cwd: Path, branch: str = "main") -> Path:
    lines = [
        {
            "type": "user",
            "uuid": "u1",
            "sessionId": "s",
            "cwd": str(cwd),
            "gitBranch": branch,
            "timestamp": "2026-03-01T12:00:00.000Z",
            "message": {"role": "user", "content": "Make add() accept strings of digits"},
        },
        {
            "type": "assistant",
            "uuid": "a1",
            "sessionId": "s",
            "requestId": "r1",
            "gitBranch": branch,
            "timestamp": "2026-03-01T12:00:05.000Z",
            "message": {
                "id": "m1",
                "role": "assistant",
                "model": "claude-opus-4-6",
                "usage": {"input_tokens": 5, "output_tokens": 7},
                "content": [{"type": "text", "text": "Done."}],
            },
        },
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_capture_from_a_claude_code_session(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "calc"
    repo.mkdir()
    (repo / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "before the session", date="2026-03-01T11:00:00+0000")
    base = git(repo, "rev-parse", "HEAD")
    (repo / "notes.txt").write_text("later\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "after the session began", date="2026-03-01T13:00:00+0000")
    (repo / "calc.py").write_text("def add(a, b):\n    return int(a) + int(b)\n")  # the agent's change
    session = transcript(tmp_path / "session.jsonl", repo)
    out = tmp_path / "tasks"
    assert (
        main(
            [
                "capture",
                "--repo",
                str(repo),
                "--transcript",
                str(session),
                "--out",
                str(out),
                "--agent",
                "claude",
                "--id",
                "calc-strings",
            ]
        )
        == 0
    )
    assert "the last commit of main before the session began" in capsys.readouterr().out
    folder = out / "calc-strings"
    assert (folder / "issue.md").read_text() == "Make add() accept strings of digits\n"
    toml = (folder / "task.toml").read_text()
    assert f'commit = "{base}"' in toml and 'title = "Make add() accept strings of digits"' in toml
    sub = folder / "submissions" / "claude"
    assert "int(a) + int(b)" in (sub / "patch.diff").read_text()
    assert (sub / "session.jsonl").read_text() == session.read_text()
    assert 'models = ["claude-opus-4-6"]' in (sub / "meta.toml").read_text()
    # Until the author adds hidden tests, loading the task says what to do.
    with pytest.raises(TaskError, match="fail_to_pass' is missing or empty"):
        load_task(folder)
    (folder / "task.toml").write_text(toml.replace("fail_to_pass = []", 'fail_to_pass = ["test_calc.py::test_str"]'))
    task = load_task(folder)
    assert task.repo.commit == base and [s.name for s in find_submissions(task)] == ["claude"]


def test_capture_needs_a_base_it_can_find(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    (repo / "a.py").write_text("x = 1\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    session = tmp_path / "s.jsonl"
    session.write_text(
        json.dumps({"type": "user", "uuid": "u", "sessionId": "s", "message": {"role": "user", "content": "hi"}}) + "\n"
    )
    assert main(["capture", "--repo", str(repo), "--transcript", str(session), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "does not say which commit the session started from" in err and "(fix: pass --base COMMIT)" in err


def _repo_with_history(path: Path) -> str:
    path.mkdir()
    (path / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    git(path, "init", "-q")
    git(path, "add", "-A")
    git(path, "commit", "-qm", "before the session", date="2026-03-01T11:00:00+0000")
    base = git(path, "rev-parse", "HEAD")
    (path / "notes.txt").write_text("later\n")
    git(path, "add", "-A")
    git(path, "commit", "-qm", "after the session began", date="2026-03-01T13:00:00+0000")
    (path / "calc.py").write_text("def add(a, b):\n    return int(a) + int(b)\n")
    return base


def test_capture_finds_the_default_branch_when_the_transcripts_branch_is_not_here(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Claude Code recorded gitBranch "master" (as in the shared marot-spotter transcripts); this
    # clone has only "main". Without --base, the base is main's last commit before the session.
    repo = tmp_path / "calc"
    base = _repo_with_history(repo)
    session = transcript(tmp_path / "session.jsonl", repo, branch="master")
    code = main(["capture", "--repo", str(repo), "--transcript", str(session), "--out", str(tmp_path / "o")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "ambiguous argument" not in captured.out + captured.err
    assert "the last commit of main (the repository's default branch: the transcript's branch 'master'" in captured.out
    (folder,) = (tmp_path / "o").iterdir()
    assert f'commit = "{base}"' in (folder / "task.toml").read_text()


def test_capture_prefers_origins_default_branch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    upstream = tmp_path / "upstream"
    base = _repo_with_history(upstream)
    git(upstream, "branch", "-m", "main", "trunk")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(upstream), str(clone))
    git(clone, "checkout", "-q", "-b", "work")
    (clone / "calc.py").write_text("def add(a, b):\n    return int(a) + int(b)\n")
    session = transcript(tmp_path / "session.jsonl", clone, branch="agent-branch-gone")
    assert main(["capture", "--repo", str(clone), "--transcript", str(session), "--out", str(tmp_path / "o")]) == 0
    assert "the last commit of origin/trunk (the repository's default branch" in capsys.readouterr().out
    (folder,) = (tmp_path / "o").iterdir()
    assert f'commit = "{base}"' in (folder / "task.toml").read_text()


def test_capture_without_any_commit_before_the_session_says_to_pass_base(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "calc"
    _repo_with_history(repo)
    session = transcript(tmp_path / "session.jsonl", repo, branch="master")
    session.write_text(session.read_text().replace("2026-03-01T12:00", "2020-01-01T12:00"))
    assert main(["capture", "--repo", str(repo), "--transcript", str(session), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "fix: pass --base COMMIT" in err and "ambiguous argument" not in err
