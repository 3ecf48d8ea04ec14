"""Does the taste grade predict what maintainers merge? AUC on real agent pull requests.

Usage:
  python benchmarks/taste_validity.py [--all] [--jobs N] [--out FILE] [--mirrors DIR] [--sample FILE]
  python benchmarks/taste_validity.py --fixtures tests/data/taste_validity [--out FILE]
  python benchmarks/taste_validity.py --from-results FILE [--compare OLD]

Each pull request of the shared sample (``../shared/external/agent_prs_sample.jsonl`` beside
this repository; its label rules are in ``agent_prs_SOURCES.md``) is rebuilt from a local
mirror of its repository, with no network: a new repository in a temporary folder borrows
the mirror's objects, ``main`` is the PR's base commit and the PR's head commit is checked
out (or, without it, the stored diff is applied and committed). The change is then graded
as ``pytest --proofswe-diff=main`` grades it there: :func:`pytest_proofswe.modes.diffmode.collect_change`
and :func:`~pytest_proofswe.modes.diffmode.grade_change` in this process, with the repository's
own ``[tool.proofswe.taste]`` if it has one and no reviewer. ``--via-pytest N`` also runs
the real command on N of them and checks that both give the same grade.

Printed: the AUC (merged vs closed, Mann-Whitney, ties count one half) of the taste score,
of lines changed alone (fewer = merged), of each numeric metric (lower = merged), and of
each rule (the rule's effect on the score pointing toward merged: absent for a penalty,
present for a credit), with how many merged and closed PRs each rule fires on; the same
for the smaller and the larger half of the PRs by lines changed; bootstrap 95% intervals
(seeded, resampling merged and closed PRs apart). A PR whose repository or commits are not
in the mirrors is skipped and counted with its reason.

``--out`` keeps every PR's grade (score, metrics, findings) so that a later run can be
compared with ``--compare OLD`` or re-summarised with ``--from-results``. ``--weights FILE``
grades with other weights: one ``weights`` (or ``taste``) table for all, or a ``folds``
table giving, for each repository, the weights fitted without it (leave-one-repository-out):
the figure printed is then cross-validated.

``--fixtures DIR`` grades small PR shapes stored as files (``DIR/<name>/pr.json``,
``base/``, ``change.diff``) instead: what CI runs, with no mirror and no network.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # grade with this checkout's code, whatever is installed

FORMAT = 1
DEFAULT_SAMPLE = ROOT.parent / "shared" / "external" / "agent_prs_sample.jsonl"
DEFAULT_MIRRORS = ROOT.parent / ".mirror"
BASE_BRANCH = "main"
PR_BRANCH = "pr"


class Unavailable(Exception):
    """This PR cannot be rebuilt here; the message is the reason counted in the output."""


# -- the sample ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One pull request to grade."""

    id: str  # "owner/name#number"
    repo: str
    pr_number: int
    url: str
    merged: bool
    clean: bool
    agent: str
    licence: str
    base_sha: str
    head_sha: str | None
    diff: str
    fixture: str | None = None  # the fixture's folder, in --fixtures mode
    title: str = ""


def is_clean(row: Mapping[str, Any]) -> bool:
    """The "clean labels" of agent_prs_SOURCES.md: a merge or a closing that says something of the change.

    Merged: the diff has no commits by humans (label note). Closed: not closed by the PR's
    author (``closed_by_pr_author`` is False), not in a repository whose stale bot closes
    inactive PRs (label note), not closed by a bot account, and closer known where the agent's
    timelines exist (Devin has none: SOURCES says its closer is unknown, and Devin does not
    close its own PRs). This gives 74 merged and 32 closed PRs.
    """
    notes = " | ".join(row.get("label_notes") or [])
    if row["merged"]:
        return "merged diff includes commits by humans" not in notes
    closer = row.get("closed_by")
    return (
        row.get("closed_by_pr_author") is False
        and "stale bot" not in notes
        and not (closer or "").endswith("[bot]")
        and (closer is not None or row.get("agent") == "Devin")
    )


def _case(row: Mapping[str, Any], fixture: str | None = None, diff: str | None = None) -> Case:
    return Case(
        id=f"{row['repo']}#{row['pr_number']}",
        repo=str(row["repo"]),
        pr_number=int(row["pr_number"]),
        url=str(row.get("html_url") or ""),
        merged=bool(row["merged"]),
        clean=bool(row["clean"]) if "clean" in row else is_clean(row),
        agent=str(row.get("agent") or ""),
        licence=str(row.get("repo_license") or ""),
        base_sha=str(row.get("base_sha") or ""),
        head_sha=row.get("head_sha") or None,
        diff=diff if diff is not None else str(row.get("diff") or ""),
        fixture=fixture,
        title=str(row.get("title") or ""),
    )


SUBSETS = {"clean": "clean labels", "all": "all labels", "others": "labels outside the clean ones"}


def in_subset(clean: bool, subset: str) -> bool:
    return subset == "all" or (clean if subset == "clean" else not clean)


def load_sample(path: Path, *, subset: str = "clean") -> list[Case]:
    cases = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                case = _case(row)
            except (ValueError, KeyError, TypeError) as exc:
                raise SystemExit(
                    f"{path}:{number}: not a PR row ({exc!r}): expected the fields of agent_prs_SOURCES.md"
                )
            if in_subset(case.clean, subset):
                cases.append(case)
    return cases


def load_fixtures(folder: Path) -> list[Case]:
    """PR shapes stored as files: ``<name>/pr.json`` (the row without its diff), ``base/``, ``change.diff``.

    ``base/`` holds the files of the base commit that the PR changes (absent: none, the PR only adds).
    """
    cases = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        meta, diff = sub / "pr.json", sub / "change.diff"
        if not meta.is_file() or not diff.is_file():
            raise SystemExit(f"{sub}: a fixture needs pr.json and change.diff, and base/ unless the base is empty")
        try:
            row = json.loads(meta.read_text(encoding="utf-8"))
            cases.append(_case(row, fixture=str(sub), diff=diff.read_text(encoding="utf-8")))
        except (ValueError, KeyError, TypeError) as exc:
            raise SystemExit(f"{meta}: not a PR row ({exc!r})")
    if not cases:
        raise SystemExit(f"{folder}: no fixtures (folders with pr.json, change.diff and base/)")
    return cases


# -- rebuilding a PR -----------------------------------------------------------------------


def find_mirror(mirrors: Path, repo: str) -> Path | None:
    """The git directory holding ``owner/name`` under ``mirrors`` (the layouts the fetch tool and git use)."""
    owner, _, name = repo.partition("/")
    for candidate in (
        mirrors / f"{owner}+{name}" / "repo",
        mirrors / f"{owner}+{name}",
        mirrors / f"{owner}+{name}.git",
        mirrors / owner / name,
        mirrors / owner / f"{name}.git",
        mirrors / owner / name / ".git",
    ):
        if (candidate / "objects").is_dir() and (candidate / "HEAD").is_file():
            return candidate.resolve()
    return None


@dataclass(frozen=True)
class _Run:
    ok: bool
    stdout: str
    stderr: str


def _git(args: Sequence[str], cwd: Path, *, input_bytes: bytes | None = None, index: Path | None = None) -> _Run:
    """A git command with the harness's fixed identity and no user configuration (output kept whole)."""
    from pytest_proofswe import git as gitmod

    env = gitmod.git_env() | ({"GIT_INDEX_FILE": str(index)} if index else {})
    proc = subprocess.run(
        ["git", "-c", "core.hooksPath=/dev/null", "-c", "core.autocrlf=false", *args],
        cwd=cwd,
        env=env,
        input=input_bytes,
        capture_output=True,
        timeout=600,
    )
    return _Run(proc.returncode == 0, proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace"))


def _must(result: _Run, why: str) -> _Run:
    if not result.ok:
        last = (result.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise Unavailable(f"{why}: {last}"[:300])
    return result


def _has_commit(top: Path, sha: str) -> bool:
    return bool(sha) and _git(["cat-file", "-e", f"{sha}^{{commit}}"], top).ok


def _apply_and_commit(top: Path, diff: str) -> None:
    if not diff.strip():
        raise Unavailable("no head commit and no diff")
    _must(_git(["apply", "--index", "--whitespace=nowarn", "-"], top, input_bytes=diff.encode()), "diff does not apply")
    _must(_git(["commit", "-q", "--no-verify", "-m", "the PR's change"], top), "commit failed")


def _absent_blobs(top: Path, commit: str) -> dict[str, str]:
    """Path -> blob id of the files of ``commit`` whose content the mirror lacks.

    Snapshots leave out files of 4 MiB and more (notebooks, datasets, images); git checks
    out the rest and leaves these missing, which would read as deleted.
    """
    listing = _git(["ls-tree", "-r", "-z", "--full-tree", commit], top)
    _must(listing, "cannot list the commit")
    entries: dict[str, list[str]] = {}
    for record in listing.stdout.split("\0"):
        if not record:
            continue
        info, _, path = record.partition("\t")
        _mode, kind, sha = info.split()
        if kind == "blob":
            entries.setdefault(sha, []).append(path)
    if not entries:
        return {}
    check = _git(["cat-file", "--batch-check"], top, input_bytes="".join(f"{s}\n" for s in entries).encode())
    _must(check, "cannot check the commit's files")
    missing = {line.split()[0] for line in check.stdout.splitlines() if line.endswith(" missing")}
    return {path: sha for sha in missing for path in entries[sha]}


def _with_placeholders(top: Path, commit: str, absent: Mapping[str, str], parent: str | None) -> str:
    """A copy of ``commit`` whose absent files hold a placeholder text (the same for the same blob)."""
    index = top / ".git" / "placeholder-index"

    def run(args: Sequence[str], stdin: bytes | None = None) -> str:
        return _must(_git(args, top, input_bytes=stdin, index=index), f"git {args[0]} failed").stdout.strip()

    run(["read-tree", commit])
    for path, sha in sorted(absent.items()):
        text = f"(placeholder: {sha} is absent from the repository snapshot)\n".encode()
        blob = run(["hash-object", "-w", "--stdin"], text)
        run(["update-index", "--cacheinfo", f"100644,{blob},{path}"])
    tree = run(["write-tree"])
    index.unlink()
    return run(["commit-tree", tree, *(["-p", parent] if parent else []), "-m", f"{commit} with placeholders"])


def materialise(case: Case, mirrors: Path | None, into: Path, *, apply_diff: bool = False) -> tuple[Path, int]:
    """A repository at ``into`` with ``main`` at the PR's base and the PR's head checked out.

    Returns the checkout's top and the number of files absent from the mirror that were
    replaced by placeholders (files the PR does not change; one it changes makes the PR unavailable).
    """
    top = into / "repo"
    top.mkdir(parents=True)
    _must(_git(["init", "-q", "-b", BASE_BRANCH], top), "git init failed")
    if case.fixture is not None:
        if (Path(case.fixture) / "base").is_dir():
            shutil.copytree(Path(case.fixture) / "base", top, dirs_exist_ok=True)
        _must(_git(["add", "-A"], top), "git add failed")
        _must(_git(["commit", "-q", "--no-verify", "--allow-empty", "-m", "base"], top), "commit failed")
        _must(_git(["checkout", "-q", "-b", PR_BRANCH], top), "checkout failed")
        _apply_and_commit(top, case.diff)
        return top, 0
    mirror = find_mirror(mirrors, case.repo) if mirrors is not None else None
    if mirror is None:
        raise Unavailable("repository not in the mirrors")
    (top / ".git" / "objects" / "info" / "alternates").write_text(f"{mirror / 'objects'}\n", encoding="utf-8")
    if not _has_commit(top, case.base_sha):
        raise Unavailable("base commit not in the mirror")
    use_head = bool(case.head_sha) and not apply_diff and _has_commit(top, case.head_sha or "")
    base, head = case.base_sha, case.head_sha if use_head else None
    absent_base = _absent_blobs(top, base)
    absent_head = _absent_blobs(top, head) if head else {}
    if absent_base or absent_head:
        changed = {p for p in {*absent_base, *absent_head} if absent_base.get(p) != absent_head.get(p)}
        if head and changed:
            raise Unavailable("a file the PR changes is absent from the snapshot (files of 4 MiB and more are)")
        base = _with_placeholders(top, base, absent_base, None)
        if head:
            head = _with_placeholders(top, head, absent_head, base)
    _must(_git(["update-ref", f"refs/heads/{BASE_BRANCH}", base], top), "cannot set main")
    if head:
        _must(_git(["checkout", "-q", "-b", PR_BRANCH, head], top), "head checkout failed")
    else:
        _must(_git(["checkout", "-q", "-b", PR_BRANCH, base], top), "base checkout failed")
        if any(f"a/{p}" in case.diff or f"b/{p}" in case.diff for p in absent_base):
            raise Unavailable("a file the PR changes is absent from the snapshot (files of 4 MiB and more are)")
        _apply_and_commit(top, case.diff)
    return top, len(absent_base)


# -- grading -------------------------------------------------------------------------------


def taste_overrides(weights: Mapping[str, Any] | None, repo: str) -> dict[str, Any] | None:
    """The ``[tool.proofswe.taste]``-style table to grade ``repo``'s PRs with (None: the defaults)."""
    if not weights:
        return None
    if "folds" in weights:
        folds = weights["folds"]
        if repo not in folds:
            raise SystemExit(f"--weights: no fold for {repo} (a folds table needs one entry per repository)")
        table = folds[repo]
    else:
        table = weights
    if "taste" in table:
        return dict(table["taste"])
    return {"weights": dict(table.get("weights", {}))}


def grade_tree(top: Path, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What ``pytest --proofswe-diff=main`` reports for the checkout at ``top`` (no reviewer)."""
    from pytest_proofswe.modes.diffmode import collect_change, grade_change
    from pytest_proofswe.settings import read_tool_table
    from pytest_proofswe.taste import TasteConfig, repo

    repo.clear_memos()  # a new folder each time, but never a stale memo
    tool = read_tool_table(top)
    config = TasteConfig().merged(tool.get("taste", {}), "pyproject.toml [tool.proofswe.taste]")
    if overrides:
        config = config.merged(overrides, "--weights")
    change = collect_change(top, BASE_BRANCH)
    return grade_change(change, config, None, "taste", rootdir=top)


def grade_via_pytest(top: Path, report: Path) -> dict[str, Any]:
    """The real command, in the checkout: ``pytest --proofswe-diff=main --proofswe-diff-only``.

    The repository's own pytest set-up is kept out of the way (its conftest, addopts, warning
    filters, required plugins), and so are other installed plugins: the diff grade depends on
    none of them, and a repository whose test dependencies are not installed here would
    otherwise fail before grading.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS" and not k.startswith("PROOFSWE_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # this plugin alone: other installed plugins only cost time
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "pytest_proofswe.plugin",
        f"--proofswe-diff={BASE_BRANCH}",
        "--proofswe-diff-only",
        f"--proofswe-report={report}",
        "-p",
        "no:cacheprovider",
        "--noconftest",
        "-o",
        "addopts=",
        "-o",
        "filterwarnings=",
        "-o",
        "required_plugins=",
        "-q",
    ]
    proc = subprocess.run(command, cwd=top, env=env, capture_output=True, text=True, timeout=600)
    if not report.is_file():
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
        raise RuntimeError(f"pytest wrote no report (exit {proc.returncode}): {' / '.join(tail)}")
    rows = [r for r in json.loads(report.read_text(encoding="utf-8"))["results"] if r.get("task") == "diff"]
    if not rows:
        raise RuntimeError("the report has no diff result")
    return dict(rows[0])


def _findings(result: Mapping[str, Any]) -> list[list[Any]]:
    return [[f["rule"], f["path"], f["line"], f["penalty"], f["message"]] for f in result["taste"]["findings"]]


def _numeric(metrics: Mapping[str, Any]) -> dict[str, float]:
    return {
        k: v for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool) and v is not None
    }


def grade_case(
    case: Case,
    mirrors: Path | None,
    workdir: Path | None,
    weights: Mapping[str, Any] | None,
    via_pytest: bool,
    apply_diff: bool,
) -> dict[str, Any]:
    """Rebuild and grade one PR (runs in a worker process); never raises."""
    out: dict[str, Any] = {
        "id": case.id,
        "repo": case.repo,
        "pr_number": case.pr_number,
        "url": case.url,
        "title": case.title,
        "merged": case.merged,
        "clean": case.clean,
        "agent": case.agent,
        "licence": case.licence,
        "status": "skipped",
        "reason": None,
    }
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="proofswe-validity-", dir=workdir))
    try:
        top, placeholders = materialise(case, mirrors, tmp, apply_diff=apply_diff)
        result = grade_tree(top, taste_overrides(weights, case.repo))
        taste = result["taste"]
        metrics = _numeric(taste.get("metrics", {}))
        findings = _findings(result)
        out.update(
            status="graded",
            score=float(taste["score"]),
            lines_changed=int(metrics.get("lines_added", 0) + metrics.get("lines_removed", 0)),
            metrics=metrics,
            rules=dict(Counter(f[0] for f in findings if f[3] != 0)),
            findings=findings,
            lint=taste.get("metrics", {}).get("lint", None),
            placeholders=placeholders,
        )
        if via_pytest:
            try:
                real = grade_via_pytest(top, tmp / "report.json")
                same = real["taste"]["score"] == taste["score"] and _findings(real) == findings
                out["via_pytest"] = {"score": real["taste"]["score"], "same": same}
                if not same:
                    out["via_pytest"]["findings"] = _findings(real)
            except (RuntimeError, OSError, ValueError, KeyError, subprocess.TimeoutExpired) as exc:
                out["via_pytest"] = {"error": str(exc)[:500], "same": False}
    except Unavailable as exc:
        out["reason"] = str(exc)
    except Exception as exc:  # one PR's breakage is counted, not fatal to the run
        out["reason"] = f"grading error: {type(exc).__name__}: {str(exc)[:300]}"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out["duration_s"] = round(time.monotonic() - started, 2)
    return out


def _grade_star(args: tuple[Any, ...]) -> dict[str, Any]:
    return grade_case(*args)


def grade_all(
    cases: Sequence[Case],
    *,
    mirrors: Path | None,
    workdir: Path | None,
    weights: Mapping[str, Any] | None,
    via: set[str],
    apply_diff: bool,
    jobs: int,
    progress: Callable[[str], None],
) -> list[dict[str, Any]]:
    work = [(c, mirrors, workdir, weights, c.id in via, apply_diff) for c in cases]
    results: list[dict[str, Any]] = []
    if jobs <= 1:
        mapped: Iterable[dict[str, Any]] = map(_grade_star, work)
        for r in mapped:
            results.append(r)
            progress(_progress_line(len(results), len(work), r))
    else:
        with concurrent.futures.ProcessPoolExecutor(max_workers=jobs) as pool:
            for r in pool.map(_grade_star, work):
                results.append(r)
                progress(_progress_line(len(results), len(work), r))
    return results


def _progress_line(done: int, total: int, r: Mapping[str, Any]) -> str:
    what = f"score {r['score']:5.1f}" if r["status"] == "graded" else f"skipped: {r['reason']}"
    label = "merged" if r["merged"] else "closed"
    return f"[{done}/{total}] {r['id']} ({label}) {what} ({r['duration_s']:.1f} s)"


# -- statistics ----------------------------------------------------------------------------


def auc(positive: Sequence[float], negative: Sequence[float]) -> float | None:
    """P(a positive scores above a negative), ties counting one half (Mann-Whitney U / n1 n2)."""
    n1, n2 = len(positive), len(negative)
    if not n1 or not n2:
        return None
    values = sorted([(v, 1) for v in positive] + [(v, 0) for v in negative])
    rank_sum = 0.0
    i = 0
    while i < len(values):
        j = i
        while j < len(values) and values[j][0] == values[i][0]:
            j += 1
        mid = (i + 1 + j) / 2  # ranks i+1 .. j share their mean
        rank_sum += mid * sum(flag for _, flag in values[i:j])
        i = j
    return (rank_sum - n1 * (n1 + 1) / 2) / (n1 * n2)


@dataclass
class Signal:
    """A number per PR, oriented so that higher predicts merged."""

    name: str
    kind: str  # "score", "size", "metric", "rule"
    values: dict[str, float]  # PR id -> oriented value
    extra: dict[str, Any] = field(default_factory=dict)


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    pos = q * (len(sorted_values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def bootstrap(
    signals: Sequence[Signal],
    merged: Sequence[str],
    closed: Sequence[str],
    *,
    rounds: int,
    seed: int,
    pairs: Sequence[tuple[str, str]] = (),
) -> tuple[dict[str, list[float]], dict[tuple[str, str], list[float]]]:
    """95% percentile intervals of each signal's AUC (and of differences of paired AUCs)."""
    rng = random.Random(seed)
    draws: dict[str, list[float]] = {s.name: [] for s in signals}
    diffs: dict[tuple[str, str], list[float]] = {p: [] for p in pairs}
    if rounds <= 0 or not merged or not closed:
        return {}, {}
    for _ in range(rounds):
        m = [merged[rng.randrange(len(merged))] for _ in merged]
        c = [closed[rng.randrange(len(closed))] for _ in closed]
        round_auc: dict[str, float] = {}
        for s in signals:
            value = auc([s.values[i] for i in m if i in s.values], [s.values[i] for i in c if i in s.values])
            if value is not None:
                draws[s.name].append(value)
                round_auc[s.name] = value
        for a, b in pairs:
            if a in round_auc and b in round_auc:
                diffs[(a, b)].append(round_auc[a] - round_auc[b])

    def interval(values: list[float]) -> list[float]:
        values.sort()
        return [round(_percentile(values, 0.025), 3), round(_percentile(values, 0.975), 3)]

    return {k: interval(v) for k, v in draws.items() if v}, {k: interval(v) for k, v in diffs.items() if v}


_METRIC_WORDS = {
    "findings": "fewer findings",
    "complexity_increase": "less complexity increase",
    "files_touched": "fewer files touched",
    "code_files_touched": "fewer code files touched",
    "code_lines_changed": "fewer lines of code changed",
    "lint_introduced": "fewer new lint violations",
    "lint_removed": "fewer lint violations removed",
    "hunks": "fewer hunks",
    "lines_added": "fewer lines added",
    "lines_removed": "fewer lines removed",
    "files_added": "fewer files added",
    "files_deleted": "fewer files deleted",
    "files_renamed": "fewer files renamed",
    "functions_more_complex": "fewer functions made more complex",
}
TASTE = "taste score"
LINES = "fewer lines changed, alone"


def signals_of(results: Sequence[Mapping[str, Any]]) -> list[Signal]:
    graded = [r for r in results if r["status"] == "graded"]
    out = [
        Signal(TASTE, "score", {r["id"]: float(r["score"]) for r in graded}, {"direction": "higher = merged"}),
        Signal(LINES, "size", {r["id"]: -float(r["lines_changed"]) for r in graded}, {"direction": "fewer = merged"}),
    ]
    keys = {key for r in graded for key in r["metrics"]}
    for key in sorted(keys, key=lambda k: (list(_METRIC_WORDS).index(k) if k in _METRIC_WORDS else 99, k)):
        name = f"metric: {_METRIC_WORDS.get(key, f'lower {key}')}"
        values = {r["id"]: -float(r["metrics"][key]) for r in graded if key in r["metrics"]}
        # A metric some PRs lack (lint skipped, say) is measured on the PRs that have it.
        extra = {"metric": key} | ({"missing": len(graded) - len(values)} if len(values) < len(graded) else {})
        out.append(Signal(name, "metric", values, extra))
    credits = {f[0] for r in graded for f in r["findings"] if f[3] < 0}
    fired = sorted({rule for r in graded for rule in r["rules"]})
    for rule in fired:
        sign = 1.0 if rule in credits else -1.0  # a credit's presence, a penalty's absence, points to merged
        values = {r["id"]: sign * (1.0 if rule in r["rules"] else 0.0) for r in graded}
        out.append(
            Signal(
                f"rule: {rule}",
                "rule",
                values,
                {
                    "rule": rule,
                    "direction": "present = merged" if sign > 0 else "absent = merged",
                    "merged_fires": sum(1 for r in graded if r["merged"] and rule in r["rules"]),
                    "closed_fires": sum(1 for r in graded if not r["merged"] and rule in r["rules"]),
                },
            )
        )
    return out


def halves(results: Sequence[Mapping[str, Any]]) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """The graded PRs split at the median of lines changed (ties broken by id; the larger half gets the odd one)."""
    graded = sorted((r for r in results if r["status"] == "graded"), key=lambda r: (r["lines_changed"], r["id"]))
    cut = len(graded) // 2
    return graded[:cut], graded[cut:]


def _table(results: Sequence[Mapping[str, Any]], signals: Sequence[Signal], rounds: int, seed: int) -> dict[str, Any]:
    merged = sorted(r["id"] for r in results if r["status"] == "graded" and r["merged"])
    closed = sorted(r["id"] for r in results if r["status"] == "graded" and not r["merged"])
    intervals, diffs = bootstrap(signals, merged, closed, rounds=rounds, seed=seed, pairs=[(TASTE, LINES)])
    rows = []
    for s in signals:
        value = auc([s.values[i] for i in merged if i in s.values], [s.values[i] for i in closed if i in s.values])
        rows.append(
            {
                "signal": s.name,
                "kind": s.kind,
                "auc": None if value is None else round(value, 3),
                "ci95": intervals.get(s.name),
                **s.extra,
            }
        )
    by_name = {r["signal"]: r["auc"] for r in rows}
    gap = None if by_name.get(TASTE) is None or by_name.get(LINES) is None else by_name[TASTE] - by_name[LINES]
    return {
        "merged": len(merged),
        "closed": len(closed),
        "signals": rows,
        "taste_minus_lines": {"auc": None if gap is None else round(gap, 3), "ci95": diffs.get((TASTE, LINES))},
    }


def auc_within(groups: Mapping[str, tuple[Sequence[float], Sequence[float]]]) -> tuple[float | None, int]:
    """The AUC over (merged, closed) pairs of the same group only, and how many pairs there are."""
    wins = 0.0
    pairs = 0
    for positive, negative in groups.values():
        value = auc(positive, negative)
        if value is not None:
            wins += value * len(positive) * len(negative)
            pairs += len(positive) * len(negative)
    return (wins / pairs if pairs else None), pairs


def within(
    results: Sequence[Mapping[str, Any]], key: str, signals: Sequence[Signal], *, rounds: int, seed: int
) -> dict[str, Any]:
    """Each signal's AUC on pairs from the same ``key`` (repository, agent), with groups resampled for the interval.

    Merged and closed PRs do not come from the same repositories in the same proportions:
    a signal that only tells repositories (or agents) apart scores well on the whole sample
    and no better than chance here.
    """
    members: dict[str, list[Mapping[str, Any]]] = {}
    for r in results:
        if r["status"] == "graded":
            members.setdefault(str(r[key]), []).append(r)
    split = {
        (s.name, k): (
            [s.values[r["id"]] for r in rs if r["merged"] and r["id"] in s.values],
            [s.values[r["id"]] for r in rs if not r["merged"] and r["id"] in s.values],
        )
        for s in signals
        for k, rs in members.items()
    }

    def groups(signal: Signal, chosen: Sequence[str]) -> dict[str, tuple[list[float], list[float]]]:
        return {f"{n}:{k}": split[(signal.name, k)] for n, k in enumerate(chosen)}

    both = sorted(k for k, rs in members.items() if {True, False} <= {bool(r["merged"]) for r in rs})
    rng = random.Random(seed)
    draws: dict[str, list[float]] = {s.name: [] for s in signals}
    for _ in range(rounds if both else 0):
        chosen = [both[rng.randrange(len(both))] for _ in both]
        for s in signals:
            value, _pairs = auc_within(groups(s, chosen))
            if value is not None:
                draws[s.name].append(value)
    rows = []
    for s in signals:
        value, pairs = auc_within(groups(s, both))
        ci = None
        if draws[s.name]:
            ordered = sorted(draws[s.name])
            ci = [round(_percentile(ordered, 0.025), 3), round(_percentile(ordered, 0.975), 3)]
        rows.append({"signal": s.name, "auc": None if value is None else round(value, 3), "ci95": ci, "pairs": pairs})
    return {"groups_with_both": len(both), "signals": rows}


def summarise(results: Sequence[Mapping[str, Any]], *, rounds: int, seed: int) -> dict[str, Any]:
    whole = _table(results, signals_of(results), rounds, seed)
    small, large = halves(results)
    split: dict[str, Any] = {}
    for name, part in (("smaller", small), ("larger", large)):
        both = [s for s in signals_of(part) if s.name in (TASTE, LINES)]
        table = _table(part, both, rounds, seed)
        lines = [r["lines_changed"] for r in part]
        table["lines_changed_range"] = [min(lines), max(lines)] if lines else None
        split[name] = table
    headline = [s for s in signals_of(results) if s.name in (TASTE, LINES)]
    same = {key: within(results, key, headline, rounds=rounds, seed=seed) for key in ("repo", "agent")}
    skipped = Counter(r["reason"] for r in results if r["status"] != "graded")
    graded = [r for r in results if r["status"] == "graded"]
    via = [r["via_pytest"] for r in results if "via_pytest" in r]
    return {
        **whole,
        "halves": split,
        "within": same,
        "graded": len(graded),
        "skipped": dict(sorted(skipped.items())),
        "rules_never_fired": _never_fired(graded),
        "via_pytest": {"checked": len(via), "same": sum(1 for v in via if v.get("same"))} if via else None,
    }


def _never_fired(graded: Sequence[Mapping[str, Any]]) -> list[str]:
    try:
        from pytest_proofswe.taste import RULES
    except ImportError:  # pragma: no cover
        return []
    fired = {rule for r in graded for rule in r["rules"]}
    return sorted(set(RULES) - fired)


# -- output --------------------------------------------------------------------------------


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _ci(ci: Sequence[float] | None) -> str:
    return "" if not ci else f"{ci[0]:.2f} to {ci[1]:.2f}"


def render(summary: Mapping[str, Any], meta: Mapping[str, Any]) -> str:
    out = [
        f"## Taste validity: {summary['merged']} merged vs {summary['closed']} closed PRs "
        f"({meta.get('subset')}; grader {meta.get('grader', {}).get('commit', '?')[:12]}"
        f"{' with local changes' if meta.get('grader', {}).get('dirty') else ''}; {meta.get('date')})",
        "",
    ]
    if meta.get("weights"):
        w = meta["weights"]
        out += [f"Weights: {w['file']} ({'cross-validated: leave one repository out' if w['folds'] else 'fixed'})", ""]
    out += ["| signal | AUC, merged vs closed | 95% interval |", "|---|---|---|"]
    for row in summary["signals"]:
        if row["kind"] in ("score", "size", "metric"):
            missing = f" (not measured on {row['missing']} PRs)" if row.get("missing") else ""
            out.append(f"| {row['signal']}{missing} | {_fmt(row['auc'])} | {_ci(row['ci95'])} |")
    gap = summary["taste_minus_lines"]
    if gap["auc"] is not None:
        out.append(f"| taste minus lines alone | {gap['auc']:+.2f} | {_ci(gap['ci95'])} |")
    out += [
        "",
        "Within halves by lines changed:",
        "",
        "| half | lines changed | PRs (merged/closed) | taste | lines alone |",
    ]
    out.append("|---|---|---|---|---|")
    for name, part in summary["halves"].items():
        auc_of = {r["signal"]: r for r in part["signals"]}
        rng = part.get("lines_changed_range") or ["?", "?"]
        taste, lines = auc_of.get(TASTE, {}), auc_of.get(LINES, {})
        out.append(
            f"| {name} | {rng[0]} to {rng[1]} | {part['merged']}/{part['closed']} | "
            f"{_fmt(taste.get('auc'))} ({_ci(taste.get('ci95'))}) | {_fmt(lines.get('auc'))} ({_ci(lines.get('ci95'))}) |"
        )
    out += ["", "Pairs of a merged and a closed PR from the same repository (or agent) only:", ""]
    out += ["| pairs within | groups with both | pairs | taste | lines alone |", "|---|---|---|---|---|"]
    for key, part in summary.get("within", {}).items():
        auc_of = {r["signal"]: r for r in part["signals"]}
        taste, lines = auc_of.get(TASTE, {}), auc_of.get(LINES, {})
        out.append(
            f"| {'a repository' if key == 'repo' else 'an agent'} | {part['groups_with_both']} | {taste.get('pairs', 0)} | "
            f"{_fmt(taste.get('auc'))} ({_ci(taste.get('ci95'))}) | {_fmt(lines.get('auc'))} ({_ci(lines.get('ci95'))}) |"
        )
    out += [
        "",
        "| rule | fires on merged | fires on closed | AUC | 95% interval | direction |",
        "|---|---|---|---|---|---|",
    ]
    rules = [r for r in summary["signals"] if r["kind"] == "rule"]
    for row in sorted(rules, key=lambda r: -(r["merged_fires"] + r["closed_fires"])):
        out.append(
            f"| `{row['rule']}` | {row['merged_fires']}/{summary['merged']} | {row['closed_fires']}/{summary['closed']} | "
            f"{_fmt(row['auc'])} | {_ci(row['ci95'])} | {row['direction']} |"
        )
    if summary.get("rules_never_fired"):
        out += ["", f"Never fired: {', '.join(summary['rules_never_fired'])}."]
    skipped = summary.get("skipped") or {}
    out += ["", f"Graded {summary['graded']}; skipped {sum(skipped.values())}."]
    for reason, count in skipped.items():
        out.append(f"- {count} x {reason}")
    via = summary.get("via_pytest")
    if via:
        out.append(f"Checked with the real `pytest --proofswe-diff=main`: {via['same']} of {via['checked']} identical.")
    return "\n".join(out) + "\n"


def compare(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """The headline AUCs side by side, and the PRs whose score moved most."""
    old_auc = {r["signal"]: r["auc"] for r in old["summary"]["signals"]}
    out = ["## Compared with " + str(old.get("meta", {}).get("grader", {}).get("commit", "?"))[:12], ""]
    out += ["| signal | before | after |", "|---|---|---|"]
    for row in new["summary"]["signals"]:
        if row["kind"] in ("score", "size", "metric"):
            out.append(f"| {row['signal']} | {_fmt(old_auc.get(row['signal']))} | {_fmt(row['auc'])} |")
    before = {r["id"]: r for r in old["results"] if r["status"] == "graded"}
    moves = []
    for r in new["results"]:
        if r["status"] == "graded" and r["id"] in before:
            moves.append((r["score"] - before[r["id"]]["score"], r))
    changed = [m for m in moves if m[0] != 0]
    out += ["", f"{len(changed)} of {len(moves)} PRs changed score. Largest moves:", ""]
    for delta, r in sorted(changed, key=lambda m: -abs(m[0]))[:15]:
        label = "merged" if r["merged"] else "closed"
        out.append(f"- {r['id']} ({label}): {before[r['id']]['score']:.1f} -> {r['score']:.1f} ({delta:+.1f})")
    return "\n".join(out) + "\n"


def grader_identity() -> dict[str, Any]:
    from pytest_proofswe import __version__

    ident: dict[str, Any] = {"version": __version__}
    try:
        ident["commit"] = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--", "pytest_proofswe"], cwd=ROOT, capture_output=True, text=True
        ).stdout
        ident["dirty"] = bool(status.strip())
    except (OSError, subprocess.CalledProcessError):
        ident["commit"] = "unknown"
    try:
        from pytest_proofswe.taste.lint import find_ruff

        ruff = find_ruff()
        if ruff:
            ident["ruff"] = subprocess.run([ruff, "--version"], capture_output=True, text=True).stdout.strip()
    except (ImportError, OSError):
        pass
    return ident


def weights_in_force() -> dict[str, float]:
    """Each rule's points per unit in this checkout (before any --weights), to read the findings' units later."""
    from pytest_proofswe.taste import RULES

    return {rule: r.weight for rule, r in RULES.items()}


def _load_weights(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".toml":
            if sys.version_info >= (3, 11):
                import tomllib
            else:  # pragma: no cover
                import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

            data: Any = tomllib.loads(text)
        else:
            data = json.loads(text)
    except ValueError as exc:
        raise SystemExit(f"--weights {path}: cannot read it ({exc})")
    if not isinstance(data, dict) or not ({"weights", "taste", "folds"} & set(data)):
        raise SystemExit(
            f"--weights {path}: expected a 'weights' table (rule = points), a 'taste' table "
            "([tool.proofswe.taste] keys) or a 'folds' table (repository = one of those)"
        )
    return data


def _check_weights(weights: Mapping[str, Any], cases: Sequence[Case], path: Path) -> None:
    """Every table is a valid taste table, and a folds table covers every repository graded."""
    from pytest_proofswe.taste import TasteConfig

    if "folds" in weights:
        missing = sorted({c.repo for c in cases} - set(weights["folds"]))
        if missing:
            raise SystemExit(
                f"--weights {path}: no fold for {', '.join(missing)} (a folds table needs every repository)"
            )
    for repo in sorted({c.repo for c in cases}):
        try:
            TasteConfig().merged(taste_overrides(weights, repo) or {}, f"--weights {path} ({repo})")
        except (TypeError, ValueError) as exc:
            raise SystemExit(str(exc)) from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=Path, default=DEFAULT_SAMPLE, help="the PR rows (JSON lines)")
    parser.add_argument("--mirrors", type=Path, default=DEFAULT_MIRRORS, help="folder of repository mirrors")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--all", action="store_true", help="every PR of the sample, not only the clean labels")
    which.add_argument("--others", action="store_true", help="only the PRs outside the clean labels (noisier)")
    parser.add_argument("--fixtures", type=Path, help="grade the PR shapes stored in this folder instead")
    parser.add_argument("--from-results", type=Path, help="summarise a previous --out file without grading")
    parser.add_argument("--compare", type=Path, help="a previous --out file to compare with")
    parser.add_argument("--out", type=Path, help="write per-PR results and the summary here (JSON)")
    parser.add_argument("--jobs", type=int, default=1, help="PRs graded at once (processes)")
    parser.add_argument("--workdir", type=Path, help="where the temporary checkouts go")
    parser.add_argument("--only", action="append", default=[], help="grade only this repository or owner/name#PR")
    parser.add_argument("--weights", type=Path, help="grade with these weights (JSON or TOML; see the docstring)")
    parser.add_argument("--via-pytest", type=int, default=0, metavar="N", help="also run the real command on N PRs")
    parser.add_argument("--apply-diff", action="store_true", help="apply the stored diff even when the head exists")
    parser.add_argument("--bootstrap", type=int, default=2000, help="bootstrap rounds for the intervals")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap and of the --via-pytest sample")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    progress = (lambda line: None) if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))

    subset = "all" if args.all else "others" if args.others else "clean"
    if args.from_results:
        document = json.loads(args.from_results.read_text(encoding="utf-8"))
        meta = dict(document["meta"])
        results = document["results"]
        if meta.get("subset") != "fixtures":  # the same subset flags as when grading
            results = [r for r in results if in_subset(bool(r["clean"]), subset)]
            meta["subset"] = SUBSETS[subset]
    else:
        if args.fixtures:
            cases, label = load_fixtures(args.fixtures), "fixtures"
            source = {"fixtures": args.fixtures.name}
        else:
            if not args.sample.is_file():
                parser.error(f"--sample {args.sample}: no such file (fix: point it at agent_prs_sample.jsonl)")
            cases, label = load_sample(args.sample, subset=subset), SUBSETS[subset]
            source = {"sample": args.sample.name, "sha256": hashlib.sha256(args.sample.read_bytes()).hexdigest()}
        if args.only:
            cases = [c for c in cases if c.repo in args.only or c.id in args.only]
        weights = _load_weights(args.weights) if args.weights else None
        if weights is not None:
            _check_weights(weights, cases, args.weights)
        rng = random.Random(args.seed)
        via = {c.id for c in rng.sample(cases, min(args.via_pytest, len(cases)))} if args.via_pytest > 0 else set()
        started = time.monotonic()
        results = grade_all(
            cases,
            mirrors=None if args.fixtures else args.mirrors,
            workdir=args.workdir,
            weights=weights,
            via=via,
            apply_diff=args.apply_diff,
            jobs=args.jobs,
            progress=progress,
        )
        meta = {
            "format": FORMAT,
            "date": datetime.date.today().isoformat(),
            "subset": label,
            **source,
            "grader": grader_identity(),
            "weights_in_force": weights_in_force(),
            "weights": None
            if weights is None
            else {"file": args.weights.name, "folds": "folds" in weights, "table": weights},
            "grading_s": round(time.monotonic() - started, 1),
            "command": "python benchmarks/taste_validity.py " + " ".join(_public_args(argv)),
        }
    summary = summarise(results, rounds=args.bootstrap, seed=args.seed)
    document = {"meta": meta, "summary": summary, "results": results}
    print(render(summary, meta), end="")
    if args.compare:
        print()
        print(compare(json.loads(args.compare.read_text(encoding="utf-8")), document), end="")
    if args.out:
        args.out.write_text(json.dumps(document, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    mismatches = [r["id"] for r in results if "via_pytest" in r and not r["via_pytest"].get("same")]
    if mismatches:
        print(f"the real command graded differently: {', '.join(mismatches)}", file=sys.stderr)
        return 1
    return 0


def _public_args(argv: Sequence[str] | None) -> list[str]:
    """The command line as given, without this machine's absolute paths."""
    args = list(sys.argv[1:] if argv is None else argv)
    return [a if not os.path.isabs(a) else Path(a).name for a in args]


if __name__ == "__main__":
    raise SystemExit(main())
