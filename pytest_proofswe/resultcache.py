"""A grade is a function of its inputs: stored under a hash of them, served when none changed.

The key hashes everything a :class:`.result.GradeResult` depends on:

* the task: task.toml, the issue, the hidden tests and the base state (``task_sha256``),
  the gold patch (the taste grade reads it) and a task's own rubric;
* the submission: its name and origin, its patch, its transcript, its ``meta.toml``;
* the environment: its key (interpreter, setup, variables, base state);
* the run's settings: the taste configuration, the reviewer's model and settings and the
  rubric's text, the session thresholds and readers, the sandbox (backend, version), the
  plugins that add taste findings (by name and file content);
* the grader: its version and the hash of its own source.

A result is stored once graded, so a run killed halfway resumes where it stopped. Results
whose behaviour, review or session is ``error`` (an environment that did not build, a model
that did not answer) and kept workspaces are never stored: the next run tries again.

The store is ``<cache>/results/<key[:2]>/<key>.pickle``: frozen values, written by this
process only (atomically), read back only by the grader. The sandbox hides the cache
folder from the code under test; with ``--proofswe-sandbox=none`` a submission can write
there like anywhere else (docs/security.md).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import pickle
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .grading import Grader, GradeRequest, hidden_tests_sha256, task_sha256
from .result import GradeResult

__all__ = ["ResultCache", "grader_fingerprint", "settings_fingerprint"]

_FORMAT = "1"


@functools.lru_cache(maxsize=1)
def grader_fingerprint() -> str:
    """This grader's version and the hash of its source: a change of either is a new grader."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("pytest-proofswe")
    except PackageNotFoundError:  # pragma: no cover - run from a checkout without install
        release = "unknown"
    digest = hashlib.sha256(release.encode())
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix in (".py", ".toml", ".md"):
            digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _file_sha(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "unreadable"


def _plain(value: Any) -> Any:
    """``value`` as JSON-ready data, for hashing (dataclasses, paths, sets, mappings)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(str(v) for v in value)
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


def settings_fingerprint(grader: Grader, hook_modules: Iterable[str] = ()) -> str:
    """The hash of the run's settings that shape a grade (see the module's docstring).

    ``hook_modules`` are the files of the plugins that implement the taste-findings hook.
    """
    rubric = Path(grader.rubric)
    reviewer = grader.reviewer
    data = {
        "taste": _plain(grader.taste_config),
        "review": _plain(getattr(reviewer, "config", None)),
        "rubric": [grader.rubric, _file_sha(rubric) if rubric.is_absolute() and rubric.is_file() else ""],
        "session": _plain(grader.session_thresholds),
        "session_readers": sorted(type(r).__module__ + "." + type(r).__qualname__ for r in grader.session_readers),
        "sandbox": _plain(grader.sandbox.describe() if grader.sandbox is not None else None),
        "hooks": sorted((m, _file_sha(Path(m))) for m in hook_modules),
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


class ResultCache:
    """Stored results under ``root`` (``<cache>/results``), keyed by their inputs."""

    def __init__(self, root: Path, settings: str) -> None:
        self.root = root
        self.settings = settings  # settings_fingerprint() of the run

    def key(self, request: GradeRequest, grader: Grader) -> str:
        """The hash of every input of ``request``'s grade (builds the base state if it is missing)."""
        task, sub = request.task, request.submission
        base = grader.bases.base_for(task)
        need_pytest = task.tests.command is None or "pytest" in task.tests.command
        env_key = grader.envs.key_for(task.environment, base, need_pytest=need_pytest)
        own_rubric = task.review.get("rubric")
        data = {
            "format": _FORMAT,
            "grader": grader_fingerprint(),
            "settings": self.settings,
            "task": [task.id, task_sha256(task, base.sha256), hidden_tests_sha256(task), _file_sha(task.gold_diff)],
            "task_rubric": _file_sha(task.root / str(own_rubric)) if own_rubric else "",
            "submission": [sub.name, sub.origin, request.allow_empty, request.probe, _plain(sub.meta)],
            "problem": sub.problem or "",
            "patch": hashlib.sha256(sub.read_patch().encode("utf-8", "surrogateescape")).hexdigest()
            if sub.problem is None
            else "",
            "session": _file_sha(sub.session_path),
            "environment": env_key,
        }
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.pickle"

    def get(self, key: str) -> GradeResult | None:
        """The stored result for ``key``, marked as served from the cache; None when absent or unreadable."""
        try:
            stored = pickle.loads(self._path(key).read_bytes())
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
            return None
        if not isinstance(stored, GradeResult):
            return None
        return dataclasses.replace(stored, cached=True)

    @staticmethod
    def storable(result: GradeResult) -> bool:
        if result.workspace is not None or result.behaviour.status == "error":
            return False
        return all(part is None or part.status != "error" for part in (result.review, result.session))

    def put(self, key: str, result: GradeResult) -> bool:
        """Store ``result`` (atomically); False when it is not storable or the folder is not writable."""
        if not self.storable(result):
            return False
        target = self._path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, scratch = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as f:
                pickle.dump(dataclasses.replace(result, cached=False), f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(scratch, target)
        except OSError:
            return False
        return True
