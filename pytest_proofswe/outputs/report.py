"""The run's outputs: the JSON report (written atomically) and the terminal summary."""

from __future__ import annotations

import itertools
import json
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .. import __version__

__all__ = [
    "SCHEMA",
    "agents_summary",
    "append_partial",
    "build_report",
    "compare_summary",
    "partial_path",
    "terminal_summary",
    "write_json_atomic",
    "write_text_atomic",
]

SCHEMA = "proofswe-report/1"


def build_report(
    results: Sequence[dict[str, Any]],
    *,
    interrupted: bool = False,
    validate: bool = False,
    interruption: str | None = None,
) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for r in results:
        status = r.get("behaviour", {}).get("status", "error")
        counts[status] = counts.get(status, 0) + 1
    reviews = [r.get("review") or {} for r in results]
    costs: list[float] = [v["cost_usd"] for v in reviews if v.get("cost_usd") is not None]
    return {
        "schema": SCHEMA,
        "generator": f"pytest-proofswe {__version__}",
        "mode": "validate" if validate else "grade",
        "interrupted": interrupted,
        "interruption": interruption,
        "summary": {
            "results": len(results),
            "by_status": dict(sorted(counts.items())),
            "review_cost_usd": round(sum(costs), 6) if costs else None,
            "cached": sum(1 for r in results if r.get("cached")),
        },
        "results": list(results),
    }


def calibration_document(outcomes: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Agreement per criterion between the reviewer and the labels, over the scored examples."""
    from ..review.calibration import agreement

    pairs: dict[str, list[tuple[int, float]]] = {}
    for o in outcomes:
        if o.get("status") not in ("scored", "unstable"):
            continue
        for cid, human in o["labels"].items():
            if cid in o["scores"]:
                pairs.setdefault(cid, []).append((human, o["scores"][cid]))
    return {
        "examples": len(outcomes),
        "scored": sum(1 for o in outcomes if o.get("status") in ("scored", "unstable")),
        "rubric": outcomes[0].get("rubric") if outcomes else None,
        "model": outcomes[0].get("model") if outcomes else None,
        "criteria": [a.to_json() for a in agreement(pairs)],
        "outcomes": list(outcomes),
    }


def calibration_summary(tr: Any, outcomes: Sequence[dict[str, Any]]) -> None:
    doc = calibration_document(outcomes)
    tr.write_sep("=", "proofswe calibration")
    tr.write_line(
        f"rubric {doc['rubric']}, model {doc['model']}: {doc['scored']} of {doc['examples']} example(s) scored"
    )
    rows = [
        [
            c["criterion"],
            str(c["n"]),
            f"{c['exact']:.0%}",
            f"{c['within_one']:.0%}",
            "n/a" if c["weighted_kappa"] is None else f"{c['weighted_kappa']:.2f}",
        ]
        for c in doc["criteria"]
    ]
    for text in format_table(["criterion", "n", "exact", "within one", "weighted kappa"], rows):
        tr.write_line(text)


def partial_path(report: Path) -> Path:
    """Where the results are appended as they finish: ``<report>.partial.jsonl``."""
    return report.with_name(report.name + ".partial.jsonl")


def append_partial(report: Path, result: dict[str, Any], *, fresh: bool) -> bool:
    """Append ``result`` to the partial file of ``report`` (``fresh``: replace it first); True.

    If the grader dies (killed, out of memory), what had finished is in that file, one
    result per line; a run that ends writes the report and removes the file.
    """
    path = partial_path(report)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w" if fresh else "a", encoding="utf-8") as out:
        out.write(json.dumps(result, sort_keys=True) + "\n")
        out.flush()
        os.fsync(out.fileno())
    return True


def write_json_atomic(path: Path, document: dict[str, Any]) -> None:
    """Write ``document`` to ``path`` so that a reader never sees half a file."""
    write_text_atomic(path, json.dumps(document, indent=2, sort_keys=False, default=str) + "\n")


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file renamed into place: never half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def ratio(group: dict[str, Any] | None) -> str:
    if not group:
        return "-"
    passed, failed = len(group.get("passed", [])), len(group.get("failed", []))
    return f"{passed}/{passed + failed}" if passed + failed else "-"


def _taste(taste: dict[str, Any] | None) -> str:
    """The taste score, marked with ! when the taste item failed."""
    if not taste or taste.get("score") is None:
        return "-"
    return f"{taste['score']:g}" + ("" if taste.get("passed") else "!")


def taste_lines(results: Sequence[dict[str, Any]], per_submission: int = 3) -> list[str]:
    """One line per submission whose taste grade has penalties: its largest ones."""
    out = []
    for r in results:
        taste = r.get("taste") or {}
        findings = [f for f in taste.get("findings", []) if f.get("penalty", 0) > 0]
        if not findings:
            continue
        shown = "; ".join(finding_text(f) for f in findings[:per_submission])
        more = f" (+{len(findings) - per_submission} more)" if len(findings) > per_submission else ""
        out.append(f"  {r.get('task')}::{r.get('submission')} {taste.get('score'):g}: {shown}{more}")
    return out


def finding_text(f: dict[str, Any]) -> str:
    from ..taste.model import format_finding

    return format_finding(f.get("path"), f.get("line"), f["rule"], f["message"], float(f["penalty"]))


def _review(review: dict[str, Any] | None) -> str:
    """The review score (1-5), ! when it failed, ~ when unstable; else its status."""
    if not review or review.get("status") == "skipped":
        return "-"
    if review.get("score") is None:
        return str(review.get("status"))
    mark = "~" if review.get("status") == "unstable" else ("" if review.get("passed") else "!")
    return f"{review['score']:.2f}{mark}"


def review_costs(results: Sequence[dict[str, Any]]) -> str | None:
    """One line: reviews made, from cache, tokens and dollars; None when there were none."""
    reviews = [r.get("review") or {} for r in results]
    made = [v for v in reviews if v.get("status") not in (None, "skipped")]
    if not made:
        return None
    cached = sum(1 for v in made if v.get("cached"))
    costs: list[float] = [v["cost_usd"] for v in made if v.get("cost_usd") is not None]
    tokens = sum((v.get("tokens") or {}).get("input") or 0 for v in made if not v.get("cached"))
    cost = f"${sum(costs):.4f}" if costs else "cost unknown"
    return f"review: {len(made)} review(s), {cached} from the cache, {tokens:,} input tokens sent, {cost}"


#: The session signals the summary shows (when not 0), with their short names in the table.
SESSION_SIGNALS = {
    "loops": "loop",
    "corrections": "corr",
    "interruptions": "intr",
    "rejections": "rej",
    "reverted_edits": "revert",
}
#: Short names of the other metrics a threshold can fail on.
_SESSION_SHORT = {
    **SESSION_SIGNALS,
    "failed_commands": "failed",
    "edits_outside_patch": "outside",
    "cost_usd": "cost",
    "wall_s": "time",
}
SESSION_LEGEND = (
    "session: loop = loops, corr = corrections, intr = interruptions, rej = rejected tool calls, "
    "revert = reverted edits; a>b = a metric above its threshold"
)
_ABOVE = re.compile(r"^(\w+) is (\S+), above max_\w+=(\S+)$")


def has_sessions(results: Sequence[dict[str, Any]]) -> bool:
    """Whether any result has a transcript (a session column is shown only then)."""
    return any((r.get("session") or {}).get("status") not in (None, "skipped") for r in results)


def session_cell(session: dict[str, Any] | None) -> str:
    """The session's key signals: failed thresholds first (``rej 2>1``), then the counts of
    loops, corrections, interruptions, rejections and reverted edits that are not 0; ``ok``
    when there are none; ``!`` at the end when the session item failed."""
    if not session or session.get("status") in (None, "skipped"):
        return "-"
    if session.get("status") != "scored":
        return str(session.get("status"))
    parts: list[str] = []
    shown = set()
    for failure in session.get("failures", []):
        above = _ABOVE.match(failure)
        if above:
            metric, value, limit = above.groups()
            parts.append(f"{_SESSION_SHORT.get(metric, metric)} {value}>{limit}")
            shown.add(metric)
        else:  # require_tests_after_last_edit
            parts.append("untested")
    metrics = session.get("metrics") or {}
    for metric, short in SESSION_SIGNALS.items():
        if metric not in shown and metrics.get(metric):
            parts.append(f"{short} {metrics[metric]}")
    return (", ".join(parts) or "ok") + ("" if session.get("passed") else "!")


def session_cost(session: dict[str, Any] | None) -> str:
    """The session's cost in dollars; ``?`` when it is unknown (the reason is in the report)."""
    if not session or session.get("status") != "scored":
        return "-"
    cost = (session.get("metrics") or {}).get("cost_usd")
    return "?" if cost is None else f"${cost:.4f}"


def session_lines(results: Sequence[dict[str, Any]], per_metric: int = 3) -> list[str]:
    """One line per session with failures or signals: each metric with the places it came from."""
    out = []
    for r in results:
        session = r.get("session") or {}
        if session.get("status") != "scored":
            if session.get("status") not in (None, "skipped"):
                out.append(f"  {r.get('task')}::{r.get('submission')}: {session.get('reason')}")
            continue
        metrics = session.get("metrics") or {}
        failed = {m.group(1) for m in map(_ABOVE.match, session.get("failures", [])) if m}
        parts = [f for f in session.get("failures", []) if not _ABOVE.match(f)]
        for metric in [*failed, *(m for m in SESSION_SIGNALS if m not in failed)]:
            value = metrics.get(metric)
            if not value:
                continue
            where = [s["where"] for s in session.get("signals", []) if s.get("metric") == metric]
            cited = ", ".join(where[:per_metric]) + (", ..." if len(where) > per_metric else "")
            limit = ", above its threshold," if metric in failed else ""
            parts.append(f"{metric.replace('_', ' ')} {value:g}{limit}" + (f" at {cited}" if cited else ""))
        if metrics.get("cost_usd") is None and metrics.get("cost_reason"):
            parts.append(f"cost unknown: {metrics['cost_reason']}")
        if parts:
            out.append(f"  {r.get('task')}::{r.get('submission')}: " + "; ".join(parts))
    return out


def checklist_lines(results: Sequence[dict[str, Any]]) -> list[str]:
    """One line per submission whose review answered a checklist: how many items were met, and which were not."""
    out = []
    for r in results:
        items = (r.get("review") or {}).get("checklist") or []
        if not items:
            continue
        met = sum(1 for c in items if c.get("met"))
        line = f"  {r.get('task')}::{r.get('submission')} {met}/{len(items)} met"
        unmet = [
            f"{c.get('item')!r} ({c.get('answer')}{', its quotes are not in the diff' if c.get('answer') == 'yes' else ''})"
            for c in items
            if not c.get("met")
        ]
        out.append(line + ("; not met: " + "; ".join(unmet) if unmet else ""))
    return out


def session_costs(results: Sequence[dict[str, Any]]) -> str | None:
    """One line: transcripts graded, how many failed, and what the agents' sessions cost."""
    graded = [r["session"] for r in results if (r.get("session") or {}).get("status") == "scored"]
    if not graded:
        return None
    failed = sum(1 for s in graded if not s.get("passed"))
    costs = [s["metrics"]["cost_usd"] for s in graded if (s.get("metrics") or {}).get("cost_usd") is not None]
    unknown = len(graded) - len(costs)
    cost = f"${sum(costs):.4f}" if costs else "cost unknown"
    if costs and unknown:
        cost += f" ({unknown} unknown)"
    return f"session: {len(graded)} transcript(s), {failed} failed, agent cost {cost}"


def summary_rows(results: Sequence[dict[str, Any]], *, sessions: bool = False) -> list[list[str]]:
    rows = []
    for r in results:
        b = r.get("behaviour", {})
        duration = r.get("duration_s")
        session = [session_cell(r.get("session")), session_cost(r.get("session"))] if sessions else []
        rows.append(
            [
                str(r.get("task", "")),
                str(r.get("submission") or "-"),
                str(b.get("status", "")),
                ratio(b.get("fail_to_pass")),
                ratio(b.get("pass_to_pass")),
                _taste(r.get("taste")),
                _review(r.get("review")),
                *session,
                (f"{duration:.1f}" if isinstance(duration, (int, float)) else "-")
                + (" cached" if r.get("cached") else ""),
            ]
        )
    return rows


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]


#: With more agents than this, the summaries list only the comparisons of agents next in the ranking.
MAX_LISTED_PAIRS = 10


def rank_cell(agent: Mapping[str, Any]) -> str:
    """``3``, or ``=1`` for a rank shared with tied agents; ``-`` when not ranked (no graded trial)."""
    if agent.get("rank") is None:
        return "-"
    return ("=" if agent.get("tied_with") else "") + str(agent["rank"])


def estimate_cell(estimate: Mapping[str, Any] | None, *, digits: int = 2, interval: bool = True) -> str:
    """``0.92 [0.67, 1.00]`` (the interval only when asked); ``-`` without a value."""
    if not estimate or estimate.get("value") is None:
        return "-"
    text = f"{estimate['value']:.{digits}f}"
    bounds = estimate.get("interval")
    if interval and bounds:
        text += f" [{bounds[0]:.{digits}f}, {bounds[1]:.{digits}f}]"
    return text


def cost_cell(axis: Mapping[str, Any] | None, kind: str) -> str:
    """A cost axis's mean per trial (``$0.0400``, ``12,000``, ``41.0``), ``*`` when some trials do not know it."""
    if not axis or axis.get("mean") is None:
        return "-"
    mean = float(axis["mean"])
    text = {"usd": f"${mean:.4f}", "tokens": f"{mean:,.0f}", "s": f"{mean:.1f}"}[kind]
    return text + ("*" if axis.get("unknown") else "")


def agents_rows(board: Mapping[str, Any], *, intervals: bool = False) -> tuple[list[str], list[list[str]]]:
    """The per-agent table (header, rows): outcome figures first, then the costs, each its own column."""
    k = int(board.get("aggregation", {}).get("k") or 1)
    header = ["rank", "agent", "tasks", "trials", "resolved (95% CI)"]
    if k > 1:
        header += [f"pass@{k}", f"pass^{k}"]
    header += ["taste", "review", "session ok", "$/trial", "tokens/trial", "s/trial"]
    rows = []
    for a in board.get("agents", []):
        row = [rank_cell(a), str(a["agent"]), str(a["tasks"]), str(a["trials"]), estimate_cell(a.get("resolved"))]
        if k > 1:
            row += [
                estimate_cell(a.get("pass_at_k", {}).get(str(k)), interval=intervals),
                estimate_cell(a.get("pass_hat_k", {}).get(str(k)), interval=intervals),
            ]
        row += [
            estimate_cell(a.get("taste"), digits=1, interval=intervals),
            estimate_cell(a.get("review"), interval=intervals),
            estimate_cell(a.get("session_passed"), interval=intervals),
            cost_cell(a.get("cost_usd"), "usd"),
            cost_cell(a.get("tokens"), "tokens"),
            cost_cell(a.get("wall_s"), "s"),
        ]
        rows.append(row)
    return header, rows


def listed_comparisons(board: Mapping[str, Any]) -> tuple[list[Mapping[str, Any]], bool]:
    """The comparisons the summaries show: every pair, or only neighbours in the ranking when there are many."""
    pairs = [c for c in board.get("comparisons", []) if c.get("tasks")]
    if len(pairs) <= MAX_LISTED_PAIRS:
        return pairs, False
    order = [a["agent"] for a in board.get("agents", [])]
    neighbours = {frozenset(p) for p in itertools.pairwise(order)}
    return [c for c in pairs if frozenset((c["a"], c["b"])) in neighbours], True


def comparison_text(c: Mapping[str, Any]) -> str:
    """``a vs b: +0.25 [-0.10, +0.60] on 4 tasks (a better on 2, b on 1, same on 1); p = 0.625 (...)``."""
    d = c["difference"]
    bounds = d.get("interval") or [None, None]
    interval = f" [{bounds[0]:+.2f}, {bounds[1]:+.2f}]" if None not in bounds else ""
    p = "-" if c.get("p_value") is None else f"{c['p_value']:.3f}"
    holm = "" if c.get("p_holm") is None or c.get("p_holm") == c.get("p_value") else f", Holm {c['p_holm']:.3f}"
    differ = c["a_better"] + c["b_better"]
    return (
        f"{c['a']} vs {c['b']}: {d['value']:+.2f}{interval} on {c['tasks']} task(s) "
        f"({c['a']} better on {c['a_better']}, {c['b']} on {c['b_better']}, same on {c['same']}); "
        f"p = {p}{holm} ({c['test']}; with {differ} task(s) that differ, p cannot be below {c['smallest_p']:.3g})"
    )


AGENTS_LEGEND = (
    "ranked by resolved rate; =N: tied, their 95% intervals overlap (bootstrap clustered by task); "
    "outcomes and costs are separate columns, never combined; * = unknown for some trials (docs/compare.md)"
)


def agents_summary(tr: Any, board: Mapping[str, Any]) -> None:
    """The per-agent table and the pairwise comparisons (docs/compare.md)."""
    tr.write_sep("-", "proofswe agents")
    header, rows = agents_rows(board)
    for text in format_table(header, rows):
        tr.write_line(text)
    tr.write_line(AGENTS_LEGEND)
    pairs, cut = listed_comparisons(board)
    if pairs:
        tr.write_line("")
        tr.write_line(
            "pairwise, on the tasks both attempted (difference of resolved rates, 95% interval, paired test):"
        )
        for c in pairs:
            tr.write_line("  " + comparison_text(c))
        if cut:
            tr.write_line(
                f"  (agents next in the ranking only; all {len(board['comparisons'])} pairs are in the JSON report)"
            )


def _change_text(change: Mapping[str, Any]) -> str:
    def show(value: Any) -> str:
        return "-" if value is None else (f"{value:g}" if isinstance(value, (int, float)) else str(value))

    delta = f" ({change['delta']:+g})" if change.get("delta") is not None else ""
    mark = " REGRESSION" if change.get("regression") else ""
    return f"{change['field']} {show(change.get('old'))} -> {show(change.get('new'))}{delta}{mark}"


def compare_summary(tr: Any, comparison: Mapping[str, Any], *, listed: int = 50) -> None:
    """--proofswe-compare: the counts, then each changed submission on one line (docs/compare.md)."""
    tr.write_sep("-", "proofswe compare")
    s = comparison["summary"]
    generator = f" ({comparison['old_generator']})" if comparison.get("old_generator") else ""
    tr.write_line(
        f"against {comparison['old']}{generator}: {s['changed']} changed, {s['unchanged']} unchanged, "
        f"{s['new']} new, {s['missing']} missing; {s['regressed']} regressed "
        f"(resolved -> not resolved, taste down by more than {comparison['thresholds']['taste_drop']:g}, "
        f"review down by more than {comparison['thresholds']['review_drop']:g}, session passed -> failed)"
    )
    changed = sorted(comparison["changed"], key=lambda c: not c["regressed"])  # regressions first
    for c in changed[:listed]:
        tr.write_line(f"  {c['task']}::{c['submission']}: " + "; ".join(_change_text(x) for x in c["changes"]))
    if len(changed) > listed:
        tr.write_line(f"  ... and {len(changed) - listed} more (every change is in the JSON report's compare)")
    for label, key in (("new in this run", "new"), ("missing from this run", "missing")):
        keys = [f"{k['task']}::{k['submission']}" for k in comparison[key]]
        if keys:
            more = f" (+{len(keys) - 10} more)" if len(keys) > 10 else ""
            tr.write_line(f"{label}: {', '.join(keys[:10])}{more}")
    shifts = [
        a
        for a in comparison.get("agents", [])
        if a["old"]["resolved"] != a["new"]["resolved"] or a["old"]["tasks"] != a["new"]["tasks"]
    ]
    if shifts:

        def rate(side: Mapping[str, Any]) -> str:
            return "-" if side["resolved"] is None else f"{side['resolved']:.2f} ({side['tasks']} tasks)"

        tr.write_line(
            "agents' resolved rate, old -> new: "
            + "; ".join(f"{a['agent']} {rate(a['old'])} -> {rate(a['new'])}" for a in shifts)
        )
    for problem in comparison.get("problems", []):
        tr.write_line(f"old report: {problem}")


def regression_line(comparison: Mapping[str, Any]) -> str:
    """The line saying why --proofswe-fail-on-regression fails the run."""
    regressed = comparison["regressions"]
    shown = "; ".join(f"{r['task']}::{r['submission']} ({', '.join(r['what'])})" for r in regressed[:5])
    more = f" and {len(regressed) - 5} more" if len(regressed) > 5 else ""
    return (
        f"proofswe: --proofswe-fail-on-regression: {len(regressed)} submission(s) regressed against "
        f"{comparison['old']}: {shown}{more}"
    )


def _section(tr: Any, title: str, lines: Sequence[str], *, legend: str | None = None) -> None:
    """A titled block of the summary after a blank line; nothing when there are no lines."""
    if not lines:
        return
    tr.write_line("")
    tr.write_line(title)
    for text in lines:
        tr.write_line(text)
    if legend is not None:
        tr.write_line(legend)


def terminal_summary(
    tr: Any, results: Sequence[dict[str, Any]], *, kept: Sequence[str] = (), unmatched: Sequence[str] = ()
) -> None:
    if not results and not kept and not unmatched:
        return
    tr.write_sep("=", "proofswe")
    if results:
        sessions = has_sessions(results)
        header = ["task", "submission", "status", "F2P", "P2P", "taste", "review"]
        header += ["session", "agent cost", "seconds"] if sessions else ["seconds"]
        for text in format_table(header, summary_rows(results, sessions=sessions)):
            tr.write_line(text)
        by_status: dict[str, int] = {}
        for r in results:
            s = r.get("behaviour", {}).get("status", "error")
            by_status[s] = by_status.get(s, 0) + 1
        tr.write_line(", ".join(f"{n} {s}" for s, n in sorted(by_status.items())))
        cached = sum(1 for r in results if r.get("cached"))
        if cached:
            tr.write_line(
                f"{cached} of {len(results)} results from the result cache: nothing they depend on changed "
                "(their seconds are the first grading's; --proofswe-no-cache grades them again)"
            )
        for r in results:
            b = r.get("behaviour", {})
            if b.get("status") == "tampered":
                first = (str(b.get("reason", "")).splitlines() or [""])[0]
                tr.write_line(f"tampered: {r.get('task')}::{r.get('submission')}: {first}")
        notes = {(r.get("proof") or {}).get("environment", {}).get("note") for r in results}
        for note in sorted(n for n in notes if n):
            tr.write_line(f"proofswe: {note}", yellow=True)
        costs = review_costs(results)
        if costs:
            tr.write_line(costs)
        spent = session_costs(results)
        if spent:
            tr.write_line(spent)
        _section(tr, "taste findings (the largest penalties of each submission):", taste_lines(results))
        _section(
            tr,
            "checklists (the reviewer's yes/no per item; met = yes with a quote that is in the diff):",
            checklist_lines(results),
        )
        _section(
            tr,
            "session signals (where in the transcript each comes from):",
            session_lines(results),
            legend=SESSION_LEGEND + "; ! = the session item failed",
        )
    for path in kept:
        tr.write_line(f"workspace kept: {path}")
    if unmatched:
        tr.write_line(f"predictions for unknown tasks (no task folder with that id): {', '.join(unmatched)}")


#: A diff run's terminal summary lists its findings up to this many.
MAX_TERMINAL_FINDINGS = 50


def diff_summary(tr: Any, results: Sequence[dict[str, Any]]) -> None:
    """The terminal summary of a --proofswe-diff run."""
    if not results:
        return
    r = results[0]
    taste, review, change = r.get("taste") or {}, r.get("review") or {}, r.get("change") or {}
    tr.write_sep("=", "proofswe diff")
    metrics = taste.get("metrics", {})
    tr.write_line(
        f"{change.get('branch') or 'HEAD'} since {change.get('base')} "
        f"(merge base {str(change.get('merge_base'))[:12]}): {metrics.get('files_touched', 0)} file(s), "
        f"+{metrics.get('lines_added', 0)} -{metrics.get('lines_removed', 0)}"
    )
    tr.write_line(
        f"taste {taste.get('score', 0):g}/100 ({'passed' if taste.get('passed') else 'failed'})"
        + (f"; review {_review(review)}" if review.get("status") != "skipped" else "")
    )
    # The one place a diff run lists its findings (the diff::taste failure points here).
    found = [f for f in taste.get("findings", []) if f.get("penalty", 0) > 0]
    for f in found[:MAX_TERMINAL_FINDINGS]:
        tr.write_line(f"  {finding_text(f)}")
    if len(found) > MAX_TERMINAL_FINDINGS:
        tr.write_line(
            f"  … and {len(found) - MAX_TERMINAL_FINDINGS} more: every finding is in the SARIF log "
            "(--proofswe-sarif), the Markdown (--proofswe-markdown) and the JSON report (--proofswe-report)"
        )
    costs = review_costs(results)
    if costs:
        tr.write_line(costs)


def replay_summary(tr: Any, outcome: dict[str, Any]) -> None:
    tr.write_sep("=", "proofswe replay")
    tr.write_line(
        f"{len(outcome['reproduced'])} reproduce, {len(outcome['differ'])} differ, "
        f"{len(outcome['missing'])} not graded again"
    )
    for d in outcome["differ"]:
        tr.write_line(f"  {d['task']}::{d['submission']}:")
        for line in d["differences"]:
            tr.write_line(f"      {line}")
    for m in outcome["missing"]:
        tr.write_line(f"  {m['task']}::{m['submission']}: not graded again (is its task folder among the paths?)")
