"""Longest tasks first: the order gradings are handed out in, from earlier runs' durations."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from pytest_proofswe import durations
from pytest_proofswe.durations import CACHE_KEY, longest_first, submission_scope, task_of


class FakeCache:
    def __init__(self, stored: Any = None) -> None:
        self.data: dict[str, Any] = {} if stored is None else {CACHE_KEY: stored}

    def get(self, key: str, default: Any) -> Any:
        return self.data.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value


@pytest.mark.parametrize(
    ("nodeid", "task"),
    [
        ("tasks/a::minimal::behaviour", "tasks/a"),
        ("tasks/a::minimal", "tasks/a"),  # a submission scope
        ("fixtures/stepped/pricing-steps::bloat::2-tax::taste", "fixtures/stepped/pricing-steps"),
        ("fixtures/stepped/pricing-steps::bloat::decay", "fixtures/stepped/pricing-steps"),
        ("tests/test_a.py::test_taste", None),
        ("tests/test_a.py::TestX::test_y", None),
        ("tests/test_a.py", None),
    ],
)
def test_task_of(nodeid: str, task: str | None) -> None:
    assert task_of(nodeid) == task


@pytest.mark.parametrize(
    ("nodeid", "scope"),
    [
        ("fixtures/stepped/pricing-steps::bloat::1-discount::behaviour", "fixtures/stepped/pricing-steps::bloat"),
        ("fixtures/stepped/pricing-steps::bloat::3-coupons::decay", "fixtures/stepped/pricing-steps::bloat"),
        ("fixtures/stepped/pricing-steps::bloat::decay", "fixtures/stepped/pricing-steps::bloat"),
        ("t::sub::step::something", None),
        ("history::decay", None),
        ("tests/test_a.py::TestX::test_taste", None),
    ],
)
def test_a_stepped_submission_is_one_scope(nodeid: str, scope: str | None) -> None:
    """Every step of a stepped submission shares one grading: under xdist they must stay on one worker."""
    assert submission_scope(nodeid) == scope


def test_longest_first_puts_unknown_tasks_first_then_the_longest() -> None:
    keys = ["a::x", "b::x", "c::x", "new::x", "c::y", "tests/t.py::test", "b::y"]
    order = longest_first(keys, task_of, {"a": 1.0, "b": 20.0, "c": 5.0})
    # Unknown tasks (and tests that are not ours) keep collection order, then b (20 s), c (5 s), a (1 s);
    # the submissions of one task keep theirs.
    assert order == ["new::x", "tests/t.py::test", "b::x", "b::y", "c::x", "c::y", "a::x"]


def test_longest_first_without_durations_is_the_collection_order() -> None:
    keys = ["c::x", "a::x", "b::x"]
    assert longest_first(keys, task_of, {}) == keys


def test_load_keeps_only_finite_numbers() -> None:
    config = SimpleNamespace(cache=FakeCache({"a": 2, "b": 1.5, "c": True, "d": "3", "e": float("nan"), "f": None}))
    assert durations.load(config) == {"a": 2.0, "b": 1.5}
    assert durations.load(SimpleNamespace(cache=FakeCache(["not", "a", "dict"]))) == {}
    assert durations.load(SimpleNamespace(cache=None)) == {}  # -p no:cacheprovider
    assert durations.load(SimpleNamespace()) == {}


def test_record_merges_with_earlier_runs() -> None:
    cache = FakeCache({"a": 2.0, "b": 1.0})
    config = SimpleNamespace(cache=cache)
    durations.record(config, {"b": 7.12345, "c": 0.5})
    assert cache.data[CACHE_KEY] == {"a": 2.0, "b": 7.123, "c": 0.5}
    durations.record(config, {})  # nothing graded: nothing written
    assert cache.data[CACHE_KEY] == {"a": 2.0, "b": 7.123, "c": 0.5}
    durations.record(SimpleNamespace(cache=None), {"a": 1.0})  # no cache: no error
