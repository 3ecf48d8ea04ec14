"""The estimate printed before the first reviewer call: calls, tokens, cost."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .reviewer import ReviewConfig, import_litellm

__all__ = ["estimate"]

_PROMPT_OVERHEAD_TOKENS = 1500  # the instructions and a rubric, about


def estimate(config: ReviewConfig, work: Sequence[tuple[Any, Any]]) -> str:
    """One line: the reviews to make, their input tokens (about four characters a token), the cost."""
    chars = 0
    for task, submission in work:
        chars += len(submission.read_patch()) if submission.problem is None else 0
        if task.issue_path is not None:
            chars += task.issue_path.stat().st_size
    calls = len(work) * config.samples
    tokens = chars // 4 + _PROMPT_OVERHEAD_TOKENS * len(work)
    tokens *= config.samples
    price = None
    try:
        info = import_litellm().get_model_info(config.model)
        price = tokens * float(info.get("input_cost_per_token") or 0) + calls * config.max_tokens * float(
            info.get("output_cost_per_token") or 0
        )
    except Exception:
        price = None
    cost = f"at most about ${price:.4f}" if price is not None else "cost unknown (no price for this model in litellm)"
    limit = f"; --proofswe-max-cost ${config.max_cost_usd:g}" if config.max_cost_usd is not None else ""
    return (
        f"proofswe review: up to {calls} call(s) to {config.model} ({len(work)} review(s) x {config.samples} "
        f"sample(s)), about {tokens:,} input tokens, {cost}{limit}; cached reviews cost nothing"
    )
