"""Task folders as pytest collectors, submissions as items; the run's shared state.

Node ids: ``<task folder>::<submission>::behaviour``. The folder's name is the task id
unless task.toml sets ``id``. Grading runs in :mod:`.grading`; this module only
schedules it, turns results into item outcomes, and gathers them for the reports
(through the test reports, so that pytest-xdist workers' results reach the controller).
"""

from __future__ import annotations

import dataclasses
import gc
import json
import os
import re
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .errors import TaskError
from .outputs import report as reportmod
from .settings import Settings
from .task import Submission, Task, find_submissions, is_task_dir, load_task

if TYPE_CHECKING:  # the grading machinery is imported when something is graded
    from .compare import Leaderboard
    from .compare.runs import OldReport, RunComparison
    from .executors import Executor
    from .grading import Grader, GradeRequest
    from .harness.sandbox import Sandbox
    from .modes.steps import SteppedResult
    from .remote import GraderSettings
    from .result import GradeResult
    from .resultcache import ResultCache

_RESULT_ATTR = "proofswe_result"
_NAME_SAFE = re.compile(r"[^A-Za-z0-9._+@=,-]")


class BehaviourFailure(Exception):
    """Raised by a behaviour item whose submission did not resolve the task."""


def _plugin_file(plugin: object) -> str:
    """The source file of a plugin (a conftest module, or the module of a plugin object)."""
    module = plugin if hasattr(plugin, "__file__") else sys.modules.get(type(plugin).__module__)
    return str(getattr(module, "__file__", "") or type(plugin).__module__)


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


class ProofsweSession:
    """The plugin object registered when --proofswe is on: state of one run."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self.results: dict[tuple[str, str], dict[str, Any]] = {}
        self.calibration: list[dict[str, Any]] = []
        self.change: Any = None
        self.replay_old: dict[tuple[str, str], dict[str, Any]] | None = None
        if settings.replay is not None and not _is_worker(config):
            from .errors import UsageError
            from .modes.replay import load_report

            try:
                self.replay_old = load_report(settings.replay)
            except UsageError as exc:
                raise pytest.UsageError(str(exc)) from None
        self.compare_old: OldReport | None = None
        self._comparison: RunComparison | None = None
        if settings.compare is not None and not _is_worker(config):
            from .compare.runs import load_old_report
            from .errors import UsageError

            try:
                self.compare_old = load_old_report(settings.compare)
            except UsageError as exc:
                raise pytest.UsageError(str(exc)) from None
        self.history_run: Any = None  # .historyitems.HistoryRun, with --proofswe-history
        self.history_doc: dict[str, Any] | None = None  # the report's history object, once known
        self.stepped_docs: dict[tuple[str, str], dict[str, Any]] = {}  # stepped tasks: (task, submission) -> decay
        self._stepped: dict[tuple[str, str], Future[SteppedResult]] = {}
        self._gc_frozen = False  # collection's objects frozen (pytest_collection), unfrozen at unconfigure
        self._collected: pytest.Session | None = None  # a task run's session, its items let go at unconfigure
        self.change_s = 0.0
        self._diff_result: dict[str, Any] | None = None
        self.collect_errors: list[str] = []  # "<node id>: <last line of the error>", for the report
        self.keyboard_interrupt = False
        self.diff_deselected = False
        self._diff_lock = threading.Lock()
        self.order: list[tuple[str, str]] = []
        self._partial_started = False  # the run's first result replaces a partial file left by a dead run
        self.kept: list[str] = []
        self.predictions: dict[str, list[Submission]] | None = None
        self.matched_predictions: set[str] = set()
        self._futures: dict[tuple[str, str], Future[GradeResult]] = {}
        self._lock = threading.Lock()
        self._executor: Executor | None = None  # None: inline (see .executors), until collection ends
        self._remote = False  # gradings run on Ray nodes (the executor is made at the first one not stored)
        self._remote_settings: GraderSettings | None = None  # what the nodes make their Grader from
        self._grade_function: Any = None
        self.retried: list[tuple[str, str, tuple[str, ...]]] = []  # (task, submission, why) run again
        self.durations: dict[str, float] = {}  # task folder -> its longest grading this run (.durations)
        self._grader: Grader | None = None
        self._result_cache: ResultCache | None = None
        self._leaderboard: tuple[int, Leaderboard] | None = None  # (results it was made from, the aggregates)
        if not _is_worker(config):
            # One id for the whole run, inherited by xdist workers: "rebuild once per run".
            os.environ.setdefault("PROOFSWE_RUN_ID", uuid.uuid4().hex)
        self.sandbox: Sandbox | None = None
        if settings.tasks:
            from .errors import UsageError
            from .harness.sandbox import choose

            try:
                self.sandbox = choose(settings.sandbox, hidden=_grader_folders(config, settings))
            except UsageError as exc:
                raise pytest.UsageError(str(exc)) from None
        if settings.predictions:
            from .modes.swebench import load_prediction_files

            try:
                self.predictions = load_prediction_files(settings.predictions)
            except ValueError as exc:
                raise pytest.UsageError(str(exc)) from None

    # -- grading -------------------------------------------------------------------------
    @property
    def grader(self) -> Grader:
        if self._grader is None:
            from .remote import build_grader

            self._grader = build_grader(
                self.grader_settings(),
                sandbox=self.sandbox,
                reviewer=self._make_reviewer(),
                taste_extensions=_HookExtensions(self.config),
                session_readers=self._session_readers(),
            )
        return self._grader

    def _session_readers(self) -> list[Any]:
        return [r for r in self.config.hook.pytest_proofswe_session_reader(config=self.config) if r is not None]

    def grader_settings(self, *, workers: int = 1) -> GraderSettings:
        """What this run's Grader is made from; ``workers`` processes share the reviewer's budget."""
        from .harness.sandbox import NoSandbox
        from .remote import TESTING_WRAPPER_VAR, GraderSettings

        review = self.settings.review
        if review is not None and review.max_cost_usd is not None and workers > 1:
            review = dataclasses.replace(review, max_cost_usd=review.max_cost_usd / workers)
        return GraderSettings(
            cache_dir=self.settings.cache_dir,
            run_id=os.environ.get("PROOFSWE_RUN_ID", ""),
            rebuild_envs=self.settings.rebuild_envs,
            keep_workspaces=self.settings.keep_workspaces,
            workspace_dir=self.settings.workspace_dir,
            taste=self.settings.taste,
            review=review,
            rubric=self.settings.rubric,
            session=self.settings.session,
            sandbox="none" if self.sandbox is None else self.sandbox.name,
            sandbox_reason=self.sandbox.reason if isinstance(self.sandbox, NoSandbox) else "",
            hidden=tuple(_grader_folders(self.config, self.settings)),
            testing_wrapper=os.environ.get(TESTING_WRAPPER_VAR) or None,
        )

    def _make_reviewer(self) -> Any:
        config = self.settings.review
        if config is None:
            return None
        from .review import Reviewer

        if config.max_cost_usd is not None and _is_worker(self.config):
            # Each pytest-xdist worker gets its share of the budget.
            workers = int(self.config.workerinput.get("workercount", 1))  # type: ignore[attr-defined]
            config = dataclasses.replace(config, max_cost_usd=config.max_cost_usd / max(workers, 1))
        return Reviewer(config, self.settings.cache_dir)

    @property
    def result_cache(self) -> ResultCache | None:
        """Stored results, or None where they do not apply (kept workspaces, a replay, calibration)."""
        if self._result_cache is None and not (
            self.settings.keep_workspaces or self.settings.replay is not None or self.settings.calibrate is not None
        ):
            from .resultcache import ResultCache, settings_fingerprint

            hooks = [
                _plugin_file(impl.plugin) for impl in self.config.hook.pytest_proofswe_taste_findings.get_hookimpls()
            ]
            self._result_cache = ResultCache(
                self.settings.cache_dir / "results", settings_fingerprint(self.grader, hooks)
            )
        return self._result_cache

    def _stored(self, request: GradeRequest) -> tuple[str | None, GradeResult | None]:
        """The request's key in the result cache (None: no cache) and its stored result (None: grade it)."""
        cache = self.result_cache
        if cache is None:
            return None, None
        try:
            key = cache.key(request, self.grader)
        except Exception:  # a task whose base cannot be made: the grading says what is wrong
            return None, None
        return key, None if self.settings.no_cache else cache.get(key)

    def _store(self, key: str | None, result: GradeResult) -> None:
        if key is not None and self.result_cache is not None:
            self.result_cache.put(key, result)

    def _grade(self, request: GradeRequest) -> GradeResult:
        """The stored result when nothing it depends on changed, else a new grading (then stored)."""
        key, hit = self._stored(request)
        if hit is not None:
            return hit
        if self._grade_function is None:
            from .remote import wrap_for_testing

            self._grade_function = wrap_for_testing(self.grader, self.grader_settings().testing_wrapper)
        result: GradeResult = self._grade_function(request)
        self._store(key, result)
        return result

    def _remote_executor(self) -> tuple[Executor, GraderSettings]:
        """The Ray executor and the nodes' settings, made when the first grading is dispatched.

        Not before: a re-run served whole from the result cache never starts a cluster.
        """
        if self._executor is None or self._remote_settings is None:
            from .executors import make_executor

            address = self.settings.ray_address
            self._executor = make_executor("ray", jobs=self.settings.jobs, address=address, cpus=self.settings.ray_cpus)
            slots = int(getattr(self._executor, "slots", 1))
            self._remote_settings = self.grader_settings(workers=slots)
            reporter = self.config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None:
                where = f"the cluster at {address}" if address else "a local cluster"
                reporter.write_line(f"proofswe: grading on Ray, {where} of {slots} CPUs")
        return self._executor, self._remote_settings

    def _grade_remotely(self, request: GradeRequest) -> Future[GradeResult]:
        """Served from the result cache here, else graded on a Ray node and stored on return."""
        from .executors import WorkerLost
        from .remote import error_result, grade_on_node

        key, hit = self._stored(request)
        outer: Future[GradeResult] = Future()
        if hit is not None:
            outer.set_result(hit)
            return outer
        executor, settings = self._remote_executor()

        def arrived(inner: Future[GradeResult]) -> None:
            if inner.cancelled():  # -x: it had not started
                outer.cancel()
                return
            lost = getattr(inner, "lost", ())
            if lost:
                self.retried.append((request.task.id, request.submission.name, lost))
            exc = inner.exception()
            if isinstance(exc, WorkerLost):  # lost on every attempt: an error result, nothing silent
                result = error_result(request, str(exc))
            elif exc is not None:
                outer.set_exception(exc)
                return
            else:
                result = inner.result()
            self._store(key, result)
            outer.set_result(result)

        executor.submit(grade_on_node, request, settings).add_done_callback(arrived)
        return outer

    def submit(self, request: GradeRequest) -> Future[GradeResult]:
        """The future of ``request``'s result: dispatched to the run's executor once per submission."""
        from .executors import InlineExecutor

        key = (request.task.id, request.submission.name)
        with self._lock:
            future = self._futures.get(key)
            if future is not None:
                return future
            if self._remote:
                future = self._grade_remotely(request)
            else:
                future = (self._executor or InlineExecutor()).submit(self._grade, request)
            self._futures[key] = future
        return future

    def submit_stepped(self, task: Task, submission: Submission) -> Future[SteppedResult]:
        """Every step of a stepped task's submission, graded once (the steps follow one another)."""
        from .executors import InlineExecutor
        from .modes.steps import grade_stepped

        key = (task.id, submission.name)
        with self._lock:
            future = self._stepped.get(key)
            if future is None:
                # Never on Ray: the steps share one workspace and cache, graded in this process.
                executor = self._executor if not self._remote else None
                future = (executor or InlineExecutor()).submit(grade_stepped, task, submission, self.grader)
                self._stepped[key] = future
        return future

    # -- hooks ---------------------------------------------------------------------------
    @pytest.hookimpl
    def pytest_collect_directory(self, path: Path, parent: pytest.Collector) -> pytest.Collector | None:
        calibrate = self.settings.calibrate
        if calibrate is not None and path.resolve() == calibrate.resolve():
            return CalibrationDirectory.from_parent(parent, path=path)
        if is_task_dir(path) and calibrate is None and self.settings.tasks:
            return TaskDirectory.from_parent(parent, path=path)
        return None

    @pytest.hookimpl
    def pytest_ignore_collect(self, collection_path: Path, config: pytest.Config) -> bool | None:
        # --proofswe-diff-only: nothing of the repository is collected (its tests may not
        # even import in a lint-only job); the diff items are added after collection.
        # --proofswe-history grades commits, not the working copy: its tests are not collected either.
        only_ours = self.settings.diff_only or (self.settings.history is not None and not self.settings.tasks)
        return True if only_ours else None

    @pytest.hookimpl
    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed and not _is_worker(self.config):
            self.collect_errors.append(f"{report.nodeid or '.'}: {_last_line(report.longreprtext)}")

    @pytest.hookimpl
    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        if any(isinstance(i, DiffItem) for i in items):
            self.diff_deselected = True

    @pytest.hookimpl
    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        # pytest's own stops (errors during collection, -x) are Interrupted, a KeyboardInterrupt.
        if not isinstance(excinfo.value, pytest.Session.Interrupted):
            self.keyboard_interrupt = True

    @pytest.hookimpl(wrapper=True)
    def pytest_collection(self, session: pytest.Session) -> Iterator[None]:
        """Task folders are collected with the cyclic garbage collector off, and what collection
        made is then frozen (docs/performance.md): nearly all of it (16,000 items for 2,000 tasks)
        lives to the end of the run, so automatic collections during collection only rescan it,
        and so would every later one, and pytest's own collections at exit."""
        if not self.settings.tasks or not gc.isenabled():
            return (yield)
        gc.disable()
        try:
            result = yield
            gc.freeze()
            self._gc_frozen = True
            self._collected = session
            return result
        finally:
            gc.enable()

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self._gc_frozen:
            # Back into the collector's care before the interpreter ends (objects left frozen
            # miss the last collections and are finalised late), and before an in-process run
            # of pytest (pytester) returns to its caller; last, after pytest's own collection
            # at unconfigure (unraisableexception), which then need not scan them.
            gc.unfreeze()
            self._gc_frozen = False
        if self._collected is not None:
            # The session is over: its items (16,000 for 2,000 tasks) are let go now, not kept to
            # the interpreter's end, whose last collections would walk them pass after pass
            # (docs/performance.md). A new list: whoever recorded the old one (pytester) keeps it.
            self._collected.items = []
            self._collected = None

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        if self.settings.calibrate is not None:
            # Calibration reviews the labelled examples and nothing else.
            items[:] = [i for i in items if isinstance(i, CalibrationItem)]
        if self.settings.replay is not None:
            from .modes.replay import load_report

            # Only the results the report holds are graded again (workers read the report too).
            wanted = set(load_report(self.settings.replay))
            keep: list[pytest.Item] = []
            drop: list[pytest.Item] = []
            for item in items:
                parent = getattr(item, "parent", None)
                key = (parent.task.id, parent.submission.name) if isinstance(parent, SubmissionNode) else None
                (keep if key is None or key in wanted else drop).append(item)
            if drop:
                config.hook.pytest_deselected(items=drop)
                items[:] = keep
        if self.settings.diff_base is not None:
            from .errors import UsageError
            from .modes.diffmode import collect_change

            started = time.monotonic()
            try:
                self.change = collect_change(Path(config.rootpath), self.settings.diff_base, outputs=self._outputs())
            except UsageError as exc:
                raise pytest.UsageError(str(exc)) from None
            self.change_s = time.monotonic() - started
            node = DiffCollector.from_parent(session, name="diff", nodeid="diff")
            items.extend(node.collect())
        if self.settings.history is not None:
            from .modes.historyitems import HistoryCollector

            self.history_run = self._history_run()
            items.extend(HistoryCollector.from_parent(session, name="history", nodeid="history").collect())

    def _history_run(self) -> Any:
        from .errors import UsageError
        from .modes.history import resolve_history
        from .modes.historyitems import HistoryRun

        assert self.settings.history is not None
        try:
            return HistoryRun(resolve_history(Path(self.config.rootpath), self.settings.history), self.settings)
        except UsageError as exc:
            raise pytest.UsageError(str(exc)) from None

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if not _is_worker(self.config) and not self.config.option.collectonly:
            self._print_estimate(session)
        jobs, ray = self.settings.jobs, self.settings.executor == "ray"
        grading = [i for i in session.items if isinstance(i, GradeItem)]
        if not grading or (jobs <= 1 and not ray) or _is_worker(self.config) or self.config.option.collectonly:
            return  # graded inline, each when its first item runs
        from .errors import UsageError
        from .executors import make_executor

        try:
            if ray:
                self._check_hooks_run_here()
                self._remote = True
            else:
                self._executor = make_executor("local", jobs=jobs)
            from . import durations

            # Longest tasks first (known from earlier runs); each item still waits for its own result.
            for item in durations.longest_first(
                grading, lambda i: durations.task_of(i.nodeid), durations.load(self.config)
            ):
                if self._remote and isinstance(item, _StepResult):
                    continue  # a stepped submission's steps follow one another: graded here, when its items run
                item.schedule()
        except UsageError as exc:  # Ray could not start or connect
            raise pytest.UsageError(str(exc)) from None

    def _check_hooks_run_here(self) -> None:
        """Hooks that run inside a grading need this pytest process: a Ray node has none."""
        hooks = self.config.hook
        found = [
            f"{name} ({_plugin_file(impl.plugin)})"
            for name in ("pytest_proofswe_taste_findings", "pytest_proofswe_taste_weights")
            for impl in getattr(hooks, name).get_hookimpls()
        ]
        if self._session_readers():
            found.append("pytest_proofswe_session_reader")
        if found:
            from .errors import UsageError

            raise UsageError(
                f"--proofswe-executor=ray: {', '.join(found)} run inside each grading, in the pytest process, and a "
                "Ray node has no pytest process (fix: grade with the local executor, -n or --proofswe-jobs)"
            )

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        report = yield
        if self.history_run is not None and call.when == "call" and self.history_doc is None:
            from .errors import ProofsweError
            from .modes.historyitems import HistoryItem

            if isinstance(item, HistoryItem):
                try:
                    self.history_doc = self.history_run.document()
                    report.proofswe_history = self.history_doc
                except ProofsweError:
                    pass  # the item's own failure says what went wrong
        if isinstance(item, DiffItem) and self._diff_result is not None and not item.reported:
            if call.when == "call" or (call.when == "setup" and report.outcome != "passed"):
                setattr(report, _RESULT_ATTR, self._diff_result)
                item.reported = True
            return report
        if isinstance(item, CalibrationItem) and call.when == "call" and item.outcome is not None:
            report.proofswe_calibration = item.outcome  # type: ignore[attr-defined]
            return report
        if isinstance(item, TaskErrorItem) and call.when == "setup":
            setattr(report, _RESULT_ATTR, item.error_result())
            return report
        result = getattr(item, "result", None)
        final_phase = call.when == "call" or (call.when == "setup" and report.outcome != "passed")
        if isinstance(item, GradeItem) and result is not None and final_phase and not item.reported:
            setattr(report, _RESULT_ATTR, result.to_json() | {"check": item.name} | item.extra_json())
            item.reported = True
        if isinstance(item, SteppedDecayItem) and item.stepped is not None and final_phase:
            report.proofswe_stepped = item.stepped.to_json(self.settings.max_decay)  # type: ignore[attr-defined]
        return report

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        calibration = getattr(report, "proofswe_calibration", None)
        if calibration and not _is_worker(self.config):
            self.calibration.append(calibration)
        history = getattr(report, "proofswe_history", None)
        if history and not _is_worker(self.config):
            self.history_doc = history
        stepped = getattr(report, "proofswe_stepped", None)
        if stepped and not _is_worker(self.config):
            self.stepped_docs[(stepped["task"], stepped["submission"])] = stepped
        data = getattr(report, _RESULT_ATTR, None)
        if not data or _is_worker(self.config):
            return
        key = (data["task"], data["submission"])
        if key in self.results:  # every check of a submission carries the same result
            return
        self._note_duration(report.nodeid, data.get("duration_s"))
        self.config.hook.pytest_proofswe_result(config=self.config, result=data)
        self.order.append(key)
        self.results[key] = data
        if data.get("workspace"):
            self.kept.append(data["workspace"])
        if self.settings.report is not None:
            self._partial_started = reportmod.append_partial(
                self.settings.report, data, fresh=not self._partial_started
            )

    def _note_duration(self, nodeid: str, seconds: Any) -> None:
        """The longest grading of each task folder, for the next run's order (:mod:`.durations`)."""
        from .durations import task_of

        task = task_of(nodeid)
        if task is not None and isinstance(seconds, (int, float)) and not isinstance(seconds, bool):
            self.durations[task] = max(float(seconds), self.durations.get(task, 0.0))

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if _is_worker(self.config):
            return
        if self.calibration:
            reportmod.calibration_summary(terminalreporter, self.calibration)
        if self.replay_old is not None:
            from .modes.replay import compare

            self.replay_outcome = compare(self.replay_old, [self.results[k] for k in self.order])
            reportmod.replay_summary(terminalreporter, self.replay_outcome)
        if self.history_doc is not None:
            from .modes.historyitems import history_summary

            history_summary(terminalreporter, self.history_doc)
            if not self.settings.tasks and self.settings.diff_base is None:
                return
        if self.settings.diff_base is not None:
            from .outputs.ci import print_github_annotations

            rows = [self.results[k] for k in self.order]
            reportmod.diff_summary(terminalreporter, rows)
            if rows:
                print_github_annotations(terminalreporter, rows[0], os.environ)
            self._compare_summary(terminalreporter)
            return
        rows = [self.results[k] for k in self.order]
        reportmod.terminal_summary(terminalreporter, rows, kept=self.kept, unmatched=self.unmatched_predictions())
        board = self.leaderboard()
        if board is not None and board.has_repeats:
            reportmod.agents_summary(terminalreporter, board.to_json())
        self._compare_summary(terminalreporter)
        if self.stepped_docs:
            from .modes.historyitems import stepped_summary

            stepped_summary(terminalreporter, list(self.stepped_docs.values()))
        self._sandbox_line(terminalreporter)
        if self.retried:
            from .executors import LOST_RETRIES

            for task, submission, lost in self.retried:
                times = f"{len(lost)} time{'s' if len(lost) != 1 else ''}"
                then = "given up: an error result" if len(lost) > LOST_RETRIES else "the grading was run again"
                terminalreporter.write_line(
                    f"proofswe: {task}::{submission}: its Ray worker was lost {times}, {then} ({lost[-1]})", yellow=True
                )

    def comparison(self) -> RunComparison | None:
        """This run against --proofswe-compare's old report (docs/compare.md#run-to-run), computed once."""
        if self.compare_old is None:
            return None
        if self._comparison is None:
            from .compare.runs import compare_runs

            self._comparison = compare_runs(self.compare_old, [self.results[k] for k in self.order])
        return self._comparison

    def _compare_summary(self, terminalreporter: Any) -> None:
        found = self.comparison()
        if found is None:
            return
        data = found.to_json()
        reportmod.compare_summary(terminalreporter, data)
        if self.settings.fail_on_regression and found.regressed:
            terminalreporter.write_line(reportmod.regression_line(data), red=True, bold=True)

    def leaderboard(self) -> Leaderboard | None:
        """The per-agent aggregates of a task run (docs/compare.md), computed once; None for other runs."""
        if not self.settings.tasks or self.settings.validate or self.settings.calibrate is not None:
            return None
        graded = [self.results[k] for k in self.order if k[1] is not None and "change" not in self.results[k]]
        if not graded:
            return None
        if self._leaderboard is None or self._leaderboard[0] != len(graded):
            from .compare import aggregate

            self._leaderboard = (len(graded), aggregate(graded))
        return self._leaderboard[1]

    def _sandbox_line(self, terminalreporter: Any) -> None:
        """Say where the hidden tests ran; loudly when auto found no working sandbox."""
        from .harness.sandbox import NoSandbox

        if self.sandbox is None or not self.order:
            return
        info = self.sandbox.describe()
        if isinstance(self.sandbox, NoSandbox):
            if self.settings.sandbox == "auto":
                terminalreporter.write_line(
                    f"proofswe: WARNING: the hidden tests ran UNSANDBOXED: {self.sandbox.reason}; "
                    "submission code could read this machine's secrets and files (see docs/security.md)",
                    red=True,
                    bold=True,
                )
            return
        terminalreporter.write_line(
            f"proofswe: sandbox {info['backend']} {info.get('version', '')} "
            f"(namespaces: {', '.join(info.get('namespaces', []))})"
        )

    def _print_estimate(self, session: pytest.Session) -> None:
        """Before the first reviewer call: how many calls, about how many tokens, what cost."""
        config = self.settings.review
        reviews = [i for i in session.items if isinstance(i, ReviewItem)]
        if config is None or not reviews:
            return
        from .review.estimate import estimate

        line = estimate(config, [(i.parent.task, i.parent.submission) for i in reviews])
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(line)

    def diff_result(self) -> dict[str, Any]:
        """The grade of the repository's own change, computed once."""
        with self._diff_lock:
            if self._diff_result is None:
                from .modes.diffmode import grade_change

                # Not self.grader: the task machinery (workspaces, environments) is not needed here.
                self._diff_result = grade_change(
                    self.change,
                    self.settings.taste,
                    self._make_reviewer(),
                    self.settings.rubric,
                    extensions=_HookExtensions(self.config),
                    rootdir=Path(self.config.rootpath),
                )
                # Reading the change with git happened at collection: it is part of the grading's cost.
                self._diff_result["timings"] = {
                    "change_s": round(self.change_s, 4),
                    "grade_s": self._diff_result["duration_s"],
                }
                self._diff_result["duration_s"] = round(self._diff_result["duration_s"] + self.change_s, 4)
            return self._diff_result

    def _outputs(self) -> list[Path]:
        """The files this run writes: never part of the change it grades."""
        named = [self.settings.report, self.settings.markdown, self.settings.html, self.settings.sarif]
        xml = getattr(self.config.option, "xmlpath", None)
        paths = [Path(p) for p in named if p is not None] + ([Path(xml)] if xml else [])
        return [p if p.is_absolute() else Path(self.config.invocation_params.dir) / p for p in paths]

    def _ensure_diff_result(self) -> None:
        """The change's grade, even when its item never ran (the tests failed to collect, -x, -n).

        It needs nothing from the repository's tests, so it is always reported: only a
        Ctrl-C or deselecting the diff items (-k) leaves it out.
        """
        if self.settings.diff_base is None or self.keyboard_interrupt or self.diff_deselected:
            return
        if self.config.option.collectonly:
            return
        if any(key[0] == "diff" for key in self.order):
            return
        if self.change is None:  # the controller of an xdist run collects nothing itself
            from .errors import UsageError
            from .modes.diffmode import collect_change

            started = time.monotonic()
            try:
                self.change = collect_change(
                    Path(self.config.rootpath), self.settings.diff_base, outputs=self._outputs()
                )
            except UsageError:
                return  # the same error stopped collection and was shown there
            self.change_s = time.monotonic() - started
        data = self.diff_result()
        key = (data["task"], data["submission"])
        self.order.append(key)
        self.results[key] = data

    def _ensure_history(self) -> None:
        """The range's grade for the report and the summary, even when no history item ran here (xdist, -x).

        Only a Ctrl-C or --co leaves it out, as for the change of --proofswe-diff.
        """
        if self.settings.history is None or self.history_doc is not None or self.keyboard_interrupt:
            return
        if self.config.option.collectonly:
            return
        from .errors import ProofsweError

        try:
            if self.history_run is None:  # the controller of an xdist run collects nothing itself
                self.history_run = self._history_run()
            self.history_doc = self.history_run.document()
        except (ProofsweError, pytest.UsageError):
            return  # said where it happened: collection, or the items' errors

    def _interruption(self, session: pytest.Session, exitstatus: int | pytest.ExitCode) -> str | None:
        """Why the run stopped before running every item, in one line (None when it did not)."""
        if self.keyboard_interrupt:
            return "interrupted by the user (Ctrl-C)"
        if self.collect_errors:
            count = len(self.collect_errors)
            return f"{count} error{'s' if count != 1 else ''} during collection: " + "; ".join(self.collect_errors[:5])
        stopped = session.shouldfail or session.shouldstop  # -x / --maxfail, or a plugin's stop
        if stopped or exitstatus == pytest.ExitCode.INTERRUPTED:
            return str(stopped or "interrupted")
        return None

    def unmatched_predictions(self) -> list[str]:
        if not self.predictions:
            return []
        return sorted(set(self.predictions) - self.matched_predictions)

    @pytest.hookimpl
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        if _is_worker(self.config):
            return
        if self.durations:
            from .durations import record

            record(self.config, self.durations)
        self._ensure_diff_result()
        self._ensure_history()
        rows = [self.results[k] for k in self.order]
        found = self.comparison()
        regressed = found is not None and bool(found.regressed) and self.settings.fail_on_regression
        if regressed and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED  # the line saying why is in the summary
        from .outputs.ci import decay_markdown, write_ci_outputs

        board = self.leaderboard()
        write_ci_outputs(
            rows,
            markdown_path=self.settings.markdown,
            sarif_path=self.settings.sarif,
            environ=os.environ,
            agents=board.to_json() if board is not None and board.has_repeats else {},
            decay=decay_markdown(self.history_doc, list(self.stepped_docs.values())),
        )
        if self.settings.report is None and self.settings.html is None:
            return
        document = reportmod.build_report(
            rows,
            interrupted=exitstatus == pytest.ExitCode.INTERRUPTED,
            validate=self.settings.validate,
            interruption=self._interruption(session, exitstatus),
        )
        if board is not None:
            document.update(board.to_json())  # agents, comparisons, aggregation
        if found is not None:
            document["compare"] = found.to_json()
        if self.calibration:
            document["calibration"] = reportmod.calibration_document(self.calibration)
        if self.history_doc is not None:
            document["history"] = self.history_doc
        if self.stepped_docs:
            document["stepped"] = list(self.stepped_docs.values())
        if self.replay_old is not None:
            from .modes.replay import compare

            document["replay"] = compare(self.replay_old, rows)
        self.config.hook.pytest_proofswe_report(config=self.config, report=document)
        if self.settings.report is not None:
            reportmod.write_json_atomic(self.settings.report, document)
            reportmod.partial_path(self.settings.report).unlink(missing_ok=True)
        if self.settings.html is not None:
            from .outputs.html import render

            # Through JSON, as a reader of the report file sees it (a plugin's value becomes what json.dump makes of it).
            reportmod.write_text_atomic(self.settings.html, render(json.loads(json.dumps(document, default=str))))


def _plugin(node: pytest.Item | pytest.Collector) -> ProofsweSession:
    plugin = node.config.pluginmanager.get_plugin("proofswe-session")
    assert isinstance(plugin, ProofsweSession)
    return plugin


class TaskDirectory(pytest.Directory):
    """A folder holding task.toml: collects one node per submission."""

    def collect(self) -> Iterator[pytest.Item | pytest.Collector]:
        plugin = _plugin(self)
        try:
            task = load_task(self.path)
        except TaskError as exc:
            yield TaskErrorItem.from_parent(self, name="task", error=exc)
            return
        if plugin.settings.validate and task.steps:
            yield _stepped_gold(self, task)
            return
        if plugin.settings.validate:
            gold = (
                Submission(name="gold", origin="gold", patch_path=task.gold_diff)
                if task.gold_diff
                else Submission(
                    name="gold",
                    origin="gold",
                    problem=f"{task.root}: no gold.diff to validate the task with "
                    "(fix: add the reference solution as gold.diff)",
                )
            )
            empty = Submission(name="empty", origin="empty", patch_text="")
            for sub, expect in ((gold, "resolved"), (empty, "failing")):
                node = SubmissionNode.from_parent(self, name=sub.name, task=task, submission=sub)
                node.validate_expect = expect
                yield node
            return
        submissions = find_submissions(task)
        if plugin.predictions is not None and task.id in plugin.predictions:
            plugin.matched_predictions.add(task.id)
            taken = {s.name for s in submissions}
            for sub in plugin.predictions[task.id]:
                if sub.name in taken:
                    sub = Submission(
                        name=sub.name,
                        origin="predictions",
                        problem=f"{sub.meta.get('source')}: prediction {sub.name!r} for {task.id} "
                        "has the name of a submission in the task folder (fix: rename one)",
                    )
                taken.add(sub.name)
                submissions.append(sub)
        for sub in submissions:
            yield SubmissionNode.from_parent(self, name=sub.name, task=task, submission=sub)


class SubmissionNode(pytest.Collector):
    """One submission of one task: the parent of its checks (``behaviour`` for now)."""

    validate_expect: str | None = None

    def __init__(self, *, task: Task, submission: Submission, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.task = task
        self.submission = submission
        # Under pytest-xdist, xdist_scheduling.py sends a submission's items to one worker.

    def collect(self) -> Iterator[pytest.Item | pytest.Collector]:
        if self.task.steps and self.submission.problem is None:
            for index, step in enumerate(self.task.steps):
                yield StepNode.from_parent(
                    self,
                    name=step.id,
                    task=self.task,
                    submission=self.submission,
                    index=index,
                    validate=bool(self.validate_expect),
                )
            if not self.validate_expect:
                yield SteppedDecayItem.from_parent(self, name="decay")
        elif self.validate_expect is not None:
            yield ValidateItem.from_parent(self, name="validate", expect=self.validate_expect)
        else:
            yield BehaviourItem.from_parent(self, name="behaviour")
            yield TasteItem.from_parent(self, name="taste")
            yield ReviewItem.from_parent(self, name="review")
            yield SessionItem.from_parent(self, name="session")


class GradeItem(pytest.Item):
    """Common part of the items that wait for a grading result."""

    parent: SubmissionNode
    result: GradeResult | None = None
    reported: bool = False

    @property
    def request(self) -> GradeRequest:
        from .grading import GradeRequest

        return GradeRequest(
            self.parent.task, self.parent.submission, allow_empty=self.parent.submission.origin == "empty"
        )

    def schedule(self) -> Any:
        """Start the grading this item waits for (``--proofswe-jobs``); the future of its result."""
        return _plugin(self).submit(self.request)

    def fetch_result(self) -> GradeResult:
        future: Future[GradeResult] = self.schedule()
        return future.result()

    def extra_json(self) -> dict[str, Any]:
        """What this item's row of the report has beside the grading result."""
        return {}

    def setup(self) -> None:
        self.result = self.fetch_result()

    def behaviour_properties(self) -> None:
        assert self.result is not None
        result = self.result
        b = result.behaviour
        props = [
            ("proofswe_task", result.task),
            ("proofswe_submission", result.submission),
            ("proofswe_status", b.status),
            ("proofswe_fail_to_pass", f"{len(b.fail_to_pass.passed)}/{b.fail_to_pass.total}"),
            ("proofswe_pass_to_pass", f"{len(b.pass_to_pass.passed)}/{b.pass_to_pass.total}"),
            ("proofswe_duration_s", f"{result.duration_s:.2f}"),
        ]
        self.user_properties.extend(props)

    def raise_if_broken(self) -> None:
        """The task or the harness is broken, not the agent: a pytest error, not a failure."""
        assert self.result is not None
        result, b = self.result, self.result.behaviour
        if b.status == "error":
            # The task or the harness is broken, not the agent: a pytest error, not a failure.
            raise BehaviourFailure(f"{result.task}::{result.submission}: error: {b.reason}")
        if result.workspace:
            self.config.get_terminal_writer()  # ensure the terminal exists for -s runs
            self.add_report_section("setup", "workspace", f"kept at {result.workspace}")

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.parent.task.toml_path, 0, f"{self.parent.task.id}::{self.parent.submission.name}::{self.name}"

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:  # type: ignore[override]
        if isinstance(excinfo.value, BehaviourFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)  # type: ignore[return-value]

    def _repr_failure_py(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        # pytest renders errors raised in setup with this method, not repr_failure: our
        # own errors are a sentence, never a traceback into the plugin.
        if isinstance(excinfo.value, BehaviourFailure):
            return str(excinfo.value)
        return super()._repr_failure_py(excinfo, style=style)


class _VerdictItem(GradeItem):
    """An item judged on the behaviour verdict: an error status makes it a pytest error."""

    def setup(self) -> None:
        super().setup()
        self.behaviour_properties()
        self.raise_if_broken()


class BehaviourItem(_VerdictItem):
    """Passes when the submission resolves the task (every F2P and P2P test passes)."""

    def runtest(self) -> None:
        assert self.result is not None
        b = self.result.behaviour
        if b.status == "resolved":
            return
        head = f"{self.result.task}::{self.result.submission}: {b.status}"
        if b.status in ("partial", "unresolved") and b.oracle == "tests":
            head += (
                f" (FAIL_TO_PASS {len(b.fail_to_pass.passed)}/{b.fail_to_pass.total}, "
                f"PASS_TO_PASS {len(b.pass_to_pass.passed)}/{b.pass_to_pass.total})"
            )
        text = f"{head}\n{b.reason}".rstrip()
        if b.neutralised:
            text += "\nneutralised before the run (put back to the base state):"
            for n in b.neutralised:
                text += f"\n  {n['path']}: {n['reason']} ({n['action']})"
        raise BehaviourFailure(text)


class ValidateItem(_VerdictItem):
    """--proofswe-validate: gold must resolve; the empty patch must fail every F2P test."""

    def __init__(self, *, expect: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.expect = expect

    def runtest(self) -> None:
        assert self.result is not None
        b = self.result.behaviour
        task = self.result.task
        if self.expect == "resolved" and b.status != "resolved":
            hint = (
                "\n(fix: when the task's own test configuration stops plain test_* functions in a test_*.py "
                "file, set [tests] canaries = false in task.toml; docs/verdicts.md#canary-tests-and-tampered)"
                if b.status == "tampered"
                else ""
            )
            raise BehaviourFailure(f"{task}: the gold patch does not resolve the task ({b.status})\n{b.reason}{hint}")
        if self.expect == "failing":
            if b.status == "tampered":
                # The canaries did not get their outcomes on the base state: the task's test
                # setup (python_functions, an autouse fixture, -k in its command) stops them.
                raise BehaviourFailure(
                    f"{task}: the canary tests fail at the base state\n{b.reason}\n"
                    "(fix: when the task's own test configuration stops plain test_* functions in a test_*.py "
                    "file, set [tests] canaries = false in task.toml; docs/verdicts.md#canary-tests-and-tampered)"
                )
            if b.fail_to_pass.passed:
                listed = "\n".join(f"  {t}" for t in b.fail_to_pass.passed)
                raise BehaviourFailure(
                    f"{task}: FAIL_TO_PASS tests already pass at the base state "
                    f"(they cannot tell a fix from no fix):\n{listed}"
                )
            if b.pass_to_pass.failed:
                listed = "\n".join(f"  {t}: {b.pass_to_pass.reasons.get(t, '')}" for t in b.pass_to_pass.failed)
                raise BehaviourFailure(f"{task}: PASS_TO_PASS tests fail at the base state:\n{listed}")


def _stepped_gold(parent: TaskDirectory, task: Task) -> SubmissionNode:
    """--proofswe-validate of a stepped task: the steps' gold.diff, one after the other, must resolve each step."""
    missing = [s.id for s in task.steps if s.gold_diff is None]
    gold = Submission(
        name="gold",
        origin="gold",
        step_patches=tuple((s.id, s.gold_diff) for s in task.steps if s.gold_diff is not None),
        problem=(
            f"{task.root}: no gold.diff for step(s) {', '.join(missing)} "
            "(fix: add each step's reference solution as steps/<step id>/gold.diff)"
        )
        if missing
        else None,
    )
    node = SubmissionNode.from_parent(parent, name="gold", task=task, submission=gold)
    node.validate_expect = "resolved"
    return node


class StepNode(pytest.Collector):
    """One step of a stepped task's submission: its checks, graded on top of the previous steps."""

    def __init__(
        self, *, task: Task, submission: Submission, index: int, validate: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.stepped_task = task
        self.index = index
        self.step = task.steps[index]
        # What the items' names, report rows and the review estimate use: the step as a task of its
        # own (``<task>.<step>``, with the step's issue) and the submission as this step's patch.
        self.task = dataclasses.replace(task, id=f"{task.id}.{self.step.id}", issue_path=self.step.issue_path)
        self.stepped_submission = submission
        self.submission = dataclasses.replace(submission, patch_path=dict(submission.step_patches).get(self.step.id))
        self.validate = validate

    def collect(self) -> Iterator[pytest.Item]:
        if self.validate:
            yield StepValidateItem.from_parent(self, name="validate", expect="resolved")
            return
        yield StepBehaviourItem.from_parent(self, name="behaviour")
        yield StepTasteItem.from_parent(self, name="taste")
        yield StepReviewItem.from_parent(self, name="review")
        yield StepDecayItem.from_parent(self, name="decay")


class _StepResult:
    """For the items of a step: the result comes from the whole submission's stepped grading."""

    parent: StepNode
    config: pytest.Config

    def schedule(self) -> Any:
        return _plugin(self).submit_stepped(self.parent.stepped_task, self.parent.stepped_submission)  # type: ignore[arg-type]

    def stepped(self) -> SteppedResult:
        future: Future[SteppedResult] = self.schedule()
        return future.result()

    def fetch_result(self) -> GradeResult:
        return self.stepped().results[self.parent.index]

    def extra_json(self) -> dict[str, Any]:
        return self.stepped().step_json(self.parent.index)


class StepBehaviourItem(_StepResult, BehaviourItem):  # type: ignore[misc]
    """A step's hidden tests, on top of the submission's previous steps."""


class StepValidateItem(_StepResult, ValidateItem):  # type: ignore[misc]
    """--proofswe-validate: the step's gold patch, on top of the previous steps' gold patches, resolves the step."""


class StepDecayItem(_StepResult, GradeItem):  # type: ignore[misc]
    """A step's decay points; fails when the submission's decay passes max_decay and this step did most of it."""

    def setup(self) -> None:
        self.result = self.fetch_result()

    def runtest(self) -> None:
        stepped = self.stepped()
        index = self.parent.index
        if stepped.trend is None or index >= len(stepped.trend.steps):
            pytest.skip("this step's patch, or an earlier one, did not apply: no state to measure")
        step = stepped.trend.steps[index]
        self.user_properties += [("proofswe_decay_points", f"{step.total:g}")]
        gate = stepped.gate(_plugin(self).settings.max_decay)
        if gate is not None and any(c.index == step.index for c in gate.culprits):
            raise BehaviourFailure(
                f"{stepped.task}::{stepped.submission}::{step.info.id}: {step.total:+g} decay points ({step.explain()}); "
                f"one of the steps that took the submission past max_decay={gate.max_decay:g} ({gate.decay:g} points)"
            )


class SteppedDecayItem(pytest.Item):
    """A stepped task's submission: the decay over its steps, against --proofswe-max-decay."""

    parent: SubmissionNode
    stepped: SteppedResult | None = None

    def setup(self) -> None:
        future = _plugin(self).submit_stepped(self.parent.task, self.parent.submission)
        self.stepped = future.result()

    def runtest(self) -> None:
        assert self.stepped is not None
        trend = self.stepped.trend
        if trend is None:
            pytest.skip("the first step's patch did not apply: nothing to measure")
        self.user_properties += [("proofswe_decay", f"{trend.decay:g}")]
        gate = self.stepped.gate(_plugin(self).settings.max_decay)
        if gate is not None and not gate.passed:
            raise BehaviourFailure(f"{self.stepped.task}::{self.stepped.submission}: {gate.message()}")

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.parent.task.toml_path, 0, f"{self.parent.task.id}::{self.parent.submission.name}::decay"

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:  # type: ignore[override]
        if isinstance(excinfo.value, BehaviourFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))


class TasteItem(GradeItem):
    """Passes when the static grade of the diff is within the thresholds (skips if it did not apply)."""

    def setup(self) -> None:
        super().setup()
        assert self.result is not None
        taste = self.result.taste
        if taste is None:
            b = self.result.behaviour
            why = "the patch did not apply" if b.status == "patch_failed" else f"no taste grade ({b.status})"
            # Reported at the item, not at this line (as pytest does for skip marks).
            raise pytest.skip.Exception(why, _use_item_location=True)
        self.user_properties.extend(
            [
                ("proofswe_taste_score", f"{taste.score:g}"),
                ("proofswe_taste_passed", str(taste.passed).lower()),
                ("proofswe_taste_findings", str(len(taste.findings))),
            ]
        )

    def runtest(self) -> None:
        assert self.result is not None and self.result.taste is not None
        taste = self.result.taste
        if taste.passed:
            return
        lines = [f"{self.result.task}::{self.result.submission}: taste {taste.score:g}/100"]
        lines += [f"  gate: {g}" for g in taste.gate_failures]
        lines += [f"  {f.render()}" for f in taste.findings if f.penalty != 0]
        raise BehaviourFailure("\n".join(lines))


class ReviewItem(GradeItem):
    """Passes when the rubric review's score reaches the rubric's pass threshold."""

    def setup(self) -> None:
        super().setup()
        assert self.result is not None
        review = self.result.review
        if review is None:
            b = self.result.behaviour
            why = "the patch did not apply" if b.status == "patch_failed" else f"no review ({b.status})"
            raise pytest.skip.Exception(why, _use_item_location=True)
        self.user_properties.extend(
            [
                ("proofswe_review_status", review.status),
                ("proofswe_review_score", "" if review.score is None else f"{review.score:g}"),
                ("proofswe_review_cost_usd", "" if review.cost_usd is None else f"{review.cost_usd:.6f}"),
            ]
        )
        if review.status == "skipped":
            raise pytest.skip.Exception(review.reason, _use_item_location=True)
        if review.status in ("error", "unscored"):
            # The reviewer could not give a grade: not the agent's failure, and never a silent pass.
            text = f"{self.result.task}::{self.result.submission}: review {review.status}: {review.reason}"
            if review.raw:
                text += "\n--- the reply ---\n" + review.raw[0][:2000]
            raise BehaviourFailure(text)

    def runtest(self) -> None:
        assert self.result is not None and self.result.review is not None
        review = self.result.review
        settings = _plugin(self).settings
        fail_unstable = settings.review is not None and settings.review.fail_unstable
        if review.status == "unstable":
            warnings.warn(
                pytest.PytestWarning(f"{self.result.task}::{self.result.submission}: review unstable: {review.reason}"),
                stacklevel=1,
            )
        if review.passed and not (review.status == "unstable" and fail_unstable):
            return
        threshold = review.rubric.get("pass_threshold")
        lines = [
            f"{self.result.task}::{self.result.submission}: review {review.score:.2f}/5 "
            f"(rubric {review.rubric.get('name')}, pass threshold {threshold:g}, {review.model})"
            if review.score is not None
            else f"{self.result.task}::{self.result.submission}: review"
        ]
        if review.status == "unstable":
            lines.append(f"  unstable: {review.reason}")
        elif review.reason:
            lines.append(f"  {review.reason}")
        for crit in review.criteria:
            lines.append(f"  {crit['id']}: {crit['score']:g} (samples {crit['samples']}) {crit['rationale']}")
            for ev in crit["evidence"][:3]:
                mark = "" if ev["verified"] else " [not in the diff]"
                lines.append(f"      {ev['path']}:{ev['line']} {ev['quote'][:100]!r}{mark}")
        for item in review.checklist:
            lines.append(
                f"  checklist {item['id']}: {'met' if item['met'] else 'NOT met'} ({item['answer']}) {item['item']}"
            )
            if not item["met"] and item["rationale"]:
                lines.append(f"      {item['rationale']}")
        for finding in review.findings:
            where = f"{finding.path}:{finding.line}" if finding.line else (finding.path or "<review>")
            lines.append(f"  {where} {finding.rule} {finding.message}")
        raise BehaviourFailure("\n".join(lines))


class StepTasteItem(_StepResult, TasteItem):  # type: ignore[misc]
    """The taste of a step's patch, against the state it was made on."""


class StepReviewItem(_StepResult, ReviewItem):  # type: ignore[misc]
    """The review of a step's patch, with the step's issue."""


class DiffCollector(pytest.Collector):
    """--proofswe-diff: the repository's own change, as items diff::taste and diff::review."""

    def collect(self) -> list[pytest.Item]:  # type: ignore[override]
        items: list[pytest.Item] = [DiffItem.from_parent(self, name="taste")]
        if _plugin(self).settings.review is not None:
            items.append(DiffItem.from_parent(self, name="review"))
        return items


class DiffItem(pytest.Item):
    """The taste (or review) of the change since BASE."""

    reported: bool = False
    result: dict[str, Any]

    def setup(self) -> None:
        self.result = _plugin(self).diff_result()

    def runtest(self) -> None:
        if self.name == "taste":
            taste = self.result["taste"]
            self.user_properties.append(("proofswe_taste_score", f"{taste['score']:g}"))
            if taste["passed"]:
                return
            lines = [f"diff: taste {taste['score']:g}/100"]
            lines += [f"  gate: {g}" for g in taste["gate_failures"]]
            costly = [f for f in taste["findings"] if f["penalty"] > 0]
            if costly:  # listed once, in the summary: not here as well
                points = sum(float(f["penalty"]) for f in costly)
                lines.append(
                    f"  {len(costly)} finding(s) costing {points:g} points: listed under 'proofswe diff' below"
                )
            raise BehaviourFailure("\n".join(lines))
        review = self.result["review"]
        if review["status"] == "skipped":
            pytest.skip(review["reason"])
        if review["status"] in ("error", "unscored"):
            raise BehaviourFailure(f"diff: review {review['status']}: {review['reason']}")
        if review["status"] == "unstable":
            warnings.warn(pytest.PytestWarning(f"diff: review unstable: {review['reason']}"), stacklevel=1)
        if not review["passed"]:
            rubric = review["rubric"]
            lines = [
                f"diff: review {review['score']:.2f}/5 (rubric {rubric.get('name')}, "
                f"pass threshold {rubric.get('pass_threshold'):g})"
            ]
            if review["reason"]:
                lines.append(f"  {review['reason']}")
            lines += [f"  {c['id']}: {c['score']:g} {c['rationale']}" for c in review["criteria"]]
            for f in review["findings"]:
                where = f"{f['path']}:{f['line']}" if f["line"] else (f["path"] or "<review>")
                lines.append(f"  {where} {f['rule']} {f['message']}")
            raise BehaviourFailure("\n".join(lines))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return Path(self.config.rootpath), 0, f"diff::{self.name}"

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:  # type: ignore[override]
        if isinstance(excinfo.value, BehaviourFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))


class CalibrationDirectory(pytest.Directory):
    """--proofswe-calibrate DIR: one item per labelled example."""

    def collect(self) -> Iterator[pytest.Item]:
        from .review.calibration import find_examples
        from .review.rubric import load_rubric

        rubric = load_rubric(_plugin(self).settings.rubric)
        for number, example in enumerate(find_examples(self.path, rubric)):
            if isinstance(example, str):
                yield TaskErrorItem.from_parent(self, name=f"bad-example-{number}", error=TaskError(self.path, example))
            else:
                yield CalibrationItem.from_parent(self, name=example.name, example=example, rubric=rubric)


class CalibrationItem(pytest.Item):
    """Reviews one labelled example; passes when the review is scored."""

    def __init__(self, *, example: Any, rubric: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.example = example
        self.rubric = rubric
        self.outcome: dict[str, Any] | None = None

    def runtest(self) -> None:
        from .harness.patch import PatchRejected, parse_patch

        reviewer = _plugin(self).grader.reviewer
        if reviewer is None:
            pytest.skip("calibration needs a reviewer model: set --proofswe-model")
        try:
            files = parse_patch(self.example.patch).files
        except PatchRejected as exc:
            raise BehaviourFailure(f"{self.example.folder}/patch.diff: {exc.describe()}") from None
        review = reviewer.review(self.rubric, self.example.issue, files)
        scores = {c["id"]: c["score"] for c in review.criteria}
        self.outcome = {
            "example": self.example.name,
            "status": review.status,
            "labels": self.example.labels,
            "scores": scores,
            "rubric": self.rubric.name,
            "model": review.model,
        }
        if review.status in ("error", "unscored"):
            raise BehaviourFailure(f"{self.example.name}: review {review.status}: {review.reason}")

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.example.folder / "labels.toml", 0, f"calibrate::{self.example.name}"

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:  # type: ignore[override]
        if isinstance(excinfo.value, BehaviourFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))


class SessionItem(GradeItem):
    """Passes when the session's metrics are within the thresholds (skips without a transcript)."""

    def setup(self) -> None:
        super().setup()
        assert self.result is not None
        session = self.result.session
        if session is None:
            raise pytest.skip.Exception("the submission has no session trace", _use_item_location=True)
        if session.status == "error":
            raise BehaviourFailure(f"{self.result.task}::{self.result.submission}: session error: {session.reason}")
        m = session.metrics
        self.user_properties.extend(
            [
                ("proofswe_session_format", str(m.get("format"))),
                ("proofswe_session_passed", str(session.passed).lower()),
                ("proofswe_session_cost_usd", "" if m.get("cost_usd") is None else str(m.get("cost_usd"))),
            ]
        )

    def runtest(self) -> None:
        assert self.result is not None and self.result.session is not None
        session = self.result.session
        if session.passed:
            return
        lines = [
            f"{self.result.task}::{self.result.submission}: session ({session.metrics.get('format')}, {session.path})"
        ]
        for failure in session.failures:
            metric = failure.split(" ", 1)[0]
            lines.append(f"  {failure}")
            for signal in [s for s in session.signals if s.metric == metric][:10]:
                lines.append(f"      {signal.where}: {signal.text}")
        raise BehaviourFailure("\n".join(lines))


class _HookExtensions:
    """The pytest_proofswe_taste_* hooks, as the grading pipeline's TasteExtensions."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def adjust_weights(self, task: str, weights: dict[str, float]) -> None:
        self.config.hook.pytest_proofswe_taste_weights(config=self.config, task=task, weights=weights)

    def extra_findings(self, context: Any) -> list[Any]:
        from .taste import Finding

        found: list[Finding] = []
        for returned in self.config.hook.pytest_proofswe_taste_findings(config=self.config, context=context):
            for item in returned or []:
                if isinstance(item, Finding):
                    found.append(item)
                elif isinstance(item, dict):
                    found.append(Finding(**item))
                else:
                    raise TypeError(
                        f"pytest_proofswe_taste_findings returned {item!r}; "
                        "return pytest_proofswe.taste.Finding objects"
                    )
        return found


class TaskErrorItem(pytest.Item):
    """Stands for a task whose task.toml is invalid: an error, while the others run."""

    def __init__(self, *, error: TaskError, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.error = error

    def setup(self) -> None:
        raise self.error

    def runtest(self) -> None:  # pragma: no cover - setup always raises
        raise self.error

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path / "task.toml", None, f"{self.path.name}: invalid task"

    def error_result(self) -> dict[str, Any]:
        return {
            "task": self.path.name,
            "submission": None,
            "check": "task",
            "behaviour": {"status": "error", "reason": str(self.error)},
        }

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:  # type: ignore[override]
        return str(excinfo.value)

    def _repr_failure_py(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        return str(excinfo.value)


def _last_line(text: str) -> str:
    """The line of a collection error that says what went wrong (``E   ModuleNotFoundError: ...``)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("E ")]
    chosen = (errors or lines or ["(no message)"])[-1]
    return chosen.removeprefix("E").strip()[:300]


def sanitise_name(name: str) -> str:
    return _NAME_SAFE.sub("_", name).strip("_") or "_"


__all__ = [
    "BehaviourItem",
    "CalibrationItem",
    "DiffItem",
    "ProofsweSession",
    "ReviewItem",
    "SessionItem",
    "TaskDirectory",
    "TaskErrorItem",
    "TasteItem",
    "ValidateItem",
    "sanitise_name",
]


def _grader_folders(config: pytest.Config, settings: Settings) -> list[Path]:
    """The run's folders a sandboxed command must not see: home, working folder, cache, outputs."""
    folders = [Path.home(), Path(config.invocation_params.dir), Path(config.rootpath), settings.cache_dir]
    for output in (settings.report, settings.markdown, settings.html, settings.sarif):
        if output is not None:
            folders.append(Path(config.invocation_params.dir, output).parent)
    if settings.workspace_dir is not None:
        folders.append(settings.workspace_dir)
    return [f.expanduser() for f in folders]
