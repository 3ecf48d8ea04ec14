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
        # decay: the measures know nothing of where the states come from, nor of pytest's items
        ("codefacts.py", "pytest_proofswe.decay"),  # the facts of a file know nothing of steps
        ("decay.py", "pytest_proofswe.history"),
        ("decay.py", "pytest_proofswe.steps"),
        ("decay.py", "pytest_proofswe.historyitems"),
        ("history.py", "pytest_proofswe.historyitems"),
        ("durability.py", "pytest_proofswe.historyitems"),
        ("steps.py", "pytest_proofswe.collect"),
        ("executors.py", "pytest_proofswe.grading"),  # executors run any call: they know nothing of grading
        ("executors.py", "pytest_proofswe.remote"),
        ("remote.py", "pytest_proofswe.collect"),  # what a Ray node runs needs no pytest session
        # the HTML report is written from the report's document: it builds on report, nothing builds on it
        ("report.py", "pytest_proofswe.htmlreport"),
        ("outputs.py", "pytest_proofswe.htmlreport"),
        ("htmlreport.py", "pytest_proofswe.collect"),
        ("htmlreport.py", "pytest_proofswe.plugin"),
        ("htmlreport.py", "pytest_proofswe.settings"),
        ("htmlreport.py", "pytest_proofswe.outputs"),
    ],
)
def test_imports_go_one_way(module: str, must_not_import: str) -> None:
    offending = {name for name in imported(module) if name == must_not_import or name.startswith(must_not_import + ".")}
    assert not offending, f"{module} imports {sorted(offending)}"


def test_the_import_reader_sees_lazy_imports() -> None:
    assert "pytest_proofswe.outputs" in imported("collect.py")  # imported inside a hook


@pytest.mark.parametrize("module", sorted(p.name for p in (PACKAGE / "compare").glob("*.py")))
def test_the_comparisons_know_nothing_of_pytest(module: str) -> None:
    """compare/ is plain modules (issue 13): the report, the terminal and the HTML report build on it, not back."""
    tree = ast.parse((PACKAGE / "compare" / module).read_text(encoding="utf-8"))
    modules = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    modules |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and not node.level}
    assert not {m for m in modules if m.split(".")[0] in ("pytest", "_pytest", "pluggy")}
    wiring = ("collect", "plugin", "report", "outputs", "settings")
    assert not {m for m in imported(f"compare/{module}") if m.split(".")[1:2] and m.split(".")[1] in wiring}


@pytest.mark.parametrize(
    "module", ["codefacts.py", "decay.py", "history.py", "durability.py", "steps.py", "htmlreport.py"]
)
def test_plain_modules_do_not_import_pytest(module: str) -> None:
    tree = ast.parse((PACKAGE / module).read_text(encoding="utf-8"))
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and not n.level}
    assert not {n for n in names if n == "pytest" or n.startswith(("pytest.", "_pytest"))}, module
