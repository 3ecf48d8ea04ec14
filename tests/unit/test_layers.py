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
        ("outputs/report.py", "pytest_proofswe.outputs.ci"),  # outputs (CI formats) build on report, not back
        ("pysource.py", "pytest_proofswe.taste"),  # the harness and the checks both use it
        ("harness/guard.py", "pytest_proofswe.taste"),  # the harness does not reach into the checks
        ("taste/pyparse.py", "pytest_proofswe.harness.guard"),
        # decay: the measures know nothing of where the states come from, nor of pytest's items
        ("modes/codefacts.py", "pytest_proofswe.modes.decay"),  # the facts of a file know nothing of steps
        ("modes/decay.py", "pytest_proofswe.modes.history"),
        ("modes/decay.py", "pytest_proofswe.modes.steps"),
        ("modes/decay.py", "pytest_proofswe.modes.historyitems"),
        ("modes/history.py", "pytest_proofswe.modes.historyitems"),
        ("modes/durability.py", "pytest_proofswe.modes.historyitems"),
        ("modes/steps.py", "pytest_proofswe.collect"),
        ("executors.py", "pytest_proofswe.grading"),  # executors run any call: they know nothing of grading
        ("executors.py", "pytest_proofswe.remote"),
        ("remote.py", "pytest_proofswe.collect"),  # what a Ray node runs needs no pytest session
        # the HTML report is written from the report's document: it builds on report, nothing builds on it
        ("outputs/report.py", "pytest_proofswe.outputs.html"),
        ("outputs/ci.py", "pytest_proofswe.outputs.html"),
        ("outputs/html.py", "pytest_proofswe.collect"),
        ("outputs/html.py", "pytest_proofswe.plugin"),
        ("outputs/html.py", "pytest_proofswe.settings"),
        ("outputs/html.py", "pytest_proofswe.outputs.ci"),
    ],
)
def test_imports_go_one_way(module: str, must_not_import: str) -> None:
    offending = {name for name in imported(module) if name == must_not_import or name.startswith(must_not_import + ".")}
    assert not offending, f"{module} imports {sorted(offending)}"


def test_the_import_reader_sees_lazy_imports() -> None:
    assert "pytest_proofswe.outputs.ci" in imported("collect.py")  # imported inside a hook


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
    "module",
    [
        "modes/codefacts.py",
        "modes/decay.py",
        "modes/history.py",
        "modes/durability.py",
        "modes/steps.py",
        "outputs/html.py",
    ],
)
def test_plain_modules_do_not_import_pytest(module: str) -> None:
    tree = ast.parse((PACKAGE / module).read_text(encoding="utf-8"))
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and not n.level}
    assert not {n for n in names if n == "pytest" or n.startswith(("pytest.", "_pytest"))}, module


HARNESS = ("harness", "grading")


@pytest.mark.parametrize(
    "module",
    [
        *sorted(str(p.relative_to(PACKAGE)) for folder in ("taste", "review") for p in (PACKAGE / folder).glob("*.py")),
        "modes/codefacts.py",
        "modes/decay.py",
        "change.py",
    ],
)
def test_no_check_reaches_into_the_harness(module: str) -> None:
    """The checks read a change through the shared model (change.py), never through the harness's modules."""
    reached = {name for name in imported(module) if name.split(".")[1:2] and name.split(".")[1] in HARNESS}
    assert not reached, f"{module} imports {sorted(reached)}: use pytest_proofswe.change"


def test_the_change_model_is_plain() -> None:
    assert imported("change.py") == set()  # nothing of the package: both sides import it


def _modules(folder: str) -> list[str]:
    return sorted(str(p.relative_to(PACKAGE)) for p in (PACKAGE / folder).glob("*.py"))


@pytest.mark.parametrize("module", _modules("harness"))
def test_the_harness_knows_nothing_above_it(module: str) -> None:
    """The harness is a layer: no check, output, mode or pytest wiring of the package is imported from it."""
    above = ("taste", "review", "session", "compare", "outputs", "modes", "collect", "plugin", "grading", "settings")
    reached = {name for name in imported(module) if name.split(".")[1:2] and name.split(".")[1] in above}
    assert not reached, f"{module} imports {sorted(reached)}"


@pytest.mark.parametrize("module", _modules("outputs"))
def test_the_outputs_build_on_results_not_on_the_run(module: str) -> None:
    """Outputs write what a run found (its results' JSON); they never import the harness, the modes or pytest wiring."""
    below = ("harness", "modes", "collect", "plugin", "grading")
    reached = {name for name in imported(module) if name.split(".")[1:2] and name.split(".")[1] in below}
    assert not reached, f"{module} imports {sorted(reached)}"


def test_the_top_level_is_wiring_and_shared_models() -> None:
    """The folders show the layers: what is left at the top is pytest wiring, the pipeline and shared values."""
    top = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert top == [
        "__init__", "__main__", "change", "collect", "durations", "errors", "executors", "git", "grading",
        "hookspecs", "plugin", "process", "pysource", "remote", "result", "resultcache", "settings", "task",
        "xdist_scheduling",
    ]  # fmt: skip
