"""CI-native outputs: a Markdown summary, GitHub annotations, SARIF (pure, but for the writers).

* :func:`markdown`: for a diff run, the verdict, the taste score with its top findings and
  the review; for a task run, a leaderboard (grouped by agent when several tasks are graded).
* :func:`github_annotations`: ``::error``/``::warning`` workflow commands for the
  highest-ranked findings, within GitHub's caps (10 of each per step).
* :func:`sarif`: SARIF 2.1.0 for code-scanning views.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from . import __version__
from .report import SESSION_LEGEND, has_sessions, ratio, session_cell, session_cost
from .taste.model import RULES

__all__ = ["github_annotations", "markdown", "sarif"]

#: GitHub shows at most 10 error and 10 warning annotations of a step (50 per job).
MAX_ERRORS = 10
MAX_WARNINGS = 10
#: Findings costing at least this many points are errors; the others warnings.
ERROR_PENALTY = 5.0


def _findings(result: dict[str, Any]) -> list[dict[str, Any]]:
    taste = result.get("taste") or {}
    found = [dict(f, source="taste") for f in taste.get("findings", []) if f.get("penalty", 0) > 0]
    review = result.get("review") or {}
    found += [dict(f, source="review") for f in review.get("findings", [])]
    return sorted(found, key=lambda f: -float(f.get("penalty") or 0))


def _escape_md(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _where(f: dict[str, Any]) -> str:
    path = f.get("path") or "(patch)"
    return f"{path}:{f['line']}" if f.get("line") else path


def _review_cell(review: dict[str, Any] | None) -> str:
    if not review or review.get("score") is None:
        return (review or {}).get("status", "-") if review and review.get("status") != "skipped" else "-"
    mark = " (unstable)" if review.get("status") == "unstable" else ""
    return f"{review['score']:.2f}/5{mark}"


def _cost(value: float | None) -> str:
    return "-" if value is None else f"${value:.4f}"


def _diff_markdown(result: dict[str, Any], top: int) -> list[str]:
    taste = result.get("taste") or {}
    review = result.get("review") or {}
    passed = taste.get("passed") and (review.get("status") in (None, "skipped") or review.get("passed"))
    lines = [f"## pytest-proofswe: {'✅ passed' if passed else '❌ failed'}", ""]
    change = result.get("change") or {}
    if change:
        lines += [
            f"Change of `{change.get('branch') or change.get('head', '')[:12]}` since `{change.get('base')}` "
            f"(merge base `{str(change.get('merge_base', ''))[:12]}`): {taste.get('metrics', {}).get('files_touched', 0)}"
            f" file(s), +{taste.get('metrics', {}).get('lines_added', 0)} "
            f"-{taste.get('metrics', {}).get('lines_removed', 0)} lines.",
            "",
        ]
    lines += [
        f"**Taste: {taste.get('score', '-')}/100** "
        f"({'within the thresholds' if taste.get('passed') else 'below the gate'})"
    ]
    for gate in taste.get("gate_failures", []):
        lines.append(f"- gate: {_escape_md(gate)}")
    findings = _findings(result)
    if findings:
        lines += ["", "| where | rule | finding | points |", "|---|---|---|---|"]
        for f in findings[:top]:
            points = f"-{float(f['penalty']):g}" if f.get("penalty") else "0"
            lines.append(f"| `{_escape_md(_where(f))}` | `{f['rule']}` | {_escape_md(f['message'])} | {points} |")
        if len(findings) > top:
            lines.append(f"| | | … and {len(findings) - top} more | |")
    lines.append("")
    if review and review.get("status") not in (None, "skipped"):
        lines.append(
            f"**Review: {_review_cell(review)}** with `{review.get('model')}`, rubric "
            f"`{(review.get('rubric') or {}).get('name')}` ({review.get('status')}"
            f"{', cached' if review.get('cached') else ''}, cost {_cost(review.get('cost_usd'))})"
        )
        if review.get("reason"):
            lines.append(f"- {_escape_md(review['reason'])}")
        for crit in review.get("criteria", []):
            lines.append(f"- `{crit['id']}` {crit['score']:g}: {_escape_md(crit.get('rationale', ''))}")
    elif review.get("reason"):
        lines.append(f"Review: skipped ({_escape_md(review['reason'])})")
    return lines


def _agent(result: dict[str, Any]) -> str:
    meta = result.get("meta") or {}
    return str(meta.get("agent") or meta.get("model_name_or_path") or result.get("submission") or "?")


def _leaderboard(results: Sequence[dict[str, Any]]) -> list[str]:
    lines = ["## pytest-proofswe leaderboard", ""]
    sessions = has_sessions(results)
    tasks = {r.get("task") for r in results}
    if len(tasks) > 1:
        by_agent: dict[str, list[dict[str, Any]]] = {}
        for r in results:
            by_agent.setdefault(_agent(r), []).append(r)
        head = "| agent | resolved | tasks | mean taste | mean review | cost |"
        lines += [head + (" agent cost |" if sessions else ""), "|---" * (7 if sessions else 6) + "|"]
        rows = []
        for agent, rs in by_agent.items():
            resolved = sum(1 for r in rs if (r.get("behaviour") or {}).get("status") == "resolved")
            tastes = [r["taste"]["score"] for r in rs if (r.get("taste") or {}).get("score") is not None]
            reviews = [r["review"]["score"] for r in rs if (r.get("review") or {}).get("score") is not None]
            costs = [r["review"]["cost_usd"] for r in rs if (r.get("review") or {}).get("cost_usd") is not None]
            spent = [_session_cost(r) for r in rs if (r.get("session") or {}).get("status") == "scored"]
            rows.append((resolved, agent, len(rs), tastes, reviews, costs, spent))
        for resolved, agent, n, tastes, reviews, costs, spent in sorted(rows, key=lambda x: (-x[0], x[1])):
            mean_taste = f"{statistics.mean(tastes):.1f}" if tastes else "-"
            mean_review = f"{statistics.mean(reviews):.2f}" if reviews else "-"
            known = [c for c in spent if c is not None]
            agent_cost = (_cost(sum(known)) + (" (some unknown)" if len(known) < len(spent) else "")) if known else "-"
            lines.append(
                f"| {_escape_md(agent)} | {resolved} | {n} | {mean_taste} | {mean_review} | "
                f"{_cost(sum(costs)) if costs else '-'} |" + (f" {agent_cost} |" if sessions else "")
            )
        lines.append("")
    head = "| task | submission | status | F2P | P2P | taste | review | cost |"
    lines += [head + (" session | agent cost |" if sessions else ""), "|---" * (10 if sessions else 8) + "|"]
    for r in results:
        b = r.get("behaviour") or {}

        taste = r.get("taste") or {}
        score = taste.get("score")
        taste_cell = "-" if score is None else f"{score:g}" + ("" if taste.get("passed") else " ❌")
        session = r.get("session")
        lines.append(
            f"| {_escape_md(r.get('task'))} | {_escape_md(r.get('submission'))} | {b.get('status', '-')} | "
            f"{ratio(b.get('fail_to_pass'))} | {ratio(b.get('pass_to_pass'))} | {taste_cell} | "
            f"{_review_cell(r.get('review'))} | {_cost((r.get('review') or {}).get('cost_usd'))} |"
            + (f" {_escape_md(_session_md(session))} | {session_cost(session)} |" if sessions else "")
        )
    if sessions:
        lines += ["", f"`cost` is the review's; `agent cost` the session's. {SESSION_LEGEND}; ❌ = the session failed."]
    return lines


def _session_cost(result: dict[str, Any]) -> float | None:
    value = ((result.get("session") or {}).get("metrics") or {}).get("cost_usd")
    return float(value) if value is not None else None


def _session_md(session: dict[str, Any] | None) -> str:
    """The terminal's session cell, with ❌ for a failed session (as taste has)."""
    cell = session_cell(session)
    return cell[:-1] + " ❌" if cell.endswith("!") else cell


def markdown(results: Sequence[dict[str, Any]], *, top: int = 10) -> str:
    """The summary for a PR comment or ``$GITHUB_STEP_SUMMARY``."""
    if len(results) == 1 and results[0].get("task") == "diff":
        lines = _diff_markdown(results[0], top)
    elif not results:
        lines = ["## pytest-proofswe", "", "Nothing was graded."]
    else:
        lines = _leaderboard(results)
    return "\n".join(lines).rstrip() + "\n"


def _command_escape(text: str, *, prop: bool = False) -> str:
    text = str(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def github_annotations(result: dict[str, Any]) -> list[str]:
    """Workflow commands for the highest-ranked findings of a diff run, within GitHub's caps."""
    out: list[str] = []
    errors = warnings = 0
    for f in _findings(result):
        level = "error" if float(f.get("penalty") or 0) >= ERROR_PENALTY else "warning"
        if level == "error" and errors >= MAX_ERRORS:
            level = "warning"
        if level == "warning" and warnings >= MAX_WARNINGS:
            continue
        if level == "error":
            errors += 1
        else:
            warnings += 1
        props = [f"title={_command_escape('proofswe ' + f['rule'], prop=True)}"]
        if f.get("path"):
            props.insert(0, f"file={_command_escape(f['path'], prop=True)}")
            if f.get("line"):
                props.insert(1, f"line={int(f['line'])}")
        points = f" (-{float(f['penalty']):g})" if f.get("penalty") else ""
        out.append(f"::{level} {','.join(props)}::{_command_escape(f['message'] + points)}")
    return out


def sarif(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A SARIF 2.1.0 log of every finding (taste and review)."""
    rules = [
        {
            "id": r.id,
            "shortDescription": {"text": r.summary},
            "properties": {"category": r.category, "points": r.weight},
        }
        for r in RULES.values()
    ]
    known = {r["id"] for r in rules}
    sarif_results = []
    for result in results:
        prefix = "" if result.get("task") == "diff" else f"{result.get('task')}::{result.get('submission')}: "
        for f in _findings(result):
            if f["rule"] not in known:
                rules.append({"id": f["rule"], "shortDescription": {"text": f["rule"]}})
                known.add(f["rule"])
            points = float(f.get("penalty") or 0)
            entry: dict[str, Any] = {
                "ruleId": f["rule"],
                "level": "error" if points >= ERROR_PENALTY else ("warning" if points > 0 else "note"),
                "message": {"text": prefix + f["message"]},
                "properties": {"points": points, "task": result.get("task"), "submission": result.get("submission")},
            }
            if f.get("path"):
                location: dict[str, Any] = {"artifactLocation": {"uri": f["path"]}}
                if f.get("line"):
                    location["region"] = {"startLine": int(f["line"])}
                entry["locations"] = [{"physicalLocation": location}]
            sarif_results.append(entry)
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "pytest-proofswe",
                        "version": __version__,
                        "informationUri": "https://github.com/pytest-proofswe/pytest-proofswe",
                        "rules": rules,
                    }
                },
                "results": sarif_results,
            }
        ],
    }
