"""The statistics of agent comparisons (pure, standard library only).

* :func:`pass_at_k`: the unbiased estimator of Chen et al. 2021 (HumanEval): the chance
  that at least one of ``k`` trials drawn without replacement from ``n`` succeeds.
* :func:`pass_hat_k`: tau-bench's pass^k: the chance that every one of ``k`` such trials
  succeeds.
* :func:`percentile_interval`, :func:`clopper_pearson`: the interval of a bootstrap
  distribution, and the exact interval used when every task gave the same outcome (where
  resampling cannot show any uncertainty).
* :func:`sign_flip_p`: a paired permutation test on per-task differences (exact up to
  a few hundred thousand distinct totals), and :func:`holm` to adjust a family of p-values.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from fractions import Fraction

__all__ = [
    "EXACT_MAX_SUMS",
    "clopper_pearson",
    "holm",
    "pass_at_k",
    "pass_hat_k",
    "percentile_interval",
    "sign_flip_p",
    "smallest_p",
]

#: The sign-flip test counts its null distribution exactly while it has at most this many distinct totals.
EXACT_MAX_SUMS = 50_000


def _check(n: int, c: int, k: int) -> None:
    if not 0 <= c <= n:
        raise ValueError(f"successes c={c} must be between 0 and the number of trials n={n}")
    if not 1 <= k <= n:
        raise ValueError(f"k={k} must be between 1 and the number of trials n={n}")


def pass_at_k(n: int, c: int, k: int) -> float:
    """1 - C(n-c, k) / C(n, k): at least one of k trials (of n, c of which succeeded) succeeds."""
    _check(n, c, k)
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def pass_hat_k(n: int, c: int, k: int) -> float:
    """C(c, k) / C(n, k): every one of k trials (of n, c of which succeeded) succeeds."""
    _check(n, c, k)
    return math.comb(c, k) / math.comb(n, k)


def _quantile(ordered: Sequence[float], q: float) -> float:
    """The q-quantile of sorted values, interpolated linearly (numpy's default)."""
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def percentile_interval(values: Sequence[float], confidence: float) -> tuple[float, float]:
    """The central ``confidence`` interval of a bootstrap distribution (the percentile method)."""
    if not values:
        raise ValueError("no bootstrap values")
    ordered = sorted(values)
    alpha = (1.0 - confidence) / 2
    return _quantile(ordered, alpha), _quantile(ordered, 1.0 - alpha)


def _beta_quantile_bound(successes: int, total: int, alpha: float) -> float:
    """Clopper-Pearson bound found by bisection on the binomial tail (no scipy needed)."""

    def upper_tail(p: float) -> float:  # P(X >= successes | p)
        return sum(math.comb(total, i) * p**i * (1 - p) ** (total - i) for i in range(successes, total + 1))

    low, high = 0.0, 1.0
    for _ in range(60):
        mid = (low + high) / 2
        if upper_tail(mid) < alpha:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def clopper_pearson(successes: int, total: int, confidence: float) -> tuple[float, float]:
    """The exact (Clopper-Pearson) interval of a proportion ``successes`` / ``total``."""
    if total < 1 or not 0 <= successes <= total:
        raise ValueError(f"cannot bound {successes} of {total}")
    alpha = (1.0 - confidence) / 2
    if successes == 0:
        return 0.0, 1.0 - alpha ** (1.0 / total)
    if successes == total:
        return alpha ** (1.0 / total), 1.0
    low = _beta_quantile_bound(successes, total, alpha)
    # The upper bound of s of n is one minus the lower bound of (n - s) failures.
    high = 1.0 - _beta_quantile_bound(total - successes, total, alpha)
    return low, high


def smallest_p(nonzero: int) -> float:
    """The smallest two-sided p-value the exact sign-flip test can give with ``nonzero`` differences."""
    return 1.0 if nonzero == 0 else min(1.0, 2.0 / 2**nonzero)


def sign_flip_p(differences: Sequence[Fraction], rng: random.Random, *, resamples: int = 20_000) -> tuple[float, str]:
    """Two-sided p-value that the per-task differences are centred on 0; and how it was computed.

    Under the null hypothesis the two agents are exchangeable on every task, so each
    task's difference is as likely to have either sign: the p-value is the share of the
    2**m sign patterns of the m non-zero differences whose total is at least as far from 0
    as the observed total. The differences are exact fractions (rates of whole counts), so
    the distribution of totals is counted exactly, pattern counts by distinct total, while
    there are at most :data:`EXACT_MAX_SUMS` distinct totals ("exact"); beyond that,
    ``resamples`` random patterns, counted with the observed one so that p is never 0
    (Phipson and Smyth 2010: "monte-carlo").
    """
    nonzero = [abs(d) for d in differences if d != 0]
    if not nonzero:
        return 1.0, "exact"
    observed = abs(sum(differences, Fraction(0)))
    scale = math.lcm(*(d.denominator for d in nonzero))  # whole numbers: fast and exact
    steps = [int(d * scale) for d in nonzero]
    target = int(observed * scale)
    counts: dict[int, int] = {0: 1}
    for d in steps:
        step: dict[int, int] = {}
        for total, count in counts.items():
            step[total + d] = step.get(total + d, 0) + count
            step[total - d] = step.get(total - d, 0) + count
        counts = step
        if len(counts) > EXACT_MAX_SUMS:
            break
    else:
        extreme = sum(count for total, count in counts.items() if abs(total) >= target)
        return extreme / 2 ** len(nonzero), "exact"
    floats = [float(d) for d in nonzero]
    bound = float(observed) - 1e-12
    extreme = 0
    for _ in range(resamples):
        if abs(sum(d if rng.random() < 0.5 else -d for d in floats)) >= bound:
            extreme += 1
    return (extreme + 1) / (resamples + 1), "monte-carlo"


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of a family of p-values (same order as given)."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [1.0] * len(p_values)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted
