"""Stepped tasks in task.toml: [[steps]], steps/<id>/, and one patch per step in each submission."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_proofswe.errors import TaskError
from pytest_proofswe.task import find_submissions, load_task
from tests.conftest import FIXTURES, write_task

STEPPED = """
title = "t"
[tests]
timeout = 30
deselect = ["tests/test_a.py::test_slow"]

[[steps]]
id = "first"
fail_to_pass = ["tests/test_a.py::test_one"]

[[steps]]
title = "Second"
fail_to_pass = ["tests/test_a.py::test_two"]
pass_to_pass = ["tests/test_a.py::test_one", "tests/test_a.py::test_slow"]
"""
STEP_FILES = {
    "repo/a.py": "x = 1\n",
    "steps/first/issue.md": "one\n",
    "steps/first/hidden_tests/tests/test_a.py": "def test_one(): pass\n",
    "steps/2/hidden_tests.diff": "",
    "steps/2/gold.diff": "",
}


def _task(tmp_path: Path, toml: str = STEPPED, **files: str) -> Path:
    return write_task(tmp_path / "stepped", toml, {**STEP_FILES, **files})


def test_a_stepped_task_loads_its_steps(tmp_path: Path) -> None:
    task = load_task(_task(tmp_path))
    first, second = task.steps
    assert (first.id, first.index, first.title) == ("first", 1, "")
    assert (second.id, second.index, second.title) == ("2", 2, "Second")  # the position when no id
    assert first.issue_path == task.root / "steps" / "first" / "issue.md" and second.issue_path is None
    assert first.hidden_tests_dir is not None and second.hidden_tests_diff is not None
    assert second.gold_diff == task.root / "steps" / "2" / "gold.diff" and first.gold_diff is None
    # [tests] is shared: each step has its own F2P/P2P, the run's settings, deselected tests left out.
    assert first.tests.timeout == second.tests.timeout == 30
    assert second.tests.pass_to_pass == ("tests/test_a.py::test_one",)
    assert task.tests.fail_to_pass == ()


def test_the_bundled_stepped_example() -> None:
    task = load_task(FIXTURES / "stepped" / "pricing-steps")
    assert [s.id for s in task.steps] == ["1-discount", "2-tax", "3-coupons"]
    subs = {s.name: s for s in find_submissions(task)}
    assert set(subs) == {"tidy", "bloat"}
    assert [step for step, _path in subs["bloat"].step_patches] == ["1-discount", "2-tax", "3-coupons"]
    assert all(s.problem is None for s in subs.values())


@pytest.mark.parametrize(
    ("toml", "files", "words"),
    [
        (
            STEPPED.replace("timeout = 30", 'fail_to_pass = ["x"]'),
            {},
            "[tests.fail_to_pass]: 'tests.fail_to_pass' is set",
        ),
        (STEPPED.replace('id = "first"', 'id = "a/b"'), {}, "cannot be used in a test id"),
        (STEPPED.replace('title = "Second"', 'id = "first"'), {}, "is used twice"),
        (
            STEPPED.replace('id = "first"\n', 'id = "first"\nfail_to_pas = ["x"]\n'),
            {},
            "did you mean 'steps.fail_to_pass'",
        ),
        (STEPPED.replace('fail_to_pass = ["tests/test_a.py::test_one"]', "fail_to_pass = []"), {}, "missing or empty"),
        ('title = "t"\nsteps = []\n', {}, "'steps' is empty"),
        ('title = "t"\nsteps = 3\n', {}, "must be a list of tables"),
        (STEPPED, {"steps/2/hidden_tests.diff": None}, "has no hidden tests"),
        (STEPPED, {"hidden_tests/tests/test_x.py": "x"}, "belong to its steps"),
        (
            STEPPED.replace('deselect = ["tests/test_a.py::test_slow"]', 'deselect = ["tests/test_a.py::test_one"]'),
            {},
            "names its FAIL_TO_PASS",
        ),
    ],
)
def test_invalid_steps_name_the_key_and_the_fix(
    tmp_path: Path, toml: str, files: dict[str, str | None], words: str
) -> None:
    root = _task(tmp_path, toml, **{k: v for k, v in files.items() if v is not None})
    for rel, text in files.items():
        if text is None:
            (root / rel).unlink()
    with pytest.raises(TaskError) as info:
        load_task(root)
    assert words in str(info.value)
    assert "fix:" in str(info.value)


def test_stepped_submissions_need_a_patch_for_every_step(tmp_path: Path) -> None:
    root = _task(
        tmp_path,
        **{
            "submissions/ok/steps/first.diff": "",
            "submissions/ok/steps/2.patch": "",
            "submissions/ok/meta.toml": 'agent = "x"\n',
            "submissions/short/steps/first.diff": "",
            "submissions/extra/steps/first.diff": "",
            "submissions/extra/steps/2.diff": "",
            "submissions/extra/steps/3.diff": "",
            "submissions/single.diff": "",
        },
    )
    subs = {s.name: s for s in find_submissions(load_task(root))}
    assert subs["ok"].problem is None and subs["ok"].meta == {"agent": "x"}
    assert [(step, path.name) for step, path in subs["ok"].step_patches] == [("first", "first.diff"), ("2", "2.patch")]
    assert "no patch for step(s) 2" in str(subs["short"].problem)
    assert "3.diff name(s) no step of the task" in str(subs["extra"].problem)
    assert "a stepped task takes one patch per step" in str(subs["single"].problem)
