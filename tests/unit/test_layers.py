"""Dependencies between the package's modules go one way (checked on their imports, lazy ones too)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "pytest_proofswe"


def imported(module: str) -> set[str]:
    """The pytest_proofswe modules that ``module`` (a path below the package) imports, at any depth."""
    path = PACKAGE / module
    package = ["pytest_proofswe", *Path(module).with_suffix("").parts[:-1]]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("pytest_proofswe")}


@pytest.mark.parametrize(
    ("module", "must_not_import"),
    [
        ("report.py", "pytest_proofswe.outputs"),  # outputs (CI formats) build on report, not back
        ("pysource.py", "pytest_proofswe.taste"),  # the harness and the checks both use it
        ("guard.py", "pytest_proofswe.taste"),  # the harness does not reach into the checks
        ("taste/pyparse.py", "pytest_proofswe.guard"),
        ("executors.py", "pytest_proofswe.grading"),  # executors run any call: they know nothing of grading
        ("executors.py", "pytest_proofswe.remote"),
        ("remote.py", "pytest_proofswe.collect"),  # what a Ray node runs needs no pytest session
    ],
)
def test_imports_go_one_way(module: str, must_not_import: str) -> None:
    offending = {name for name in imported(module) if name == must_not_import or name.startswith(must_not_import + ".")}
    assert not offending, f"{module} imports {sorted(offending)}"


def test_the_import_reader_sees_lazy_imports() -> None:
    assert "pytest_proofswe.outputs" in imported("collect.py")  # imported inside a hook
