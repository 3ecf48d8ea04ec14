"""The test, scope and secrets rules on real agent pull requests (shared/external/agent_prs_sample.jsonl).

The sample (183 PRs: 94 merged, 89 closed; see its SOURCES.md) holds each PR's unified diff
only, so the rules that read the diff's hunks and paths are run, not those needing the files.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from pytest_proofswe.harness.guard import is_test_path
from pytest_proofswe.harness.patch import parse_patch
from pytest_proofswe.taste import FileText, TasteConfig, TasteInput, scope, secrets, testrules
from tests.conftest import ROOT

SAMPLE = ROOT.parent / "shared" / "external" / "agent_prs_sample.jsonl"
pytestmark = pytest.mark.skipif(not SAMPLE.is_file(), reason="needs ../shared/external/agent_prs_sample.jsonl")


def pull_requests() -> list[tuple[dict[str, Any], TasteInput]]:
    out = []
    for line in SAMPLE.read_text(encoding="utf-8").splitlines():
        pr = json.loads(line)
        files = tuple(
            FileText(f.path, f.kind, None, None, f.hunks, old_path=f.source_path, binary=f.binary)
            for f in parse_patch(pr["diff"]).files
        )
        out.append((pr, TasteInput(files=files)))
    return out


def test_added_tests_are_never_edits() -> None:
    """tests-edited fires only where existing test lines were removed or changed, never for additions."""
    additions = edits = 0
    for pr, data in pull_requests():
        edited = {f.path for f in testrules.check(data, TasteConfig()) if f.rule == "tests-edited"}
        for f in data.files:
            if not is_test_path(f.path) or f.kind == "delete":
                continue
            if not f.removed():  # a new test file, or tests added to an existing one
                additions += 1
                assert f.path not in edited, pr["html_url"]
            elif f.path in edited:
                edits += 1
    # The sample has many of both: 69 test files only added to, 25 with test lines changed.
    assert additions >= 50 and edits >= 20


def test_only_code_counts_as_spread_of_real_prs() -> None:
    config = TasteConfig()
    not_counted: dict[str, int] = {}
    for pr, data in pull_requests():
        m = scope.metrics(data)
        kinds = m["files_not_counted"]
        assert m["code_files_touched"] + sum(len(paths) for paths in kinds.values()) == m["files_touched"]
        for kind, paths in kinds.items():
            not_counted[kind] = not_counted.get(kind, 0) + len(paths)
            assert all(not p.endswith(".py") or kind in ("tests", "docs", "generated") for p in paths), pr["html_url"]
        spread = [f for f in scope.check(data, config, m) if f.rule == "scope-files-touched"]
        assert bool(spread) == (m["code_files_touched"] > 3), pr["html_url"]
    assert set(not_counted) >= {"tests", "docs", "lock", "changelog"}


def test_stronger_asserts_of_real_prs_are_not_removed() -> None:
    """TobikoData/sqlmesh#4712 replaced `assert "each" in macros` by lookups and exact asserts;
    the other removed or weakened asserts of the sample still count."""
    removed: dict[str, int] = {}
    for pr, data in pull_requests():
        for f in testrules.check(data, TasteConfig()):
            if f.rule == "tests-assert-removed":
                removed[pr["html_url"]] = removed.get(pr["html_url"], 0) + 1
    assert "https://github.com/TobikoData/sqlmesh/pull/4712" not in removed
    assert sum(removed.values()) >= 10 and len(removed) >= 4  # 13 in 5 pull requests


def test_secrets_and_config_files_of_real_prs() -> None:
    """A dummy key in a unit test (AgentOps-AI/agentops#728) is no credential, a real-looking one
    (ComposioHQ/composio#1158) is; an ordinary module named setup.py (openai/openai-agents-python#729)
    is no packaging file, the CI and packaging files of the sample still are."""
    config = TasteConfig()
    credentials: list[tuple[str, str]] = []
    config_files: list[str] = []
    for pr, data in pull_requests():
        credentials += [(pr["html_url"], f.path) for f in secrets.check(data, config)]
        m = scope.metrics(data)
        config_files += [f.path for f in scope.check(data, config, m) if f.rule == "scope-config-touched"]
    assert credentials == [
        (
            "https://github.com/ComposioHQ/composio/pull/1158",
            "python/examples/quickstarters/arxiv-research-reporter/test_arxiv.py",
        )
    ]
    assert "src/agents/tracing/setup.py" not in config_files
    assert {"pyproject.toml", ".github/workflows/ci.yml", "Makefile"} <= set(config_files)
