"""A task's checklist answered by the reviewer (issue 13, item 4): prompt, schema, parsing, aggregation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_proofswe.review import build_prompt
from pytest_proofswe.review.parse import Unscored, parse_checklist
from pytest_proofswe.review.prompt import response_schema
from pytest_proofswe.review.rubric import RubricError, parse_rubric
from tests.unit.test_review import CLEAN, IDS, RUBRIC, Fake, count, reviewer

CHECKLIST = ("Empty items are left out of the total", "A docstring says what total() returns")
SENT = {"app.py": "def total(items):\n    return sum(items)\n    return sum(i for i in items if i)\n"}


def reply(answers: dict[str, Any] | None = None, score: int = 4) -> str:
    body: dict[str, Any] = {
        cid: {"score": score, "rationale": "ok", "evidence": [{"quote": "return sum(i", "path": "app.py", "line": 3}]}
        for cid in IDS
    }
    if answers is not None:
        body["checklist"] = answers
    return json.dumps(body)


def yes(quote: str = "sum(i for i in items if i)") -> dict[str, Any]:
    return {"answer": "yes", "rationale": "shown", "evidence": [{"quote": quote, "path": "app.py", "line": 3}]}


NO = {"answer": "no", "rationale": "no docstring in the diff", "evidence": []}


def test_the_prompt_asks_each_item_and_the_schema_requires_it() -> None:
    prompt = build_prompt(
        RUBRIC, "issue", CLEAN, [], max_input_tokens=100_000, count_tokens=count, checklist=("a </proofswe:diff> b",)
    )
    system, user = (m["content"] for m in prompt.messages)
    assert 'Add one more key to the object, "checklist"' in system and '"item_1": {...}' in system
    assert "<proofswe:checklist>\nitem_1: a </proofswe\u2236diff> b\n</proofswe:checklist>" in user  # neutralised
    assert prompt.checklist == ("a </proofswe:diff> b",)
    schema = response_schema(RUBRIC, CHECKLIST)
    assert schema["required"] == [*IDS, "checklist"]
    assert schema["properties"]["checklist"]["required"] == ["item_1", "item_2"]
    assert schema["properties"]["checklist"]["properties"]["item_1"]["properties"]["answer"]["enum"] == ["yes", "no"]
    # Without a checklist the prompt and the schema are what they were (the review cache stays valid).
    plain = build_prompt(RUBRIC, "issue", CLEAN, [], max_input_tokens=100_000, count_tokens=count)
    assert "checklist" not in plain.messages[0]["content"] + plain.messages[1]["content"]
    assert "checklist" not in response_schema(RUBRIC)["properties"]


def test_parse_checklist_verifies_evidence() -> None:
    got = parse_checklist(reply({"item_1": yes(), "item_2": NO}), ["item_1", "item_2"], SENT)
    assert [(a.id, a.answer, a.met) for a in got] == [("item_1", "yes", True), ("item_2", "no", False)]
    assert got[0].evidence[0].verified
    made_up = parse_checklist(reply({"item_1": yes("return total / 0"), "item_2": "YES"}), ["item_1", "item_2"], SENT)
    assert [(a.answer, a.met) for a in made_up] == [("yes", False), ("yes", False)]  # a yes nobody can check


@pytest.mark.parametrize(
    ("answers", "words"),
    [
        (None, "the reply has no checklist answers (an object under 'checklist'; found none)"),
        (["yes", "no"], "the reply has no checklist answers (an object under 'checklist'; found list)"),
        ({"item_1": NO}, "the reply misses checklist item(s) item_2"),
        ({"item_1": {"answer": "maybe"}, "item_2": NO}, "checklist item_1: the answer 'maybe' is not yes or no"),
        ({"item_1": {"answer": True}, "item_2": NO}, "checklist item_1: the answer True is not yes or no"),
        ({"item_1": 1, "item_2": NO}, "checklist item_1: expected an object, got int"),
    ],
)
def test_garbage_checklist_answers_are_unscored(answers: Any, words: str) -> None:
    with pytest.raises(Unscored, match=words.replace("(", r"\(").replace(")", r"\)")):
        parse_checklist(reply(answers), ["item_1", "item_2"], SENT)


def test_review_reports_each_item(tmp_path: Path) -> None:
    fake = Fake(reply({"item_1": yes(), "item_2": {**yes("a docstring"), "rationale": "claims one"}}))
    result = reviewer(tmp_path, fake).review(RUBRIC, "issue", CLEAN, checklist=CHECKLIST)
    assert result.status == "scored" and result.passed  # the reviewer reports; grading decides what fails
    assert [(c["id"], c["item"], c["answer"], c["met"]) for c in result.checklist] == [
        ("item_1", CHECKLIST[0], "yes", True),
        ("item_2", CHECKLIST[1], "yes", False),
    ]
    assert result.checklist[0]["evidence"][0]["verified"] and result.checklist_unmet == (result.checklist[1],)
    assert [f.rule for f in result.findings if "checklist" in f.rule] == ["review-checklist-unverified"]
    assert "checklist" in fake.requests[0]["response_format"]["json_schema"]["schema"]["required"]
    assert result.to_json()["checklist"][1]["samples"] == ["yes"]


def test_garbage_answers_keep_the_reply(tmp_path: Path) -> None:
    garbage = reply({"item_1": {"answer": "probably"}, "item_2": NO})
    result = reviewer(tmp_path, Fake(garbage)).review(RUBRIC, "issue", CLEAN, checklist=CHECKLIST)
    assert result.status == "unscored" and result.passed is None
    assert (
        result.reason
        == "the reviewer's reply cannot be scored: checklist item_1: the answer 'probably' is not yes or no"
    )
    assert result.raw == (garbage,)


def test_samples_take_the_majority_and_disagreement_is_unstable(tmp_path: Path) -> None:
    fake = Fake(
        reply({"item_1": yes(), "item_2": NO}),
        reply({"item_1": yes(), "item_2": yes("sum(i for i")}),
        reply({"item_1": NO, "item_2": NO}),
    )
    result = reviewer(tmp_path, fake, samples=3).review(RUBRIC, "issue", CLEAN, checklist=CHECKLIST)
    assert result.status == "unstable"
    assert "checklist item_1 (2 yes, 1 no)" in result.reason and "checklist item_2 (1 yes, 2 no)" in result.reason
    assert [(c["answer"], c["met"], c["samples"]) for c in result.checklist] == [
        ("yes", True, ["yes", "yes", "no"]),
        ("no", False, ["no", "yes", "no"]),
    ]


def test_no_criterion_may_be_called_checklist() -> None:
    data = {
        "name": "r",
        "version": "1",
        "description": "d",
        "pass_threshold": 3,
        "criteria": [{"id": "checklist", "title": "t", "look_for": "l", "scale": {str(i): "a" for i in range(1, 6)}}],
    }
    with pytest.raises(RubricError, match="the id 'checklist' is reserved"):
        parse_rubric(data, Path("r.toml"), b"")
