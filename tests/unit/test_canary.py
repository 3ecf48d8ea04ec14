"""The canary file: where it goes, what it holds, and the xfail markers read from hidden tests."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_proofswe.harness.canary import plant
from pytest_proofswe.harness.runner import build_command, outcomes_for, parse_junit
from pytest_proofswe.harness.xfailmarks import xfail_marked
from pytest_proofswe.task import TestsSpec

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


def test_the_proof_records_the_file_and_the_ids(tmp_path: Path) -> None:
    canary = plant(SPEC, tmp_path)
    assert canary is not None
    assert canary.to_json() == {"path": canary.path, "must_fail": canary.must_fail, "must_pass": canary.must_pass}
    assert canary.ids == (canary.must_fail, canary.must_pass)


def test_hidden_tests_at_the_root_put_the_canary_at_the_root(tmp_path: Path) -> None:
    canary = plant(TestsSpec(fail_to_pass=("test_a.py::test_f",)), tmp_path, rng=random.Random(3))
    assert canary is not None and "/" not in canary.path and canary.path.startswith("test_")
    assert canary.must_fail.startswith(f"{canary.path}::test_")


@pytest.mark.parametrize(
    "first",
    [
        "{outside}/test_o.py::test_x",  # absolute: not a folder of the workspace
        "../outside/test_o.py::test_x",
        "tests/test_a.py::test_x[a/b::c]",  # the file is what comes before the first "::"
    ],
)
def test_the_folder_is_the_first_one_inside_the_workspace(tmp_path: Path, first: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    ws = tmp_path / "ws"
    (ws / "tests" / "unit").mkdir(parents=True)
    spec = TestsSpec(fail_to_pass=(first.format(outside=outside),), pass_to_pass=("tests/unit/test_b.py::test_y",))
    canary = plant(spec, ws)
    assert canary is not None and list(outside.iterdir()) == []
    expected = "tests" if first.startswith("tests/") else "tests/unit"
    assert canary.path.rsplit("/", 1)[0] == expected and (ws / canary.path).is_file()


@pytest.mark.parametrize("taken", ["file", "dangling symlink"])
def test_a_name_already_taken_is_never_written_over(tmp_path: Path, taken: str) -> None:
    scratch = tmp_path / "scratch"
    (scratch / "tests").mkdir(parents=True)
    first = plant(SPEC, scratch, rng=random.Random(7))  # the name the same draws give first
    assert first is not None
    ws = tmp_path / "ws"
    (ws / "tests").mkdir(parents=True)
    target = tmp_path / "target.py"
    if taken == "file":
        (ws / first.path).write_text("# the submission's own\n")
    else:
        (ws / first.path).symlink_to(target)
    canary = plant(SPEC, ws, rng=random.Random(7))
    assert canary is not None and canary.path != first.path and canary.path.startswith("tests/test_")
    assert (ws / canary.path).read_text() == canary.source
    if taken == "file":
        assert (ws / first.path).read_text() == "# the submission's own\n"
    else:
        assert not target.exists()


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


class TestMixed:
    def test_plain(self):
        assert work()

    @pytest.mark.xfail
    def test_marked(self):
        assert work()
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
        ("tests/test_h.py::TestMixed::test_plain", False),  # another method's marker is not its own
        ("tests/test_h.py::TestMixed::test_marked", True),
        ("tests/test_h.py::TestMixed", True),  # an id that names a class: its whole source
        ("tests/test_h.py::TestGroup", False),
        ("tests/test_h.py::test_marked[a b]", True),  # parametrised: the function's source
        ("tests/test_h.py::test_marked[x[1]]", True),
        ("tests/test_h.py::test_plain[x[1]]", False),
        ("tests/test_h.py", False),  # a file, not a test
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


def test_only_files_inside_the_workspace_are_read(tmp_path: Path) -> None:
    marked = "import pytest\n\n\n@pytest.mark.xfail\ndef test_x():\n    pass\n"
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "test_o.py").write_text(marked)
    ws = tmp_path / "ws"
    (ws / "tests").mkdir(parents=True)
    (ws / "tests" / "test_w.py").write_text(marked)
    ids = [
        "tests",  # no test named: skipped, and the ids after it are still read
        f"{tmp_path}/outside/test_o.py::test_x",
        "../outside/test_o.py::test_x",
        "tests/test_w.py::test_x",
    ]
    assert xfail_marked(ids, ws) == {"tests/test_w.py::test_x"}


def test_each_id_is_read_after_one_a_conftest_declares(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "conftest.py").write_text("# xfail what the platform cannot run\n")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "test_b.py").write_text("import pytest\n\n\n@pytest.mark.xfail\ndef test_x():\n    pass\n")
    assert xfail_marked(["a/test_a.py::test_y", "b/test_b.py::test_x"], tmp_path) == {
        "a/test_a.py::test_y",
        "b/test_b.py::test_x",
    }


def test_files_that_are_not_utf8_are_read_all_the_same(tmp_path: Path) -> None:
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "test_l.py").write_bytes(
        b"# caf\xe9 (latin-1)\nimport pytest\n\n\n@pytest.mark.xfail\ndef test_x():\n    pass\n"
    )
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "conftest.py").write_bytes(b"# caf\xe9: xfail on this platform\n")
    assert xfail_marked(["t/test_l.py::test_x", "c/test_c.py::test_y"], tmp_path) == {
        "t/test_l.py::test_x",
        "c/test_c.py::test_y",
    }
