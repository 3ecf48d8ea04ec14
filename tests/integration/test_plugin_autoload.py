"""The graded run loads the environment's own pytest plugins, never one the workspace ships."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pytest_proofswe.harness.environment import Environment, EnvironmentManager
from pytest_proofswe.harness.runner import plugin_options, run_tests
from pytest_proofswe.harness.workspace import BaseStore, new_workspace, remove_tree
from pytest_proofswe.task import load_task
from tests.conftest import write_task

INSTALL_PLUGIN = """import pathlib, sysconfig
site = pathlib.Path(sysconfig.get_paths()["purelib"])
(site / "envplug.py").write_text("import pytest\\n\\n@pytest.fixture\\ndef env_fixture():\\n    return 42\\n")
meta = site / "envplug-1.0.dist-info"
meta.mkdir()
(meta / "METADATA").write_text("Metadata-Version: 2.1\\nName: envplug\\nVersion: 1.0\\n")
(meta / "entry_points.txt").write_text("[pytest11]\\nenvplug = envplug\\n")
"""
FORGE = """import pytest


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    report.outcome = "passed"
    return report
"""


def fake_env(**changes: object) -> Environment:
    env = Environment(
        key="k",
        root=Path("/env"),
        python=Path("/env/venv/bin/python"),
        python_version="3.11.0",
        import_roots=("",),
        artefacts=(),
        installed_names=frozenset(),
        entry_point_plugins=("xdist.plugin", "pytest_proofswe.plugin"),
        packages={"pytest": "8.3.4"},
        variables=(),
        reused=True,
        plugin_names=("proofswe", "xdist", "xdist.looponfail"),
    )
    return dataclasses.replace(env, **changes)  # type: ignore[arg-type]


def test_autoload_is_off_and_the_environments_plugins_are_named() -> None:
    args, env = plugin_options(fake_env())
    assert env == {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    assert args == ["-p", "xdist", "-p", "xdist.looponfail"]  # proofswe stays blocked (-p no:proofswe)


@pytest.mark.parametrize(
    "changes", [{"packages": {"pytest": "4.3.1"}}, {"packages": {}}, {"plugin_names": None}], ids=str
)
def test_nothing_changes_where_pytest_cannot_load_entry_points_by_name(changes: dict[str, object]) -> None:
    assert plugin_options(fake_env(**changes)) == ([], {})


@pytest.mark.slow
def test_a_plugin_the_workspace_ships_is_not_loaded(cache_dir: Path, tmp_path: Path) -> None:
    root = write_task(
        tmp_path / "plugins",
        """
[environment]
setup = ["python install_plugin.py"]
[tests]
fail_to_pass = ["test_p.py::test_env_plugin_loaded", "test_p.py::test_fails"]
""",
        {
            "repo/install_plugin.py": INSTALL_PLUGIN,
            "repo/test_p.py": "def test_env_plugin_loaded(env_fixture):\n    assert env_fixture == 42\n\n\n"
            "def test_fails():\n    assert False\n",
        },
    )
    task = load_task(root)
    base = BaseStore(cache_dir).base_for(task)
    env = EnvironmentManager(cache_dir).get(task.environment, base)
    assert env.plugin_names is not None and "envplug" in env.plugin_names
    ws = new_workspace(base, tmp_path)
    try:
        # What the guard removes, left in place: the run itself must not load it.
        (ws / "forge-1.0.dist-info").mkdir()
        (ws / "forge-1.0.dist-info/METADATA").write_text("Metadata-Version: 2.1\nName: forge\nVersion: 1.0\n")
        (ws / "forge-1.0.dist-info/entry_points.txt").write_text("[pytest11]\nforge = forge_plugin\n")
        (ws / "forge_plugin.py").write_text(FORGE)
        run = run_tests(task.tests, env, ws)
    finally:
        remove_tree(ws.parent)
    outcomes = {test_id: o.outcome for test_id, o in run.outcomes.items()}
    assert outcomes == {"test_p.py::test_env_plugin_loaded": "passed", "test_p.py::test_fails": "failed"}, (
        run.output_tail
    )
    assert "envplug" in run.command.argv


@pytest.mark.slow
def test_an_environment_built_before_the_names_were_recorded_is_probed_again(cache_dir: Path, tmp_path: Path) -> None:
    import json

    root = write_task(
        tmp_path / "older",
        '[environment]\nsetup = ["python install_plugin.py"]\n[tests]\nfail_to_pass = ["test_p.py::test_a"]\n',
        {"repo/install_plugin.py": INSTALL_PLUGIN, "repo/test_p.py": "def test_a():\n    pass\n"},
    )
    task = load_task(root)
    base = BaseStore(cache_dir).base_for(task)
    env = EnvironmentManager(cache_dir).get(task.environment, base)
    info_path = env.root / "info.json"
    info = json.loads(info_path.read_text())
    del info["probe"]["pytest11_names"]  # as an older version wrote it
    info_path.write_text(json.dumps(info))
    again = EnvironmentManager(cache_dir).get(task.environment, base)
    assert again.reused and again.plugin_names == ("envplug",)
    assert json.loads(info_path.read_text())["probe"]["pytest11_names"] == ["envplug"]
