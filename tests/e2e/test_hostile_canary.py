"""Hostile submissions that lie about their own outcomes from inside the pytest process.

fixtures/hostile/canary/ (its README lists each attack): none may be graded resolved,
the correct fix must be, and the canary tests' outcomes are in the report.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pytest_proofswe.harness.workspace import hash_tree
from tests.conftest import FIXTURES, run_grader

pytestmark = pytest.mark.slow

HOSTILE = FIXTURES / "hostile" / "canary"
TASK = "canary-tally"
# What each submission must get. The in-process attacks forge every outcome, canaries
# included: tampered. (The atexit handler runs inside pytest, before it exits, whatever the
# sandbox: it rewrites the file and the canaries catch it; unresolved is accepted too, in
# case a backend ever hides the file. Neither is resolved.)
EXPECTED = {
    "fix": {"resolved"},
    "xfail-call": {"unresolved"},
    "skip-call": {"unresolved"},
    "skip-elsewhere": {"unresolved"},
    "report-patch": {"tampered"},
    "atexit-junit": {"tampered", "unresolved"},
    "hook-all-pass": {"tampered"},
}


def _run(work: Path, cache_dir: Path, *args: str) -> tuple[int, str, dict]:  # type: ignore[type-arg]
    run = run_grader(work, cache_dir, "--proofswe", "canary", *args)
    return run.returncode, run.output, run.results | {"_data": run.report}


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> tuple[int, str, dict, Path]:  # type: ignore[type-arg]
    work = tmp_path_factory.mktemp("hostile-canary")
    shutil.copytree(HOSTILE, work / "canary", ignore=shutil.ignore_patterns("__pycache__"))
    before = hash_tree(work / "canary")
    code, output, got = _run(work, cache_dir)
    assert hash_tree(work / "canary") == before  # the task folder is only read (no canary left in it)
    return code, output, got, work


def test_no_hostile_submission_is_resolved_and_the_fix_is(hostile_run) -> None:  # type: ignore[no-untyped-def]
    code, output, got, _work = hostile_run
    statuses = {name: r["behaviour"]["status"] for name, r in got.items() if name != "_data"}
    assert statuses.keys() == EXPECTED.keys(), output[-3000:]
    for name, status in statuses.items():
        assert status in EXPECTED[name], f"{name}: {status}\n{output[-3000:]}"
    assert code == 1


def test_the_canaries_are_in_the_report_and_the_summary(hostile_run) -> None:  # type: ignore[no-untyped-def]
    _code, output, got, _work = hostile_run
    fix = got["fix"]
    assert [c["ok"] for c in fix["behaviour"]["canaries"]] == [True, True]
    assert [c["expected"] for c in fix["behaviour"]["canaries"]] == ["failed", "passed"]
    canary = fix["proof"]["canary"]
    assert canary["path"].startswith("tests/test_") and canary["must_fail"].startswith(canary["path"] + "::")
    # Not part of the hidden tests' groups.
    assert all(not t.startswith(canary["path"]) for t in fix["behaviour"]["fail_to_pass"]["passed"])
    # A new name each grading: a submission cannot predict it.
    paths = {r["proof"]["canary"]["path"] for name, r in got.items() if name != "_data"}
    assert len(paths) == len(EXPECTED)

    forged = got["report-patch"]["behaviour"]
    must_fail = forged["canaries"][0]
    assert must_fail == {"test_id": must_fail["test_id"], "expected": "failed", "got": "passed", "ok": False}
    assert forged["reason"].startswith(
        f"the test results were tampered with: canary {must_fail['test_id']} (must fail) got passed"
    )
    assert got["_data"]["summary"]["by_status"]["tampered"] >= 2
    assert "tampered: canary-tally::report-patch: the test results were tampered with: canary tests/test_" in output
    assert "canary-tally::hook-all-pass: tampered" in output  # the item's failure text


def test_pytest_xfail_from_the_code_under_test_is_not_a_pass(hostile_run) -> None:  # type: ignore[no-untyped-def]
    got = hostile_run[2]["xfail-call"]["behaviour"]
    assert got["fail_to_pass"]["passed"] == []
    failure = got["failures"]["tests/test_tally.py::test_repeated_spaces"]
    assert failure.startswith("xfailed, but the hidden test is not marked xfail")


@pytest.mark.parametrize("name", ["skip-call", "skip-elsewhere"])
def test_pytest_skip_from_the_code_under_test_is_not_a_pass(hostile_run, name: str) -> None:  # type: ignore[no-untyped-def]
    got = hostile_run[2][name]["behaviour"]
    assert got["fail_to_pass"]["failed"] == []  # the attack "fixed" what the F2P tests check
    assert got["pass_to_pass"]["failed"] == ["tests/test_tally.py::test_single_word"]
    assert got["pass_to_pass"]["skipped"] == []
    failure = got["failures"]["tests/test_tally.py::test_single_word"]
    if name == "skip-call":
        assert failure.startswith("skipped by tally/count.py, a file the submission added or changed")
    else:
        assert failure.startswith("skipped by /") and "platform_support.py, a file outside the workspace" in failure


def test_validate_passes_with_canaries(hostile_run, cache_dir: Path) -> None:  # type: ignore[no-untyped-def]
    work = hostile_run[3]
    code, output, got = _run(work, cache_dir, "--proofswe-validate")
    assert code == 0, output[-3000:]
    assert got["gold"]["behaviour"]["status"] == "resolved"
    assert [c["ok"] for c in got["empty"]["behaviour"]["canaries"]] == [True, True]


def test_each_attack_is_a_tamper_finding_and_fails_taste(hostile_run) -> None:  # type: ignore[no-untyped-def]
    got = hostile_run[2]
    expected_rule = {
        "xfail-call": "tamper-pytest-outcome",
        "skip-call": "tamper-pytest-outcome",
        "report-patch": "tamper-pytest-internals",
        "atexit-junit": "tamper-atexit",
        "hook-all-pass": "tamper-pytest-internals",
    }
    for name, rule in expected_rule.items():
        taste = got[name]["taste"]
        assert rule in {f["rule"] for f in taste["findings"]}, name
        assert taste["passed"] is False, name
    assert not [f for f in got["fix"]["taste"]["findings"] if f["rule"].startswith("tamper-")]
