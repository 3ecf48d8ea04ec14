"""Where gradings run: one seam shaped like :class:`concurrent.futures.Executor`, and its backends.

The run hands each grading to an :class:`Executor` and each pytest item waits for its own
:class:`~concurrent.futures.Future`, so ``-x``, ``--lf``, ``-k`` and ``--junitxml`` work
whatever the backend:

* :class:`InlineExecutor`: in the calling thread, at ``submit`` (``--proofswe-jobs 1``,
  the default; nothing is graded ahead of its item).
* :class:`concurrent.futures.ThreadPoolExecutor`: ``--proofswe-jobs N`` (threads of the
  pytest process; the work itself is in subprocesses).
* :class:`RayExecutor`: ``--proofswe-executor=ray``: each call is a Ray task on a cluster
  (or on a local cluster it starts). Ray is imported only here, only when asked for.

This module knows nothing of grading: what a backend runs is any picklable function.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ParamSpec, Protocol, TypeVar

from .errors import HarnessError, UsageError

__all__ = [
    "LOST_RETRIES",
    "RAY_INSTALL",
    "Executor",
    "InlineExecutor",
    "RayExecutor",
    "RayFuture",
    "WorkerLost",
    "import_ray",
    "make_executor",
    "ray_available",
]

_P = ParamSpec("_P")
_T = TypeVar("_T")

RAY_INSTALL = "pip install 'pytest-proofswe[ray]'"
# A call whose Ray worker or node was lost (the process died, the node went away, the
# result was lost with its node) is run again up to this many times: 4 attempts in all.
# A call that returned (whatever it returned) or raised is never run again.
LOST_RETRIES = 3
# A local cluster's object store: the calls and results are a few KiB each. Ray's default
# (30% of the memory, in /dev/shm) would take the room the workspaces use (see .workspace).
_LOCAL_OBJECT_STORE_BYTES = 128 * 1024**2
# The Ray exception types that mean "the worker or its node was lost", not "the call failed".
_LOST_ERRORS = (
    "WorkerCrashedError",
    "NodeDiedError",
    "LocalRayletDiedError",
    "ObjectLostError",  # also OwnerDiedError, ObjectReconstructionFailedError, ...
    "OutOfMemoryError",  # Ray's memory monitor killed the worker
)


class Executor(Protocol):
    """What a run needs of an executor: the shape of :class:`concurrent.futures.Executor`."""

    def submit(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_T]:
        """Schedule ``fn(*args, **kwargs)``; its future holds the value or the exception."""
        ...

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Take no more calls; ``cancel_futures`` cancels those not started; ``wait`` waits for the others."""
        ...


class InlineExecutor:
    """Runs each call in the calling thread, at ``submit``: one at a time, nothing ahead of its item."""

    def submit(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_T]:
        future: Future[_T] = Future()
        future.set_running_or_notify_cancel()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # KeyboardInterrupt included: the item reports it
            future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise  # Ctrl-C stops the run now
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        return None


class WorkerLost(HarnessError):
    """A call's Ray worker (or node) was lost on every attempt."""


def ray_available() -> bool:
    """Whether Ray is installed (without importing it)."""
    import importlib.util

    return importlib.util.find_spec("ray") is not None


def import_ray() -> Any:
    """The ``ray`` module, or a :class:`UsageError` that says how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise UsageError(
            f"--proofswe-executor=ray needs Ray, which is not installed here ({exc}) (fix: {RAY_INSTALL})"
        ) from None
    return ray


def _call(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """What a Ray task runs: the submitted call."""
    return fn(*args, **kwargs)


class RayFuture(Future[_T]):
    """A Ray call's future; ``lost`` says why earlier attempts were lost (empty: none was)."""

    def __init__(self) -> None:
        super().__init__()
        self.lost: tuple[str, ...] = ()


@dataclass(eq=False)
class _Pending:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    future: RayFuture[Any]
    lost: list[str] = field(default_factory=list)  # how each earlier attempt was lost


class RayExecutor:
    """Each call is a Ray task of one CPU; the calls wait here until the cluster has a free CPU.

    The controller keeps the calls not yet started in its own queue and hands Ray only as
    many as the cluster has CPUs (read again every few seconds), so ``shutdown(cancel_futures=True)``
    (``-x``) cancels exactly the calls that have not started, and the controller holds one
    Ray object reference per running call, never one per queued call. A call whose worker
    or node is lost is run again (:data:`LOST_RETRIES`); one that returned or raised is not.

    ``address`` None starts a local cluster of ``cpus`` CPUs (default: this machine's),
    stopped at shutdown; an address connects to that cluster (left running).
    """

    def __init__(
        self,
        *,
        address: str | None = None,
        cpus: int | None = None,
        retries: int = LOST_RETRIES,
        poll_s: float = 0.05,
        resize_s: float = 5.0,
        ray: Any = None,
    ) -> None:
        ray = ray or import_ray()  # a test passes a fake module
        self._ray = ray
        self.retries = retries
        self._poll_s = poll_s
        self._resize_s = resize_s
        self._owns_connection = not ray.is_initialized()
        if self._owns_connection:
            # Ray's own default is to report usage to its vendor: not from a grading run.
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            if address:
                _check_reachable(address)
            try:
                # Ray's INFO lines would land in the middle of pytest's output; its warnings still show.
                quiet = {"log_to_driver": False, "logging_level": logging.WARNING}
                if address:
                    ray.init(address=address, **quiet)
                else:
                    ray.init(
                        address="local",
                        num_cpus=cpus or os.cpu_count() or 1,
                        include_dashboard=False,
                        object_store_memory=_LOCAL_OBJECT_STORE_BYTES,
                        **quiet,
                    )
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = f"the Ray cluster at {address}" if address else "a local Ray cluster"
                auth = (
                    " A cluster with token authentication (Ray's default) also needs RAY_AUTH_MODE=token here and "
                    "its token in ~/.ray/auth_token or $RAY_AUTH_TOKEN (docs/scale.md)."
                    if address
                    else ""
                )
                raise UsageError(
                    f"--proofswe-executor=ray: could not connect to {where}: {exc} "
                    "(fix: start it with `ray start --head` and give its address with --proofswe-ray-address, "
                    f"or give no address for a local cluster).{auth}"
                ) from None
        self.address = address
        self._remote = ray.remote(num_cpus=1, max_retries=0)(_call)
        self._queue: collections.deque[_Pending] = collections.deque()
        self._running: dict[Any, _Pending] = {}  # ObjectRef -> its call
        self._launching: list[_Pending] = []  # taken from the queue, being handed to Ray
        self._cond = threading.Condition()
        self._closing = False
        self._slots = self._cluster_cpus()
        self._slots_read = time.monotonic()
        self.max_running = 0  # the most calls running at once (for the simulation's figures)
        # Not a daemon: like a thread pool's workers, the calls already running finish before
        # the process exits (and their results are kept), then Ray's own exit handler disconnects.
        self._thread = threading.Thread(target=self._loop, name="proofswe-ray", daemon=False)
        self._thread.start()

    @property
    def slots(self) -> int:
        """How many calls run at once: the cluster's CPUs, as last read."""
        return self._slots

    def _cluster_cpus(self) -> int:
        try:
            return max(1, int(self._ray.cluster_resources().get("CPU", 1)))
        except Exception:  # a cluster that does not answer now: keep the last figure
            return getattr(self, "_slots", 1)

    # -- Executor ----------------------------------------------------------------------------
    def submit(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_T]:
        future: RayFuture[_T] = RayFuture()
        with self._cond:
            if self._closing:
                raise RuntimeError("cannot schedule new calls after shutdown")
            self._queue.append(_Pending(fn, args, dict(kwargs), future))
            self._cond.notify_all()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._cond:
            self._closing = True
            if cancel_futures:  # a call waiting to run again after a lost worker had started: it stays
                for call in [c for c in self._queue if not c.lost]:
                    self._queue.remove(call)
                    call.future.cancel()
            self._cond.notify_all()
        if wait:
            self._thread.join()
            if self._owns_connection and self._ray.is_initialized():
                self._ray.shutdown()

    # -- the dispatching thread --------------------------------------------------------------
    def _loop(self) -> None:
        try:
            self._dispatch()
        except BaseException as exc:  # the cluster itself is gone: no call may wait forever
            with self._cond:
                self._closing = True
                waiting = [*self._launching, *self._running.values(), *self._queue]
                self._launching.clear()
                self._running.clear()
                self._queue.clear()
            for call in waiting:
                future = call.future
                if future.done() or (not future.running() and not future.set_running_or_notify_cancel()):
                    continue  # cancelled
                future.set_exception(WorkerLost(f"the Ray cluster stopped answering: {exc!r}"))

    def _dispatch(self) -> None:
        ray = self._ray
        while True:
            launch = self._launching
            with self._cond:
                now = time.monotonic()
                if self._queue and now - self._slots_read >= self._resize_s:
                    self._slots, self._slots_read = self._cluster_cpus(), now
                while self._queue and len(self._running) + len(launch) < self._slots:
                    call = self._queue.popleft()
                    # A call run again after a lost worker is running already; others may be cancelled.
                    if call.lost or call.future.set_running_or_notify_cancel():
                        launch.append(call)
                if not launch and not self._running:
                    if self._closing and not self._queue:
                        return
                    self._cond.wait()
                    continue
            while launch:  # outside the lock: submit() and shutdown() never wait for Ray
                ref = self._remote.remote(launch[0].fn, launch[0].args, launch[0].kwargs)
                with self._cond:
                    self._running[ref] = launch.pop(0)
            with self._cond:
                self.max_running = max(self.max_running, len(self._running))
                refs = list(self._running)
            ready, _ = ray.wait(refs, num_returns=1, timeout=self._poll_s)
            if ready:  # and whatever else finished meanwhile
                ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
            for ref in ready:
                self._finish(ref)

    def _finish(self, ref: Any) -> None:
        with self._cond:
            call = self._running.pop(ref)
        try:
            value = self._ray.get(ref)
        except BaseException as exc:
            lost = self._lost_reason(exc)
            if lost is None:  # the call itself raised: its future holds the exception
                call.future.lost = tuple(call.lost)
                call.future.set_exception(exc)
                return
            call.lost.append(lost)
            if len(call.lost) <= self.retries:
                with self._cond:  # first in line: it was running before anything queued
                    self._queue.appendleft(call)
                return
            call.future.lost = tuple(call.lost)
            call.future.set_exception(
                WorkerLost(
                    f"the Ray worker running this grading was lost {len(call.lost)} times "
                    f"(run again {self.retries} times): " + "; ".join(call.lost)
                )
            )
            return
        call.future.lost = tuple(call.lost)
        call.future.set_result(value)

    def _lost_reason(self, exc: BaseException) -> str | None:
        """One line saying how the call's worker was lost, or None when the call itself failed."""
        exceptions = self._ray.exceptions
        lost = tuple(getattr(exceptions, name) for name in _LOST_ERRORS if hasattr(exceptions, name))
        if isinstance(exc, exceptions.RayTaskError) or not isinstance(exc, lost):
            return None
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return f"{type(exc).__name__}: {first}"[:300]


def _check_reachable(address: str, timeout_s: float = 10.0) -> None:
    """A UsageError now when ``host:port`` does not answer (``ray.init`` would retry for minutes)."""
    import socket

    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit():
        return  # "auto" and other forms Ray resolves itself
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise UsageError(
            f"--proofswe-ray-address={address}: nothing answers there ({exc}) "
            "(fix: start the cluster's head with `ray start --head` and give the address it prints, "
            "or give no address for a local cluster)"
        ) from None


def make_executor(kind: str, *, jobs: int, address: str | None = None, cpus: int | None = None) -> Executor:
    """The executor of ``--proofswe-executor=kind`` (``local``: inline or a thread pool of ``jobs``)."""
    if kind == "ray":
        return RayExecutor(address=address, cpus=cpus)
    if jobs > 1:
        return ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="proofswe")
    return InlineExecutor()
