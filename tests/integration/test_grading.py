"""The whole pipeline on real tasks: workspaces, environments, guard, runner, verdict."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_proofswe.grading import Grader, GradeRequest, grade_safely
from pytest_proofswe.harness.environment import EnvironmentManager
from pytest_proofswe.harness.workspace import BaseStore
from pytest_proofswe.task import Submission, find_submissions, load_task
from tests.conftest import TASKS, write_task

pytestmark = pytest.mark.slow

FUTURE_COMMIT = "7bbd33cd5c6da0827e030cb6633b9942ffdd7c7f"


@pytest.fixture
def grader(cache_dir: Path) -> Grader:
    return Grader(bases=BaseStore(cache_dir), envs=EnvironmentManager(cache_dir))


def grade(grader: Grader, task_dir: Path, name: str, patch: str | None = None):  # type: ignore[no-untyped-def]
    task = load_task(task_dir)
    if patch is None:
        sub = next(s for s in find_submissions(task) if s.name == name)
    else:
        sub = Submission(name=name, origin="predictions", patch_text=patch)
    return grade_safely(GradeRequest(task, sub), grader)


def test_resolved_and_second_submission_reuses_the_environment(grader: Grader) -> None:
    first = grade(grader, TASKS / "inventory-restock", "minimal")
    second = grade(grader, TASKS / "inventory-restock", "partial")
    assert first.behaviour.status == "resolved"
    assert second.behaviour.status == "partial"
    assert second.behaviour.environment_reused is True
    assert first.proof.environment["key"] == second.proof.environment["key"]
    assert second.patch.applied_with == "git apply"
    assert second.proof.task_sha256 == first.proof.task_sha256 and second.proof.patch_sha256 != first.proof.patch_sha256
    assert any(c["argv"][1:3] == ["-m", "pytest"] for c in first.proof.commands)


def test_git_history_after_the_base_is_unreachable(cache_dir: Path) -> None:
    keeper = Grader(bases=BaseStore(cache_dir), envs=EnvironmentManager(cache_dir), keep_workspaces=True)
    result = grade(keeper, TASKS / "slugify-git", "future-peek")
    assert result.behaviour.status == "unresolved"
    assert result.workspace is not None
    ws = Path(result.workspace)
    try:
        revs = subprocess.run(
            ["git", "rev-list", "--all"], cwd=ws, capture_output=True, text=True, check=True
        ).stdout.split()
        assert len(revs) == 1
        missing = subprocess.run(["git", "cat-file", "-e", FUTURE_COMMIT], cwd=ws, capture_output=True)
        assert missing.returncode != 0
        assert (
            "re.findall"
            not in subprocess.run(["git", "log", "--all", "-p"], cwd=ws, capture_output=True, text=True).stdout
        )
    finally:
        subprocess.run(["rm", "-rf", str(ws.parent)], check=False)


def test_secrets_never_reach_the_tests(grader: Grader, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-not-leak")
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://x")
    monkeypatch.setenv("PYTEST_ADDOPTS", "--this-would-break-the-run")
    root = write_task(
        tmp_path / "secrets",
        """
[tests]
fail_to_pass = ["test_env.py::test_no_secrets"]
""",
        {
            "repo/test_env.py": "import os\n\ndef test_no_secrets():\n    leaked = [k for k in os.environ if 'OPENAI' in k or 'TOKEN' in k or 'ANTHROPIC' in k]\n    assert leaked == []\n    assert not any(p.endswith('.xml') for p in os.listdir('.'))\n"
        },
    )
    result = grade(grader, root, "empty", patch="")
    assert result.behaviour.status == "patch_failed"  # an empty patch is not a submission ...
    from pytest_proofswe.grading import GradeRequest as R

    task = load_task(root)
    ok = grade_safely(R(task, Submission("empty", "empty", patch_text=""), allow_empty=True), grader)
    assert ok.behaviour.status == "resolved", ok.behaviour.reason  # ... but validation grades it


def test_failing_setup_is_an_error_with_the_output_tail(grader: Grader, tmp_path: Path) -> None:
    root = write_task(
        tmp_path / "broken-setup",
        """
[environment]
setup = ["echo preparing; echo 'no such package: frobnicate' >&2; exit 7"]
[tests]
fail_to_pass = ["test_a.py::test_a"]
""",
        {"repo/test_a.py": "def test_a():\n    pass\n", "repo/a.py": "x = 1\n"},
    )
    patch = "--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"
    result = grade(grader, root, "sub", patch=patch)
    assert result.behaviour.status == "error"
    assert "the setup command failed (exit 7)" in result.behaviour.reason
    assert "no such package: frobnicate" in result.behaviour.reason


def test_setup_artefacts_reach_every_workspace(grader: Grader, tmp_path: Path) -> None:
    gen = f"{sys.executable} -c \"open('pkg/_version.py', 'w').write('VERSION = 3')\""
    root = write_task(
        tmp_path / "generated",
        f"""
[environment]
setup = [{json.dumps(gen)}]
[tests]
fail_to_pass = ["tests/test_v.py::test_version"]
""",
        {
            "repo/pkg/__init__.py": "",
            "repo/pkg/core.py": "X = 1\n",
            "hidden_tests/tests/test_v.py": "from pkg._version import VERSION\nfrom pkg.core import X\n\n"
            "def test_version():\n    assert (VERSION, X) == (3, 2)\n",
        },
    )
    result = grade(grader, root, "sub", patch="--- a/pkg/core.py\n+++ b/pkg/core.py\n@@ -1 +1 @@\n-X = 1\n+X = 2\n")
    assert result.behaviour.status == "resolved", result.behaviour.reason


def test_no_junit_means_every_test_failed(grader: Grader, tmp_path: Path) -> None:
    root = write_task(
        tmp_path / "crash",
        """
[tests]
fail_to_pass = ["test_a.py::test_a"]
""",
        {"repo/test_a.py": "import a\n\ndef test_a():\n    assert a.x == 2\n", "repo/a.py": "x = 1\n"},
    )
    # The submission kills the test process at import time, before pytest writes its report.
    patch = "--- a/a.py\n+++ b/a.py\n@@ -1 +1,2 @@\n-x = 1\n+import os\n+os._exit(0)\n"
    result = grade(grader, root, "sub", patch=patch)
    assert result.behaviour.status == "unresolved"
    assert "wrote no JUnit XML" in result.behaviour.reason


def test_a_bug_in_a_collaborator_becomes_an_error_result(tmp_path: Path) -> None:
    class Broken:
        def base_for(self, task):  # type: ignore[no-untyped-def]
            raise RuntimeError("disk on fire")

    grader = Grader(bases=Broken(), envs=EnvironmentManager(tmp_path))
    result = grade(grader, TASKS / "inventory-restock", "minimal")
    assert result.behaviour.status == "error"
    assert "internal error in pytest-proofswe: RuntimeError: disk on fire" in result.behaviour.reason


def test_environment_rebuild_once_per_run(cache_dir: Path, tmp_path: Path) -> None:
    task = load_task(TASKS / "inventory-restock")
    base = BaseStore(cache_dir).base_for(task)
    first = EnvironmentManager(cache_dir).get(task.environment, base)
    again = EnvironmentManager(cache_dir, rebuild=True, run_id="run-a").get(task.environment, base)
    same_run = EnvironmentManager(cache_dir, rebuild=True, run_id="run-a").get(task.environment, base)
    assert again.key == first.key
    assert again.reused is False and same_run.reused is True


def test_an_unknown_test_id_does_not_abort_the_others(grader: Grader, tmp_path: Path) -> None:
    root = write_task(
        tmp_path / "renamed",
        """
[tests]
fail_to_pass = ["test_a.py::test_a"]
pass_to_pass = ["test_a.py::test_gone", "test_a.py::test_b[x"]
""",
        {
            "repo/test_a.py": "import pytest\nimport a\n\ndef test_a():\n    assert a.x == 2\n\n"
            "@pytest.mark.parametrize('v', ['x y', 'x z'])\ndef test_b(v):\n    assert v\n",
            "repo/a.py": "x = 1\n",
        },
    )
    result = grade(grader, root, "sub", patch="--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n")
    b = result.behaviour
    assert b.fail_to_pass.passed == ("test_a.py::test_a",)
    assert b.pass_to_pass.passed == ("test_a.py::test_b[x",) and b.pass_to_pass.failed == ("test_a.py::test_gone",)
    assert b.status == "unresolved"


def test_a_broken_environment_is_an_error_not_an_agent_failure(grader: Grader, tmp_path: Path) -> None:
    root = write_task(
        tmp_path / "broken-env",
        """
[tests]
fail_to_pass = ["tests/test_a.py::test_a"]
pass_to_pass = ["tests/test_a.py::test_b"]
""",
        {
            "repo/tests/test_a.py": "import dependency_the_setup_forgot\n\ndef test_a():\n    pass\n\ndef test_b():\n    pass\n",
            "repo/a.py": "x = 1\n",
        },
    )
    result = grade(grader, root, "sub", patch="--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n")
    assert result.behaviour.status == "error"
    assert (
        "the task's environment is broken: none of the selected tests runs at the base state" in result.behaviour.reason
    )
    assert "collection failed in tests.test_a" in result.behaviour.reason
    assert result.behaviour.tests_run == 0
    # The base probe that decided "error" is part of the proof: its test run, marked as such.
    probes = [c for c in result.proof.commands if c.get("stage") == "base-probe"]
    assert any(c["argv"][1:3] == ["-m", "pytest"] for c in probes), result.proof.commands
    own = [c for c in result.proof.commands if "stage" not in c]
    assert any(c["argv"][1:3] == ["-m", "pytest"] for c in own)
    # A second submission of the task reuses the probe, and records it too.
    again = grade(grader, root, "sub2", patch="--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x = 1\n+x = 3\n")
    assert [c for c in again.proof.commands if c.get("stage") == "base-probe"] == probes


def _replace_tests_by_a_file(test_file: Path) -> str:
    text = test_file.read_text()
    removed = "".join(f"-{line}\n" for line in text.splitlines())
    rel = f"tests/{test_file.name}"
    return (
        "diff --git a/tests b/tests\nnew file mode 100644\n--- /dev/null\n+++ b/tests\n@@ -0,0 +1 @@\n+gone\n"
        f"diff --git a/{rel} b/{rel}\ndeleted file mode 100644\n"
        f"--- a/{rel}\n+++ /dev/null\n@@ -1,{len(text.splitlines())} +0,0 @@\n{removed}"
    )


def test_a_submission_that_breaks_the_hidden_tests_layout_is_unresolved(grader: Grader) -> None:
    """tests/ replaced by a file: the hidden test files cannot be laid over it, and that is the submission's doing."""
    patch = _replace_tests_by_a_file(TASKS / "inventory-restock" / "repo" / "tests" / "test_restock.py")
    result = grade(grader, TASKS / "inventory-restock", "layout", patch)
    assert result.behaviour.status == "unresolved", result.behaviour.reason
    assert "replaced the folder tests/ by a file, so the hidden test tests/test_restock.py" in result.behaviour.reason


def test_a_layout_the_hidden_tests_diff_repairs_is_graded_on_its_tests(grader: Grader) -> None:
    """With a hidden-tests diff, the deleted test file is restored first: the tests decide, as before."""
    patch = _replace_tests_by_a_file(TASKS / "units-convert" / "repo" / "tests" / "test_convert.py")
    result = grade(grader, TASKS / "units-convert", "layout", patch)
    assert result.behaviour.status == "unresolved"
    assert "unknown unit 'ft'" in result.behaviour.reason and "replaced the folder" not in result.behaviour.reason


CHECK_STYLE_TASK = """
[tests]
fail_to_pass = ["tests/test_m.py::check_value"]
pass_to_pass = ["tests/test_m.py::check_other"]
timeout = 60
{extra}
"""
CHECK_STYLE_FILES = {
    "repo/m.py": "def value():\n    return 1\n",
    # The project's own test setup: only check_* functions are tests (a plain test_* is not).
    "repo/pyproject.toml": '[tool.pytest.ini_options]\npython_functions = ["check_*"]\n',
    "repo/tests/test_m.py": "",
    "hidden_tests/tests/test_m.py": (
        "from m import value\n\ndef check_value():\n    assert value() == 2\n\ndef check_other():\n    assert True\n"
    ),
    "submissions/fix.diff": ("--- a/m.py\n+++ b/m.py\n@@ -1,2 +1,2 @@\n def value():\n-    return 1\n+    return 2\n"),
}


@pytest.mark.parametrize("canaries", [True, False])
def test_a_task_whose_setup_stops_plain_tests_can_switch_canaries_off(
    grader: Grader, tmp_path: Path, canaries: bool
) -> None:
    extra = "" if canaries else "canaries = false"
    task_dir = write_task(tmp_path / "checks", CHECK_STYLE_TASK.format(extra=extra), CHECK_STYLE_FILES)
    result = grade(grader, task_dir, "fix")
    if canaries:
        # The project's python_functions stops the canaries: the correct fix cannot be trusted.
        assert result.behaviour.status == "tampered", result.behaviour.reason
        assert result.proof.canary["path"].startswith("tests/test_")
    else:
        assert result.behaviour.status == "resolved", result.behaviour.reason
        assert result.behaviour.canaries == ()
        assert result.proof.canary == {"none": "[tests] canaries = false in task.toml"}
        assert result.to_json()["proof"]["canary"] == {"none": "[tests] canaries = false in task.toml"}


def test_a_submission_cannot_corrupt_the_cached_base_through_its_git_pack(cache_dir: Path, tmp_path: Path) -> None:
    """Workspaces on the cache's filesystem (here: both under tmp_path) copy the base's git pack, never link it."""
    root = write_task(
        tmp_path / "pack",
        '[tests]\nfail_to_pass = ["test_m.py::test_m"]\n',
        {"repo/m.py": "x = 1\n", "hidden_tests/test_m.py": "from m import x\n\n\ndef test_m():\n    assert x == 2\n"},
    )
    attack = (
        "--- a/m.py\n+++ b/m.py\n@@ -1 +1,5 @@\n-x = 1\n+import glob, os\n"
        "+for p in glob.glob(os.path.join(os.path.dirname(os.path.abspath(__file__)), '.git/objects/pack/*')):\n"
        "+    os.chmod(p, 0o644)\n+    open(p, 'ab').write(b'corrupted by a submission')\n+x = 1\n"
    )
    fix = "--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"
    cache = tmp_path / "cache"
    workspaces = tmp_path / "workspaces"
    workspaces.mkdir()
    grader = Grader(bases=BaseStore(cache), envs=EnvironmentManager(cache), workspace_parent=workspaces)
    task = load_task(root)
    packs = sorted(BaseStore(cache).base_for(task).tree.joinpath(".git", "objects", "pack").glob("*"))
    assert packs
    before = [p.read_bytes() for p in packs]
    hostile = grade_safely(GradeRequest(task, Submission("attack", "predictions", patch_text=attack)), grader)
    assert hostile.behaviour.status == "unresolved", hostile.behaviour.reason
    assert [p.read_bytes() for p in packs] == before  # the cached base is untouched
    fixed = grade_safely(GradeRequest(task, Submission("fix", "predictions", patch_text=fix)), grader)
    assert fixed.behaviour.status == "resolved", fixed.behaviour.reason
