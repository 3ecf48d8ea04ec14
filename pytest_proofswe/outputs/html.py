"""The HTML report (``--proofswe-html``): one self-contained page written from the JSON report (pure).

:func:`render` takes the document :func:`pytest_proofswe.report.build_report` makes (with
``agents``, ``comparisons``, ``stepped``, ``history``... as the plugin adds them) and returns
the page: per-agent tables with their intervals, charts of each outcome against each cost,
the decay trend, and every submission with its diff, its findings under their lines, the
review's evidence marked where it occurs, and its session as a timeline.

Everything in the report that a submission could have written (task and submission names,
diffs, findings, the review's text, transcript excerpts) is untrusted: each piece goes
through :func:`_text` (escaped, lone surrogates and control characters made visible) and
no attribute is ever built from it: ids, classes and coordinates are our own counters,
names from fixed tables, and numbers that :func:`_num` checked. The page loads nothing
(no script, no stylesheet, no image, no font): its Content-Security-Policy forbids all of
it, so even a mistake here could not run a submission's script or call out.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .report import AGENTS_LEGEND, SESSION_LEGEND, listed_comparisons, rank_cell, ratio, session_cell

__all__ = ["CSP", "MAX_DIFF_LINES", "MAX_PAGE_DIFF_LINES", "render"]

#: The page's Content-Security-Policy: nothing may load or run; inline styles only.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
#: A submission's diff shows at most this many lines; the page at most MAX_PAGE_DIFF_LINES in all.
MAX_DIFF_LINES = 400
MAX_PAGE_DIFF_LINES = 20_000
#: Rows of a submission's findings table, steps of a decay table, events of a session timeline.
MAX_FINDINGS = 200
MAX_STEP_ROWS = 50
MAX_TIMELINE = 300
#: Characters of a free text (a failure's reason, a rationale) shown, and of one line of a diff.
MAX_TEXT = 4000
MAX_LINE_CHARS = 2000
#: With more agents than this, a chart labels its points with their row number in the agents table.
MAX_NAMED_POINTS = 10

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Bidirectional controls reorder what a reader sees (Trojan Source): shown, never obeyed.
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_BIDI_ESCAPED = re.compile("&lt;U\\+(?:061C|200E|200F|202[A-E]|206[6-9])&gt;")
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_WHERE = re.compile(r"^(line|entry) (\d+)$")

_STATUS_CLASS = {
    "resolved": "ok",
    "partial": "warn",
    "unresolved": "bad",
    "patch_failed": "bad",
    "timeout": "bad",
    "tampered": "err",
    "error": "err",
    "scored": "ok",
    "unstable": "warn",
    "unscored": "err",
}
_PALETTE = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#17becf",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
)

#: The session signals of docs/sessions.md: label, class, and precedence on the timeline strip (lower first).
_SIGNALS: dict[str, tuple[str, str, int]] = {
    "failed_commands": ("failed command", "s-fail", 0),
    "corrections": ("correction", "s-corr", 1),
    "rejections": ("rejection", "s-rej", 2),
    "interruptions": ("interruption", "s-intr", 3),
    "reverted_edits": ("reverted edit", "s-revert", 4),
    "loops": ("loop", "s-loop", 5),
    "edits_outside_patch": ("edit outside the patch", "s-outside", 6),
    "model_switch": ("model switch", "s-model", 7),
    "test_runs": ("test run", "s-test", 8),
    "edits": ("edit", "s-edit", 9),
    "commands": ("command", "s-cmd", 10),
}
_SIGNAL_COLOUR = {
    "s-fail": "#d62728",
    "s-corr": "#ff7f0e",
    "s-rej": "#e377c2",
    "s-intr": "#9467bd",
    "s-revert": "#8c564b",
    "s-loop": "#bcbd22",
    "s-outside": "#17becf",
    "s-model": "#7f7f7f",
    "s-test": "#2ca02c",
    "s-edit": "#1f77b4",
    "s-cmd": "#6b7b8c",
    "s-other": "#aaaaaa",
}
#: The session metrics shown in a submission's session table, in this order.
_SESSION_METRICS = (
    "format",
    "user_turns",
    "tool_calls",
    "commands",
    "failed_commands",
    "test_runs",
    "tests_after_last_edit",
    "edits",
    "edits_outside_patch",
    "corrections",
    "interruptions",
    "rejections",
    "reverted_edits",
    "loops",
    "wall_s",
    "cost_usd",
)


# --- the untrusted: escaping, numbers -------------------------------------------------------


def _text(value: object, limit: int | None = None) -> str:
    """``value`` as HTML text: escaped, lone surrogates and control characters shown, bidi controls named."""
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    cut = limit is not None and len(text) > limit
    if cut:
        text = text[:limit]
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    text = _CONTROL.sub("\ufffd", text)
    text = _BIDI.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)
    escaped = html.escape(text, quote=True)
    if "&lt;U+" in escaped:
        escaped = _BIDI_ESCAPED.sub(lambda m: f'<span class="bidi">{m.group()}</span>', escaped)
    return escaped + ('<span class="cut"> … (cut)</span>' if cut else "")


def _num(value: object) -> float | None:
    """A finite number from the report, else None (a bool, a string or NaN is not one)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _int(value: object) -> int | None:
    number = _num(value)
    return int(number) if number is not None and number == int(number) else None


def _dict(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


def _fmt(value: object, digits: int = 2) -> str:
    number = _num(value)
    return "-" if number is None else f"{number:.{digits}f}"


def _or_dash(value: object) -> object:
    return "-" if value is None else value


def _chip(status: object) -> str:
    cls = _STATUS_CLASS.get(status, "other") if isinstance(status, str) else "other"
    return f'<span class="chip {cls}">{_text(status if status is not None else "-")}</span>'


# --- charts (inline SVG) ---------------------------------------------------------------------


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round values from ``low`` to ``high``."""
    span = high - low
    if span <= 0:
        return [low]
    raw = span / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    return [round(first + i * step, 10) for i in range(int((high - first) / step + 1e-9) + 1)]


def _short(value: float, unit: str) -> str:
    if unit == "usd":
        return f"${value:.2f}" if value >= 0.1 or value == 0 else f"${value:.3g}"
    if unit == "tokens":
        return f"{value / 1000:g}k" if value >= 1000 else f"{value:g}"
    if unit == "s":
        return f"{value:g} s"
    return f"{value:g}"


@dataclass
class _Frame:
    """The plotting area of a chart and its scales."""

    x0: float
    x1: float
    y0: float
    y1: float
    width: int = 380
    height: int = 260
    left: int = 56
    right: int = 16
    top: int = 16
    bottom: int = 44
    parts: list[str] = field(default_factory=list)

    def x(self, value: float) -> float:
        span = (self.x1 - self.x0) or 1.0
        return round(self.left + (value - self.x0) / span * (self.width - self.left - self.right), 1)

    def y(self, value: float) -> float:
        span = (self.y1 - self.y0) or 1.0
        return round(self.height - self.bottom - (value - self.y0) / span * (self.height - self.top - self.bottom), 1)

    def axes(
        self,
        x_label: str,
        y_label: str,
        x_unit: str,
        y_unit: str,
        x_ticks: Iterable[float] | None = None,
        x_names: Mapping[float, str] | None = None,
    ) -> None:
        bottom, left = self.height - self.bottom, self.left
        p = self.parts
        for t in _ticks(self.y0, self.y1):
            y = self.y(t)
            p.append(f'<line class="grid" x1="{left}" y1="{y}" x2="{self.width - self.right}" y2="{y}"/>')
            p.append(
                f'<text class="tick" x="{left - 4}" y="{y + 3}" text-anchor="end">{_text(_short(t, y_unit))}</text>'
            )
        for t in _ticks(self.x0, self.x1) if x_ticks is None else x_ticks:
            x = self.x(t)
            p.append(f'<line class="axis" x1="{x}" y1="{bottom}" x2="{x}" y2="{bottom + 4}"/>')
            p.append(
                f'<text class="tick" x="{x}" y="{bottom + 15}" text-anchor="middle">'
                f"{_text((x_names or {}).get(t, _short(t, x_unit)))}</text>"
            )
        p.append(f'<line class="axis" x1="{left}" y1="{bottom}" x2="{self.width - self.right}" y2="{bottom}"/>')
        p.append(f'<line class="axis" x1="{left}" y1="{self.top}" x2="{left}" y2="{bottom}"/>')
        p.append(
            f'<text class="label" x="{(left + self.width - self.right) / 2}" y="{self.height - 6}" '
            f'text-anchor="middle">{_text(x_label)}</text>'
        )
        p.append(
            f'<text class="label" transform="translate(12 {(self.top + bottom) / 2}) rotate(-90)" '
            f'text-anchor="middle">{_text(y_label)}</text>'
        )

    def svg(self, title: str) -> str:
        return (
            f'<svg class="chart" role="img" width="{self.width}" height="{self.height}" '
            f'viewBox="0 0 {self.width} {self.height}" xmlns="http://www.w3.org/2000/svg">'
            f"<title>{_text(title)}</title>{''.join(self.parts)}</svg>"
        )


def _interval_bar(estimate: Mapping[str, Any], low: float, high: float) -> str:
    """A small bar of an estimate's interval with a dot at its value ('' without a value)."""
    value = _num(estimate.get("value"))
    if value is None:
        return ""
    bounds = _list(estimate.get("interval"))
    span, width = (high - low) or 1.0, 80

    def x(v: float) -> float:
        return round(2 + (min(max(v, low), high) - low) / span * (width - 4), 1)

    bar = ""
    if len(bounds) == 2 and _num(bounds[0]) is not None and _num(bounds[1]) is not None:
        lo, hi = x(float(bounds[0])), x(float(bounds[1]))
        bar = f'<line x1="{lo}" y1="6" x2="{hi}" y2="6" class="ci"/>'
    return (
        f'<svg class="bar" width="{width}" height="12" viewBox="0 0 {width} 12" aria-hidden="true">'
        f'<line x1="2" y1="6" x2="{width - 2}" y2="6" class="track"/>{bar}<circle cx="{x(value)}" cy="6" r="3"/></svg>'
    )


# --- the sections -----------------------------------------------------------------------------

_COSTS = (
    ("cost_usd", "usd", "$ per trial"),
    ("tokens", "tokens", "tokens per trial"),
    ("wall_s", "s", "seconds per trial"),
)
_OUTCOMES = (
    ("resolved", "resolved rate", 0.0, 1.0, "rate"),
    ("taste", "taste score", 0.0, 100.0, "score"),
    ("review", "review score", 1.0, 5.0, "score"),
)


def _estimate_text(estimate: Mapping[str, Any], digits: int = 2) -> str:
    value = _num(estimate.get("value"))
    if value is None:
        return "-"
    bounds = [_num(b) for b in _list(estimate.get("interval"))]
    text = f"{value:.{digits}f}"
    if len(bounds) == 2 and None not in bounds:
        text += f" [{bounds[0]:.{digits}f}, {bounds[1]:.{digits}f}]"
    return text


def _cost_text(axis: Mapping[str, Any], unit: str) -> str:
    mean = _num(axis.get("mean"))
    if mean is None:
        return "-"
    text = {"usd": f"${mean:.4f}", "tokens": f"{mean:,.0f}", "s": f"{mean:.1f}"}[unit]
    return text + ("*" if axis.get("unknown") else "")


def _aggregates(agents: Sequence[Mapping[str, Any]]) -> bool:
    """Whether there is anything to aggregate: several agents, or an agent with several results (as the Markdown)."""
    return len(agents) > 1 or any((_int(a.get("trials")) or 0) + (_int(a.get("errors")) or 0) > 1 for a in agents)


def _agents_section(report: Mapping[str, Any]) -> list[str]:
    agents = [_dict(a) for a in _list(report.get("agents"))]
    if not _aggregates(agents):
        return []
    k = _int(_dict(report.get("aggregation")).get("k")) or 1
    head = ["", "rank", "agent", "tasks", "trials", "resolved (95% CI)"]
    if k > 1:
        head += [f"pass@{k}", f"pass^{k}"]
    head += ["taste", "review", "session ok", "$/trial", "tokens/trial", "s/trial"]
    out = [
        '<section id="agents"><h2>Agents</h2>',
        '<div class="scroll"><table class="agents"><thead><tr>'
        + "".join(f"<th>{_text(h)}</th>" for h in head)
        + "</tr></thead><tbody>",
    ]
    for index, a in enumerate(agents):
        colour = _PALETTE[index % len(_PALETTE)]
        tied = [str(t) for t in _list(a.get("tied_with"))]
        together = ", ".join(tied) if len(tied) <= 3 else f"{len(tied)} other agents"
        tie = f'<div class="small">tied with {_text(together)}</div>' if tied else ""
        resolved = _dict(a.get("resolved"))
        cells = [
            f'<td class="num">{index + 1}<svg width="10" height="10" aria-hidden="true"><circle cx="5" cy="5" r="4" fill="{colour}"/></svg></td>',
            f"<td>{_text(rank_cell(a))}</td>",
            f'<td class="agent">{_text(a.get("agent"))} {tie}</td>',
            f'<td class="num">{_text(a.get("tasks"))}</td>',
            f'<td class="num">{_text(a.get("trials"))}</td>',
            f'<td class="est">{_text(_estimate_text(resolved))}<br>{_interval_bar(resolved, 0, 1)}</td>',
        ]
        if k > 1:
            for key in ("pass_at_k", "pass_hat_k"):
                estimate = _dict(_dict(a.get(key)).get(str(k)))
                cells.append(f'<td class="est">{_text(_estimate_text(estimate))}</td>')
        taste, review, session = _dict(a.get("taste")), _dict(a.get("review")), _dict(a.get("session_passed"))
        cells += [
            f'<td class="est">{_text(_estimate_text(taste, 1))}<br>{_interval_bar(taste, 0, 100)}</td>',
            f'<td class="est">{_text(_estimate_text(review))}<br>{_interval_bar(review, 1, 5)}</td>',
            f'<td class="est">{_text(_estimate_text(session))}</td>',
        ]
        cells += [f'<td class="num">{_text(_cost_text(_dict(a.get(key)), unit))}</td>' for key, unit, _ in _COSTS]
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table></div>")
    out.append(f'<p class="legend">{_text(AGENTS_LEGEND)}.</p>')
    out += _comparisons(report)
    out.append("</section>")
    out += _charts(agents)
    return out


def _comparisons(report: Mapping[str, Any]) -> list[str]:
    pairs, cut = listed_comparisons(report)
    if not pairs:
        return []
    out = [
        "<h3>Pairwise comparisons</h3>",
        "<table><thead><tr><th>A</th><th>B</th><th>tasks</th><th>A better / B better / same</th>"
        "<th>A - B (95% CI)</th><th>p</th><th>p (Holm)</th></tr></thead><tbody>",
    ]
    for c in pairs:
        d = _dict(c.get("difference"))
        bounds = [_num(b) for b in _list(d.get("interval"))]
        value = _num(d.get("value"))
        diff = "-" if value is None else f"{value:+.2f}"
        if len(bounds) == 2 and None not in bounds:
            diff += f" [{bounds[0]:+.2f}, {bounds[1]:+.2f}]"
        low, high = (bounds[0], bounds[1]) if len(bounds) == 2 else (None, None)
        apart = " apart" if low is not None and high is not None and (low > 0 or high < 0) else ""
        out.append(
            f'<tr><td>{_text(c.get("a"))}</td><td>{_text(c.get("b"))}</td><td class="num">{_text(c.get("tasks"))}</td>'
            f"<td>{_text(c.get('a_better'))} / {_text(c.get('b_better'))} / {_text(c.get('same'))}</td>"
            f'<td class="est{apart}">{_text(diff)}</td><td>{_fmt(c.get("p_value"), 3)}</td>'
            f"<td>{_fmt(c.get('p_holm'), 3)}</td></tr>"
        )
    out.append("</tbody></table>")
    note = "Paired on the tasks both agents attempted; p from an exact sign-flip test on the per-task differences."
    if cut:
        note += f" Agents next in the ranking only: all {len(_list(report.get('comparisons')))} pairs are in the JSON report."
    return [*out, f'<p class="legend">{_text(note)}</p>']


def _charts(agents: Sequence[Mapping[str, Any]]) -> list[str]:
    """Each outcome some agent has, against each cost some agent knows: a dot per agent, its interval as whiskers."""
    out = ['<section id="charts"><h2>Outcome against cost</h2>']
    costs = [c for c in _COSTS if any(_num(_dict(a.get(c[0])).get("mean")) is not None for a in agents)]
    outcomes = [o for o in _OUTCOMES if any(_num(_dict(a.get(o[0])).get("value")) is not None for a in agents)]
    if not costs or not outcomes:
        out.append(
            "<p>No chart: no agent's cost is known. A trial's cost comes from its <code>meta.toml</code> "
            "(<code>cost_usd</code>, <code>tokens</code>, <code>wall_s</code>) or its session transcript "
            "(docs/compare.md).</p></section>"
        )
        return out
    drawn = {
        i for i, a in enumerate(agents) for key, _u, _l in costs if _num(_dict(a.get(key)).get("mean")) is not None
    }
    named = len(drawn) <= MAX_NAMED_POINTS
    out.append('<div class="charts">')
    # The resolved rate against each cost; the scores against the first cost known (dollars, else tokens, else time).
    for outcome, y_label, low, high, _kind in outcomes:
        for key, unit, x_label in costs if outcome == "resolved" else costs[:1]:
            out.append(_scatter(agents, key, unit, x_label, outcome, y_label, low, high, named=named))
    out.append("</div>")
    out.append(
        '<p class="legend">One dot per agent (colours as in the agents table'
        + ("" if named else "; numbers are its row there")
        + "): its mean cost per trial, and the outcome with its 95% interval as a whisker. "
        "Outcome and cost are never combined into one number: which trade-off is worth it is yours to judge.</p>"
    )
    out.append("</section>")
    return out


def _scatter(
    agents: Sequence[Mapping[str, Any]],
    key: str,
    unit: str,
    x_label: str,
    outcome: str,
    y_label: str,
    low: float,
    high: float,
    *,
    named: bool,
) -> str:
    points: list[tuple[int, str, float, float, float, float]] = []
    missing = []
    for index, a in enumerate(agents):
        x = _num(_dict(a.get(key)).get("mean"))
        estimate = _dict(a.get(outcome))
        y = _num(estimate.get("value"))
        if x is None or y is None:
            missing.append(str(a.get("agent")))
            continue
        bounds = [b for b in map(_num, _list(estimate.get("interval"))) if b is not None]
        lo, hi = (bounds[0], bounds[1]) if len(bounds) == 2 else (y, y)
        points.append((index, str(a.get("agent")), x, y, lo, hi))
    top = max((p[2] for p in points), default=1.0)
    frame = _Frame(0.0, top * 1.15 if top > 0 else 1.0, low, high)
    frame.axes(x_label, y_label, unit, "plain")
    for index, name, x, y, lo, hi in points:
        colour = _PALETTE[index % len(_PALETTE)]
        cx, cy = frame.x(x), frame.y(y)
        label = _text(name[:18]) if named else str(index + 1)
        # A label near the right edge goes on the dot's left, so that it is not cut off.
        side = f'x="{cx - 7}" text-anchor="end"' if cx > frame.width * 0.7 else f'x="{cx + 7}"'
        frame.parts.append(
            f"<g><title>{_text(name)}: {_text(y_label)} {y:.2f} [{lo:.2f}, {hi:.2f}], {_text(_short(x, unit))}</title>"
            f'<line class="whisker" x1="{cx}" y1="{frame.y(lo)}" x2="{cx}" y2="{frame.y(hi)}" stroke="{colour}"/>'
            f'<circle cx="{cx}" cy="{cy}" r="5" fill="{colour}"/>'
            f'<text class="point" {side} y="{cy - 5}">{label}</text></g>'
        )
    caption = f"{y_label} against {x_label}"
    figure = f"<figure>{frame.svg(caption)}<figcaption>{_text(caption)}"
    if missing:
        shown = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
        figure += f'<br><span class="small">not drawn (unknown): {_text(shown)}</span>'
    return figure + "</figcaption></figure>"


def _decay_chart(decay: Mapping[str, Any], gate: Mapping[str, Any] | None, label: str) -> str:
    """The cumulative decay after each step, from 0 at the start; the gate as a dashed line."""
    steps = [_dict(s) for s in _list(decay.get("steps"))]
    cumulative = [_num(v) for v in _list(_dict(decay.get("trend")).get("cumulative"))]
    if not steps or len(cumulative) != len(steps) or None in cumulative:
        return ""
    values = [0.0, *(float(v) for v in cumulative if v is not None)]
    limit = _num((gate or {}).get("max_decay"))
    low = min(0.0, *values)
    high = max(1.0, *values, *([limit] if limit is not None else []))
    frame = _Frame(0.0, float(len(steps)), low, high + (high - low) * 0.1, width=max(380, min(900, 60 * len(steps))))
    every = max(1, math.ceil(len(steps) / 12))
    names: dict[float, str] = {0: "start"}
    if len(steps) <= 8:  # few enough to name each step on the axis
        names.update({i: str(s.get("id"))[:10] for i, s in enumerate(steps, start=1)})
    frame.axes(
        f"after each {label}",
        "decay points (cumulative)",
        "plain",
        "plain",
        x_ticks=range(0, len(steps) + 1, every),
        x_names=names,
    )
    if limit is not None:
        y = frame.y(limit)
        frame.parts.append(
            f'<line class="gate" x1="{frame.left}" y1="{y}" x2="{frame.width - frame.right}" y2="{y}"/>'
            f'<text class="tick" x="{frame.width - frame.right}" y="{y - 4}" text-anchor="end">max_decay {limit:g}</text>'
        )
    path = " ".join(f"{'M' if i == 0 else 'L'}{frame.x(i)},{frame.y(v)}" for i, v in enumerate(values))
    frame.parts.append(f'<path class="trend" d="{path}"/>')
    for i, step in enumerate(steps, start=1):
        points = _num(step.get("points")) or 0.0
        cls = "worse" if points > 0 else ("better" if points < 0 else "same")
        frame.parts.append(
            f"<g><title>{_text(step.get('id'))} {_text(step.get('title'), 80)}: {points:+g} points</title>"
            f'<circle class="{cls}" cx="{frame.x(i)}" cy="{frame.y(values[i])}" r="4"/></g>'
        )
    return f"<figure>{frame.svg('cumulative decay')}<figcaption>decay after each {_text(label)} (hover a dot for it)</figcaption></figure>"


def _signed(value: object) -> str:
    number = _num(value)
    return "-" if number is None else f"{number:+g}"


def _change(step: Mapping[str, Any], group: str, before: str, after: str) -> str:
    part = _dict(step.get(group))
    b, a = _num(part.get(before)), _num(part.get(after))
    if b is None or a is None:
        return "?"
    return "0" if a == b else f"{a - b:+g}"


def _decay_block(decay: Mapping[str, Any], gate: Mapping[str, Any] | None, label: str) -> list[str]:
    total = _num(decay.get("decay"))
    by_category = ", ".join(
        f"{_text(k)} {v:+g}" for k, v in _dict(decay.get("by_category")).items() if _num(v) not in (None, 0.0)
    )
    steps = [_dict(s) for s in _list(decay.get("steps"))]
    out = [
        f"<p><strong>{'?' if total is None else f'{total:+g}'} decay points</strong> over {len(steps)} {_text(label)}(s)"
        + (f" ({by_category})" if by_category else "")
        + "</p>"
    ]
    if gate:
        limit = _num(gate.get("max_decay"))
        if gate.get("passed"):
            out.append(f'<p><span class="chip ok">gate passed</span> max_decay={_text(limit)}</p>')
        else:
            culprits = ", ".join(f"<code>{_text(str(c)[:12])}</code>" for c in _list(gate.get("culprits")))
            out.append(
                f'<p><span class="chip bad">gate failed</span> max_decay={_text(limit)}; the {_text(label)}s that did '
                f"most of it: {culprits}</p>"
            )
    out.append(_decay_chart(decay, gate, label))
    moved = sorted((s for s in steps if _num(s.get("points"))), key=lambda s: -abs(_num(s.get("points")) or 0.0))
    if moved:
        out.append(
            f"<table><thead><tr><th>{_text(label)}</th><th>points</th><th>excess complexity</th><th>lint</th>"
            "<th>duplicated lines</th><th>wrappers</th><th>single-use</th><th>tests</th><th>title</th></tr></thead><tbody>"
        )
        for s in moved[:MAX_STEP_ROWS]:
            points = _num(s.get("points")) or 0.0
            out.append(
                f"<tr><td><code>{_text(str(s.get('id'))[:12])}</code></td>"
                f'<td class="num {"worse" if points > 0 else "better"}">{points:+g}</td>'
                f'<td class="num">{_change(s, "complexity", "excess_before", "excess_after")}</td>'
                f'<td class="num">{_change(s, "lint", "before", "after")}</td>'
                f'<td class="num">{_change(s, "duplication", "lines_before", "lines_after")}</td>'
                f'<td class="num">{_change(s, "abstraction", "wrappers_before", "wrappers_after")}</td>'
                f'<td class="num">{_change(s, "abstraction", "single_use_before", "single_use_after")}</td>'
                f'<td class="num">{_signed(_dict(s.get("tests")).get("points"))}</td>'
                f"<td>{_text(s.get('title'), 120)}</td></tr>"
            )
        out.append("</tbody></table>")
        if len(moved) > MAX_STEP_ROWS:
            out.append(f'<p class="small">{len(moved) - MAX_STEP_ROWS} more in the JSON report.</p>')
    return out


def _decay_section(report: Mapping[str, Any]) -> list[str]:
    history = _dict(report.get("history"))
    stepped = [_dict(s) for s in _list(report.get("stepped"))]
    if not history and not stepped:
        return []
    out = ['<section id="decay"><h2>Decay</h2>']
    if history:
        out.append(f"<h3>Over <code>{_text(history.get('range'))}</code></h3>")
        out += _decay_block(_dict(history.get("decay")), _dict(history.get("gate")) or None, "commit")
        durability = _dict(history.get("durability"))
        if durability:
            share = _num(durability.get("share_standing"))
            counts = ", ".join(
                f"{_text(durability.get(k))} {k}"
                for k in ("standing", "moved", "rewritten", "deleted", "reverted", "pending")
            )
            out.append(
                f"<p>Durability (<code>{_text(durability.get('selector'))}</code>): "
                + (
                    "no agent line observed"
                    if share is None
                    else f"{share:.0%} of {_text(durability.get('lines'))} agent line(s) stand"
                )
                + f": {counts}.</p>"
            )
    for doc in stepped:
        out.append(f"<h3>{_text(doc.get('task'))} :: {_text(doc.get('submission'))}</h3>")
        steps = ", ".join(f"{_text(s.get('id'))} {_chip(s.get('status'))}" for s in map(_dict, _list(doc.get("steps"))))
        if steps:
            out.append(f"<p>{steps}</p>")
        decay = _dict(doc.get("decay"))
        if not decay:
            out.append("<p>No decay: the first step's patch did not apply.</p>")
            continue
        out += _decay_block(decay, _dict(doc.get("gate")) or None, "step")
    out.append('<p class="legend">Decay points: docs/decay.md says how each is counted and what they do not show.</p>')
    return [*out, "</section>"]


def _compare_section(report: Mapping[str, Any]) -> list[str]:
    compare = _dict(report.get("compare"))
    if not compare:
        return []
    s = _dict(compare.get("summary"))
    out = [
        '<section id="compare"><h2>Against the older report</h2>',
        f"<p>Against <code>{_text(compare.get('old'))}</code>: "
        + ", ".join(f"{_text(s.get(k))} {k}" for k in ("changed", "unchanged", "new", "missing", "regressed"))
        + ".</p>",
    ]
    changed = sorted((_dict(c) for c in _list(compare.get("changed"))), key=lambda c: not c.get("regressed"))
    if changed:
        out.append("<table><thead><tr><th>task</th><th>submission</th><th>changes</th></tr></thead><tbody>")
        for c in changed[:200]:
            changes = []
            for x in map(_dict, _list(c.get("changes"))):
                mark = ' <span class="chip bad">regression</span>' if x.get("regression") else ""
                changes.append(f"{_text(x.get('field'))} {_text(x.get('old'))} → {_text(x.get('new'))}{mark}")
            out.append(
                f"<tr><td>{_text(c.get('task'))}</td><td>{_text(c.get('submission'))}</td><td>{'; '.join(changes)}</td></tr>"
            )
        out.append("</tbody></table>")
        if len(changed) > 200:
            out.append(f'<p class="small">{len(changed) - 200} more in the JSON report.</p>')
    return [*out, "</section>"]


def _calibration_section(report: Mapping[str, Any]) -> list[str]:
    doc = _dict(report.get("calibration"))
    if not doc:
        return []
    out = [
        '<section id="calibration"><h2>Calibration</h2>',
        f"<p>Rubric {_text(doc.get('rubric'))}, model {_text(doc.get('model'))}: {_text(doc.get('scored'))} of "
        f"{_text(doc.get('examples'))} example(s) scored.</p>",
        "<table><thead><tr><th>criterion</th><th>n</th><th>exact</th><th>within one</th><th>weighted kappa</th></tr></thead><tbody>",
    ]
    for c in map(_dict, _list(doc.get("criteria"))):
        out.append(
            f"<tr><td>{_text(c.get('criterion'))}</td><td>{_text(c.get('n'))}</td><td>{_fmt(c.get('exact'))}</td>"
            f"<td>{_fmt(c.get('within_one'))}</td><td>{_fmt(c.get('weighted_kappa'))}</td></tr>"
        )
    return [*out, "</tbody></table></section>"]


# --- submissions --------------------------------------------------------------------------------


def _taste_cell(taste: Mapping[str, Any]) -> str:
    score = _num(taste.get("score"))
    if score is None:
        return "-"
    return f"{score:g}" + ("" if taste.get("passed") else ' <span class="fail">✗</span>')


def _review_cell(review: Mapping[str, Any]) -> str:
    if not review or review.get("status") in (None, "skipped"):
        return "-"
    score = _num(review.get("score"))
    if score is None:
        return _text(review.get("status"))
    mark = (
        " ~" if review.get("status") == "unstable" else ("" if review.get("passed") else ' <span class="fail">✗</span>')
    )
    return f"{score:.2f}{mark}"


def _submissions_table(results: Sequence[Mapping[str, Any]]) -> list[str]:
    sessions = any(_dict(r.get("session")).get("status") not in (None, "skipped") for r in results)
    head = ["task", "submission", "agent", "status", "F2P", "P2P", "taste", "review"]
    head += ["session"] if sessions else []
    head += ["seconds"]
    out = ['<table class="results"><thead><tr>' + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>"]
    for index, r in enumerate(results):
        b = _dict(r.get("behaviour"))
        duration = _num(r.get("duration_s"))
        cells = [
            f"<td>{_text(r.get('task'))}</td>",
            f'<td><a href="#r{index}">{_text(_or_dash(r.get("submission")))}</a></td>',
            f"<td>{_text(r.get('agent') or '-')}</td>",
            f"<td>{_chip(b.get('status'))}</td>",
            f'<td class="num">{_text(ratio(dict(_dict(b.get("fail_to_pass")))))}</td>',
            f'<td class="num">{_text(ratio(dict(_dict(b.get("pass_to_pass")))))}</td>',
            f'<td class="num">{_taste_cell(_dict(r.get("taste")))}</td>',
            f'<td class="num">{_review_cell(_dict(r.get("review")))}</td>',
        ]
        if sessions:
            cells.append(f"<td>{_text(session_cell(dict(_dict(r.get('session')))))}</td>")
        cells.append(
            f'<td class="num">{"-" if duration is None else f"{duration:.1f}"}{" (cached)" if r.get("cached") else ""}</td>'
        )
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    if sessions:
        out.append(f'<p class="legend">{_text(SESSION_LEGEND)}.</p>')
    return out


@dataclass
class _Budget:
    """Diff lines the page may still show."""

    left: int = MAX_PAGE_DIFF_LINES


@dataclass
class _Row:
    kind: str  # meta, hunk, add, del, ctx, note
    text: str
    path: str | None = None
    old: int | None = None
    new: int | None = None


def _diff_path(header: str) -> str | None:
    """The path of a ``--- a/x`` / ``+++ b/x`` line: the a/ or b/ prefix and a timestamp taken off; None for /dev/null."""
    name = header[4:].split("\t", 1)[0].strip()
    if name == "/dev/null" or not name:
        return None
    if name.startswith('"') and name.endswith('"'):
        name = name[1:-1]
    return name[2:] if name[:2] in ("a/", "b/") and len(name) > 2 else name


def _parse_diff(text: str) -> list[_Row]:
    """Every line of a unified diff, classified, with its old and new line numbers; never fails (prose is meta)."""
    rows: list[_Row] = []
    path: str | None = None
    old_path: str | None = None
    old = new = old_left = new_left = 0
    for raw in text.split("\n"):
        line = raw[:-1] if raw.endswith("\r") else raw
        if old_left > 0 or new_left > 0:
            tag = line[:1]
            if tag == "+" and new_left > 0:
                rows.append(_Row("add", line[1:], path, None, new))
                new, new_left = new + 1, new_left - 1
                continue
            if tag == "-" and old_left > 0:
                rows.append(_Row("del", line[1:], path, old, None))
                old, old_left = old + 1, old_left - 1
                continue
            if tag in (" ", "") and old_left > 0 and new_left > 0:
                rows.append(_Row("ctx", line[1:], path, old, new))
                old, new, old_left, new_left = old + 1, new + 1, old_left - 1, new_left - 1
                continue
            if tag == "\\":
                rows.append(_Row("note", line, path))
                continue
            old_left = new_left = 0  # a hunk shorter than its header said: what follows is read afresh
        if line.startswith("\\"):
            rows.append(_Row("note", line, path))
            continue
        hunk = _HUNK.match(line)
        if hunk:
            old, new = int(hunk.group(1)), int(hunk.group(3))
            old_left = 1 if hunk.group(2) is None else int(hunk.group(2))
            new_left = 1 if hunk.group(4) is None else int(hunk.group(4))
            rows.append(_Row("hunk", line, path))
            continue
        if line.startswith("diff --git "):
            path = old_path = None
            rows.append(_Row("file", line, None))
            continue
        if line.startswith("--- "):
            old_path = _diff_path(line)
            path = old_path
        elif line.startswith("+++ "):
            path = _diff_path(line) or old_path
            for row in reversed(rows):  # the file's header lines belong to it
                if row.kind == "file" or row.path is not None:
                    break
                row.path = path
        rows.append(_Row("meta", line, path))
    while rows and rows[-1].kind == "meta" and not rows[-1].text:
        rows.pop()
    return rows


def _resolve_paths(rows: list[_Row], known: set[str]) -> None:
    """Map each diff path onto the report's (the findings' and the patch's files'), for patches made with other prefixes."""
    for row in rows:
        if row.path is None or row.path in known:
            continue
        tail = row.path.split("/", 1)[-1]
        if tail in known:
            row.path = tail


@dataclass(frozen=True)
class _Quote:
    number: int
    needles: tuple[str, ...]
    path: str


def _evidence(review: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """(who cited it, the quote) for every quote of the review's criteria and checklist, in order."""
    out: list[tuple[str, Mapping[str, Any]]] = []
    for c in map(_dict, _list(review.get("criteria"))):
        out += [(f"criterion {c.get('id')}", _dict(e)) for e in _list(c.get("evidence"))]
    for c in map(_dict, _list(review.get("checklist"))):
        out += [(f"checklist {c.get('id')}", _dict(e)) for e in _list(c.get("evidence"))]
    return out


def _needles(quote: str) -> tuple[str, ...]:
    """The lines of a quote worth marking in the diff (3 characters or more, once the indentation is off)."""
    lines = {line.strip() for line in quote.splitlines()}
    return tuple(sorted((n for n in lines if len(n) >= 3), key=len, reverse=True))


def _mark(text: str, quotes: Sequence[_Quote], path: str | None, found: dict[int, str], anchor: str) -> str:
    """``text`` escaped, each occurrence of a quote's line in ``<mark>``, with the quotes' numbers after it."""
    spans: list[tuple[int, int]] = []
    numbers: list[int] = []
    for quote in quotes:
        if quote.path and path is not None and quote.path != path:
            continue
        hit = False
        for needle in quote.needles:
            start = text.find(needle)
            while start >= 0:
                spans.append((start, start + len(needle)))
                hit = True
                start = text.find(needle, start + len(needle))
        if hit:
            numbers.append(quote.number)
    if not spans:
        return _text(text)
    spans.sort()
    merged = [spans[0]]
    for start, end in spans[1:]:
        if start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    out, at = [], 0
    for start, end in merged:
        out.append(_text(text[at:start]))
        out.append(f'<mark class="ev">{_text(text[start:end])}</mark>')
        at = end
    out.append(_text(text[at:]))
    links = []
    for n in numbers:
        ident = ""
        if n not in found:
            found[n] = f"{anchor}-ev{n}"
            ident = f' id="{anchor}-ev{n}"'
        links.append(f'<sup{ident} class="evn">[{n}]</sup>')
    return "".join(out) + "".join(links)


def _finding_row(f: Mapping[str, Any]) -> str:
    points = _num(f.get("penalty")) or 0.0
    source = "review" if f.get("source") == "review" else "taste"
    return (
        f'<tr class="finding"><td colspan="3"><span class="tag {source}">{source}</span> '
        f"<code>{_text(f.get('rule'))}</code> {_text(f.get('message'), 500)}"
        + (f' <span class="pts">-{points:g}</span>' if points else "")
        + "</td></tr>"
    )


def _diff_block(
    result: Mapping[str, Any],
    anchor: str,
    quotes: Sequence[_Quote],
    findings: Sequence[Mapping[str, Any]],
    budget: _Budget,
) -> tuple[list[str], dict[int, str]]:
    """The patch with each finding under its line and the review's quotes marked; and where each quote was found."""
    patch = _dict(result.get("patch"))
    text = patch.get("text")
    found: dict[int, str] = {}
    if not isinstance(text, str):
        return [
            '<p class="small">The report holds no patch text for this submission (graded by an older version, '
            "or served from an older result cache): its findings are listed above.</p>"
        ], found
    if not text.strip():
        return ['<p class="small">The patch is empty.</p>'], found
    rows = _parse_diff(text)
    known = {str(f.get("path")) for f in findings if f.get("path")}
    known |= {str(_dict(f).get("path")) for f in _list(patch.get("files"))}
    _resolve_paths(rows, known)
    by_line: dict[tuple[str, int], list[Mapping[str, Any]]] = {}
    for f in findings:
        line = _int(f.get("line"))
        if f.get("path") and line is not None:
            by_line.setdefault((str(f.get("path")), line), []).append(f)
    shown_lines = min(len(rows), MAX_DIFF_LINES, budget.left)
    budget.left -= shown_lines
    out = ['<table class="diff"><tbody>']
    placed: set[int] = set()
    for row in rows[:shown_lines]:
        cls = {
            "file": "meta file",
            "meta": "meta",
            "hunk": "hunk",
            "add": "add",
            "del": "del",
            "ctx": "ctx",
            "note": "meta",
        }[row.kind]
        sign = {"add": "+", "del": "-", "ctx": " "}.get(row.kind, "")
        head = row.text[:MAX_LINE_CHARS]  # a minified file's one line must not make the page huge
        body = _mark(head, quotes, row.path, found, anchor) if row.kind in ("add", "del", "ctx") else _text(head)
        if len(row.text) > MAX_LINE_CHARS:
            body += f'<span class="cut"> … ({len(row.text) - MAX_LINE_CHARS:,} more characters)</span>'
        out.append(
            f'<tr class="{cls}"><td class="ln">{"" if row.old is None else row.old}</td>'
            f'<td class="ln">{"" if row.new is None else row.new}</td><td class="code">{_text(sign)}{body}</td></tr>'
        )
        if row.new is not None and row.path is not None:
            for f in by_line.get((row.path, row.new), []):
                if id(f) not in placed:
                    placed.add(id(f))
                    out.append(_finding_row(f))
    out.append("</tbody></table>")
    if shown_lines < len(rows):
        why = (
            f"each diff shows at most {MAX_DIFF_LINES} lines"
            if shown_lines == MAX_DIFF_LINES
            else (f"the page shows at most {MAX_PAGE_DIFF_LINES:,} diff lines in all")
        )
        out.append(f'<p class="small">{len(rows) - shown_lines} more line(s) not shown ({why}).</p>')
    if patch.get("text_truncated"):
        out.append(
            '<p class="small">The report holds only the beginning of this patch (it is larger than the report keeps).</p>'
        )
    elsewhere = [f for f in findings if f.get("path") and id(f) not in placed]
    if elsewhere:
        out.append('<p class="small">Findings at lines the diff above does not show:</p><table class="diff"><tbody>')
        for f in elsewhere:
            line = _int(f.get("line"))
            where = f"{f.get('path')}:{line}" if line is not None else str(f.get("path"))
            out.append(f'<tr class="meta"><td colspan="3"><code>{_text(where)}</code></td></tr>{_finding_row(f)}')
        out.append("</tbody></table>")
    return out, found


def _review_block(
    review: Mapping[str, Any], quotes: Sequence[tuple[int, str, Mapping[str, Any]]], found: Mapping[int, str]
) -> list[str]:
    if not review or review.get("status") in (None, "skipped"):
        reason = review.get("reason") if review else None
        return [f'<p class="small">Review: skipped{f" ({_text(reason, 300)})" if reason else ""}.</p>']
    rubric = _dict(review.get("rubric"))
    cost = _num(review.get("cost_usd"))
    out = [
        f"<h4>Review {_chip(review.get('status'))} {_review_cell(review)}</h4>",
        f'<p class="small">model {_text(review.get("model"))}, rubric {_text(rubric.get("name"))}'
        f"{', cached' if review.get('cached') else ''}, cost {'unknown' if cost is None else f'${cost:.4f}'}</p>",
    ]
    if review.get("reason"):
        out.append(f"<p>{_text(review.get('reason'), MAX_TEXT)}</p>")
    numbers: dict[int, tuple[int, str, Mapping[str, Any]]] = {id(e): (n, who, e) for n, who, e in quotes}

    def cited(evidence: Iterable[Any]) -> str:
        items = []
        for e in map(_dict, evidence):
            n, _who, _e = numbers.get(id(e), (0, "", e))
            where = f"{e.get('path') or ''}" + (f":{_int(e.get('line'))}" if _int(e.get("line")) is not None else "")
            if n in found:
                state = f'<a href="#{found[n]}">[{n}] marked in the diff</a>'
            elif e.get("verified"):
                state = f"[{n}] in the diff sent (not among the lines shown here)"
            else:
                state = '<span class="fail">not in the diff</span>'
            items.append(f"<li><q>{_text(e.get('quote'), 500)}</q> <code>{_text(where)}</code> {state}</li>")
        return f'<ul class="evidence">{"".join(items)}</ul>' if items else ""

    criteria = [_dict(c) for c in _list(review.get("criteria"))]
    if criteria:
        out.append(
            "<table><thead><tr><th>criterion</th><th>score</th><th>rationale and evidence</th></tr></thead><tbody>"
        )
        for c in criteria:
            out.append(
                f'<tr><td><code>{_text(c.get("id"))}</code></td><td class="num">{_fmt(c.get("score"), 1)}</td>'
                f"<td>{_text(c.get('rationale'), MAX_TEXT)}{cited(_list(c.get('evidence')))}</td></tr>"
            )
        out.append("</tbody></table>")
    checklist = [_dict(c) for c in _list(review.get("checklist"))]
    if checklist:
        met = sum(1 for c in checklist if c.get("met"))
        out.append(
            f'<p>Checklist: {met} of {len(checklist)} met (met = yes, with a quote that is in the diff).</p><ul class="checklist">'
        )
        for c in checklist:
            mark = '<span class="ok-mark">✓</span>' if c.get("met") else '<span class="fail">✗</span>'
            answer = (
                ""
                if c.get("met")
                else (" (yes, but its quotes are not in the diff)" if c.get("answer") == "yes" else " (no)")
            )
            out.append(
                f"<li>{mark} {_text(c.get('item'), 500)}{_text(answer)}"
                + (f'<div class="small">{_text(c.get("rationale"), MAX_TEXT)}</div>' if c.get("rationale") else "")
                + cited(_list(c.get("evidence")))
                + "</li>"
            )
        out.append("</ul>")
    return out


def _signal_position(where: object) -> tuple[int, int] | None:
    match = _WHERE.match(str(where)) if isinstance(where, str) else None
    return (0 if match.group(1) == "line" else 1, int(match.group(2))) if match else None


def _session_block(session: Mapping[str, Any]) -> list[str]:
    status = session.get("status")
    if status in (None, "skipped"):
        return []
    failed = ' <span class="fail">failed</span>' if session.get("passed") is False else ""
    out = [f"<h4>Session {_chip(status)}{failed}</h4>"]
    if status != "scored":
        return [*out, f"<p>{_text(session.get('reason'), MAX_TEXT)}</p>"]
    metrics = _dict(session.get("metrics"))
    for failure in _list(session.get("failures")):
        out.append(f'<p class="fail">{_text(failure, 500)}</p>')
    cells = []
    for key in _SESSION_METRICS:
        if key not in metrics or metrics.get(key) is None:
            continue
        value = metrics.get(key)
        if key == "cost_usd" and _num(value) is not None:
            shown = f"${_num(value):.4f}"
        else:
            shown = _text({True: "yes", False: "no"}.get(value, value) if isinstance(value, bool) else value, 80)
        cells.append(f"<div><dt>{_text(key.replace('_', ' '))}</dt><dd>{shown}</dd></div>")
    tokens = _dict(metrics.get("tokens"))
    if tokens:
        known = ", ".join(f"{_text(k)} {_text(v)}" for k, v in tokens.items() if v is not None)
        cells.append(f'<div class="wide"><dt>tokens</dt><dd>{known or "unknown"}</dd></div>')
    if cells:
        out.append(f'<dl class="kv">{"".join(cells)}</dl>')
    out += _timeline(session, metrics)
    return out


def _signal_kind(metric: object) -> tuple[str, str, int]:
    """(label, class, precedence) of a signal's metric; an unknown metric is shown by its name."""
    return _SIGNALS.get(str(metric), (str(metric), "s-other", 99))


def _timeline(session: Mapping[str, Any], metrics: Mapping[str, Any]) -> list[str]:
    """The session in transcript order: its commands and edits (``timeline``) and its signals, a strip then a list."""
    entries = [_dict(s) for s in _list(session.get("signals"))]
    signals = len(entries)
    for action in map(_dict, _list(session.get("timeline"))):
        metric = {"command": "commands", "edit": "edits"}.get(str(action.get("kind")), str(action.get("kind")))
        entries.append({"metric": metric, "where": action.get("where"), "text": action.get("text")})
    placed: dict[tuple[int, int], list[Mapping[str, Any]]] = {}
    unplaced: list[Mapping[str, Any]] = []
    for entry in entries:
        position = _signal_position(entry.get("where"))
        if position is None:
            unplaced.append(entry)
        else:
            placed.setdefault(position, []).append(entry)
    if not placed and not unplaced:
        return ['<p class="small">The report holds no event of this session.</p>']
    order = sorted(placed)
    out = ["<h5>Timeline</h5>"]
    if order:
        first, last = order[0][1], order[-1][1]
        span = max(last - first, 1)
        width, marks = 760, []
        for position in order:
            group = sorted(placed[position], key=lambda e: _signal_kind(e.get("metric"))[2])
            cls = _signal_kind(group[0].get("metric"))[1]
            x = round(8 + (position[1] - first) / span * (width - 16), 1)
            marks.append(
                f"<g><title>{_text(group[0].get('where'))}: "
                f"{_text(', '.join(_signal_kind(e.get('metric'))[0] for e in group))}</title>"
                f'<line x1="{x}" y1="6" x2="{x}" y2="30" stroke="{_SIGNAL_COLOUR[cls]}" stroke-width="3"/></g>'
            )
        out.append(
            f'<svg class="strip" width="{width}" height="44" viewBox="0 0 {width} 44" role="img">'
            "<title>the session's events, first to last transcript line</title>"
            f'<line x1="8" y1="18" x2="{width - 8}" y2="18" class="track"/>{"".join(marks)}'
            f'<text class="tick" x="8" y="42">{_text(placed[order[0]][0].get("where"))}</text>'
            f'<text class="tick" x="{width - 8}" y="42" text-anchor="end">{_text(placed[order[-1]][0].get("where"))}</text>'
            "</svg>"
        )
        used = sorted({_signal_kind(e.get("metric")) for group in placed.values() for e in group}, key=lambda k: k[2])
        out.append(
            '<p class="small">'
            + " ".join(f'<span class="sig {cls}">{_text(label)}</span>' for label, cls, _ in used)
            + "</p>"
        )
    out.append('<ol class="timeline">')
    rows = [(placed[p][0].get("where"), placed[p]) for p in order] + [(e.get("where"), [e]) for e in unplaced]
    for where, group in rows[:MAX_TIMELINE]:
        group = sorted(group, key=lambda e: _signal_kind(e.get("metric"))[2])
        badges = " ".join(
            f'<span class="sig {_signal_kind(e.get("metric"))[1]}">{_text(_signal_kind(e.get("metric"))[0])}</span>'
            for e in group
        )
        texts: list[str] = []
        for e in group:
            if e.get("text") and str(e.get("text")) not in texts:
                texts.append(str(e.get("text")))
        out.append(
            f'<li><span class="where">{_text(where)}</span> {badges} <code>{_text(" | ".join(texts), 300)}</code></li>'
        )
    out.append("</ol>")
    notes = []
    if len(rows) > MAX_TIMELINE:
        notes.append(f"{len(rows) - MAX_TIMELINE} more position(s) are in the JSON report")
    omitted = _int(session.get("timeline_omitted")) or 0
    if omitted:
        notes.append(f"{omitted} command(s) and edit(s) between the first and the last 250 are not in the report")
    if "timeline" not in session:
        notes.append(
            "this report keeps only the session's signals, not each command and edit (an older version wrote it)"
        )
    counted: dict[str, int] = {}
    for entry in entries[:signals]:
        counted[str(entry.get("metric"))] = counted.get(str(entry.get("metric")), 0) + 1
    short = [f"{m} {n} of {_int(metrics.get(m))}" for m, n in counted.items() if (_int(metrics.get(m)) or 0) > n]
    if short:
        notes.append("the report keeps the first 50 signals of each kind: " + "; ".join(short) + " shown")
    if notes:
        out.append(f'<p class="small">{_text("; ".join(notes))}.</p>')
    out.append('<p class="small">Positions are the transcript\'s lines (or entries): docs/sessions.md.</p>')
    return out


def _behaviour_block(result: Mapping[str, Any]) -> list[str]:
    b = _dict(result.get("behaviour"))
    change = _dict(result.get("change"))
    if change:  # --proofswe-diff: the repository's own change; its tests are ordinary items, no verdict here
        return [
            f"<p>Change of <code>{_text(change.get('branch') or str(change.get('head') or '')[:12])}</code> since "
            f"<code>{_text(change.get('base'))}</code> (merge base <code>{_text(str(change.get('merge_base'))[:12])}</code>"
            + (f", scope <code>{_text(change.get('scope'))}</code>" if change.get("scope") else "")
            + ").</p>"
        ]
    out = [
        f"<p>{_chip(b.get('status'))} FAIL_TO_PASS {_text(ratio(dict(_dict(b.get('fail_to_pass')))))}, "
        f"PASS_TO_PASS {_text(ratio(dict(_dict(b.get('pass_to_pass')))))}"
        + (f", oracle {_text(b.get('oracle'))}" if b.get("oracle") not in (None, "tests") else "")
        + "</p>"
    ]
    step = _dict(result.get("step"))
    if step:
        decay = _num(_dict(result.get("decay")).get("points"))
        out.append(
            f"<p>Step {_text(step.get('index'))} of {_text(step.get('of'))} of {_text(step.get('task'))}: "
            f"{_text(step.get('title'), 200)}" + ("" if decay is None else f"; {decay:+g} decay points") + "</p>"
        )
    if b.get("reason"):
        out.append(f'<pre class="reason">{_text(b.get("reason"), MAX_TEXT)}</pre>')
    for n in map(_dict, _list(b.get("neutralised"))):
        out.append(
            f'<p class="small">guard: {_text(n.get("action"))} <code>{_text(n.get("path"))}</code>: {_text(n.get("reason"), 300)}</p>'
        )
    return out


def _taste_block(taste: Mapping[str, Any], findings: Sequence[Mapping[str, Any]]) -> list[str]:
    if taste.get("status") != "scored":
        reason = taste.get("reason")
        return [
            f'<p class="small">Taste: {_text(taste.get("status") or "-")}{f" ({_text(reason, 300)})" if reason else ""}.</p>'
        ]
    metrics = _dict(taste.get("metrics"))
    out = [
        f"<h4>Taste {_taste_cell(taste)}</h4>",
        f'<p class="small">{_text(metrics.get("files_touched"))} file(s), +{_text(metrics.get("lines_added"))} '
        f"-{_text(metrics.get('lines_removed'))} lines</p>",
    ]
    for gate in _list(taste.get("gate_failures")):
        out.append(f'<p class="fail">{_text(gate, 500)}</p>')
    whole = [f for f in findings if not f.get("path")]
    if whole:
        out.append("<p>About the whole change:</p><ul>")
        for f in whole[:MAX_FINDINGS]:
            points = _num(f.get("penalty")) or 0.0
            out.append(
                f'<li><span class="tag {"review" if f.get("source") == "review" else "taste"}">{_text(f.get("source"))}</span> '
                f"<code>{_text(f.get('rule'))}</code> {_text(f.get('message'), 500)}"
                + (f' <span class="pts">-{points:g}</span>' if points else "")
                + "</li>"
            )
        out.append("</ul>")
    return out


def _findings(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Taste findings that cost points, and the review's; at most MAX_FINDINGS, largest first."""
    taste = _dict(result.get("taste"))
    review = _dict(result.get("review"))
    found = [
        dict(_dict(f), source="taste") for f in _list(taste.get("findings")) if (_num(_dict(f).get("penalty")) or 0) > 0
    ]
    found += [dict(_dict(f), source="review") for f in _list(review.get("findings"))]
    found.sort(key=lambda f: -(_num(f.get("penalty")) or 0.0))
    return found[:MAX_FINDINGS]


def _submission(index: int, result: Mapping[str, Any], budget: _Budget, *, alone: bool = False) -> list[str]:
    """One submission in a ``<details>`` (open when it is the run's only one, as in a --proofswe-diff run)."""
    anchor = f"r{index}"
    b = _dict(result.get("behaviour"))
    taste, review = _dict(result.get("taste")), _dict(result.get("review"))
    findings = _findings(result)
    numbered: list[tuple[int, str, Mapping[str, Any]]] = []
    quotes: list[_Quote] = []
    for n, (who, e) in enumerate(_evidence(review), start=1):
        numbered.append((n, who, e))
        if e.get("verified") and isinstance(e.get("quote"), str):
            quotes.append(_Quote(n, _needles(str(e.get("quote"))), str(e.get("path") or "")))
    diff, found = _diff_block(result, anchor, quotes, findings, budget)
    count = len(findings)
    summary = (
        f"<summary><strong>{_text(result.get('task'))}</strong> / {_text(_or_dash(result.get('submission')))} "
        f'{_chip(b.get("status"))} <span class="small">taste {_taste_cell(taste)}, review {_review_cell(review)}, '
        f"{count} finding(s)</span></summary>"
    )
    body = [
        *_behaviour_block(result),
        *_taste_block(taste, findings),
        *_review_block(review, numbered, found),
        *_session_block(_dict(result.get("session"))),
        f'<h4 id="{anchor}-diff">Diff</h4>',
        *diff,
    ]
    opened = " open" if alone else ""
    return [f'<details id="{anchor}" class="sub"{opened}>{summary}<div class="body">', *body, "</div></details>"]


def _submissions_section(results: Sequence[Mapping[str, Any]]) -> list[str]:
    if not results:
        return []
    budget = _Budget()
    out = [
        '<section id="submissions"><h2>Submissions</h2>',
        *_submissions_table(results),
        f'<p class="legend">✗ = the item failed; ~ = the review is unstable. Open a submission below for its diff: '
        f'each taste finding is under its line, the review\'s quotes are <mark class="ev">marked</mark> where they '
        f"occur. A diff shows at most {MAX_DIFF_LINES} lines and the page at most {MAX_PAGE_DIFF_LINES:,}; credentials "
        "in a patch are shown as [REDACTED kind].</p>",
    ]
    for index, result in enumerate(results):
        out += _submission(index, result, budget, alone=len(results) == 1)
    return [*out, "</section>"]


# --- the page -----------------------------------------------------------------------------------------

_STYLE = """
:root{--fg:#1d2430;--muted:#5b6573;--line:#d8dde4;--bg:#fff;--soft:#f4f6f9;--ok:#1a7f37;--bad:#c62828;--warn:#b26a00}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);
background:var(--bg);margin:0 auto;padding:0 24px 48px;max-width:1280px}
header{border-bottom:1px solid var(--line);padding:18px 0 10px;margin-bottom:8px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}h4{font-size:14px;margin:14px 0 4px}h5{font-size:13px;margin:10px 0 4px}
nav a{margin-right:14px}a{color:#0b5cad;text-decoration:none}a:hover{text-decoration:underline}
table{border-collapse:collapse;margin:6px 0;font-size:13px}th,td{border-bottom:1px solid var(--line);padding:3px 8px;
text-align:left;vertical-align:top}th{background:var(--soft);font-weight:600}tbody tr:nth-child(even){background:#fafbfc}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.chip{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600;background:#e6e9ee;color:#38414d}
.chip.ok{background:#dcf3e3;color:var(--ok)}.chip.bad{background:#fbe1e1;color:var(--bad)}
.chip.warn{background:#fdf0d5;color:var(--warn)}.chip.err{background:#3b3f46;color:#fff}
.fail{color:var(--bad);font-weight:600}.ok-mark{color:var(--ok);font-weight:700}.small,.legend{color:var(--muted);font-size:12px}
.banner{background:#fdf0d5;border:1px solid #f0c36d;padding:6px 10px;border-radius:4px}
.counts .chip{margin-right:6px}
svg.bar{vertical-align:middle}svg.bar .track{stroke:#e3e6ea;stroke-width:4}svg.bar .ci{stroke:#7aa6d6;stroke-width:4}
svg.bar circle{fill:#1d4f91}
.charts{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0}figcaption{font-size:12px;color:var(--muted);max-width:380px}
svg.chart{background:#fff;border:1px solid var(--line);border-radius:4px}
svg .grid{stroke:#eef0f3}svg .axis{stroke:#8a94a3}svg .tick{font-size:10px;fill:#5b6573}svg .label{font-size:11px;fill:#38414d}
svg .point{font-size:10px;fill:#1d2430}svg .whisker{stroke-width:2;opacity:.7}
svg .trend{fill:none;stroke:#1d4f91;stroke-width:2}svg .gate{stroke:var(--bad);stroke-dasharray:5 4}
svg circle.worse{fill:var(--bad)}svg circle.better{fill:var(--ok)}svg circle.same{fill:#8a94a3}
td.worse{color:var(--bad)}td.better{color:var(--ok)}td.apart{font-weight:600}
details.sub{border:1px solid var(--line);border-radius:4px;margin:6px 0}
details.sub>summary{cursor:pointer;padding:6px 10px;background:var(--soft)}details.sub[open]>summary{border-bottom:1px solid var(--line)}
details.sub .body{padding:4px 12px 12px}
pre.reason{background:var(--soft);padding:6px 8px;white-space:pre-wrap;max-height:240px;overflow:auto;font-size:12px}
table.diff{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;width:100%;table-layout:fixed}
table.diff td{border:0;padding:0 6px}table.diff td.ln{width:46px;color:#8a94a3;text-align:right;user-select:none}
table.diff td.code{white-space:pre-wrap;word-break:break-all}
table.diff tr.add{background:#e6ffec}table.diff tr.del{background:#ffebe9}table.diff tr.hunk{background:#ddf4ff;color:#0b5cad}
table.diff tr.meta{color:var(--muted)}table.diff tr.file td{font-weight:600;color:var(--fg);padding-top:6px}
table.diff tr.finding td{background:#fff8e1;border-left:3px solid #f0a500;font-family:system-ui,sans-serif;padding:2px 8px}
tbody tr.add:nth-child(even){background:#e6ffec}tbody tr.del:nth-child(even){background:#ffebe9}
mark.ev{background:#ffe45c;border-radius:2px}sup.evn{color:#8a6d00;font-weight:600}
.tag{font-size:11px;border-radius:3px;padding:0 4px;background:#e6e9ee}.tag.taste{background:#fdf0d5}.tag.review{background:#e6dcf7}
.pts{color:var(--bad);font-weight:600}ul.evidence{margin:2px 0 0 0;padding-left:18px}ul.evidence q{background:#fff6c2}
dl.kv{display:flex;flex-wrap:wrap;gap:2px 8px;margin:4px 0;font-size:12px}
dl.kv div{display:flex;gap:6px;min-width:170px;border-bottom:1px solid var(--line);padding:1px 0}
dl.kv div.wide{min-width:360px}dl.kv dt{color:var(--muted)}dl.kv dd{margin:0;font-weight:600}
td.est{white-space:nowrap}td.agent{min-width:150px;max-width:260px;overflow-wrap:anywhere}.scroll{overflow-x:auto}
ol.timeline{list-style:none;padding:0;margin:4px 0;font-size:12px;max-height:360px;overflow:auto;border-left:2px solid var(--line)}
ol.timeline li{padding:1px 8px}.where{display:inline-block;width:80px;color:var(--muted)}
.sig{display:inline-block;border-radius:3px;padding:0 5px;margin-right:4px;color:#fff;font-size:11px}
.s-fail{background:#d62728}.s-corr{background:#ff7f0e}.s-rej{background:#e377c2}.s-intr{background:#9467bd}
.s-revert{background:#8c564b}.s-loop{background:#9a9b1a}.s-outside{background:#17becf}.s-model{background:#7f7f7f}
.s-test{background:#2ca02c}.s-edit{background:#1f77b4}.s-cmd{background:#6b7b8c}.s-other{background:#aaa}
svg.strip .track{stroke:#e3e6ea;stroke-width:2}
.bidi{background:#fbe1e1;color:var(--bad);font-size:11px}.cut{color:var(--muted)}
footer{margin-top:32px;color:var(--muted);font-size:12px;border-top:1px solid var(--line);padding-top:8px}
"""


def _header(report: Mapping[str, Any]) -> list[str]:
    summary = _dict(report.get("summary"))
    by_status = _dict(summary.get("by_status"))
    out = [
        "<header><h1>pytest-proofswe report</h1>",
        f'<p class="small">{_text(report.get("generator"))}, {_text(report.get("mode") or "grade")} run, '
        f"{_text(summary.get('results', 0))} result(s)"
        + (f", {_text(summary.get('cached'))} from the result cache" if summary.get("cached") else "")
        + (
            f", reviews cost ${_num(summary.get('review_cost_usd')):.4f}"
            if _num(summary.get("review_cost_usd")) is not None
            else ""
        )
        + "</p>",
    ]
    if report.get("interrupted") or report.get("interruption"):
        why = report.get("interruption") or "interrupted"
        out.append(f'<p class="banner">The run stopped early: {_text(why, 500)}. What had finished is below.</p>')
    if by_status:
        out.append(
            '<p class="counts">'
            + "".join(
                f"{_chip(status)} {_text(n)} " for status, n in by_status.items() if status not in ("null", "None")
            )
            + "</p>"
        )
    links = [
        ("agents", "Agents", _aggregates([_dict(a) for a in _list(report.get("agents"))])),
        ("charts", "Outcome against cost", _aggregates([_dict(a) for a in _list(report.get("agents"))])),
        ("decay", "Decay", bool(report.get("history") or _list(report.get("stepped")))),
        ("compare", "Against the older report", bool(report.get("compare"))),
        ("calibration", "Calibration", bool(report.get("calibration"))),
        ("submissions", "Submissions", bool(_list(report.get("results")))),
    ]
    out.append(
        "<nav>" + "".join(f'<a href="#{anchor}">{label}</a>' for anchor, label, shown in links if shown) + "</nav>"
    )
    return [*out, "</header>"]


def render(report: Mapping[str, Any]) -> str:
    """The whole page for ``report`` (the JSON report's document, as a dict): a str, nothing written."""
    results = [_dict(r) for r in _list(report.get("results"))]
    body = [
        *_header(report),
        *_agents_section(report),
        *_decay_section(report),
        *_compare_section(report),
        *_calibration_section(report),
        *_submissions_section(results),
    ]
    if len(body) == len(_header(report)):
        body.append("<p>Nothing was graded.</p>")
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
            '<meta name="referrer" content="no-referrer">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            '<link rel="icon" href="data:,">',
            "<title>pytest-proofswe report</title>",
            f"<style>{_STYLE}</style></head><body>",
            *body,
            "<footer>Written by pytest-proofswe from its JSON report (docs/report.md). This page is one "
            "file: it loads nothing and runs no script.</footer>",
            "</body></html>",
            "",
        ]
    )
