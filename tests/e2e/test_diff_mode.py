"""--proofswe-diff end to end: temporary git repositories, their own tests, CI outputs."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

CALC = "def add(a, b):\n    return a + b\n"
TEST = "from pkg.calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"
BLOATED = (
    CALC.replace("    return a + b\n", "    print('adding', a, b)\n    return a + b\n")
    + '''

class Operation:
    """A base for operations."""


class AddOperation(Operation):
    def run(self, a, b):
        try:
            return a + b
        except:
            return None
'''
)
MINIMAL = CALC.replace("return a + b", "return int(a) + int(b)")
GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main"]


def git(repo: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def make_repo(path: Path, *, pyproject: str = "[tool.proofswe]\nmin_taste_score = 85\n") -> Path:
    (path / "pkg").mkdir(parents=True)
    (path / "tests").mkdir()
    (path / "pkg" / "__init__.py").write_text("")
    (path / "pkg" / "calc.py").write_text(CALC)
    (path / "tests" / "test_calc.py").write_text(TEST)
    (path / "pyproject.toml").write_text(pyproject)
    git(path, "init", "-q")
    git(path, "add", "-A")
    git(path, "commit", "-qm", "base")
    git(path, "checkout", "-qb", "feature")
    return path


def pytest_in(
    repo: Path, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **(env or {})}
    full.pop("PYTEST_ADDOPTS", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=cwd or repo,
        env=full,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_bloated_change_fails_with_annotations_and_markdown(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "pkg" / "calc.py").write_text(BLOATED)
    git(repo, "commit", "-qam", "operations")
    summary = tmp_path / "step-summary.md"
    res = pytest_in(
        repo,
        "--proofswe-diff=main",
        "--proofswe-markdown=out.md",
        "--proofswe-sarif=out.sarif",
        "--proofswe-report=r.json",
        "-rA",
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert res.returncode == 1, res.stdout
    out = res.stdout
    assert "PASSED tests/test_calc.py::test_add" in out  # the repository's own test ran in the same session
    assert "FAILED diff::taste" in out
    assert "::error file=pkg/calc.py,line=6,title=proofswe structure-new-class::new class Operation (-6)" in out
    assert "::warning file=pkg/calc.py,line=2,title=proofswe debug-print::print() call added (-4)" in out
    md = (repo / "out.md").read_text()
    assert md.startswith("## pytest-proofswe: ❌ failed")
    assert "| `pkg/calc.py:14` | `errors-bare-except` |" in md
    assert summary.read_text() == md + "\n"
    sarif = json.loads((repo / "out.sarif").read_text())
    locations = {
        (r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in sarif["runs"][0]["results"]
    }
    assert ("structure-new-class", 6) in locations and sarif["version"] == "2.1.0"
    (result,) = json.loads((repo / "r.json").read_text())["results"]
    assert result["task"] == "diff" and result["submission"] == "feature"
    assert result["change"]["base"] == "main" and not result["taste"]["passed"]


def test_each_finding_is_printed_once(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """The 'proofswe diff' summary lists the findings; the diff::taste failure points there."""
    from pytest_proofswe.outputs.report import finding_text

    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)  # annotations would repeat them, by design
    repo = make_repo(pytester.path / "repo")  # not pytester.path: pytester writes its own files there
    (repo / "pkg" / "calc.py").write_text(BLOATED)
    git(repo, "commit", "-qam", "operations")
    monkeypatch.chdir(repo)
    res = pytester.runpytest_subprocess("--proofswe-diff=main", "--proofswe-report=r.json", "-p", "no:cacheprovider")
    res.assert_outcomes(passed=1, failed=1)
    out = res.stdout.str()
    (result,) = json.loads((repo / "r.json").read_text())["results"]
    costly = [f for f in result["taste"]["findings"] if f["penalty"] > 0]
    assert len(costly) >= 4
    assert {finding_text(f): out.count(finding_text(f)) for f in costly} == {finding_text(f): 1 for f in costly}
    summary = out.index(" proofswe diff =")  # the section's separator line
    assert out.index("FAILED diff::taste") > summary > out.index("listed under 'proofswe diff' below")


def test_sarif_of_an_ordinary_pull_request_is_accepted(tmp_path: Path) -> None:
    """The documented workflow on a fix with its test, changelog entry and docs (a whole-change finding)."""
    from tests.sarif_rules import github_errors, schema_errors

    repo = make_repo(tmp_path / "repo", pyproject="[tool.proofswe.taste]\nmax_lines_changed = 1\n")
    (repo / "CHANGELOG.md").write_text("# Changelog\n")
    (repo / "docs").mkdir()
    (repo / "docs" / "usage.md").write_text("# Usage\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "docs")
    git(repo, "branch", "-f", "main")
    (repo / "pkg" / "calc.py").write_text(MINIMAL)
    (repo / "tests" / "test_calc.py").write_text(TEST + "\n\ndef test_add_digits():\n    assert add('1', 2) == 3\n")
    (repo / "CHANGELOG.md").write_text("# Changelog\n\n- add() accepts strings of digits.\n")
    (repo / "docs" / "usage.md").write_text("# Usage\n\n`add('1', 2)` is 3.\n")
    git(repo, "commit", "-qam", "Accept strings of digits")
    res = pytest_in(repo, "--proofswe-diff=main", "--proofswe-sarif=proofswe.sarif", "--proofswe-report=r.json")
    assert res.returncode == 1, res.stdout  # the team's max_lines_changed=1 is a gate
    (result,) = json.loads((repo / "r.json").read_text())["results"]
    assert len(result["patch"]["files"]) == 4 and result["taste"]["metrics"]["code_files_touched"] == 1
    assert [f["rule"] for f in result["taste"]["findings"]] == ["scope-lines-changed", "tests-added"]
    log = json.loads((repo / "proofswe.sarif").read_text())
    (entry,) = log["runs"][0]["results"]
    assert entry["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "pkg/calc.py"
    assert schema_errors(log) == [] and github_errors(log) == []


def test_minimal_change_passes(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "pkg" / "calc.py").write_text(MINIMAL)
    git(repo, "commit", "-qam", "int")
    res = pytest_in(repo, "--proofswe-diff=main", "-rA")
    assert res.returncode == 0, res.stdout
    assert "PASSED diff::taste" in res.stdout and "PASSED tests/test_calc.py::test_add" in res.stdout
    assert "taste 100/100 (passed)" in res.stdout


def test_what_counts_staged_unstaged_untracked_and_renames(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", pyproject="")
    git(repo, "mv", "pkg/calc.py", "pkg/arith.py")
    (repo / "tests" / "test_calc.py").write_text(TEST.replace("pkg.calc", "pkg.arith"))
    git(repo, "commit", "-qam", "rename")
    (repo / "pkg" / "staged.py").write_text("x = 1\n")
    git(repo, "add", "pkg/staged.py")
    (repo / "pkg" / "__init__.py").write_text('"""The package."""\n')  # unstaged
    (repo / "pkg" / "untracked.py").write_text("y = 2\n")
    (repo / ".gitignore").write_text("ignored.py\n")
    (repo / "pkg" / "ignored.py").write_text("z = 3\n")
    index_before = git(repo, "diff", "--cached", "--name-only")
    res = pytest_in(repo, "--proofswe-diff=main", "--proofswe-report=r.json")
    assert res.returncode == 0, res.stdout
    (result,) = json.loads((repo / "r.json").read_text())["results"]
    files = {f["path"]: f["kind"] for f in result["patch"]["files"]}
    assert files == {
        "pkg/arith.py": "rename",
        "pkg/__init__.py": "modify",
        "pkg/staged.py": "add",
        "pkg/untracked.py": "add",
        "tests/test_calc.py": "modify",
        ".gitignore": "add",
    }
    assert git(repo, "diff", "--cached", "--name-only") == index_before  # the user's index is untouched


def test_subdirectory_of_a_monorepo_and_detached_head(tmp_path: Path) -> None:
    mono = tmp_path / "mono"
    make_repo(mono / "packages" / "calc")  # makes its own repo: move it into a monorepo layout instead
    subprocess.run(["rm", "-rf", str(mono / "packages" / "calc" / ".git")], check=True)
    (mono / "other").mkdir()
    (mono / "other" / "thing.py").write_text("a = 1\n")
    git(mono, "init", "-q")
    git(mono, "add", "-A")
    git(mono, "commit", "-qm", "base")
    (mono / "packages" / "calc" / "pkg" / "calc.py").write_text(MINIMAL)
    (mono / "other" / "thing.py").write_text("print('elsewhere')\n")
    git(mono, "commit", "-qam", "change both")
    git(mono, "checkout", "-q", "--detach")
    res = pytest_in(mono, "--proofswe-diff=main~1", "--proofswe-report=r.json", cwd=mono / "packages" / "calc")
    assert res.returncode == 0, res.stdout
    (result,) = json.loads((mono / "packages" / "calc" / "r.json").read_text())["results"]
    assert [f["path"] for f in result["patch"]["files"]] == ["packages/calc/pkg/calc.py"]  # top-relative, scoped
    assert result["submission"] == "HEAD" and result["change"]["branch"] is None


def test_shallow_clone_without_the_merge_base_says_how_to_fix(tmp_path: Path) -> None:
    origin = make_repo(tmp_path / "origin")
    git(origin, "checkout", "-q", "main")
    for i in range(3):
        (origin / f"f{i}.py").write_text(f"x = {i}\n")
        git(origin, "add", "-A")
        git(origin, "commit", "-qm", f"main {i}")
    git(origin, "checkout", "-q", "feature")
    (origin / "pkg" / "calc.py").write_text(MINIMAL)
    git(origin, "commit", "-qam", "feature work")
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--depth=1", "--no-single-branch", f"file://{origin}", str(clone)], check=True
    )
    git(clone, "checkout", "-q", "feature")
    res = pytest_in(clone, "--proofswe-diff=origin/main")
    assert res.returncode == pytest.ExitCode.USAGE_ERROR
    assert "no common commit in this shallow clone" in res.stderr and "fetch-depth: 0" in res.stderr
    unknown = pytest_in(clone, "--proofswe-diff=origin/nope")
    assert "unknown revision 'origin/nope'" in unknown.stderr and "fetch-depth: 0" in unknown.stderr


def _block(doc: str, lang: str, after: str) -> str:
    start = doc.index(f"```{lang}\n", doc.index(after)) + len(f"```{lang}\n")
    return doc[start : doc.index("```", start)]


def test_the_documented_workflow_commands(tmp_path: Path) -> None:
    workflow = _block((ROOT / "docs" / "ci.md").read_text(), "yaml", "## A GitHub Actions workflow")
    runs = [line.split("- run:", 1)[1].strip() for line in workflow.splitlines() if "- run:" in line]
    assert "pytest-proofswe" in runs[0]  # the install step
    command = runs[1].replace("${{ github.base_ref }}", "main")
    assert "fetch-depth: 0" in workflow
    origin = make_repo(tmp_path / "origin")
    (origin / "pkg" / "calc.py").write_text(BLOATED)
    git(origin, "commit", "-qam", "bloat")
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", f"file://{origin}", str(clone)], check=True
    )  # full history, as fetch-depth: 0
    git(clone, "checkout", "-q", "feature")
    argv = shlex.split(command)
    assert argv[:3] == ["python", "-m", "pytest"]
    summary = tmp_path / "summary.md"
    res = pytest_in(clone, *argv[3:], env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)})
    assert res.returncode == 1 and "::error file=pkg/calc.py" in res.stdout
    assert (clone / "proofswe.md").is_file() and (clone / "proofswe.sarif").is_file() and summary.is_file()


def test_the_documented_pre_commit_hook(tmp_path: Path) -> None:
    config = _block((ROOT / "docs" / "ci.md").read_text(), "yaml", "## A pre-commit hook")
    entry = re.search(r"entry: (.+)", config).group(1)  # type: ignore[union-attr]
    assert entry in (ROOT / ".pre-commit-hooks.yaml").read_text()
    repo = make_repo(tmp_path / "repo")
    argv = shlex.split(entry)
    (repo / "pkg" / "calc.py").write_text(BLOATED)  # uncommitted: what a pre-commit hook sees
    bad = pytest_in(repo, *argv[3:])
    assert bad.returncode == 1 and "diff: taste" in bad.stdout
    assert "test_add" not in bad.stdout  # --proofswe-diff-only: only the grade of the change
    (repo / "pkg" / "calc.py").write_text(MINIMAL)
    assert pytest_in(repo, *argv[3:]).returncode == 0


def test_review_of_the_change_with_a_model(tmp_path: Path, llm_server) -> None:  # type: ignore[no-untyped-def]
    from pytest_proofswe.review import load_rubric

    ids = [c.id for c in load_rubric("taste").criteria]
    llm_server.script = [
        (
            "ok",
            json.dumps(
                {
                    cid: {
                        "score": 5,
                        "rationale": "tight",
                        "evidence": [{"quote": "return int(a) + int(b)", "path": "pkg/calc.py", "line": 2}],
                    }
                    for cid in ids
                }
            ),
        )
    ]
    base = f"http://127.0.0.1:{llm_server.server_address[1]}/v1"
    repo = make_repo(
        tmp_path / "repo",
        pyproject=f'[tool.proofswe]\nmodel = "openai/proofswe-diff-test"\n'
        f'[tool.proofswe.review]\napi_base = "{base}"\nnum_retries = 0\n',
    )
    (repo / "pkg" / "calc.py").write_text(MINIMAL)
    git(repo, "commit", "-qam", "Coerce the operands of add to int")
    res = pytest_in(
        repo,
        "--proofswe-diff=main",
        "-rA",
        "--proofswe-markdown=out.md",
        env={"OPENAI_API_KEY": "sk-local-test-key-000111"},
    )
    assert res.returncode == 0, res.stdout
    assert "PASSED diff::review" in res.stdout and "PASSED diff::taste" in res.stdout
    (request,) = llm_server.requests
    assert "Coerce the operands of add to int" in request["messages"][1]["content"]  # commits stand for the issue
    md = (repo / "out.md").read_text()
    assert "**Review: 5.00/5** with `openai/proofswe-diff-test`" in md
