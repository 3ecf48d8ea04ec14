"""Per-agent aggregates across tasks, an honest ranking, and pairwise comparisons (pure).

Built from the JSON results of a run (the report's ``results``), so an old report can be
aggregated the same way. Every figure is documented in docs/compare.md:

* the resolved rate is the mean over tasks of each task's share of resolved trials (each
  task weighs the same, however many trials it has); pass@k and pass^k likewise, for every
  k up to the fewest trials the agent has on any of its tasks;
* intervals come from a bootstrap clustered by task (resample the tasks, then each chosen
  task's trials), seeded so the same results always give the same intervals; where every
  task gave the same outcome, resampling cannot show uncertainty, and the exact
  Clopper-Pearson interval over the tasks is given instead;
* the ranking orders two agents only when their resolved-rate intervals do not overlap:
  agents linked by a chain of overlapping intervals share a rank (tied);
* a comparison of A and B uses only the tasks both attempted: the mean per-task difference
  of resolved rates, its paired bootstrap interval, and the p-value of a sign-flip
  permutation test (exact), with Holm's adjustment over all the pairs.

Outcomes (resolved, taste, review, session) and costs (dollars, tokens, wall time) are
separate figures: nothing here folds them into one number.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import math
import random
import statistics
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import Any, TypeVar

from ..task import agent_of, split_trial
from .stats import (
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

__all__ = [
    "CONFIDENCE",
    "RESAMPLES",
    "SEED",
    "AgentAggregate",
    "Comparison",
    "CostAxis",
    "Estimate",
    "Leaderboard",
    "Trial",
    "aggregate",
    "trial_from_result",
]

#: Bootstrap resamples per figure, the seed they start from, and the intervals' coverage.
RESAMPLES = 2000
SEED = 13
CONFIDENCE = 0.95

#: Statuses that say nothing about the agent (the harness or the task broke): left out of the rates.
_NOT_GRADED = frozenset({"error"})


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


@dataclass(frozen=True)
class Trial:
    """One submission's result, as the aggregates read it."""

    task: str
    submission: str
    agent: str
    trial: int
    status: str | None
    taste: float | None = None
    review: float | None = None
    session_passed: bool | None = None
    cost_usd: float | None = None
    tokens: float | None = None
    wall_s: float | None = None

    @property
    def graded(self) -> bool:
        """Whether the behaviour says something about the agent (not ``error``, not missing)."""
        return self.status is not None and self.status not in _NOT_GRADED

    @property
    def resolved(self) -> bool:
        return self.status == "resolved"


def _tokens(value: Any) -> float | None:
    if isinstance(value, Mapping):
        value = value.get("total")
    return _number(value)


def trial_from_result(result: Mapping[str, Any]) -> Trial | None:
    """The :class:`Trial` of one result of a JSON report; None for a result without a submission.

    Fields an old report lacks are read as unknown (None), never guessed: ``agent`` and
    ``trial`` come from the submission's name and meta when the report predates them.
    """
    submission = result.get("submission")
    task = result.get("task")
    if not isinstance(submission, str) or not isinstance(task, str):
        return None
    raw_meta = result.get("meta")
    meta: Mapping[str, Any] = raw_meta if isinstance(raw_meta, Mapping) else {}
    agent = result.get("agent")
    if not isinstance(agent, str) or not agent:
        agent = agent_of(submission, meta)
    trial = result.get("trial")
    if not isinstance(trial, int) or isinstance(trial, bool):
        trial = split_trial(submission)[1] or 1

    def part(name: str) -> Mapping[str, Any]:
        value = result.get(name)
        return value if isinstance(value, Mapping) else {}

    status = part("behaviour").get("status")
    review = part("review")
    session = part("session")
    raw_metrics = session.get("metrics")
    metrics: Mapping[str, Any] = raw_metrics if isinstance(raw_metrics, Mapping) else {}
    scored = session.get("status") == "scored"
    passed = session.get("passed")

    def cost(metric: str, read: Callable[[Any], float | None] = _number) -> float | None:
        """The session's figure when the transcript tells it, else the meta.toml's."""
        found = read(metrics.get(metric)) if scored else None
        return found if found is not None else read(meta.get(metric))

    return Trial(
        task=task,
        submission=submission,
        agent=agent,
        trial=trial,
        status=status if isinstance(status, str) else None,
        taste=_number(part("taste").get("score")),
        review=_number(review.get("score")) if review.get("status") in ("scored", "unstable") else None,
        session_passed=passed if scored and isinstance(passed, bool) else None,
        cost_usd=cost("cost_usd"),
        tokens=cost("tokens", _tokens),
        wall_s=cost("wall_s"),
    )


@dataclass(frozen=True)
class Estimate:
    """A figure, its interval, how many tasks it rests on, and how the interval was found.

    ``method``: ``bootstrap`` (percentile, clustered by task), ``exact`` (Clopper-Pearson
    over the tasks: every task gave the same outcome), or ``none`` (no interval: no data).
    """

    value: float | None
    low: float | None = None
    high: float | None = None
    tasks: int = 0
    method: str = "none"

    def overlaps(self, other: Estimate) -> bool:
        if None in (self.low, self.high, other.low, other.high):
            return True  # an unknown interval can be anywhere: never ordered
        assert self.low is not None and self.high is not None and other.low is not None and other.high is not None
        return self.low <= other.high and other.low <= self.high

    def to_json(self) -> dict[str, Any]:
        interval = None if self.low is None or self.high is None else [_round(self.low), _round(self.high)]
        return {"value": _round(self.value), "interval": interval, "tasks": self.tasks, "method": self.method}


@dataclass(frozen=True)
class CostAxis:
    """One cost figure per trial (dollars, tokens or seconds): its mean and total over the trials that know it."""

    mean: float | None
    total: float | None
    known: int
    unknown: int

    @classmethod
    def of(cls, values: Sequence[float | None]) -> CostAxis:
        known = [v for v in values if v is not None]
        if not known:
            return cls(None, None, 0, len(values))
        return cls(statistics.fmean(known), sum(known), len(known), len(values) - len(known))

    def to_json(self) -> dict[str, Any]:
        return {
            "mean": _round(self.mean, 6),
            "total": _round(self.total, 6),
            "known": self.known,
            "unknown": self.unknown,
        }


@dataclass(frozen=True)
class AgentAggregate:
    """One agent across the tasks it attempted."""

    agent: str
    rank: int | None  # None: no graded trial, so not ranked
    tied_with: tuple[str, ...]
    tasks: int  # tasks with at least one graded trial
    trials: int  # graded trials
    errors: int  # trials whose behaviour is error: left out of the rates
    min_trials: int  # the fewest graded trials on one of its tasks: pass@k is given for k up to this
    resolved: Estimate
    pass_at_k: Mapping[int, Estimate]
    pass_hat_k: Mapping[int, Estimate]
    taste: Estimate
    review: Estimate
    session_passed: Estimate
    cost_usd: CostAxis
    tokens: CostAxis
    wall_s: CostAxis

    def to_json(self) -> dict[str, Any]:
        return {
            "agent": self.agent,
            "rank": self.rank,
            "tied_with": list(self.tied_with),
            "tasks": self.tasks,
            "trials": self.trials,
            "errors": self.errors,
            "min_trials_per_task": self.min_trials,
            "resolved": self.resolved.to_json(),
            "pass_at_k": {str(k): e.to_json() for k, e in self.pass_at_k.items()},
            "pass_hat_k": {str(k): e.to_json() for k, e in self.pass_hat_k.items()},
            "taste": self.taste.to_json(),
            "review": self.review.to_json(),
            "session_passed": self.session_passed.to_json(),
            "cost_usd": self.cost_usd.to_json(),
            "tokens": self.tokens.to_json(),
            "wall_s": self.wall_s.to_json(),
        }


@dataclass(frozen=True)
class Comparison:
    """Agent ``a`` against agent ``b`` on the tasks both attempted (``a`` is the better ranked)."""

    a: str
    b: str
    tasks: int
    a_better: int  # tasks where a's resolved rate is higher
    b_better: int
    same: int
    difference: Estimate  # mean over the common tasks of (a's rate - b's rate), with its paired interval
    p_value: float | None
    p_holm: float | None
    test: str
    smallest_p: float | None  # the smallest p-value the exact test can give on these tasks

    def to_json(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "tasks": self.tasks,
            "a_better": self.a_better,
            "b_better": self.b_better,
            "same": self.same,
            "difference": self.difference.to_json(),
            "p_value": _round(self.p_value),
            "p_holm": _round(self.p_holm),
            "test": self.test,
            "smallest_p": _round(self.smallest_p),
        }


@dataclass(frozen=True)
class Leaderboard:
    """The agents in rank order, every pair's comparison, and how they were computed."""

    agents: tuple[AgentAggregate, ...]
    comparisons: tuple[Comparison, ...]
    k: int  # the k the tables show pass@k and pass^k at: the fewest trials any agent has on a task
    resamples: int = RESAMPLES
    seed: int = SEED
    confidence: float = CONFIDENCE
    trials: tuple[Trial, ...] = field(default=(), repr=False)

    @property
    def has_repeats(self) -> bool:
        """Whether any agent has more than one graded result (trials or tasks): else a table says nothing new."""
        return any(a.trials + a.errors > 1 for a in self.agents)

    def agent(self, name: str) -> AgentAggregate:
        return next(a for a in self.agents if a.agent == name)

    def comparison(self, a: str, b: str) -> Comparison:
        return next(c for c in self.comparisons if {c.a, c.b} == {a, b})

    def to_json(self) -> dict[str, Any]:
        return {
            "agents": [a.to_json() for a in self.agents],
            "comparisons": [c.to_json() for c in self.comparisons],
            "aggregation": {
                "confidence": self.confidence,
                "resamples": self.resamples,
                "seed": self.seed,
                "k": self.k,
                "ranked_by": "resolved",
                "interval": "percentile bootstrap clustered by task (tasks, then trials within each task); "
                "Clopper-Pearson over the tasks when every task gave the same outcome",
                "test": "sign-flip permutation test on the per-task differences of resolved rates "
                "(exact; Monte Carlo past 50,000 distinct totals), two-sided; p_holm adjusts for all the pairs",
            },
        }


# --- the computation ------------------------------------------------------------------------
#
# A bootstrap replicate draws the agent's tasks with replacement, then each drawn task's
# trials with replacement (graded trials and errors apart, so that a task keeps its number
# of graded trials: pass@k needs at least k). A redraw of a task's g graded trials, c of them
# resolved, has Binomial(g, c/g) resolved trials: its outcomes are known exactly, with their
# chances, so nothing is redrawn for them. A score (taste, review, session) is the mean over
# the redrawn trials: those are redrawn POOL times per task once, up front, and a replicate
# takes one of those redraws, at random, for each task it draws (the same two-stage
# bootstrap, sampled in two steps).
#
# A replicate of n tasks is then n independent draws from the mixture of the tasks' pools (a
# task at random, then one of its redraws by its chance), and a figure's replicate depends
# only on how many times each distinct value was drawn. Where a figure has few distinct
# values (resolved counts, per-task differences of resolved rates: a handful, whatever the
# number of tasks) those counts are drawn at once, as one multinomial draw
# (stats.multinomial, about sqrt(n) steps a value instead of n draws): 10 agents on 2,294
# tasks would otherwise take minutes at the end of every run, cached re-runs included. Each
# figure is resampled on its own: its interval is the percentile interval of its own
# replicates, so nothing joint is lost.

#: Redraws of each task's trials for a score, made once per task, agent and score.
POOL = 256
_SCORES = ("taste", "review", "session_passed")
_PROPORTIONS = frozenset({"resolved", "pass@k", "pass^k", "session_passed"})
Figure = tuple[str, int]  # ("resolved", 1), ("pass@k", 3), ("taste", 1), ...


def _seed(seed: int, *parts: str) -> int:
    """A seed for one figure: the run's seed and the names, hashed (not Python's salted hash())."""
    digest = hashlib.sha256("\0".join([str(seed), *parts]).encode()).digest()
    return int.from_bytes(digest[:8], "big")


@lru_cache(maxsize=4096)
def _pass(n: int, c: int, k: int, every: bool) -> float:
    return pass_hat_k(n, c, k) if every else pass_at_k(n, c, k)


def _mean(values: Sequence[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


@dataclass(frozen=True)
class _Draw:
    """What one (re)drawing of a task's trials gives: graded and resolved counts, and the score means."""

    graded: int
    resolved: int
    taste: float | None
    review: float | None
    session_passed: float | None

    @classmethod
    def of(cls, trials: Sequence[Trial]) -> _Draw:
        return cls(
            graded=sum(1 for t in trials if t.graded),
            resolved=sum(1 for t in trials if t.graded and t.resolved),
            taste=_mean([t.taste for t in trials if t.taste is not None]),
            review=_mean([t.review for t in trials if t.review is not None]),
            session_passed=_mean([float(t.session_passed) for t in trials if t.session_passed is not None]),
        )


@dataclass(frozen=True)
class _Task:
    """One task of one agent: its trials as observed, and what a redraw of them gives."""

    observed: _Draw
    outcomes: tuple[tuple[tuple[int, int], float], ...]  # (graded, resolved) of a redraw, and its chance
    trials: tuple[Trial, ...]

    @classmethod
    def of(cls, trials: Sequence[Trial]) -> _Task:
        observed = _Draw.of(trials)
        g, c = observed.graded, observed.resolved
        if g == 0 or c in (0, g):
            outcomes: tuple[tuple[tuple[int, int], float], ...] = (((g, c), 1.0),)
        else:
            p = c / g
            outcomes = tuple(((g, r), math.comb(g, r) * p**r * (1 - p) ** (g - r)) for r in range(g + 1))
        return cls(observed, outcomes, tuple(trials))

    def rates(self) -> list[tuple[float, float]]:
        """A redraw's resolved rate and its chance (the task has a graded trial)."""
        return [(r / g, chance) for (g, r), chance in self.outcomes]

    def redrawn(self, name: str, rng: random.Random) -> list[tuple[float | None, float]]:
        """A redraw of the trials' mean ``name`` score, with its chance: exact (every multiset
        of trials, by its multinomial chance) when the trials are few and all graded, else
        POOL redraws (graded trials and errors apart), each of chance 1/POOL."""
        if len(self.trials) == 1:
            return [(getattr(self.observed, name), 1.0)]

        def value(t: Trial) -> float | None:
            v = getattr(t, name)
            return None if v is None else float(v)

        graded = [value(t) for t in self.trials if t.graded]
        other = [value(t) for t in self.trials if not t.graded]
        g = len(graded)
        if not other and math.comb(2 * g - 1, g) <= POOL:
            exact = []
            whole = math.factorial(g)
            for picked in itertools.combinations_with_replacement(range(g), g):
                counts = Counter(picked)
                chance = whole / math.prod(math.factorial(c) for c in counts.values()) / g**g
                present = [(v, c) for i, c in counts.items() if (v := graded[i]) is not None]
                total = sum(c for _v, c in present)
                mean = math.fsum(v * c for v, c in present) / total if total else None
                exact.append((mean, chance))
            return exact
        pool: list[tuple[float | None, float]] = []
        draw = rng.random
        o = len(other)
        for _ in range(POOL):
            known = [v for v in (graded[int(draw() * g)] for _ in range(g)) if v is not None]
            if o:
                known += [v for v in (other[int(draw() * o)] for _ in range(o)) if v is not None]
            pool.append((math.fsum(known) / len(known) if known else None, 1.0 / POOL))
        return pool


def _figures(draws: Sequence[_Draw], ks: Sequence[int]) -> dict[Figure, list[float]]:
    """The per-task values of every figure (a task without data for a figure is left out of it)."""
    counted = [(d.graded, d.resolved) for d in draws if d.graded]
    out: dict[Figure, list[float]] = {("resolved", 1): [c / n for n, c in counted]}
    for k in ks:
        out[("pass@k", k)] = [_pass(n, c, k, False) for n, c in counted]
        out[("pass^k", k)] = [_pass(n, c, k, True) for n, c in counted]
    for name in _SCORES:
        out[(name, 1)] = [v for v in (getattr(d, name) for d in draws) if v is not None]
    return out


V = TypeVar("V", bound=Hashable)


def _chances(pools: Sequence[Sequence[tuple[V, float]]]) -> dict[V, float]:
    """Each distinct value's chance, times ``len(pools)``, of a task drawn at random and then one of its redraws."""
    weights: dict[V, float] = {}
    for pool in pools:
        for value, chance in pool:
            weights[value] = weights.get(value, 0.0) + chance
    return weights


def _few(distinct: int, n: int) -> bool:
    """Whether drawing the counts of ``distinct`` values (multinomial) beats making ``n`` draws."""
    return distinct + math.sqrt(distinct * n) < n / 2


def _draw_one(pool: Sequence[tuple[V, float]], rng: random.Random) -> V:
    if len(pool) == 1:
        return pool[0][0]
    u = rng.random()
    for value, chance in pool:
        u -= chance
        if u < 0:
            return value
    return pool[-1][0]  # the chances summed to a hair under 1


def _redraws(
    pools: Sequence[Sequence[tuple[V, float]]], rng: random.Random, resamples: int
) -> Iterator[list[tuple[V, int]]]:
    """``resamples`` bootstrap replicates of the tasks whose redraws are ``pools``: for each,
    how many times each value was drawn (``len(pools)`` tasks drawn with replacement, and one
    redraw of each drawn task, by its chance)."""
    n = len(pools)
    weights = _chances(pools)
    values = list(weights)
    if len(values) == 1:  # every draw gives the one value
        for _ in range(resamples):
            yield [(values[0], n)]
    elif _few(len(values), n):
        chances = [weights[v] for v in values]
        for _ in range(resamples):
            yield [(v, c) for v, c in zip(values, multinomial(n, chances, rng), strict=True) if c]
    else:
        for _ in range(resamples):
            drawn: Counter[V] = Counter(_draw_one(pool, rng) for pool in rng.choices(pools, k=n))
            yield list(drawn.items())


def _redrawn_means(
    pools: Sequence[Sequence[tuple[float | None, float]]], rng: random.Random, resamples: int
) -> Iterator[float]:
    """Each bootstrap replicate's mean of the values drawn that are known (not None), as
    :func:`_redraws` draws them; a replicate that drew no known value gives nothing.

    With many distinct values (scores), a replicate first draws how many of its ``n`` draws
    fall on known values (a binomial draw), then that many known values by their chances:
    the same distribution, with no draw spent on a task without data.
    """
    n = len(pools)
    weights = _chances(pools)
    if len(weights) == 1:  # one value (a single task, or every task alike): every replicate gives it
        (value,) = weights
        if value is not None:
            yield from itertools.repeat(value, resamples)
        return
    if _few(len(weights), n):
        for counts in _redraws(pools, rng, resamples):
            known = [(value, count) for value, count in counts if value is not None]
            if known:
                yield math.fsum(value * count for value, count in known) / sum(count for _v, count in known)
        return
    known_values = [v for pool in pools for v, _chance in pool if v is not None]
    shares = [chance for pool in pools for v, chance in pool if v is not None]
    everywhere = all(v is not None for pool in pools for v, _chance in pool)
    share_known = 1.0 if everywhere else min(1.0, math.fsum(shares) / n)
    if len(set(shares)) == 1:  # equal chances
        for _ in range(resamples):
            m = binomial(n, share_known, rng)
            if m:
                yield math.fsum(rng.choices(known_values, k=m)) / m
        return
    keep, alias = alias_table(shares)
    size = len(known_values)
    draw = rng.random
    for _ in range(resamples):
        m = binomial(n, share_known, rng)
        if m:
            total = 0.0
            for _ in range(m):
                u = draw() * size
                i = int(u)
                total += known_values[i] if u - i < keep[i] else known_values[alias[i]]
            yield total / m


def _outcome_figures(counts: Sequence[tuple[tuple[int, int], int]], ks: Sequence[int]) -> list[tuple[Figure, float]]:
    """A replicate's resolved rate, pass@k and pass^k from how many drawn tasks had each
    (graded, resolved) pair; nothing when no drawn task had a graded trial."""
    histogram = [((n, c), count) for (n, c), count in counts if n]  # tasks without a graded trial left out
    graded = sum(count for _pair, count in histogram)
    if not graded:
        return []
    out: list[tuple[Figure, float]] = [(("resolved", 1), sum(count * c / n for (n, c), count in histogram) / graded)]
    for k in ks:
        for figure, every in (("pass@k", False), ("pass^k", True)):
            out.append(((figure, k), sum(count * _pass(n, c, k, every) for (n, c), count in histogram) / graded))
    return out


def _bootstrap(
    tasks: Sequence[_Task], ks: Sequence[int], rng: random.Random, resamples: int
) -> dict[Figure, list[float]]:
    """Every figure's bootstrap replicates (a replicate without data for a figure is left out of it)."""
    out: dict[Figure, list[float]] = {}
    outcomes = [task.outcomes for task in tasks]
    known: dict[tuple[tuple[tuple[int, int], int], ...], list[tuple[Figure, float]]] = {}
    for counts in _redraws(outcomes, rng, resamples):
        key = tuple(counts)  # a few (graded, resolved) pairs: replicates with the same counts agree
        if key not in known:
            known[key] = _outcome_figures(counts, ks)
        for figure, value in known[key]:
            out.setdefault(figure, []).append(value)
    for name in _SCORES:
        if all(getattr(task.observed, name) is None for task in tasks):
            continue  # no data: the figure is "none" whatever is drawn
        scores = [task.redrawn(name, rng) for task in tasks]
        out[(name, 1)] = list(_redrawn_means(scores, rng, resamples))
    return out


def _estimates(
    tasks: Sequence[_Task], ks: Sequence[int], rng: random.Random, resamples: int, confidence: float
) -> dict[Figure, Estimate]:
    """Every figure's value over ``tasks`` and its interval (docs/compare.md#intervals)."""
    observed = _figures([t.observed for t in tasks], ks)
    drawn = _bootstrap(tasks, ks, rng, resamples) if tasks else {}
    out = {}
    for figure, values in observed.items():
        value = _mean(values)
        if value is None:
            out[figure] = Estimate(None)
        elif figure[0] in _PROPORTIONS and (all(v == 1.0 for v in values) or all(v == 0.0 for v in values)):
            # Every task gave the same outcome: resampling can only give it back (a zero-width
            # interval). The exact interval of m of m (or 0 of m) tasks says what m tasks can.
            low, high = clopper_pearson(round(value) * len(values), len(values), confidence)
            out[figure] = Estimate(value, low, high, len(values), "exact")
        else:
            low, high = percentile_interval(drawn.get(figure, []), confidence)
            out[figure] = Estimate(value, low, high, len(values), "bootstrap")
    return out


def _by_agent(trials: Iterable[Trial]) -> dict[str, dict[str, list[Trial]]]:
    grouped: dict[str, dict[str, list[Trial]]] = {}
    for t in sorted(trials, key=lambda t: (t.agent, t.task, t.trial, t.submission)):
        grouped.setdefault(t.agent, {}).setdefault(t.task, []).append(t)
    return grouped


def _aggregate_agent(
    name: str,
    by_task: Mapping[str, _Task],
    trials: Sequence[Trial],
    *,
    rng: random.Random,
    resamples: int,
    confidence: float,
) -> AgentAggregate:
    tasks = [by_task[task] for task in sorted(by_task)]
    counts = [t.observed.graded for t in tasks if t.observed.graded]
    ks = range(1, min(counts, default=0) + 1)
    found = _estimates(tasks, ks, rng, resamples, confidence)
    return AgentAggregate(
        agent=name,
        rank=None,
        tied_with=(),
        tasks=len(counts),
        trials=sum(counts),
        errors=sum(1 for t in trials if not t.graded),
        min_trials=len(ks),
        resolved=found[("resolved", 1)],
        pass_at_k={k: found[("pass@k", k)] for k in ks},
        pass_hat_k={k: found[("pass^k", k)] for k in ks},
        taste=found[("taste", 1)],
        review=found[("review", 1)],
        session_passed=found[("session_passed", 1)],
        cost_usd=CostAxis.of([t.cost_usd for t in trials]),
        tokens=CostAxis.of([t.tokens for t in trials]),
        wall_s=CostAxis.of([t.wall_s for t in trials]),
    )


def _rank(agents: Sequence[AgentAggregate]) -> list[AgentAggregate]:
    """Rank by resolved rate; agents joined by a chain of overlapping intervals share a rank.

    Overlap is not transitive (A overlaps B, B overlaps C, A above C), so ordering any pair
    of a chain would order two agents whose intervals overlap: the whole chain is one tie.
    On a line the chains are disjoint spans, so the groups are ordered without ambiguity.
    """
    ranked = [a for a in agents if a.resolved.value is not None]
    ranked.sort(key=lambda a: (-(a.resolved.value or 0.0), a.agent))
    parent = list(range(len(ranked)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(ranked)):
        for j in range(i + 1, len(ranked)):
            if ranked[i].resolved.overlaps(ranked[j].resolved):
                parent[root(j)] = root(i)
    groups: dict[int, list[int]] = {}
    for i in range(len(ranked)):
        groups.setdefault(root(i), []).append(i)
    out: list[AgentAggregate] = []
    for members in sorted(groups.values(), key=min):
        rank = len(out) + 1
        names = [ranked[i].agent for i in members]
        for i in members:
            others = tuple(n for n in names if n != ranked[i].agent)
            out.append(dataclasses.replace(ranked[i], rank=rank, tied_with=others))
    unranked = sorted((a for a in agents if a.resolved.value is None), key=lambda a: a.agent)
    return out + unranked


def _compare(
    a: str, b: str, tasks: Mapping[str, Mapping[str, _Task]], *, seed: int, resamples: int, confidence: float
) -> Comparison:
    """``a`` against ``b`` on the tasks both have a graded trial of (docs/compare.md#pairwise-comparisons)."""
    common = sorted(
        t for t in set(tasks[a]) & set(tasks[b]) if tasks[a][t].observed.graded and tasks[b][t].observed.graded
    )
    if not common:
        return Comparison(a, b, 0, 0, 0, 0, Estimate(None), None, None, "none", None)
    pairs = [(tasks[a][t], tasks[b][t]) for t in common]
    differences = [
        Fraction(x.observed.resolved, x.observed.graded) - Fraction(y.observed.resolved, y.observed.graded)
        for x, y in pairs
    ]
    rng = random.Random(_seed(seed, "pair", a, b))
    # A task's difference redrawn: a's trials and b's, each redrawn apart (their exact chances).
    pools: list[list[tuple[float | None, float]]] = [
        [(ra - rb, ca * cb) for ra, ca in x.rates() for rb, cb in y.rates()] for x, y in pairs
    ]
    drawn = list(_redrawn_means(pools, rng, resamples))
    low, high = percentile_interval(drawn, confidence)
    p_value, how = sign_flip_p(differences, rng)
    mean = float(sum(differences, Fraction(0)) / len(differences))
    return Comparison(
        a=a,
        b=b,
        tasks=len(pairs),
        a_better=sum(1 for d in differences if d > 0),
        b_better=sum(1 for d in differences if d < 0),
        same=sum(1 for d in differences if d == 0),
        difference=Estimate(mean, low, high, len(pairs), "bootstrap"),
        p_value=p_value,
        p_holm=None,
        test=f"sign-flip, {how}",
        smallest_p=smallest_p(sum(1 for d in differences if d != 0)),
    )


def aggregate(
    results: Iterable[Mapping[str, Any]],
    *,
    seed: int = SEED,
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
) -> Leaderboard:
    """The per-agent aggregates, their ranking and every pair's comparison, from a run's JSON results."""
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    trials = [t for t in (trial_from_result(r) for r in results) if t is not None]
    grouped = _by_agent(trials)
    tasks: dict[str, dict[str, _Task]] = {}
    aggregates = []
    for name, by_task in grouped.items():
        rng = random.Random(_seed(seed, "agent", name))
        tasks[name] = {task: _Task.of(by_task[task]) for task in sorted(by_task)}
        every = [t for task in sorted(by_task) for t in by_task[task]]
        aggregates.append(
            _aggregate_agent(name, tasks[name], every, rng=rng, resamples=resamples, confidence=confidence)
        )
    agents = _rank(aggregates)
    comparisons = [
        _compare(x.agent, y.agent, tasks, seed=seed, resamples=resamples, confidence=confidence)
        for i, x in enumerate(agents)
        for y in agents[i + 1 :]
    ]
    tested = [i for i, c in enumerate(comparisons) if c.p_value is not None]
    adjusted = holm([comparisons[i].p_value or 0.0 for i in tested])
    for i, p in zip(tested, adjusted, strict=True):
        comparisons[i] = dataclasses.replace(comparisons[i], p_holm=p)
    k = min((a.min_trials for a in agents if a.min_trials), default=0)
    return Leaderboard(tuple(agents), tuple(comparisons), k, resamples, seed, confidence, tuple(trials))
