"""Lint findings the patch introduced: ruff on the base and the head of every touched file.

Violations are matched by rule, enclosing function and normalised line text, not by
line number (lines shift), so an old violation on an edited line does not count against
the patch and a new one on an untouched line is not missed. The rule set is pinned:
the repository's own ruff configuration when it has one, ours otherwise.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .. import process
from .model import Finding, TasteConfig, TasteInput
from .pyparse import enclosing, tree_of

#: The rule set used when the repository has no ruff configuration of its own. Chosen for
#: what a reviewer would flag in a patch; style rules a formatter settles are left out.
DEFAULT_SELECT = ("F", "E4", "E7", "E9", "B", "SIM", "C4", "PIE", "PERF")
DEFAULT_CONFIG = (
    "# pytest-proofswe's pinned taste rule set\n"
    'target-version = "py38"\n'
    "[lint]\n"
    f"select = {json.dumps(list(DEFAULT_SELECT))}\n"
)


def _parses(text: str | None) -> bool:
    """Whether ``text`` is Python that parses: a head that does not is code-syntax-error's."""
    return tree_of(text) is not None


def find_ruff() -> str | None:
    try:
        from ruff.__main__ import find_ruff_bin  # type: ignore[import-untyped]

        return str(find_ruff_bin())
    except Exception:
        return shutil.which("ruff")


#: Codes that dedicated taste rules report already (errors-bare-except, debug-print, ...).
COVERED_ELSEWHERE = frozenset(
    {
        "E722",
        "T201",
        "T203",
        "T100",
        "ERA001",
        "BLE001",
        "S105",
        "S106",
        "FIX001",
        "FIX002",
        "FIX003",
        "FIX004",
        "TD001",
        "TD002",
        "TD003",
        "TD004",
        "TD005",
    }
)


# ((rule, enclosing function, normalised line text), row, "RULE message")
_Keyed = tuple[tuple[str, str, str], int, str]


def _keys(violations: list[dict[str, Any]], text: str) -> list[_Keyed]:
    lines = text.splitlines()
    out = []
    for v in violations:
        code = v.get("code")
        if not code or code in COVERED_ELSEWHERE:  # a syntax error is code-syntax-error, and so on
            continue
        row = v["location"]["row"]
        line_text = " ".join(lines[row - 1].split()) if 0 < row <= len(lines) else ""
        out.append(((code, enclosing(text, row), line_text), row, f"{code} {v.get('message', '')}"))
    return out


def _unmatched(ours: list[_Keyed], theirs: list[_Keyed]) -> list[_Keyed]:
    """The violations of ``ours`` that ``theirs`` has no match for (a multiset difference)."""
    left = Counter(key for key, _row, _msg in theirs)
    out = []
    for entry in ours:
        if left[entry[0]] > 0:
            left[entry[0]] -= 1
        else:
            out.append(entry)
    return out


def run_ruff(
    files: dict[str, tuple[str | None, str | None]], config_text: str, config_name: str
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[dict[str, Any]]], str]:
    """Lint base and head versions in one ruff process; (base, head) violations by path, version."""
    ruff = find_ruff()
    if ruff is None:
        raise FileNotFoundError("ruff is not installed")
    with tempfile.TemporaryDirectory(prefix="proofswe-lint-") as tmp:
        root = Path(tmp)
        for side in ("base", "head"):
            (root / side).mkdir()
            (root / side / config_name).write_text(config_text, encoding="utf-8")
        for path, (base, head) in files.items():
            for side, text in (("base", base), ("head", head)):
                if text is None:
                    continue
                target = root / side / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8", errors="surrogateescape")
        result = process.run(
            [ruff, "check", "--output-format=json", "--no-cache", "--exit-zero", "--quiet", "base", "head"],
            cwd=root,
            env={"PATH": "", "NO_COLOR": "1"},
            timeout=120,
        )
        version = process.run([ruff, "--version"], cwd=root, env={"PATH": ""}, timeout=30).output.strip()
        if not result.ok:
            raise RuntimeError(f"ruff failed (exit {result.returncode}): {result.tail(5)}")
        text = result.output
        start = text.find("[")
        violations = json.loads(text[start:]) if start >= 0 else []
        by_side: dict[str, dict[str, list[dict[str, Any]]]] = {"base": {}, "head": {}}
        for v in violations:
            rel = Path(v["filename"]).resolve().relative_to(root.resolve()).as_posix()
            side, _, path = rel.partition("/")
            by_side[side].setdefault(path, []).append(v)
        return by_side["base"], by_side["head"], version


def check(data: TasteInput, config: TasteConfig, metrics: dict[str, Any]) -> Iterator[Finding]:
    files: dict[str, tuple[str | None, str | None]] = {
        f.path: (f.base, f.head) for f in data.files if f.is_python and not f.binary and _parses(f.head)
    }
    if not files:
        metrics["lint_introduced"] = 0
        metrics["lint_removed"] = 0
        return
    config_text = data.ruff_config if data.ruff_config is not None else DEFAULT_CONFIG
    config_name = data.ruff_config_name if data.ruff_config is not None else "ruff.toml"
    try:
        base_v, head_v, version = run_ruff(files, config_text, config_name)
    except (FileNotFoundError, RuntimeError, ValueError) as exc:
        metrics["lint"] = f"skipped: {exc}"
        return
    metrics["lint_tool"] = version
    metrics["lint_rules"] = "repository" if data.ruff_config is not None else ",".join(DEFAULT_SELECT)
    introduced_total = removed_total = 0
    for path, (base, head) in files.items():
        assert head is not None
        base_keys = _keys(base_v.get(path, []), base or "")
        head_keys = _keys(head_v.get(path, []), head)
        for _key, row, message in _unmatched(head_keys, base_keys):
            introduced_total += 1
            yield Finding("lint-introduced", path, row, message, config.weight("lint-introduced"))
        for _key, row, message in _unmatched(base_keys, head_keys):
            removed_total += 1
            yield Finding(
                "lint-removed", path, None, f"{message} (was at base line {row})", config.weight("lint-removed")
            )
    metrics["lint_introduced"] = introduced_total
    metrics["lint_removed"] = removed_total
