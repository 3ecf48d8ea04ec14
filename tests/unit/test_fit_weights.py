"""benchmarks/fit_weights.py: scores computed again from a results file, the grid fit, the folds."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from tests.conftest import ROOT

SCRIPT = ROOT / "benchmarks" / "fit_weights.py"


def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fit_weights", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pr(repo: str, number: int, merged: bool, code_lines: int, findings: list[list[Any]]) -> dict[str, Any]:
    return {
        "id": f"{repo}#{number}",
        "repo": repo,
        "merged": merged,
        "clean": True,
        "status": "graded",
        "metrics": {"code_lines_changed": code_lines},
        "findings": findings,
    }


def size(lines: int) -> list[Any]:
    return ["scope-code-lines", "", None, round(0.1 * (lines - 10), 1), f"{lines} lines"]


MODULE = ["structure-new-module", "m.py", 1, 6, "new module m"]


def sample() -> list[dict[str, Any]]:
    """Three repositories; a new module goes with closing in each, size says nothing."""
    rows = []
    for r, repo in enumerate(("a/x", "b/y", "c/z")):
        rows += [
            pr(repo, 10 * r + 1, True, 40, [size(40)]),
            pr(repo, 10 * r + 2, True, 60, [size(60)]),
            pr(repo, 10 * r + 3, False, 40, [size(40), MODULE]),
            pr(repo, 10 * r + 4, False, 60, [size(60)]),
        ]
    return rows


def test_a_score_is_computed_again_as_the_grader_computes_it() -> None:
    fw = script()
    weights = {rule: r.weight for rule, r in fw.RULES.items()}
    units = fw.units(pr("a/x", 1, True, 60, [size(60), MODULE]), {**weights, "structure-new-module": 6})
    assert units == {"scope-code-lines": 50.0, "structure-new-module": 1.0}
    assert fw.score(units, {**weights, "scope-code-lines": 0.1, "structure-new-module": 6}) == 89.0
    # The size rule's cap and the floor at 0, as the grader applies them.
    assert fw.score({"scope-code-lines": 990.0}, {**weights, "scope-code-lines": 0.1}) == 100 - fw.CODE_LINES_CAP
    assert fw.score({"structure-new-module": 9.0}, {**weights, "structure-new-module": 15}) == 0.0


def test_the_fit_moves_only_where_the_auc_gains_and_the_folds_leave_each_repository_out() -> None:
    fw = script()
    start = {rule: r.weight for rule, r in fw.RULES.items()} | {"structure-new-module": 0.0, "scope-code-lines": 0.1}
    rows = [{**r, "units": fw.units(r, {**start, "structure-new-module": 6})} for r in sample()]
    grids = {"structure-new-module": [0, 6, 15], "scope-code-lines": [0, 0.1, 0.3]}
    fitted, in_sample = fw.fit(rows, grids, start)
    # A new module separates one closed PR per repository: any positive weight gains, the
    # nearest to the start wins the tie; size separates nothing, so it stays where it was.
    assert (fitted["structure-new-module"], fitted["scope-code-lines"]) == (6, 0.1)
    assert in_sample > fw.auc_of(rows, start)
    cross, folds = fw.leave_one_repository_out(rows, grids, start)
    assert sorted(folds) == ["a/x", "b/y", "c/z"] and cross == in_sample


def test_the_command_writes_folds_for_every_repository(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    document = {"meta": {"weights": None, "weights_in_force": {"structure-new-module": 6}}, "results": sample()}
    document["results"].append({**pr("d/w", 1, True, 5, []), "clean": False})  # graded with --all, say
    results.write_text(json.dumps(document))
    out = tmp_path / "folds.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), str(results), "--rule", "structure-new-module=0,6,15", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "6 merged vs 6 closed PRs" in proc.stdout and "leave-one-repository-out AUC" in proc.stdout
    folds = json.loads(out.read_text())["folds"]
    assert sorted(folds) == ["a/x", "b/y", "c/z", "d/w"]
    assert all(set(f["weights"]) == {"structure-new-module"} for f in folds.values())
    refused = subprocess.run(
        [sys.executable, str(SCRIPT), str(results), "--rule", "tests-edited=0,1"], capture_output=True, text=True
    )
    assert refused.returncode != 0 and "its weight in force is 0" in refused.stderr
