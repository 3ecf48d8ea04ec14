"""Shared fixtures. Tiers: unit/ (pure code), integration/ (real git and processes), e2e/ (pytester)."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
TASKS = FIXTURES / "tasks"

pytest_plugins = ["pytester"]

# tests/data holds other projects' files (PR shapes for benchmarks/taste_validity.py): data, not tests.
collect_ignore = ["data"]


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache of bases and environments for the whole test session (built once)."""
    path = Path(os.environ.get("PROOFSWE_TEST_CACHE_DIR") or tmp_path_factory.mktemp("proofswe-cache"))
    return path


@pytest.fixture(autouse=True)
def _isolated_cache(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROOFSWE_CACHE_DIR", str(cache_dir))


def make_git_repo(path: Path, files: dict[str, str | bytes]) -> str:
    """A git repository at ``path`` with ``files`` committed; returns the commit id."""
    path.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        target = path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    subprocess.run(["git", "init", "-q", "--initial-branch=main"], cwd=path, check=True, env=env)
    subprocess.run(["git", "add", "-A"], cwd=path, check=True, env=env)
    subprocess.run(["git", "commit", "-q", "-m", "base"], cwd=path, check=True, env=env)
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=path, check=True, env=env, capture_output=True, text=True
    ).stdout.strip()


def write_task(root: Path, toml: str, files: dict[str, str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "task.toml").write_text(toml)
    for rel, content in (files or {}).items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    return root


def snapshot_workspace(root: Path, files: dict[str, str]) -> Path:
    """A workspace as the harness makes one: ``files`` in a git repository of one commit."""
    from pytest_proofswe import git as gitmod

    root.mkdir(parents=True)
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    gitmod.init_snapshot(root)
    return root


# litellm would otherwise try to download its price list at import: the tests never leave the machine.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


class LLMServer(ThreadingHTTPServer):
    script: list[tuple[str, Any]]
    requests: list[dict[str, Any]]
    headers_seen: list[dict[str, str]]


class Handler(BaseHTTPRequestHandler):
    server: LLMServer

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(body)
        self.server.headers_seen.append(dict(self.headers))
        kind, value = self.server.script.pop(0) if len(self.server.script) > 1 else self.server.script[0]
        if kind == "status":
            payload = json.dumps({"error": {"message": f"scripted {value}", "type": "scripted", "code": value}})
            self.send_response(value)
        else:
            payload = json.dumps(
                {
                    "id": "chatcmpl-1",
                    "object": "chat.completion",
                    "created": 1,
                    "model": body.get("model"),
                    "choices": [
                        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": value}}
                    ],
                    "usage": {"prompt_tokens": 321, "completion_tokens": 45, "total_tokens": 366},
                }
            )
            self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload.encode())


@pytest.fixture
def llm_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LLMServer]:
    """An OpenAI-compatible chat-completions server on 127.0.0.1 that answers from ``script``."""
    srv = LLMServer(("127.0.0.1", 0), Handler)
    srv.script, srv.requests, srv.headers_seen = [("ok", "{}")], [], []
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-local-test-key-000111")
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
