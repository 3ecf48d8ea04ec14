"""fixtures/hostile/limits: oversized inputs and a broken layout are the submission's failure."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, private_cache, run_grader

pytestmark = pytest.mark.slow

EXPECTED = {
    "fix": ("resolved", ""),
    "oversize": ("patch_failed", "the patch is 0.1 MB, over the limit of 0.05 MB: not parsed"),
    "layout-break": (
        "unresolved",
        "the submission replaced the folder tests/ by a file, so the hidden test tests/test_ops.py cannot be put",
    ),
    "junit-flood": ("unresolved", "the test run wrote a JUnit XML of 2 MB, over the limit of 1 MB"),
}


def test_oversized_inputs_and_a_broken_layout(tmp_path: Path, cache_dir: Path) -> None:
    shutil.copytree(FIXTURES / "hostile" / "limits", tmp_path / "limits", ignore=shutil.ignore_patterns("__pycache__"))
    run = run_grader(tmp_path, cache_dir, "--proofswe", "limits")
    assert run.returncode == 1, run.output[-3000:]
    got = {name: r["behaviour"] for name, r in run.results.items()}
    assert set(got) == set(EXPECTED)
    for name, (status, words) in EXPECTED.items():
        assert got[name]["status"] == status, (name, got[name])
        assert words in got[name]["reason"], (name, got[name]["reason"])
    assert "internal error" not in run.output


def test_a_killed_grader_leaves_the_finished_results(tmp_path: Path, cache_dir: Path) -> None:
    """What had finished when the grader died is in <report>.partial.jsonl; a run that ends removes it."""
    import signal
    import time

    task = tmp_path / "limits"
    shutil.copytree(FIXTURES / "hostile" / "limits", task, ignore=shutil.ignore_patterns("__pycache__"))
    for other in ("oversize", "layout-break", "junit-flood"):
        (task / "submissions" / f"{other}.diff").unlink()
    slow = (
        (task / "submissions" / "fix.diff")
        .read_text()
        .replace(
            "+    return min(max(lo, x), hi)", "+    __import__('time').sleep(120)\n+    return min(max(lo, x), hi)"
        )
    )
    (task / "submissions" / "slow.diff").write_text(slow.replace("@@ -1,3 +1,3 @@", "@@ -1,3 +1,4 @@"))
    report = tmp_path / "report.json"
    partial = tmp_path / "report.json.partial.jsonl"
    env = {**os.environ, "PROOFSWE_CACHE_DIR": str(private_cache(cache_dir, tmp_path / ".proofswe-cache"))}
    env.pop("PYTEST_ADDOPTS", None)
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "--proofswe",
        "limits",
        f"--proofswe-report={report}",
    ]
    grader = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not (partial.is_file() and '"fix"' in partial.read_text()) and time.monotonic() < deadline:
            assert grader.poll() is None, "the grader ended before it was killed"
            time.sleep(0.2)
    finally:
        grader.send_signal(signal.SIGKILL)
        grader.wait()
    assert not report.exists()
    lines = [json.loads(line) for line in partial.read_text().splitlines()]
    assert [(r["submission"], r["behaviour"]["status"]) for r in lines] == [("fix", "resolved")]
    # The next run replaces the dead run's partial file, and removes it once the report is written.
    done = run_grader(tmp_path, cache_dir, "--proofswe", "limits", "-k", "fix")
    assert done.returncode == 0, done.output[-3000:]
    assert not partial.exists() and json.loads(report.read_text())["results"][0]["submission"] == "fix"
