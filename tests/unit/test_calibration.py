"""Weighted Cohen's kappa and the agreement figures, against values worked by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_proofswe.review import load_rubric
from pytest_proofswe.review.calibration import Example, agreement, find_examples, weighted_kappa


def test_weighted_kappa_by_hand() -> None:
    # human 4,2,5 vs model 4,3,5 on 1..5 with quadratic weights:
    # observed disagreement (1/16)(1/3) = 1/48; expected 21/144; kappa = 1 - (1/48)/(21/144) = 6/7
    assert weighted_kappa([4, 2, 5], [4, 3, 5]) == pytest.approx(6 / 7)
    assert weighted_kappa([1, 3, 5], [1, 3, 5]) == pytest.approx(1.0)
    assert weighted_kappa([1, 5], [5, 1]) == pytest.approx(-1.0)
    assert weighted_kappa([3, 3], [3, 3]) is None  # no variation: undefined, not a fake 1
    assert weighted_kappa([], []) is None


def test_agreement_rounds_medians_half_up() -> None:
    (a,) = agreement({"minimal": [(4, 3.5), (2, 2.0), (5, 4.0)]})
    assert (a.n, a.exact, a.within_one) == (3, pytest.approx(2 / 3), 1.0)


def test_find_examples_reports_bad_ones(tmp_path: Path) -> None:
    rubric = load_rubric("taste")
    good, bad, empty = tmp_path / "good", tmp_path / "bad", tmp_path / "empty"
    for folder in (good, bad, empty):
        folder.mkdir()
    (good / "patch.diff").write_text("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n")
    (good / "labels.toml").write_text("[scores]\nminimal = 5\n")
    (bad / "patch.diff").write_text("x")
    (bad / "labels.toml").write_text("[scores]\nminimal = 9\nmade_up = 3\n")
    found = find_examples(tmp_path, rubric)
    assert isinstance(found[2], Example) and found[2].labels == {"minimal": 5}
    assert "wrong: minimal, made_up" in str(found[0]) and "needs patch.diff and labels.toml" in str(found[1])
