"""Reading a reviewer's reply: the last JSON object, validated; evidence checked (pure).

A reply that is not JSON, misses a criterion or gives a score outside 1-5 is
*unscored*: never a silent default. Every evidence quote is checked against the diff
that was sent and marked ``verified``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .rubric import CHECKLIST_KEY, SCALE, Rubric

__all__ = ["ChecklistAnswer", "CriterionScore", "Evidence", "Unscored", "parse_checklist", "parse_reply"]

_WS = re.compile(r"\s+")


class Unscored(ValueError):
    """The reply cannot be scored; the message says why."""


@dataclass(frozen=True)
class Evidence:
    quote: str
    path: str
    line: int | None
    verified: bool

    def to_json(self) -> dict[str, Any]:
        return {"quote": self.quote, "path": self.path, "line": self.line, "verified": self.verified}


@dataclass(frozen=True)
class CriterionScore:
    id: str
    score: int
    rationale: str
    evidence: tuple[Evidence, ...]

    @property
    def all_unverified(self) -> bool:
        return bool(self.evidence) and not any(e.verified for e in self.evidence)


@dataclass(frozen=True)
class ChecklistAnswer:
    """The reviewer's answer to one checklist item."""

    id: str  # item_1, item_2, ...
    answer: str  # "yes" or "no"
    rationale: str
    evidence: tuple[Evidence, ...]

    @property
    def met(self) -> bool:
        """Answered yes, and at least one quote of its evidence is in the diff: a yes nobody can check is not met."""
        return self.answer == "yes" and any(e.verified for e in self.evidence)


def _last_json_object(text: str) -> dict[str, Any]:
    text = text.strip()
    fenced = re.findall(r"```(?:json)?\s*(.*?)```", text, re.DOTALL)
    candidates = [*reversed(fenced), text]
    decoder = json.JSONDecoder()
    for candidate in candidates:
        try:
            value = json.loads(candidate)
            if isinstance(value, dict):
                return value
        except json.JSONDecodeError:
            pass
        found = None
        for m in re.finditer(r"\{", candidate):
            try:
                value, _end = decoder.raw_decode(candidate, m.start())
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                found = value  # the last complete object wins (inspect_ai's rule)
        if found is not None:
            return found
    raise Unscored("the reply holds no JSON object")


def _norm(text: str) -> str:
    return _WS.sub(" ", text).strip()


def _verify(quote: str, path: str, sent: Mapping[str, str]) -> bool:
    q = _norm(quote)
    if len(q) < 3 or path not in sent:
        return False
    return q in _norm(sent[path])


def _evidence(raw: Any, sent: Mapping[str, str]) -> tuple[Evidence, ...]:
    evidence = []
    for e in raw if isinstance(raw, list) else []:
        if not isinstance(e, dict):
            continue
        quote, path = str(e.get("quote") or ""), str(e.get("path") or "")
        line = e.get("line") if isinstance(e.get("line"), int) and not isinstance(e.get("line"), bool) else None
        evidence.append(Evidence(quote, path, line, _verify(quote, path, sent)))
    return tuple(evidence)


def parse_checklist(content: str | None, ids: list[str], sent: Mapping[str, str]) -> tuple[ChecklistAnswer, ...]:
    """The answers of a reply to the checklist items ``ids``, in order; raises Unscored with the reason.

    Every item must be answered "yes" or "no" (any case): a missing item, another answer
    ("maybe", true, 1) or no ``checklist`` object at all makes the whole reply unscored.
    """
    if not content or not content.strip():
        raise Unscored("the reply is empty")
    data = _last_json_object(content)
    answers = data.get(CHECKLIST_KEY)
    if not isinstance(answers, dict):
        found = "none" if answers is None else type(answers).__name__
        raise Unscored(f"the reply has no checklist answers (an object under {CHECKLIST_KEY!r}; found {found})")
    missing = [i for i in ids if i not in answers]
    if missing:
        raise Unscored(f"the reply misses checklist item(s) {', '.join(missing)}")
    out = []
    for item_id in ids:
        item = answers[item_id]
        if isinstance(item, str):
            item = {"answer": item}
        if not isinstance(item, dict):
            raise Unscored(f"checklist {item_id}: expected an object, got {type(item).__name__}")
        answer = item.get("answer")
        if not isinstance(answer, str) or answer.strip().lower() not in ("yes", "no"):
            raise Unscored(f"checklist {item_id}: the answer {answer!r} is not yes or no")
        out.append(
            ChecklistAnswer(
                item_id, answer.strip().lower(), str(item.get("rationale") or ""), _evidence(item.get("evidence"), sent)
            )
        )
    return tuple(out)


def parse_reply(content: str | None, rubric: Rubric, sent: Mapping[str, str]) -> dict[str, CriterionScore]:
    """The scores of a reply, by criterion id; raises Unscored with the reason."""
    if not content or not content.strip():
        raise Unscored("the reply is empty")
    data = _last_json_object(content)
    out: dict[str, CriterionScore] = {}
    missing = [c.id for c in rubric.criteria if c.id not in data]
    if missing:
        raise Unscored(f"the reply misses criteria {', '.join(missing)}")
    for c in rubric.criteria:
        item = data[c.id]
        if isinstance(item, (int, float)) and not isinstance(item, bool):
            item = {"score": item}
        if not isinstance(item, dict):
            raise Unscored(f"criterion {c.id}: expected an object, got {type(item).__name__}")
        score = item.get("score")
        if isinstance(score, float) and score.is_integer():
            score = int(score)
        if not isinstance(score, int) or isinstance(score, bool) or score not in SCALE:
            raise Unscored(f"criterion {c.id}: score {score!r} is not an integer from 1 to 5")
        out[c.id] = CriterionScore(c.id, score, str(item.get("rationale") or ""), _evidence(item.get("evidence"), sent))
    return out
