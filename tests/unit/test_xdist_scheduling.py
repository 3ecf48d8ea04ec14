"""A submission is one unit of xdist's work; other tests keep the rule of their --dist."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

pytest.importorskip("xdist")

from pytest_proofswe.xdist_scheduling import SubmissionScheduling, XdistScheduling, submission_scope


@pytest.mark.parametrize(
    ("nodeid", "scope"),
    [
        ("fixtures/tasks/inventory-restock::minimal::behaviour", "fixtures/tasks/inventory-restock::minimal"),
        ("tasks/t::org/model-a@2::taste", "tasks/t::org/model-a@2"),
        ("t::gold::validate", "t::gold"),
        ("t::sub::session@t::sub", "t::sub"),  # an xdist_group suffix
        ("tests/test_a.py::TestX::test_behaviour", None),  # a test module, not a task folder
        ("tests/test_a.py::test_taste", None),
        ("diff::taste", None),
        ("t::sub::something", None),
    ],
)
def test_submission_scope(nodeid: str, scope: str | None) -> None:
    assert submission_scope(nodeid) == scope


class FakeConfig:
    def __init__(self, dist: str) -> None:
        self.dist = dist
        self.option = SimpleNamespace(tx=["popen"] * 2, numprocesses=2, dist=dist)

    def getvalue(self, name: str) -> object:
        return {"dist": self.dist, "tx": ["popen", "popen"], "numprocesses": 2}[name]


@pytest.mark.parametrize(
    ("dist", "other_scope"),
    [
        ("load", "tests/test_a.py::TestX::test_y"),
        ("worksteal", "tests/test_a.py::TestX::test_y"),
        ("loadscope", "tests/test_a.py::TestX"),
        ("loadfile", "tests/test_a.py"),
    ],
)
def test_other_tests_keep_their_dist_rule(dist: str, other_scope: str) -> None:
    sched = SubmissionScheduling(FakeConfig(dist))  # type: ignore[arg-type]
    assert sched._split_scope("tests/test_a.py::TestX::test_y") == other_scope
    assert sched._split_scope("tasks/t::minimal::behaviour") == "tasks/t::minimal"
    assert sched._split_scope("tasks/t::minimal::review") == "tasks/t::minimal"


def test_loadgroup_groups_by_the_mark_and_each_is_left_alone() -> None:
    sched = SubmissionScheduling(FakeConfig("loadgroup"))  # type: ignore[arg-type]
    assert sched._split_scope("tests/test_a.py::test_y@db") == "db"
    assert sched._split_scope("tests/test_a.py::test_z") == "tests/test_a.py::test_z"
    plugin = XdistScheduling()
    assert plugin.pytest_xdist_make_scheduler(FakeConfig("each"), None) is None  # type: ignore[arg-type]
    assert isinstance(plugin.pytest_xdist_make_scheduler(FakeConfig("load"), None), SubmissionScheduling)  # type: ignore[arg-type]


class FakeNode:
    def __init__(self) -> None:
        self.sent: list[list[int]] = []

    def send_runtest_some(self, indexes: list[int]) -> None:
        self.sent.append(indexes)


def test_the_longest_task_known_is_handed_out_first() -> None:
    from pytest_proofswe.durations import CACHE_KEY
    from tests.unit.test_durations import FakeCache

    config = FakeConfig("load")
    config.cache = FakeCache({"tasks/short": 1.0, "tasks/long": 30.0})  # type: ignore[attr-defined]
    sched = SubmissionScheduling(config)  # type: ignore[arg-type]
    collection = [f"tasks/{t}::{s}::{c}" for t in ("short", "long") for s in ("a", "b") for c in ("behaviour", "taste")]
    node = FakeNode()
    sched.registered_collections[node] = collection
    sched.assigned_work[node] = {}
    for nodeid in collection:
        sched.workqueue.setdefault(sched._split_scope(nodeid), {})[nodeid] = False
    sched._assign_work_unit(node)
    sched._assign_work_unit(node)
    # Both submissions of the long task first, each as one unit (its two items together).
    assert [[collection[i] for i in sent] for sent in node.sent] == [
        ["tasks/long::a::behaviour", "tasks/long::a::taste"],
        ["tasks/long::b::behaviour", "tasks/long::b::taste"],
    ]
    assert list(sched.workqueue) == ["tasks/short::a", "tasks/short::b"]
    assert CACHE_KEY in config.cache.data  # type: ignore[attr-defined]


def test_without_durations_the_work_goes_in_collection_order() -> None:
    config = FakeConfig("load")  # no cache at all (-p no:cacheprovider)
    sched = SubmissionScheduling(config)  # type: ignore[arg-type]
    collection = ["tasks/b::x::taste", "tasks/a::x::taste"]
    node = FakeNode()
    sched.registered_collections[node] = collection
    sched.assigned_work[node] = {}
    for nodeid in collection:
        sched.workqueue.setdefault(sched._split_scope(nodeid), {})[nodeid] = False
    sched._assign_work_unit(node)
    assert node.sent == [[0]]
