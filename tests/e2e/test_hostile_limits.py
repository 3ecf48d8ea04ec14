"""fixtures/hostile/limits: oversized inputs and a broken layout are the submission's failure."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES

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
    report = tmp_path / "report.json"
    env = {**os.environ, "PROOFSWE_CACHE_DIR": str(cache_dir)}
    env.pop("PYTEST_ADDOPTS", None)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "--proofswe",
            "limits",
            f"--proofswe-report={report}",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    got = {r["submission"]: r["behaviour"] for r in json.loads(report.read_text())["results"]}
    assert set(got) == set(EXPECTED)
    for name, (status, words) in EXPECTED.items():
        assert got[name]["status"] == status, (name, got[name])
        assert words in got[name]["reason"], (name, got[name]["reason"])
    assert "internal error" not in proc.stdout
