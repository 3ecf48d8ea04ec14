"""The rubric-driven LLM reviewer: rubrics, prompt building, the litellm call, parsing, cache."""

from __future__ import annotations

from .prompt import Prompt, ReviewFinding, build_prompt
from .reviewer import CostBudget, ReviewConfig, Reviewer, ReviewResult
from .rubric import Criterion, Rubric, RubricError, builtin_rubrics, load_rubric

__all__ = [
    "CostBudget",
    "Criterion",
    "Prompt",
    "ReviewConfig",
    "ReviewFinding",
    "ReviewResult",
    "Reviewer",
    "Rubric",
    "RubricError",
    "build_prompt",
    "builtin_rubrics",
    "load_rubric",
]
