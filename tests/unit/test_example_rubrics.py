"""The example rubrics users copy (rubrics/) and the rubrics shown in docs/rubrics.md stay valid."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from pytest_proofswe.review.rubric import load_rubric, parse_rubric
from tests.conftest import ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

EXAMPLES = sorted((ROOT / "rubrics").glob("*.toml"))
DOC = (ROOT / "docs" / "rubrics.md").read_text(encoding="utf-8")


def test_the_documented_examples_are_there() -> None:
    assert {p.name for p in EXAMPLES} >= {"team.toml", "security.toml", "minimal-diff.toml"}
    for path in EXAMPLES:  # each is listed in the docs' table
        assert f"(../rubrics/{path.name})" in DOC


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_each_example_loads_and_passes_check_rubric(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pytest_proofswe.__main__ import main

    rubric = load_rubric(str(path))
    assert rubric.name == path.stem and len(rubric.criteria) >= 3
    assert main(["check-rubric", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{rubric.name} {rubric.version}: {len(rubric.criteria)} criteria")
    # The docs' table lists the criteria with their weights.
    row = next(line for line in DOC.splitlines() if line.startswith(f"| [`{path.name}`]"))
    assert all(f"`{c.id}` ({c.weight:g})" in row for c in rubric.criteria)


def test_the_worked_example_is_the_file_in_rubrics() -> None:
    start = DOC.index("`rubrics/team.toml` (the same file")
    block = re.search(r"```toml\n(.*?)```", DOC[start:], re.DOTALL)
    assert block is not None
    assert block.group(1) == (ROOT / "rubrics" / "team.toml").read_text(encoding="utf-8")


def test_every_rubric_in_the_docs_is_valid(tmp_path: Path) -> None:
    blocks = re.findall(r"```toml\n(.*?)```", DOC, re.DOTALL)
    assert len(blocks) == 2  # the format, and the worked example
    for text in blocks:
        rubric = parse_rubric(tomllib.loads(text), tmp_path / "doc.toml", text.encode())
        assert all(len(c.scale) == 5 for c in rubric.criteria)
