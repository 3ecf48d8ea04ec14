"""The canary file: where it goes, what it holds, and the xfail markers read from hidden tests."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_proofswe.canary import plant
from pytest_proofswe.runner import build_command, outcomes_for, parse_junit
from pytest_proofswe.task import TestsSpec
from pytest_proofswe.xfailmarks import xfail_marked

SPEC = TestsSpec(fail_to_pass=("tests/test_a.py::test_f",), pass_to_pass=("tests/test_a.py::test_p",))


def test_planted_beside_the_first_hidden_test_under_a_random_name(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    one = plant(SPEC, tmp_path, rng=random.Random(1))
    two = plant(SPEC, tmp_path, rng=random.Random(2))
    assert one is not None and two is not None
    assert one.path.startswith("tests/test_") and one.path != two.path
    assert (tmp_path / one.path).read_text() == one.source
    assert one.must_fail.startswith(f"{one.path}::test_") and one.must_pass.startswith(f"{one.path}::test_")
    assert "proofswe" not in one.source and "canary" not in one.path  # nothing that gives it away
    assert one.expected() == {one.must_fail: "failed", one.must_pass: "passed"}


def test_canary_outcomes_are_the_expected_ones_in_a_real_run(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text("def test_f():\n    pass\n\n\ndef test_p():\n    pass\n")
    canary = plant(SPEC, tmp_path)
    assert canary is not None
    junit = tmp_path.parent / f"{tmp_path.name}-junit.xml"
    argv = build_command(SPEC, Path(sys.executable), junit, tmp_path, extra=canary.ids)
    assert argv[-1] == canary.ids[0].split("::")[0]  # the canaries' file, after every hidden test file
    assert {i.split("::")[0] for i in canary.ids} == {argv[-1]}
    subprocess.run(argv, cwd=tmp_path, capture_output=True, check=False)
    got = outcomes_for(canary.ids, parse_junit(junit))
    assert {t: o.outcome for t, o in got.items()} == canary.expected()


def test_a_linked_folder_is_not_used(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    (work / "tests").symlink_to(outside)
    canary = plant(SPEC, work)
    assert canary is not None and "/" not in canary.path  # at the workspace root, not through the link
    assert list(outside.iterdir()) == []


def test_no_canary_when_the_command_cannot_select_it(tmp_path: Path) -> None:
    spec = TestsSpec(fail_to_pass=SPEC.fail_to_pass, command="python -m pytest tests/test_a.py")
    assert plant(spec, tmp_path) is None
    assert list(tmp_path.iterdir()) == []
    with_ids = TestsSpec(fail_to_pass=SPEC.fail_to_pass, command="python -m pytest -x {tests}")
    assert plant(with_ids, tmp_path) is not None


HIDDEN = """
import pytest
from sympy.testing.pytest import XFAIL


def test_plain():
    assert work()


@pytest.mark.xfail(reason="known")
def test_marked():
    assert work()


@XFAIL
def test_sympy_style():
    assert work()


def test_imperative():
    pytest.xfail("not supported here")


class TestGroup:
    def test_method(self):
        assert work()


@pytest.mark.xfail
class TestMarked:
    def test_method(self):
        assert work()


class TestClassMark:
    pytestmark = pytest.mark.xfail

    def test_method(self):
        assert "a\\d"
"""


@pytest.mark.parametrize(
    ("test_id", "marked"),
    [
        ("tests/test_h.py::test_plain", False),
        ("tests/test_h.py::test_marked", True),
        ("tests/test_h.py::test_sympy_style", True),
        ("tests/test_h.py::test_imperative", True),
        ("tests/test_h.py::TestGroup::test_method", False),
        ("tests/test_h.py::TestMarked::test_method", True),
        ("tests/test_h.py::TestClassMark::test_method", True),
        ("tests/test_h.py::test_missing", False),
        ("tests/test_nofile.py::test_x", False),
    ],
)
def test_xfail_markers_read_from_the_hidden_test(tmp_path: Path, test_id: str, marked: bool) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_h.py").write_text(HIDDEN)
    assert (test_id in xfail_marked([test_id], tmp_path)) is marked


def test_module_level_marks_and_conftests(tmp_path: Path) -> None:
    (tmp_path / "tests" / "sub").mkdir(parents=True)
    (tmp_path / "tests" / "test_m.py").write_text(
        "import pytest\nCASES = [1, pytest.param(2, marks=pytest.mark.xfail)]\n\ndef test_x():\n    pass\n"
    )
    (tmp_path / "tests" / "sub" / "test_n.py").write_text("def test_y():\n    pass\n")
    assert xfail_marked(["tests/test_m.py::test_x[1]", "tests/sub/test_n.py::test_y"], tmp_path) == {
        "tests/test_m.py::test_x[1]"
    }
    (tmp_path / "tests" / "conftest.py").write_text("def pytest_collection_modifyitems(items):\n    'xfail some'\n")
    assert "tests/sub/test_n.py::test_y" in xfail_marked(["tests/sub/test_n.py::test_y"], tmp_path)
