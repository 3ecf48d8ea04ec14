"""Hooks that other plugins and conftest.py files can implement.

Every hook is prefixed ``pytest_proofswe_`` and called on the controlling process
(with pytest-xdist, not on the workers), so each sees every result once.
"""

from __future__ import annotations

from typing import Any

import pytest


@pytest.hookspec
def pytest_proofswe_result(config: pytest.Config, result: dict[str, Any]) -> None:
    """Called once per graded (task, submission) with its JSON-ready result.

    ``result`` has the shape of one entry of the report's ``results`` list (see
    docs/report.md). Implementations may read it; changes to it are kept in the report.
    """


@pytest.hookspec
def pytest_proofswe_report(config: pytest.Config, report: dict[str, Any]) -> None:
    """Called with the whole JSON report just before it is written.

    Add top-level fields here (keep ``schema`` and ``results`` as they are).
    """
