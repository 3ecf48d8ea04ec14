"""Custom rubrics named by path: where each kind of setting looks, and reviews scored on them over HTTP.

A path from configuration is relative to the file that names it, a path on the command
line to the folder pytest was started in, a task's ``[review] rubric`` to its task folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_proofswe.review import load_rubric
from pytest_proofswe.settings import Settings
from tests.conftest import FIXTURES, ROOT, LLMServer

TASK = "inventory-restock"
EXAMPLES = ROOT / "rubrics"
IDS = {
    name: [c.id for c in load_rubric(str(EXAMPLES / f"{name}.toml")).criteria]
    for name in ("team", "security", "minimal-diff")
}


def copy_rubric(name: str, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(EXAMPLES / f"{name}.toml", dest)
    return dest


def settings(pytester: pytest.Pytester, *args: str) -> Settings:
    return Settings.from_config(pytester.parseconfig("--proofswe", *args))


# -- where a relative path is looked up (Settings, in-process) -------------------------------


def test_tool_table_path_is_relative_to_its_pyproject(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    team = copy_rubric("team", pytester.path / "rubrics" / "team.toml")
    pytester.makepyprojecttoml('[tool.proofswe]\nrubric = "rubrics/team.toml"\n')
    (pytester.path / "sub").mkdir()
    monkeypatch.chdir(pytester.path / "sub")  # started below the rootdir
    assert settings(pytester, f"--rootdir={pytester.path}").rubric == str(team)


def test_command_line_path_is_relative_to_the_invocation_folder(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = copy_rubric("security", pytester.path / "elsewhere" / "mine" / "security.toml")
    copy_rubric("team", pytester.path / "mine" / "security.toml")  # the same path under the rootdir: not this one
    pytester.makepyprojecttoml('[tool.proofswe]\nrubric = "taste"\n')
    monkeypatch.chdir(pytester.path / "elsewhere")
    got = settings(pytester, f"--rootdir={pytester.path}", "--proofswe-rubric", "mine/security.toml")
    assert got.rubric == str(mine)
    overridden = settings(pytester, f"--rootdir={pytester.path}", "-o", "proofswe_rubric=mine/security.toml")
    assert overridden.rubric == str(mine)


def test_ini_key_path_is_relative_to_the_ini_file(pytester: pytest.Pytester) -> None:
    minimal = copy_rubric("minimal-diff", pytester.path / "ci" / "rubrics" / "minimal-diff.toml")
    (pytester.path / "ci" / "tox.ini").write_text("[pytest]\nproofswe_rubric = rubrics/minimal-diff.toml\n")
    assert settings(pytester, "-c", "ci/tox.ini").rubric == str(minimal)


def test_builtin_names_stay_names(pytester: pytest.Pytester) -> None:
    (pytester.path / "taste").mkdir()  # a folder of that name does not shadow the built-in rubric
    assert settings(pytester, "--proofswe-rubric", "review-quality").rubric == "review-quality"
    pytester.makepyprojecttoml('[tool.proofswe]\nrubric = "taste"\n')
    assert settings(pytester).rubric == "taste"


@pytest.mark.parametrize(
    ("args", "toml", "words"),
    [
        (
            ["--proofswe-rubric", "rubrics/teem.toml"],
            "",
            "--proofswe-rubric: no rubric 'rubrics/teem.toml': {root}/rubrics/teem.toml is not a file "
            "(a path here is relative to the folder pytest was started in) (fix: give the path of a rubric TOML "
            "file, or a built-in rubric's name: review-quality, taste)",
        ),
        (
            [],
            '[tool.proofswe]\nrubric = "rubrics/teem.toml"\n',
            "{root}/pyproject.toml: [tool.proofswe] rubric: no rubric 'rubrics/teem.toml': {root}/rubrics/teem.toml "
            "is not a file (a path here is relative to that pyproject.toml)",
        ),
        ([], "[tool.proofswe]\nrubric = 3\n", "[tool.proofswe] rubric must be a rubric's name or the path"),
        (
            ["--proofswe-rubric", "broken.toml"],
            "",
            "--proofswe-rubric: {root}/broken.toml: key 'pass_threshold': 'pass_threshold' must be a number from 1 to 5",
        ),
    ],
)
def test_a_missing_or_bad_rubric_is_a_usage_error_before_grading(
    pytester: pytest.Pytester, args: list[str], toml: str, words: str
) -> None:
    if toml:
        pytester.makepyprojecttoml(toml)
    (pytester.path / "broken.toml").write_text('name = "b"\nversion = "1"\ndescription = "d"\npass_threshold = 9\n')
    run = pytester.runpytest_subprocess("--proofswe", *args)
    assert run.ret == pytest.ExitCode.USAGE_ERROR
    assert words.format(root=pytester.path) in run.stderr.str()


# -- reviews scored on the custom rubric, over HTTP -----------------------------------------


def reply() -> str:
    """A reply scoring every criterion of every rubric used here 5 (criteria a rubric lacks are ignored)."""
    ids = {cid for name in IDS for cid in IDS[name]} | {c.id for c in load_rubric("taste").criteria}
    evidence = [{"quote": "shortfall = target - on_hand - pending", "path": "inventory/restock.py", "line": 11}]
    return json.dumps({cid: {"score": 5, "rationale": f"{cid} fine", "evidence": evidence} for cid in sorted(ids)})


@pytest.fixture
def project(pytester: pytest.Pytester, llm_server: LLMServer, request: pytest.FixtureRequest) -> Path:
    """Two tasks; the rubric of the run in rubrics/ beside pyproject.toml; one task names its own."""
    tasks = pytester.path / "tasks"
    shutil.copytree(FIXTURES / "tasks" / TASK, tasks / TASK, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(FIXTURES / "tasks" / TASK, tasks / "own-rubric", ignore=shutil.ignore_patterns("__pycache__"))
    copy_rubric("minimal-diff", tasks / "own-rubric" / "review.toml")
    toml = tasks / "own-rubric" / "task.toml"
    toml.write_text(toml.read_text() + '\n[review]\nrubric = "review.toml"\n')
    copy_rubric("team", pytester.path / "rubrics" / "team.toml")
    base = f"http://127.0.0.1:{llm_server.server_address[1]}/v1"
    pytester.makepyprojecttoml(
        f'[tool.proofswe]\nmodel = "openai/proofswe-rubric-{request.node.name}"\nrubric = "rubrics/team.toml"\n'
        f'[tool.proofswe.review]\napi_base = "{base}"\nnum_retries = 0\n'
    )
    llm_server.script = [("ok", reply())]
    return tasks


def reviews(report: Path) -> dict[str, dict[str, Any]]:
    return {r["task"]: r["review"] for r in json.loads(report.read_text())["results"]}


def asked_for(llm_server: LLMServer) -> list[list[str]]:
    """The criteria each request asked the model to score (its JSON schema's required keys)."""
    return sorted(r["response_format"]["json_schema"]["schema"]["required"] for r in llm_server.requests)


@pytest.mark.slow
def test_reviews_score_on_the_rubric_of_tool_proofswe_and_of_the_task(
    pytester: pytest.Pytester, project: Path, llm_server: LLMServer
) -> None:
    report = pytester.path / "r.json"
    res = pytester.runpytest_subprocess(
        "--proofswe", str(project), "-k", "review and minimal", f"--proofswe-report={report}"
    )
    res.assert_outcomes(passed=2)
    got = reviews(report)
    assert got[TASK]["status"] == "scored" and got[TASK]["rubric"]["name"] == "team"
    assert got[TASK]["rubric"]["source"] == str(pytester.path / "rubrics" / "team.toml")
    assert [c["id"] for c in got[TASK]["criteria"]] == IDS["team"]
    assert got["own-rubric"]["rubric"]["name"] == "minimal-diff"
    assert [c["id"] for c in got["own-rubric"]["criteria"]] == IDS["minimal-diff"]
    assert asked_for(llm_server) == sorted([IDS["team"], IDS["minimal-diff"]])
    assert "Rubric: team (version 1.0)" in json.dumps(llm_server.requests)


@pytest.mark.slow
def test_command_line_rubric_from_another_folder_scores_the_reviews(
    pytester: pytest.Pytester, project: Path, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = pytester.path / "elsewhere"
    copy_rubric("security", elsewhere / "mine" / "security.toml")
    monkeypatch.chdir(elsewhere)
    report = elsewhere / "r.json"
    res = pytester.runpytest_subprocess(
        f"--rootdir={pytester.path}",
        "--proofswe",
        "../tasks/" + TASK,
        "-k",
        "review and minimal",
        "--proofswe-rubric",
        "mine/security.toml",
        f"--proofswe-report={report}",
    )
    res.assert_outcomes(passed=1)
    got = reviews(report)[TASK]
    assert got["rubric"]["name"] == "security" and [c["id"] for c in got["criteria"]] == IDS["security"]
    assert asked_for(llm_server) == [IDS["security"]]
    assert "rubric security" not in res.stdout.str()  # passed: no failure text


# -- diff mode and calibration resolve the same way -----------------------------------------

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main"]


def git(repo: Path, *args: str) -> None:
    subprocess.run([*GIT, *args], cwd=repo, check=True, capture_output=True)


@pytest.mark.slow
def test_diff_mode_started_in_a_subfolder_uses_the_configured_rubric(tmp_path: Path, llm_server: LLMServer) -> None:
    repo = tmp_path / "repo"
    (repo / "inventory").mkdir(parents=True)
    (repo / "docs").mkdir()
    shutil.copyfile(FIXTURES / "tasks" / TASK / "repo" / "inventory" / "restock.py", repo / "inventory" / "restock.py")
    copy_rubric("team", repo / "rubrics" / "team.toml")
    base = f"http://127.0.0.1:{llm_server.server_address[1]}/v1"
    (repo / "pyproject.toml").write_text(
        f'[tool.proofswe]\nmodel = "openai/proofswe-rubric-diff"\nrubric = "rubrics/team.toml"\n'
        f'[tool.proofswe.review]\napi_base = "{base}"\nnum_retries = 0\n'
    )
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    git(repo, "checkout", "-qb", "fix")
    restock = repo / "inventory" / "restock.py"
    restock.write_text(
        restock.read_text().replace("shortfall = target - on_hand", "shortfall = target - on_hand - pending")
    )
    git(repo, "commit", "-qam", "Subtract pending units")
    llm_server.script = [("ok", reply())]
    env = {**os.environ, "OPENAI_API_KEY": "sk-local-test-key-000111"}
    env.pop("PYTEST_ADDOPTS", None)
    res = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--rootdir={repo}", "--proofswe-diff=main"),
            *("--proofswe-report=../r.json", "-rA", str(repo / "docs")),
        ],
        cwd=repo / "docs",
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0 and "PASSED ../diff::review" in res.stdout, res.stdout + res.stderr
    review = json.loads((repo / "r.json").read_text())["results"][0]["review"]
    assert (
        review["passed"] and review["rubric"]["name"] == "team" and [c["id"] for c in review["criteria"]] == IDS["team"]
    )
    assert asked_for(llm_server) == [IDS["team"]]


@pytest.mark.slow
def test_calibration_uses_the_configured_rubric(
    pytester: pytest.Pytester, llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy_rubric("team", pytester.path / "rubrics" / "team.toml")
    folder = pytester.path / "calib" / "fix-1"
    folder.mkdir(parents=True)
    shutil.copyfile(FIXTURES / "tasks" / TASK / "gold.diff", folder / "patch.diff")
    (folder / "labels.toml").write_text("[scores]\n" + "".join(f"{cid} = 5\n" for cid in IDS["team"]))
    base = f"http://127.0.0.1:{llm_server.server_address[1]}/v1"
    pytester.makepyprojecttoml(
        f'[tool.proofswe]\nmodel = "openai/proofswe-rubric-calib"\nrubric = "rubrics/team.toml"\n'
        f'[tool.proofswe.review]\napi_base = "{base}"\nnum_retries = 0\n'
    )
    llm_server.script = [("ok", reply())]
    (pytester.path / "sub").mkdir()
    monkeypatch.chdir(pytester.path / "sub")
    res = pytester.runpytest_subprocess(f"--rootdir={pytester.path}", "--proofswe-calibrate", "../calib")
    res.assert_outcomes(passed=1)
    assert "rubric team, model openai/proofswe-rubric-calib: 1 of 1 example(s) scored" in res.stdout.str()
