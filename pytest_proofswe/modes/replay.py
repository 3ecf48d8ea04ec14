"""``--proofswe-replay REPORT.json``: grade again, and say what reproduces and what differs (pure).

A result reproduces when what defines it is the same (the task's, patch's, hidden tests'
and base's hashes: otherwise it is a different experiment, reported as such) and what it
found is the same: the behaviour status and the F2P/P2P tests that passed, the taste
score, the review's status and score, the session's metrics.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import UsageError

__all__ = ["compare", "load_report"]

_INPUTS = ("task_sha256", "patch_sha256", "hidden_tests_sha256", "base_sha256")


def load_report(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """The results of a JSON report by (task, submission); UsageError naming the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"--proofswe-replay: cannot read {path}: {exc}") from None
    if not isinstance(data, dict) or not str(data.get("schema", "")).startswith("proofswe-report/"):
        raise UsageError(f"--proofswe-replay: {path} is not a pytest-proofswe JSON report (no proofswe-report schema)")
    return {
        (r["task"], r["submission"]): r
        for r in data.get("results", [])
        if isinstance(r, dict) and r.get("submission") is not None
    }


def _passed(r: dict[str, Any], group: str) -> list[str]:
    return sorted((r.get("behaviour") or {}).get(group, {}).get("passed", []))


def _differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    out: list[str] = []
    old_proof, new_proof = old.get("proof") or {}, new.get("proof") or {}
    for key in _INPUTS:
        if old_proof.get(key) and new_proof.get(key) and old_proof[key] != new_proof[key]:
            out.append(f"input changed: {key} {old_proof[key][:12]} -> {new_proof[key][:12]}")
    ob, nb = old.get("behaviour") or {}, new.get("behaviour") or {}
    if ob.get("status") != nb.get("status"):
        out.append(f"behaviour: {ob.get('status')} -> {nb.get('status')}")
    for group in ("fail_to_pass", "pass_to_pass"):
        before, after = set(_passed(old, group)), set(_passed(new, group))
        if before != after:
            lost, gained = sorted(before - after), sorted(after - before)
            parts = ([f"no longer pass: {', '.join(lost[:5])}"] if lost else []) + (
                [f"now pass: {', '.join(gained[:5])}"] if gained else []
            )
            out.append(f"{group}: {'; '.join(parts)}")
    ot, nt = old.get("taste") or {}, new.get("taste") or {}
    if ot.get("score") != nt.get("score"):
        out.append(f"taste: {ot.get('score')} -> {nt.get('score')}")
    orv, nrv = old.get("review") or {}, new.get("review") or {}
    if (orv.get("status"), orv.get("score")) != (nrv.get("status"), nrv.get("score")):
        out.append(f"review: {orv.get('status')} {orv.get('score')} -> {nrv.get('status')} {nrv.get('score')}")
    om, nm = (old.get("session") or {}).get("metrics") or {}, (new.get("session") or {}).get("metrics") or {}
    changed = sorted(k for k in set(om) | set(nm) if om.get(k) != nm.get(k) and k != "wall_s")
    if changed:
        out.append("session: " + ", ".join(f"{k} {om.get(k)} -> {nm.get(k)}" for k in changed[:6]))
    old_env = (old_proof.get("environment") or {}).get("packages") or {}
    new_env = (new_proof.get("environment") or {}).get("packages") or {}
    if old_env and new_env and old_env != new_env and out:
        out.append(f"environment packages differ: {old_env} -> {new_env}")  # a likely cause
    return out


def compare(old: dict[tuple[str, str], dict[str, Any]], new: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Which of the old results the new run reproduces, which differ (and how), which it lacks."""
    new_by_key = {(r["task"], r["submission"]): r for r in new if r.get("submission") is not None}
    reproduced, differ, missing = [], [], []
    for key, old_result in old.items():
        if key not in new_by_key:
            missing.append({"task": key[0], "submission": key[1]})
            continue
        diffs = _differences(old_result, new_by_key[key])
        if diffs:
            differ.append({"task": key[0], "submission": key[1], "differences": diffs})
        else:
            reproduced.append({"task": key[0], "submission": key[1]})
    return {"reproduced": reproduced, "differ": differ, "missing": missing}
