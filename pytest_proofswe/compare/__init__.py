"""Comparing agents and runs: per-agent aggregates with intervals, pairwise tests, run-to-run changes.

Plain modules that know nothing of pytest: :mod:`.stats` (the formulas), :mod:`.agents`
(aggregates, ranking and pairwise comparisons from a run's JSON results), :mod:`.runs`
(``--proofswe-compare``: what changed since an old report). docs/compare.md says how each
figure is computed and what it does not show.
"""

from __future__ import annotations

from .agents import (
    CONFIDENCE,
    RESAMPLES,
    SEED,
    AgentAggregate,
    Comparison,
    CostAxis,
    Estimate,
    Leaderboard,
    Trial,
    aggregate,
    trial_from_result,
)
from .runs import REVIEW_DROP, TASTE_DROP, RunComparison, SubmissionChange, compare_runs, load_old_report

__all__ = [
    "CONFIDENCE",
    "RESAMPLES",
    "REVIEW_DROP",
    "SEED",
    "TASTE_DROP",
    "AgentAggregate",
    "Comparison",
    "CostAxis",
    "Estimate",
    "Leaderboard",
    "RunComparison",
    "SubmissionChange",
    "Trial",
    "aggregate",
    "compare_runs",
    "load_old_report",
    "trial_from_result",
]
