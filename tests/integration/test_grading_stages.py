"""The grading's stages: each one that ran is timed under its name, and an early exit skips the rest."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pytest_proofswe.errors import ProofsweError
from pytest_proofswe.grading import STAGES, Grader, GradeRequest, grade
from pytest_proofswe.harness.environment import Environment
from pytest_proofswe.harness.workspace import Base, BaseStore
from pytest_proofswe.result import GradeResult
from pytest_proofswe.task import EnvironmentSpec, Submission, load_task
from tests.conftest import write_task

FIX = "--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"
STALE = "--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x = 41\n+x = 42\n"  # a.py never had x = 41


class HostEnvironment:
    """An EnvironmentProvider that builds nothing: the tests run with this interpreter (it has pytest)."""

    def __init__(self, error: str | None = None) -> None:
        self.error = error
        self.calls = 0

    def get(self, spec: EnvironmentSpec, base: Base, *, need_pytest: bool = True) -> Environment:
        self.calls += 1
        if self.error is not None:
            raise ProofsweError(self.error)
        return Environment(
            key="host",
            root=base.tree,
            python=Path(sys.executable),
            python_version="host",
            import_roots=("",),
            artefacts=(),
            installed_names=frozenset(),
            entry_point_plugins=(),
            packages={},
            variables=(),
            reused=True,
        )


@pytest.fixture
def task_dir(tmp_path: Path) -> Path:
    return write_task(
        tmp_path / "stages",
        '[tests]\nfail_to_pass = ["test_a.py::test_a"]\n',
        {"repo/a.py": "x = 1\n", "hidden_tests/test_a.py": "from a import x\n\n\ndef test_a():\n    assert x == 2\n"},
    )


def run(task_dir: Path, tmp_path: Path, envs: HostEnvironment, patch: str) -> GradeResult:
    grader = Grader(bases=BaseStore(tmp_path / "cache"), envs=envs)
    return grade(GradeRequest(load_task(task_dir), Submission("sub", "predictions", patch_text=patch)), grader)


def test_every_stage_that_ran_is_timed_in_order(task_dir: Path, tmp_path: Path) -> None:
    result = run(task_dir, tmp_path, HostEnvironment(), FIX)
    assert result.behaviour.status == "resolved", result.behaviour.reason
    assert tuple(result.timings) == STAGES  # all of them ran, in this order
    assert all(seconds >= 0 for seconds in result.timings.values())
    assert result.to_json()["taste"]["status"] == "scored"
    assert result.review is not None and result.review.status == "skipped"  # no model: the stage ran, and said so
    assert sum(result.timings.values()) <= result.duration_s


def test_a_patch_that_does_not_apply_skips_every_later_stage(task_dir: Path, tmp_path: Path) -> None:
    envs = HostEnvironment()
    result = run(task_dir, tmp_path, envs, STALE)
    assert result.behaviour.status == "patch_failed"
    assert "a.py" in result.behaviour.reason and "hunk #1" in result.behaviour.reason
    assert tuple(result.timings) == ("base", "hash", "parse", "workspace", "patch", "session")
    assert envs.calls == 0  # environment, guard, overlay, tests and verdict never ran
    report = result.to_json()
    for grade_of_change in ("taste", "review"):
        assert report[grade_of_change]["status"] == "skipped"
        assert report[grade_of_change]["reason"] == "the patch did not apply"
    assert report["session"]["status"] == "skipped"  # graded all the same: there is no transcript
    assert report["patch"]["files"] == [{"path": "a.py", "kind": "modify"}] and report["patch"]["applied_with"] is None
    assert report["proof"]["commands"]  # the attempts to apply it


def test_a_patch_that_does_not_parse_ends_after_the_parse_stage(task_dir: Path, tmp_path: Path) -> None:
    result = run(task_dir, tmp_path, HostEnvironment(), "this is not a diff\n")
    assert result.behaviour.status == "patch_failed" and result.behaviour.reason
    assert tuple(result.timings) == ("base", "hash", "parse", "session")
    assert result.taste is None and result.review is None
    assert result.patch.files == () and result.proof.commands == ()


def test_a_broken_environment_ends_the_behaviour_but_not_the_grades_of_the_change(
    task_dir: Path, tmp_path: Path
) -> None:
    result = run(task_dir, tmp_path, HostEnvironment(error="the setup command failed (exit 7)"), FIX)
    assert result.behaviour.status == "error"
    assert result.behaviour.reason == "the setup command failed (exit 7)"
    assert tuple(result.timings) == tuple(s for s in STAGES if s not in ("overlay", "tests", "verdict"))
    assert result.to_json()["taste"]["status"] == "scored"
    assert result.patch.applied_with == "git apply"
