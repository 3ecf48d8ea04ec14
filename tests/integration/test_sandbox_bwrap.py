"""The bwrap backend against a real bubblewrap: what a command inside can and cannot do.

Skipped, with the reason, where bubblewrap does not work (CI installs it: .ci/run).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_proofswe.harness.sandbox import BwrapSandbox, Job, Limits, probe_bwrap

pytestmark = pytest.mark.skipif(
    not probe_bwrap().works, reason=f"bubblewrap does not work on this machine: {probe_bwrap().problem}"
)


request_cleanup: list[Path] = []


@pytest.fixture(autouse=True)
def _cleanup() -> Iterator[None]:
    yield
    while request_cleanup:
        shutil.rmtree(request_cleanup.pop(), ignore_errors=True)


def _run(
    tmp_path: Path,
    code: str,
    *,
    hidden: tuple[Path, ...] = (),
    environ: dict[str, str] | None = None,
    timeout: float = 60,
    **kw: object,
) -> tuple[int | None, str]:
    ws = tmp_path / "workspace"
    ws.mkdir(exist_ok=True)
    results = tmp_path / "results"
    results.mkdir(exist_ok=True)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **(environ or {})}
    # The suite's own interpreter runs inside: bind its installation like an environment's, or a
    # virtual environment under /tmp (`git clone . /tmp/x && bash .ci/run`) is hidden by the private /tmp.
    kw["readonly"] = (*kw.get("readonly", ()), Path(sys.prefix))  # type: ignore[misc]
    job = Job(argv=(sys.executable, "-c", code), workspace=ws, environ=env, results=results, **kw)  # type: ignore[arg-type]
    box = BwrapSandbox(probe_bwrap(), hidden=hidden)
    result = box.run(job, timeout=timeout)
    return result.returncode, result.output


def test_grader_environment_unreadable_through_proc(tmp_path: Path) -> None:
    code, out = _run(
        tmp_path,
        f"import os\ntry:\n    open('/proc/{os.getpid()}/environ','rb').read(); print('READ')\n"
        "except OSError as e:\n    print('DENIED', e)\n"
        "print('ppid', os.getppid())",
    )
    assert code == 0 and "DENIED" in out and "READ" not in out, out


def test_secrets_outside_the_allow_list_are_absent(tmp_path: Path) -> None:
    code, out = _run(
        tmp_path,
        "import os; print(sorted(k for k in os.environ if k in ('MYSQL_PWD', 'DATABASE_URL', 'HOME')), "
        "os.environ['HOME'])",
        environ={"MYSQL_PWD": "pw", "DATABASE_URL": "postgres://u:p@h/d"},
    )
    assert code == 0 and "['HOME'] /tmp/home" in out, out


@pytest.mark.parametrize("where", ["/tmp", "/var/tmp"])
def test_hidden_home_netrc_unreadable_and_writes_do_not_reach_the_host(tmp_path: Path, where: str) -> None:
    if where != "/tmp" and not os.access(where, os.W_OK):
        pytest.skip(f"{where} is not writable")
    # Under /tmp the sandbox's private /tmp hides it; elsewhere a tmpfs mounted over it does.
    home = Path(tempfile.mkdtemp(prefix="proofswe-home-", dir=where))
    request_cleanup.append(home)
    (home / ".netrc").write_text("machine x password hunter2\n")
    code, out = _run(
        tmp_path,
        f"import os\nos.makedirs({str(home)!r}, exist_ok=True)\nprint(os.listdir({str(home)!r}))\n"
        f"open({str(home / 'planted')!r}, 'w').write('x')\n"
        "open('/tmp/planted-in-tmp', 'w').write('x')\n"
        "open('inside-workspace', 'w').write('x')\nprint('ok')",
        hidden=(home,),
    )
    assert code == 0 and "[]" in out and "ok" in out, out
    assert not (home / "planted").exists() and not Path("/tmp/planted-in-tmp").exists()
    assert (tmp_path / "workspace" / "inside-workspace").read_text() == "x"  # the workspace is writable


def test_host_read_only_and_environment_read_only(tmp_path: Path) -> None:
    env_root = tmp_path / "env"
    site = env_root / "site-packages"
    site.mkdir(parents=True)
    code, out = _run(
        tmp_path,
        f"try:\n    open({str(site / 'evil.pth')!r}, 'w')\nexcept OSError as e:\n    print('RO', e.errno)\n"
        "try:\n    open('/usr/proofswe-evil', 'w')\nexcept OSError as e:\n    print('RO', e.errno)",
        hidden=(tmp_path / "env",),
        readonly=(env_root,),
    )
    assert code == 0 and out.count("RO 30") == 2, out  # EROFS
    assert not (site / "evil.pth").exists()


def test_the_workspace_git_folder_is_read_only(tmp_path: Path) -> None:
    """A test cannot plant core.fsmonitor or a hook that runs when someone uses git in a kept workspace."""
    git_dir = tmp_path / "workspace" / ".git"
    git_dir.mkdir(parents=True)
    (git_dir / "config").write_text("[core]\n")
    code, out = _run(
        tmp_path,
        "try:\n    open('.git/config', 'a').write('fsmonitor = touch /tmp/pwned\\n')\n"
        "except OSError as e:\n    print('RO', e.errno)\n"
        "try:\n    open('.git/hooks-post-checkout', 'w')\nexcept OSError as e:\n    print('RO', e.errno)\n"
        "open('written.txt', 'w').write('the rest of the workspace is writable')",
    )
    assert code == 0 and out.count("RO 30") == 2, out
    assert (git_dir / "config").read_text() == "[core]\n"
    assert (tmp_path / "workspace" / "written.txt").is_file()


def test_loopback_services_of_the_host_are_unreachable(tmp_path: Path) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    accepted: list[object] = []
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        code, out = _run(
            tmp_path,
            f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=2); print('CONNECTED')\n"
            "except OSError as e:\n    print('REFUSED', e)",
        )
    finally:
        stop.set()
        thread.join()
        server.close()
    assert code == 0 and "REFUSED" in out and not accepted, out


def test_a_service_declared_by_the_task_is_reachable_inside(tmp_path: Path) -> None:
    service = f"{sys.executable} -m http.server 18573 --bind 127.0.0.1"
    code, out = _run(
        tmp_path,
        "import time, urllib.request\nfor _ in range(100):\n    try:\n"
        "        print(urllib.request.urlopen('http://127.0.0.1:18573/').status); break\n"
        "    except OSError:\n        time.sleep(0.05)",
        services=(service,),
    )
    assert code == 0 and "200" in out, out


def test_daemons_die_with_the_command(tmp_path: Path) -> None:
    marker = f"proofswe-daemon-{os.getpid()}-{time.monotonic_ns()}"
    code, out = _run(
        tmp_path,
        "import os, subprocess, sys\n"
        "if os.fork() == 0:\n    os.setsid()\n"
        f"    subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)  # {marker}'],"
        " start_new_session=True)\n    os._exit(0)\nos.wait(); print('started')",
    )
    assert code == 0 and "started" in out, out
    time.sleep(0.2)
    alive = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    alive.append(int(entry.name))
            except OSError:
                continue
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    assert alive == []


def test_the_grader_is_out_of_reach(tmp_path: Path) -> None:
    code, out = _run(
        tmp_path,
        f"import os, signal\nprint('pid', os.getpid(), 'ppid', os.getppid())\ntry:\n"
        f"    os.kill({os.getpid()}, signal.SIGKILL)\nexcept OSError as e:\n    print('no', e.errno)\n",
    )
    # The command is PID 1 of its namespace, with no parent it can see; the grader's pid does
    # not exist there (ESRCH): this process is still here to assert it.
    assert code == 0 and "pid 1 ppid 0" in out and "no 3" in out, out


def test_file_size_limit(tmp_path: Path) -> None:
    _code, out = _run(
        tmp_path,
        "import signal\nsignal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "try:\n    open('big', 'wb').write(b'x' * (3 * 1024 * 1024))\nexcept OSError as e:\n    print('EFBIG', e.errno)",
        limits=Limits(file_size_mb=1),
    )
    assert "EFBIG 27" in out, out
    assert (tmp_path / "workspace" / "big").stat().st_size <= 1024 * 1024


def test_the_cpu_limit_follows_the_timeout_and_the_timeout_holds(tmp_path: Path) -> None:
    code, out = _run(tmp_path, "import resource\nprint('CPU', resource.getrlimit(resource.RLIMIT_CPU)[0])", timeout=40)
    assert code == 0 and "CPU 100" in out, out
    code, out = _run(tmp_path, "import time\ntime.sleep(60)", timeout=1)
    assert code is None  # timed out: killed after a second, not a minute later
