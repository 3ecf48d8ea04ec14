"""The process edge: secrets scrubbed, process groups killed on timeout, output capped."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from pytest_proofswe import process


@pytest.mark.parametrize(
    "name",
    [
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "GITHUB_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "DB_PASSWORD",
        "MY_SERVICE_TOKEN",
        "OPENAI_BASE_URL",
        "GEMINI_API_KEY",
        "HF_TOKEN",
        "LITELLM_MASTER_KEY",
        "AZURE_OPENAI_ENDPOINT",
        "npm_config__auth",
    ],
)
def test_secret_names_are_scrubbed(name: str) -> None:
    env = process.scrubbed_environ({name: "s3cr3t", "PATH": "/bin", "HOME": "/root", "LANG": "C.UTF-8"})
    assert name not in env
    assert env["PATH"] == "/bin" and env["HOME"] == "/root"


def test_harness_settings_are_scrubbed() -> None:
    env = process.scrubbed_environ(
        {"PYTEST_ADDOPTS": "-x", "PYTHONPATH": "/h", "PYTEST_XDIST_WORKER": "gw0", "VIRTUAL_ENV": "/v", "CI": "true"}
    )
    assert env == {"CI": "true"}


def test_a_ray_workers_variables_are_scrubbed() -> None:
    # What a Ray worker process has in its environment (--proofswe-executor=ray grades there).
    env = process.scrubbed_environ(
        {"RAY_ADDRESS": "10.0.0.1:6379", "RAY_RAYLET_PID": "2341", "RAY_JOB_ID": "ffffffff", "LANG": "C.UTF-8"}
    )
    assert env == {"LANG": "C.UTF-8"}


def test_run_captures_output_and_exit_code(tmp_path: Path) -> None:
    result = process.run([sys.executable, "-c", "import sys; print('hi'); sys.exit(3)"], cwd=tmp_path)
    assert result.returncode == 3 and not result.ok
    assert result.output.strip() == "hi"


def test_stdin_is_closed(tmp_path: Path) -> None:
    result = process.run([sys.executable, "-c", "import sys; print(repr(sys.stdin.read()))"], cwd=tmp_path, timeout=10)
    assert result.output.strip() == "''"


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    marker = tmp_path / "grandchild.pid"
    script = (
        "import subprocess, sys, time\n"
        f"p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(marker)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(60)\n"
    )
    started = time.monotonic()
    result = process.run([sys.executable, "-c", script], cwd=tmp_path, timeout=1.5)
    assert result.timed_out and result.returncode is None
    assert time.monotonic() - started < 15
    pid = int(marker.read_text())
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the grandchild outlived the timeout")


def test_output_is_capped_to_head_and_tail(tmp_path: Path) -> None:
    code = "import sys\nsys.stdout.write('HEAD\\n' + 'x' * 5_000_000 + '\\nTAIL\\n')"
    result = process.run([sys.executable, "-c", code], cwd=tmp_path, timeout=30)
    assert result.truncated
    assert result.output_bytes > 5_000_000
    assert len(result.output) < process.HEAD_BYTES + process.TAIL_BYTES + 200
    assert result.output.startswith("HEAD") and result.output.rstrip().endswith("TAIL")
    assert "bytes of output omitted" in result.output
