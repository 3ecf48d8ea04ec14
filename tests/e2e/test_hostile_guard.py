"""End to end: hostile submissions against the guard (fixtures/hostile/guard, see its README).

Each attack tries to run code the diff does not show (a file a ``.gitignore`` hides from
``git status``, a ``*.dist-info`` plugin, a test package ``__init__.py``, shipped
bytecode) or to make the harness write the hidden tests outside the workspace. Every
payload, if it ran, would leave a marker two folders above its workspace: in the
workspace folder the test gives, where nothing may be left at all.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, run_grader

pytestmark = pytest.mark.slow

TASK = FIXTURES / "hostile" / "guard"
ATTACKS = {
    "gitignore-conftest": "conftest.py",
    "gitignore-sitecustomize": "sitecustomize.py",
    "gitignore-pytest-ini": "pytest.ini",
    "dist-info-pytest11": "forge_ep-1.0.dist-info/entry_points.txt",
    "egg-info-pytest11": "forge_egg.egg-info/entry_points.txt",
    "tests-init-conftest": "tests/__init__.py",
    "shipped-pyc": f"__pycache__/calc.{sys.implementation.cache_tag}.pyc",
    "sourceless-pyc": "calc.pyc",
    "symlink-escape": None,  # rejected before the guard: the patch makes a symlink pointing outside
}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> tuple[Path, dict[str, dict]]:  # type: ignore[type-arg]
    work = tmp_path_factory.mktemp("hostile-guard")
    shutil.copytree(TASK, work / "guard", ignore=shutil.ignore_patterns("__pycache__"))
    workspaces = work / "workspaces"
    workspaces.mkdir()
    run = run_grader(
        work, cache_dir, "--proofswe", "guard", f"--proofswe-workspace-dir={workspaces}", "-k", "behaviour"
    )
    results = run.results
    return workspaces, results


def test_the_correct_fix_is_resolved(run) -> None:  # type: ignore[no-untyped-def]
    _workspaces, results = run
    assert results["fix"]["behaviour"]["status"] == "resolved", results["fix"]["behaviour"]["reason"]


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_no_hostile_submission_is_resolved(run, attack: str) -> None:  # type: ignore[no-untyped-def]
    _workspaces, results = run
    behaviour = results[attack]["behaviour"]
    assert behaviour["status"] in ("unresolved", "patch_failed"), behaviour
    neutralised = [n["path"] for n in behaviour.get("neutralised", [])]
    if ATTACKS[attack] is None:
        assert behaviour["status"] == "patch_failed"
        assert "symlink pointing outside the workspace" in behaviour["reason"]
    else:
        assert ATTACKS[attack] in neutralised, neutralised


def test_no_payload_ran_and_nothing_was_written_outside_the_workspaces(run) -> None:  # type: ignore[no-untyped-def]
    workspaces, results = run
    assert set(results) == {"fix", *ATTACKS}
    # A payload that ran would have left guard-attack-ran-<name> here; the symlink attack
    # would have had the harness write tests/hidden/test_hidden.py here.
    assert sorted(p.name for p in workspaces.iterdir()) == []
