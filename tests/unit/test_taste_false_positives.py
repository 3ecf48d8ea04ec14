"""The false-positive patterns of issue 11, each as a regression test built from its shape.

The shapes are modelled on real agent pull requests of ../shared/external/agent_prs_sample.jsonl
(named in each section) and written here by hand: no code of those repositories is copied.
Each test also keeps the rule firing where it should.
"""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pytest_proofswe.taste import TasteConfig, grade_taste
from tests.unit.test_taste_rules import code, diff_of, findings

DEFAULTS = TasteConfig()


def rules_of(got: list[tuple[str, str, int | None]]) -> list[str]:
    return sorted(r for r, _p, _l in got)


# -- 1. Tests graded as product code (the shape of TobikoData/sqlmesh#4712) --------------------

TEST_BASE = code("""
    from shop.completions import completions_for


    def test_macros():
        completions = completions_for("model.sql")
        assert "each" in completions.macros
        assert "add_one" in completions.macros
""")

STRONGER = code("""
    from shop.completions import completions_for


    def test_macros():
        completions = completions_for("model.sql")
        each = next(m for m in completions.macros if m.name == "each")
        assert each.name == "each"
        assert each.description
        add_one = next(m for m in completions.macros if m.name == "add_one")
        assert add_one.name == "add_one"
        assert add_one.description
""")


def test_asserts_replaced_by_stronger_ones_are_not_removed_nor_complexity(tmp_path: Path) -> None:
    got = findings(diff_of(tmp_path, {"tests/test_completions.py": (TEST_BASE, STRONGER)}))
    assert got == []  # no tests-assert-removed, no tests-edited, no complexity-increase


def test_the_same_change_in_product_code_is_still_complexity(tmp_path: Path) -> None:
    base = TEST_BASE.replace("def test_macros", "def check_macros")
    head = STRONGER.replace("def test_macros", "def check_macros")
    got = findings(diff_of(tmp_path, {"shop/checks.py": (base, head)}))
    assert "complexity-increase" in rules_of(got)


def test_a_branch_added_to_a_test_is_still_complexity(tmp_path: Path) -> None:
    head = TEST_BASE.replace(
        '    assert "add_one" in completions.macros\n',
        '    if completions.macros:\n        assert "add_one" in completions.macros\n'
        "    else:\n        assert completions.empty\n"
        "    for m in completions.macros:\n        assert m.name\n",
    )
    got = findings(diff_of(tmp_path, {"tests/test_completions.py": (TEST_BASE, head)}))
    assert "complexity-increase" in rules_of(got)


def test_weaker_asserts_still_count(tmp_path: Path) -> None:
    for i, weaker in enumerate(
        [
            '    assert "each" in completions.macros or completions.empty\n',  # an `or` that lets it pass
            '    assert "every" in completions.macros\n',  # a literal changed
            "    assert completions.macros\n",  # the value no longer checked
            '    assert len(completions.macros) >= 0\n    assert "add_one" != "each"\n',  # == and in gone
        ]
    ):
        head = TEST_BASE.replace('    assert "each" in completions.macros\n', weaker)
        got = findings(diff_of(tmp_path / str(i), {"tests/test_completions.py": (TEST_BASE, head)}))
        assert "tests-assert-removed" in rules_of(got), weaker


def test_an_exact_check_made_a_membership_is_weaker(tmp_path: Path) -> None:
    """The shape of microsoft/autogen#6565: `== {"yes", "no"}` became two `in` (extra values now pass)."""
    base = code("""
        def test_edges():
            edges = build()
            conditions = {e.condition for e in edges}
            assert conditions == {"yes", "no"}
    """)
    head = code("""
        def test_edges():
            edges = build()
            conditions = [e.condition for e in edges]
            assert "yes" in conditions
            assert "no" in conditions
            yes_edge = next(e for e in edges if e.condition == "yes")
            assert yes_edge.target == "B"
    """)
    got = findings(diff_of(tmp_path, {"tests/test_graph.py": (base, head)}))
    assert "tests-assert-removed" in rules_of(got)


def test_stronger_asserts_from_a_diff_alone(tmp_path: Path) -> None:
    """Without the files' text (a diff alone), the block of changed lines is the unit."""
    data = diff_of(tmp_path, {"tests/test_completions.py": (TEST_BASE, STRONGER)})
    bare = dataclasses.replace(data, files=tuple(dataclasses.replace(f, base=None, head=None) for f in data.files))
    assert [f for f in grade_taste(bare, DEFAULTS).findings if f.rule.startswith("tests-")] == []


def test_added_tests_are_never_penalised(tmp_path: Path) -> None:
    """A new test with many asserts, data built by comprehensions, a print and pytest.fail in an except."""
    asserts = "".join(f"    assert totals[{i}] == {i * i}\n" for i in range(12))
    new = (
        "import pytest\n\nfrom shop.totals import total\n\n\n"
        "def test_totals():\n"
        "    totals = [total(i) for i in range(12) if i >= 0]\n"
        "    print(totals)\n" + asserts + "\n\n"
        "def test_no_error():\n"
        "    try:\n"
        "        total(-1)\n"
        "    except Exception as exc:\n"
        '        pytest.fail(f"total(-1) raised {exc!r}")\n'
    )
    data = dataclasses.replace(
        diff_of(tmp_path, {"tests/test_totals.py": (None, new)}), local_modules=frozenset({"shop"})
    )
    assert findings(data) == []


def test_a_swallowing_except_in_a_test_is_still_blind(tmp_path: Path) -> None:
    new = "def test_no_error():\n    try:\n        int('x')\n    except Exception:\n        pass\n"
    got = findings(diff_of(tmp_path, {"tests/test_x.py": (None, new)}))
    assert ("errors-blind-except", "tests/test_x.py", 4) in got


# -- 2. secrets-credential on obvious dummies (the shape of AgentOps-AI/agentops#728) ----------

# Real-looking values are built from pieces, so that no scanner mistakes this file for a leak.
REAL_LOOKING = {
    "OpenAI API key": "sk-proj-" + "SB1yP1SCP91jlCc6" + "uQnjlW9krHuIQI7azbrGpzYb",
    "GitHub token": "ghp_" + "v6EC0KfxqpImYN8c2Dym" + "27ICGrVAt9HguOOj",
    "password or token assignment": "owl4E269xIDi" + "gefHzEFpuU9c",
}


def test_obvious_dummies_are_not_credentials(tmp_path: Path) -> None:
    dummies = [
        'self.api_key = "11111111-1111-4111-8111-111111111111"',  # a UUID of ones, in a unit test
        'API_KEY = "sk-' + "x" * 40 + '"',
        'token = "ghp_' + "0" * 36 + '"',
        'password = "test-password-123"',
        'api_key = "your-api-key-here"',
        'secret = "dummy_secret_value"',
        'OPENAI_API_KEY = "sk-proj-' + "1234567890abcdefghij" * 2 + '"',
        'auth_token = "<YOUR_AUTH_TOKEN>"',
        'api_key = "${OPENAI_API_KEY}xyz"',
        'access_token = "example-access-token"',
    ]
    body = "".join(f"    {line}\n" for line in dummies)
    for path in ("app/settings.py", "tests/unit/test_exporter.py"):
        head = f"def setup():\n{body}"
        got = findings(diff_of(tmp_path / path.replace("/", "_"), {path: (None, head)}))
        assert "secrets-credential" not in rules_of(got), path


def test_fixture_assignments_in_tests_are_not_credentials(tmp_path: Path) -> None:
    line = f'        self.api_key = "{REAL_LOOKING["password or token assignment"]}"\n'
    head = f"class TestExporter:\n    def setup_method(self):\n{line}"
    assert findings(diff_of(tmp_path, {"tests/test_exporter.py": (None, head)})) == []
    # In product code the same assignment is a credential.
    got = findings(diff_of(tmp_path / "b", {"app/exporter.py": (None, head.replace("TestExporter", "Exporter"))}))
    assert ("secrets-credential", "app/exporter.py", 3) in got


def test_real_looking_keys_are_still_caught_in_tests_too(tmp_path: Path) -> None:
    for i, (kind, value) in enumerate(REAL_LOOKING.items()):
        if kind == "password or token assignment":
            continue
        head = f'import os\n\nos.environ["KEY"] = "{value}"\n'
        for path in ("app/run.py", "tests/test_run.py"):
            result = grade_taste(diff_of(tmp_path / f"{i}{path[0]}", {path: (None, head)}), DEFAULTS)
            (secret,) = [f for f in result.findings if f.rule == "secrets-credential"]
            assert secret.line == 3 and kind in secret.message and value not in secret.message


# -- 3. scope-config-touched by role and location (the shape of openai/openai-agents-python#729) --

TRACING = code("""
    import threading


    class TraceProvider:
        def __init__(self):
            self._lock = threading.Lock()


    GLOBAL_TRACE_PROVIDER = TraceProvider()
""")
SETUP_SCRIPT = 'from setuptools import setup\n\nsetup(name="shop", version="1.0")\n'


def test_a_module_named_setup_is_not_packaging(tmp_path: Path) -> None:
    head = TRACING + "\n\ndef set_trace_provider(provider):\n    global GLOBAL_TRACE_PROVIDER\n"
    head += "    GLOBAL_TRACE_PROVIDER = provider\n"
    got = findings(diff_of(tmp_path, {"src/agents/tracing/setup.py": (TRACING, head)}))
    assert "scope-config-touched" not in rules_of(got)


def test_packaging_and_ci_files_still_count(tmp_path: Path) -> None:
    files: dict[str, tuple[str | None, str | None]] = {
        "setup.py": (SETUP_SCRIPT, SETUP_SCRIPT.replace("1.0", "1.1")),
        "python/setup.py": (None, SETUP_SCRIPT),  # a subproject's setup script
        "tox.ini": ("[tox]\nenvlist = py311\n", "[tox]\nenvlist = py312\n"),
        ".github/workflows/ci.yml": ("on: push\n", "on: [push, pull_request]\n"),
        "examples/chat/requirements.txt": (None, "requests\n"),  # the example's own: not the project's
        "docs/requirements.txt": (None, "sphinx\n"),  # the docs' own
        ".github/copilot-instructions.md": (None, "Be brief.\n"),  # documentation
    }
    got = findings(diff_of(tmp_path, files))
    touched = sorted(p for r, p, _l in got if r == "scope-config-touched")
    assert touched == [".github/workflows/ci.yml", "python/setup.py", "setup.py", "tox.ini"]


def test_without_its_text_a_setup_module_under_src_is_not_packaging() -> None:
    from pytest_proofswe.taste.scope import is_config_path

    assert not is_config_path("src/agents/tracing/setup.py")
    assert is_config_path("setup.py") and is_config_path("python/setup.py")
    assert not is_config_path("pkg/setup.py", TRACING) and is_config_path("pkg/setup.py", SETUP_SCRIPT)


# -- 4. api-name-removed: Sphinx settings, and one finding per name ----------------------------
# (the shapes of microsoft/Olive#1897 and openai/openai-agents-python#886)

SPHINX_CONF = code("""
    project = "Shop"
    version = "latest"
    extensions = ["sphinx.ext.autodoc"]
    html_theme = "pydata_sphinx_theme"
    html_js_files = [
        "js/custom_version.js",
    ]
""")


def test_a_sphinx_setting_removed_is_not_an_api_break(tmp_path: Path) -> None:
    head = SPHINX_CONF.replace('html_js_files = [\n    "js/custom_version.js",\n]\n', "release = version\n")
    for path in ("docs/source/conf.py", "sphinx/conf.py"):
        got = findings(diff_of(tmp_path / path.replace("/", "_"), {path: (SPHINX_CONF, head)}))
        assert got == [], path


def test_scripts_run_by_tools_are_no_api(tmp_path: Path) -> None:
    base = "def helper():\n    return 1\n\n\ndef main():\n    return helper()\n"
    head = "def main():\n    return 1\n"
    for path, module in (
        ("noxfile.py", "noxfile"),
        ("scripts/release.py", "scripts.release"),
        ("pkg/__main__.py", "pkg.__main__"),
    ):
        data = diff_of(tmp_path / path.replace("/", "_"), {path: (base, head)})
        got = findings(dataclasses.replace(data, sources={"user.py": f"from {module} import helper\n"}))
        assert "api-name-removed" not in rules_of(got), path
    data = diff_of(tmp_path / "lib", {"pkg/tools.py": (base, head)})
    got = findings(dataclasses.replace(data, sources={"user.py": "from pkg.tools import helper\n"}))
    assert ("api-name-removed", "pkg/tools.py", 1) in got


RUN = code("""
    class Runner:
        pass


    class DefaultRunner(Runner):
        pass


    def set_default_runner(runner):
        global DEFAULT
        DEFAULT = runner
""")
INIT = 'from .run import DefaultRunner, Runner, set_default_runner\n\n__all__ = ["Runner", "DefaultRunner", "set_default_runner"]\n'


def test_a_name_removed_with_its_re_export_is_one_removal(tmp_path: Path) -> None:
    run_head = RUN[: RUN.index("class DefaultRunner")].rstrip() + "\n"
    init_head = 'from .run import Runner\n\n__all__ = ["Runner"]\n'
    data = diff_of(tmp_path, {"src/agents/run.py": (RUN, run_head), "src/agents/__init__.py": (INIT, init_head)})
    # The repository still imports both from the package (a broken import each).
    user = "from agents import DefaultRunner, set_default_runner\n"
    result = grade_taste(dataclasses.replace(data, sources={"examples/use.py": user}), DEFAULTS)
    removed = sorted((f.path, f.message) for f in result.findings if f.rule == "api-name-removed")
    assert removed == [
        (
            "src/agents/run.py",
            "public name DefaultRunner removed (also from src/agents/__init__.py): examples/use.py:1 still imports it",
        ),
        (
            "src/agents/run.py",
            "public name set_default_runner removed (also from src/agents/__init__.py): "
            "examples/use.py:1 still imports it",
        ),
    ]


def test_a_re_export_removed_from_two_packages_is_one_removal(tmp_path: Path) -> None:
    inner = "from .run import DefaultRunner, Runner\n"
    outer = "from .inner import DefaultRunner, Runner\n"
    data = diff_of(
        tmp_path,
        {
            "pkg/inner/__init__.py": (inner, "from .run import Runner\n"),
            "pkg/__init__.py": (outer, "from .inner import Runner\n"),
        },
    )
    result = grade_taste(dataclasses.replace(data, sources={"app.py": "from pkg import DefaultRunner\n"}), DEFAULTS)
    (removed,) = [f for f in result.findings if f.rule == "api-name-removed"]
    assert removed.message.startswith("public name DefaultRunner removed (a re-export) (also from ")


# -- 6. imports-new-third-party with the whole repository present ------------------------------
# (the shapes of crewAIInc/crewAI-tools#160, JoshuaC215/agent-service-toolkit#202,
# AgentOps-AI/agentops#728, onyx-dot-app/onyx#3831 and #3925, Kiln-AI/Kiln#377)


def test_imports_known_by_the_repository_are_not_new_third_party(tmp_path: Path) -> None:
    from pytest_proofswe.taste.repo import repo_facts

    root = tmp_path / "repo"
    layout = {
        "backend/requirements/default.txt": "psycopg[binary,pool]==3.2\nbeautifulsoup4\nopentelemetry-sdk\nalembic\n",
        "backend/requirements/dev.txt": "-r default.txt\nPyYAML>=6\n",
        "backend/onyx/__init__.py": "",
        "backend/onyx/utils.py": "X = 1\n",
        "libs/core/pyproject.toml": '[project]\nname = "core-lib"\ndependencies = ["typing-extensions>=4"]\n',
        "libs/core/core_lib/__init__.py": "",
        "src/shop/__init__.py": "",
        "Pipfile": '[packages]\npython-quickbooks = "*"\n',
        "setup.py": 'from setuptools import setup\n\nsetup(install_requires=["scikit-learn>=1.0"])\n',
    }
    for rel, text in layout.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    head = code("""
        import bs4
        import psycopg_pool
        import sklearn
        import yaml
        from alembic import op
        from opentelemetry.sdk.trace.export import SpanExporter
        from quickbooks import QuickBooks
        from typing_extensions import assert_never

        from core_lib import models
        from onyx.utils import X
        from shop import cart
        from widgets import button

        import requests
    """)
    facts = repo_facts(root)
    # The change's own new module (widgets) is first-party too; requests is declared nowhere.
    files: dict[str, tuple[str | None, str | None]] = {
        "backend/onyx/db.py": ("X = 2\n", "X = 2\n" + head),
        "widgets/button.py": (None, "B = 1\n"),
    }
    data = dataclasses.replace(
        diff_of(tmp_path / "d", files),
        local_modules=facts.local_modules,
        declared_dependencies=facts.declared_dependencies,
    )
    got = findings(data)
    assert [g for g in got if g[0] == "imports-new-third-party"] == [
        ("imports-new-third-party", "backend/onyx/db.py", head.splitlines().index("import requests") + 2)
    ]


def test_an_undeclared_import_is_still_new_third_party(tmp_path: Path) -> None:
    data = diff_of(tmp_path, {"app/scrape.py": ("X = 1\n", "import bs4\n\nX = 1\n")})
    data = dataclasses.replace(data, declared_dependencies=frozenset({"requests"}))
    assert ("imports-new-third-party", "app/scrape.py", 1) in findings(data)


def test_typeshed_is_the_standard_librarys(tmp_path: Path) -> None:
    """`_typeshed` comes with the type checker's standard-library stubs (psf/requests imports it
    under TYPE_CHECKING): not a new third-party import, and not a distribution to look up."""
    head = "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from _typeshed import SupportsRead\n\nX = 1\n"
    data = diff_of(tmp_path, {"src/pkg/io.py": ("X = 1\n", head)})
    data = dataclasses.replace(data, declared_dependencies=frozenset({"urllib3"}))
    assert [g for g in findings(data) if g[0] == "imports-new-third-party"] == []


# -- 5. debug-print on a program's own output --------------------------------------------------
# (the shapes of ComposioHQ/composio#1613, 567-labs/instructor#1538, janbjorge/pgqueuer#415,
# jlowin/fastmcp#490 and stanfordnlp/dspy#8319)

LIBRARY = "def total(items):\n    return sum(items)\n"


def test_prints_of_programs_are_their_output(tmp_path: Path) -> None:
    script = code("""
        import os


        def list_connections(toolkit):
            connections = os.environ.get(toolkit, "").split(",")
            for c in connections:
                print(f"- {c}")
            return connections


        if __name__ == "__main__":
            print("Connections:")
            list_connections("GITHUB")
    """)
    cli = "import typer\n\napp = typer.Typer()\n\n\n@app.command()\ndef run():\n    return 0\n"
    cli_head = cli.replace("    return 0", '    print("Done.")\n    return 0')
    prompt_base = "def confirm(n):\n    return n < 10\n"
    prompt_head = (
        'def confirm(n):\n    print(f"This will run {n} trials.")\n    return input("Continue? [y/n] ") == "y"\n'
    )
    files: dict[str, tuple[str | None, str | None]] = {
        "get_credentials.py": (None, script),
        "pkg/cli/cli.py": (cli, cli_head),
        "pkg/__main__.py": ("X = 1\n", 'X = 1\nprint("usage: pkg FILE")\n'),
        "examples/proxy_example.py": (LIBRARY, LIBRARY + '\nprint("Step 2: creating the proxy")\n'),
        "pkg/teleprompt.py": (prompt_base, prompt_head),
        "pkg/warn.py": (
            LIBRARY,
            "import sys\n\n" + LIBRARY.replace("    return", '    print("empty", file=sys.stderr)\n    return'),
        ),
    }
    got = findings(diff_of(tmp_path, files))
    assert "debug-print" not in rules_of(got)


def test_the_module_of_a_console_entry_point_prints(tmp_path: Path) -> None:
    from pytest_proofswe.taste.repo import repo_facts

    root = tmp_path / "repo"
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "pkg"\n[project.scripts]\npkg = "pkg.commands:main"\n')
    base = "def main():\n    return 0\n"
    head = 'def main():\n    print("queue: 3 jobs")\n    return 0\n'
    data = diff_of(tmp_path / "d", {"src/pkg/commands.py": (base, head), "src/pkg/core.py": (base, head)})
    got = findings(dataclasses.replace(data, entry_modules=repo_facts(root).entry_modules))
    assert [g for g in got if g[0] == "debug-print"] == [("debug-print", "src/pkg/core.py", 2)]


def test_a_print_left_in_library_code_is_still_debug(tmp_path: Path) -> None:
    head = LIBRARY.replace("    return", "    print(items)\n    return")
    assert ("debug-print", "pkg/totals.py", 2) in findings(diff_of(tmp_path, {"pkg/totals.py": (LIBRARY, head)}))


# -- 7. Lint in the project's own terms (the shape of AgentOps-AI/agentops#728) -----------------
# Graded as `pytest --proofswe-diff=main` grades: a real git repository, the change collected
# and graded by diffmode (its repository facts read from the checkout).


def graded_change(
    path: Path, base: dict[str, str], head: dict[str, str | None]
) -> tuple[list[tuple[str, str, int | None, str]], dict[str, Any]]:
    """(rule, path, line, message) of each lint finding of the change from ``base`` to ``head``, and the metrics."""
    from pytest_proofswe.modes.diffmode import collect_change, grade_change
    from tests.conftest import make_git_repo

    make_git_repo(path, dict(base))
    for rel, text in head.items():
        if text is None:
            (path / rel).unlink()
        else:
            (path / rel).parent.mkdir(parents=True, exist_ok=True)
            (path / rel).write_text(text)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "checkout", "-qb", "change"], cwd=path, check=True)
    subprocess.run([*git, "add", "-A"], cwd=path, check=True)
    subprocess.run([*git, "commit", "-qm", "change"], cwd=path, check=True)
    taste = grade_change(collect_change(path, "main"), TasteConfig(), None, "taste", rootdir=path)["taste"]
    lint = [(f["rule"], f["path"], f["line"], f["message"]) for f in taste["findings"] if f["rule"].startswith("lint-")]
    return lint, taste["metrics"]


CONFIG_MODULE = code("""
    def configure(endpoint=None, retries=3):
        return {"endpoint": endpoint, "retries": retries}
""")
TYPED = code("""
    from typing import Optional


    def configure(endpoint: Optional[str] = None, retries: int = 3) -> dict:
        return {"endpoint": endpoint, "retries": retries}
""")


RETRYING = code("""
    def send_all(jobs, send):
        failed = []
        for job in jobs:
            try:
                send(job)
            except OSError:
                failed.append(job)
        return failed
""")


@pytest.mark.parametrize(
    ("config", "before", "head", "rule"),
    [
        # No ruff configuration: our rule set, at the project's version (it was always Python 3.8).
        # PERF203 (try/except in a loop) applies below Python 3.11 only.
        ({}, "def send_all(jobs, send):\n    return []\n", RETRYING, "PERF203"),
        # The project's configuration without a target-version, beside no pyproject.toml of its
        # own: FA100 (`from __future__ import annotations` for Optional) applies below 3.10 only.
        ({"ruff.toml": '[lint]\nselect = ["FA", "F"]\n'}, CONFIG_MODULE, TYPED, "FA100"),
    ],
)
def test_lint_at_the_python_version_the_project_supports(
    tmp_path: Path, config: dict[str, str], before: str, head: str, rule: str
) -> None:
    base = {"pyproject.toml": '[project]\nname = "shop"\nrequires-python = ">=3.11"\n', "shop/m.py": before}
    if config:
        base = {"setup.cfg": "[options]\npython_requires = >=3.11\n", "shop/m.py": before, **config}
    lint, metrics = graded_change(tmp_path / "new", base, {"shop/m.py": head})
    assert lint == []
    assert metrics["lint_target"] == "py311"
    # Where the project supports an older Python, the same change is a finding.
    older = {k: v.replace("3.11", "3.9").replace("3.10", "3.9") for k, v in base.items()}
    lint, metrics = graded_change(tmp_path / "older", older, {"shop/m.py": head})
    assert [(r, p, m.split()[0]) for r, p, _l, m in lint] == [("lint-introduced", "shop/m.py", rule)]


def test_lint_with_the_default_rules_of_the_projects_ruff(tmp_path: Path) -> None:
    """A configuration that selects no rules meant ruff's default of its time (E4, E7, E9, F before ruff 0.16)."""
    precommit = "repos:\n  - repo: https://github.com/astral-sh/ruff-pre-commit\n    rev: v0.4.4\n    hooks:\n      - id: ruff\n"
    base = {
        "pyproject.toml": '[project]\nname = "shop"\nrequires-python = ">=3.9"\n\n[tool.ruff]\nline-length = 120\n',
        ".pre-commit-config.yaml": precommit,
        "shop/config.py": CONFIG_MODULE,
    }
    head = TYPED + "\n\ndef unused():\n    value = 1\n"
    lint, metrics = graded_change(tmp_path / "repo", base, {"shop/config.py": head})
    # FA100, UP035... are ruff 0.16's defaults, not the project's; F841 is the project's rule.
    assert [(r, m.split()[0]) for r, _p, _l, m in lint] == [("lint-introduced", "F841")]
    assert metrics["lint_project_ruff"] == "0.4.4 (.pre-commit-config.yaml)"


def test_an_edited_line_is_neither_removed_nor_introduced(tmp_path: Path) -> None:
    base_module = code("""
        import os


        def ready(job, limit):
            if job.state == None and job.retries < limit:
                return "a long message that goes past the project's line length of forty columns"
            return os.sep
    """)
    head_module = base_module.replace("job.retries < limit:", "job.retries <= limit:").replace(
        "a long message", "a longer message"
    )
    base = {"ruff.toml": 'line-length = 40\n[lint]\nselect = ["E711", "E501"]\n', "shop/jobs.py": base_module}
    lint, _metrics = graded_change(tmp_path / "repo", base, {"shop/jobs.py": head_module})
    assert lint == []


def test_a_rule_the_projects_ruff_had_does_not_stop_lint(tmp_path: Path) -> None:
    base = {"ruff.toml": '[lint]\nselect = ["F", "ANN101"]\n', "shop/jobs.py": "import os\n"}
    lint, metrics = graded_change(tmp_path / "repo", base, {"shop/jobs.py": "import os\nimport sys\n"})
    assert [(r, m.split()[0]) for r, _p, _l, m in lint] == [("lint-introduced", "F401")]
    assert "without ANN101" in metrics["lint_rules"] and "lint" not in metrics


def test_lint_of_a_file_with_many_violations(tmp_path: Path) -> None:
    """ruff's report is read from a file: a long one is not cut (it was, and lint was skipped)."""
    base_module = "".join(f"import mod{i}\n" for i in range(300))
    lint, metrics = graded_change(
        tmp_path / "repo", {"shop/many.py": base_module}, {"shop/many.py": base_module + "import extra\n"}
    )
    assert "lint" not in metrics and [(r, m.split()[0]) for r, _p, _l, m in lint] == [("lint-introduced", "F401")]


# -- 8. Scope that knows kinds of files (the shapes of DonDebonair/slack-machine#1254,
# microsoft/magentic-ui#59, Kiln-AI/Kiln#350, vlm-run/vlmrun-hub#52) ----------------------------

PYPROJECT = '[project]\nname = "shop"\ndependencies = [\n    "httpx>=0.27",\n]\n'
UV_LOCK = "version = 1\n\n" + "".join(f'[[package]]\nname = "p{i}"\nversion = "1.{i}"\n\n' for i in range(40))


def test_a_dependency_change_is_one_config_change(tmp_path: Path) -> None:
    files: dict[str, tuple[str | None, str | None]] = {
        "pyproject.toml": (
            PYPROJECT,
            PYPROJECT.replace('    "httpx>=0.27",\n', '    "httpx>=0.27",\n    "slack-sdk>=3",\n'),
        ),
        "uv.lock": (UV_LOCK, UV_LOCK + '[[package]]\nname = "slack-sdk"\nversion = "3.3"\n'),
        "requirements/base.txt": ("httpx\n", "httpx\nslack-sdk\n"),
        "shop/bot.py": ("X = 1\n", "X = 2\n"),
    }
    result = grade_taste(diff_of(tmp_path, files), DEFAULTS)
    config = [f for f in result.findings if f.rule == "scope-config-touched"]
    assert [(f.path, f.penalty) for f in config] == [("pyproject.toml", 4.0)]
    assert config[0].message == (
        "packaging/dependency file modified with requirements/base.txt, uv.lock: one dependency change"
    )
    assert result.score == 96 and result.metrics["code_files_touched"] == 3  # the lock file is not spread


def test_other_configuration_still_counts_once_per_file(tmp_path: Path) -> None:
    files: dict[str, tuple[str | None, str | None]] = {
        "pyproject.toml": (PYPROJECT, PYPROJECT.replace("0.27", "0.28")),
        "uv.lock": (UV_LOCK, UV_LOCK.replace('"1.1"', '"1.2"')),
        ".github/workflows/ci.yml": ("on: push\n", "on: [push]\n"),
        "services/api/poetry.lock": (UV_LOCK, UV_LOCK.replace('"1.3"', '"1.4"')),  # a lock alone: another change
        "tox.ini": (None, "[tox]\n"),
    }
    got = findings(diff_of(tmp_path, files))
    assert sorted(p for r, p, _l in got if r == "scope-config-touched") == [
        ".github/workflows/ci.yml",
        "pyproject.toml",
        "services/api/poetry.lock",
        "tox.ini",
    ]


def test_generated_files_are_not_spread(tmp_path: Path) -> None:
    schema = (
        "/**\n * This file was auto-generated by openapi-typescript.\n * Do not make direct changes to the file.\n */\n\n"
        "export interface paths {\n}\n"
    )
    banner = "// Do not edit: written by `make client`.\n"
    files: dict[str, tuple[str | None, str | None]] = {
        "app/web_ui/src/lib/api_schema.d.ts": (schema, schema.replace("{\n}", "{\n  run: string;\n}")),
        "app/web_ui/src/lib/client.d.ts": (f"{banner}export {{}};\n", f"{banner}export {{ run }};\n"),
        "shop/api/__generated__/models.py": (None, "X = 1\n"),
        "shop/api.py": ("X = 1\n", "X = 2\n"),
    }
    config = DEFAULTS.merged({"max_files_touched": 1}, "test")
    result = grade_taste(diff_of(tmp_path, files), config)
    assert result.metrics["code_files_touched"] == 1 and result.passed
    assert sorted(result.metrics["files_not_counted"]["generated"]) == [
        "app/web_ui/src/lib/api_schema.d.ts",
        "app/web_ui/src/lib/client.d.ts",
        "shop/api/__generated__/models.py",
    ]


# -- 9. structure-new-class on plain data (the shapes of vlm-run/vlmrun-hub#52 and #123,
# crewAIInc/crewAI#2335) ---------------------------------------------------------------------

PLAIN = code("""
    import enum
    from dataclasses import dataclass
    from typing import NamedTuple, TypedDict

    import attrs
    from pydantic import BaseModel, Field


    class Transaction(BaseModel):
        amount: float = Field(..., description="The amount")


    class BankStatement(BaseModel):
        transactions: list[Transaction]


    class Detailed(BankStatement):  # a model by inheritance
        note: str = ""


    @dataclass(frozen=True)
    class Fingerprint:
        uuid: str


    @attrs.define
    class Point:
        x: int


    class Pair(NamedTuple):
        a: int
        b: int


    class Row(TypedDict):
        id: int


    class Colour(enum.Enum):
        RED = 1


    class QuotaExceeded(Exception):
        pass


    class RetryLater(QuotaExceeded):
        pass


    class SchemaError(ValueError):
        pass
""")


def test_plain_data_classes_models_and_exceptions_are_not_new_classes(tmp_path: Path) -> None:
    data = diff_of(tmp_path, {"shop/schemas.py": ("X = 1\n", "X = 1\n" + PLAIN)})
    assert "structure-new-class" not in rules_of(findings(data))


def test_a_class_with_behaviour_is_still_a_new_class(tmp_path: Path) -> None:
    head = (
        PLAIN
        + "\n\nclass StatementParser:\n    def parse(self, text):\n        return BankStatement(transactions=[])\n"
    )
    got = findings(diff_of(tmp_path, {"shop/schemas.py": ("X = 1\n", "X = 1\n" + head)}))
    assert [g for g in got if g[0] == "structure-new-class"] == [
        ("structure-new-class", "shop/schemas.py", head.splitlines().index("class StatementParser:") + 2)
    ]


def test_the_references_data_classes_are_not_an_allowance() -> None:
    from pytest_proofswe.taste.structure import count_gold_abstractions

    gold = "+++ b/m.py\n+@dataclass\n+class Box:\n+    x: int\n+class Oops(Exception):\n+    pass\n+class Real:\n+    pass\n"
    assert count_gold_abstractions(gold)["structure-new-class"] == 1
