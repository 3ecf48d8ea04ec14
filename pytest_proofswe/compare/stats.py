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
* :func:`binomial`, :func:`multinomial`: exact draws of how many of ``n`` draws fall on each
  of a few outcomes, in time that grows with the square root of ``n`` instead of ``n``: a
  bootstrap replicate of a mean over thousands of tasks with a handful of distinct values
  is a multinomial draw of their counts.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections import Counter
from collections.abc import Sequence
from fractions import Fraction

__all__ = [
    "EXACT_MAX_SUMS",
    "alias_table",
    "binomial",
    "clopper_pearson",
    "holm",
    "multinomial",
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


def binomial(n: int, p: float, rng: random.Random) -> int:
    """One exact draw of Binomial(``n``, ``p``): inversion, searched outward from the mode.

    One uniform number ``u``; the outcomes' probabilities are laid end to end from the mode
    outward (mode, mode-1, mode+1, mode-2, ...) and the draw is the outcome whose segment
    holds ``u``. Any order of the segments gives the exact distribution; starting at the mode
    makes the expected number of steps grow with the standard deviation, not with ``n``.
    """
    if n < 0:
        raise ValueError(f"n={n} must not be negative")
    if n == 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    q = 1.0 - p
    mode = min(n, int((n + 1) * p))
    log_mode = (
        math.lgamma(n + 1)
        - math.lgamma(mode + 1)
        - math.lgamma(n - mode + 1)
        + mode * math.log(p)
        + (n - mode) * math.log(q)
    )
    at_down = at_up = math.exp(log_mode)
    u = rng.random() - at_down
    if u < 0.0:
        return mode
    odds = p / q
    down = up = mode
    while down > 0 or up < n:
        if down > 0:
            at_down *= down / ((n - down + 1) * odds)  # P(k - 1) from P(k)
            down -= 1
            u -= at_down
            if u < 0.0:
                return down
        if up < n:
            at_up *= (n - up) * odds / (up + 1)  # P(k + 1) from P(k)
            up += 1
            u -= at_up
            if u < 0.0:
                return up
    return mode  # the probabilities summed to a hair under 1 in floating point, and u fell past them


def multinomial(n: int, weights: Sequence[float], rng: random.Random) -> list[int]:
    """One exact draw of how many of ``n`` independent draws fall on each outcome.

    ``weights`` are the outcomes' relative chances (any positive scale). Drawn as a chain of
    binomials: each outcome's count among the draws the earlier outcomes did not take.
    """
    if any(w < 0 for w in weights) or not math.fsum(weights) > 0:
        raise ValueError(f"weights must be non-negative with a positive sum, got {list(weights)}")
    counts = []
    left = n
    rest = math.fsum(weights)
    for i, weight in enumerate(weights):
        if i == len(weights) - 1:
            counts.append(left)
            break
        drawn = binomial(left, weight / rest, rng) if left and rest > 0 else 0
        counts.append(drawn)
        left -= drawn
        rest -= weight
    return counts


def alias_table(weights: Sequence[float]) -> tuple[list[float], list[int]]:
    """Vose's alias table of ``weights``: a draw is one uniform number ``u`` in [0, n), the
    column ``i = int(u)``, and ``i`` itself when ``u - i < keep[i]``, else ``alias[i]``.
    Each outcome comes with its weight's share, in constant time a draw."""
    n = len(weights)
    total = math.fsum(weights)
    if n == 0 or any(w < 0 for w in weights) or not total > 0:
        raise ValueError(f"weights must be non-negative with a positive sum, got {n} of them")
    scaled = [w * n / total for w in weights]
    keep = [1.0] * n
    alias = list(range(n))
    small = [i for i, v in enumerate(scaled) if v < 1.0]
    large = [i for i, v in enumerate(scaled) if v >= 1.0]
    while small and large:
        low, high = small.pop(), large.pop()
        keep[low], alias[low] = scaled[low], high
        scaled[high] += scaled[low] - 1.0  # what column `low` lent it
        (small if scaled[high] < 1.0 else large).append(high)
    return keep, alias  # columns left in either list are full (keep 1.0), up to rounding


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


def _half_binomial(r: int, j: int) -> float:
    """C(r, j) / 2**r: the chance of j heads in r fair coin flips (0.0 where it is below floats)."""
    return math.exp(math.lgamma(r + 1) - math.lgamma(j + 1) - math.lgamma(r - j + 1) - r * math.log(2))


def smallest_p(nonzero: int) -> float:
    """The smallest two-sided p-value the exact sign-flip test can give with ``nonzero`` differences."""
    return 1.0 if nonzero == 0 else min(1.0, math.ldexp(1.0, 1 - nonzero))  # 2 / 2**nonzero, 0.0 past floats


def sign_flip_p(differences: Sequence[Fraction], rng: random.Random, *, resamples: int = 20_000) -> tuple[float, str]:
    """Two-sided p-value that the per-task differences are centred on 0; and how it was computed.

    Under the null hypothesis the two agents are exchangeable on every task, so each
    task's difference is as likely to have either sign: the p-value is the share of the
    2**m sign patterns of the m non-zero differences whose total is at least as far from 0
    as the observed total. The differences are exact fractions (rates of whole counts), so
    the distribution of totals is enumerated exactly (the chances summed in floating point),
    while the convolution holds at most :data:`EXACT_MAX_SUMS` distinct totals ("exact"); beyond that,
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
    if target == 0:
        return 1.0, "exact"  # every pattern is at least as far from 0
    # r differences of the same size d: their signs add (2j - r) * d in C(r, j) of the 2**r
    # patterns. The sizes but the most frequent are convolved (chances, in floating point);
    # for the most frequent, each total of the others needs only the two tails of its
    # binomial (single trials: every difference is +-1, one size, no convolution at all).
    *others, (last_d, last_r) = sorted(Counter(steps).items(), key=lambda size: (size[1], size[0]))
    chances: dict[int, float] = {0: 1.0}
    for d, r in others:
        kernel = [((2 * j - r) * d, _half_binomial(r, j)) for j in range(r + 1)]
        step: dict[int, float] = {}
        for total, chance in chances.items():
            for shift, share in kernel:
                step[total + shift] = step.get(total + shift, 0.0) + chance * share
        chances = step
        if len(chances) > EXACT_MAX_SUMS:
            break
    else:
        shifts = [(2 * j - last_r) * last_d for j in range(last_r + 1)]  # ascending
        shares = [_half_binomial(last_r, j) for j in range(last_r + 1)]
        below = [0.0, *itertools.accumulate(shares)]  # below[k]: the chance of the k smallest shifts
        extreme = 0.0
        for total, chance in chances.items():
            # |total + shift| >= target: shift >= target - total, or shift <= -target - total (apart, target > 0)
            high = bisect.bisect_left(shifts, target - total)
            low = bisect.bisect_right(shifts, -target - total)
            extreme += chance * (below[-1] - below[high] + below[low])
        return min(1.0, extreme), "exact"
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
