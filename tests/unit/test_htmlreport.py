"""The HTML report's page, read back with html.parser (pure): what it shows, and that nothing in it is live."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from pytest_proofswe.outputs.html import CSP, MAX_DIFF_LINES, MAX_PAGE_DIFF_LINES, _parse_diff, render
from pytest_proofswe.result import MAX_REPORTED_PATCH_CHARS, PatchSummary, reported_patch
from tests.htmlpage import parse, rows

PATCH = """\
diff --git a/pkg/mod.py b/pkg/mod.py
index 1111111..2222222 100644
--- a/pkg/mod.py
+++ b/pkg/mod.py
@@ -1,4 +1,6 @@
 import os
+import sys
~
 def total(items):
-    return sum(items)
+    print("debug")
+    return sum(i for i in items)
diff --git a/tests/test_mod.py b/tests/test_mod.py
new file mode 100644
--- /dev/null
+++ b/tests/test_mod.py
@@ -0,0 +1,2 @@
+def test_total():
+    assert True
""".replace("~", " ")  # a context line that is blank


def estimate(value: float | None, low: float | None = None, high: float | None = None) -> dict[str, Any]:
    interval = None if low is None else [low, high]
    return {"value": value, "interval": interval, "tasks": 2, "method": "bootstrap"}


def cost(mean: float | None) -> dict[str, Any]:
    return {"mean": mean, "total": None if mean is None else mean * 4, "known": 4 if mean else 0, "unknown": 0}


def agent(name: str, rank: int, resolved: float, low: float, high: float, dollars: float | None) -> dict[str, Any]:
    return {
        "agent": name,
        "rank": rank,
        "tied_with": [],
        "tasks": 2,
        "trials": 4,
        "errors": 0,
        "resolved": estimate(resolved, low, high),
        "pass_at_k": {"2": estimate(1.0, 1.0, 1.0)},
        "pass_hat_k": {"2": estimate(0.5, 0.0, 1.0)},
        "taste": estimate(88.5, 80.0, 97.0),
        "review": estimate(None),
        "session_passed": estimate(None),
        "cost_usd": cost(dollars),
        "tokens": cost(None),
        "wall_s": cost(None),
    }


def result(sub: str = "alpha@1", *, text: str | None = PATCH, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "task": "counting",
        "submission": sub,
        "agent": sub.split("@")[0],
        "trial": 1,
        "behaviour": {
            "status": "resolved",
            "reason": "",
            "fail_to_pass": {"passed": ["t::a"], "failed": [], "skipped": []},
            "pass_to_pass": {"passed": ["t::b"], "failed": [], "skipped": []},
        },
        "taste": {
            "status": "scored",
            "score": 84.0,
            "passed": True,
            "metrics": {"files_touched": 2, "lines_added": 5, "lines_removed": 1},
            "findings": [
                {
                    "rule": "debug-print",
                    "path": "pkg/mod.py",
                    "line": 5,
                    "message": "print() call added",
                    "penalty": 4.0,
                },
                {
                    "rule": "imports-unused",
                    "path": "pkg/mod.py",
                    "line": 2,
                    "message": "sys imported, unused",
                    "penalty": 2.0,
                },
                {
                    "rule": "far-away",
                    "path": "pkg/mod.py",
                    "line": 90,
                    "message": "a line the diff lacks",
                    "penalty": 1.0,
                },
                {"rule": "scope-code-lines", "path": "", "line": None, "message": "whole patch", "penalty": 3.0},
                {"rule": "free", "path": "pkg/mod.py", "line": 3, "message": "costs nothing", "penalty": 0.0},
            ],
        },
        "review": {
            "status": "scored",
            "score": 3.5,
            "passed": True,
            "model": "openai/m",
            "rubric": {"name": "taste"},
            "cost_usd": 0.0012,
            "criteria": [
                {
                    "id": "minimal",
                    "score": 3.0,
                    "rationale": "prints left in",
                    "evidence": [
                        {"quote": 'print("debug")', "path": "pkg/mod.py", "line": 5, "verified": True},
                        {"quote": "nowhere to be seen", "path": "pkg/mod.py", "line": 1, "verified": False},
                    ],
                }
            ],
            "checklist": [
                {
                    "id": "c1",
                    "item": "Adds a test",
                    "answer": "yes",
                    "met": True,
                    "rationale": "it does",
                    "evidence": [
                        {"quote": "def test_total():", "path": "tests/test_mod.py", "line": 1, "verified": True}
                    ],
                }
            ],
            "findings": [],
        },
        "session": {
            "status": "scored",
            "passed": False,
            "failures": ["rejections is 2, above max_rejections=1"],
            "metrics": {"format": "claude-code", "edits": 1, "commands": 2, "rejections": 2, "cost_usd": 0.25},
            "signals": [
                {"metric": "rejections", "where": "line 30", "text": "tool use rejected"},
                {"metric": "failed_commands", "where": "line 12", "text": "exit 1: pytest -x"},
                {"metric": "test_runs", "where": "line 12", "text": "pytest -x"},
            ],
            "timeline": [
                {"kind": "command", "where": "line 12", "text": "pytest -x"},
                {"kind": "edit", "where": "line 20", "text": "pkg/mod.py"},
                {"kind": "command", "where": "line 3", "text": "ls"},
            ],
            "timeline_omitted": 0,
        },
        "patch": {"sha256": "x", "files": [{"path": "pkg/mod.py", "kind": "modify"}], "text": text},
        "duration_s": 1.5,
    }
    data.update(extra)
    return data


def decay_doc() -> dict[str, Any]:
    def step(index: int, points: float) -> dict[str, Any]:
        return {
            "index": index,
            "id": f"{index}-step",
            "title": f"step {index}",
            "points": points,
            "complexity": {"excess_before": 0, "excess_after": 2},
            "lint": {"before": 0, "after": 1},
            "duplication": {"lines_before": 0, "lines_after": 14},
            "abstraction": {"wrappers_before": 0, "wrappers_after": 1, "single_use_before": 0, "single_use_after": 0},
            "tests": {"points": 0.0},
        }

    return {
        "task": "pricing",
        "submission": "bloat",
        "steps": [{"id": "1-step", "title": "one", "status": "resolved"}],
        "decay": {
            "decay": 29.75,
            "by_category": {"complexity": 8, "lint": 0},
            "steps": [step(1, 0.0), step(2, 5.0), step(3, 24.75)],
            "trend": {"cumulative": [0.0, 5.0, 29.75]},
        },
        "gate": {"decay": 29.75, "max_decay": 5, "passed": False, "culprits": ["3-step"]},
    }


def report(results: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "schema": "proofswe-report/1",
        "generator": "pytest-proofswe 0.1.0",
        "mode": "grade",
        "interrupted": False,
        "interruption": None,
        "summary": {"results": 1, "by_status": {"resolved": 1}, "review_cost_usd": 0.0012, "cached": 0},
        "results": [result()] if results is None else results,
        "agents": [
            agent("alpha", 1, 0.75, 0.5, 1.0, 0.4),
            agent("beta", 2, 0.25, 0.0, 0.5, 0.05),
            agent("gamma", 3, 0.0, 0.0, 0.6, None),
        ],
        "comparisons": [
            {
                "a": "alpha",
                "b": "beta",
                "tasks": 2,
                "a_better": 2,
                "b_better": 0,
                "same": 0,
                "difference": {"value": 0.5, "interval": [0.25, 0.75]},
                "p_value": 0.5,
                "p_holm": 1.0,
            }
        ],
        "aggregation": {"k": 2},
        "stepped": [decay_doc()],
    }
    data.update(extra)
    return data


def test_the_agents_table_shows_each_agent_with_its_interval_and_costs_apart() -> None:
    root, _ = parse(render(report()))
    table = root.by_id("agents").all("table")[0]
    head = [" ".join(th.text.split()) for th in table.all("th")]
    assert head[1:6] == ["rank", "agent", "tasks", "trials", "resolved (95% CI)"] and "pass^2" in head
    body = rows(table)
    assert [r[2] for r in body] == ["alpha", "beta", "gamma"]
    assert body[0][5] == "0.75 [0.50, 1.00]" and body[0][head.index("$/trial")] == "$0.4000"
    assert body[2][head.index("$/trial")] == "-"
    assert len(table.all("svg", "bar")) == 6  # an interval bar for each agent's resolved rate and taste
    comparisons = rows(root.by_id("agents").all("table")[1])
    assert comparisons == [["alpha", "beta", "2", "2 / 0 / 0", "+0.50 [+0.25, +0.75]", "0.500", "1.000"]]


def test_the_charts_plot_each_outcome_against_each_known_cost() -> None:
    root, _ = parse(render(report()))
    charts = root.by_id("charts")
    captions = [" ".join(f.text.split()) for f in charts.all("figcaption")]
    # dollars are known for two agents; tokens and seconds for none: no chart of those
    assert [c.split("not drawn")[0] for c in captions] == [
        "resolved rate against $ per trial",
        "taste score against $ per trial",
    ]
    assert "not drawn (unknown): gamma" in captions[0]
    svg = charts.all("svg", "chart")[0]
    assert len(svg.all("circle")) == 2 and len(svg.all("line", "whisker")) == 2
    assert [t.text for t in svg.all("text", "point")] == ["alpha", "beta"]


def test_no_chart_without_a_known_cost_says_why() -> None:
    data = report()
    for a in data["agents"]:
        a["cost_usd"] = cost(None)
    root, _ = parse(render(data))
    assert "no agent's cost is known" in root.by_id("charts").text
    assert not root.by_id("charts").all("svg")


def test_findings_are_under_their_lines_and_quotes_marked() -> None:
    root, _ = parse(render(report()))
    sub = root.by_id("r0")
    diff = sub.all("table", "diff")[0]
    lines = diff.all("tr")
    texts = [" ".join(tr.text.split()) for tr in lines]
    at = texts.index('5+ print("debug")[1]')  # no old line, new line 5; the quote's number after it
    assert "debug-print print() call added -4" in texts[at + 1] and lines[at + 1].attrs["class"] == "finding"
    at = texts.index("2+import sys")
    assert "imports-unused" in texts[at + 1]
    # The quote is marked where it occurs, and the review section links to it.
    marks = [m.text for m in diff.all("mark", "ev")]
    assert marks == ['print("debug")', "def test_total():"]
    links = {a.attrs["href"] for a in sub.all("a")}
    assert {"#r0-ev1", "#r0-ev3"} <= links
    assert sub.by_id("r0-ev1").text == "[1]"
    review = " ".join(sub.text.split())
    assert "nowhere to be seen pkg/mod.py:1 not in the diff" in review
    # A finding at a line the diff does not show, and one about the whole patch, are shown too; a free one is not.
    assert "far-away a line the diff lacks" in " ".join(sub.all("table", "diff")[1].text.split())
    assert "scope-code-lines whole patch -3" in " ".join(sub.text.split())
    assert "costs nothing" not in sub.text


def test_the_session_is_a_timeline_in_transcript_order() -> None:
    root, _ = parse(render(report()))
    timeline = root.by_id("r0").all("ol", "timeline")[0]
    items = [" ".join(li.text.split()) for li in timeline.all("li")]
    assert items == [
        "line 3 command ls",
        "line 12 failed command test run command exit 1: pytest -x | pytest -x",
        "line 20 edit pkg/mod.py",
        "line 30 rejection tool use rejected",
    ]
    strip = root.by_id("r0").all("svg", "strip")[0]
    assert len(strip.all("g")) == 4
    assert "rejections is 2, above max_rejections=1" in root.by_id("r0").text


def test_a_report_without_the_session_timeline_says_what_is_missing() -> None:
    old = result()
    del old["session"]["timeline"]
    root, _ = parse(render(report([old])))
    text = " ".join(root.by_id("r0").text.split())
    assert "keeps only the session's signals, not each command and edit" in text
    assert "line 20 edit" not in text


def test_the_decay_trend_and_its_gate() -> None:
    root, _ = parse(render(report()))
    decay = root.by_id("decay")
    text = " ".join(decay.text.split())
    assert "+29.75 decay points over 3 step(s)" in text and "gate failed max_decay=5" in text and "3-step" in text
    chart = decay.all("svg", "chart")[0]
    assert len(chart.all("path", "trend")) == 1 and len(chart.all("line", "gate")) == 1
    assert [c.attrs["class"] for c in chart.all("circle")] == ["same", "worse", "worse"]
    assert [r[:2] for r in rows(decay.all("table")[0])] == [["3-step", "+24.75"], ["2-step", "+5"]]


HOSTILE = [
    "<script>document.title='pwned';console.log('pwned')</script>",
    '"><img src=x onerror="document.title=\'pwned\'">',
    "</style><script>alert(1)</script>",
    "</textarea></title><svg onload=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "]]><!-- --><iframe src=https://evil.example/></iframe>",
]


def hostile_report() -> dict[str, Any]:
    payload = " ".join(HOSTILE)
    bad = result(sub=payload, text=PATCH + "".join(f"+{h}\n" for h in HOSTILE).replace("+def test", "+def test"))
    bad["task"] = payload
    bad["agent"] = payload
    bad["patch"]["text"] = (
        f"diff --git a/{HOSTILE[1]} b/{HOSTILE[1]}\n--- a/{HOSTILE[1]}\n+++ b/{HOSTILE[1]}\n@@ -1,1 +1,{len(HOSTILE) + 1} @@\n x\n"
        + "".join(f"+{h}\n" for h in HOSTILE)
    )
    bad["taste"]["findings"] = [
        {"rule": h, "path": HOSTILE[1], "line": i + 2, "message": h, "penalty": 1.0} for i, h in enumerate(HOSTILE)
    ]
    bad["behaviour"]["reason"] = payload
    bad["review"]["reason"] = payload
    bad["review"]["criteria"][0]["rationale"] = payload
    bad["review"]["criteria"][0]["evidence"] = [
        {"quote": h, "path": HOSTILE[1], "line": 2, "verified": True} for h in HOSTILE
    ]
    bad["review"]["checklist"][0]["item"] = payload
    bad["session"]["signals"] = [{"metric": h, "where": f"line {i}", "text": h} for i, h in enumerate(HOSTILE)]
    bad["session"]["timeline"] = [{"kind": h, "where": h, "text": h} for h in HOSTILE]
    bad["session"]["failures"] = HOSTILE
    data = report([bad], generator=payload, interruption=payload)
    data["agents"][0]["agent"] = payload
    data["agents"][0]["tied_with"] = HOSTILE
    data["comparisons"][0]["a"] = payload
    data["summary"]["by_status"] = {payload: 1}
    data["stepped"][0]["task"] = payload
    data["stepped"][0]["decay"]["steps"][2]["title"] = payload
    data["stepped"][0]["decay"]["steps"][2]["id"] = payload
    data["stepped"][0]["gate"]["culprits"] = HOSTILE
    return data


def test_a_hostile_submission_is_shown_literally_and_makes_no_element() -> None:
    page = render(hostile_report())
    root, tags = parse(page)
    made = {tag for tag, _ in tags}
    assert not made & {"script", "img", "iframe", "object", "embed", "textarea", "form", "base"}, made
    assert [tag for tag, _ in tags].count("style") == 1 and [tag for tag, _ in tags].count("title") >= 1
    assert not [(tag, name) for tag, attrs in tags for name in attrs if name.startswith("on")]
    assert root.all("title")[0].text == "pytest-proofswe report"
    text = root.text
    for h in HOSTILE:
        assert h in text  # shown as written
    assert text.count(HOSTILE[0]) >= 10  # names, diff, findings, review, session, decay...
    # Every attribute is ours: no value carries a piece of the payload.
    values = " ".join(str(v) for _, attrs in tags for v in attrs.values())
    assert "pwned" not in values and "alert" not in values and "evil" not in values


def test_no_resource_is_loaded_from_anywhere() -> None:
    page = render(hostile_report())
    _, tags = parse(page)
    for tag, attrs in tags:
        for name in ("src", "href", "xlink:href", "action", "srcset", "poster", "data", "formaction", "background"):
            value = attrs.get(name)
            if value is not None:
                assert value.startswith("#") or (tag == "link" and value == "data:,"), (tag, name, value)
    csp = [attrs for tag, attrs in tags if tag == "meta" and attrs.get("http-equiv") == "Content-Security-Policy"]
    assert csp and csp[0]["content"] == CSP and "default-src 'none'" in CSP and "script-src" not in CSP
    style = page[page.index("<style>") : page.index("</style>")]
    assert "url(" not in style and "@import" not in style
    # The one URL in an attribute is SVG's namespace name, which nothing fetches.
    urls = {
        v for _, attrs in tags for v in attrs.values() if v and re.search(r"(?i)(?:https?|ftp|file|javascript):", v)
    }
    assert urls == {"http://www.w3.org/2000/svg"}


def test_text_that_is_not_text_is_shown_not_obeyed() -> None:
    """Lone surrogates (a patch read with surrogateescape), NULs and bidi controls (Trojan Source)."""
    data = report([result(text=PATCH + "+x = 'ab\udcff\x00c'\n+# \u202eevil\u202c\n", submission="s\ud800")])
    page = render(data)
    page.encode("utf-8")  # writable as UTF-8
    root, _ = parse(page)
    text = root.by_id("r0").text
    assert "\\udcff" in text and "\x00" not in text and "\ufffd" in text
    assert "<U+202E>evil<U+202C>" in text and "\u202e" not in page


def test_numbers_that_are_not_numbers_do_not_break_the_page() -> None:
    data = report()
    data["agents"][0]["resolved"] = {"value": "0.5", "interval": ["a", None]}
    data["agents"][1]["cost_usd"] = {"mean": float("nan")}
    data["results"][0]["taste"]["score"] = True
    data["results"][0]["duration_s"] = "slow"
    data["stepped"][0]["decay"]["trend"]["cumulative"] = [1, "x", 3]
    root, _ = parse(render(data))
    assert rows(root.by_id("agents").all("table")[0])[0][5] == "-"


def test_a_large_run_stays_usable() -> None:
    big = "diff --git a/f.py b/f.py\n--- a/f.py\n+++ b/f.py\n@@ -0,0 +1,1000 @@\n" + "".join(
        f"+line {n}\n" for n in range(1000)
    )
    results = [result(sub=f"s{n}", text=big) for n in range(120)]
    page = render(report(results))
    root, _ = parse(page)
    diffs = [d for d in root.by_id("submissions").all("table", "diff") if d.all("tr", "add") or d.all("tr", "file")]
    shown = [len([tr for tr in d.all("tr") if tr.attrs.get("class") != "finding"]) for d in diffs]
    assert max(shown) <= MAX_DIFF_LINES and sum(shown) <= MAX_PAGE_DIFF_LINES
    assert sum(shown) == MAX_PAGE_DIFF_LINES  # every diff had more: the page's budget is spent
    notes = root.by_id("submissions").text
    assert f"each diff shows at most {MAX_DIFF_LINES} lines" in notes
    assert f"the page shows at most {MAX_PAGE_DIFF_LINES:,} diff lines in all" in notes
    assert len(root.by_id("submissions").all("details")) == 120
    assert len(page) < 12_000_000
    # One enormous line (a minified file) is cut too.
    root, _ = parse(render(report([result(text=big.replace("+line 7\n", "+" + "x" * 100_000 + "\n"))])))
    code = next(td for td in root.by_id("r0").all("td", "code") if "x" * 100 in td.text)
    assert len(code.text) < 2100 and "98,000 more characters" in code.text


def test_a_run_with_one_result_opens_it_and_no_agents_table() -> None:
    data = report()
    data["agents"] = [agent("alpha", 1, 1.0, 0.0, 1.0, None)]
    data["agents"][0]["trials"] = 1
    root, _ = parse(render(data))
    assert "open" in root.by_id("r0").attrs
    with pytest.raises(KeyError):
        root.by_id("agents")


def test_a_result_without_patch_text_says_so() -> None:
    root, _ = parse(render(report([result(text=None)])))
    assert "The report holds no patch text for this submission" in root.by_id("r0").text


def test_nothing_graded_and_an_interrupted_run() -> None:
    root, _ = parse(render({"results": [], "summary": {"results": 0}}))
    assert "Nothing was graded." in root.text
    root, _ = parse(render(report(interrupted=True, interruption="stopping after 1 failures")))
    assert "The run stopped early: stopping after 1 failures." in " ".join(root.text.split())


def test_the_diff_parser_numbers_lines_and_survives_prose() -> None:
    rows_ = _parse_diff(PATCH.replace("\n", "\r\n") + "\\ No newline at end of file\n")
    added = [(r.path, r.new, r.text) for r in rows_ if r.kind == "add"]
    assert added[:2] == [("pkg/mod.py", 2, "import sys"), ("pkg/mod.py", 5, '    print("debug")')]
    assert added[-1] == ("tests/test_mod.py", 2, "    assert True")
    assert [(r.old, r.text) for r in rows_ if r.kind == "del"] == [(4, "    return sum(items)")]
    # A removed line that looks like a header is a removed line: the hunk's counts say so.
    tricky = _parse_diff("--- a/x\n+++ b/x\n@@ -1,2 +1,1 @@\n--- not a header\n keep\n")
    assert [(r.kind, r.text) for r in tricky[3:]] == [("del", "-- not a header"), ("ctx", "keep")]
    assert {r.kind for r in _parse_diff("I fixed it, trust me.\n<b>done</b>")} == {"meta"}


def test_the_report_keeps_the_patch_text_redacted_and_bounded() -> None:
    key = "sk-proj-" + "4fJk29XqLm7Tz0PwQe8RbN3c"
    shown, cut = reported_patch(f"+API = '{key}'\n")
    assert key not in shown and "[REDACTED OpenAI API key]" in shown and not cut
    long = "".join(f"+line {n:06d}\n" for n in range(MAX_REPORTED_PATCH_CHARS // 10))
    shown, cut = reported_patch(long)
    assert cut and len(shown) <= MAX_REPORTED_PATCH_CHARS and shown.endswith("\n") and long.startswith(shown)
    data = PatchSummary("sha", text=f"+{key}\n").to_json()
    assert data["text"] == "+[REDACTED OpenAI API key]\n" and data["text_truncated"] is False
    assert PatchSummary("sha").to_json()["text"] is None


def test_the_page_does_not_change_the_report() -> None:
    data = hostile_report()
    before = copy.deepcopy(data)
    render(data)
    assert data == before


def test_a_diff_run_shows_the_change_opened() -> None:
    change = result(sub="feature", behaviour={"status": None, "reason": "the repository's own tests run as usual"})
    change |= {"task": "diff", "change": {"base": "origin/main", "merge_base": "a" * 40, "branch": "feature"}}
    data = report([change], agents=[], comparisons=[], stepped=[])
    data["summary"]["by_status"] = {"null": 1}
    root, _ = parse(render(data))
    sub = root.by_id("r0")
    assert "open" in sub.attrs
    assert "Change of feature since origin/main (merge base aaaaaaaaaaaa)." in " ".join(sub.text.split())
    assert "FAIL_TO_PASS" not in sub.text and "null" not in root.all("header")[0].text
    assert len(sub.all("table", "diff")[0].all("tr", "finding")) == 2
