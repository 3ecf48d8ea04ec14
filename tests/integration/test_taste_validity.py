"""benchmarks/taste_validity.py on PR shapes stored in tests/data (no mirror, no network) and on a local mirror."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import make_git_repo

ROOT = Path(__file__).resolve().parent.parent.parent
SCRIPT = ROOT / "benchmarks" / "taste_validity.py"
SHAPES = ROOT / "tests" / "data" / "taste_validity"
GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
TASTE, LINES = "taste score", "fewer lines changed, alone"


def harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("taste_validity", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["taste_validity"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--quiet", *map(str, args)], capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    out = tmp_path_factory.mktemp("validity") / "out.json"
    proc = run("--fixtures", SHAPES, "--out", out, "--bootstrap", "100")
    assert proc.returncode == 0, proc.stderr
    return json.loads(out.read_text()), proc.stdout


def by_signal(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["signal"]: row for row in summary["signals"]}


def test_every_shape_is_rebuilt_and_graded(shapes: tuple[dict[str, Any], str]) -> None:
    document, _ = shapes
    assert document["meta"]["subset"] == "fixtures"
    assert document["meta"]["grader"]["commit"]
    summary = document["summary"]
    assert (summary["merged"], summary["closed"], summary["graded"], summary["skipped"]) == (5, 4, 9, {})
    for result in document["results"]:
        assert result["status"] == "graded", result
        assert {"id", "merged", "score", "lines_changed", "metrics", "rules", "findings"} <= set(result)
        meta = json.loads((SHAPES / _folder(result) / "pr.json").read_text())
        # The change graded is the PR's whole diff: the line counts recorded with the shape.
        assert result["lines_changed"] == meta["lines_added"] + meta["lines_deleted"]
    # One shape only adds files: it has no base/, and the harness starts from an empty commit.
    assert [_folder(r) for r in document["results"] if not (SHAPES / _folder(r) / "base").exists()] == [
        "merged-ledger-9"
    ]


def _folder(result: dict[str, Any]) -> str:
    label = "merged" if result["merged"] else "closed"
    return f"{label}-{result['repo'].split('/')[1].lower()}-{result['pr_number']}"


def test_lines_alone_auc_is_the_figure_computed_by_hand(shapes: tuple[dict[str, Any], str]) -> None:
    """Merged: 2, 4, 10, 22, 30 lines; closed: 10, 51, 64, 140. Pairs where the merged PR is smaller,
    a tie counting one half: 2 -> 4, 4 -> 4, 10 -> 3 + 0.5 (the closed 10), 22 -> 3, 30 -> 3, so 17.5 of 20
    (0.85 if ties counted nothing, 0.9 if they counted whole)."""
    summary = shapes[0]["summary"]
    lines = by_signal(summary)[LINES]
    assert lines["auc"] == round(17.5 / 20, 3)
    low, high = lines["ci95"]
    assert 0 <= low <= lines["auc"] <= high <= 1
    # Halves by lines (9 PRs: the smaller 4, the larger 5): {2, 4, 10 | 10} and {22, 30 | 51, 64, 140}.
    smaller, larger = summary["halves"]["smaller"], summary["halves"]["larger"]
    assert (smaller["lines_changed_range"], larger["lines_changed_range"]) == ([2, 10], [22, 140])
    assert (smaller["merged"], smaller["closed"], larger["merged"], larger["closed"]) == (3, 1, 2, 3)
    assert by_signal(smaller)[LINES]["auc"] == round(2.5 / 3, 3)
    assert by_signal(larger)[LINES]["auc"] == 1.0
    # Pairs from the same repository only: inkwell {2, 22 | 51} 2 of 2, orchard {4, 10 | 10, 64} 3.5 of 4,
    # ledger {30 | 140} 1 of 1: 6.5 of 7. One agent for all: the 20 pairs of the whole.
    repo, agent = summary["within"]["repo"], summary["within"]["agent"]
    assert (repo["groups_with_both"], agent["groups_with_both"]) == (3, 1)
    assert (by_signal(repo)[LINES]["auc"], by_signal(repo)[LINES]["pairs"]) == (round(6.5 / 7, 3), 7)
    assert (by_signal(agent)[LINES]["auc"], by_signal(agent)[LINES]["pairs"]) == (round(17.5 / 20, 3), 20)


def test_score_and_rule_figures_agree_with_the_per_pr_grades(shapes: tuple[dict[str, Any], str]) -> None:
    document, stdout = shapes
    graded = document["results"]
    merged = [r for r in graded if r["merged"]]
    closed = [r for r in graded if not r["merged"]]
    wins = sum(
        1.0 if m["score"] > c["score"] else 0.5 if m["score"] == c["score"] else 0.0 for m in merged for c in closed
    )
    rows = by_signal(document["summary"])
    assert rows[TASTE]["auc"] == round(wins / (len(merged) * len(closed)), 3)
    assert document["summary"]["taste_minus_lines"]["auc"] == round(rows[TASTE]["auc"] - rows[LINES]["auc"], 3)
    # Within a repository: the same count over pairs of the same repository only.
    same = [(m, c) for m in merged for c in closed if m["repo"] == c["repo"]]
    wins_within = sum(1.0 if m["score"] > c["score"] else 0.5 if m["score"] == c["score"] else 0.0 for m, c in same)
    within = by_signal(document["summary"]["within"]["repo"])[TASTE]
    assert (within["auc"], within["pairs"]) == (round(wins_within / len(same), 3), len(same))
    rules = [row for row in document["summary"]["signals"] if row["kind"] == "rule"]
    assert rules, "no rule fired on any shape"
    for row in rules:
        fires_m = sum(1 for r in merged if row["rule"] in r["rules"])
        fires_c = sum(1 for r in closed if row["rule"] in r["rules"])
        assert (row["merged_fires"], row["closed_fires"]) == (fires_m, fires_c)
        # A penalty's absence pointing to merged: 0.5 + (share of closed - share of merged) / 2.
        if row["direction"] == "absent = merged":
            assert row["auc"] == round(0.5 + (fires_c / len(closed) - fires_m / len(merged)) / 2, 3)
    assert "| taste score |" in stdout and "| fewer lines changed, alone | 0.88 |" in stdout


def test_auc_counts_ties_as_one_half_and_the_bootstrap_is_seeded() -> None:
    tv = harness()
    assert tv.auc([1, 2], [2, 0]) == 2.5 / 4
    assert tv.auc([3, 3], [3]) == 0.5
    assert tv.auc([], [1]) is None
    # Within groups: only pairs of the same group count (2 pairs won in "a", 1 lost in "b").
    assert tv.auc_within({"a": ([1, 2], [0]), "b": ([0], [5]), "c": ([1], [])}) == (2 / 3, 3)
    signal = tv.Signal("s", "score", {"a": 1.0, "b": 2.0, "c": 0.0, "d": 2.0, "e": 1.5})
    first = tv.bootstrap([signal], ["a", "b", "e"], ["c", "d"], rounds=200, seed=7)
    again = tv.bootstrap([signal], ["a", "b", "e"], ["c", "d"], rounds=200, seed=7)
    assert first == again and first[0]["s"][0] <= first[0]["s"][1]


def test_clean_labels_are_74_merged_and_32_closed_by_the_rules_of_the_sources() -> None:
    tv = harness()
    base = {"label_notes": [], "agent": "OpenAI Codex", "closed_by": "maintainer", "closed_by_pr_author": False}
    assert tv.is_clean({**base, "merged": True})
    assert not tv.is_clean({**base, "merged": True, "label_notes": ["merged diff includes commits by humans: x"]})
    assert tv.is_clean({**base, "merged": False})
    assert not tv.is_clean({**base, "merged": False, "closed_by_pr_author": True})
    assert not tv.is_clean({**base, "merged": False, "label_notes": ["repository auto-closes (stale bot) ..."]})
    assert not tv.is_clean({**base, "merged": False, "closed_by": "github-actions[bot]"})
    assert not tv.is_clean({**base, "merged": False, "closed_by": None, "agent": "GitHub Copilot"})
    assert tv.is_clean({**base, "merged": False, "closed_by": None, "agent": "Devin"})


def _mirrors(tmp_path: Path) -> tuple[Path, str, str, str]:
    """Mirrors of owner/name (a base, and a PR head that fixes one function and adds a test) and of
    owner/lacking, the same repository whose snapshot lacks a file the PR does not touch."""
    work = tmp_path / "work"
    big = "".join(f"row {i}\n" for i in range(200))
    base = make_git_repo(
        work, {"pkg/__init__.py": "", "pkg/calc.py": "def half(x):\n    return x / 2\n", "data/big.txt": big}
    )
    (work / "pkg" / "calc.py").write_text("def half(x):\n    return x // 2\n")
    (work / "tests").mkdir()
    (work / "tests" / "test_calc.py").write_text(
        "from pkg.calc import half\n\n\ndef test_half():\n    assert half(3) == 1\n"
    )
    subprocess.run([*GIT, "add", "-A"], cwd=work, check=True)
    subprocess.run([*GIT, "commit", "-qm", "fix"], cwd=work, check=True)
    head = subprocess.run([*GIT, "rev-parse", "HEAD"], cwd=work, check=True, capture_output=True, text=True).stdout
    diff = subprocess.run([*GIT, "diff", base, "HEAD"], cwd=work, check=True, capture_output=True, text=True).stdout
    mirrors = tmp_path / "mirrors"
    for name in ("owner+name", "owner+lacking"):
        subprocess.run(["git", "clone", "-q", "--bare", str(work), str(mirrors / name / "repo")], check=True)
    lacking = mirrors / "owner+lacking" / "repo"
    blob = subprocess.run(
        ["git", "--git-dir", str(lacking), "rev-parse", f"{base}:data/big.txt"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (lacking / "objects" / blob[:2] / blob[2:]).unlink()  # loose objects: the clone did not pack them
    return mirrors, base, head.strip(), diff


def _row(number: int, repo: str, base: str, head: str | None, diff: str, merged: bool) -> str:
    row = {"repo": repo, "pr_number": number, "merged": merged, "base_sha": base, "head_sha": head, "diff": diff}
    return json.dumps(row | {"label_notes": [], "closed_by_pr_author": False, "closed_by": "m", "agent": "Devin"})


@pytest.fixture(scope="module")
def mirrored(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp_path = tmp_path_factory.mktemp("mirrored")
    mirrors, base, head, diff = _mirrors(tmp_path)
    sample = tmp_path / "sample.jsonl"
    rows = [
        _row(1, "owner/name", base, head, diff, True),  # the head commit, checked out
        _row(2, "owner/name", base, None, diff, False),  # no head: the stored diff, applied
        _row(3, "owner/gone", base, head, diff, True),
        _row(4, "owner/name", "0" * 40, head, diff, False),
        _row(5, "owner/lacking", base, head, diff, True),
    ]
    sample.write_text("\n".join(rows) + "\n")
    out = tmp_path / "out.json"
    proc = run("--sample", sample, "--mirrors", mirrors, "--all", "--out", out, "--bootstrap", "0", "--via-pytest", "5")
    assert proc.returncode == 0, proc.stderr
    document: dict[str, Any] = json.loads(out.read_text())
    return document


def test_a_sample_is_rebuilt_from_local_mirrors_and_what_is_missing_is_counted(mirrored: dict[str, Any]) -> None:
    results = {r["pr_number"]: r for r in mirrored["results"]}
    assert results[1]["status"] == results[2]["status"] == "graded"
    assert results[1]["score"] == results[2]["score"] and results[1]["findings"] == results[2]["findings"]
    assert results[1]["lines_changed"] == 7  # one line changed in calc.py (2), the new test (5)
    assert mirrored["summary"]["skipped"] == {"base commit not in the mirror": 1, "repository not in the mirrors": 1}
    # The real command (pytest --proofswe-diff=main in the rebuilt checkout) grades them the same.
    via = [r["via_pytest"] for r in mirrored["results"] if "via_pytest" in r]
    assert mirrored["summary"]["via_pytest"] == {"checked": 3, "same": 3}, via


def test_a_file_the_snapshot_lacks_is_a_placeholder_when_the_pr_leaves_it_alone(mirrored: dict[str, Any]) -> None:
    """Snapshots leave out files of 4 MiB and more; without placeholders they would read as deleted."""
    results = {r["pr_number"]: r for r in mirrored["results"]}
    complete, lacking = results[1], results[5]
    assert lacking["status"] == "graded", lacking
    assert (lacking["placeholders"], complete["placeholders"]) == (1, 0)
    assert lacking["score"] == complete["score"] and lacking["findings"] == complete["findings"]
    assert lacking["lines_changed"] == complete["lines_changed"]


def test_weights_given_per_repository_are_the_ones_its_prs_are_graded_with(
    shapes: tuple[dict[str, Any], str], tmp_path: Path
) -> None:
    repo = "proofswe-shapes/inkwell"  # a fix, a fix with its test, a complex function made more complex
    default = {r["id"]: r for r in shapes[0]["results"] if r["repo"] == repo}
    cost = {i: sum(f[3] for f in r["findings"] if f[0] == "complexity-increase") for i, r in default.items()}
    assert cost[f"{repo}#47"] > 0, "the shape no longer shows a complexity increase: pick another rule for this test"
    assert 0 in cost.values(), "one shape without the rule shows that only the rule's weight changed"
    weights = tmp_path / "weights.json"
    weights.write_text(json.dumps({"folds": {repo: {"weights": {"complexity-increase": 0}}}}))
    out = tmp_path / "out.json"
    proc = run("--fixtures", SHAPES, "--only", repo, "--weights", weights, "--out", out, "--bootstrap", "0")
    assert proc.returncode == 0, proc.stderr
    document = json.loads(out.read_text())
    # Scores are stored to 0.1: the sum of two rounded figures can differ from the rounded sum by that much.
    assert {r["id"]: r["score"] for r in document["results"]} == {
        i: pytest.approx(min(100.0, r["score"] + cost[i]), abs=0.1 + 1e-9) for i, r in default.items()
    }
    assert document["meta"]["weights"]["folds"] is True
    assert "cross-validated" in proc.stdout
    weights.write_text(json.dumps({"folds": {"someone/else": {"weights": {}}}}))
    missing = run("--fixtures", SHAPES, "--only", repo, "--weights", weights, "--bootstrap", "0")
    assert missing.returncode != 0 and f"no fold for {repo}" in missing.stderr


def test_results_are_summarised_again_and_compared_without_grading(
    shapes: tuple[dict[str, Any], str], tmp_path: Path
) -> None:
    document, _ = shapes
    old = tmp_path / "old.json"
    moved = json.loads(json.dumps(document))
    moved["results"][0]["score"] -= 10
    old.write_text(json.dumps(moved))
    fresh = tmp_path / "fresh.json"
    fresh.write_text(json.dumps(document))
    proc = run("--from-results", fresh, "--compare", old, "--bootstrap", "100")
    assert proc.returncode == 0, proc.stderr
    assert "1 of 9 PRs changed score" in proc.stdout
    assert f"{document['results'][0]['id']} " in proc.stdout.split("Largest moves:")[1]
