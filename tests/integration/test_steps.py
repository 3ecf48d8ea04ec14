"""steps.py with fake collaborators: what a stepped grading gives when the harness cannot build a state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_proofswe.errors import HarnessError
from pytest_proofswe.grading import Grader
from pytest_proofswe.modes.steps import grade_stepped, step_task
from pytest_proofswe.task import find_submissions, load_task
from tests.conftest import FIXTURES

PRICING = FIXTURES / "stepped" / "pricing-steps"


class _NoBase:
    def base_for(self, task: Any) -> Any:
        raise HarnessError(f"disk full while exporting {task.id}")


def test_a_base_that_cannot_be_built_makes_every_step_an_error() -> None:
    task = load_task(PRICING)
    tidy = next(s for s in find_submissions(task) if s.name == "tidy")
    got = grade_stepped(task, tidy, Grader(bases=_NoBase(), envs=None))  # type: ignore[arg-type]
    assert [r.task for r in got.results] == [f"pricing-steps.{s}" for s in ("1-discount", "2-tax", "3-coupons")]
    assert {r.behaviour.status for r in got.results} == {"error"}
    assert got.results[0].behaviour.reason == "disk full while exporting pricing-steps"
    assert got.trend is None and got.to_json()["decay"] is None


def test_a_step_is_an_ordinary_task_on_the_previous_state(tmp_path: Path) -> None:
    task = load_task(PRICING)
    two = step_task(task, task.steps[1], tmp_path)
    assert two.id == "pricing-steps.2-tax" and two.repo.path == tmp_path and two.steps == ()
    assert two.tests.fail_to_pass == ("tests/test_cart.py::test_tax",) and two.tests.timeout == 60
    assert two.issue_path == PRICING.resolve() / "steps" / "2-tax" / "issue.md"
    assert two.hidden_tests_dir is not None and two.gold_diff is not None
