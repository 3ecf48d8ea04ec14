"""The pytest11 entry point ``proofswe``: options and wiring only.

Without ``--proofswe`` (or a sibling option that implies it) this module registers
nothing else and imports nothing beyond pytest: the machinery lives in
:mod:`pytest_proofswe.collect` and the plain modules it uses.
"""

from __future__ import annotations

import pytest


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from . import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("proofswe", "grading coding-agent submissions (pytest-proofswe)")
    group.addoption(
        "--proofswe",
        action="store_true",
        default=False,
        help="collect task folders (holding a task.toml) and grade their submissions.",
    )
    group.addoption(
        "--proofswe-report",
        metavar="PATH",
        default=None,
        help="write the JSON report (schema proofswe-report/1) to PATH.",
    )
    group.addoption(
        "--proofswe-predictions",
        metavar="FILE",
        action="append",
        default=None,
        help="grade SWE-bench predictions (JSONL: instance_id, model_name_or_path, model_patch) "
        "against the collected tasks. Implies --proofswe. Given several times, the k-th file holds "
        "trial k of each model (or set a 'trial' field per line).",
    )
    group.addoption(
        "--proofswe-validate",
        action="store_true",
        default=False,
        help="validate the tasks instead: gold.diff must resolve and the FAIL_TO_PASS tests must "
        "fail at the base state. Implies --proofswe.",
    )
    group.addoption(
        "--proofswe-diff",
        metavar="BASE",
        default=None,
        help="grade this repository's own change since its merge base with BASE (e.g. origin/main): "
        "adds the items diff::taste and diff::review to the normal test run.",
    )
    group.addoption(
        "--proofswe-diff-only",
        action="store_true",
        default=False,
        help="with --proofswe-diff: grade only the change and collect none of the repository's tests "
        "(pre-commit hooks, lint-only jobs, checkouts without the project's dependencies).",
    )
    group.addoption(
        "--proofswe-history",
        metavar="BASE..HEAD",
        default=None,
        help="grade the decay of each commit of this range of the repository (items history::<commit> and "
        "history::decay); the repository's tests are not collected (docs/decay.md).",
    )
    group.addoption(
        "--proofswe-max-decay",
        metavar="POINTS",
        default=None,
        type=float,
        help="fail when code quality fell by more than POINTS decay points over the range (or a stepped task), "
        "naming the steps that did most of it (docs/decay.md).",
    )
    group.addoption(
        "--proofswe-durability",
        metavar="SELECTOR",
        default=None,
        help="with --proofswe-history: how much of an agent's code still stands (item history::durability); "
        "SELECTOR is author:NAME, 'trailer:Co-Authored-By: Claude', commits:ID,ID or session:TASK_FOLDER.",
    )
    group.addoption(
        "--proofswe-durability-after",
        metavar="N",
        default=None,
        type=int,
        help="observe the agent's lines N commits after each of its commits (default: at the end of the range).",
    )
    group.addoption(
        "--proofswe-replay",
        metavar="REPORT",
        default=None,
        help="grade again the results of a JSON report and say which reproduce and which differ. "
        "Implies --proofswe; give the task folders as usual.",
    )
    group.addoption(
        "--proofswe-compare",
        metavar="OLD.json",
        default=None,
        help="say what changed since an older JSON report, submission by submission (status, scores, "
        "cost), and which submissions are new or missing. Implies --proofswe.",
    )
    group.addoption(
        "--proofswe-fail-on-regression",
        action="store_true",
        default=False,
        help="with --proofswe-compare: the run fails (exit status 1) when a submission regressed: resolved "
        "before and not now, taste down by more than 5 points, review down by more than 0.5, session "
        "passed before and failed now.",
    )
    group.addoption(
        "--proofswe-markdown",
        metavar="PATH",
        default=None,
        help="write a Markdown summary (a PR comment; a leaderboard for task runs).",
    )
    group.addoption(
        "--proofswe-html",
        metavar="PATH",
        default=None,
        help="write the HTML report: one self-contained page (agents with intervals, charts of outcome against "
        "cost, each diff with its findings and the review's evidence, sessions, decay); it loads nothing.",
    )
    group.addoption(
        "--proofswe-sarif", metavar="PATH", default=None, help="write the findings as SARIF 2.1.0, for code scanning."
    )
    group.addoption(
        "--proofswe-keep-workspaces",
        action="store_true",
        default=False,
        help="keep each submission's workspace and print where it is.",
    )
    group.addoption(
        "--proofswe-rebuild-envs",
        action="store_true",
        default=False,
        help="rebuild the task environments instead of reusing the cached ones.",
    )
    group.addoption(
        "--proofswe-no-cache",
        action="store_true",
        default=False,
        help="grade every submission again instead of serving stored results whose inputs did not change "
        "(--cache-clear does the same); the new results are stored.",
    )
    group.addoption(
        "--proofswe-cache-dir",
        metavar="DIR",
        default=None,
        help="where bases and environments are cached (default: $PROOFSWE_CACHE_DIR, else ~/.cache/pytest-proofswe).",
    )
    group.addoption(
        "--proofswe-workspace-dir",
        metavar="DIR",
        default=None,
        help="where the temporary workspaces are made (default: /dev/shm when it has 2 GiB free, "
        "else the system's temporary folder).",
    )
    group.addoption(
        "--proofswe-jobs",
        metavar="N",
        default=None,
        type=int,
        help="grade N submissions at a time in this process (default 1; with pytest-xdist, use -n instead).",
    )
    group.addoption(
        "--proofswe-executor",
        metavar="NAME",
        default=None,
        choices=("local", "ray"),
        help="where submissions are graded: local (default: this process, --proofswe-jobs at a time) or ray "
        "(a Ray cluster: pip install 'pytest-proofswe[ray]'; see docs/scale.md).",
    )
    group.addoption(
        "--proofswe-ray-address",
        metavar="ADDR",
        default=None,
        help="with --proofswe-executor=ray: the cluster to grade on (default: $RAY_ADDRESS, else a local "
        "cluster of --proofswe-jobs CPUs, or of this machine's).",
    )
    group.addoption(
        "--proofswe-min-taste-score",
        metavar="SCORE",
        default=None,
        type=float,
        help="the taste item fails below this score (0-100; default 70).",
    )
    group.addoption(
        "--proofswe-model",
        metavar="MODEL",
        default=None,
        help="the reviewer's model, any litellm model name (e.g. openai/gpt-4o-mini); no model, no review.",
    )
    group.addoption(
        "--proofswe-rubric",
        metavar="NAME_OR_PATH",
        default=None,
        help="the rubric the reviewer applies: a built-in name (taste, review-quality) or a TOML file.",
    )
    group.addoption(
        "--proofswe-samples",
        metavar="N",
        default=None,
        type=int,
        help="reviewer samples per submission; the median per criterion counts (default 1).",
    )
    group.addoption(
        "--proofswe-max-cost",
        metavar="USD",
        default=None,
        type=float,
        help="stop making reviewer calls once this much has been spent.",
    )
    group.addoption(
        "--proofswe-fail-unstable",
        action="store_true",
        default=False,
        help="fail review items whose samples disagree (status unstable) instead of warning.",
    )
    group.addoption(
        "--proofswe-calibrate",
        metavar="DIR",
        default=None,
        help="review the labelled examples in DIR instead of grading tasks, and report the reviewer's "
        "agreement with the labels per criterion.",
    )
    group.addoption(
        "--proofswe-sandbox",
        metavar="MODE",
        default=None,
        choices=("auto", "bwrap", "none"),
        help="where the hidden tests run: bwrap (bubblewrap; the run fails when it cannot work), none "
        "(unsandboxed), or auto (default: bwrap when it works here, else none with a warning in the summary).",
    )
    parser.addini("proofswe_sandbox", "sandbox of the test runs (as --proofswe-sandbox)", default="")
    parser.addini("proofswe_markdown", "Markdown summary path (as --proofswe-markdown)", default="")
    parser.addini("proofswe_html", "HTML report path (as --proofswe-html)", default="")
    parser.addini("proofswe_sarif", "SARIF path (as --proofswe-sarif)", default="")
    parser.addini("proofswe_model", "reviewer model (as --proofswe-model)", default="")
    parser.addini("proofswe_rubric", "reviewer rubric (as --proofswe-rubric)", default="")
    parser.addini("proofswe_min_taste_score", "taste gate (as --proofswe-min-taste-score)", default="")
    parser.addini("proofswe_report", "path of the JSON report (as --proofswe-report)", default="")
    parser.addini("proofswe_cache_dir", "cache folder (as --proofswe-cache-dir)", default="")
    parser.addini("proofswe_workspace_dir", "where workspaces are made (as --proofswe-workspace-dir)", default="")
    parser.addini("proofswe_jobs", "submissions graded at a time (as --proofswe-jobs)", default="")
    parser.addini("proofswe_max_decay", "decay gate in points (as --proofswe-max-decay)", default="")
    parser.addini("proofswe_durability", "agent selector for durability (as --proofswe-durability)", default="")
    parser.addini("proofswe_durability_after", "commits after which durability is observed", default="")
    parser.addini("proofswe_executor", "where submissions are graded (as --proofswe-executor)", default="")
    parser.addini("proofswe_ray_address", "the Ray cluster (as --proofswe-ray-address)", default="")


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    opt = config.option
    if not (
        opt.proofswe
        or opt.proofswe_validate
        or opt.proofswe_predictions
        or opt.proofswe_calibrate
        or opt.proofswe_diff
        or opt.proofswe_diff_only
        or opt.proofswe_replay
        or opt.proofswe_compare
        or opt.proofswe_fail_on_regression
        or opt.proofswe_history
        or opt.proofswe_durability  # alone: a usage error (Settings says what it needs)
        or opt.proofswe_max_decay is not None
    ):
        return
    from .collect import ProofsweSession
    from .errors import UsageError
    from .settings import Settings

    try:
        settings = Settings.from_config(config)
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None
    if settings.diff_only:
        config.args[:] = []  # the change is the whole run: no path of the repository's tests is collected
    if settings.calibrate is not None and str(settings.calibrate) not in config.args:
        config.args.append(str(settings.calibrate))  # the examples are what this run collects
    config.pluginmanager.register(ProofsweSession(config, settings), "proofswe-session")
    grades_submissions = opt.proofswe or opt.proofswe_validate or opt.proofswe_predictions or opt.proofswe_replay
    distributed = config.pluginmanager.hasplugin("xdist") and config.getvalue("dist") != "no"
    if grades_submissions and distributed and not hasattr(config, "workerinput"):
        # Every item of a submission on one worker, so that it is graded once. Imported only
        # for a distributed run: xdist's scheduler module is slow to import.
        from .xdist_scheduling import XdistScheduling

        config.pluginmanager.register(XdistScheduling(), "proofswe-xdist-scheduling")
