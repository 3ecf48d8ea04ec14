"""CI outputs of a real change (a temporary git repository): SARIF that GitHub accepts, clean PRs graded clean."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from pytest_proofswe.modes.diffmode import collect_change, grade_change
from pytest_proofswe.outputs.ci import sarif
from pytest_proofswe.taste import TasteConfig
from tests.conftest import make_git_repo
from tests.sarif_rules import github_errors, schema_errors

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
MODULE = "def {name}(value):\n    return value\n"
TEST = "from pkg.a import a\n\n\ndef test_a():\n    assert a(1) == 1\n"
DOCS = "# Usage\n\nCall `a`.\n"
CHANGELOG = "# Changelog\n\n## [Unreleased]\n"


def base_repo(path: Path) -> Path:
    files = {f"pkg/{n}.py": MODULE.format(name=n) for n in "abcd"}
    files |= {"pkg/__init__.py": "", "tests/test_a.py": TEST, "tests/test_old.py": TEST, "docs/usage.md": DOCS}
    files |= {"CHANGELOG.md": CHANGELOG, "pyproject.toml": "[project]\nname = 'pkg'\n"}
    make_git_repo(path, files)
    subprocess.run([*GIT, "checkout", "-qb", "fix"], cwd=path, check=True)
    return path


def graded(repo: Path, config: TasteConfig | None = None) -> dict[str, Any]:
    subprocess.run([*GIT, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*GIT, "commit", "-qm", "the fix"], cwd=repo, check=True)
    return grade_change(collect_change(repo, "main"), config or TasteConfig(), None, "taste", rootdir=repo)


def test_sarif_of_a_pull_request_validates_and_every_result_has_a_location(tmp_path: Path) -> None:
    """A fix spread over four modules, with its test, changelog entry and docs: a whole-change finding."""
    repo = base_repo(tmp_path / "repo")
    for n in "abcd":
        (repo / "pkg" / f"{n}.py").write_text(MODULE.format(name=n).replace("return value", "return int(value)"))
    (repo / "pkg" / "my helpers.py").write_text("def helper():\n    print('debugging')\n")  # a space in the path
    (repo / "tests" / "test_a.py").write_text(TEST + "\n\ndef test_digits():\n    assert a('2') == 2\n")
    (repo / "tests" / "test_old.py").unlink()  # a finding on a file with no line
    (repo / "CHANGELOG.md").write_text(CHANGELOG + "\n- `a` accepts strings of digits.\n")
    (repo / "docs" / "usage.md").write_text(DOCS + "\nStrings of digits work too.\n")
    result = graded(repo)
    rules = {f["rule"]: f for f in result["taste"]["findings"]}
    assert rules["scope-files-touched"]["path"] == ""  # about the whole change: no file of its own
    assert rules["tests-deleted"]["line"] is None

    log = sarif([result])
    results = log["runs"][0]["results"]
    # upload-sarif rejects the whole file if any result has no location (github/codeql-action#1738).
    assert [r["ruleId"] for r in results if not r.get("locations")] == []
    assert schema_errors(log) == []
    assert github_errors(log) == []
    by_rule = {r["ruleId"]: r for r in results}
    whole = by_rule["scope-files-touched"]
    assert whole["properties"]["wholeChange"] is True
    # Shown at the change's first code file (not the changelog, not a test).
    assert whole["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "pkg/a.py", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 1},
    }
    assert by_rule["tests-deleted"]["locations"][0]["physicalLocation"]["region"] == {"startLine": 1}
    located = by_rule["debug-print"]["locations"][0]["physicalLocation"]
    assert located["artifactLocation"]["uri"] == "pkg/my%20helpers.py" and located["region"] == {"startLine": 2}


def test_github_rules_catch_what_upload_sarif_rejects() -> None:
    """The checker itself: a result without a location (github/codeql-action#1738) is caught."""
    log = sarif([{"task": "diff", "submission": "x", "taste": {"findings": []}}])
    log["runs"][0]["results"] = [
        {"ruleId": "scope-files-touched", "message": {"text": "7 files"}},
        {
            "ruleId": "tests-deleted",
            "message": {"text": " "},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": "/abs/t.py"}}}],
        },
    ]
    errors = github_errors(log)
    assert schema_errors(log) == []  # the schema allows both
    assert any("needs 1 to 10 locations, has 0" in e for e in errors)
    assert any("message.text must not be empty" in e for e in errors)
    assert any("must be a relative path" in e for e in errors)
    assert any("region.startLine" in e for e in errors)


def test_a_fix_with_its_test_changelog_docs_and_lock_is_not_spread(tmp_path: Path) -> None:
    """What a clean pull request looks like: none of it counts against max_files_touched."""
    repo = base_repo(tmp_path / "repo")
    (repo / "pkg" / "a.py").write_text(MODULE.format(name="a").replace("return value", "return int(value)"))
    (repo / "tests" / "test_a.py").write_text(TEST + "\n\ndef test_digits():\n    assert a('2') == 2\n")
    (repo / "tests" / "test_strings.py").write_text(TEST.replace("test_a", "test_strings"))
    (repo / "CHANGELOG.md").write_text(CHANGELOG + "\n- `a` accepts strings of digits.\n")
    (repo / "docs" / "usage.md").write_text(DOCS + "\nStrings of digits work too.\n")
    (repo / "uv.lock").write_text("".join(f'[[package]]\nname = "p{i}"\n' for i in range(200)))
    (repo / "pkg" / "api_pb2.py").write_text("# Generated by the protocol buffer compiler.  DO NOT EDIT!\nX = 1\n")
    result = graded(repo, TasteConfig().merged({"max_files_touched": 3}, "test"))
    taste = result["taste"]
    # A lock file is still a dependency change (its own rule); nothing counts as spread; the new test is a credit.
    assert [(f["rule"], f["path"]) for f in taste["findings"]] == [
        ("scope-config-touched", "uv.lock"),
        ("tests-added", "tests/test_a.py"),
    ]
    assert taste["passed"] and taste["gate_failures"] == []
    metrics = taste["metrics"]
    assert metrics["files_touched"] == 7 and metrics["code_files_touched"] == 1 and metrics["code_lines_changed"] == 2
    assert metrics["files_not_counted"] == {
        "tests": ["tests/test_a.py", "tests/test_strings.py"],
        "lock": ["uv.lock"],
        "changelog": ["CHANGELOG.md"],
        "generated": ["pkg/api_pb2.py"],
        "docs": ["docs/usage.md"],
    }
