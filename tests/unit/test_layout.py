"""The layout the hidden tests need: a submission that breaks it is told where."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_proofswe.harness.layout import LayoutBroken, check_layout


def test_a_folder_replaced_by_a_file_or_a_symlink_is_named(tmp_path: Path) -> None:
    (tmp_path / "tests").write_text("not a folder\n")
    with pytest.raises(LayoutBroken, match=r"replaced the folder tests/ by a file, so the hidden test tests/a/t\.py"):
        check_layout(tmp_path, ["tests/a/t.py"])
    (tmp_path / "tests").unlink()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "tests").symlink_to("elsewhere")
    with pytest.raises(LayoutBroken, match="by a symlink"):
        check_layout(tmp_path, ["tests/t.py"])


def test_a_folder_where_a_test_file_goes(tmp_path: Path) -> None:
    (tmp_path / "tests" / "t.py").mkdir(parents=True)
    with pytest.raises(LayoutBroken, match=r"a folder where the hidden test tests/t\.py goes"):
        check_layout(tmp_path, ["tests/t.py"])
    check_layout(tmp_path, ["tests/t.py"], restored={"tests/t.py"})  # put back to the base state first


def test_missing_folders_and_files_are_fine(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "t.py").write_text("x = 1\n")
    check_layout(tmp_path, ["tests/t.py", "tests/new/deep/t2.py", "other/t3.py"])


def test_a_deeper_folder_replaced_by_a_file_is_named_by_its_whole_path(tmp_path: Path) -> None:
    (tmp_path / "tests" / "unit").mkdir(parents=True)
    (tmp_path / "tests" / "unit" / "io").write_text("not a folder\n")
    with pytest.raises(LayoutBroken, match=r"replaced the folder tests/unit/io/ by a file, .* tests/unit/io/t\.py"):
        check_layout(tmp_path, ["tests/ok.py", "tests/unit/io/t.py"])
