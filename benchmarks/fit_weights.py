"""Fit a few taste weights to what maintainers merged, and say what the fit is worth on unseen repositories.

Usage:
  python benchmarks/fit_weights.py RESULTS.json [--rule RULE=V1,V2,...]... [--out FOLDS.json] [--all]

``RESULTS.json`` is a ``benchmarks/taste_validity.py --out`` file graded with the weights in
force (recorded in it; they are the start of the fit). Each PR's findings give how many units of each rule it has (points / weight; the
size rules from the metrics, so that their caps do not hide units), so a PR's score under
other weights is computed again without grading: ``100 - sum(weight x units)``, kept within
0..100, as the grader does.

The fit is deliberately small and explainable: only the rules named (by default the four
the issue's leads point to), each over a short grid of round values, by coordinate ascent
on the AUC (merged vs closed) from the weights in force (or ``--start``), ties going to the
value nearest the start. Printed:
the AUC with the weights in force, the fitted weights and their in-sample AUC, and the
**leave-one-repository-out** AUC (for each repository, weights fitted on the others and
applied to it; all PRs' scores pooled), the figure to report. ``--out`` writes those
per-repository weights as a ``folds`` table for ``taste_validity.py --weights``, which grades
every PR again with its repository's fold: the same cross-validated figure from the real
grader. Repositories outside the PRs fitted (``--all`` grading, say) get the weights fitted
on all of them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from taste_validity import auc, in_subset  # noqa: E402

from pytest_proofswe.taste.model import RULES, THRESHOLDS  # noqa: E402
from pytest_proofswe.taste.scope import CODE_LINES_CAP, FREE_CODE_LINES  # noqa: E402

#: The rules fitted by default and their grids (points per unit).
DEFAULT_GRIDS: dict[str, list[float]] = {
    "scope-code-lines": [0, 0.05, 0.1, 0.15, 0.2, 0.3],
    "structure-new-module": [0, 3, 6, 10, 15],
    "tests-added": [0, -1, -3, -5, -8],
    "complexity-increase": [0, 1, 2, 3, 5],
}
CAPS = {"scope-code-lines": CODE_LINES_CAP, "scope-lines-changed": 15.0, "scope-larger-than-gold": 10.0}


def units(result: Mapping[str, Any], weights: Mapping[str, float]) -> dict[str, float]:
    """Units of each rule in one graded PR (``weights``: those it was graded with)."""
    out: dict[str, float] = {}
    metrics = result["metrics"]
    for rule, _path, _line, penalty, _message in result["findings"]:
        if rule == "scope-code-lines":  # diff mode: no reference solution
            out[rule] = float(metrics["code_lines_changed"] - FREE_CODE_LINES)
        elif rule == "scope-lines-changed":
            out[rule] = float(metrics["code_lines_changed"] - (THRESHOLDS["max_lines_changed"] or 0))
        elif penalty and weights.get(rule):
            out[rule] = out.get(rule, 0.0) + penalty / weights[rule]
    return out


def score(pr_units: Mapping[str, float], weights: Mapping[str, float]) -> float:
    points = 0.0
    for rule, n in pr_units.items():
        p = weights[rule] * n
        points += min(p, CAPS[rule]) if rule in CAPS else p
    return max(0.0, min(100.0, 100.0 - points))


def auc_of(rows: Sequence[Mapping[str, Any]], weights: Mapping[str, float]) -> float:
    merged = [score(r["units"], weights) for r in rows if r["merged"]]
    closed = [score(r["units"], weights) for r in rows if not r["merged"]]
    value = auc(merged, closed)
    return 0.5 if value is None else value


def fit(
    rows: Sequence[Mapping[str, Any]], grids: Mapping[str, Sequence[float]], start: Mapping[str, float], passes: int = 4
) -> tuple[dict[str, float], float]:
    """Coordinate ascent over the grids from ``start``; ties keep the value nearest ``start``."""
    weights = dict(start)
    best = auc_of(rows, weights)
    for _ in range(passes):
        moved = False
        for rule, grid in grids.items():
            trials = []
            for value in grid:
                trial = {**weights, rule: value}
                trials.append((round(auc_of(rows, trial), 9), -abs(value - start[rule]), value))
            value_auc, _, value = max(trials)
            if value != weights[rule] and value_auc > best:
                weights[rule], best, moved = value, value_auc, True
        if not moved:
            break
    return weights, best


def leave_one_repository_out(
    rows: Sequence[Mapping[str, Any]], grids: Mapping[str, Sequence[float]], start: Mapping[str, float]
) -> tuple[float, dict[str, dict[str, float]]]:
    """The pooled AUC of each PR scored with weights fitted without its repository, and those weights."""
    folds: dict[str, dict[str, float]] = {}
    scores: dict[str, float] = {}
    for repo in sorted({r["repo"] for r in rows}):
        weights, _ = fit([r for r in rows if r["repo"] != repo], grids, start)
        folds[repo] = weights
        for r in rows:
            if r["repo"] == repo:
                scores[r["id"]] = score(r["units"], weights)
    value = auc([scores[r["id"]] for r in rows if r["merged"]], [scores[r["id"]] for r in rows if not r["merged"]])
    return (0.5 if value is None else value), folds


def _grid(text: str) -> tuple[str, list[float]]:
    rule, _, values = text.partition("=")
    if rule not in RULES or not values:
        raise argparse.ArgumentTypeError(f"--rule {text!r}: expected RULE=V1,V2,... with a rule of docs/rules.md")
    try:
        return rule, [float(v) for v in values.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--rule {text!r}: the values must be numbers") from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, help="a taste_validity.py --out file")
    parser.add_argument("--rule", type=_grid, action="append", default=[], help="RULE=V1,V2,... to fit (repeatable)")
    parser.add_argument(
        "--start",
        type=_grid,
        action="append",
        default=[],
        help="RULE=V: start (and break ties) there, not at the weight in force",
    )
    parser.add_argument("--all", action="store_true", help="fit on every PR of the file, not only the clean labels")
    parser.add_argument("--out", type=Path, help="write the leave-one-repository-out weights as a folds table")
    args = parser.parse_args(argv)
    document = json.loads(args.results.read_text(encoding="utf-8"))
    # The weights the file was graded with (older files do not record them: this checkout's).
    graded_with = {rule: r.weight for rule, r in RULES.items()} | document.get("meta", {}).get("weights_in_force", {})
    table = (document.get("meta", {}).get("weights") or {}).get("table")
    if table:
        raise SystemExit(f"{args.results}: graded with --weights; fit from a run with the weights in force")
    grids = dict(args.rule) or DEFAULT_GRIDS
    for rule in grids:
        if not graded_with[rule]:
            raise SystemExit(f"--rule {rule}: its weight in force is 0, so its units cannot be read from the findings")
    rows = []
    all_repos = sorted({r["repo"] for r in document["results"]})
    for r in document["results"]:
        if r["status"] == "graded" and in_subset(bool(r["clean"]), "all" if args.all else "clean"):
            rows.append({**r, "units": units(r, graded_with)})
    if not rows:
        raise SystemExit(f"{args.results}: no graded PR to fit")
    print(f"{sum(r['merged'] for r in rows)} merged vs {sum(not r['merged'] for r in rows)} closed PRs")
    print(f"AUC with the weights in force: {auc_of(rows, graded_with):.3f}")
    start = dict(graded_with)
    for rule, values in args.start:
        start[rule] = values[0]
    if args.start:
        print(f"AUC with the starting weights: {auc_of(rows, start):.3f}")
    fitted, in_sample = fit(rows, grids, start)
    shown = ", ".join(f"{rule} = {fitted[rule]:g}" for rule in grids)
    print(f"fitted on all: {shown} (in-sample AUC {in_sample:.3f})")
    cross, folds = leave_one_repository_out(rows, grids, start)
    print(f"leave-one-repository-out AUC: {cross:.3f} ({len(folds)} folds)")
    for rule in grids:
        values = sorted({f[rule] for f in folds.values()})
        print(f"  {rule}: folds chose {', '.join(f'{v:g}' for v in values)}")
    if args.out:
        out = {
            repo: {"weights": {rule: folds.get(repo, fitted)[rule] for rule in grids}}
            for repo in sorted(set(all_repos) | set(folds))
        }
        args.out.write_text(json.dumps({"folds": out}, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
