"""Per-agent aggregates, the ranking and pairwise comparisons, on hand-made results (issue 13, item 1)."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from pytest_proofswe.compare import aggregate, trial_from_result
from pytest_proofswe.compare.stats import pass_at_k, pass_hat_k

#: Outcomes of three agents on four tasks, three trials each (1 = resolved): the e2e fixture's plan too.
PLAN = {
    "steady": [[1, 1, 1], [1, 1, 1], [1, 1, 1], [1, 1, 0]],
    "close": [[1, 1, 1], [1, 1, 0], [1, 1, 1], [1, 0, 1]],
    "weak": [[0, 0, 0], [0, 0, 0], [0, 0, 0], [1, 0, 0]],
}


def result(task: str, submission: str, status: str, **extra: Any) -> dict[str, Any]:
    return {"task": task, "submission": submission, "behaviour": {"status": status}, **extra}


def plan_results(plan: dict[str, list[list[int]]]) -> list[dict[str, Any]]:
    return [
        result(f"task-{t}", f"{agent}@{n}", "resolved" if ok else "unresolved", taste={"score": 90.0 if ok else 60.0})
        for agent, tasks in plan.items()
        for t, trials in enumerate(tasks)
        for n, ok in enumerate(trials, 1)
    ]


def test_trial_fields_from_the_result_or_from_its_name() -> None:
    t = trial_from_result(result("x", "claude@3", "resolved"))
    assert t is not None and (t.agent, t.trial, t.resolved, t.graded) == ("claude", 3, True, True)
    t = trial_from_result(result("x", "run-b", "partial", meta={"agent": "alpha"}))
    assert t is not None and (t.agent, t.trial, t.resolved) == ("alpha", 1, False)
    t = trial_from_result(result("x", "gpt__4o@2", "error", agent="gpt/4o", trial=2))
    assert t is not None and (t.agent, t.trial, t.graded) == ("gpt/4o", 2, False)  # an error says nothing of the agent
    assert trial_from_result({"task": "x", "submission": None, "behaviour": {"status": "error"}}) is None
    # An old report's result with parts missing or of the wrong type: unknown, not a crash.
    t = trial_from_result({"task": "x", "submission": "a", "taste": "n/a", "session": [], "meta": 3})
    assert t is not None and (t.status, t.taste, t.cost_usd, t.graded) == (None, None, None, False)


def test_costs_come_from_the_transcript_else_from_meta() -> None:
    session = {
        "status": "scored",
        "passed": True,
        "metrics": {"cost_usd": 0.5, "tokens": {"total": 1200}, "wall_s": None},
    }
    t = trial_from_result(result("x", "a", "resolved", session=session, meta={"cost_usd": 9.0, "wall_s": 30}))
    assert t is not None and (t.cost_usd, t.tokens, t.wall_s, t.session_passed) == (0.5, 1200.0, 30.0, True)
    t = trial_from_result(result("x", "a", "resolved", meta={"cost_usd": 0.02, "tokens": 800}))
    assert t is not None and (t.cost_usd, t.tokens, t.wall_s, t.session_passed) == (0.02, 800.0, None, None)


def test_pass_at_k_and_pass_hat_k_per_agent() -> None:
    board = aggregate(plan_results(PLAN), resamples=200)
    close = board.agent("close")
    assert (close.tasks, close.trials, close.min_trials, board.k) == (4, 12, 3, 3)
    counts = [(3, sum(trials)) for trials in PLAN["close"]]
    for k in (1, 2, 3):
        assert close.pass_at_k[k].value == pytest.approx(sum(pass_at_k(n, c, k) for n, c in counts) / 4)
        assert close.pass_hat_k[k].value == pytest.approx(sum(pass_hat_k(n, c, k) for n, c in counts) / 4)
    assert close.pass_hat_k[3].value == pytest.approx(0.5)  # two of four tasks resolved on every trial
    assert close.pass_at_k[3].value == 1.0 and close.resolved.value == pytest.approx(10 / 12)
    assert board.agent("steady").pass_hat_k[3].value == pytest.approx(0.75)
    assert board.agent("weak").pass_hat_k[3].value == 0.0


def test_intervals_contain_the_value_and_are_exact_where_every_task_agrees() -> None:
    board = aggregate(plan_results(PLAN))
    for agent in board.agents:
        for estimate in (agent.resolved, *agent.pass_at_k.values(), *agent.pass_hat_k.values(), agent.taste):
            assert estimate.low is not None and estimate.high is not None and estimate.value is not None
            assert estimate.low <= estimate.value <= estimate.high
    steady = board.agent("steady")
    # pass@3 is 1 on every task: resampling would give [1, 1]; the exact interval of 4 of 4 tasks is given.
    assert steady.pass_at_k[3].method == "exact"
    assert steady.pass_at_k[3].low == pytest.approx(0.025**0.25) and steady.pass_at_k[3].high == 1.0
    assert steady.resolved.method == "bootstrap" and steady.resolved.high == 1.0 and steady.resolved.low < 0.9


def test_two_agents_tie_and_one_pair_differs() -> None:
    board = aggregate(plan_results(PLAN))
    ranks = {a.agent: (a.rank, a.tied_with) for a in board.agents}
    assert ranks == {"steady": (1, ("close",)), "close": (1, ("steady",)), "weak": (3, ())}
    steady, close, weak = (board.agent(n) for n in ("steady", "close", "weak"))
    assert steady.resolved.overlaps(close.resolved) and not close.resolved.overlaps(weak.resolved)
    pair = board.comparison("steady", "close")
    assert (pair.a, pair.tasks, pair.a_better, pair.b_better, pair.same) == ("steady", 4, 1, 0, 3)
    assert pair.p_value == 1.0 and pair.difference.low is not None and pair.difference.low < 0
    apart = board.comparison("close", "weak")
    assert (apart.a, apart.a_better, apart.b_better) == ("close", 4, 0)
    assert apart.difference.low is not None and apart.difference.low > 0  # the interval of the difference excludes 0
    # With 4 tasks the smallest p an exact paired test can give is 2/16: said, not hidden.
    assert apart.p_value == apart.smallest_p == 0.125
    assert apart.p_holm == pytest.approx(0.375)  # Holm over the three pairs: 3 x 0.125


def test_overlap_chains_are_one_tie() -> None:
    """steady overlaps close, close overlaps weak: ordering steady over weak would order a chain."""
    chain = {
        "steady": [[1, 1, 1], [1, 1, 1], [1, 1, 0]],
        "close": [[1, 1, 1], [1, 1, 0], [1, 1, 0]],
        "weak": [[0, 0, 0], [0, 0, 0], [1, 0, 0]],
    }
    board = aggregate(plan_results(chain))
    steady, weak = board.agent("steady"), board.agent("weak")
    assert not steady.resolved.overlaps(weak.resolved)  # these two alone would be ordered
    assert {a.rank for a in board.agents} == {1}
    assert set(weak.tied_with) == {"steady", "close"}


def test_seeded_and_deterministic() -> None:
    results = plan_results(PLAN)
    first = json.dumps(aggregate(results).to_json(), sort_keys=True)
    shuffled = results[:]
    random.Random(5).shuffle(shuffled)
    assert json.dumps(aggregate(shuffled).to_json(), sort_keys=True) == first
    assert json.dumps(aggregate(results, seed=14).to_json(), sort_keys=True) != first


def test_errors_are_left_out_of_the_rates_and_counted() -> None:
    results = plan_results({"a": [[1, 0], [1, 1]]})
    results.append(result("task-0", "a@3", "error"))
    results.append(result("task-2", "a@1", "error"))  # a task with only an error: not one of its tasks
    board = aggregate(results, resamples=100)
    a = board.agent("a")
    assert (a.tasks, a.trials, a.errors, a.min_trials) == (2, 4, 2, 2)
    assert a.resolved.value == pytest.approx(0.75)
    lonely = aggregate([result("t", "b", "error")], resamples=10).agent("b")
    assert (lonely.rank, lonely.resolved.value, lonely.resolved.low) == (None, None, None)


def test_costs_are_separate_axes() -> None:
    results = [
        result("t1", "a@1", "resolved", meta={"cost_usd": 0.2, "tokens": 1000, "wall_s": 10}),
        result("t1", "a@2", "unresolved", meta={"cost_usd": 0.4}),
        result("t2", "a@1", "resolved"),
    ]
    a = aggregate(results, resamples=50).agent("a")
    assert (a.cost_usd.mean, a.cost_usd.total, a.cost_usd.known, a.cost_usd.unknown) == (
        pytest.approx(0.3),
        pytest.approx(0.6),
        2,
        1,
    )
    assert (a.tokens.mean, a.tokens.known, a.wall_s.mean, a.wall_s.unknown) == (1000.0, 1, 10.0, 2)
    data = a.to_json()
    assert set(data) >= {"resolved", "taste", "review", "session_passed", "cost_usd", "tokens", "wall_s"}
    assert not any(key in data for key in ("score", "overall", "combined"))  # nothing folds them into one number


def test_json_shape() -> None:
    doc = aggregate(plan_results(PLAN), resamples=100).to_json()
    assert set(doc) == {"agents", "comparisons", "aggregation"}
    steady = doc["agents"][0]
    assert steady["agent"] == "steady" and steady["rank"] == 1 and steady["tied_with"] == ["close"]
    assert steady["resolved"]["value"] == pytest.approx(11 / 12, abs=1e-4) and steady["resolved"]["tasks"] == 4
    assert set(steady["pass_hat_k"]) == {"1", "2", "3"} and len(steady["resolved"]["interval"]) == 2
    assert doc["aggregation"]["k"] == 3 and doc["aggregation"]["resamples"] == 100
    assert len(doc["comparisons"]) == 3 and {"p_value", "p_holm", "smallest_p", "difference"} <= set(
        doc["comparisons"][0]
    )
    json.dumps(doc)  # JSON-ready as it is


SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "external" / "swebench_sample.jsonl"


@pytest.mark.skipif(not SAMPLE.is_file(), reason="needs ../shared/external/swebench_sample.jsonl")
def test_real_recorded_verdicts_cannot_rank_five_agents_on_eight_tasks() -> None:
    """SWE-bench Lite's recorded verdicts of 30 real predictions (8 instances): AutoCodeRover's runs
    1-3 are its trials. Eight tasks cannot tell these agents apart: every one shares rank 1."""
    results = []
    for line in SAMPLE.read_text().splitlines():
        instance = json.loads(line)
        for pred in instance["predictions"]:
            run = re.fullmatch(r"AutoCodeRover \(acr-run-(\d)\)", pred["agent"])
            name = f"AutoCodeRover@{run[1]}" if run else pred["agent"]
            status = "resolved" if pred["resolved"] else "unresolved"
            results.append(result(instance["instance_id"], name, status))
    board = aggregate(results)
    acr = board.agent("AutoCodeRover")
    assert (acr.tasks, acr.trials, acr.min_trials) == (8, 9, 1)  # two runs on pytest-5227, one elsewhere
    assert acr.resolved.value == pytest.approx(4 / 8)
    assert {a.rank for a in board.agents} == {1}
    best, swe = (
        "Moatless Tools (20240617_moatless_gpt-4o-2024-05-13)",
        "SWE-agent (cost_2_1, re-run by AutoCodeRover authors)",
    )
    assert board.agent(best).resolved.value == pytest.approx(4 / 6) and board.agent(
        swe
    ).resolved.value == pytest.approx(1 / 7)
    pair = board.comparison(best, swe)
    assert (pair.tasks, pair.a_better, pair.b_better, pair.p_value, pair.smallest_p) == (6, 3, 0, 0.25, 0.25)
    lonely = board.comparison("Moatless Tools (20240623_moatless_claude-3.5-sonnet)", best)
    assert (lonely.tasks, lonely.p_value, lonely.difference.value) == (0, None, None)  # never on the same task


def test_a_leaderboard_of_thousands_of_tasks() -> None:
    """A SWE-bench-sized run (2,294 tasks): 2 / 2**n for the pair's smallest p overflowed a float
    past 1,023 differing tasks and ended the run's summary; the intervals are drawn as counts."""
    rng = random.Random(3)
    results = [
        result(
            f"t{t}", agent, "resolved" if rng.random() < rate else "unresolved", taste={"score": rng.uniform(40, 99)}
        )
        for t in range(2294)
        for agent, rate in (("high", 0.7), ("low", 0.5))
    ]
    board = aggregate(results)
    high, low = board.agents
    assert (high.agent, high.tasks, low.agent) == ("high", 2294, "low")
    for figure in (high.resolved, low.resolved, high.taste):
        assert figure.method == "bootstrap" and figure.low is not None and figure.value is not None
        assert figure.high is not None and figure.low < figure.value < figure.high
        assert figure.high - figure.low < 0.1 * figure.value  # thousands of tasks: a narrow interval
    (pair,) = board.comparisons
    assert pair.smallest_p == 0.0 and pair.p_value is not None and pair.p_value < 1e-20
    difference = pair.difference
    assert difference.low is not None and difference.high is not None and difference.value is not None
    assert 0.15 < difference.low < difference.value < difference.high < 0.25


def _quantiles(values: list[float]) -> list[float]:
    ordered = sorted(values)
    return [ordered[int(q * (len(ordered) - 1))] for q in (0.025, 0.25, 0.5, 0.75, 0.975)]


@pytest.mark.parametrize("with_gaps", [False, True])
def test_counts_drawn_at_once_match_drawing_each_task(monkeypatch: pytest.MonkeyPatch, with_gaps: bool) -> None:
    """The replicates drawn as counts (a multinomial draw of each distinct value, or how many draws
    fall on known values) have the distribution of the two-stage bootstrap drawn task by task:
    their quantiles agree within the Monte Carlo error of 20,000 replicates each."""
    from pytest_proofswe.compare import agents

    values: list[float | None] = [0.0, 1.0, 0.5, 1.0, 0.0, 0.25] * 10
    if with_gaps:
        values[::7] = [None] * len(values[::7])
    # One-value tasks, tasks with four equally likely redraws, and tasks whose redraws have
    # unequal chances (as a task's resolved count does: Binomial(3, 2/3)).
    pools: list[list[tuple[float | None, float]]] = [[(v, 1.0)] for v in values]
    pools += [[(0.0, 0.25), (1.0, 0.25), (1.0, 0.25), (0.5, 0.25)]] * 12
    pools += [[(0.0, 1 / 27), (1 / 3, 6 / 27), (2 / 3, 12 / 27), (1.0, 8 / 27)]] * 12
    assert agents._few(len({*values, 1 / 3, 2 / 3}), len(pools))
    fast = list(agents._redrawn_means(pools, random.Random(1), 20_000))
    monkeypatch.setattr(agents, "_few", lambda distinct, n: False)
    slow_counts = [
        sum(v * c for v, c in counts if v is not None) / sum(c for v, c in counts if v is not None)
        for counts in agents._redraws(pools, random.Random(2), 20_000)
    ]
    slow_means = list(agents._redrawn_means(pools, random.Random(3), 20_000))
    assert len(fast) == len(slow_counts) == len(slow_means) == 20_000
    assert _quantiles(fast) == pytest.approx(_quantiles(slow_counts), abs=0.01)
    assert _quantiles(slow_means) == pytest.approx(_quantiles(slow_counts), abs=0.01)


def test_intervals_of_repeated_trials_match_a_naive_two_stage_bootstrap() -> None:
    """Tasks drawn with replacement, then each drawn task's trials with replacement (graded
    and errors apart): the resolved and taste intervals of ``aggregate`` (outcomes from their
    exact chances, scores from redraws made once, counts drawn at once) agree with that
    bootstrap made the slow way, within the Monte Carlo error of 20,000 replicates."""
    rng = random.Random(11)
    plan = {f"task-{t}": [(rng.random() < 0.6, rng.uniform(50, 95)) for _ in range(4)] for t in range(30)}
    plan["task-0"][3] = (False, None)  # an error: graded trials and errors are redrawn apart
    results = [
        result(
            task,
            f"solo@{n}",
            "error" if score is None else ("resolved" if ok else "unresolved"),
            taste={"score": score},
        )
        for task, trials in plan.items()
        for n, (ok, score) in enumerate(trials, 1)
    ]
    board = aggregate(results, resamples=20_000)
    (solo,) = board.agents

    draw = random.Random(5)
    tasks = list(plan.values())
    resolved, taste = [], []
    for _ in range(20_000):
        rates, scores = [], []
        for trials in draw.choices(tasks, k=len(tasks)):
            graded = [t for t in trials if t[1] is not None]
            errors = [t for t in trials if t[1] is None]
            redraw = draw.choices(graded, k=len(graded)) + draw.choices(errors, k=len(errors))
            rates.append(sum(ok for ok, s in redraw if s is not None) / len(graded))
            known = [s for _ok, s in redraw if s is not None]
            scores.append(sum(known) / len(known))
        resolved.append(sum(rates) / len(rates))
        taste.append(sum(scores) / len(scores))
    resolved.sort()
    taste.sort()
    assert (solo.resolved.low, solo.resolved.high) == pytest.approx((resolved[500], resolved[19_499]), abs=0.01)
    assert (solo.taste.low, solo.taste.high) == pytest.approx((taste[500], taste[19_499]), abs=0.3)
