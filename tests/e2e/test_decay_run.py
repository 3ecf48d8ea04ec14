"""Decay end to end: the stepped example task, and --proofswe-history over a repository made by the test."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import FIXTURES, LLMServer, run_grader

pytestmark = pytest.mark.slow

PRICING = FIXTURES / "stepped" / "pricing-steps"
STEPS = ("1-discount", "2-tax", "3-coupons")


def test_stepped_task_the_gate_fails_on_the_bloating_steps(tmp_path: Path, cache_dir: Path) -> None:
    shutil.copytree(PRICING, tmp_path / "pricing-steps")
    run = run_grader(
        tmp_path,
        cache_dir,
        "--proofswe",
        "pricing-steps",
        "--proofswe-max-decay=5",
        "--junitxml=j.xml",
        "--proofswe-markdown=summary.md",
        "-rA",
    )
    out = run.output
    assert run.returncode == 1, out[-4000:]
    # Every step of both submissions resolves its hidden tests, on top of the previous steps.
    rows = {(r["task"], r["submission"]): r for r in run.report["results"]}
    assert {k: r["behaviour"]["status"] for k, r in rows.items()} == {
        (f"pricing-steps.{step}", sub): "resolved" for step in STEPS for sub in ("tidy", "bloat")
    }
    assert rows[("pricing-steps.2-tax", "bloat")]["step"] == {
        "task": "pricing-steps", "id": "2-tax", "index": 2, "of": 3, "title": "Tax on the discounted total"
    }  # fmt: skip
    stepped = {d["submission"]: d for d in run.report["stepped"]}
    bloat, tidy = stepped["bloat"], stepped["tidy"]
    # bloat, step 2 (counted by hand): the 7-line summing loop copied into total_before_tax (14
    # duplicated lines, 3.5), compute_total passes its arguments through (a wrapper, 2), and total()
    # is now named twice, no longer single-use (-0.5).
    two = bloat["decay"]["steps"][1]
    assert (two["duplication"]["lines_before"], two["duplication"]["lines_after"]) == (0, 14)
    assert two["abstraction"]["new_wrappers"] == ["pricing/cart.py::compute_total"]
    assert (two["abstraction"]["single_use_before"], two["abstraction"]["single_use_after"]) == (1, 0)
    assert two["points"] == 5.0
    # step 3: total() reaches complexity 10 and total_with_coupon 8: excess 5 + 3.
    three = bloat["decay"]["steps"][2]
    assert (three["complexity"]["excess_before"], three["complexity"]["excess_after"]) == (0, 8)
    assert three["abstraction"]["new_wrappers"] == ["pricing/cart.py::get_total"]
    assert three["points"] == 24.75 and bloat["decay"]["decay"] == 29.75
    assert bloat["gate"] == {"decay": 29.75, "max_decay": 5.0, "passed": False, "culprits": ["3-coupons"]}
    # tidy: one helper used once (apply_coupon), nothing else.
    assert tidy["decay"]["decay"] == 0.5 and tidy["gate"]["passed"]
    assert tidy["decay"]["steps"][2]["abstraction"]["new_single_use"] == ["pricing/cart.py::apply_coupon"]
    # The items: the submission's gate and the step that did most of it fail; tidy's pass.
    assert "FAILED pricing-steps::bloat::decay" in out
    assert "FAILED pricing-steps::bloat::3-coupons::decay" in out
    assert "PASSED pricing-steps::bloat::2-tax::decay" in out
    assert "PASSED pricing-steps::tidy::decay" in out
    assert "code quality fell by 29.75 decay points over the range, more than max_decay=5" in out
    assert "gate max_decay=5: FAILED (steps: 3-coupons)" in out
    assert '<property name="proofswe_decay" value="29.75"' in (tmp_path / "j.xml").read_text()
    summary = (tmp_path / "summary.md").read_text()
    assert "### Decay of pricing-steps::bloat" in summary and "| `3-coupons` | +24.75 | +8 | +5 | +37 |" in summary
    assert "Gate `max_decay=5`: **failed**; the steps that did most of it: `3-coupons`." in summary


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _git(repo: Path, *args: str, who: str = "Hana") -> str:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
        "GIT_AUTHOR_NAME": who,
        "GIT_AUTHOR_EMAIL": f"{who.lower()}@example.com",
        "GIT_COMMITTER_NAME": who,
        "GIT_COMMITTER_EMAIL": f"{who.lower()}@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def bloat_repo(tmp_path: Path) -> tuple[Path, list[str]]:
    """The pricing task's base as a repository, then bloat's three patches as three commits (by an agent)."""
    repo = tmp_path / "shop"
    shutil.copytree(PRICING / "repo", repo)
    # A test of the repository that fails: history mode must not collect it.
    (repo / "tests" / "test_never_collected.py").write_text("def test_fails():\n    assert False\n")
    _git(repo, "init", "-q", "--initial-branch=main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    ids = [_git(repo, "rev-parse", "HEAD")]
    for step in STEPS:
        _git(repo, "apply", str(PRICING / "submissions" / "bloat" / "steps" / f"{step}.diff"))
        _git(repo, "commit", "-qam", f"{step}\n\nCo-Authored-By: Claude <noreply@anthropic.com>", who="Agent")
        ids.append(_git(repo, "rev-parse", "HEAD"))
    return repo, ids


def _pytest(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_under_xdist_each_stepped_submission_is_graded_once(tmp_path: Path, cache_dir: Path) -> None:
    """Every item of a stepped submission (its steps' and its decay) runs on the worker that grades it."""
    shutil.copytree(PRICING, tmp_path / "pricing-steps")
    log = tmp_path / "graded.log"
    (tmp_path / "conftest.py").write_text(
        "import os\n\n"
        "def pytest_proofswe_taste_findings(config, context):\n"
        f"    with open({str(log)!r}, 'a') as f:\n"
        "        f.write(f\"{context.task}::{context.submission} {os.environ.get('PYTEST_XDIST_WORKER')}\\n\")\n"
    )
    run = run_grader(tmp_path, cache_dir, "--proofswe", "pricing-steps", "-n", "2", "--proofswe-no-cache")
    assert run.returncode == 1 and "1 failed, 19 passed" in run.output, run.output[-4000:]  # bloat's last taste
    graded = [line.split()[0] for line in log.read_text().splitlines()]
    # Each step of each submission graded once (steps graded twice would show here twice).
    assert sorted(graded) == sorted(f"pricing-steps.{step}::{sub}" for step in STEPS for sub in ("tidy", "bloat"))


def test_history_gate_names_the_commit_and_leaves_the_checkout_alone(bloat_repo: tuple[Path, list[str]]) -> None:
    repo, ids = bloat_repo
    (repo / "pricing" / "cart.py").write_text("# work in progress\n")  # the user's uncommitted edit
    status = _git(repo, "status", "--porcelain")
    report = repo.parent / "history.json"
    proc = _pytest(
        repo,
        f"--proofswe-history={ids[0]}..HEAD",
        "--proofswe-max-decay=5",
        "--proofswe-durability=trailer:Co-Authored-By: Claude",
        f"--proofswe-report={report}",
        f"--junitxml={repo.parent / 'j.xml'}",
        f"--proofswe-markdown={repo.parent / 'summary.md'}",
        "-rA",
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out[-4000:]
    assert _git(repo, "status", "--porcelain") == status  # nothing of the user's touched
    assert "test_never_collected" not in out  # the repository's tests are not collected
    short = [i[:12] for i in ids]
    assert f"PASSED history::{short[1]}" in out and f"PASSED history::{short[2]}" in out
    assert f"FAILED history::{short[3]}" in out  # the commit that did most of it
    assert "FAILED history::decay" in out and "PASSED history::durability" in out
    import json

    doc = json.loads(report.read_text())["history"]
    # The same code states as the stepped task's: the same figures.
    assert [s["points"] for s in doc["decay"]["steps"]] == [0, 5.0, 24.75]
    assert doc["gate"] == {"decay": 29.75, "max_decay": 5.0, "passed": False, "culprits": [ids[3]]}
    assert [c["id"] for c in doc["commits"]] == ids[1:]
    assert doc["decay"]["steps"][2]["author"] == "Agent <agent@example.com>"
    durability = doc["durability"]
    assert durability["selector"] == "trailer:Co-Authored-By: Claude" and len(durability["commits"]) == 3
    assert durability["lines"] > 0 and durability["share_standing"] < 1
    junit = (repo.parent / "j.xml").read_text()
    assert f'<property name="proofswe_commit" value="{ids[3]}"' in junit
    assert '<property name="proofswe_decay_points" value="24.75"' in junit
    assert "= proofswe history =" in out and f"gate max_decay=5: FAILED (steps: {ids[3][:10]})" in out
    summary = (repo.parent / "summary.md").read_text()
    assert f"Gate `max_decay=5`: **failed**; the steps that did most of it: `{short[3]}`." in summary
    assert "Durability (`trailer:Co-Authored-By: Claude`)" in summary


def test_history_items_can_be_selected_and_spread_over_xdist(bloat_repo: tuple[Path, list[str]]) -> None:
    repo, ids = bloat_repo
    report = repo.parent / "k.json"
    proc = _pytest(repo, f"--proofswe-history={ids[0]}..HEAD", "-k", ids[2][:12], f"--proofswe-report={report}")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "1 passed, 3 deselected" in proc.stdout
    import json

    assert json.loads(report.read_text())["history"]["decay"]["decay"] == 29.75  # the whole range, still
    xdist = _pytest(repo, f"--proofswe-history={ids[0]}..HEAD", "-n", "2", f"--proofswe-report={report}")
    assert xdist.returncode == 0, xdist.stdout[-3000:]  # no max_decay: nothing fails
    assert json.loads(report.read_text())["history"]["gate"] is None
    assert "= proofswe history =" in xdist.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--proofswe-history=nope..HEAD"], "--proofswe-history: unknown revision 'nope'"),
        (["--proofswe-durability=author:x"], "--proofswe-durability measures the agent's lines over the range"),
        (["--proofswe-max-decay=3"], "--proofswe-max-decay is a gate on --proofswe-history or on stepped tasks"),
        (["--proofswe-history=HEAD~1..HEAD", "--proofswe-durability=who:x"], "not an agent selector"),
        (["--proofswe-history=HEAD~1..HEAD", "--proofswe-durability-after=0"], "must be at least 1"),
    ],
)
def test_history_usage_errors(bloat_repo: tuple[Path, list[str]], args: list[str], message: str) -> None:
    proc = _pytest(bloat_repo[0], *args)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert message in proc.stderr
    assert "fix: " in proc.stderr or "at least 1" in proc.stderr


def test_the_durability_command(tmp_path: Path) -> None:
    history = _load("make_agent_history", FIXTURES / "repos" / "make_agent_history.py")
    ids = history.build(tmp_path / "repo")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest_proofswe", "durability", "--repo", str(tmp_path / "repo"),
         "--agent", "trailer:Co-Authored-By: Claude", "--range", f"{ids['c0']}..HEAD"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "33% of 9 agent line(s) still stand" in proc.stdout
    assert "Dave <dave@example.com>: 2 reverted" in proc.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "pytest_proofswe", "durability", "--repo", str(tmp_path / "repo"), "--agent", "author:x"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2 and "--range is needed" in bad.stderr


def test_stepped_validation_and_a_step_that_does_not_apply(tmp_path: Path, cache_dir: Path) -> None:
    task = tmp_path / "pricing-steps"
    shutil.copytree(PRICING, task)
    good = run_grader(tmp_path, cache_dir, "--proofswe-validate", "pricing-steps", "-rA")
    assert good.returncode == 0, good.output[-3000:]
    assert all(f"PASSED pricing-steps::gold::{step}::validate" in good.output for step in STEPS)
    # Step 2's gold is step 1's patch again: it does not apply, and step 3 has no state to go on.
    shutil.copy(task / "steps" / "1-discount" / "gold.diff", task / "steps" / "2-tax" / "gold.diff")
    bad = run_grader(tmp_path, cache_dir, "--proofswe-validate", "pricing-steps", "-rA")
    assert bad.returncode == 1
    rows = {r["task"]: r["behaviour"] for r in bad.report["results"]}
    assert rows["pricing-steps.1-discount"]["status"] == "resolved"
    assert rows["pricing-steps.2-tax"]["status"] == "patch_failed"
    assert rows["pricing-steps.3-coupons"] == {
        **rows["pricing-steps.3-coupons"],
        "status": "patch_failed",
        "reason": "an earlier step's patch did not apply: no state to apply this one to",
    }
    (task / "steps" / "3-coupons" / "gold.diff").unlink()
    missing = run_grader(tmp_path, cache_dir, "--proofswe-validate", "pricing-steps")
    assert "no gold.diff for step(s) 3-coupons" in missing.output


def test_the_review_estimate_counts_each_steps_patch_and_issue(
    tmp_path: Path, cache_dir: Path, llm_server: LLMServer
) -> None:
    shutil.copytree(PRICING, tmp_path / "pricing-steps")
    base = f"http://127.0.0.1:{llm_server.server_address[1]}/v1"  # a local fake: nothing leaves the machine
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.proofswe]\nmodel = "openai/proofswe-test-stepped-estimate"\n[tool.proofswe.review]\napi_base = "{base}"\nnum_retries = 0\n'
    )
    run = run_grader(tmp_path, cache_dir, "--proofswe", "pricing-steps", "-k", "review")
    line = next(ln for ln in run.output.splitlines() if ln.startswith("proofswe review: up to"))
    patches = sum(len(p.read_text()) for p in (tmp_path / "pricing-steps" / "submissions").rglob("*.diff"))
    issues = sum(p.stat().st_size for p in (tmp_path / "pricing-steps" / "steps").rglob("issue.md"))
    tokens = int(line.split("about ")[1].split(" input tokens")[0].replace(",", ""))
    assert "(6 review(s) x 1 sample(s))" in line
    assert tokens == (patches + 2 * issues) // 4 + 6 * 1500  # each step's issue, once per submission
    # One review per step and submission, each with its step's patch and issue; bloat's first patch is
    # tidy's, so its review comes from the cache.
    assert len(llm_server.requests) == 5
    assert all("pricing/cart.py" in json.dumps(r) for r in llm_server.requests)
    assert sum("applies after the discount and before the tax" in json.dumps(r) for r in llm_server.requests) == 2
