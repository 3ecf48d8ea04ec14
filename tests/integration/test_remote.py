"""What a Ray node runs: a Grader made from GraderSettings, and error results that name the node."""

from __future__ import annotations

import pickle
import shutil
import socket
from pathlib import Path

import pytest

from pytest_proofswe import remote
from pytest_proofswe.grading import GradeRequest
from pytest_proofswe.harness import sandbox
from pytest_proofswe.remote import GraderSettings, build_grader, grade_on_node
from pytest_proofswe.task import find_submissions, load_task
from tests.conftest import TASKS

COUNTING = """
CALLS = []


def wrap(grade):
    def fake(request):
        from pytest_proofswe.remote import error_result

        CALLS.append(request.submission.name)
        return error_result(request, f"fake grading {len(CALLS)}")

    return fake
"""


@pytest.fixture
def request_copy(tmp_path: Path) -> GradeRequest:
    """The minimal submission of a copy of inventory-restock."""
    task = load_task(shutil.copytree(TASKS / "inventory-restock", tmp_path / "inventory-restock"))
    return GradeRequest(task, next(s for s in find_submissions(task) if s.name == "minimal"))


def test_settings_and_requests_travel(request_copy: GradeRequest, tmp_path: Path) -> None:
    settings = GraderSettings(cache_dir=tmp_path, hidden=(tmp_path,), sandbox="bwrap")
    assert pickle.loads(pickle.dumps((request_copy, settings))) == (request_copy, settings)


def test_a_node_without_the_task_folder_says_which_node_and_what_to_do(
    request_copy: GradeRequest, tmp_path: Path
) -> None:
    shutil.rmtree(request_copy.task.root)
    result = grade_on_node(request_copy, GraderSettings(cache_dir=tmp_path))
    assert result.behaviour.status == "error"
    assert result.behaviour.reason.startswith(
        f"node {socket.gethostname()} cannot grade: the task folder {request_copy.task.root} is not there "
        "(fix: give every node the tasks and the cache at the same paths as the controller"
    )


def test_a_node_where_bubblewrap_cannot_work_grades_nothing_unsandboxed(
    request_copy: GradeRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(remote, "_node_grader", None)
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap here
    sandbox.probe_bwrap.cache_clear()
    try:
        result = grade_on_node(request_copy, GraderSettings(cache_dir=tmp_path, sandbox="bwrap"))
    finally:
        sandbox.probe_bwrap.cache_clear()
    assert result.behaviour.status == "error"
    assert f"node {socket.gethostname()} cannot grade: --proofswe-sandbox=bwrap: bubblewrap is not installed" in (
        result.behaviour.reason
    )


@pytest.mark.skipif(not sandbox.probe_bwrap().works, reason="bubblewrap does not work on this machine")
def test_the_nodes_own_home_is_hidden_as_well_as_the_controllers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    controller_home, node_home = tmp_path / "controller-home", tmp_path / "node-home"
    controller_home.mkdir()
    node_home.mkdir()
    monkeypatch.setenv("HOME", str(node_home))
    grader = build_grader(GraderSettings(cache_dir=tmp_path, sandbox="bwrap", hidden=(controller_home,)))
    assert isinstance(grader.sandbox, sandbox.BwrapSandbox)
    assert {controller_home, node_home} <= set(grader.sandbox.hidden)


def test_a_process_makes_its_grader_once_per_settings(
    request_copy: GradeRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(remote, "_node_grader", None)
    (tmp_path / "counting.py").write_text(COUNTING)
    settings = GraderSettings(cache_dir=tmp_path, testing_wrapper=f"{tmp_path / 'counting.py'}:wrap")
    first = grade_on_node(request_copy, settings)
    second = grade_on_node(request_copy, settings)
    # One grading function (one Grader, its environments memoised) for both calls ...
    assert (first.behaviour.reason, second.behaviour.reason) == ("fake grading 1", "fake grading 2")
    # Equal settings (another value, as each Ray call brings its own): the same Grader still ...
    other = grade_on_node(request_copy, GraderSettings(cache_dir=tmp_path, testing_wrapper=settings.testing_wrapper))
    assert other.behaviour.reason == "fake grading 3"
    # ... and a new one when the settings change.
    changed = GraderSettings(cache_dir=tmp_path, rubric="review-quality", testing_wrapper=settings.testing_wrapper)
    assert grade_on_node(request_copy, changed).behaviour.reason == "fake grading 1"


def test_a_bad_testing_wrapper_is_named(tmp_path: Path) -> None:
    for spec in ("nothing", f"{tmp_path / 'absent.py'}:wrap", f"{tmp_path}:wrap"):
        with pytest.raises(ValueError, match=r"PROOFSWE_TESTING_GRADE_WRAPPER=.*: expected FILE\.py:NAME"):
            remote.wrap_for_testing(lambda request: request, spec)  # type: ignore[arg-type,return-value]
