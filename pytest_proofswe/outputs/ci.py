"""CI-native outputs: a Markdown summary, GitHub annotations, SARIF (pure, but for the writers).

* :func:`markdown`: for a diff run, the verdict, the taste score with every finding (up to
  a cap that keeps it within a pull-request comment) and the review; for a task run, a
  leaderboard (grouped by agent when several tasks are graded).
* :func:`github_annotations`: ``::error``/``::warning`` workflow commands for the
  highest-ranked findings, within GitHub's caps (10 of each per step).
* :func:`sarif`: SARIF 2.1.0 for code-scanning views, within what GitHub's code scanning
  accepts: every result has a location with a relative file URI and a start line
  (github/codeql-action#1738: one result without a location rejects the whole file).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .. import __version__
from ..taste.model import RULES
from .report import (
    AGENTS_LEGEND,
    SESSION_LEGEND,
    agents_rows,
    has_sessions,
    listed_comparisons,
    ratio,
    session_cell,
    session_cost,
    write_json_atomic,
)

__all__ = ["decay_markdown", "github_annotations", "markdown", "print_github_annotations", "sarif", "write_ci_outputs"]

#: GitHub shows at most 10 error and 10 warning annotations of a step (50 per job).
MAX_ERRORS = 10
MAX_WARNINGS = 10
#: Findings costing at least this many points are errors; the others warnings.
ERROR_PENALTY = 5.0
#: The Markdown lists every finding up to this many rows, and within MAX_TABLE_CHARS: a
#: pull-request comment holds 65,536 characters (a step summary 1 MiB).
MAX_MARKDOWN_FINDINGS = 100
MAX_TABLE_CHARS = 50_000
#: Where the full list is when the Markdown is cut.
FULL_LIST = "every finding is in the SARIF log (--proofswe-sarif) and the JSON report (--proofswe-report)"


def _findings(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Taste findings that cost points and the review's findings; those that fail an item first."""
    from ..review.prompt import FAILING_RULES

    taste = result.get("taste") or {}
    found = [dict(f, source="taste", fails=False) for f in taste.get("findings", []) if f.get("penalty", 0) > 0]
    review = result.get("review") or {}
    found += [dict(f, source="review", fails=f.get("rule") in FAILING_RULES) for f in review.get("findings", [])]
    return sorted(found, key=lambda f: (not f["fails"], -float(f.get("penalty") or 0)))


def _level(f: dict[str, Any]) -> str:
    """error: it fails the review (an injection attempt) or costs ERROR_PENALTY points; else by its cost."""
    points = float(f.get("penalty") or 0)
    if f.get("fails") or points >= ERROR_PENALTY:
        return "error"
    return "warning" if points > 0 else "note"


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
        size = 0
        for shown, f in enumerate(findings):
            points = f"-{float(f['penalty']):g}" if f.get("penalty") else "0"
            row = f"| `{_escape_md(_where(f))}` | `{f['rule']}` | {_escape_md(f['message'])} | {points} |"
            size += len(row) + 1
            if shown >= top or size > MAX_TABLE_CHARS:
                lines.append(f"| | | … and {len(findings) - shown} more: {FULL_LIST} | |")
                break
            lines.append(row)
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


def _agents_markdown(board: Mapping[str, Any]) -> list[str]:
    """The per-agent table with intervals, and the pairwise comparisons (docs/compare.md)."""
    header, rows = agents_rows(board, intervals=True)
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    lines += ["| " + " | ".join(_escape_md(cell) for cell in row) + " |" for row in rows]
    lines += ["", AGENTS_LEGEND + "."]
    pairs, cut = listed_comparisons(board)
    if pairs:
        lines += [
            "",
            "| A | B | tasks | A better / B better / same | A - B (95% CI) | p | p (Holm) |",
            "|---|---|---|---|---|---|---|",
        ]
        for c in pairs:
            d = c["difference"]
            bounds = d.get("interval")
            interval = f" [{bounds[0]:+.2f}, {bounds[1]:+.2f}]" if bounds else ""
            p = "-" if c.get("p_value") is None else f"{c['p_value']:.3f}"
            holm = "-" if c.get("p_holm") is None else f"{c['p_holm']:.3f}"
            lines.append(
                f"| {_escape_md(c['a'])} | {_escape_md(c['b'])} | {c['tasks']} | "
                f"{c['a_better']} / {c['b_better']} / {c['same']} | {d['value']:+.2f}{interval} | {p} | {holm} |"
            )
        lines += [
            "",
            "Paired on the tasks both agents attempted; p from an exact sign-flip test on the per-task differences"
            + (
                f" (agents next in the ranking only; all {len(board['comparisons'])} pairs are in the JSON report)."
                if cut
                else "."
            ),
        ]
    return [*lines, ""]


def _leaderboard(results: Sequence[dict[str, Any]], agents: Mapping[str, Any] | None) -> list[str]:
    lines = ["## pytest-proofswe leaderboard", ""]
    sessions = has_sessions(results)
    if agents is None:
        from ..compare import aggregate

        board = aggregate(r for r in results if r.get("submission") is not None and "change" not in r)
        agents = board.to_json() if board.has_repeats else None
    if agents:
        lines += _agents_markdown(agents)
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
    lines += _checklists_markdown(results)
    return lines


def _checklists_markdown(results: Sequence[dict[str, Any]]) -> list[str]:
    """Each answered checklist, item by item: ✅ met (with the first quote found in the diff), ❌ not met."""
    lines: list[str] = []
    for r in results:
        items = (r.get("review") or {}).get("checklist") or []
        if not items:
            continue
        if not lines:
            lines += [
                "",
                "### Checklists",
                "",
                "The reviewer's yes/no per item; met = yes, with a quote that is in the diff.",
            ]
        met = sum(1 for c in items if c.get("met"))
        lines += [
            "",
            f"**{_escape_md(r.get('task'))} / {_escape_md(r.get('submission'))}**: {met} of {len(items)} met",
            "",
        ]
        for c in items:
            quotes = [e for e in c.get("evidence", []) if e.get("verified")]
            if c.get("met"):
                shown = (
                    f" (`{_escape_md(quotes[0]['path'])}`: `{_escape_md(str(quotes[0]['quote'])[:80])}`)"
                    if quotes
                    else ""
                )
                lines.append(f"- ✅ {_escape_md(c.get('item'))}{shown}")
            else:
                why = "yes, but its quotes are not in the diff" if c.get("answer") == "yes" else "no"
                rationale = f": {_escape_md(c['rationale'])}" if c.get("rationale") else ""
                lines.append(f"- ❌ {_escape_md(c.get('item'))} ({why}){rationale}")
    return lines


def _session_md(session: dict[str, Any] | None) -> str:
    """The terminal's session cell, with ❌ for a failed session (as taste has)."""
    cell = session_cell(session)
    return cell[:-1] + " ❌" if cell.endswith("!") else cell


def markdown(
    results: Sequence[dict[str, Any]],
    *,
    top: int = MAX_MARKDOWN_FINDINGS,
    agents: Mapping[str, Any] | None = None,
    decay: Sequence[str] = (),
) -> str:
    """The summary for a PR comment or ``$GITHUB_STEP_SUMMARY``: a diff run lists every finding, up to ``top``.

    A task run's leaderboard starts with the per-agent table (``agents``: the report's
    ``agents``/``comparisons``/``aggregation``, computed from ``results`` when not given)
    when an agent has more than one result. ``decay``: the lines of :func:`decay_markdown`, after the rest.
    """
    if len(results) == 1 and results[0].get("task") == "diff":
        lines = _diff_markdown(results[0], top)
    elif not results:
        lines = ["## pytest-proofswe"] + ([] if decay else ["", "Nothing was graded."])
    else:
        lines = _leaderboard(results, agents)
    return "\n".join([*lines, *decay]).rstrip() + "\n"


#: Steps listed in the Markdown's decay tables (those that gained or lost points, most first).
MAX_DECAY_ROWS = 50


def _change(before: float | None, after: float | None) -> str:
    if before is None or after is None:
        return "?"
    return "0" if after == before else f"{after - before:+g}"


def _decay_table(decay: dict[str, Any], label: str) -> list[str]:
    steps = sorted((s for s in decay["steps"] if s["points"]), key=lambda s: (-abs(s["points"]), s["index"]))
    by_category = ", ".join(f"{k} {v:+g}" for k, v in decay["by_category"].items() if v)
    lines = [
        f"**{decay['decay']:+g} decay points** over {len(decay['steps'])} {label}(s)"
        + (f" ({by_category})" if by_category else "")
    ]
    if not steps:
        return lines
    lines += [
        "",
        f"| {label} | points | excess complexity | lint | duplicated lines | wrappers | single-use | tests | title |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for s in steps[:MAX_DECAY_ROWS]:
        a = s["abstraction"]
        lines.append(
            f"| `{_escape_md(s['id'][:12])}` | {s['points']:+g} "
            f"| {_change(s['complexity']['excess_before'], s['complexity']['excess_after'])} "
            f"| {_change(s['lint']['before'], s['lint']['after'])} "
            f"| {_change(s['duplication']['lines_before'], s['duplication']['lines_after'])} "
            f"| {_change(a['wrappers_before'], a['wrappers_after'])} "
            f"| {_change(a['single_use_before'], a['single_use_after'])} "
            f"| {s['tests']['points']:+g} | {_escape_md(s['title'][:80])} |"
        )
    if len(steps) > MAX_DECAY_ROWS:
        lines.append(f"| ... | | | | | | | | {len(steps) - MAX_DECAY_ROWS} more in the JSON report |")
    return lines


def _gate_md(gate: dict[str, Any] | None) -> list[str]:
    if gate is None:
        return []
    if gate["passed"]:
        return ["", f"Gate `max_decay={gate['max_decay']:g}`: passed."]
    named = ", ".join(f"`{_escape_md(c[:12])}`" for c in gate["culprits"])
    return ["", f"Gate `max_decay={gate['max_decay']:g}`: **failed**; the steps that did most of it: {named}."]


def decay_markdown(history: dict[str, Any] | None, stepped: Sequence[dict[str, Any]] = ()) -> list[str]:
    """The decay of a --proofswe-history range and of stepped tasks' submissions, as Markdown lines (docs/decay.md)."""
    lines: list[str] = []
    if history is not None:
        lines += ["", f"### Decay over `{_escape_md(history['range'])}`", ""]
        lines += _decay_table(history["decay"], "commit")
        lines += _gate_md(history.get("gate"))
        durability = history.get("durability")
        if durability is not None:
            share = durability["share_standing"]
            text = (
                "no agent line observed"
                if share is None
                else f"{share:.0%} of {durability['lines']} agent line(s) stand"
            )
            lines += [
                "",
                f"Durability (`{_escape_md(durability['selector'])}`): {text}: {durability['standing']} in place, "
                f"{durability['moved']} moved, {durability['rewritten']} rewritten, {durability['deleted']} deleted, "
                f"{durability['reverted']} reverted ({durability['pending']} pending).",
            ]
    for doc in stepped:
        lines += ["", f"### Decay of {_escape_md(doc['task'])}::{_escape_md(doc['submission'])}", ""]
        if doc["decay"] is None:
            lines.append("No decay: the first step's patch did not apply.")
            continue
        lines += _decay_table(doc["decay"], "step")
        lines += _gate_md(doc.get("gate"))
    return lines


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
        level = "error" if _level(f) == "error" else "warning"
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


def _uri(path: str) -> str:
    """A relative URI reference for a repository path (spaces and the like percent-encoded)."""
    return quote(path, safe="/")


def _anchor(result: dict[str, Any]) -> tuple[str, int]:
    """Where a finding about the whole change is shown: the first file of the change.

    Code files come first (not a changelog or a lock file), then any file that still exists,
    then any file. A change with no file at all (a plugin's finding on an empty change) is
    anchored at the ``pyproject.toml`` that configures the check.
    """
    files = [f for f in (result.get("patch") or {}).get("files", []) if f.get("path")]
    metrics = (result.get("taste") or {}).get("metrics") or {}
    not_counted = {path for paths in metrics.get("files_not_counted", {}).values() for path in paths}
    existing = [f for f in files if f.get("kind") != "delete"]
    for candidates in ([f for f in existing if f["path"] not in not_counted], existing, files):
        if candidates:
            return str(candidates[0]["path"]), 1
    scope = str((result.get("change") or {}).get("scope") or "")
    return (f"{scope}/pyproject.toml" if scope else "pyproject.toml"), 1


def _location(f: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    if f.get("path"):
        path, line = str(f["path"]), f.get("line")
        line = int(line) if isinstance(line, int) and line >= 1 else 1  # a whole-file finding: its first line
    else:
        path, line = _anchor(result)
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": _uri(path), "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": line},
        }
    }


def _rule(rule_id: str, summary: str, properties: dict[str, Any] | None = None) -> dict[str, Any]:
    doc = f"https://github.com/pytest-proofswe/pytest-proofswe/blob/main/docs/rules.md#{rule_id}"
    entry: dict[str, Any] = {
        "id": rule_id,
        "name": rule_id,
        "shortDescription": {"text": summary},
        "fullDescription": {"text": summary},
        "help": {"text": f"{summary}. See {doc}", "markdown": f"{summary}. See [docs/rules.md]({doc})."},
    }
    if properties:
        entry["properties"] = properties
    return entry


def sarif(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A SARIF 2.1.0 log of every finding (taste and review), each with a location GitHub accepts.

    A finding about the whole change (``scope-files-touched``, ...) has no file of its own: it is
    shown at line 1 of the change's first code file (see :func:`_anchor` and docs/ci.md), and
    its ``properties.wholeChange`` is true. A finding on a file without a line is at line 1.
    """
    rules = [_rule(r.id, r.summary, {"category": r.category, "points": r.weight}) for r in RULES.values()]
    known = {r["id"] for r in rules}
    sarif_results = []
    for result in results:
        prefix = "" if result.get("task") == "diff" else f"{result.get('task')}::{result.get('submission')}: "
        for f in _findings(result):
            rule_id = str(f.get("rule") or "unnamed")
            if rule_id not in known:
                rules.append(_rule(rule_id, str(f.get("why") or rule_id)))
                known.add(rule_id)
            points = float(f.get("penalty") or 0)
            message = str(f.get("message") or "").strip() or str(f.get("why") or rule_id)
            sarif_results.append(
                {
                    "ruleId": rule_id,
                    "level": _level(f),
                    "message": {"text": prefix + message},
                    "locations": [_location(f, result)],
                    "properties": {
                        "points": points,
                        "task": result.get("task"),
                        "submission": result.get("submission"),
                        "source": f.get("source"),
                        "wholeChange": not f.get("path"),
                    },
                }
            )
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
                "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "the repository's top folder"}}},
                "results": sarif_results,
            }
        ],
    }


def print_github_annotations(tr: Any, result: dict[str, Any], environ: Mapping[str, str]) -> None:
    """In GitHub Actions, the workflow commands that annotate the diff (on the terminal)."""
    if environ.get("GITHUB_ACTIONS") == "true":
        for line in github_annotations(result):
            tr.write_line(line)


def write_ci_outputs(
    results: Sequence[dict[str, Any]],
    *,
    markdown_path: Path | None,
    sarif_path: Path | None,
    environ: Mapping[str, str],
    agents: Mapping[str, Any] | None = None,
    decay: Sequence[str] = (),
) -> None:
    """The Markdown summary, the SARIF log, and the GitHub step summary when running in Actions."""
    step_summary = environ.get("GITHUB_STEP_SUMMARY") if environ.get("GITHUB_ACTIONS") == "true" else None
    if markdown_path is not None or step_summary:
        text = markdown(results, agents=agents, decay=decay)
        if markdown_path is not None:
            markdown_path.parent.mkdir(parents=True, exist_ok=True)
            markdown_path.write_text(text, encoding="utf-8")
        if step_summary:
            with open(step_summary, "a", encoding="utf-8") as fh:
                fh.write(text + "\n")
    if sarif_path is not None:
        write_json_atomic(sarif_path, sarif(results))
