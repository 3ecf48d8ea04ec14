"""The README's main command, run the way a new user runs it.

A new user has a clone and a fresh virtual environment with only what the README installs
(no pytest-xdist, which only the ``test`` extra brings), and runs from the clone, where the
project's own ``[tool.pytest.ini_options]`` (``--strict-markers``, ``filterwarnings =
error``) applies to ``fixtures/``. The suite's other end-to-end tests run in folders of their
own with xdist installed, which is how a marker only xdist registers went unnoticed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, ROOT, private_cache
from tests.e2e.test_plugin import EXPECTED

pytestmark = pytest.mark.slow


def readme_commands() -> list[str]:
    """The shell commands of the README's section "The two commands", in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## The two commands", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", section, flags=re.S)]


def test_readme_names_two_commands() -> None:
    main, tests = readme_commands()
    assert "--proofswe fixtures/" in main
    assert main.startswith('python -m pip install -e ".[llm]"')
    assert tests.startswith('python -m pip install -e ".[test]"')


def test_readme_says_what_the_tests_need() -> None:
    """-n auto works for the suite; the session-reader tests read ../shared/external (skipped without it)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## The two commands", 1)[1].split("\n## ", 1)[0]
    assert "python -m pytest -n auto" in section
    assert "../shared/external/sessions/" in section and "skipped" in section
    uses_shared = [p for p in (ROOT / "tests").rglob("test_*.py") if '"shared" / "external"' in p.read_text()]
    assert uses_shared, "no test reads ../shared/external any more: update the README"
    for path in uses_shared:
        assert "skip" in path.read_text(), f"{path.name} reads ../shared/external without skipping when it is absent"


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHON", "VIRTUAL_ENV"))}
    env.pop("PROOFSWE_RUN_ID", None)
    env.update(extra)
    return env


def test_collection_without_xdist_is_clean_under_strict_markers(tmp_path: Path) -> None:
    """No xdist: every example item collects under --strict-markers and -W error (no unknown mark)."""
    shutil.copytree(FIXTURES, tmp_path / "fixtures", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\naddopts = --strict-markers --strict-config\nfilterwarnings = error\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--proofswe", "fixtures/", "--co", "-q", "-p", "no:xdist", "-W", "error"],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "xdist_group" not in proc.stdout + proc.stderr
    collected = {line for line in proc.stdout.splitlines() if line.endswith("::behaviour")}
    # fixtures/hostile/ is collected too; its tasks have their own tests (tests/e2e/test_hostile_*.py).
    assert len({line for line in collected if line.startswith("fixtures/tasks/")}) == len(EXPECTED)


def _copy_clone(dest: Path) -> None:
    """The files a clone holds (tracked, and new files not ignored): the working tree under test."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout.decode()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("the project is not a git checkout: cannot tell which files a clone holds")
    for rel in filter(None, listed.split("\0")):
        source = ROOT / rel
        if not source.is_file():  # deleted in the working tree
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def test_readme_main_command_in_a_fresh_venv(tmp_path: Path, cache_dir: Path) -> None:
    """The README's first command, verbatim, in a fresh venv without xdist: exit 1, all 19 rows, no warning."""
    main, _ = readme_commands()
    clone = tmp_path / "clone"
    _copy_clone(clone)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    env = _clean_env(
        PATH=f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
        VIRTUAL_ENV=str(venv),
        PROOFSWE_CACHE_DIR=str(private_cache(cache_dir, tmp_path / ".proofswe-cache")),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    proc = subprocess.run(["bash", "-c", main], cwd=clone, env=env, capture_output=True, text=True, timeout=1500)
    out = proc.stdout + proc.stderr
    assert "Successfully installed" in out or "Requirement already satisfied" in out, out[-3000:]
    # What a new user has: the reviewer's extra, not the test extra.
    probe = subprocess.run([str(bindir / "python"), "-c", "import xdist"], capture_output=True, env=env)
    assert probe.returncode != 0, "pytest-xdist is installed in the fresh venv: the test no longer checks its absence"
    assert proc.returncode == 1, out[-6000:]
    table = out.split("= proofswe =", 1)[1]
    for task, submission in EXPECTED:
        assert re.search(rf"^{re.escape(task)}\s+{re.escape(submission)}\s", table, flags=re.M), (task, submission)
    assert "warnings summary" not in out, out[-6000:]
    assert "Warning" not in out.split("test session starts", 1)[1], out[-6000:]
