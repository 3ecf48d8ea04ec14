"""The formulas behind the agent comparisons (issue 13, item 1): checked against brute force and known values."""

from __future__ import annotations

import itertools
import random
from fractions import Fraction

import pytest

from pytest_proofswe.compare import stats
from pytest_proofswe.compare.stats import (
    clopper_pearson,
    holm,
    pass_at_k,
    pass_hat_k,
    percentile_interval,
    sign_flip_p,
    smallest_p,
)


def test_pass_at_k_matches_humaneval() -> None:
    # Chen et al. 2021: 1 - C(n-c, k) / C(n, k); n=10, c=3.
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    assert pass_at_k(10, 3, 5) == pytest.approx(1 - 21 / 252)
    assert pass_at_k(10, 0, 5) == 0.0 and pass_at_k(10, 6, 5) == 1.0  # fewer than k failures: always one success


def test_pass_hat_k_is_every_one_of_k() -> None:
    # tau-bench's pass^k: C(c, k) / C(n, k).
    assert pass_hat_k(10, 3, 2) == pytest.approx(3 / 45)
    assert pass_hat_k(3, 3, 3) == 1.0 and pass_hat_k(3, 2, 3) == 0.0
    assert pass_hat_k(4, 2, 1) == pass_at_k(4, 2, 1) == 0.5  # k = 1: both are the success rate


@pytest.mark.parametrize("n", [1, 2, 3, 5, 6])
def test_pass_at_k_and_pass_hat_k_against_every_subset(n: int) -> None:
    """Both estimators are the share of the k-subsets of the n trials with some (every) success."""
    for c in range(n + 1):
        outcomes = [True] * c + [False] * (n - c)
        for k in range(1, n + 1):
            subsets = list(itertools.combinations(outcomes, k))
            assert pass_at_k(n, c, k) == pytest.approx(sum(any(s) for s in subsets) / len(subsets))
            assert pass_hat_k(n, c, k) == pytest.approx(sum(all(s) for s in subsets) / len(subsets))


@pytest.mark.parametrize(("n", "c", "k"), [(3, 4, 1), (3, -1, 1), (3, 1, 0), (3, 1, 4)])
def test_impossible_counts_are_refused(n: int, c: int, k: int) -> None:
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_clopper_pearson_known_values() -> None:
    # R: binom.test(5, 10)$conf.int -> 0.1870860 0.8129140
    low, high = clopper_pearson(5, 10, 0.95)
    assert (low, high) == (pytest.approx(0.1870860, abs=1e-6), pytest.approx(0.8129140, abs=1e-6))
    assert clopper_pearson(3, 3, 0.95) == (pytest.approx(0.025 ** (1 / 3)), 1.0)
    assert clopper_pearson(0, 5, 0.95) == (0.0, pytest.approx(1 - 0.025 ** (1 / 5)))


def test_percentile_interval() -> None:
    values = [float(v) for v in range(101)]
    assert percentile_interval(values, 0.95) == (pytest.approx(2.5), pytest.approx(97.5))
    assert percentile_interval([0.4], 0.95) == (0.4, 0.4)


def _brute_force_p(differences: list[Fraction]) -> float:
    observed = abs(sum(differences))
    patterns = list(itertools.product((1, -1), repeat=len(differences)))
    extreme = sum(
        1 for signs in patterns if abs(sum(s * d for s, d in zip(signs, differences, strict=True))) >= observed
    )
    return extreme / len(patterns)


def test_sign_flip_is_exact() -> None:
    rng = random.Random(0)
    assert sign_flip_p([Fraction(1)] * 3, rng) == (0.25, "exact")  # 2 of the 8 patterns are as extreme
    assert sign_flip_p([Fraction(0)] * 4, rng) == (1.0, "exact")  # no task tells them apart
    for _ in range(30):
        differences = [
            Fraction(rng.randint(0, 3), 3) - Fraction(rng.randint(0, 2), 2) for _ in range(rng.randint(1, 9))
        ]
        nonzero = [d for d in differences if d]
        p, how = sign_flip_p(differences, rng)
        assert how == "exact"
        assert p == pytest.approx(_brute_force_p(nonzero) if nonzero else 1.0)


def test_sign_flip_falls_back_to_monte_carlo(monkeypatch: pytest.MonkeyPatch) -> None:
    differences = [Fraction(1, 3), Fraction(2, 3), Fraction(-1, 2), Fraction(1), Fraction(1, 6), Fraction(1, 2)]
    exact, _ = sign_flip_p(differences, random.Random(1))
    monkeypatch.setattr(stats, "EXACT_MAX_SUMS", 4)
    p, how = sign_flip_p(differences, random.Random(1), resamples=20_000)
    assert how == "monte-carlo" and p == pytest.approx(exact, abs=0.01)


def test_smallest_p() -> None:
    assert smallest_p(0) == 1.0 and smallest_p(1) == 1.0 and smallest_p(3) == 0.25 and smallest_p(6) == 2 / 64


def test_holm() -> None:
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([]) == []
