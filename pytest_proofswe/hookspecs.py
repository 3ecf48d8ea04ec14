"""Hooks that other plugins and conftest.py files can implement.

Every hook is prefixed ``pytest_proofswe_`` and called on the controlling process
(with pytest-xdist, not on the workers), so each sees every result once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .taste import Finding, TasteContext


@pytest.hookspec
def pytest_proofswe_result(config: pytest.Config, result: dict[str, Any]) -> None:
    """Called once per graded (task, submission) with its JSON-ready result.

    ``result`` has the shape of one entry of the report's ``results`` list (see
    docs/report.md). Implementations may read it; changes to it are kept in the report.
    """


@pytest.hookspec
def pytest_proofswe_report(config: pytest.Config, report: dict[str, Any]) -> None:
    """Called with the whole JSON report just before it is written.

    Add top-level fields here (keep ``schema`` and ``results`` as they are). The HTML report
    (``--proofswe-html``) is written from the same document, after this hook; it is called
    when either report is asked for.
    """


@pytest.hookspec
def pytest_proofswe_taste_weights(config: pytest.Config, task: str, weights: dict[str, float]) -> None:
    """Adjust the taste weights for ``task`` before a submission is graded.

    ``weights`` maps every rule id (docs/rules.md) to its points, after ``[tool.proofswe.taste]``
    and the task's ``[taste]`` were applied; change it in place.
    """


@pytest.hookspec
def pytest_proofswe_taste_findings(config: pytest.Config, context: TasteContext) -> list[Finding] | None:
    """Return extra findings for a submission's taste grade (or None).

    ``context`` has ``task``, ``submission``, ``data`` (the files of the patch with their
    text before and after: :class:`pytest_proofswe.taste.TasteInput`), ``config``, the
    built-in ``findings`` so far and ``metrics`` (add your own metrics to it). Each
    returned :class:`pytest_proofswe.taste.Finding` counts with the ``penalty`` it carries.
    Called in the process that grades (a pytest-xdist worker, say).
    """


@pytest.hookspec
def pytest_proofswe_session_reader(config: pytest.Config) -> Any:
    """Return a transcript reader (see :class:`pytest_proofswe.session.Reader`), or None.

    Plugins' readers are tried before the built-in ones, so a reader can claim a format
    the built-ins misread. Called once per run in each process that grades.
    """
