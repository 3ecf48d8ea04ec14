"""SWE-bench data in: predictions files, and instances imported as task folders.

* :func:`load_predictions`: ``--proofswe-predictions FILE.jsonl``, one JSON object per
  line with ``instance_id``, ``model_name_or_path`` and ``model_patch``.
* :func:`import_instances`: SWE-bench instances (the dataset's fields: ``instance_id``,
  ``repo``, ``base_commit``, ``patch``, ``test_patch``, ``problem_statement``,
  ``FAIL_TO_PASS``, ``PASS_TO_PASS``) become task folders that point at a local git
  mirror of each repository.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..task import Submission

__all__ = ["ImportedTask", "import_instances", "load_prediction_files", "load_predictions", "parse_id_list"]

_SAFE = re.compile(r"[^A-Za-z0-9._+@=,-]+")
DEFAULT_SETUP = ("python -m pip install -e .",)


def _safe_name(name: str) -> str:
    return _SAFE.sub("_", name.replace("/", "__")).strip("_") or "_"


def load_predictions(path: Path, *, trial: int | None = None) -> dict[str, list[Submission]]:
    """instance_id -> the submissions predicted for it. Raises ValueError naming file:line.

    A prediction's ``trial`` field (a whole number), else ``trial``, makes it a trial of its
    model: the submission is named ``<model>@<trial>`` (docs/compare.md#agents-and-trials).
    """
    found: dict[str, dict[str, Submission]] = {}
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    stripped = text.strip()
    records: Iterable[tuple[int, Any]]
    if stripped.startswith("["):
        try:  # a JSON list of predictions, as some harnesses write
            records = enumerate(json.loads(stripped), 1)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON: {exc}") from None
    else:
        parsed = []
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                parsed.append((lineno, json.loads(line)))
            except json.JSONDecodeError as exc:
                raise ValueError(
                    f"{path}:{lineno}: not a JSON object: {exc.msg} "
                    "(fix: one prediction per line, as SWE-bench writes them)"
                ) from None
        records = parsed
    for lineno, record in records:
        if not isinstance(record, dict):
            raise ValueError(f"{path}:{lineno}: expected a JSON object, got {type(record).__name__}")
        missing = [k for k in ("instance_id", "model_name_or_path") if not isinstance(record.get(k), str)]
        if missing:
            raise ValueError(
                f"{path}:{lineno}: missing or non-string field(s) {', '.join(missing)} "
                "(fix: each prediction needs instance_id, model_name_or_path, model_patch)"
            )
        name = _safe_name(record["model_name_or_path"])
        given = record.get("trial", trial)
        if given is not None:
            if not isinstance(given, int) or isinstance(given, bool) or given < 0:
                raise ValueError(
                    f"{path}:{lineno}: trial must be a whole number, got {given!r} "
                    '(fix: "trial": 1 for the first attempt of this model at this instance, 2 for the second, ...)'
                )
            name = f"{name}@{given}"
        patch = record.get("model_patch") or ""
        if not isinstance(patch, str):
            raise ValueError(f"{path}:{lineno}: model_patch must be a string")
        sub = Submission(
            name=name,
            origin="predictions",
            patch_text=patch,
            meta={"model_name_or_path": record["model_name_or_path"], "source": f"{path}:{lineno}"},
        )
        per = found.setdefault(record["instance_id"], {})
        if name in per:
            raise ValueError(
                f"{path}:{lineno}: a second prediction of {record['model_name_or_path']!r} "
                f"for {record['instance_id']}{' in trial ' + str(given) if given is not None else ''} "
                '(fix: keep one per model and instance, or tell the attempts apart with a "trial" field)'
            )
        per[name] = sub
    return {iid: list(subs.values()) for iid, subs in found.items()}


def load_prediction_files(paths: Sequence[Path]) -> dict[str, list[Submission]]:
    """Several predictions files: the k-th (from 1) holds trial k of each model, unless a line sets its own ``trial``.

    One file alone keeps its names as they are (no trial suffix) unless its lines set ``trial``.
    """
    merged: dict[str, dict[str, Submission]] = {}
    for number, path in enumerate(paths, 1):
        for iid, subs in load_predictions(path, trial=number if len(paths) > 1 else None).items():
            per = merged.setdefault(iid, {})
            for sub in subs:
                if sub.name in per:
                    raise ValueError(
                        f"{sub.meta['source']}: prediction {sub.name!r} for {iid} is also in "
                        f"{per[sub.name].meta['source']} (fix: give each attempt its own trial number)"
                    )
                per[sub.name] = sub
    return {iid: list(subs.values()) for iid, subs in merged.items()}


def parse_id_list(value: Any) -> list[str]:
    """FAIL_TO_PASS / PASS_TO_PASS: a list, or a JSON or Python literal of one."""
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, str):
        for loader in (json.loads, ast.literal_eval):
            try:
                out = loader(value)
            except (ValueError, SyntaxError):
                continue
            if isinstance(out, list):
                return [str(v) for v in out]
    raise ValueError(f"not a list of test ids: {str(value)[:80]!r}")


def _looks_like_test_id(test_id: str) -> bool:
    """SWE-bench's log parser let fragments like '[100%]' into some lists."""
    return "::" in test_id or test_id.endswith(".py") or bool(re.match(r"^[\w/.-]+\.py", test_id))


def _toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _toml_list(values: Iterable[str], indent: str = "  ") -> str:
    items = list(values)
    if not items:
        return "[]"
    return "[\n" + "".join(f"{indent}{_toml_str(v)},\n" for v in items) + "]"


@dataclass(frozen=True)
class ImportedTask:
    instance_id: str
    folder: Path
    dropped_ids: tuple[str, ...]
    submissions: int


def _recipe(recipes: Mapping[str, Any], instance: Mapping[str, Any]) -> dict[str, Any]:
    for key in (instance["instance_id"], f"{instance['repo']}@{instance.get('version', '')}", instance["repo"]):
        if key in recipes:
            return dict(recipes[key])
    return {}


def import_instances(
    instances: Iterable[Mapping[str, Any]],
    *,
    mirrors: Mapping[str, Path],
    out_dir: Path,
    recipes: Mapping[str, Any] | None = None,
    with_predictions: bool = False,
    timeout: float = 1800,
    force: bool = False,
) -> list[ImportedTask]:
    """Write one task folder per instance under ``out_dir``.

    ``mirrors`` maps a repository ("psf/requests") to a local git repository holding
    its history. ``recipes`` maps an instance id, "repo@version" or a repo to
    ``{"python": ..., "setup": [...], "env": {...}, "exclude": [test ids]}``; excluded
    tests are written as ``[tests] deselect``, so they never run (tests that reach the
    network, say). An existing task folder is an error unless ``force``, which replaces it.
    """
    recipes = recipes or {}
    done = []
    for inst in instances:
        iid = inst["instance_id"]
        repo = inst["repo"]
        if repo not in mirrors:
            raise ValueError(f"{iid}: no local mirror for {repo} (fix: pass --mirror {repo}=PATH/TO/REPO)")
        folder = out_dir / iid
        if folder.exists():
            if not force:
                raise ValueError(f"{iid}: {folder} already exists (fix: remove it, or pass --force to replace it)")
            shutil.rmtree(folder)
        (folder / "submissions").mkdir(parents=True)
        recipe = _recipe(recipes, inst)
        excluded = list(dict.fromkeys(recipe.get("exclude", ())))
        f2p = parse_id_list(inst["FAIL_TO_PASS"])
        if set(excluded) & set(f2p):
            raise ValueError(
                f"{iid}: the recipe excludes FAIL_TO_PASS tests {sorted(set(excluded) & set(f2p))} "
                "(fix: a test that must not run cannot decide the verdict; drop the instance instead)"
            )
        p2p_all = parse_id_list(inst.get("PASS_TO_PASS", "[]"))
        p2p = [t for t in p2p_all if _looks_like_test_id(t) and t not in excluded]
        dropped = tuple(t for t in p2p_all if t not in p2p)
        mirror = Path(mirrors[repo]).resolve()
        rel_mirror = os.path.relpath(mirror, folder.resolve())
        lines = [
            f"# Imported from SWE-bench instance {iid} by `python -m pytest_proofswe import-swebench`.",
            f"id = {_toml_str(iid)}",
            f"title = {_toml_str((inst.get('problem_statement') or iid).strip().splitlines()[0][:120] if (inst.get('problem_statement') or '').strip() else iid)}",
            "",
            "[repo]",
            f"git = {_toml_str(rel_mirror)}",
            f"commit = {_toml_str(inst['base_commit'])}",
            "",
            "[environment]",
        ]
        if recipe.get("python"):
            lines.append(f"python = {_toml_str(recipe['python'])}")
        lines.append(f"setup = {_toml_list(recipe.get('setup', DEFAULT_SETUP))}")
        env = recipe.get("env", {})
        if env:
            lines.append("env = { " + ", ".join(f"{k} = {_toml_str(str(v))}" for k, v in sorted(env.items())) + " }")
        lines += [
            "",
            "[tests]",
            f"fail_to_pass = {_toml_list(f2p)}",
            f"pass_to_pass = {_toml_list(p2p)}",
            f"timeout = {int(timeout)}",
        ]
        if excluded:
            lines.append(f"deselect = {_toml_list(excluded)}  # excluded by the recipe: never run")
        if dropped:
            lines.append("# left out of pass_to_pass (not test ids, or excluded by the recipe):")
            lines += [f"#   {t}" for t in dropped]
        (folder / "task.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (folder / "issue.md").write_text(inst.get("problem_statement") or "", encoding="utf-8")
        (folder / "hidden_tests.diff").write_text(inst["test_patch"], encoding="utf-8")
        if inst.get("patch"):
            (folder / "gold.diff").write_text(inst["patch"], encoding="utf-8")
        count = 0
        if with_predictions and inst.get("predictions"):
            preds = inst["predictions"]
            if isinstance(preds, str):
                preds = ast.literal_eval(preds) if not preds.lstrip().startswith('[{"') else json.loads(preds)
            taken: set[str] = set()
            for pred in preds:
                name = _safe_name(pred.get("agent") or pred.get("model_name_or_path") or f"prediction-{count}")
                # Two agents whose names clean up alike ("Agent (v1)", "Agent v1") both stay.
                unique, n = name, 2
                while unique in taken:
                    unique, n = f"{name}-{n}", n + 1
                taken.add(unique)
                sub_dir = folder / "submissions" / unique
                sub_dir.mkdir(parents=True, exist_ok=True)
                (sub_dir / "patch.diff").write_text(pred.get("model_patch") or "", encoding="utf-8")
                meta = [f"agent = {_toml_str(pred.get('agent', ''))}", f"model = {_toml_str(pred.get('model', ''))}"]
                if isinstance(pred.get("resolved"), bool):
                    meta.append(f"recorded_resolved = {'true' if pred['resolved'] else 'false'}")
                (sub_dir / "meta.toml").write_text("\n".join(meta) + "\n", encoding="utf-8")
                count += 1
        done.append(ImportedTask(iid, folder, dropped, count))
    return done
