"""Shared fixtures. Tiers: unit/ (pure code), integration/ (real git and processes), e2e/ (pytester)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
TASKS = FIXTURES / "tasks"

# Tests that run Ray on a local cluster (--proofswe-executor=ray): CI installs the extra.
needs_ray = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None,
    reason="Ray is not installed (pip install 'pytest-proofswe[ray]'; CI installs it)",
)

pytest_plugins = ["pytester"]

# tests/data holds made-up projects' files (PR shapes for benchmarks/taste_validity.py): data, not tests.
collect_ignore = ["data"]


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache of bases and environments for the whole test session (built once)."""
    path = Path(os.environ.get("PROOFSWE_TEST_CACHE_DIR") or tmp_path_factory.mktemp("proofswe-cache"))
    return path


def private_cache(shared: Path, where: Path) -> Path:
    """A cache folder of its own at ``where`` that shares ``shared``'s bases and environments.

    Built bases and environments are what make the suite fast, so every test shares them;
    stored results (``results/``) are the test's own, so that no test is served what
    another graded.
    """
    where.mkdir(parents=True, exist_ok=True)
    for kind in ("bases", "envs", "reviews"):
        (shared / kind).mkdir(parents=True, exist_ok=True)
        link = where / kind
        if not link.is_symlink():
            link.symlink_to(shared / kind, target_is_directory=True)
    return where


@pytest.fixture(autouse=True)
def _isolated_cache(cache_dir: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # Beside the test's tmp_path, not in it: tests look at what is in their tmp_path.
    monkeypatch.setenv("PROOFSWE_CACHE_DIR", str(private_cache(cache_dir, tmp_path_factory.mktemp("cache"))))


@dataclass(frozen=True)
class GraderRun:
    """What one ``pytest --proofswe ...`` run in a subprocess gave."""

    returncode: int
    output: str  # stdout and stderr
    report_path: Path

    @property
    def report(self) -> dict[str, Any]:
        assert self.report_path.is_file(), f"no report was written\n{self.output[-3000:]}"
        data: dict[str, Any] = json.loads(self.report_path.read_text())
        return data

    @property
    def results(self) -> dict[str, dict[str, Any]]:
        """The report's results by submission name."""
        return {r["submission"]: r for r in self.report["results"]}

    @property
    def by_task(self) -> dict[tuple[str, str], dict[str, Any]]:
        """The report's results by (task, submission)."""
        return {(r["task"], r["submission"]): r for r in self.report["results"]}


def run_grader(
    cwd: Path,
    cache_dir: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    unset: tuple[str, ...] = (),
    timeout: float = 600,
) -> GraderRun:
    """``python -m pytest -p no:cacheprovider --proofswe-report=cwd/report.json ARGS`` in ``cwd``, as a user runs it.

    A process of its own (the grader's real entry point, its own signals and environment),
    with the test session's cache of bases and environments; ``PYTEST_ADDOPTS`` of the
    outer run and the names in ``unset`` are removed, ``env`` is added.
    """
    report = cwd / "report.json"
    cache = private_cache(cache_dir, cwd / ".proofswe-cache")
    environ = {**os.environ, "PROOFSWE_CACHE_DIR": str(cache), **(env or {})}
    for name in ("PYTEST_ADDOPTS", *unset):
        environ.pop(name, None)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--proofswe-report={report}", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return GraderRun(proc.returncode, proc.stdout + proc.stderr, report)


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
