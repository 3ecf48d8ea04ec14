"""The guard's readers of test-runner configuration, on files alone (no git).

Which plugins the base configuration loads (``-p`` in addopts, ``pytest_plugins``), which
new module would shadow an installed one, and when a shared config file's pytest part
changed. Each case here was a surviving mutant: a rule that no test held.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_proofswe.harness.guard import (
    Neutralised,
    _addopts_plugins,
    _conftest_plugins,
    _escapes,
    _ini_section,
    _module_files,
    _shipped_code_reason,
    _toml_pytest,
    _top_level_name,
    base_plugin_modules,
    hidden_test_paths,
)


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("pytest.ini", "[pytest]\naddopts = -p one\n"),
        (".pytest.ini", "[pytest]\naddopts = -p one\n"),
        ("tox.ini", "[tox]\nenvlist = py3\n\n[pytest]\naddopts = -p one\n"),
        ("setup.cfg", "[metadata]\nname = x\n\n[tool:pytest]\naddopts = -p one\n"),
        ("pyproject.toml", '[tool.pytest.ini_options]\naddopts = "-p one"\n'),
        ("pyproject.toml", '[tool.pytest.ini_options]\naddopts = ["-p", "one"]\n'),
        ("pyproject.toml", '[tool.pytest]\naddopts = ["-p", "one"]\n'),  # pytest 9's native table
        ("pytest.toml", '[pytest]\naddopts = ["-p", "one"]\n'),
        (".pytest.toml", '[pytest]\naddopts = "-p one"\n'),
    ],
)
def test_addopts_plugins_are_read_from_every_config_file(tmp_path: Path, name: str, text: str) -> None:
    write(tmp_path, {name: text})
    assert _addopts_plugins(tmp_path) == {"one"}


@pytest.mark.parametrize(
    ("files", "plugins"),
    [
        # Sections that are not pytest's are not read.
        ({"setup.cfg": "[pytest]\naddopts = -p one\n", "tox.ini": "[tool:pytest]\naddopts = -p two\n"}, set()),
        # A pyproject.toml without a [tool] table, or one that does not parse, hides nothing else.
        ({"pyproject.toml": '[project]\nname = "x"\n', "pytest.toml": '[pytest]\naddopts = "-p one"\n'}, {"one"}),
        ({"pyproject.toml": "[tool.pytest\n", "pytest.toml": '[pytest]\naddopts = "-p one"\n'}, {"one"}),
        ({"pyproject.toml": "[tool.ruff]\nline-length = 1\n", "pytest.ini": "[pytest]\naddopts = -p one\n"}, {"one"}),
        # A pytest.toml's own table is [pytest], not [tool.pytest].
        ({"pytest.toml": '[tool.pytest]\naddopts = "-p one"\n'}, set()),
    ],
)
def test_addopts_plugins_read_only_pytests_own_tables(tmp_path: Path, files: dict[str, str], plugins: set[str]) -> None:
    write(tmp_path, files)
    assert _addopts_plugins(tmp_path) == plugins


@pytest.mark.parametrize(
    ("addopts", "plugins"),
    [
        ("-v -p one --strict-markers -ptwo -pq", {"one", "two", "q"}),
        ("-p no:cacheprovider -p one", {"one"}),  # blocking a plugin loads nothing
        ('-p one -k "unclosed', {"one"}),  # not shell syntax: split on white space
        ("-p one -p", {"one"}),  # a trailing -p names nothing
    ],
)
def test_addopts_plugin_tokens(tmp_path: Path, addopts: str, plugins: set[str]) -> None:
    write(tmp_path, {"pytest.ini": f"[pytest]\naddopts = {addopts}\n"})
    assert _addopts_plugins(tmp_path) == plugins


def test_conftest_plugins_in_every_form(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            # Sorted first: the copy in .git is never read, and a conftest that does not
            # parse does not stop the scan.
            ".git/conftest.py": 'pytest_plugins = ["from.git"]\n',
            "a/conftest.py": "this is not python(\n",
            "conftest.py": (
                "import pytest\n\n"
                'pytest_plugins = "single"\n'
                'other = "not.a.plugin"\n'
                'obj.attr = "not.a.plugin.either"\n\n\n'
                "def pytest_configure(config):\n    pass\n"
            ),
            "tests/conftest.py": 'pytest_plugins = ("t.one", 2, NAME, "t.two")\n',
        },
    )
    assert _conftest_plugins(tmp_path) == {"single", "t.one", "t.two"}


def test_base_plugin_modules_are_read_once_per_base_tree(tmp_path: Path) -> None:
    one = write(
        tmp_path / "one",
        {"pytest.ini": "[pytest]\naddopts = -p from_addopts\n", "conftest.py": 'pytest_plugins = ["from_conftest"]\n'},
    )
    two = write(tmp_path / "two", {"pytest.ini": "[pytest]\naddopts = -p other\n"})
    assert base_plugin_modules(one) == {"from_addopts", "from_conftest"}
    assert base_plugin_modules(two) == {"other"}
    (one / "pytest.ini").write_text("[pytest]\n")
    assert base_plugin_modules(one) == {"from_addopts", "from_conftest"}  # a base tree does not change


def test_a_plugin_module_is_a_file_or_a_package_under_each_import_root() -> None:
    assert _module_files("myproj.plug:Plugin", ["src", ""]) == {
        "src/myproj/plug.py",
        "src/myproj/plug/__init__.py",
        "myproj/plug.py",
        "myproj/plug/__init__.py",
    }


@pytest.mark.parametrize(
    ("path", "top"),
    [
        ("pytest.py", "pytest"),
        ("src/json.py", "json"),
        ("_pytest/assertion/rewrite.py", "_pytest"),
        ("src/pkg/sub/mod.py", "pkg"),
        ("json.cpython-311-x86_64-linux-gnu.so", "json"),
        ("src/yaml.cp311-win_amd64.pyd", "yaml"),
        ("README.md", None),
    ],
)
def test_the_top_level_module_a_new_path_defines(path: str, top: str | None) -> None:
    assert _top_level_name(path, ["", "src"]) == top


def test_a_path_outside_every_import_root_defines_no_module() -> None:
    assert _top_level_name("docs/conf.py", ["src"]) is None


def test_pyproject_pytest_tables_are_every_tool_table_named_pytest() -> None:
    no_tool = '[project]\nname = "x"\n'
    assert _toml_pytest(no_tool) == _toml_pytest(no_tool + "[tool.ruff]\nline-length = 100\n")
    assert _toml_pytest(no_tool) != _toml_pytest(no_tool + '[tool.pytest_env]\nHOME = "/x"\n')
    assert _toml_pytest(no_tool) != _toml_pytest(no_tool + "[tool.pytest.ini_options]\nxfail_strict = true\n")
    assert _toml_pytest("tool = 1\n") is None  # not a table: no pytest configuration


def test_ini_sections_are_compared_even_where_strict_parsing_would_refuse() -> None:
    # configparser's strict mode refuses a repeated key; pytest reads such a setup.cfg.
    base = "[metadata]\nname = x\nname = y\n\n[tool:pytest]\nxfail_strict = true\n"
    head = base.replace("name = y", "name = z")
    assert _ini_section(base, "tool:pytest") == _ini_section(head, "tool:pytest") == {"xfail_strict": "true"}


def test_neutralised_json() -> None:
    assert Neutralised("conftest.py", "why", "removed").to_json() == {
        "path": "conftest.py",
        "reason": "why",
        "action": "removed",
    }


_BYTECODE = "compiled bytecode: Python may run it instead of the source the diff shows"
_EXTENSION = "a compiled extension module: Python imports it before the source the diff shows"
_METADATA = "package metadata: its entry points can load a pytest plugin from the workspace"


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("pkg/__pycache__/mod.cpython-311.pyc", _BYTECODE),
        ("pkg/__pycache__/notes.txt", _BYTECODE),  # anything in a bytecode cache folder
        ("legacy.pyc", _BYTECODE),  # sourceless bytecode, imported when legacy.py is absent
        ("pkg/old.pyo", _BYTECODE),
        ("pkg/_speedups.cpython-311-x86_64-linux-gnu.so", _EXTENSION),
        ("pkg/_speedups.pyd", _EXTENSION),
        ("x-1.0.dist-info/entry_points.txt", _METADATA),
        ("src/x.egg-info/PKG-INFO", _METADATA),
        ("pkg/mod.py", None),
        ("docs/pyc.md", None),
    ],
)
def test_shipped_code_is_named_with_its_reason(path: str, reason: str | None) -> None:
    """The proof records why each file was removed: each kind has its own reason."""
    assert _shipped_code_reason(path) == reason


@pytest.mark.parametrize(
    ("link", "target", "escapes"),
    [
        ("src/link", "../setup.cfg", False),  # resolved from the link's folder: inside
        ("src/pkg/link", "../../README.md", False),
        ("up", "..", True),
        ("src/up", "../..", True),
        ("link", "../outside", True),
        ("link", "/etc/passwd", True),
        ("link", ".git/config", True),
        ("src/link", "../.git/hooks", True),
        ("link", "docs/.git", False),  # a folder named .git below the top is not git's
    ],
)
def test_a_symlink_target_is_read_from_the_links_folder(link: str, target: str, escapes: bool) -> None:
    assert _escapes(link, target) is escapes


def test_hidden_test_paths_are_the_python_files_of_the_ids_and_the_shipped_files() -> None:
    ids = ["tests/test_a.py::TestY::test_z[1-2]", "tests/test_b.py::test_x[a b]", "tests/test_c.py", "tests/d.json::x"]
    shipped = ["tests/helpers.py", "tests/fixtures/data.json"]
    assert hidden_test_paths(ids, shipped) == (
        "tests/helpers.py",
        "tests/test_a.py",
        "tests/test_b.py",
        "tests/test_c.py",
    )
    assert hidden_test_paths([]) == ()
