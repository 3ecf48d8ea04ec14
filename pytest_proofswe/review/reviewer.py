"""The LLM reviewer: prompt, one litellm ``completion()`` per sample, parse, aggregate.

Three pure steps around one I/O line (inspect_ai's shape): :func:`.prompt.build_prompt`,
``complete(...)`` (litellm by default; a test passes its own), :func:`.parse.parse_reply`.
litellm is imported only when a review is actually made, and its own cache is never
used: replies are cached here, content-addressed, so a re-run with the same inputs makes
no call.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..change import FileChange
from .parse import ChecklistAnswer, CriterionScore, Unscored, parse_checklist, parse_reply
from .prompt import FAILING_RULES, Prompt, ReviewFinding, build_prompt, checklist_ids, response_schema
from .rubric import Rubric

__all__ = ["UNSTABLE_MARGIN", "CostBudget", "ReviewConfig", "ReviewResult", "Reviewer"]

#: Samples whose scores for one criterion differ by more than this make the review unstable.
UNSTABLE_MARGIN = 1
_CACHE_FORMAT = 1
ReviewStatus = Literal["scored", "unscored", "unstable", "skipped", "error"]


@dataclass(frozen=True)
class ReviewConfig:
    model: str
    samples: int = 1
    temperature: float = 0.0
    max_tokens: int = 2000
    timeout: float = 120.0
    num_retries: int = 2
    api_base: str | None = None
    max_cost_usd: float | None = None
    fail_unstable: bool = False


@dataclass(frozen=True)
class ReviewResult:
    status: ReviewStatus
    score: float | None = None
    passed: bool | None = None
    reason: str = ""
    criteria: tuple[dict[str, Any], ...] = ()
    findings: tuple[ReviewFinding, ...] = ()
    model: str | None = None
    rubric: dict[str, Any] = field(default_factory=dict)
    cost_usd: float | None = None
    tokens: dict[str, int | None] = field(default_factory=dict)
    cached: bool = False
    samples: int = 0
    raw: tuple[str, ...] = ()  # the replies, kept when a review is unscored
    files_omitted: tuple[str, ...] = ()
    files_excluded: tuple[str, ...] = ()  # left out by the taste configuration's exclude: never sent
    # The task's checklist, item by item: id, item, answer, met, samples, rationale, evidence.
    checklist: tuple[dict[str, Any], ...] = ()

    @property
    def checklist_unmet(self) -> tuple[dict[str, Any], ...]:
        return tuple(c for c in self.checklist if not c["met"])

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "score": None if self.score is None else round(self.score, 2),
            "passed": self.passed,
            "reason": self.reason,
            "criteria": list(self.criteria),
            "findings": [f.to_json() for f in self.findings],
            "model": self.model,
            "rubric": self.rubric,
            "cost_usd": self.cost_usd,
            "tokens": self.tokens,
            "cached": self.cached,
            "samples": self.samples,
            "raw": list(self.raw),
            "files_omitted": list(self.files_omitted),
            "files_excluded": list(self.files_excluded),
            "checklist": list(self.checklist),
        }


class CostBudget:
    """Money the reviews of this process may spend (thread-safe)."""

    def __init__(self, limit: float | None) -> None:
        self.limit = limit
        self.spent = 0.0
        self._lock = threading.Lock()

    def exhausted(self) -> bool:
        with self._lock:
            return self.limit is not None and self.spent >= self.limit

    def add(self, cost: float | None) -> None:
        with self._lock:
            self.spent += cost or 0.0


def _error_reason(exc: BaseException, config: ReviewConfig) -> str:
    """One line saying what went wrong and what to do."""
    name = type(exc).__name__
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    if name == "RateLimitError":
        return f"rate limited by the provider (after {config.num_retries} retries): {first}"
    if name in ("AuthenticationError", "PermissionDeniedError"):
        return (
            f"the provider refused the credentials for {config.model} (set its API key, e.g. OPENAI_API_KEY "
            f"or ANTHROPIC_API_KEY, in the environment): {first}"
        )
    if (
        name in ("NotFoundError", "ModelNotMappedError")
        or "not found" in first.lower()
        or "LLM Provider NOT provided" in first
    ):
        return f"unknown model {config.model!r} (use a litellm model name such as openai/gpt-4o-mini): {first}"
    if name in ("Timeout", "APITimeoutError") or "timed out" in first.lower():
        return f"the provider did not answer within {config.timeout:g} s: {first}"
    if name in ("APIConnectionError", "ServiceUnavailableError", "InternalServerError"):
        return f"cannot reach the provider{' at ' + config.api_base if config.api_base else ''}: {first}"
    return f"{name}: {first}"


def import_litellm() -> Any:
    """litellm, imported on first use only, with its bundled price map (it would download one)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import litellm
    except ImportError:  # pragma: no cover - exercised without the extra installed
        raise ModuleNotFoundError("the reviewer needs litellm: pip install 'pytest-proofswe[llm]'") from None
    return litellm


def _litellm_complete(**kwargs: Any) -> Any:
    # The run's warning filters (a project's filterwarnings = error, say) must not turn
    # litellm's and pydantic's own warnings into a failed review.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return import_litellm().completion(**kwargs)


def _litellm_tokens(model: str) -> tuple[Callable[[str], int], int]:
    litellm = import_litellm()

    def count(text: str) -> int:
        try:
            return int(litellm.token_counter(model=model, text=text))
        except Exception:  # an unknown tokenizer: about four characters a token
            return len(text) // 4 + 1

    try:
        info = litellm.get_model_info(model)
        limit = int(info.get("max_input_tokens") or info.get("max_tokens") or 8192)
    except Exception:
        limit = 8192
    return count, limit


def _cost(response: Any) -> float | None:
    try:
        cost = import_litellm().completion_cost(completion_response=response)
        return float(cost) if cost is not None else None
    except Exception:
        return None


class Reviewer:
    """Reviews diffs against rubrics with one model; one per process."""

    def __init__(
        self,
        config: ReviewConfig,
        cache_dir: Path,
        *,
        complete: Callable[..., Any] | None = None,
        tokens: Callable[[str], tuple[Callable[[str], int], int]] | None = None,
        budget: CostBudget | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.config = config
        self.cache_dir = cache_dir / "reviews"
        self.complete = complete or _litellm_complete
        self.tokens = tokens or _litellm_tokens
        self.budget = budget or CostBudget(config.max_cost_usd)
        self.environ = environ
        self.calls = 0

    def _key(self, prompt: Prompt, rubric: Rubric) -> str:
        c = self.config
        payload = {
            "format": _CACHE_FORMAT,
            "model": c.model,
            "rubric": rubric.sha256,
            "messages": prompt.messages,
            "samples": c.samples,
            "temperature": c.temperature,
            "max_tokens": c.max_tokens,
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    def _call(self, prompt: Prompt, rubric: Rubric) -> dict[str, Any]:
        c = self.config
        kwargs: dict[str, Any] = {
            "model": c.model,
            "messages": [dict(m) for m in prompt.messages],
            "temperature": c.temperature,
            "max_tokens": c.max_tokens,
            "timeout": c.timeout,
            "num_retries": c.num_retries,
            "drop_params": True,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "review", "schema": response_schema(rubric, prompt.checklist), "strict": True},
            },
        }
        if c.api_base:
            kwargs["api_base"] = c.api_base
        self.calls += 1
        response = self.complete(**kwargs)
        content = response.choices[0].message.content
        usage = getattr(response, "usage", None)
        return {
            "content": content if isinstance(content, str) else json.dumps(content),
            "input_tokens": getattr(usage, "prompt_tokens", None),
            "output_tokens": getattr(usage, "completion_tokens", None),
            "cost_usd": _cost(response),
        }

    def review(
        self,
        rubric: Rubric,
        issue: str,
        files: Sequence[FileChange],
        static_findings: Sequence[str] = (),
        *,
        exclude: Callable[[str], bool] | None = None,
        checklist: Sequence[str] = (),
    ) -> ReviewResult:
        """Review ``files``; those ``exclude`` matches (vendored, generated) are never sent, only named.

        ``checklist``: the task's yes/no items, answered in the same reply and reported item by item.
        """
        c = self.config
        excluded = tuple(f.path for f in files if exclude is not None and exclude(f.path))
        files = [f for f in files if f.path not in excluded]
        base: dict[str, Any] = {"model": c.model, "rubric": rubric.to_json(), "files_excluded": excluded}
        if not files:
            return ReviewResult(
                "skipped", reason="every file of the change is excluded by the taste configuration's exclude", **base
            )
        try:
            count, limit = self.tokens(c.model)
            prompt = build_prompt(
                rubric,
                issue,
                files,
                static_findings,
                max_input_tokens=limit - c.max_tokens,
                count_tokens=count,
                environ=self.environ,
                excluded=excluded,
                checklist=checklist,
            )
        except Exception as exc:
            return ReviewResult("error", reason=_error_reason(exc, c), **base)
        common: dict[str, Any] = dict(findings=prompt.findings, files_omitted=prompt.files_omitted, **base)
        key = self._key(prompt, rubric)
        path = self.cache_dir / key[:2] / f"{key}.json"
        samples: list[dict[str, Any]] | None = None
        cached = False
        if path.is_file():
            try:
                samples = json.loads(path.read_text())["samples"]
                cached = True
            except (OSError, ValueError, KeyError):
                samples = None
        if samples is None:
            samples = []
            for _ in range(c.samples):
                if self.budget.exhausted():
                    return ReviewResult(
                        "skipped",
                        reason=f"--proofswe-max-cost ${c.max_cost_usd:g} reached "
                        f"(${self.budget.spent:.4f} spent); no more calls",
                        **common,
                    )
                try:
                    sample = self._call(prompt, rubric)
                except Exception as exc:
                    return ReviewResult("error", reason=_error_reason(exc, c), **common)
                self.budget.add(sample["cost_usd"])
                samples.append(sample)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_text(json.dumps({"samples": samples, "created": time.time()}))
            os.replace(tmp, path)
        return self._aggregate(samples, prompt, rubric, cached, common)

    def _aggregate(
        self, samples: list[dict[str, Any]], prompt: Prompt, rubric: Rubric, cached: bool, common: dict[str, Any]
    ) -> ReviewResult:
        costs = [s.get("cost_usd") for s in samples]
        cost = (
            None if cached else (sum(x for x in costs if x is not None) if any(x is not None for x in costs) else None)
        )
        tokens = {
            "input": _sum([s.get("input_tokens") for s in samples]),
            "output": _sum([s.get("output_tokens") for s in samples]),
        }
        extra: dict[str, Any] = dict(cost_usd=cost, tokens=tokens, cached=cached, samples=len(samples), **common)
        parsed: list[dict[str, CriterionScore]] = []
        answered: list[tuple[ChecklistAnswer, ...]] = []
        ids = checklist_ids(prompt.checklist)
        for sample in samples:
            try:
                parsed.append(parse_reply(sample.get("content"), rubric, prompt.sent_text))
                if ids:
                    answered.append(parse_checklist(sample.get("content"), ids, prompt.sent_text))
            except Unscored as exc:
                return ReviewResult(
                    "unscored",
                    reason=f"the reviewer's reply cannot be scored: {exc}",
                    raw=tuple(str(s.get("content"))[:20000] for s in samples),
                    **extra,
                )
        criteria: list[dict[str, Any]] = []
        medians: dict[str, float] = {}
        unstable = []
        for crit in rubric.criteria:
            scores = [p[crit.id].score for p in parsed]
            median = float(statistics.median(scores))
            medians[crit.id] = median
            if max(scores) - min(scores) > UNSTABLE_MARGIN:
                unstable.append(f"{crit.id} {min(scores)}..{max(scores)}")
            # The rationale and evidence of the sample closest to the median.
            chosen = min((p[crit.id] for p in parsed), key=lambda cs: abs(cs.score - median))
            criteria.append(
                {
                    "id": crit.id,
                    "score": median,
                    "samples": scores,
                    "rationale": chosen.rationale,
                    "evidence": [e.to_json() for e in chosen.evidence],
                    "unverified": chosen.all_unverified,
                }
            )
        score = rubric.weighted(medians)
        findings = list(extra.pop("findings"))
        checklist = _checklist(prompt.checklist, answered, unstable, findings)
        for entry in criteria:
            if entry["unverified"]:
                findings.append(
                    ReviewFinding(
                        "review-evidence-unverified",
                        "",
                        None,
                        f"criterion {entry['id']}: none of its quotes is in the diff",
                    )
                )
        status: ReviewStatus = "unstable" if unstable else "scored"
        reasons = [f"samples disagree by more than {UNSTABLE_MARGIN} on {', '.join(unstable)}"] if unstable else []
        # A patch that tries to talk the reviewer into a grade fails the review whatever it scored:
        # the score is kept for information, but a judge the patch addressed cannot vouch for it.
        injections = [f for f in findings if f.rule in FAILING_RULES]
        if injections:
            first = injections[0]
            where = f"{first.path}:{first.line}" if first.line else first.path
            more = f" and {len(injections) - 1} more place(s)" if len(injections) > 1 else ""
            reasons.append(
                f"prompt injection: text in the patch addresses the reviewer ({where}{more}), so the review "
                f"fails whatever its score (kept for information only)"
            )
        return ReviewResult(
            status,
            score=score,
            passed=score >= rubric.pass_threshold and not injections,
            reason="; ".join(reasons),
            criteria=tuple(criteria),
            findings=tuple(findings),
            checklist=checklist,
            **extra,
        )


def _checklist(
    items: Sequence[str],
    answered: list[tuple[ChecklistAnswer, ...]],
    unstable: list[str],
    findings: list[ReviewFinding],
) -> tuple[dict[str, Any], ...]:
    """Each checklist item's answer over the samples (the majority; a tie is "no"), as the report gives it.

    An item is met when most samples answered yes with a quote that is in the diff. Samples
    that disagree make the review unstable, as criteria do; a yes whose quotes are all missing
    from the diff is not met, and gives a ``review-checklist-unverified`` finding.
    """
    out = []
    for index, item in enumerate(items):
        answers = [sample[index] for sample in answered]
        yes = sum(1 for a in answers if a.answer == "yes")
        met = sum(1 for a in answers if a.met) * 2 > len(answers)
        answer = "yes" if yes * 2 > len(answers) else "no"
        if 0 < yes < len(answers):
            unstable.append(f"checklist {answers[0].id} ({yes} yes, {len(answers) - yes} no)")
        chosen = next((a for a in answers if a.met == met and a.answer == answer), answers[0])
        if answer == "yes" and not met:
            findings.append(
                ReviewFinding(
                    "review-checklist-unverified",
                    "",
                    None,
                    f"checklist {chosen.id} ({item!r}): answered yes, but no quote of its evidence is in the diff: not met",
                )
            )
        out.append(
            {
                "id": chosen.id,
                "item": item,
                "answer": answer,
                "met": met,
                "samples": [a.answer for a in answers],
                "rationale": chosen.rationale,
                "evidence": [e.to_json() for e in chosen.evidence],
            }
        )
    return tuple(out)


def _sum(values: list[Any]) -> int | None:
    known = [v for v in values if isinstance(v, int)]
    return sum(known) if known else None
