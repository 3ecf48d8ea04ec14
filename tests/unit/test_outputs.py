"""Markdown summaries, GitHub annotations and SARIF from results (pure)."""

from __future__ import annotations

from typing import Any

from pytest_proofswe.outputs.ci import (
    MAX_ERRORS,
    MAX_MARKDOWN_FINDINGS,
    MAX_TABLE_CHARS,
    MAX_WARNINGS,
    github_annotations,
    markdown,
    sarif,
)
from tests.sarif_rules import github_errors, schema_errors


def finding(rule: str, path: str, line: int | None, penalty: float, message: str = "m") -> dict[str, Any]:
    return {"rule": rule, "path": path, "line": line, "message": message, "penalty": penalty}


def result(
    task: str,
    sub: str,
    status: str,
    taste: float,
    agent: str | None = None,
    review: float | None = None,
    cost: float | None = None,
    findings: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "task": task,
        "submission": sub,
        "meta": {"agent": agent} if agent else {},
        "behaviour": {
            "status": status,
            "fail_to_pass": {
                "passed": ["a"] if status == "resolved" else [],
                "failed": [] if status == "resolved" else ["a"],
            },
            "pass_to_pass": {"passed": ["b"], "failed": []},
        },
        "taste": {"score": taste, "passed": taste >= 70, "findings": findings or []},
        "review": {
            "status": "scored" if review else "skipped",
            "score": review,
            "passed": True,
            "cost_usd": cost,
            "findings": [],
        },
    }


def test_leaderboard_groups_by_agent_when_several_tasks() -> None:
    md = markdown(
        [
            result("t1", "a-run", "resolved", 100, agent="alpha", review=4.5, cost=0.01),
            result("t2", "a-run", "unresolved", 60, agent="alpha", review=3.0, cost=0.02),
            result("t1", "b-run", "resolved", 90, agent="beta"),
            result("t2", "b-run", "resolved", 80, agent="beta"),
        ]
    )
    assert md.startswith("## pytest-proofswe leaderboard")
    # Two tasks cannot tell the agents apart: their intervals overlap, so they share rank 1, most resolved first.
    assert "| =1 | beta | 2 | 2 | 1.00 [0.16, 1.00] | 85.0 [80.0, 90.0] | - |" in md
    assert "| =1 | alpha | 2 | 2 | 0.50 [0.00, 1.00] | 80.0 [60.0, 100.0] | 3.75 [3.00, 4.50] |" in md
    assert md.index("| beta |") < md.index("| alpha |")
    assert "| beta | alpha | 2 | 1 / 0 / 1 | +0.50 [+0.00, +1.00] | 1.000 | 1.000 |" in md
    assert "| t2 | a-run | unresolved | 0/1 | 1/1 | 60 ❌ | 3.00/5 | $0.0200 |" in md


def test_single_task_has_no_agent_table() -> None:
    md = markdown([result("t1", "x", "resolved", 100), result("t1", "y", "partial", 50)])
    assert "| agent |" not in md and "| t1 | y | partial |" in md


def test_diff_summary_lists_top_findings() -> None:
    r = result(
        "diff", "feature", "resolved", 40, findings=[finding(f"rule-{i}", "a.py", i + 1, 12 - i) for i in range(12)]
    )
    r["change"] = {"base": "main", "merge_base": "abc123", "branch": "feature"}
    r["taste"]["gate_failures"] = ["score 40.0 is below min_taste_score=70"]
    md = markdown([r], top=5)
    assert md.startswith("## pytest-proofswe: ❌ failed")
    assert "| `a.py:1` | `rule-0` | m | -12 |" in md and "… and 7 more" in md
    assert "- gate: score 40.0 is below min_taste_score=70" in md


def test_diff_summary_lists_every_finding_up_to_a_cap() -> None:
    """docs/ci.md: the step summary lists every finding; a huge list is cut with a pointer to the rest."""
    r = result("diff", "feature", "resolved", 0, findings=[finding(f"rule-{i}", "a.py", i + 1, 1) for i in range(30)])
    md = markdown([r])
    assert all(f"| `a.py:{i + 1}` | `rule-{i}` |" in md for i in range(30)) and "more" not in md
    r["taste"]["findings"] = [finding(f"rule-{i}", "a.py", i + 1, 1) for i in range(MAX_MARKDOWN_FINDINGS + 50)]
    md = markdown([r])
    assert md.count("| `a.py:") == MAX_MARKDOWN_FINDINGS
    assert "… and 50 more: every finding is in the SARIF log (--proofswe-sarif) and the JSON report" in md
    # Long messages: the table stays within a pull-request comment (65,536 characters).
    r["taste"]["findings"] = [finding(f"rule-{i}", "a.py", i + 1, 1, "x" * 2000) for i in range(60)]
    md = markdown([r])
    assert len(md) < MAX_TABLE_CHARS + 2000 < 65_536 and "… and 36 more" in md


def test_annotations_are_ranked_and_capped() -> None:
    found = [finding("big", "a.py", i, 10) for i in range(15)] + [finding("small", "b.py", i, 1) for i in range(15)]
    lines = github_annotations({"taste": {"findings": found}})
    errors = [ln for ln in lines if ln.startswith("::error ")]
    warnings = [ln for ln in lines if ln.startswith("::warning ")]
    assert len(errors) == MAX_ERRORS and len(warnings) == MAX_WARNINGS
    assert all("title=proofswe big" in ln for ln in errors)  # the largest penalties become the errors
    assert warnings[0].startswith("::warning file=a.py,line=10,")  # errors beyond the cap become warnings


def test_annotation_escaping() -> None:
    (line,) = github_annotations({"taste": {"findings": [finding("r", "we,ird:path.py", 3, 6, "50% done\nnext")]}})
    assert line == "::error file=we%2Cird%3Apath.py,line=3,title=proofswe r::50%25 done%0Anext (-6)"


def test_sarif() -> None:
    log = sarif(
        [
            result(
                "t1",
                "x",
                "resolved",
                90,
                findings=[finding("debug-print", "a.py", 3, 4), finding("team-rule", "", None, 7)],
            )
        ]
    )
    run = log["runs"][0]
    assert log["version"] == "2.1.0" and run["tool"]["driver"]["name"] == "pytest-proofswe"
    ids = {r["id"] for r in run["tool"]["driver"]["rules"]}
    assert {"debug-print", "team-rule", "secrets-credential"} <= ids
    by_rule = {r["ruleId"]: r for r in run["results"]}
    assert by_rule["debug-print"]["level"] == "warning" and by_rule["team-rule"]["level"] == "error"
    assert by_rule["debug-print"]["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "a.py", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 3},
    }
    assert by_rule["debug-print"]["message"]["text"] == "t1::x: m"
    # A finding about the whole change (no path) with no file in the change: the configuration file.
    assert by_rule["team-rule"]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "pyproject.toml"
    assert by_rule["team-rule"]["properties"]["wholeChange"] is True
    assert schema_errors(log) == [] and github_errors(log) == []


def test_sarif_whole_change_findings_are_at_the_first_code_file() -> None:
    r = result("diff", "feature", "resolved", 80, findings=[finding("scope-files-touched", "", None, 4, "")])
    r["patch"] = {
        "files": [
            {"path": "CHANGELOG.md", "kind": "modify"},
            {"path": "src/old.py", "kind": "delete"},
            {"path": "src/new code.py", "kind": "add"},
            {"path": "tests/test_new.py", "kind": "add"},
        ]
    }
    r["taste"]["metrics"] = {"files_not_counted": {"changelog": ["CHANGELOG.md"], "tests": ["tests/test_new.py"]}}
    r["change"] = {"scope": ""}
    r["review"]["findings"] = [finding("review-secret-redacted", "src/new code.py", None, 0, "a key was redacted")]
    log = sarif([r])
    entry, review = log["runs"][0]["results"]
    assert entry["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "src/new%20code.py", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 1},
    }
    # A review finding on a file without a line: line 1 of that file.
    assert review["ruleId"] == "review-secret-redacted" and review["level"] == "note"
    assert review["locations"][0]["physicalLocation"]["region"] == {"startLine": 1}
    assert review["properties"] == {
        "points": 0.0,
        "task": "diff",
        "submission": "feature",
        "source": "review",
        "wholeChange": False,
    }
    # An empty message is replaced by the rule's summary: GitHub needs a text.
    assert entry["message"]["text"] == "scope-files-touched"
    assert schema_errors(log) == [] and github_errors(log) == []


def test_an_injection_attempt_is_an_error_before_every_other_finding() -> None:
    # A review-prompt-injection finding costs no points, yet it fails the review: it is an
    # error annotation and a SARIF error, ahead of costlier findings (never cut by the cap).
    taste = [finding("big", "a.py", i, 10) for i in range(15)]
    injection = finding("review-prompt-injection", "pkg/calc.py", 3, 0, "text addressing the reviewer")
    r = {"task": "diff", "taste": {"findings": taste}, "review": {"status": "scored", "findings": [injection]}}
    lines = github_annotations(r)
    assert lines[0].startswith("::error file=pkg/calc.py,line=3,title=proofswe review-prompt-injection::")
    log = sarif([r])
    (entry,) = [e for e in log["runs"][0]["results"] if e["ruleId"] == "review-prompt-injection"]
    assert entry["level"] == "error"
    assert log["runs"][0]["results"][0] is entry
    noted = finding("review-prompt-like-text", "pkg/calc.py", 4, 0, "prompt-like text (sent as data)")
    (entry,) = sarif([{"task": "diff", "review": {"findings": [noted]}}])["runs"][0]["results"]
    assert entry["level"] == "note"


def test_an_environment_note_is_said_once_in_the_terminal_summary() -> None:
    from pytest_proofswe.outputs.report import terminal_summary

    class Terminal:
        def __init__(self) -> None:
            self.lines: list[tuple[str, dict[str, bool]]] = []

        def write_sep(self, sep: str, title: str) -> None:
            pass

        def write_line(self, line: str, **markup: bool) -> None:
            self.lines.append((line, markup))

    note = "the cache was moved: the environment abc was built in /old (...), so it was rebuilt"
    rows = [
        {
            "task": "t",
            "submission": name,
            "behaviour": {"status": "resolved"},
            "proof": {"environment": {"note": note} if name != "c" else {}},
        }
        for name in ("a", "b", "c")
    ]
    tr = Terminal()
    terminal_summary(tr, rows)
    said = [(line, markup) for line, markup in tr.lines if "cache was moved" in line]
    assert said == [(f"proofswe: {note}", {"yellow": True})]


def test_decay_markdown_lists_the_steps_that_moved_and_the_gate() -> None:
    from pytest_proofswe.modes.decay import StepInfo, content_key, measure
    from pytest_proofswe.outputs.ci import decay_markdown, markdown

    block = "".join(f"    v{i} = x * {i}\n" for i in range(6))
    one = f"def a(x):\n{block}    return x\n"
    two = one + f"\n\ndef b(x):\n{block}    return -x\n"
    texts = {content_key(t): t for t in (one, two)}
    trend = measure(
        [{"m.py": content_key(one)}, {"m.py": content_key(two)}, {"m.py": content_key(two)}],
        [StepInfo("a" * 40, "copy | paste"), StepInfo("b" * 40, "nothing")],
        texts.get,
        lint=False,
    )
    history = {"range": "v1..HEAD", "decay": trend.to_json(), "gate": trend.gate(1).to_json(), "durability": None}
    text = markdown([], decay=decay_markdown(history))
    assert "Nothing was graded" not in text
    assert "### Decay over `v1..HEAD`" in text and "**+3 decay points** over 2 commit(s) (duplication +3)" in text
    assert "| `aaaaaaaaaaaa` | +3 | 0 | ? | +12 | 0 | 0 | +0 | copy \\| paste |" in text
    assert "bbbbbbbbbbbb" not in text  # a step with no points is not listed
    assert "Gate `max_decay=1`: **failed**; the steps that did most of it: `aaaaaaaaaaaa`." in text
    stepped = {"task": "t", "submission": "s", "decay": None, "gate": None}
    assert "No decay: the first step's patch did not apply." in decay_markdown(None, [stepped])
    assert markdown([]).endswith("Nothing was graded.\n")
