"""A session's cost from its token counts, priced with litellm's model cost map.

litellm is imported only when a session must be priced (its import takes seconds), with its
bundled map (no download). Every token kind the map prices is priced apart: uncached input,
output, cache reads (``cache_read_input_token_cost``) and cache writes
(``cache_creation_input_token_cost``, and ``..._above_1hr`` for Anthropic's one-hour
writes); a cache kind the map has no price for is priced by litellm at the input or write rate. Calls are priced one by one when the model's price depends on a
call's size (``..._above_200k_tokens``), else summed first. When the cost cannot be known
(litellm not installed, a model not in the map) :class:`PriceUnknown` says why: the cost is
then null with that reason, never 0 or a guess.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Iterator, Sequence
from importlib import metadata
from typing import Any

from .metrics import CallTokens

__all__ = ["PriceUnknown", "litellm_price"]

_SIZE_TIER = re.compile(r"_above_\d+k_tokens")  # e.g. input_cost_per_token_above_200k_tokens


class PriceUnknown(LookupError):
    """The cost cannot be computed; the message says why (it becomes the metrics' ``cost_reason``)."""


def litellm_price(model: str, calls: Sequence[CallTokens]) -> float:
    """Dollars for ``calls`` (one model's calls) at the list prices of litellm's cost map."""
    litellm = _litellm()
    with _quiet(litellm):
        try:
            info = litellm.get_model_info(model=model)
        except Exception:  # litellm raises several kinds for a model it does not map
            raise PriceUnknown(
                f"no price for model {model!r} in the cost map of litellm {_version()} "
                "(a newer litellm may know it: pip install -U litellm)"
            ) from None
        if info.get("input_cost_per_token") is None and info.get("output_cost_per_token") is None:
            raise PriceUnknown(f"the cost map of litellm {_version()} has no token price for model {model!r}")
        tiered = any(_SIZE_TIER.search(key) for key in info)
        total = 0.0
        for t in calls if tiered else [_sum(calls)]:
            try:
                prompt, completion = litellm.cost_per_token(model=model, usage_object=_usage(litellm, t))
            except Exception as exc:
                raise PriceUnknown(f"litellm {_version()} cannot price model {model!r}: {exc}") from None
            total += float(prompt) + float(completion)
    return total


def _usage(litellm: Any, t: CallTokens) -> Any:
    """A litellm ``Usage``: its convention is OpenAI's, prompt_tokens counting the cached tokens too;
    cache writes are split by how long they are cached (Anthropic's 5-minute and 1-hour writes)."""
    details: dict[str, Any] = {"cached_tokens": t.cache_read}
    if t.cache_write_1h:
        details["cache_creation_token_details"] = {
            "ephemeral_5m_input_tokens": t.cache_write - t.cache_write_1h,
            "ephemeral_1h_input_tokens": t.cache_write_1h,
        }
    return litellm.Usage(
        prompt_tokens=t.input + t.cache_read + t.cache_write,
        completion_tokens=t.output,
        cache_read_input_tokens=t.cache_read,
        cache_creation_input_tokens=t.cache_write,
        prompt_tokens_details=details,
    )


def _sum(calls: Sequence[CallTokens]) -> CallTokens:
    return CallTokens(*(sum(values) for values in zip(*calls, strict=True))) if calls else CallTokens(0, 0, 0, 0)


def _litellm() -> Any:
    from ..review.reviewer import import_litellm

    try:
        return import_litellm()
    except ModuleNotFoundError:
        raise PriceUnknown("litellm is not installed, so tokens cannot be priced: pip install 'pytest-proofswe[llm]'")


@contextlib.contextmanager
def _quiet(litellm: Any) -> Iterator[None]:
    """litellm prints a provider list to stdout on an unknown model, and may warn: not into the user's run."""
    before = getattr(litellm, "suppress_debug_info", False)
    litellm.suppress_debug_info = True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        litellm.suppress_debug_info = before


def _version() -> str:
    try:
        return metadata.version("litellm")
    except metadata.PackageNotFoundError:  # pragma: no cover - imported, so installed
        return "?"
