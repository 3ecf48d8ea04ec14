"""Lint findings the patch introduced: ruff on the base and the head of every touched file.

In the project's own terms: every ruff configuration file of the repository is laid out
where it stands (ruff picks the closest one for each file, as in the repository), with the
Python version the project supports when a configuration does not state its own; without
one, our pinned rule set at that version. Violations are matched base against head by
rule, enclosing function and normalised line text, then by rule, enclosing function and
message, then by rule and enclosing function between a removed and an added line, never by
line number (lines shift): an old violation on an edited line is neither removed nor
introduced, and a new one on an untouched line is not missed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from .. import process
from .model import Finding, TasteConfig, TasteInput
from .pyparse import enclosing, tree_of

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

#: The rule set used when the repository has no ruff configuration of its own. Chosen for
#: what a reviewer would flag in a patch; style rules a formatter settles are left out.
DEFAULT_SELECT = ("F", "E4", "E7", "E9", "B", "SIM", "C4", "PIE", "PERF")
#: The Python version assumed when the project states none (ruff's own default once).
DEFAULT_TARGET = "py38"


def default_config(target: str | None = None) -> str:
    """Our pinned rule set as a ruff.toml, for ``target`` (``"py310"``) or DEFAULT_TARGET."""
    return (
        "# pytest-proofswe's pinned taste rule set\n"
        f'target-version = "{target or DEFAULT_TARGET}"\n'
        "[lint]\n"
        f"select = {json.dumps(list(DEFAULT_SELECT))}\n"
    )


DEFAULT_CONFIG = default_config()
_REMOVED_RULE = re.compile(r"Rule `(\w+)` was removed")


def _parses(text: str | None) -> bool:
    """Whether ``text`` is Python that parses: a head that does not is code-syntax-error's."""
    return tree_of(text) is not None


def find_ruff() -> str | None:
    try:
        from ruff.__main__ import find_ruff_bin  # type: ignore[import-untyped]

        return str(find_ruff_bin())
    except Exception:
        return shutil.which("ruff")


#: ruff's version by (executable, its modification time and size): asked once per process, not per grade.
_VERSIONS: dict[tuple[str, int, int], str] = {}


def ruff_version(ruff: str, cwd: Path) -> str:
    """``ruff --version`` of the executable ``ruff`` (run again only when the file changed)."""
    try:
        stat = os.stat(ruff)
        key = (ruff, stat.st_mtime_ns, stat.st_size)
    except OSError:
        key = None
    if key is not None and key in _VERSIONS:
        return _VERSIONS[key]
    result = process.run([ruff, "--version"], cwd=cwd, env={"PATH": ""}, timeout=30)
    version = result.output.strip()
    if key is not None and result.ok and version:
        _VERSIONS[key] = version
    return version


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


@dataclass(frozen=True)
class _Violation:
    code: str
    scope: str  # the enclosing function or class ("<module>")
    text: str  # the line, whitespace-normalised
    row: int
    message: str  # "CODE message"


def _violations(found: list[dict[str, Any]], text: str) -> list[_Violation]:
    lines = text.splitlines()
    out = []
    for v in found:
        code = v.get("code")
        if not code or code in COVERED_ELSEWHERE:  # a syntax error is code-syntax-error, and so on
            continue
        row = v["location"]["row"]
        line_text = " ".join(lines[row - 1].split()) if 0 < row <= len(lines) else ""
        out.append(_Violation(code, enclosing(text, row), line_text, row, f"{code} {v.get('message', '')}"))
    return out


def _pair(
    ours: list[_Violation], theirs: list[_Violation], key: Callable[[_Violation], tuple[Any, ...]]
) -> tuple[list[_Violation], list[_Violation]]:
    """Match ``ours`` against ``theirs`` by ``key`` (a multiset match); what is left of each."""
    left = Counter(key(v) for v in theirs)
    ours_left = []
    for v in ours:
        if left[key(v)] > 0:
            left[key(v)] -= 1
        else:
            ours_left.append(v)
    matched = Counter(key(v) for v in theirs) - left
    theirs_left = []
    for v in theirs:
        if matched[key(v)] > 0:
            matched[key(v)] -= 1
        else:
            theirs_left.append(v)
    return ours_left, theirs_left


def match(
    head: list[_Violation], base: list[_Violation], added_rows: set[int], removed_rows: set[int]
) -> tuple[list[_Violation], list[_Violation]]:
    """(introduced, removed): the head's violations the base has no match for, and the converse.

    Matched by rule, scope and line text; then by rule, scope and message (a line edited
    around the same violation); then by rule and scope between a removed line and an added
    one (an edited line keeps its violation: it is neither removed nor introduced).
    """
    head, base = _pair(head, base, lambda v: (v.code, v.scope, v.text))
    head, base = _pair(head, base, lambda v: (v.code, v.scope, v.message))
    edited_head = [v for v in head if v.row in added_rows]
    edited_base = [v for v in base if v.row in removed_rows]
    new_left, old_left = _pair(edited_head, edited_base, lambda v: (v.code, v.scope))
    introduced = [v for v in head if v.row not in added_rows] + new_left
    removed = [v for v in base if v.row not in removed_rows] + old_left
    return sorted(introduced, key=lambda v: v.row), sorted(removed, key=lambda v: v.row)


#: ruff's default rule selection before 0.16 (0.1.0 to 0.15: ``F`` and ``E4``/``E7``/``E9``;
#: before 0.1.0: ``E`` and ``F``). ruff 0.16 made it 413 rules: a project whose configuration
#: relies on the default was written against the old one unless it pins ruff 0.16 or later.
LEGACY_DEFAULT_SELECT = ("E4", "E7", "E9", "F")
_OLDEST_DEFAULT_SELECT = ("E", "F")
_VERSION = re.compile(r"(\d+)\.(\d+)")


def default_select_of(project_ruff: str | None) -> tuple[str, ...] | None:
    """The default rule selection of the ruff the project pins; None for ruff 0.16 or later (ours)."""
    m = _VERSION.search(project_ruff or "")
    if m is None:
        return LEGACY_DEFAULT_SELECT  # no pin: the default nearly every project was written against
    version = (int(m.group(1)), int(m.group(2)))
    if version >= (0, 16):
        return None
    return LEGACY_DEFAULT_SELECT if version >= (0, 1) else _OLDEST_DEFAULT_SELECT


def _insert(text: str, table: str, line: str) -> str:
    """``line`` added to ``[table]`` of a TOML text (after its header, or in a new table at the end)."""
    header = re.compile(rf"^\[{re.escape(table)}\][ \t]*(?:#.*)?$", re.M)
    if header.search(text):
        return header.sub(lambda m: f"{m.group(0)}\n{line}", text, count=1)
    return f"{text.rstrip()}\n\n[{table}]\n{line}\n"


def _ruff_table(path: str, data: dict[str, Any]) -> dict[str, Any]:
    table = data.get("tool", {}).get("ruff", {}) if PurePosixPath(path).name == "pyproject.toml" else data
    return table if isinstance(table, dict) else {}


def relies_on_default(path: str, text: str) -> bool:
    """Whether a ruff configuration uses ruff's default rule selection (it selects none and extends none)."""
    try:
        table = _ruff_table(path, tomllib.loads(text))
    except tomllib.TOMLDecodeError:
        return False
    return not ("extend" in table or "select" in table or "select" in table.get("lint", {}))


def in_project_terms(path: str, text: str, target: str | None, default_select: tuple[str, ...] | None) -> str:
    """``text`` of the ruff configuration at ``path``, with what the project's own ruff assumed made explicit.

    The Python version the project supports (``target``) where the configuration states none
    and cannot infer one (``requires-python`` beside it, or an ``extend``-ed parent), and the
    default rule selection of the project's ruff (``default_select``) where it selects none.
    The text is returned unchanged when an addition would not parse.
    """
    pyproject = PurePosixPath(path).name == "pyproject.toml"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return text  # ruff says what is wrong with it
    table = _ruff_table(path, data)
    inherits = "extend" in table
    prefix = "tool.ruff" if pyproject else ""
    out = text
    states_version = "target-version" in table or (pyproject and "requires-python" in data.get("project", {}))
    if target is not None and not inherits and not states_version:
        line = f'target-version = "{target}"'
        out = _insert(out, prefix, line) if pyproject else f"{line}\n{out}"
    if default_select is not None and relies_on_default(path, text):
        out = _insert(out, f"{prefix}.lint" if prefix else "lint", f"select = {json.dumps(list(default_select))}")
    try:
        tomllib.loads(out)
    except tomllib.TOMLDecodeError:
        return text
    return out


def _without_rule(configs: list[tuple[str, str]], rule: str) -> list[tuple[str, str]]:
    """The configurations with a rule this ruff no longer knows taken out of their lists."""
    pattern = re.compile(rf"""\s*["']{re.escape(rule)}["']\s*,?""")
    return [(path, pattern.sub("", text)) for path, text in configs]


def run_ruff(
    files: dict[str, tuple[str | None, str | None]], configs: list[tuple[str, str]] | str, config_name: str = ""
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[dict[str, Any]]], str]:
    """Lint base and head versions in one ruff process; (base, head) violations by path, version.

    ``configs``: (path from the repository's root, text) of each configuration file, laid out
    under both versions (a single text with ``config_name``, as before, is accepted).
    """
    if isinstance(configs, str):
        configs = [(config_name or "ruff.toml", configs)]
    ruff = find_ruff()
    if ruff is None:
        raise FileNotFoundError("ruff is not installed")
    with tempfile.TemporaryDirectory(prefix="proofswe-lint-") as tmp:
        root = Path(tmp)
        for side in ("base", "head"):
            (root / side).mkdir()
            for rel, text in configs:
                target = root / side / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
        for path, (base, head) in files.items():
            for side, content in (("base", base), ("head", head)):
                if content is None:
                    continue
                target = root / side / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(content, encoding="utf-8", errors="surrogateescape")
        report = root / "violations.json"  # a file, not stdout: ruff's warnings go to the output too
        result = process.run(
            [
                ruff,
                "check",
                "--output-format=json",
                f"--output-file={report}",
                "--no-cache",
                "--exit-zero",
                "--quiet",
                "base",
                "head",
            ],
            cwd=root,
            env={"PATH": "", "NO_COLOR": "1"},
            timeout=120,
        )
        version = ruff_version(ruff, root)
        if not result.ok:
            raise RuntimeError(f"ruff failed (exit {result.returncode}): {result.tail(5)}")
        violations = json.loads(report.read_text(encoding="utf-8") or "[]") if report.is_file() else []
        by_side: dict[str, dict[str, list[dict[str, Any]]]] = {"base": {}, "head": {}}
        for v in violations:
            rel = Path(v["filename"]).resolve().relative_to(root.resolve()).as_posix()
            side, _, path = rel.partition("/")
            by_side[side].setdefault(path, []).append(v)
        return by_side["base"], by_side["head"], version


def _lint(
    files: dict[str, tuple[str | None, str | None]], data: TasteInput, metrics: dict[str, Any]
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[dict[str, Any]]], str]:
    """ruff with the repository's configuration (rules this ruff removed taken out), else ours."""
    configs = list(data.ruff_configs)
    if not configs and data.ruff_config is not None:
        configs = [(data.ruff_config_name, data.ruff_config)]
    default_select = default_select_of(data.project_ruff)
    if not any(relies_on_default(path, text) for path, text in configs):
        default_select = None
    configs = [(path, in_project_terms(path, text, data.python_target, default_select)) for path, text in configs]
    metrics["lint_target"] = data.python_target or "as the configuration says"
    if configs:
        dropped: list[str] = []
        for _attempt in range(20):
            try:
                found = run_ruff(files, configs)
            except RuntimeError as exc:
                removed = _REMOVED_RULE.search(str(exc))
                if removed and removed.group(1) not in dropped:
                    dropped.append(removed.group(1))
                    configs = _without_rule(configs, removed.group(1))
                    continue
                reason = " ".join(str(exc).split())[-200:]
                metrics["lint_rules"] = f"{','.join(DEFAULT_SELECT)} (the repository's configuration failed: {reason})"
                break
            metrics["lint_rules"] = "repository"
            if default_select is not None:
                metrics["lint_rules"] += (
                    f" (where it selects none: {','.join(default_select)}, ruff's default before 0.16)"
                )
            if dropped:
                metrics["lint_rules"] += f" (without {', '.join(dropped)}: removed from this ruff)"
            return found
    metrics.setdefault("lint_rules", ",".join(DEFAULT_SELECT))
    metrics["lint_target"] = data.python_target or DEFAULT_TARGET
    return run_ruff(files, [("ruff.toml", default_config(data.python_target))])


def check(data: TasteInput, config: TasteConfig, metrics: dict[str, Any]) -> Iterator[Finding]:
    files: dict[str, tuple[str | None, str | None]] = {
        f.path: (f.base, f.head) for f in data.files if f.is_python and not f.binary and _parses(f.head)
    }
    if not files:
        metrics["lint_introduced"] = 0
        metrics["lint_removed"] = 0
        return
    try:
        base_v, head_v, version = _lint(files, data, metrics)
    except (FileNotFoundError, RuntimeError, ValueError, OSError) as exc:
        metrics["lint"] = f"skipped: {exc}"
        return
    metrics["lint_tool"] = version
    if data.project_ruff:
        metrics["lint_project_ruff"] = data.project_ruff
    introduced_total = removed_total = 0
    by_path = {f.path: f for f in data.files}
    for path, (base, head) in files.items():
        assert head is not None
        f = by_path[path]
        introduced, removed = match(
            _violations(head_v.get(path, []), head),
            _violations(base_v.get(path, []), base or ""),
            {ln for ln, _ in f.added()},
            {ln for ln, _ in f.removed()},
        )
        for v in introduced:
            introduced_total += 1
            yield Finding("lint-introduced", path, v.row, v.message, config.weight("lint-introduced"))
        for v in removed:
            removed_total += 1
            yield Finding(
                "lint-removed", path, None, f"{v.message} (was at base line {v.row})", config.weight("lint-removed")
            )
    metrics["lint_introduced"] = introduced_total
    metrics["lint_removed"] = removed_total
