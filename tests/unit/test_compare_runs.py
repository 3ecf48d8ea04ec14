"""--proofswe-compare: what changed between an old report and this run (issue 13, item 6), on hand-made results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_proofswe.compare.runs import REVIEW_DROP, TASTE_DROP, OldReport, compare_runs, load_old_report
from pytest_proofswe.errors import UsageError


def result(task: str, sub: str, status: str = "resolved", taste: float | None = 90.0, **parts: Any) -> dict[str, Any]:
    return {
        "task": task,
        "submission": sub,
        "behaviour": {"status": status},
        "taste": {"score": taste},
        "review": parts.pop("review", {"status": "skipped", "score": None}),
        "session": parts.pop("session", {"status": "skipped"}),
        **parts,
    }


def old(*results: dict[str, Any]) -> OldReport:
    return OldReport("old.json", "pytest-proofswe 0.1.0", tuple(results))


def changes(comparison: Any) -> dict[str, list[tuple[str, Any, Any, bool]]]:
    return {
        f"{s.task}::{s.submission}": [(c.field, c.old, c.new, c.regression) for c in s.changes]
        for s in comparison.changed
    }


def test_regressions_and_their_thresholds() -> None:
    before = old(
        result("t", "a@1"),
        result("t", "a@2", taste=90.0),
        result("t", "b", taste=90.0),
        result("t", "c", review={"status": "scored", "score": 4.0}),
        result("t", "d", review={"status": "scored", "score": 4.0}),
        result("t", "e", session={"status": "scored", "passed": True}),
        result("t", "f", "unresolved"),
        result("t", "g"),
    )
    after = [
        result("t", "a@1", "unresolved"),
        result("t", "a@2", taste=90.0 - TASTE_DROP - 0.1),
        result("t", "b", taste=90.0 - TASTE_DROP),  # exactly the threshold: a change, not a regression
        result("t", "c", review={"status": "scored", "score": 4.0 - REVIEW_DROP - 0.25}),
        result("t", "d", review={"status": "scored", "score": 4.0 - REVIEW_DROP}),
        result("t", "e", session={"status": "scored", "passed": False}),
        result("t", "f", "resolved"),  # better: a change
        result("t", "g", "error"),  # no longer graded: a regression too
    ]
    got = compare_runs(before, after)
    assert changes(got) == {
        "t::a@1": [("status", "resolved", "unresolved", True)],
        "t::a@2": [("taste", 90.0, 84.9, True)],
        "t::b": [("taste", 90.0, 85.0, False)],
        "t::c": [("review", 4.0, 3.25, True)],
        "t::d": [("review", 4.0, 3.5, False)],
        "t::e": [("session", "passed", "failed", True)],
        "t::f": [("status", "unresolved", "resolved", False)],
        "t::g": [("status", "resolved", "error", True)],
    }
    assert [s.submission for s in got.regressed] == ["a@1", "a@2", "c", "e", "g"]
    assert got.summary() == "8 changed, 0 unchanged, 0 new, 0 missing; 5 regressed"
    assert got.changed[0].agent == "a" and got.changed[0].trial == 1
    data = got.to_json()
    assert data["regressions"][0] == {
        "task": "t",
        "submission": "a@1",
        "what": ["status resolved -> unresolved REGRESSION"],
    }
    assert data["changed"][1]["changes"][0]["delta"] == pytest.approx(-5.1)


def test_costs_new_missing_and_unchanged() -> None:
    before = old(
        result("t", "same"),
        result("t", "pricier", meta={"cost_usd": 0.1, "tokens": 1000}),
        result("t", "gone"),
    )
    after = [result("t", "same"), result("t", "pricier", meta={"cost_usd": 0.3, "tokens": 1000}), result("u", "fresh")]
    got = compare_runs(before, after)
    assert changes(got) == {"t::pricier": [("cost_usd", 0.1, 0.3, False)]}  # a cost is reported, never a regression
    assert (got.unchanged, got.new, got.missing, got.regressed) == (1, (("u", "fresh"),), (("t", "gone"),), ())
    assert [(a.agent, a.old, a.new) for a in got.agents] == [
        ("fresh", None, 1.0),
        ("gone", 1.0, None),
        ("pricier", 1.0, 1.0),
        ("same", 1.0, 1.0),
    ]


def test_an_old_report_without_some_fields_is_compared_on_what_it_has() -> None:
    legacy = {"task": "t", "submission": "a", "behaviour": {"status": "resolved"}}  # no taste, review, session
    broken = {"task": "t", "submission": "b", "behaviour": "resolved", "taste": None}
    twice = result("t", "c", taste=50.0)
    got = compare_runs(
        old(legacy, broken, twice, result("t", "c")), [result("t", "a", taste=10.0), result("t", "b"), result("t", "c")]
    )
    # What the old report lacks is not compared (not a drop from nothing); a taste of null is "no score".
    assert changes(got) == {"t::b": [("taste", None, 90.0, False)]}
    assert got.problems == (
        "t::c is in the old report twice: the last one is compared",
        "1 result(s) of the old report have no taste: taste not compared for them",
        "2 result(s) of the old report have no review: review not compared for them",
        "2 result(s) of the old report have no session: session not compared for them",
        "1 result(s) of the old report have no behaviour.status: status not compared for them",
    )


def test_loading_old_reports(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    path.write_text(
        json.dumps(
            {"schema": "proofswe-report/1", "results": [result("t", "a"), "junk", {"task": "t", "submission": None}]}
        )
    )
    loaded = load_old_report(path)
    assert [r["submission"] for r in loaded.results] == ["a"] and loaded.generator is None
    assert loaded.problems == ("result 1 is not a result with a task: left out",)
    for text, words in (
        ("{oops", "cannot read"),
        ('{"results": []}', "is not a pytest-proofswe JSON report (no proofswe-report schema)"),
        ('{"schema": "proofswe-report/1"}', "has no list of results"),
        ("[1, 2]", "is not a pytest-proofswe JSON report"),
    ):
        path.write_text(text)
        with pytest.raises(
            UsageError, match=r"^--proofswe-compare: .*" + words.replace("(", r"\(").replace(")", r"\)")
        ):
            load_old_report(path)
    with pytest.raises(UsageError, match=r"cannot read .*missing\.json"):
        load_old_report(tmp_path / "missing.json")
