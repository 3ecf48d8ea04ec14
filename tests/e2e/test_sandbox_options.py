"""End to end: --proofswe-sandbox and its config keys; auto's fallback is loud; bwrap's failure says how to fix it."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from pytest_proofswe.harness.sandbox import probe_bwrap
from tests.conftest import FIXTURES

pytestmark = pytest.mark.slow


@pytest.fixture
def task(pytester: pytest.Pytester) -> Path:
    dest = pytester.path / "inventory-restock"
    shutil.copytree(FIXTURES / "tasks" / "inventory-restock", dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


@pytest.fixture
def broken_bwrap(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bwrap first on PATH that cannot create namespaces, as in a locked-down container."""
    bindir = pytester.path / "fakebin"
    bindir.mkdir()
    fake = bindir / "bwrap"
    fake.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = --version ]; then echo "bubblewrap 0.8.0"; exit 0; fi\n'
        "echo 'bwrap: No permissions to create new namespace' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("PROOFSWE_SANDBOX", raising=False)


def _sandbox_of(report: Path) -> dict:  # type: ignore[type-arg]
    data = json.loads(report.read_text())
    return data["results"][0]["proof"]["environment"]["sandbox"]  # type: ignore[no-any-return]


def test_auto_without_a_working_bwrap_runs_unsandboxed_and_says_so(
    pytester: pytest.Pytester, task: Path, broken_bwrap: None
) -> None:
    report = pytester.path / "r.json"
    run = pytester.runpytest_subprocess("--proofswe", str(task), "-k", "minimal", f"--proofswe-report={report}")
    out = run.stdout.str()
    assert run.ret == 0, out
    assert "WARNING: the hidden tests ran UNSANDBOXED: auto: " in out
    assert "No permissions to create new namespace" in out
    sandbox = _sandbox_of(report)
    assert sandbox["backend"] == "none" and sandbox["reason"].startswith("auto: ")


def test_bwrap_required_but_not_working_is_a_usage_error(
    pytester: pytest.Pytester, task: Path, broken_bwrap: None
) -> None:
    run = pytester.runpytest_subprocess("--proofswe", str(task), "--proofswe-sandbox=bwrap")
    assert run.ret == pytest.ExitCode.USAGE_ERROR
    err = run.stderr.str()
    assert "--proofswe-sandbox=bwrap: " in err and "cannot create a sandbox here" in err
    assert "No permissions to create new namespace" in err


@pytest.mark.parametrize(
    ("config", "args"),
    [
        ("pyproject", []),
        ("ini", []),
        ("none", ["--proofswe-sandbox=none"]),
    ],
)
def test_none_from_each_source(
    pytester: pytest.Pytester, task: Path, monkeypatch: pytest.MonkeyPatch, config: str, args: list[str]
) -> None:
    monkeypatch.delenv("PROOFSWE_SANDBOX", raising=False)
    if config == "pyproject":
        pytester.makepyprojecttoml('[tool.proofswe]\nsandbox = "none"\n')
    elif config == "ini":
        pytester.makeini("[pytest]\nproofswe_sandbox = none\n")
    report = pytester.path / "r.json"
    run = pytester.runpytest_subprocess("--proofswe", str(task), "-k", "minimal", f"--proofswe-report={report}", *args)
    assert run.ret == 0, run.stdout.str()
    sandbox = _sandbox_of(report)
    assert {k: sandbox[k] for k in ("backend", "reason")} == {"backend": "none", "reason": "--proofswe-sandbox=none"}
    assert sandbox["limits"]["cpu_s"] == 120 and sandbox["services"] == []  # rlimits hold without a sandbox too
    assert "UNSANDBOXED" not in run.stdout.str()  # asked for: no warning


def test_env_variable_and_a_bad_value(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROOFSWE_SANDBOX", "docker")
    run = pytester.runpytest_subprocess("--proofswe")
    assert run.ret == pytest.ExitCode.USAGE_ERROR
    assert "must be one of auto, bwrap, none, got 'docker'" in run.stderr.str()


@pytest.mark.skipif(not probe_bwrap().works, reason=f"bubblewrap does not work here: {probe_bwrap().problem}")
def test_bwrap_result_records_its_isolation(pytester: pytest.Pytester, task: Path) -> None:
    report = pytester.path / "r.json"
    run = pytester.runpytest_subprocess(
        "--proofswe", str(task), "-k", "minimal", f"--proofswe-report={report}", "--proofswe-sandbox=bwrap"
    )
    assert run.ret == 0, run.stdout.str()
    sandbox = _sandbox_of(report)
    assert sandbox["backend"] == "bwrap" and sandbox["version"] == probe_bwrap().version
    assert {"pid", "net", "ipc", "uts"} <= set(sandbox["namespaces"])
    assert sandbox["limits"]["cpu_s"] == 120  # the task's 60 s timeout + 60
    assert "proofswe: sandbox bwrap" in run.stdout.str()


@pytest.mark.skipif(not probe_bwrap().works, reason=f"bubblewrap does not work here: {probe_bwrap().problem}")
def test_relative_workspace_and_cache_folders_work_in_the_sandbox(pytester: pytest.Pytester, task: Path) -> None:
    """bwrap resolves a relative bind from the workspace it starts in: every folder it is given is absolute."""
    (pytester.path / "ws").mkdir()
    report = pytester.path / "r.json"
    run = pytester.runpytest_subprocess(
        "--proofswe",
        "inventory-restock",
        "-k",
        "minimal",
        f"--proofswe-report={report}",
        "--proofswe-sandbox=bwrap",
        "--proofswe-workspace-dir=ws",
        "--proofswe-keep-workspaces",
        "--proofswe-cache-dir=cache",
    )
    assert run.ret == 0, run.stdout.str()
    result = json.loads(report.read_text())["results"][0]
    assert result["behaviour"]["status"] == "resolved", result["behaviour"]["reason"]
    assert Path(result["workspace"]).is_absolute() and Path(result["workspace"]).is_relative_to(pytester.path / "ws")
    assert (pytester.path / "cache" / "envs").is_dir()
