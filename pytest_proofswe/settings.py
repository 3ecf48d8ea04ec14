"""One frozen Settings, built from options, ``[tool.proofswe]`` and ini: the only reader of config.

Precedence: command-line option, then ``[tool.proofswe]`` in the rootdir's
pyproject.toml, then the ini key ``proofswe_<name>``, then the default.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import UsageError
from .taste.model import TasteConfig

if TYPE_CHECKING:
    from .review.reviewer import ReviewConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

__all__ = ["EXECUTORS", "Settings", "default_cache_dir", "read_tool_table"]

EXECUTORS = ("local", "ray")

_TOOL_KEYS = {
    "sarif",
    "report",
    "markdown",
    "html",
    "model",
    "rubric",
    "min_taste_score",
    "cache_dir",
    "jobs",
    "workspace_dir",
    "samples",
    "max_cost_usd",
    "sandbox",
    "max_decay",
    "durability",
    "durability_after",
    "executor",
    "ray_address",
}
_REVIEW_KEYS = {"api_base", "temperature", "max_tokens", "timeout", "num_retries"}


def default_cache_dir() -> Path:
    if os.environ.get("PROOFSWE_CACHE_DIR"):
        return Path(os.environ["PROOFSWE_CACHE_DIR"]).expanduser().absolute()
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
    predictions: tuple[Path, ...]  # --proofswe-predictions, in the order given (file k holds trial k)
    validate: bool
    keep_workspaces: bool
    rebuild_envs: bool
    cache_dir: Path
    jobs: int
    tool: dict[str, Any]
    workspace_dir: Path | None = None
    taste: TasteConfig = field(default_factory=TasteConfig)
    review: ReviewConfig | None = None  # None: no model configured, reviews are skipped
    rubric: str = "taste"  # a built-in rubric's name, or the absolute path of a rubric file
    calibrate: Path | None = None
    diff_base: str | None = None
    diff_only: bool = False  # --proofswe-diff-only: the repository's tests are not collected
    markdown: Path | None = None
    html: Path | None = None  # --proofswe-html: the self-contained HTML report (outputs/html.py)
    sarif: Path | None = None
    session: dict[str, Any] = field(default_factory=dict)  # [tool.proofswe.session] thresholds
    replay: Path | None = None
    tasks: bool = True  # collect task folders (--proofswe, --proofswe-validate, --proofswe-predictions)
    sandbox: str = "auto"  # --proofswe-sandbox: auto, bwrap or none (see .sandbox)
    no_cache: bool = False  # --proofswe-no-cache or --cache-clear: stored results are not served
    compare: Path | None = None  # --proofswe-compare: the old JSON report this run is compared with
    fail_on_regression: bool = False  # --proofswe-fail-on-regression
    history: str | None = None  # --proofswe-history=BASE..HEAD
    max_decay: float | None = None  # --proofswe-max-decay: decay points a range (or a stepped task) may lose
    durability: str | None = None  # --proofswe-durability=SELECTOR: whose lines' durability history mode measures
    durability_after: int | None = None  # --proofswe-durability-after=N: observed N commits later (None: at HEAD)
    executor: str = "local"  # --proofswe-executor: local or ray (see .executors)
    ray_address: str | None = None  # --proofswe-ray-address, else $RAY_ADDRESS; None: a local cluster
    ray_cpus: int | None = None  # the local Ray cluster's CPUs: --proofswe-jobs when given, else the machine's

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
            try:
                ini = config.getini(f"proofswe_{name}")
            except ValueError:  # not an ini key
                return None
            return ini or None

        report = pick("report")
        workspace_dir = pick("workspace_dir")
        if workspace_dir is not None and not Path(workspace_dir).expanduser().is_dir():
            raise UsageError(f"--proofswe-workspace-dir: {workspace_dir} is not a folder (fix: create it first)")
        cache = pick("cache_dir")
        jobs_raw = pick("jobs")
        jobs_given = jobs_raw is not None
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
        rubric = _rubric(config, tool)
        review = _review_settings(pick, tool, opt)
        from .session import check_session_table

        try:
            session = check_session_table(tool.get("session", {}), "pyproject.toml [tool.proofswe.session]")
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        calibrate = getattr(opt, "proofswe_calibrate", None)
        if calibrate is not None:
            calibrate = Path(config.invocation_params.dir) / Path(calibrate).expanduser()
            if not calibrate.is_dir():
                raise UsageError(f"--proofswe-calibrate: {calibrate} is not a folder of labelled examples")
        diff_only = bool(getattr(opt, "proofswe_diff_only", False))
        if diff_only and not opt.proofswe_diff:
            raise UsageError(
                "--proofswe-diff-only grades the change that --proofswe-diff names "
                "(fix: add --proofswe-diff=BASE, e.g. --proofswe-diff=origin/main)"
            )
        sandbox = pick("sandbox") or os.environ.get("PROOFSWE_SANDBOX") or "auto"
        from .harness.sandbox import MODES

        if sandbox not in MODES:
            raise UsageError(
                f"--proofswe-sandbox (or sandbox in [tool.proofswe], proofswe_sandbox in the ini file, "
                f"$PROOFSWE_SANDBOX) must be one of {', '.join(MODES)}, got {sandbox!r}"
            )
        history = getattr(opt, "proofswe_history", None)
        max_decay = _number(pick("max_decay"), "--proofswe-max-decay (or max_decay in [tool.proofswe])")
        durability = pick("durability")
        durability_after = pick("durability_after")
        if durability_after is not None:
            try:
                durability_after = int(durability_after)
            except (TypeError, ValueError):
                raise UsageError(
                    f"--proofswe-durability-after must be a whole number, got {durability_after!r}"
                ) from None
            if durability_after < 1:
                raise UsageError(f"--proofswe-durability-after must be at least 1, got {durability_after}")
        if getattr(opt, "proofswe_durability", None) and not history:
            raise UsageError(
                "--proofswe-durability measures the agent's lines over the range --proofswe-history names "
                "(fix: add --proofswe-history=BASE..HEAD, or run python -m pytest_proofswe durability)"
            )
        tasks = bool(opt.proofswe or opt.proofswe_validate or opt.proofswe_predictions or opt.proofswe_replay)
        if getattr(opt, "proofswe_max_decay", None) is not None and not (history or tasks):
            raise UsageError(
                "--proofswe-max-decay is a gate on --proofswe-history or on stepped tasks "
                "(fix: add --proofswe-history=BASE..HEAD, or --proofswe with the task folders)"
            )
        if durability is not None:
            from .modes.durability import AgentSelector

            AgentSelector.parse(str(durability))  # a bad selector is a usage error now
        compare = getattr(opt, "proofswe_compare", None)
        fail_on_regression = bool(getattr(opt, "proofswe_fail_on_regression", False))
        if fail_on_regression and compare is None:
            raise UsageError(
                "--proofswe-fail-on-regression fails the run when a submission regressed since an older report "
                "(fix: name that report with --proofswe-compare=OLD.json)"
            )
        executor, ray_address = _executor_settings(pick, opt)
        predictions = opt.proofswe_predictions or []
        for given in predictions:
            if not Path(given).is_file():
                raise UsageError(f"--proofswe-predictions: {given} is not a file")
        return cls(
            enabled=bool(
                opt.proofswe
                or opt.proofswe_validate
                or predictions
                or calibrate
                or opt.proofswe_diff
                or opt.proofswe_replay
                or compare
                or history
            ),
            report=Path(report) if report else None,
            predictions=tuple(Path(p) for p in predictions),
            validate=bool(opt.proofswe_validate),
            keep_workspaces=bool(opt.proofswe_keep_workspaces),
            rebuild_envs=bool(opt.proofswe_rebuild_envs),
            no_cache=bool(opt.proofswe_no_cache) or bool(getattr(opt, "cacheclear", False)),
            # Absolute: environments and workspaces are used from other working directories.
            cache_dir=Path(cache).expanduser().absolute() if cache else default_cache_dir(),
            jobs=jobs,
            tool=tool,
            workspace_dir=Path(workspace_dir).expanduser().absolute() if workspace_dir else None,
            taste=taste,
            review=review,
            rubric=rubric,
            calibrate=Path(calibrate) if calibrate else None,
            diff_base=opt.proofswe_diff,
            diff_only=diff_only,
            markdown=Path(pick("markdown")) if pick("markdown") else None,
            html=Path(pick("html")) if pick("html") else None,
            sarif=Path(pick("sarif")) if pick("sarif") else None,
            tasks=bool(tasks or (compare and not opt.proofswe_diff)),
            replay=Path(opt.proofswe_replay) if opt.proofswe_replay else None,
            session=session,
            sandbox=str(sandbox),
            compare=Path(compare) if compare else None,
            fail_on_regression=fail_on_regression,
            history=history,
            max_decay=max_decay,
            durability=str(durability) if durability else None,
            durability_after=durability_after,
            executor=executor,
            ray_address=ray_address,
            ray_cpus=jobs if jobs_given and executor == "ray" else None,
        )


def _number(value: Any, where: str) -> float | None:
    """A finite number, or None; anything else is a usage error naming ``where``."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"{where} must be a number of decay points (docs/decay.md), got {value!r}") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise UsageError(f"{where} must be a finite number of decay points, got {value!r}")
    return number


def _executor_settings(pick: Any, opt: Any) -> tuple[str, str | None]:
    """``--proofswe-executor`` and ``--proofswe-ray-address``, checked (Ray is not imported here)."""
    from .executors import RAY_INSTALL, ray_available

    executor = pick("executor") or "local"
    if executor not in EXECUTORS:
        raise UsageError(
            f"--proofswe-executor (or executor in [tool.proofswe], proofswe_executor in the ini file) "
            f"must be one of {', '.join(EXECUTORS)}, got {executor!r}"
        )
    address = pick("ray_address")
    if address is not None and executor != "ray":
        raise UsageError(
            f"--proofswe-ray-address={address} names a Ray cluster, but the executor is {executor!r} "
            "(fix: add --proofswe-executor=ray, or drop the address)"
        )
    if executor != "ray":
        return executor, None
    if getattr(opt, "dist", "no") != "no" and getattr(opt, "tx", None):  # pytest-xdist is distributing
        workers = getattr(opt, "numprocesses", None) or len(opt.tx)
        raise UsageError(
            f"--proofswe-executor=ray and -n {workers}: each pytest-xdist worker would dispatch to Ray on its own "
            "(fix: drop -n; with Ray, the one pytest process is the controller and the cluster grades)"
        )
    if not ray_available():
        raise UsageError(f"--proofswe-executor=ray needs Ray, which is not installed here (fix: {RAY_INSTALL})")
    return executor, str(address or os.environ.get("RAY_ADDRESS") or "") or None


def _rubric(config: Any, tool: dict[str, Any]) -> str:
    """The run's rubric: a built-in name, or an absolute path, checked now rather than at each review.

    A path is relative to what named it: the folder pytest was started in for
    ``--proofswe-rubric``, the pyproject.toml holding ``[tool.proofswe]`` for ``rubric``, the
    ini file pytest found for ``proofswe_rubric``. (A task's ``[review] rubric`` is relative to
    the task folder: :mod:`.task` and :mod:`.grading` resolve it.)
    """
    from .review.rubric import RubricError, builtin_rubrics, load_rubric, resolve_rubric

    value = getattr(config.option, "proofswe_rubric", None)
    overrides = [o for o in getattr(config.option, "override_ini", None) or () if o.startswith("proofswe_rubric=")]
    if value is not None or overrides:
        where = "--proofswe-rubric" if value is not None else "-o proofswe_rubric"
        value = value if value is not None else overrides[-1].partition("=")[2]
        base, relative_to = Path(config.invocation_params.dir), "the folder pytest was started in"
    elif "rubric" in tool:
        value = tool["rubric"]
        pyproject = Path(config.rootpath) / "pyproject.toml"
        where, base, relative_to = f"{pyproject}: [tool.proofswe] rubric", pyproject.parent, "that pyproject.toml"
    else:
        try:
            value = config.getini("proofswe_rubric") or None
        except ValueError:  # the option is not registered (a bare Config in a test)
            value = None
        if value is None or config.inipath is None:
            return "taste"
        inipath = Path(config.inipath)
        where, base, relative_to = f"{inipath}: proofswe_rubric", inipath.parent, inipath.name
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{where} must be a rubric's name or the path of a rubric file, got {value!r}")
    resolved = resolve_rubric(value.strip(), base)
    builtins = ", ".join(builtin_rubrics())
    if resolved not in builtin_rubrics() and not Path(resolved).is_file():
        raise UsageError(
            f"{where}: no rubric {value!r}: {resolved} is not a file (a path here is relative to {relative_to}) "
            f"(fix: give the path of a rubric TOML file, or a built-in rubric's name: {builtins})"
        )
    try:
        load_rubric(resolved)  # a bad file is a usage error now, not one error per review
    except RubricError as exc:
        raise UsageError(f"{where}: {exc}") from None
    return resolved


def _review_settings(pick: Any, tool: dict[str, Any], opt: Any) -> ReviewConfig | None:
    """The reviewer's configuration (None without a model)."""
    from .review.reviewer import ReviewConfig

    model = pick("model")
    table = tool.get("review", {})
    if not isinstance(table, dict):
        raise UsageError("[tool.proofswe.review] must be a table")
    unknown = set(table) - _REVIEW_KEYS
    if unknown:
        raise UsageError(
            f"unknown key(s) in [tool.proofswe.review]: {', '.join(sorted(unknown))} "
            f"(known: {', '.join(sorted(_REVIEW_KEYS))})"
        )
    samples = pick("samples")
    samples = 1 if samples is None else samples
    if not isinstance(samples, int) or samples < 1:
        raise UsageError(f"--proofswe-samples must be a whole number of at least 1, got {samples!r}")
    max_cost = pick("max_cost")
    if max_cost is None:
        max_cost = tool.get("max_cost_usd")
    if max_cost is not None and (not isinstance(max_cost, (int, float)) or max_cost < 0):
        raise UsageError(f"--proofswe-max-cost must be a non-negative number of dollars, got {max_cost!r}")
    if not model:
        return None
    return ReviewConfig(
        model=str(model),
        samples=samples,
        temperature=float(table.get("temperature", 0.0 if samples == 1 else 0.7)),
        max_tokens=int(table.get("max_tokens", 2000)),
        timeout=float(table.get("timeout", 120)),
        num_retries=int(table.get("num_retries", 2)),
        api_base=table.get("api_base"),
        max_cost_usd=float(max_cost) if max_cost is not None else None,
        fail_unstable=bool(opt.proofswe_fail_unstable),
    )
