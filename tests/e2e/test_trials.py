"""Trials and per-agent aggregates end to end (issue 13, item 1): a real run of fixtures/trials/.

Three agents, three trials each on four small tasks (fixtures/trials/make_trials.py has the
plan): ``steady`` and ``close`` tie, ``weak`` is ranked apart. One graded run; the report,
the terminal summary and the Markdown are all checked on it.
"""

from __future__ import annotations

import json
import re
import shutil
from typing import Any

import pytest

from pytest_proofswe.compare.stats import pass_hat_k
from tests.conftest import FIXTURES

pytestmark = pytest.mark.slow


def test_trials_aggregates_ties_and_comparisons(pytester: pytest.Pytester) -> None:
    shutil.copytree(FIXTURES / "trials", pytester.path / "trials", ignore=shutil.ignore_patterns("make_trials.py"))
    report, board = pytester.path / "r.json", pytester.path / "board.md"
    run = pytester.runpytest_subprocess(
        "--proofswe", "trials", "-k", "behaviour", f"--proofswe-report={report}", f"--proofswe-markdown={board}"
    )
    run.assert_outcomes(passed=22, failed=14)
    data = json.loads(report.read_text())

    # Each result says whose trial it is: folders <agent>@<n>/ and files <agent>@<n>.diff alike.
    by_sub = {(r["task"], r["submission"]): r for r in data["results"]}
    assert len(by_sub) == 36
    assert {(r["agent"], r["trial"]) for r in data["results"]} == {
        (a, n) for a in ("steady", "close", "weak") for n in (1, 2, 3)
    }
    assert by_sub[("clamp-low", "weak@3")]["behaviour"]["status"] == "patch_failed"  # counts as a failed trial

    agents = {a["agent"]: a for a in data["agents"]}
    assert [a["agent"] for a in data["agents"]] == ["steady", "close", "weak"]
    assert (agents["steady"]["rank"], agents["close"]["rank"], agents["weak"]["rank"]) == (1, 1, 3)
    assert agents["steady"]["tied_with"] == ["close"] and agents["weak"]["tied_with"] == []
    # pass^3: the share of tasks where every one of 3 trials resolved; C(c,3)/C(3,3) per task.
    assert agents["close"]["pass_hat_k"]["3"]["value"] == pytest.approx(0.5)
    assert agents["steady"]["pass_hat_k"]["3"]["value"] == pytest.approx(
        sum(pass_hat_k(3, c, 3) for c in (3, 3, 3, 2)) / 4
    )
    steady, close, weak = (agents[n]["resolved"] for n in ("steady", "close", "weak"))
    assert steady["interval"][0] <= close["interval"][1] and close["interval"][0] <= steady["interval"][1]  # overlap
    assert weak["interval"][1] < close["interval"][0]  # apart
    assert data["aggregation"]["k"] == 3 and data["aggregation"]["seed"] == 13
    # Costs stay separate axes: steady's meta.toml says what each trial cost; close's trials have no meta.
    assert agents["steady"]["cost_usd"] == {"mean": 0.4, "total": 4.8, "known": 12, "unknown": 0}
    assert agents["close"]["cost_usd"]["known"] == 0 and agents["weak"]["tokens"]["mean"] == 8000

    pairs = {(c["a"], c["b"]): c for c in data["comparisons"]}
    assert pairs[("steady", "close")]["p_value"] == 1.0 and pairs[("steady", "close")]["difference"]["interval"][0] < 0
    apart = pairs[("close", "weak")]
    assert (apart["tasks"], apart["a_better"], apart["difference"]["interval"][0] > 0) == (4, 4, True)
    assert apart["p_value"] == apart["smallest_p"] == 0.125

    out = run.stdout.str()
    assert re.search(r"^=1\s+steady\s+4\s+12\s+0\.92 \[0\.67, 1\.00\]\s+1\.00\s+0\.75\s", out, re.M), out[-3000:]
    assert re.search(r"^3\s+weak\s+4\s+12\s+0\.08 \[0\.00, 0\.33\]", out, re.M)
    assert re.search(r"\$0\.4000\s+52,000\s+95\.0$", out, re.M)
    assert (
        "close vs weak: +0.75 [+0.33, +1.00] on 4 task(s) (close better on 4, weak on 0, same on 0); p = 0.125" in out
    )

    md = board.read_text()
    assert "| =1 | steady | 4 | 12 | 0.92 [0.67, 1.00] |" in md and "| 3 | weak | 4 | 12 | 0.08 [0.00, 0.33] |" in md
    assert "| close | weak | 4 | 4 / 0 / 0 | +0.75 [+0.33, +1.00] | 0.125 | 0.375 |" in md

    # The same results give the same intervals: seeded, and independent of the order of the results.
    from pytest_proofswe.compare import aggregate

    again: dict[str, Any] = aggregate(reversed(data["results"])).to_json()
    assert again["agents"] == data["agents"] and again["comparisons"] == data["comparisons"]


def test_trials_from_several_predictions_files(pytester: pytest.Pytester) -> None:
    """--proofswe-predictions given twice: the k-th file holds trial k of each model."""
    task = FIXTURES / "trials" / "clamp-low"
    shutil.copytree(task, pytester.path / "clamp-low", ignore=shutil.ignore_patterns("submissions"))
    good, bad = (task / "gold.diff").read_text(), (task / "submissions" / "weak@1" / "patch.diff").read_text()
    files = []
    for number, patches in enumerate(({"org/m": good, "n": bad}, {"org/m": bad, "n": bad}), 1):
        path = pytester.path / f"run{number}.jsonl"
        path.write_text(
            "".join(
                json.dumps({"instance_id": "clamp-low", "model_name_or_path": m, "model_patch": p}) + "\n"
                for m, p in patches.items()
            )
        )
        files += ["--proofswe-predictions", str(path)]
    report = pytester.path / "r.json"
    run = pytester.runpytest_subprocess(*files, "clamp-low", "-k", "behaviour", f"--proofswe-report={report}")
    run.assert_outcomes(passed=1, failed=3)
    data = json.loads(report.read_text())
    got = {r["submission"]: (r["agent"], r["trial"], r["behaviour"]["status"]) for r in data["results"]}
    assert got == {
        "org__m@1": ("org/m", 1, "resolved"),
        "org__m@2": ("org/m", 2, "unresolved"),
        "n@1": ("n", 1, "unresolved"),
        "n@2": ("n", 2, "unresolved"),
    }
    agents = {a["agent"]: a for a in data["agents"]}
    assert agents["org/m"]["resolved"]["value"] == 0.5 and agents["org/m"]["pass_at_k"]["2"]["value"] == 1.0
    assert agents["org/m"]["pass_hat_k"]["2"]["value"] == 0.0
