"""--proofswe-diff as real repositories meet it: strict warning filters, tests that do not
collect, bytecode that git does not ignore, lint-only jobs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.e2e.test_diff_mode import CALC, git, make_repo, pytest_in

pytestmark = pytest.mark.slow

# "a\*b" is an invalid escape sequence (DeprecationWarning on 3.11, SyntaxWarning on 3.12+),
# and the commented-out line is parsed to decide whether it is code.
ESCAPES = (
    CALC
    + """

def stars(text):
    import re

    # found = re.findall("a\\*b", text)
    return re.sub("a\\*b", "x", text)
"""
)
STRICT = '[tool.pytest.ini_options]\nfilterwarnings = ["error"]\n\n[tool.proofswe]\nmin_taste_score = 50\n'
LENIENT = "[tool.proofswe]\nmin_taste_score = 50\n"


def on_main(repo: Path, rel: str, text: str) -> None:
    """Commit ``rel`` on main, below the feature branch: part of the base, not of the change."""
    git(repo, "checkout", "-q", "main")
    (repo / rel).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", f"add {rel}")
    git(repo, "checkout", "-q", "-B", "feature")


def report_of(path: Path) -> dict:  # type: ignore[type-arg]
    return json.loads(path.read_text())


def rules_of(result: dict) -> list[str]:  # type: ignore[type-arg]
    return [f["rule"] for f in result["taste"]["findings"]]


@pytest.mark.parametrize("pyproject", [STRICT, LENIENT], ids=["filterwarnings-error", "default-filters"])
def test_an_invalid_escape_is_no_syntax_error_and_no_warning_of_ours(tmp_path: Path, pyproject: str) -> None:
    repo = make_repo(tmp_path / "repo", pyproject=pyproject)
    (repo / "pkg" / "stars.py").write_text(ESCAPES)  # not imported by the repository's tests
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "stars")
    res = pytest_in(repo, "--proofswe-diff=main", f"--proofswe-report={tmp_path / 'r.json'}", "-rA")
    assert res.returncode == 0, res.stdout + res.stderr
    (result,) = report_of(tmp_path / "r.json")["results"]
    assert "code-syntax-error" not in rules_of(result)
    assert "comments-commented-out-code" in rules_of(result)  # the comment was parsed, quietly
    assert "warnings summary" not in res.stdout, res.stdout
    assert not re.search(r"(Deprecation|Syntax)Warning", res.stdout + res.stderr), res.stdout


def test_the_grade_survives_tests_that_do_not_collect(tmp_path: Path) -> None:
    # A lint-only job, or a checkout without the project's dependencies: the tests cannot be
    # imported, yet the change's grade needs nothing from them.
    repo = make_repo(tmp_path / "repo")
    on_main(repo, "tests/test_net.py", "import requests_not_installed\n\n\ndef test_get():\n    pass\n")
    (repo / "pkg" / "calc.py").write_text(CALC.replace("return a + b", "print(a)\n    return a + b"))
    report, md, sarif = tmp_path / "r.json", tmp_path / "out.md", tmp_path / "out.sarif"
    res = pytest_in(
        repo,
        "--proofswe-diff=main",
        f"--proofswe-report={report}",
        f"--proofswe-markdown={md}",
        f"--proofswe-sarif={sarif}",
    )
    assert res.returncode == 2, res.stdout  # interrupted: the collection error is still the run's result
    assert "proofswe diff" in res.stdout and "debug-print" in res.stdout
    document = report_of(report)
    assert document["interrupted"] is True
    assert "1 error during collection" in document["interruption"]
    assert "ModuleNotFoundError: No module named 'requests_not_installed'" in document["interruption"]
    (result,) = document["results"]
    assert result["task"] == "diff" and "debug-print" in rules_of(result)
    assert "debug-print" in md.read_text()
    assert any(r["ruleId"] == "debug-print" for r in json.loads(sarif.read_text())["runs"][0]["results"])


def test_the_grade_is_reported_when_x_stops_the_run_first(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    on_main(repo, "tests/test_calc.py", "def test_fails():\n    assert False\n")
    (repo / "pkg" / "calc.py").write_text(CALC.replace("return a + b", "print(a)\n    return a + b"))
    res = pytest_in(repo, "--proofswe-diff=main", "-x", f"--proofswe-report={tmp_path / 'r.json'}")
    assert res.returncode == 1, res.stdout
    document = report_of(tmp_path / "r.json")
    (result,) = document["results"]
    assert "debug-print" in rules_of(result)
    assert "stopping after 1 failures" in (document["interruption"] or "")


def test_diff_only_collects_no_test_of_the_repository(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    on_main(repo, "tests/test_net.py", "import requests_not_installed\n")
    (repo / "pkg" / "calc.py").write_text(CALC.replace("return a + b", "return int(a) + int(b)"))
    res = pytest_in(repo, "--proofswe-diff=main", "--proofswe-diff-only", "-v", f"--proofswe-report={tmp_path / 'r'}")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "diff::taste PASSED" in res.stdout
    assert "test_calc" not in res.stdout and "requests_not_installed" not in res.stdout
    assert report_of(tmp_path / "r")["interruption"] is None
    # Paths on the command line (pre-commit passes file names) are not collected either.
    res = pytest_in(repo, "--proofswe-diff=main", "--proofswe-diff-only", "tests/test_net.py", "-q")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "1 passed" in res.stdout


def test_diff_only_without_a_base_is_a_usage_error(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    res = pytest_in(repo, "--proofswe-diff-only")
    assert res.returncode == 4
    assert "--proofswe-diff-only grades the change that --proofswe-diff names (fix: add --proofswe-diff=BASE" in (
        res.stderr
    )


def test_bytecode_and_this_runs_outputs_are_never_part_of_the_change(tmp_path: Path) -> None:
    # A repository that does not ignore __pycache__/: its own test run writes bytecode.
    repo = make_repo(tmp_path / "repo")
    (repo / "pkg" / "calc.py").write_text(CALC.replace("return a + b", "return int(a) + int(b)"))
    first = pytest_in(repo, "-p", "no:cacheprovider", env={"PYTHONDONTWRITEBYTECODE": ""})
    assert first.returncode == 0, first.stdout
    assert list(repo.rglob("*.pyc")), "the repository's test run wrote no bytecode: the test checks nothing"
    (repo / ".pytest_cache").mkdir()
    (repo / ".pytest_cache" / "README.md").write_text("cache\n")
    (repo / "proofswe.md").write_text("an earlier run's summary\n")
    res = pytest_in(
        repo,
        "--proofswe-diff=main",
        "--proofswe-report=r.json",
        "--proofswe-markdown=proofswe.md",
        "--junitxml=junit.xml",
        env={"PYTHONDONTWRITEBYTECODE": ""},
    )
    assert res.returncode == 0, res.stdout
    (result,) = report_of(repo / "r.json")["results"]
    assert [f["path"] for f in result["patch"]["files"]] == ["pkg/calc.py"]
    assert result["taste"]["score"] == 100
