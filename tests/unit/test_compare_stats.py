"""The formulas behind the agent comparisons (issue 13, item 1): checked against brute force and known values."""

from __future__ import annotations

import itertools
import math
import random
from fractions import Fraction

import pytest

from pytest_proofswe.compare import stats
from pytest_proofswe.compare.stats import (
    alias_table,
    binomial,
    clopper_pearson,
    holm,
    multinomial,
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
    # Past 1,023 differing tasks 2 / 2**n is below the smallest float: 0.0, not an OverflowError
    # (which ended the whole run's leaderboard on a SWE-bench-sized run).
    assert smallest_p(1023) == 2.0**-1022 and smallest_p(2294) == 0.0


def test_sign_flip_on_thousands_of_tasks_is_the_binomial_tail() -> None:
    # Single trials: every difference is +1 or -1, and the count of +1 signs is Binomial(m, 1/2).
    differences = [Fraction(1)] * 1200 + [Fraction(-1)] * 1100 + [Fraction(0)] * 50
    m, observed = 2300, 100
    tail = sum(math.comb(m, j) for j in range(m + 1) if abs(2 * j - m) >= observed)
    p, how = sign_flip_p(differences, random.Random(0))
    assert how == "exact" and p == pytest.approx(tail / 2**m, rel=1e-9)  # chances summed in floating point


def test_sign_flip_of_repeated_trials_against_every_pattern() -> None:
    """Differences of a few sizes, many of each (repeated trials: multiples of 1/3): the
    convolution of all sizes but one and the binomial tails of the last agree with counting
    the 2**m patterns one by one."""
    rng = random.Random(4)
    for _ in range(20):
        differences = [Fraction(rng.choice([-3, -2, -1, 1, 2, 3]), 3) for _ in range(rng.randint(2, 14))]
        p, how = sign_flip_p(differences, rng)
        assert how == "exact" and p == pytest.approx(_brute_force_p(differences), rel=1e-9)


def _pmf(n: int, p: float, k: int) -> float:
    return math.exp(
        math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * math.log(p) + (n - k) * math.log1p(-p)
    )


@pytest.mark.parametrize(
    ("n", "p"), [(1, 0.5), (7, 0.3), (50, 0.02), (300, 0.33), (2294, 0.5), (2294, 0.999), (100_000, 1e-4)]
)
def test_binomial_draws_follow_the_binomial_distribution(n: int, p: float) -> None:
    """Pearson's chi-square of 20,000 seeded draws against the exact probabilities, cells of
    at least 5 expected draws (the rest pooled): far beyond the 1-in-10,000 critical value
    means the draws are not Binomial(n, p). A sampler searching only one way from the mode,
    or stepping P(k) by a wrong ratio, lands far beyond it."""
    draws = 20_000
    rng = random.Random(n)
    seen: dict[int, int] = {}
    for _ in range(draws):
        k = binomial(n, p, rng)
        assert 0 <= k <= n
        seen[k] = seen.get(k, 0) + 1
    chi2, cells, pooled_expected, pooled_seen = 0.0, 0, 0.0, 0
    for k in range(n + 1):
        expected = draws * _pmf(n, p, k)
        if expected >= 5:
            chi2 += (seen.get(k, 0) - expected) ** 2 / expected
            cells += 1
        else:
            pooled_expected += expected
            pooled_seen += seen.get(k, 0)
    if pooled_expected >= 5:
        chi2 += (pooled_seen - pooled_expected) ** 2 / pooled_expected
        cells += 1
    else:
        assert pooled_seen <= 20
    freedom = max(cells - 1, 1)
    # Wilson-Hilferty: the chi-square quantile of 0.9999 (z = 3.72) with `freedom` degrees of freedom.
    critical = freedom * (1 - 2 / (9 * freedom) + 3.72 * math.sqrt(2 / (9 * freedom))) ** 3
    assert chi2 < critical, (chi2, freedom)


def test_binomial_edges() -> None:
    rng = random.Random(0)
    assert binomial(0, 0.5, rng) == 0 and binomial(10, 0.0, rng) == 0 and binomial(10, 1.0, rng) == 10
    assert {binomial(1, 0.5, rng) for _ in range(100)} == {0, 1}
    with pytest.raises(ValueError, match="n=-1"):
        binomial(-1, 0.5, rng)


def test_multinomial_counts() -> None:
    rng = random.Random(0)
    totals = [0, 0, 0, 0]
    for _ in range(2000):
        counts = multinomial(300, [2.0, 0.0, 1.0, 1.0], rng)
        assert sum(counts) == 300 and counts[1] == 0
        totals = [t + c for t, c in zip(totals, counts, strict=True)]
    # Each outcome's share of the 600,000 draws: 1/2, 0, 1/4, 1/4 (the chain of binomials is unbiased).
    assert [t / 600_000 for t in totals] == pytest.approx([0.5, 0.0, 0.25, 0.25], abs=0.003)
    assert multinomial(5, [1.0], rng) == [5] and multinomial(0, [1.0, 3.0], rng) == [0, 0]
    with pytest.raises(ValueError, match="weights"):
        multinomial(5, [0.0, 0.0], rng)
    with pytest.raises(ValueError, match="weights"):
        multinomial(5, [1.0, -1.0], rng)


def test_holm() -> None:
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([]) == []


def test_alias_table_draws_by_weight() -> None:
    weights = [5.0, 0.0, 1.0, 2.0, 0.5, 1.5]
    keep, alias = alias_table(weights)
    rng = random.Random(2)
    seen = [0] * len(weights)
    for _ in range(100_000):
        u = rng.random() * len(weights)
        i = int(u)
        seen[i if u - i < keep[i] else alias[i]] += 1
    assert [s / 100_000 for s in seen] == pytest.approx([w / 10.0 for w in weights], abs=0.005)
    assert seen[1] == 0  # a weight of 0 is never drawn
    with pytest.raises(ValueError, match="weights"):
        alias_table([0.0, 0.0])
