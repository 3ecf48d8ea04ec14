"""The result cache's key changes with every input of a grade, and only stores what is safe to serve."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pytest_proofswe.grading import Grader, GradeRequest
from pytest_proofswe.harness.environment import EnvironmentManager
from pytest_proofswe.harness.workspace import BaseStore
from pytest_proofswe.result import BehaviourResult, GradeResult, PatchSummary, Proof
from pytest_proofswe.resultcache import ResultCache, settings_fingerprint
from pytest_proofswe.task import Submission, load_task
from pytest_proofswe.taste import TasteConfig
from tests.conftest import write_task

PATCH = "--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Grader]:
    task_dir = write_task(
        tmp_path / "t",
        '[tests]\nfail_to_pass = ["test_m.py::test_m"]\n',
        {"repo/m.py": "x = 1\n", "hidden_tests/test_m.py": "def test_m():\n    pass\n", "gold.diff": PATCH},
    )
    cache = tmp_path / "cache"
    return task_dir, Grader(bases=BaseStore(cache), envs=EnvironmentManager(cache))


def key(task_dir: Path, grader: Grader, patch: str = PATCH, settings: str = "s", **sub: object) -> str:
    submission = Submission(**{"name": "a", "origin": "predictions", "patch_text": patch, **sub})  # type: ignore[arg-type]
    return ResultCache(Path("/nowhere"), settings).key(GradeRequest(load_task(task_dir), submission), grader)


def test_the_key_follows_each_input(setup: tuple[Path, Grader], tmp_path: Path) -> None:
    task_dir, grader = setup
    first = key(task_dir, grader)
    assert key(task_dir, grader) == first  # deterministic
    assert key(task_dir, grader, patch=PATCH + "\n") != first
    assert key(task_dir, grader, settings="other") != first
    assert key(task_dir, grader, name="b") != first
    assert key(task_dir, grader, meta={"agent": "x"}) != first
    transcript = tmp_path / "s.jsonl"
    transcript.write_text("{}\n")
    with_session = key(task_dir, grader, session_path=transcript)
    assert with_session != first
    transcript.write_text("{}\n{}\n")
    assert key(task_dir, grader, session_path=transcript) != with_session
    for rel, text in (
        ("gold.diff", PATCH + "\n"),
        ("issue.md", "an issue\n"),
        ("hidden_tests/test_m.py", "def test_m():\n    assert 1\n"),
        ("repo/m.py", "x = 1\n\n"),
        ("task.toml", '[tests]\nfail_to_pass = ["test_m.py::test_m"]\ntimeout = 5\n'),
    ):
        before = key(task_dir, grader)
        (task_dir / rel).write_text(text)
        # A new run (the base store remembers a task's base state for the run's duration).
        grader = Grader(bases=BaseStore(tmp_path / "cache"), envs=EnvironmentManager(tmp_path / "cache"))
        assert key(task_dir, grader) != before, rel


def test_the_settings_fingerprint_follows_the_run_settings(setup: tuple[Path, Grader]) -> None:
    _task_dir, grader = setup
    base = settings_fingerprint(grader)
    assert settings_fingerprint(grader) == base
    stricter = dataclasses.replace(grader, taste_config=TasteConfig(min_score=90))
    assert settings_fingerprint(stricter) != base
    assert settings_fingerprint(dataclasses.replace(grader, session_thresholds={"max_loops": 1})) != base
    assert settings_fingerprint(grader, [__file__]) != base  # a plugin adds taste findings


def result(status: str = "resolved", workspace: str | None = None) -> GradeResult:
    return GradeResult("t", "a", BehaviourResult(status), PatchSummary("x"), Proof(), 1.0, workspace=workspace)  # type: ignore[arg-type]


def test_only_results_safe_to_serve_are_stored_and_bad_files_are_misses(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path / "results", "s")
    assert cache.put("ab" * 32, result()) is True
    served = cache.get("ab" * 32)
    assert served is not None and served.cached is True and served.behaviour.status == "resolved"
    assert cache.put("cd" * 32, result("error")) is False  # an environment that did not build: tried again
    assert cache.put("ef" * 32, result(workspace="/kept")) is False
    assert cache.get("cd" * 32) is None and cache.get("ef" * 32) is None
    (tmp_path / "results" / "12").mkdir()
    (tmp_path / "results" / "12" / f"{'12' * 32}.pickle").write_bytes(b"not a pickle")
    assert cache.get("12" * 32) is None
