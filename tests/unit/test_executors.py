"""The executor seam: the inline backend, and the Ray backend's dispatching against a hand-written fake Ray."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from typing import Any

import pytest

from pytest_proofswe.errors import UsageError
from pytest_proofswe.executors import (
    LOST_RETRIES,
    Executor,
    InlineExecutor,
    RayExecutor,
    WorkerLost,
    import_ray,
    make_executor,
)


class _Exceptions:
    """The few ``ray.exceptions`` the executor tells apart (same names as Ray's)."""

    class RayError(Exception):
        pass

    class RayTaskError(RayError):
        pass

    class WorkerCrashedError(RayError):
        pass

    class NodeDiedError(RayError):
        pass

    class TaskCancelledError(RayError):
        pass


class _Ref:
    def __init__(self, value: Any = None, error: BaseException | None = None) -> None:
        self.value, self.error = value, error


class FakeRay:
    """A module-shaped fake of Ray: each call runs when it is handed over; ``get`` gives its outcome.

    ``outstanding`` counts calls handed to "the cluster" and not yet collected: the
    executor must never hand over more than the cluster's CPUs.
    """

    exceptions = _Exceptions

    def __init__(self, cpus: int = 2) -> None:
        self.cpus = cpus
        self.initialized = False
        self.init_kwargs: dict[str, Any] = {}
        self.outstanding = 0
        self.most_outstanding = 0
        self.handed_over = 0
        self.gate: threading.Event | None = None  # set: calls wait for it before they run
        self._lock = threading.Lock()

    def is_initialized(self) -> bool:
        return self.initialized

    def init(self, **kwargs: Any) -> None:
        self.init_kwargs, self.initialized = kwargs, True

    def shutdown(self) -> None:
        self.initialized = False

    def cluster_resources(self) -> dict[str, float]:
        return {"CPU": float(self.cpus)}

    def remote(self, **options: Any) -> Callable[[Callable[..., Any]], Any]:
        fake = self

        class _Remote:
            def __init__(self, fn: Callable[..., Any]) -> None:
                self.fn = fn

            def remote(self, *args: Any) -> _Ref:
                with fake._lock:
                    fake.outstanding += 1
                    fake.handed_over += 1
                    fake.most_outstanding = max(fake.most_outstanding, fake.outstanding)
                if fake.gate is not None:
                    fake.gate.wait(10)
                try:
                    return _Ref(value=self.fn(*args))
                except (_Exceptions.WorkerCrashedError, _Exceptions.NodeDiedError) as lost:
                    return _Ref(error=lost)  # the worker died: Ray raises this type itself
                except Exception as exc:
                    return _Ref(error=_Exceptions.RayTaskError(repr(exc)))  # the call raised

        return _Remote

    def wait(
        self, refs: list[_Ref], num_returns: int = 1, timeout: float | None = None
    ) -> tuple[list[_Ref], list[_Ref]]:
        return list(refs), []

    def get(self, ref: _Ref) -> Any:
        with self._lock:
            self.outstanding -= 1
        if ref.error is not None:
            raise ref.error
        return ref.value


def test_inline_runs_the_call_at_submit() -> None:
    ran: list[int] = []
    future = InlineExecutor().submit(ran.append, 1)
    assert ran == [1] and future.done() and future.result() is None


def test_inline_keeps_an_exception_in_the_future_and_lets_ctrl_c_through() -> None:
    def fail() -> None:
        raise ValueError("broken")

    def interrupt() -> None:
        raise KeyboardInterrupt

    with pytest.raises(ValueError, match="broken"):
        InlineExecutor().submit(fail).result()
    with pytest.raises(KeyboardInterrupt):
        InlineExecutor().submit(interrupt)


def test_local_executors_are_inline_or_a_thread_pool() -> None:
    one, two = make_executor("local", jobs=1), make_executor("local", jobs=2)
    assert isinstance(one, InlineExecutor) and isinstance(two, ThreadPoolExecutor)
    both: list[Executor] = [one, two]  # mypy: both satisfy the Protocol
    assert [e.submit(pow, 2, 5).result() for e in both] == [32, 32]
    two.shutdown()


def test_a_missing_ray_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails as when it is not installed
    with pytest.raises(UsageError, match=r"pip install 'pytest-proofswe\[ray\]'"):
        import_ray()


def test_a_local_cluster_is_bounded_and_stopped_at_shutdown() -> None:
    fake = FakeRay()
    executor = RayExecutor(cpus=3, ray=fake)
    assert fake.init_kwargs["address"] == "local" and fake.init_kwargs["num_cpus"] == 3
    assert fake.init_kwargs["object_store_memory"] <= 256 * 1024**2
    executor.shutdown()
    assert not fake.initialized


def test_a_cluster_it_did_not_start_is_left_running() -> None:
    fake = FakeRay()
    fake.initialized = True  # connected before (by a conftest, say)
    RayExecutor(ray=fake).shutdown()
    assert fake.initialized and not fake.init_kwargs


def test_no_more_calls_run_than_the_cluster_has_cpus() -> None:
    fake = FakeRay(cpus=2)
    executor = RayExecutor(ray=fake)
    futures = [executor.submit(pow, n, 2) for n in range(50)]
    assert [f.result(timeout=10) for f in futures] == [n * n for n in range(50)]
    executor.shutdown()
    assert fake.most_outstanding <= 2 and executor.slots == 2


def test_a_lost_worker_is_run_again_and_says_so() -> None:
    attempts: list[int] = []

    def dies_once(n: int) -> int:
        attempts.append(n)
        if len(attempts) == 1:
            raise _Exceptions.WorkerCrashedError("The worker died unexpectedly while executing this task.")
        return n + 1

    executor = RayExecutor(ray=FakeRay())
    future = executor.submit(dies_once, 41)
    assert future.result(timeout=10) == 42 and attempts == [41, 41]
    assert future.lost == ("WorkerCrashedError: The worker died unexpectedly while executing this task.",)  # type: ignore[attr-defined]
    executor.shutdown()


def test_a_worker_lost_on_every_attempt_is_an_error_after_the_retries() -> None:
    attempts: list[int] = []

    def node_dies(n: int) -> int:
        attempts.append(n)
        raise _Exceptions.NodeDiedError("node 10.0.0.7 died")

    executor = RayExecutor(ray=FakeRay())
    future = executor.submit(node_dies, 1)
    with pytest.raises(WorkerLost, match=r"lost 4 times \(run again 3 times\): NodeDiedError: node 10.0.0.7 died"):
        future.result(timeout=10)
    assert len(attempts) == LOST_RETRIES + 1
    executor.shutdown()


def test_a_call_that_raised_is_not_run_again() -> None:
    attempts: list[int] = []

    def raises(n: int) -> int:
        attempts.append(n)
        raise ValueError("a bug")

    executor = RayExecutor(ray=FakeRay())
    with pytest.raises(_Exceptions.RayTaskError, match="a bug"):
        executor.submit(raises, 1).result(timeout=10)
    assert attempts == [1]
    executor.shutdown()


def test_shutdown_cancels_what_has_not_started_and_lets_the_rest_finish() -> None:
    fake = FakeRay(cpus=1)
    fake.gate = threading.Event()  # the first call is held "running" on the cluster
    executor = RayExecutor(ray=fake)
    futures: list[Future[int]] = [executor.submit(abs, -n) for n in range(5)]
    while fake.handed_over == 0:
        threading.Event().wait(0.01)
    executor.shutdown(wait=False, cancel_futures=True)
    fake.gate.set()
    assert futures[0].result(timeout=10) == 0
    for future in futures[1:]:
        with pytest.raises(CancelledError):
            future.result(timeout=10)
    executor.shutdown()
    assert fake.handed_over == 1
    with pytest.raises(RuntimeError, match="after shutdown"):
        executor.submit(abs, 1)


def test_when_dispatching_itself_fails_no_call_waits_forever() -> None:
    class Broken(FakeRay):
        def wait(self, refs: list[_Ref], num_returns: int = 1, timeout: float | None = None) -> Any:
            raise ConnectionError("the GCS went away")

    fake = Broken(cpus=1)
    fake.gate = threading.Event()
    executor = RayExecutor(ray=fake)
    futures = [executor.submit(abs, -n) for n in range(3)]
    fake.gate.set()
    for future in futures:
        with pytest.raises(
            WorkerLost, match=r"the Ray cluster stopped answering: ConnectionError\('the GCS went away'\)"
        ):
            future.result(timeout=10)
    executor.shutdown()
