"""End to end: real pytest sessions (pytester, in subprocesses) over the example tasks."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, run_grader, write_task

pytestmark = pytest.mark.slow

# What every example submission must get: the contract of fixtures/README.md.
EXPECTED = {
    ("inventory-restock", "minimal"): "resolved",
    ("inventory-restock", "partial"): "partial",
    ("inventory-restock", "wrong"): "unresolved",
    ("inventory-restock", "stale"): "patch_failed",
    ("inventory-restock", "escape"): "patch_failed",
    ("inventory-restock", "conftest-hack"): "unresolved",
    ("inventory-restock", "bloated"): "resolved",
    ("inventory-restock", "overengineered"): "resolved",
    ("inventory-restock", "smelly"): "resolved",
    ("slugify-git", "minimal"): "resolved",
    ("slugify-git", "wrong"): "unresolved",
    ("slugify-git", "garbage"): "patch_failed",
    ("slugify-git", "future-peek"): "unresolved",
    ("slugify-git", "pytest-ini-hack"): "unresolved",
    ("units-convert", "minimal"): "resolved",
    ("units-convert", "hang"): "timeout",
    ("units-convert", "shadow-pytest"): "unresolved",
    ("units-convert", "sitecustomize"): "unresolved",
    ("units-convert", "stdout-forge"): "unresolved",
    ("netrc-leak", "minimal"): "resolved",
    ("netrc-leak", "one-line"): "resolved",
    ("netrc-leak", "wrong"): "unresolved",
}
TASKS = {task for task, _ in EXPECTED}
# The stepped example (fixtures/stepped/, docs/task-format.md#stepped-tasks): a row per step, every step resolved.
STEPPED = {
    (f"pricing-steps.{step}", submission): "resolved"
    for step in ("1-discount", "2-tax", "3-coupons")
    for submission in ("tidy", "bloat")
}


@pytest.fixture
def tasks(pytester: pytest.Pytester) -> Path:
    """A copy of fixtures/ in the pytester folder (relative git paths still resolve)."""
    shutil.copytree(FIXTURES, pytester.path / "fixtures", ignore=shutil.ignore_patterns("__pycache__"))
    return pytester.path / "fixtures" / "tasks"


def results(path: Path) -> dict[tuple[str, str], dict]:  # type: ignore[type-arg]
    data = json.loads(path.read_text())
    assert data["schema"] == "proofswe-report/1"
    return {(r["task"], r["submission"]): r for r in data["results"]}


@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> tuple[int, str, dict]:  # type: ignore[type-arg]
    """The README's main command, run once for the module: every example task."""
    work = tmp_path_factory.mktemp("full-run")
    shutil.copytree(FIXTURES, work / "fixtures", ignore=shutil.ignore_patterns("__pycache__"))
    run = run_grader(work, cache_dir, "--proofswe", "fixtures/", "--junitxml=junit.xml", timeout=1200)
    return run.returncode, run.output, results(run.report_path) | {"_junit": (work / "junit.xml").read_text()}


def test_every_example_gets_its_expected_status(full_run) -> None:  # type: ignore[no-untyped-def]
    code, output, got = full_run
    statuses = {k: v["behaviour"]["status"] for k, v in got.items() if k != "_junit"}
    # fixtures/hostile is collected too: its own tests (tests/e2e/test_hostile_*.py) check each status.
    assert {k: v for k, v in statuses.items() if k in EXPECTED} == EXPECTED, output[-3000:]
    # fixtures/trials too: tests/e2e/test_trials.py checks its agents' trials.
    trials = {p.name for p in (FIXTURES / "trials").iterdir() if p.is_dir()}
    assert {k[0] for k in statuses} >= trials
    assert {k: v for k, v in statuses.items() if k in STEPPED} == STEPPED, output[-3000:]
    hostile = {k: v for k, v in statuses.items() if k not in EXPECTED and k not in STEPPED and k[0] not in trials}
    assert all(v != "resolved" or k[1] == "fix" for k, v in hostile.items()), hostile
    assert code == 1  # some submissions fail


def test_terminal_summary_and_failure_texts(full_run) -> None:  # type: ignore[no-untyped-def]
    _code, output, _got = full_run
    # Columns are as wide as the longest task and submission names (fixtures/hostile/ included).
    assert re.search(r"^task +submission +status +F2P  P2P  taste  review  seconds", output, flags=re.M)
    assert re.search(r"^inventory-restock +partial +partial +1/2  2/2  100", output, flags=re.M)
    assert re.search(r"^inventory-restock +smelly +resolved +2/2  2/2  4\.1!", output, flags=re.M)
    # The failure text says which file and which hunk did not apply ...
    assert "inventory/restock.py, hunk #1 (@@ -30,8 +30,8 @@): the hunk does not match the base state" in output
    # ... which tests failed, with the first lines of each failure ...
    assert "tests/test_restock.py::test_plan_uses_pending: failed: AssertionError" in output
    # ... and what the guard put back.
    assert "conftest.py: conftest.py is loaded by the test runner (removed)" in output
    assert "pytest.ini: pytest.ini configures pytest (removed)" in output
    assert "pytest.py: a new module 'pytest' would shadow the installed one (removed)" in output
    assert "src/sitecustomize.py: sitecustomize.py is loaded by the test runner (removed)" in output


def test_report_carries_the_proof(full_run) -> None:  # type: ignore[no-untyped-def]
    _code, _output, got = full_run
    r = got[("units-convert", "minimal")]
    proof = r["proof"]
    assert len(proof["task_sha256"]) == 64 and len(proof["patch_sha256"]) == 64 and proof["hidden_tests_sha256"]
    assert proof["environment"]["setup"] == ["python -m pip install --quiet -e ."]
    assert proof["environment"]["packages"]["pytest"]
    test_cmd = proof["commands"][-1]
    # Exit code 1: the must-fail canary fails, after every hidden test (the last ids selected).
    assert test_cmd["exit_code"] == 1 and "<junit.xml>" in " ".join(test_cmd["argv"])
    # The canaries' file is selected last, after every hidden test file (SWE-bench's file order).
    assert test_cmd["argv"][-1] == proof["canary"]["must_fail"].split("::")[0] == proof["canary"]["path"]
    assert got[("slugify-git", "minimal")]["proof"]["base"].endswith("@ecaaf7493520e4dae5fe455d18f454b687833e44")
    stale = got[("inventory-restock", "stale")]["proof"]["commands"]
    tried = [" ".join(c["argv"]) for c in stale]
    assert "apply --whitespace=nowarn --binary <submission.diff>" in tried[0]
    assert "apply --3way" in tried[1] and tried[2].startswith("patch --batch")
    assert all(c["exit_code"] != 0 for c in stale)
    hang = got[("units-convert", "hang")]["behaviour"]
    assert "ran out of its 8 s" in hang["reason"]


def test_junit_user_properties(full_run) -> None:  # type: ignore[no-untyped-def]
    junit = full_run[2]["_junit"]
    assert '<property name="proofswe_status" value="partial"' in junit
    assert '<property name="proofswe_fail_to_pass" value="1/2"' in junit


def test_selection_k_collect_only_and_last_failed(pytester: pytest.Pytester, tasks: Path) -> None:
    co = pytester.runpytest_subprocess("--proofswe", str(tasks), "--co", "-q")
    assert "fixtures/tasks/inventory-restock::minimal::behaviour" in co.stdout.str()
    assert len([ln for ln in co.stdout.lines if ln.endswith("::behaviour")]) == len(EXPECTED)

    report = pytester.path / "k.json"
    run = pytester.runpytest_subprocess(
        "--proofswe", str(tasks), "-k", "inventory and (minimal or wrong)", f"--proofswe-report={report}"
    )
    # the four checks of each: wrong's behaviour fails, its taste passes; no model, no transcript: skipped
    run.assert_outcomes(passed=3, failed=1, skipped=4, deselected=4 * len(EXPECTED) - 8)
    assert set(results(report)) == {("inventory-restock", "minimal"), ("inventory-restock", "wrong")}

    lf = pytester.runpytest_subprocess(
        "--proofswe", str(tasks), "--lf", "-k", "inventory", f"--proofswe-report={report}"
    )
    lf.assert_outcomes(failed=1, deselected=4 * len(EXPECTED) - 1)
    assert set(results(report)) == {("inventory-restock", "wrong")}


def test_exitfirst_stops_grading(pytester: pytest.Pytester, tasks: Path) -> None:
    report = pytester.path / "x.json"
    run = pytester.runpytest_subprocess(
        "--proofswe", str(tasks / "inventory-restock"), "-x", f"--proofswe-report={report}"
    )
    # bloated is collected first: its behaviour passes, its taste fails, and the run stops.
    run.assert_outcomes(passed=1, failed=1)
    assert list(results(report)) == [("inventory-restock", "bloated")]


def test_xdist_puts_every_result_in_one_report(pytester: pytest.Pytester, tasks: Path) -> None:
    report = pytester.path / "n.json"
    run = pytester.runpytest_subprocess(
        "--proofswe",
        str(tasks / "inventory-restock"),
        str(tasks / "slugify-git"),
        "-n",
        "2",
        "-k",
        "behaviour",
        f"--proofswe-report={report}",
    )
    run.assert_outcomes(passed=5, failed=9)  # xdist does not count deselected items
    got = results(report)
    assert len(got) == 14
    assert got[("slugify-git", "minimal")]["behaviour"]["status"] == "resolved"
    assert "proofswe" in run.stdout.str()


def test_the_tasks_that_took_longest_are_handed_out_first(pytester: pytest.Pytester, tasks: Path) -> None:
    """A run records each task's longest grading in pytest's cache; the next one dispatches those first."""
    log = pytester.path / "dispatched.log"
    pytester.makeconftest(
        f"""
from pytest_proofswe import collect

_schedule = collect.GradeItem.schedule

def schedule(self):
    with open({str(log)!r}, "a") as f:
        f.write(self.nodeid.split("::")[0] + "\\n")
    return _schedule(self)

collect.GradeItem.schedule = schedule
"""
    )
    args = ["--proofswe", str(tasks), "-k", "minimal and (behaviour or taste)", "--proofswe-jobs", "2"]
    pytester.runpytest_subprocess(*args).assert_outcomes(passed=8)
    stored = json.loads((pytester.path / ".pytest_cache" / "v" / "proofswe" / "durations").read_text())
    folders = sorted({line for line in log.read_text().splitlines()})
    assert sorted(stored) == folders and all(seconds > 0 for seconds in stored.values())

    # The second run (grading again) hands the tasks out longest first, whatever the collection order.
    stored = {task: 10.0 * rank for rank, task in enumerate(folders, start=1)}  # the last collected is longest
    (pytester.path / ".pytest_cache" / "v" / "proofswe" / "durations").write_text(json.dumps(stored))
    log.unlink()
    pytester.runpytest_subprocess(*args, "--proofswe-no-cache").assert_outcomes(passed=8)
    dispatched = list(dict.fromkeys(log.read_text().splitlines()))  # first call of each task: the dispatch
    assert dispatched == folders[::-1]


def test_xdist_grades_each_submission_once_on_one_worker(pytester: pytest.Pytester, tasks: Path) -> None:
    """Every check of a submission runs on one worker: the taste hook, called once per grading, sees each once."""
    log = pytester.path / "graded.log"
    pytester.makeconftest(
        f"""
import os

def pytest_proofswe_taste_findings(config, context):
    with open({str(log)!r}, "a") as f:
        f.write(f"{{context.task}}::{{context.submission}} {{os.environ.get('PYTEST_XDIST_WORKER')}}\\n")
"""
    )
    report = pytester.path / "n.json"
    for dist in ("load", "loadgroup"):
        log.unlink(missing_ok=True)
        run = pytester.runpytest_subprocess(
            "--proofswe",
            str(tasks / "inventory-restock"),
            "-n",
            "2",
            f"--dist={dist}",
            "--proofswe-no-cache",  # the second round grades again, not from the first's stored results
            "-v",
            f"--proofswe-report={report}",
        )
        lines = log.read_text().splitlines()
        graded = [line.split()[0] for line in lines]
        assert sorted(graded) == sorted(set(graded)), (dist, lines)  # each submission graded once
        assert len(graded) >= 7 and {line.split()[1] for line in lines} == {"gw0", "gw1"}  # on both workers
        # Each submission's four items ran on the worker that graded it.
        worker_of = dict(line.split() for line in lines)
        for line in run.stdout.lines:
            if line.startswith("[gw") and "inventory-restock::" in line:
                node = line.split()[-1]
                submission = node.split("::")[0].rsplit("/", 1)[-1] + "::" + node.split("::")[1]
                if submission in worker_of:
                    assert line.startswith(f"[{worker_of[submission]}]"), (dist, line)


def test_jobs_grades_in_parallel_in_one_process(pytester: pytest.Pytester, tasks: Path) -> None:
    report = pytester.path / "j.json"
    run = pytester.runpytest_subprocess(
        "--proofswe",
        str(tasks / "inventory-restock"),
        "--proofswe-jobs=3",
        "-k",
        "behaviour",
        f"--proofswe-report={report}",
    )
    run.assert_outcomes(passed=4, failed=5, deselected=27)
    assert {k: v["behaviour"]["status"] for k, v in results(report).items()} == {
        k: v for k, v in EXPECTED.items() if k[0] == "inventory-restock"
    }


def test_invalid_task_is_an_error_item_and_the_others_still_run(pytester: pytest.Pytester, tasks: Path) -> None:
    bad = tasks / "zz-broken"
    bad.mkdir()
    (bad / "task.toml").write_text("[tests]\nfail_to_pas = ['x']\n")
    report = pytester.path / "e.json"
    run = pytester.runpytest_subprocess(
        "--proofswe",
        str(tasks / "inventory-restock"),
        str(bad),
        "-k",
        "behaviour or broken",
        f"--proofswe-report={report}",
    )
    run.assert_outcomes(passed=4, failed=5, errors=1, deselected=27)
    out = run.stdout.str()
    assert "unknown key 'tests.fail_to_pas'" in out and "did you mean 'tests.fail_to_pass'?" in out
    data = json.loads(report.read_text())
    errors = [r for r in data["results"] if r["behaviour"]["status"] == "error"]
    assert errors and errors[0]["task"] == "zz-broken"


def test_report_is_written_when_interrupted(pytester: pytest.Pytester, tasks: Path) -> None:
    pytester.makeconftest("""
        def pytest_runtest_teardown(item):
            if item.nodeid.endswith("escape::behaviour"):
                raise KeyboardInterrupt
    """)
    report = pytester.path / "i.json"
    run = pytester.runpytest_subprocess("--proofswe", str(tasks / "inventory-restock"), f"--proofswe-report={report}")
    assert run.ret == pytest.ExitCode.INTERRUPTED
    data = json.loads(report.read_text())
    assert data["interrupted"] is True
    assert [(r["task"], r["submission"]) for r in data["results"]] == [
        ("inventory-restock", "bloated"),
        ("inventory-restock", "conftest-hack"),
        ("inventory-restock", "escape"),
    ]


def test_validate_mode(pytester: pytest.Pytester, tasks: Path) -> None:
    report = pytester.path / "v.json"
    run = pytester.runpytest_subprocess(
        "--proofswe-validate",
        str(tasks / "inventory-restock"),
        str(tasks / "slugify-git"),
        f"--proofswe-report={report}",
        "-v",
    )
    run.assert_outcomes(passed=4)
    assert "inventory-restock::gold::validate PASSED" in run.stdout.str()
    # A task whose F2P test already passes at the base state, and whose gold patch is wrong:
    bad = tasks / "weak-task"
    shutil.copytree(tasks / "inventory-restock", bad)
    toml = (
        (bad / "task.toml")
        .read_text()
        .replace(
            '"tests/test_restock.py::test_pending_orders_counted",', '"tests/test_restock.py::test_nothing_needed",'
        )
    )
    (bad / "task.toml").write_text(toml)
    (bad / "gold.diff").write_text((bad / "submissions" / "wrong.diff").read_text())
    run = pytester.runpytest_subprocess("--proofswe-validate", str(bad))
    run.assert_outcomes(failed=2)
    out = run.stdout.str()
    assert "weak-task: FAIL_TO_PASS tests already pass at the base state" in out
    assert "weak-task: the gold patch does not resolve the task (partial)" in out


def test_validate_says_how_to_switch_canaries_off(pytester: pytest.Pytester) -> None:
    """A project whose python_functions stops plain test_* functions: validation names [tests] canaries."""
    from tests.integration.test_grading import CHECK_STYLE_FILES, CHECK_STYLE_TASK

    task = write_task(pytester.path / "checks", CHECK_STYLE_TASK.format(extra=""), CHECK_STYLE_FILES)
    (task / "gold.diff").write_text(CHECK_STYLE_FILES["submissions/fix.diff"])
    run = pytester.runpytest_subprocess("--proofswe-validate", str(task))
    # The canaries never ran: at the base state (its F2P test fails) that is not tampering, with gold it is.
    run.assert_outcomes(failed=1, passed=1)
    # Only the failure itself: the short summary repeats the message in full when the CI variable is set.
    out = run.stdout.str().split("short test summary info")[0]
    assert "checks: the gold patch does not resolve the task (tampered)" in out
    assert out.count("set [tests] canaries = false in task.toml") == 1
    toml = task / "task.toml"
    toml.write_text(CHECK_STYLE_TASK.format(extra="canaries = false"))
    pytester.runpytest_subprocess("--proofswe-validate", str(task)).assert_outcomes(passed=2)


def test_f2p_test_leaking_state_is_run_in_file_order(pytester: pytest.Pytester, tasks: Path) -> None:
    """netrc-leak's FAIL_TO_PASS test never restores what it patches: the gold patch still validates."""
    report = pytester.path / "v.json"
    run = pytester.runpytest_subprocess("--proofswe-validate", str(tasks / "netrc-leak"), f"--proofswe-report={report}")
    run.assert_outcomes(passed=2)
    gold = results(report)[("netrc-leak", "gold")]["behaviour"]
    assert gold["status"] == "resolved" and len(gold["pass_to_pass"]["passed"]) == 2, gold
    assert "test_proxy_credentials" not in str(gold)  # in the file, named by no list: its failure is not read


def test_predictions_file(pytester: pytest.Pytester, tasks: Path) -> None:
    minimal = (tasks / "inventory-restock" / "gold.diff").read_text()
    preds = pytester.path / "preds.jsonl"
    preds.write_text(
        "\n".join(
            json.dumps(p)
            for p in [
                {"instance_id": "inventory-restock", "model_name_or_path": "org/model-a", "model_patch": minimal},
                {"instance_id": "inventory-restock", "model_name_or_path": "model-b", "model_patch": ""},
                {"instance_id": "no-such-task", "model_name_or_path": "model-a", "model_patch": minimal},
            ]
        )
        + "\n"
    )
    report = pytester.path / "p.json"
    run = pytester.runpytest_subprocess(
        "--proofswe-predictions",
        str(preds),
        str(tasks / "inventory-restock"),
        "-k",
        "model",
        f"--proofswe-report={report}",
    )
    # model-a: behaviour and taste pass; model-b: nothing to apply, so taste is skipped
    run.assert_outcomes(passed=2, failed=1, skipped=5, deselected=36)  # and no model: reviews skipped
    got = results(report)
    assert got[("inventory-restock", "org__model-a")]["behaviour"]["status"] == "resolved"
    assert got[("inventory-restock", "model-b")]["behaviour"]["status"] == "patch_failed"
    assert "predictions for unknown tasks (no task folder with that id): no-such-task" in run.stdout.str()


def test_bad_predictions_file_is_a_usage_error(pytester: pytest.Pytester, tasks: Path) -> None:
    preds = pytester.path / "bad.jsonl"
    preds.write_text('{"instance_id": "x", "model_name_or_path": "m", "model_patch": ""}\nnot json\n')
    run = pytester.runpytest_subprocess("--proofswe-predictions", str(preds), str(tasks))
    assert run.ret == pytest.ExitCode.USAGE_ERROR
    assert "bad.jsonl:2: not a JSON object" in run.stderr.str()


def test_keep_workspaces(pytester: pytest.Pytester, tasks: Path) -> None:
    run = pytester.runpytest_subprocess(
        "--proofswe", str(tasks / "inventory-restock"), "-k", "minimal", "--proofswe-keep-workspaces"
    )
    line = next(ln for ln in run.stdout.lines if ln.startswith("workspace kept: "))
    kept = Path(line.split(": ", 1)[1])
    try:
        assert (kept / "inventory" / "restock.py").read_text().count("pending") > 3
    finally:
        shutil.rmtree(kept.parent)


def test_without_the_option_the_plugin_does_nothing_and_imports_nothing_heavy(pytester: pytest.Pytester) -> None:
    (pytester.path / "a-task").mkdir()
    shutil.copy(FIXTURES / "tasks" / "inventory-restock" / "task.toml", pytester.path / "a-task" / "task.toml")
    pytester.makepyfile(test_plain="def test_plain():\n    assert True\n")
    pytester.makeconftest("""
        import sys
        def pytest_sessionfinish(session):
            heavy = sorted(m for m in sys.modules if m.split(".")[0] in
                           ("litellm", "libcst", "radon", "unidiff", "ruff"))
            ours = sorted(m for m in sys.modules if m.startswith("pytest_proofswe"))
            registered = session.config.pluginmanager.get_plugin("proofswe-session") is not None
            open("modules.txt", "w").write(repr((heavy, ours, registered)))
    """)
    run = pytester.runpytest_subprocess()
    run.assert_outcomes(passed=1)  # the task folder is not collected
    heavy, ours, registered = eval((pytester.path / "modules.txt").read_text())
    assert heavy == []
    assert ours == ["pytest_proofswe", "pytest_proofswe.hookspecs", "pytest_proofswe.plugin"]
    assert registered is False


def test_hooks_and_tool_settings(pytester: pytest.Pytester, tasks: Path) -> None:
    pytester.makeconftest("""
        seen = []
        def pytest_proofswe_result(config, result):
            seen.append(result["submission"])
            result["meta"]["seen_by_hook"] = True
        def pytest_proofswe_report(config, report):
            report["seen"] = sorted(seen)
    """)
    pytester.makepyprojecttoml('[tool.proofswe]\nreport = "from-tool.json"\n')
    run = pytester.runpytest_subprocess("--proofswe", str(tasks / "inventory-restock"), "-k", "minimal or wrong")
    # the hook runs once per submission, not once per check (reviews skip: no model)
    run.assert_outcomes(passed=3, failed=1, skipped=4)
    data = json.loads((pytester.path / "from-tool.json").read_text())
    assert data["seen"] == ["minimal", "wrong"]
    assert all(r["meta"]["seen_by_hook"] for r in data["results"])


@pytest.mark.parametrize(
    ("args", "toml", "words"),
    [
        (["--proofswe-jobs=0"], "", "--proofswe-jobs must be at least 1, got 0"),
        (["--proofswe-workspace-dir=/no/such/dir"], "", "--proofswe-workspace-dir: /no/such/dir is not a folder"),
        ([], "[tool.proofswe]\nreprot = 'x'\n", "unknown key(s) in [tool.proofswe]: reprot"),
    ],
)
def test_bad_settings_are_usage_errors(pytester: pytest.Pytester, args: list[str], toml: str, words: str) -> None:
    if toml:
        pytester.makepyprojecttoml(toml)
    run = pytester.runpytest_subprocess("--proofswe", *args)
    assert run.ret == pytest.ExitCode.USAGE_ERROR
    assert words in run.stderr.str()


def test_markdown_leaderboard_and_sarif_for_task_runs(pytester: pytest.Pytester, tasks: Path) -> None:
    md, sarif_path = pytester.path / "board.md", pytester.path / "out.sarif"
    run = pytester.runpytest_subprocess(
        "--proofswe",
        str(tasks / "inventory-restock"),
        str(tasks / "slugify-git"),
        "-k",
        "minimal or bloated",
        f"--proofswe-markdown={md}",
        f"--proofswe-sarif={sarif_path}",
    )
    assert run.ret == 1
    text = md.read_text()
    assert text.startswith("## pytest-proofswe leaderboard")
    # Two tasks: grouped by agent (the submission name here; bloated's meta.toml says taste-example).
    assert "| =1 | minimal | 2 | 2 | 1.00 [0.16, 1.00] | 100.0 [100.0, 100.0] | - | - | - | - | - |" in text
    assert "| =1 | taste-example | 1 | 1 | 1.00 [0.03, 1.00] | 26.5 [26.5, 26.5] |" in text
    assert "| inventory-restock | bloated | resolved | 2/2 | 2/2 | 26.5 ❌ | - | - |" in text
    log = json.loads(sarif_path.read_text())
    assert any(r["ruleId"] == "structure-new-abstraction" for r in log["runs"][0]["results"])


def test_task_folders_are_collected_with_the_collector_off_and_left_unfrozen(
    pytester: pytest.Pytester, tasks: Path
) -> None:
    """Collection of task folders runs with automatic garbage collection off and freezes what it
    made (docs/performance.md); both are undone by the end of the run, so that an in-process run
    leaves the interpreter as it found it."""
    import gc

    pytester.makeconftest(
        """
        import gc
        seen = {}
        def pytest_collection_modifyitems(items):
            seen["collecting"] = gc.isenabled()
        def pytest_sessionfinish(session):
            seen["running"] = gc.isenabled()
            seen["frozen"] = gc.get_freeze_count()
            seen["session"] = session
        """
    )
    assert gc.isenabled() and gc.get_freeze_count() == 0
    run = pytester.inline_run("--proofswe", str(tasks), "--co", "-q", "-p", "no:xdist")
    assert run.ret == 0
    (conftest,) = [m for m in run._pluginmanager.get_plugins() if getattr(m, "seen", None) is not None]
    assert conftest.seen["collecting"] is False  # off while the task folders are collected
    assert conftest.seen["running"] is True  # on again for the run itself
    assert conftest.seen["frozen"] > 10_000  # what collection made (and everything before it) is frozen
    assert gc.isenabled() and gc.get_freeze_count() == 0  # unfrozen at unconfigure
    # The items are let go at the end of the run; what the recorder kept is left alone.
    (recorded,) = run.getcalls("pytest_collection_modifyitems")
    assert conftest.seen["session"].items == [] and len(recorded.items) > 10
