"""The Ray executor on a real local cluster: calls run in other processes, a lost worker's call runs again."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import needs_ray

pytestmark = [pytest.mark.slow, needs_ray]


@pytest.fixture(scope="module")
def executor() -> Iterator[object]:
    from pytest_proofswe.executors import RayExecutor

    ray_executor = RayExecutor(cpus=2)
    yield ray_executor
    ray_executor.shutdown()


def test_calls_run_in_the_clusters_processes_and_come_back(executor) -> None:  # type: ignore[no-untyped-def]
    def where(n: int) -> tuple[int, int]:
        import os

        return n, os.getpid()

    results = [f.result(timeout=300) for f in [executor.submit(where, n) for n in range(6)]]
    assert [n for n, _pid in results] == list(range(6))
    assert os.getpid() not in {pid for _n, pid in results}
    assert executor.slots == 2 and executor.max_running <= 2


def test_a_worker_that_dies_mid_call_is_replaced_and_the_call_run_again(executor, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    marker = tmp_path / "first-attempt"

    def dies_on_the_first_attempt(path: str) -> int:
        import os

        if not os.path.exists(path):
            with open(path, "w") as f:
                f.write(str(os.getpid()))
            os._exit(1)  # the worker process dies, as on a SIGKILL or a lost node
        return os.getpid()

    future = executor.submit(dies_on_the_first_attempt, str(marker))
    second = future.result(timeout=300)
    assert second != int(marker.read_text())  # another worker process ran it
    assert len(future.lost) == 1 and future.lost[0].startswith("WorkerCrashedError: ")


def test_a_call_that_raises_is_not_run_again(executor, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    log = tmp_path / "attempts"

    def fails(path: str) -> None:
        with open(path, "a") as f:
            f.write("x")
        raise ValueError("a failing test is a result, not a lost worker")

    future = executor.submit(fails, str(log))
    with pytest.raises(ValueError, match="not a lost worker"):
        future.result(timeout=300)
    assert log.read_text() == "x" and future.lost == ()
