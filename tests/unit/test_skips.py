"""A skip counts as the machine's only when pytest says it came from a file the submission did not write."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pytest_proofswe.harness.runner import TestOutcome, parse_junit
from pytest_proofswe.harness.skips import untrusted_skips
from pytest_proofswe.harness.verdict import decide


def skipped(test_id: str, where: str) -> TestOutcome:
    return TestOutcome(test_id, "skipped", "why", where)


@pytest.fixture
def trees(tmp_path: Path) -> tuple[Path, Path, Path]:
    base, ws, env = tmp_path / "base", tmp_path / "ws", tmp_path / "env"
    for root in (base, ws):
        (root / "pkg").mkdir(parents=True)
        (root / "pkg" / "same.py").write_text("x = 1\n")
        (root / "pkg" / "edited.py").write_text("y = 1\n")
    (ws / "pkg" / "edited.py").write_text("y = 2\n")  # the submission changed it
    (ws / "pkg" / "added.py").write_text("z = 1\n")  # and added this
    (ws / "tests").mkdir()
    (ws / "tests" / "test_hidden.py").write_text("def test(): pass\n")
    (env / "lib").mkdir(parents=True)
    return base, ws, env


def judge(trees: tuple[Path, Path, Path], *outcomes: TestOutcome) -> dict[str, str]:
    base, ws, env = trees
    return dict(
        untrusted_skips(
            outcomes, workspace=ws, base_tree=base, laid_by_harness={"tests/test_hidden.py"}, trusted_roots=[env]
        )
    )


def test_skips_from_files_the_submission_did_not_write_are_trusted(trees: tuple[Path, Path, Path]) -> None:
    _base, ws, env = trees
    assert (
        judge(
            trees,
            skipped("a", str(ws / "pkg" / "same.py")),  # unchanged base file
            skipped("b", "pkg/same.py"),  # relative form
            skipped("c", str(ws / "tests" / "test_hidden.py")),  # laid by the harness
            skipped("d", str(env / "lib" / "plugin.py")),  # the environment
            skipped("e", ""),  # no location recorded
            TestOutcome("f", "passed"),
            TestOutcome("g", "xfailed", "", ""),
        )
        == {}
    )


def test_skips_from_files_the_submission_wrote_are_not(trees: tuple[Path, Path, Path], tmp_path: Path) -> None:
    _base, ws, _env = trees
    got = judge(
        trees,
        skipped("edited", str(ws / "pkg" / "edited.py")),
        skipped("added", str(ws / "pkg" / "added.py")),
        skipped("dotdot", str(ws / "pkg" / ".." / "pkg" / "added.py")),
        skipped("tmp", str(tmp_path / "elsewhere.py")),
        skipped("escape", str(ws / ".." / "env" / ".." / "outside.py")),
    )
    assert set(got) == {"edited", "added", "dotdot", "tmp", "escape"}
    assert got["edited"] == (
        "skipped by pkg/edited.py, a file the submission added or changed: a skip raised by the code under "
        "test does not count as a pass"
    )
    assert got["dotdot"].startswith("skipped by pkg/added.py,")
    assert got["tmp"].startswith(f"skipped by {tmp_path / 'elsewhere.py'}, a file outside the workspace")


def test_a_base_file_rewritten_during_the_run_is_not_trusted(trees: tuple[Path, Path, Path]) -> None:
    _base, ws, _env = trees
    (ws / "pkg" / "same.py").write_text("import pytest\npytest.skip('x')\n")
    assert set(judge(trees, skipped("a", str(ws / "pkg" / "same.py")))) == {"a"}


def test_a_symlink_to_a_base_file_is_not_trusted(trees: tuple[Path, Path, Path]) -> None:
    base, ws, _env = trees
    (ws / "pkg" / "link.py").symlink_to(ws / "pkg" / "same.py")
    (base / "pkg" / "link.py").symlink_to(base / "pkg" / "same.py")
    assert set(judge(trees, skipped("a", str(ws / "pkg" / "link.py")))) == {"a"}


def test_the_verdict_fails_an_untrusted_skip_in_either_list() -> None:
    outcomes = {"f": skipped("f", "x.py"), "p": skipped("p", "x.py"), "q": skipped("q", "t.py")}
    untrusted = {"f": "skipped by x.py, ...", "p": "skipped by x.py, ..."}
    v = decide(["f"], ["p", "q"], outcomes, untrusted_skips=untrusted)
    assert v.status == "unresolved"
    assert v.pass_to_pass.failed == ("p",) and v.pass_to_pass.passed == ("q",) and v.pass_to_pass.skipped == ("q",)
    assert v.pass_to_pass.reasons == {"p": "skipped by x.py, ..."}
    assert v.fail_to_pass.reasons == {"f": "skipped by x.py, ..."}
    assert decide(["f"], ["p", "q"], {**outcomes, "f": TestOutcome("f", "passed")}).status == "resolved"


def test_pytest_records_where_each_skip_came_from(tmp_path: Path) -> None:
    """The JUnit text pytest writes for each kind of skip, read back (real pytest, not a hand-written file)."""
    (tmp_path / "helper.py").write_text("import pytest\n\ndef bail():\n    pytest.skip('from the helper')\n")
    (tmp_path / "test_k.py").write_text(
        "import unittest\nimport pytest\nimport helper\n\n"
        "@pytest.mark.skip(reason='marked')\ndef test_mark(): pass\n\n"
        "@pytest.mark.skipif(True, reason='cond')\ndef test_skipif(): pass\n\n"
        "def test_inline(): pytest.skip('inline')\n\n"
        "def test_helper(): helper.bail()\n\n"
        "def test_importorskip(): pytest.importorskip('no_such_module_here')\n\n"
        "class TestU(unittest.TestCase):\n    @unittest.skip('unittest')\n    def test_u(self): pass\n"
    )
    junit = tmp_path / "j.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}", "test_k.py"],
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    cases = {name: case for (_cls, name), case in parse_junit(junit).cases.items()}
    where = {name: Path(case.skip_path).name for name, case in cases.items()}
    assert {c.outcome for c in cases.values()} == {"skipped"}
    assert where == {
        "test_mark": "test_k.py",
        "test_skipif": "test_k.py",
        "test_inline": "test_k.py",
        "test_helper": "helper.py",
        "test_importorskip": "test_k.py",
        "test_u": "test_k.py",
    }


def test_each_skip_is_judged_whatever_comes_before_it(trees: tuple[Path, Path, Path]) -> None:
    _base, ws, _env = trees
    got = judge(trees, TestOutcome("p", "passed"), skipped("s", ""), skipped("a", str(ws / "pkg" / "added.py")))
    assert set(got) == {"a"}


def test_paths_are_folded_as_posix_does_at_the_root(trees: tuple[Path, Path, Path]) -> None:
    """``..`` above the root is the root; a ``..`` just below it goes back to the root."""
    _base, ws, env = trees
    top = ws.parts[1]
    got = judge(
        trees,
        skipped("above", "/.." + str(env / "lib" / "plugin.py")),
        skipped("below", f"/{top}/../{ws.relative_to('/')}/pkg/same.py"),
        skipped("below-added", f"/{top}/../{ws.relative_to('/')}/pkg/added.py"),
    )
    assert got == {
        "below-added": "skipped by pkg/added.py, a file the submission added or changed: a skip raised by the "
        "code under test does not count as a pass"
    }


def test_a_path_that_cannot_be_read_is_not_trusted(trees: tuple[Path, Path, Path]) -> None:
    """A location the run made up (code can name its own file anything) that the file system refuses."""
    assert set(judge(trees, skipped("long", "pkg/" + "x" * 300 + ".py"))) == {"long"}
