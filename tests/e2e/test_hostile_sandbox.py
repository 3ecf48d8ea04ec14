"""End to end: the hostile submissions of fixtures/hostile/sandbox, with the sandbox on and off.

With ``--proofswe-sandbox=bwrap`` no attack is graded resolved, the fix is, and no attack
leaves a trace on the host: no secret in the report or the output, no file outside the
workspace, no connection to a loopback service, no process left running, no .pth in the
environment, a report written although one attack kills its parent. With ``none`` the same
attacks get through (what docs/security.md lists), which shows that each check can fail.
"""

from __future__ import annotations

import fcntl
import json
import os
import pwd
import shutil
import signal
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_proofswe.harness.sandbox import probe_bwrap
from tests.conftest import FIXTURES, GraderRun, run_grader

pytestmark = pytest.mark.slow

TASK = FIXTURES / "hostile" / "sandbox"
OUT = Path("/tmp/proofswe-hostile-sandbox")  # where the attacks try to leave evidence (make_submissions.py)
PORT = 47231
SECRETS = {
    "MYSQL_PWD": "mysql-hostile-7f3a",
    "DATABASE_URL": "postgres://u:db-hostile-9c1e@db/x",
    "STRIPE_SK": "sk_live_hostile_5b2d",
    "OPENAI_API_KEY": "sk-proc-environ-hostile-44e1",
}
NETRC_SECRET = "netrc-hostile-b8a0"
ATTACKS = sorted(p.stem for p in (TASK / "submissions").glob("*.diff") if p.stem != "fix")
DAEMON_MARK = b"proofswe-hostile-daemon"

needs_bwrap = pytest.mark.skipif(
    not probe_bwrap().works, reason=f"bubblewrap does not work on this machine: {probe_bwrap().problem}"
)


class Listener:
    """A TCP service on 127.0.0.1:PORT that records every connection."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", PORT))
        self.sock.listen()
        self.sock.settimeout(0.2)
        self.connections = 0
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.stop = True
        self.thread.join()
        self.sock.close()


@pytest.fixture(autouse=True)
def _one_at_a_time() -> Iterator[None]:
    """The tests share OUT, PORT and the daemon marker: under pytest-xdist they take turns."""
    with open(f"{OUT}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            _kill_daemons()
            shutil.rmtree(OUT, ignore_errors=True)
            USER_MARKER.unlink(missing_ok=True)
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture
def listener(_one_at_a_time: None) -> Iterator[Listener]:
    try:
        server = Listener()
    except OSError as exc:
        pytest.skip(f"127.0.0.1:{PORT} is taken: {exc}")
    yield server
    server.close()


def _daemons() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if DAEMON_MARK in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def _kill_daemons() -> None:
    for pid in _daemons():
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


# write-outside also writes here (the user's home by the passwd entry): removed before and after each run.
USER_MARKER = Path(pwd.getpwuid(os.getuid()).pw_dir) / ".proofswe-hostile-marker"


def _grade(tmp_path: Path, cache: Path, mode: str, *extra: str) -> tuple[GraderRun, Path]:
    """Run the grader over a copy of the hostile task, with secrets in its environment and home."""
    shutil.rmtree(OUT, ignore_errors=True)
    USER_MARKER.unlink(missing_ok=True)
    work = tmp_path / "work"
    shutil.copytree(TASK, work / "hostile" / "sandbox", ignore=shutil.ignore_patterns("__pycache__"))
    home = tmp_path / "home"
    home.mkdir()
    (home / ".netrc").write_text(f"machine example.com login me password {NETRC_SECRET}\n")
    run = run_grader(
        work,
        cache,
        *("--proofswe", "hostile/sandbox", f"--proofswe-sandbox={mode}", *extra),
        env={**SECRETS, "HOME": str(home), "PROOFSWE_HOSTILE_ARMED": "1"},
        unset=("PROOFSWE_SANDBOX",),
    )
    return run, run.report_path


def _statuses(report: Path) -> dict[str, str]:
    data = json.loads(report.read_text())
    return {r["submission"]: r["behaviour"]["status"] for r in data["results"]}


def _pth_files(cache: Path) -> list[Path]:
    return list(cache.glob("envs/*/venv/lib/*/site-packages/proofswe_hostile.pth"))


@needs_bwrap
def test_no_attack_succeeds_in_the_sandbox(tmp_path: Path, cache_dir: Path, listener: Listener) -> None:
    try:
        proc, report = _grade(tmp_path, cache_dir, "bwrap")
        daemons = _daemons()
    finally:
        _kill_daemons()
    output = proc.output
    # kill-parent killed nothing of the grader: the run finished and wrote its report.
    assert report.is_file(), output[-3000:]
    statuses = _statuses(report)
    assert statuses == {**{name: "unresolved" for name in ATTACKS}, "fix": "resolved"}, output[-3000:]
    text = report.read_text() + output
    for secret in [*SECRETS.values(), NETRC_SECRET]:
        assert secret not in text
    assert not OUT.exists(), sorted(p.name for p in OUT.iterdir())  # nothing written to the host's /tmp
    assert not (tmp_path / "home" / ".proofswe-hostile-marker").exists()
    assert not USER_MARKER.exists()
    assert listener.connections == 0
    assert daemons == []
    assert _pth_files(cache_dir) == []
    proof = json.loads(report.read_text())["results"][0]["proof"]["environment"]["sandbox"]
    assert proof["backend"] == "bwrap" and "net" in proof["namespaces"] and "pid" in proof["namespaces"]
    assert "proofswe: sandbox bwrap" in output


def test_without_the_sandbox_the_attacks_get_through(tmp_path: Path, listener: Listener) -> None:
    """What docs/security.md says remains possible with --proofswe-sandbox=none."""
    cache = tmp_path / "cache"  # its own cache: the .pth poisons the environment it lands in
    try:
        proc, report = _grade(tmp_path, cache, "none", "-k", "not kill-parent")
        daemons = _daemons()
        left = {p.name: p.read_text() for p in OUT.iterdir()} if OUT.is_dir() else {}
    finally:
        _kill_daemons()
        shutil.rmtree(OUT, ignore_errors=True)
    output = proc.output
    assert report.is_file(), output[-3000:]
    assert SECRETS["MYSQL_PWD"] in left["secret-env"] and SECRETS["DATABASE_URL"] in left["secret-env"]
    assert SECRETS["OPENAI_API_KEY"] in left["proc-environ"]  # the scrub removed it from the child, not /proc
    assert NETRC_SECRET in left["netrc"]
    assert "write-outside" in left and "pth-poison" in left
    assert _statuses(report)["gold-read"] == "resolved"  # the answer key was read and applied
    assert listener.connections >= 1
    assert daemons
    assert _pth_files(cache)
    assert (tmp_path / "home" / ".proofswe-hostile-marker").is_file()


def test_without_the_sandbox_a_submission_kills_the_grader(tmp_path: Path) -> None:
    proc, report = _grade(tmp_path, tmp_path / "cache", "none", "-k", "kill-parent")
    shutil.rmtree(OUT, ignore_errors=True)
    assert proc.returncode == -signal.SIGKILL
    assert not report.exists()
