"""One frozen Settings, built from options, ``[tool.proofswe]`` and ini: the only reader of config.

Precedence: command-line option, then ``[tool.proofswe]`` in the rootdir's
pyproject.toml, then the ini key ``proofswe_<name>``, then the default.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UsageError
from .taste.model import TasteConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

__all__ = ["Settings", "default_cache_dir", "read_tool_table"]

_TOOL_KEYS = {"report", "markdown", "model", "rubric", "min_taste_score", "cache_dir", "jobs", "workspace_dir"}


def default_cache_dir() -> Path:
    if os.environ.get("PROOFSWE_CACHE_DIR"):
        return Path(os.environ["PROOFSWE_CACHE_DIR"])
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "pytest-proofswe"


def read_tool_table(rootpath: Path) -> dict[str, Any]:
    """``[tool.proofswe]`` of ``rootpath / "pyproject.toml"`` ({} when absent)."""
    path = rootpath / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, OSError) as exc:
        raise UsageError(f"{path}: cannot read [tool.proofswe]: {exc}") from None
    table = data.get("tool", {}).get("proofswe", {})
    if not isinstance(table, dict):
        raise UsageError(f"{path}: [tool.proofswe] must be a table")
    unknown = set(table) - _TOOL_KEYS - {"taste", "review", "session"}
    if unknown:
        raise UsageError(
            f"{path}: unknown key(s) in [tool.proofswe]: {', '.join(sorted(unknown))} "
            f"(known: {', '.join(sorted(_TOOL_KEYS))})"
        )
    return table


@dataclass(frozen=True)
class Settings:
    enabled: bool
    report: Path | None
    predictions: Path | None
    validate: bool
    keep_workspaces: bool
    rebuild_envs: bool
    cache_dir: Path
    jobs: int
    tool: dict[str, Any]
    workspace_dir: Path | None = None
    taste: TasteConfig = field(default_factory=TasteConfig)

    @classmethod
    def from_config(cls, config: Any) -> Settings:
        opt = config.option
        tool = read_tool_table(Path(config.rootpath))

        def pick(name: str) -> Any:
            value = getattr(opt, f"proofswe_{name}", None)
            if value is not None:
                return value
            if name in tool:
                return tool[name]
            ini = config.getini(f"proofswe_{name}")
            return ini or None

        report = pick("report")
        workspace_dir = pick("workspace_dir")
        if workspace_dir is not None and not Path(workspace_dir).expanduser().is_dir():
            raise UsageError(f"--proofswe-workspace-dir: {workspace_dir} is not a folder (fix: create it first)")
        cache = pick("cache_dir")
        jobs_raw = pick("jobs")
        jobs_raw = 1 if jobs_raw is None else jobs_raw
        try:
            jobs = int(jobs_raw)
        except (TypeError, ValueError):
            raise UsageError(f"--proofswe-jobs must be a whole number, got {jobs_raw!r}") from None
        if jobs < 1:
            raise UsageError(f"--proofswe-jobs must be at least 1, got {jobs}")
        taste = TasteConfig()
        try:
            taste = taste.merged(tool.get("taste", {}), "pyproject.toml [tool.proofswe.taste]")
            min_score = pick("min_taste_score")
            if min_score is not None:
                taste = taste.merged({"min_taste_score": float(min_score)}, "min_taste_score")
        except (TypeError, ValueError) as exc:
            raise UsageError(str(exc)) from None
        predictions = opt.proofswe_predictions
        if predictions is not None and not Path(predictions).is_file():
            raise UsageError(f"--proofswe-predictions: {predictions} is not a file")
        return cls(
            enabled=bool(opt.proofswe or opt.proofswe_validate or predictions),
            report=Path(report) if report else None,
            predictions=Path(predictions) if predictions else None,
            validate=bool(opt.proofswe_validate),
            keep_workspaces=bool(opt.proofswe_keep_workspaces),
            rebuild_envs=bool(opt.proofswe_rebuild_envs),
            cache_dir=Path(cache).expanduser() if cache else default_cache_dir(),
            jobs=jobs,
            tool=tool,
            workspace_dir=Path(workspace_dir).expanduser() if workspace_dir else None,
            taste=taste,
        )
