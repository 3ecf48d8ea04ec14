"""Environments: bytecode compiled once at build time, and a moved cache rebuilt with a reason."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pytest_proofswe.grading import Grader, GradeRequest, grade
from pytest_proofswe.harness.environment import Environment, EnvironmentManager
from pytest_proofswe.harness.workspace import BaseStore
from pytest_proofswe.task import Submission, load_task
from tests.conftest import write_task

pytestmark = pytest.mark.slow

FIX = "--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"


@pytest.fixture
def task_dir(tmp_path: Path) -> Path:
    return write_task(
        tmp_path / "tiny",
        '[tests]\nfail_to_pass = ["test_m.py::test_m"]\n',
        {"repo/m.py": "x = 1\n", "hidden_tests/test_m.py": "from m import x\n\n\ndef test_m():\n    assert x == 2\n"},
    )


def pyc_files(env: Environment) -> set[Path]:
    return set(env.root.joinpath("venv").rglob("*.pyc"))


def site_packages(env: Environment) -> Path:
    return next(env.root.joinpath("venv").glob("lib/python*/site-packages"))


def test_bytecode_is_compiled_at_build_time_and_never_written_by_a_run(task_dir: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    task = load_task(task_dir)
    grader = Grader(bases=BaseStore(cache), envs=EnvironmentManager(cache))
    result = grade(GradeRequest(task, Submission("fix", "predictions", patch_text=FIX)), grader)
    assert result.behaviour.status == "resolved", result.behaviour.reason
    env = EnvironmentManager(cache).get(task.environment, BaseStore(cache).base_for(task))
    compiled = [c for c in result.proof.environment["build_commands"] if "compileall" in c["argv"]]
    assert compiled and compiled[0]["exit_code"] == 0
    # pytest itself, which every test run imports, has its bytecode.
    assert list((site_packages(env) / "_pytest").glob("__pycache__/*.pyc"))
    before = pyc_files(env)
    again = grade(GradeRequest(task, Submission("again", "predictions", patch_text=FIX)), grader)
    assert again.behaviour.status == "resolved"
    assert pyc_files(env) == before  # a test run reads the bytecode, never writes any


def test_an_environment_built_before_compiling_is_compiled_once_when_loaded(task_dir: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    task = load_task(task_dir)
    base = BaseStore(cache).base_for(task)
    env = EnvironmentManager(cache).get(task.environment, base)
    info_path = env.root / "info.json"
    info = json.loads(info_path.read_text())
    del info["compiled"]
    info_path.write_text(json.dumps(info))
    for cache_folder in site_packages(env).rglob("__pycache__"):
        shutil.rmtree(cache_folder)
    assert not pyc_files(env)
    loaded = EnvironmentManager(cache).get(task.environment, base)
    assert loaded.reused is True
    assert list((site_packages(env) / "_pytest").glob("__pycache__/*.pyc"))
    assert json.loads(info_path.read_text())["compiled"] is True


def test_a_moved_cache_is_rebuilt_and_says_why(task_dir: Path, tmp_path: Path) -> None:
    first, moved = tmp_path / "cache", tmp_path / "elsewhere" / "cache"
    task = load_task(task_dir)
    built = EnvironmentManager(first).get(task.environment, BaseStore(first).base_for(task))
    assert built.note == ""
    moved.parent.mkdir()
    shutil.move(first, moved)
    grader = Grader(bases=BaseStore(moved), envs=EnvironmentManager(moved))
    result = grade(GradeRequest(task, Submission("fix", "predictions", patch_text=FIX)), grader)
    assert result.behaviour.status == "resolved", result.behaviour.reason
    environment = result.proof.environment
    assert environment["reused"] is False
    assert environment["note"].startswith(
        f"the cache was moved: the environment {built.root.name} was built in {first}"
    )
    # Rebuilt where it now is: the next run reuses it, with nothing to say.
    again = EnvironmentManager(moved).get(task.environment, BaseStore(moved).base_for(task))
    assert again.reused is True and again.note == "" and str(again.python).startswith(str(moved))
