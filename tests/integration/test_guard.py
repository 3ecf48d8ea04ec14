"""Test-runner configuration a submission adds or changes is put back before the run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pytest_proofswe import git as gitmod
from pytest_proofswe.harness.guard import is_test_path, neutralise, place_file, tree_changes
from pytest_proofswe.harness.patch import changed_paths
from tests.conftest import FIXTURES, snapshot_workspace

FIXTURE_SUBMISSIONS = FIXTURES / "hostile" / "guard" / "submissions"

BASE = {
    "pyproject.toml": '[project]\nname = "x"\nversion = "1"\n\n[tool.pytest.ini_options]\naddopts = "-p myproj.plugin"\n',
    "setup.cfg": "[metadata]\nname = x\n\n[tool:pytest]\nminversion = 6\n",
    "tox.ini": "[tox]\nenvlist = py3\n\n[pytest]\nxfail_strict = true\n",
    "src/myproj/__init__.py": "",
    "src/myproj/plugin.py": "# loaded through addopts\n",
    "src/myproj/core.py": "def f():\n    return 1\n",
    "tests/conftest.py": 'pytest_plugins = ["tests.helpers"]\n',
    "tests/helpers.py": "# loaded through pytest_plugins\n",
    "tests/test_core.py": "def test_f():\n    assert True\n",
}


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    return snapshot_workspace(tmp_path / "ws", BASE)


def run_guard(ws: Path, **kwargs):  # type: ignore[no-untyped-def]
    done, tests = neutralise(ws, changed_paths(ws), import_roots=("src", ""), **kwargs)
    return {n.path: n.action for n in done}, tests


def test_conftest_sitecustomize_pth_and_ini_files_are_undone(ws: Path) -> None:
    (ws / "conftest.py").write_text("# new\n")
    (ws / "tests/conftest.py").write_text("# changed\n")
    (ws / "src/sitecustomize.py").write_text("import os\n")
    (ws / "usercustomize.py").write_text("import os\n")
    (ws / "src/evil.pth").write_text("import os\n")
    (ws / "pytest.ini").write_text("[pytest]\naddopts = -p forge\n")
    (ws / "tests/pytest.toml").write_text("[pytest]\n")
    done, tests = run_guard(ws)
    assert done == {
        "conftest.py": "removed",
        "tests/conftest.py": "restored",
        "src/sitecustomize.py": "removed",
        "usercustomize.py": "removed",
        "src/evil.pth": "removed",
        "pytest.ini": "removed",
        "tests/pytest.toml": "removed",
    }
    assert (ws / "tests/conftest.py").read_text() == BASE["tests/conftest.py"]
    assert not (ws / "conftest.py").exists()
    assert "conftest.py" in tests and "tests/conftest.py" in tests


def test_shared_config_files_are_undone_only_when_their_pytest_section_changed(ws: Path) -> None:
    (ws / "pyproject.toml").write_text(BASE["pyproject.toml"].replace('version = "1"', 'version = "2"'))
    (ws / "setup.cfg").write_text(BASE["setup.cfg"].replace("minversion = 6", "minversion = 6\naddopts = -p x"))
    (ws / "tox.ini").write_text(BASE["tox.ini"].replace("envlist = py3", "envlist = py3,py4"))
    done, _ = run_guard(ws)
    assert done == {"setup.cfg": "restored"}
    assert 'version = "2"' in (ws / "pyproject.toml").read_text()  # an unrelated change is kept
    (ws / "pyproject.toml").write_text(BASE["pyproject.toml"] + "[tool.pytest.other]\nx = 1\n")
    done, _ = run_guard(ws)
    assert done == {"pyproject.toml": "restored"}


def test_plugins_the_base_loads_are_undone(ws: Path) -> None:
    (ws / "src/myproj/plugin.py").write_text("# forged\n")  # -p myproj.plugin in addopts
    (ws / "tests/helpers.py").write_text("# forged\n")  # pytest_plugins in the base conftest
    (ws / "src/myproj/entry.py").write_text("# new\n")
    (ws / "src/myproj/core.py").write_text("def f():\n    return 2\n")  # the fix itself: kept
    done, _ = run_guard(ws, entry_point_plugins=["myproj.entry"])
    assert done == {
        "src/myproj/plugin.py": "restored",
        "tests/helpers.py": "restored",
        "src/myproj/entry.py": "removed",
    }
    assert (ws / "src/myproj/core.py").read_text().endswith("return 2\n")


def test_new_module_shadowing_an_installed_one_is_removed(ws: Path) -> None:
    (ws / "pytest.py").write_text("# forged runner\n")
    (ws / "_pytest/__init__.py").parent.mkdir()
    (ws / "_pytest/__init__.py").write_text("")
    (ws / "src/json.py").write_text("")
    (ws / "src/myproj/json.py").write_text("# a submodule: fine\n")
    (ws / "helpers_new.py").write_text("# not installed anywhere: fine\n")
    done, _ = run_guard(ws, installed_names={"pytest", "_pytest", "json"})
    assert done == {"pytest.py": "removed", "_pytest/__init__.py": "removed", "src/json.py": "removed"}
    assert (ws / "helpers_new.py").exists() and (ws / "src/myproj/json.py").exists()


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("tests/test_a.py", True),
        ("test_x.py", True),
        ("pkg/x_test.py", True),
        ("testing/util.py", True),
        ("pkg/conftest.py", True),
        ("src/pkg/tests/helpers.py", True),
        ("pkg/testing_utils.py", False),
        ("src/contest.py", False),
    ],
)
def test_is_test_path(path: str, expected: bool) -> None:
    assert is_test_path(path) is expected


# -- the tree is walked, not asked of git ------------------------------------------------


@pytest.fixture
def base_and_ws(tmp_path: Path) -> tuple[Path, Path]:
    """A base tree and a workspace copied from it, as the harness makes them."""
    from pytest_proofswe.harness.workspace import Base, new_workspace

    base = snapshot_workspace(
        tmp_path / "base",
        {**BASE, "tests/__init__.py": "", "tests/support/__init__.py": "", ".gitignore": "__pycache__/\n*.pyc\n"},
    )
    (tmp_path / "parent").mkdir()
    return base, new_workspace(Base(base, "HEAD", "sha", "repo/"), tmp_path / "parent")


def run_walked(base: Path, ws: Path, **kwargs):  # type: ignore[no-untyped-def]
    kwargs.setdefault("test_paths", ["tests/test_core.py"])
    done, tests = neutralise(ws, tree_changes(ws, base), import_roots=("src", ""), **kwargs)
    return {n.path: n.action for n in done}, tests


def test_a_gitignore_does_not_hide_loader_and_config_files(base_and_ws: tuple[Path, Path]) -> None:
    base, ws = base_and_ws
    (ws / ".gitignore").write_text("conftest.py\nsitecustomize.py\npytest.ini\n")  # tests/conftest.py is tracked
    (ws / "conftest.py").write_text("# forges outcomes\n")
    (ws / "src/sitecustomize.py").write_text("# forges outcomes\n")
    (ws / "pytest.ini").write_text("[pytest]\naddopts = -p forge\n")
    (ws / "tests/conftest.py").write_text("# changed, and ignored\n")
    git_sees = {p for _s, p in changed_paths(ws)}
    assert git_sees.isdisjoint({"conftest.py", "src/sitecustomize.py", "pytest.ini"})
    done, _ = run_walked(base, ws)
    assert done == {
        "conftest.py": "removed",
        "src/sitecustomize.py": "removed",
        "pytest.ini": "removed",
        "tests/conftest.py": "restored",
    }
    assert (ws / "tests/conftest.py").read_text() == BASE["tests/conftest.py"]


def test_tree_changes_lists_added_modified_deleted_and_ignores_touched_copies(base_and_ws: tuple[Path, Path]) -> None:
    base, ws = base_and_ws
    core = ws / "src/myproj/core.py"
    core.write_text(core.read_text())  # rewritten with the same bytes: a new mtime, no change
    (ws / "src/myproj/plugin.py").write_text("# same size?\n")
    (ws / "tox.ini").unlink()
    os.chmod(ws / "setup.cfg", 0o755)
    (ws / "new.txt").write_text("x")
    assert tree_changes(ws, base) == [
        ("A", "new.txt"),
        ("M", "setup.cfg"),
        ("M", "src/myproj/plugin.py"),
        ("D", "tox.ini"),
    ]


def test_tree_changes_sees_symlinks_and_exec_bits_and_never_looks_into_git(base_and_ws: tuple[Path, Path]) -> None:
    """A retargeted symlink or one made a file is modified; only execute bits count; .git is never walked."""
    base, ws = base_and_ws
    for tree in (base, ws):
        for name in ("same-link", "moved-link", "made-file"):
            os.symlink("src/myproj/core.py", tree / name)
    (ws / "moved-link").unlink()
    os.symlink("src/myproj/plugin.py", ws / "moved-link")
    (ws / "made-file").unlink()
    (ws / "made-file").write_text("src/myproj/core.py")
    os.chmod(ws / "tox.ini", os.stat(ws / "tox.ini").st_mode | 0o002)  # writable by others: not a change
    os.chmod(ws / "setup.cfg", os.stat(ws / "setup.cfg").st_mode | 0o001)  # executable by others: a change
    assert (ws / ".git").is_dir() and (base / ".git").is_dir()
    (ws / ".git" / "proofswe-note").write_text("git's own files change as the harness stages the patch\n")
    assert tree_changes(ws, base) == [("M", "made-file"), ("M", "moved-link"), ("M", "setup.cfg")]


def test_package_metadata_with_entry_points_is_removed(base_and_ws: tuple[Path, Path]) -> None:
    base, ws = base_and_ws
    for folder in ("x-1.dist-info", "src/y.egg-info"):
        (ws / folder).mkdir()
        (ws / folder / "entry_points.txt").write_text("[pytest11]\nforge = forge\n")
    (ws / "x-1.dist-info/METADATA").write_text("Name: x\nVersion: 1\n")
    done, _ = run_walked(base, ws)
    assert done == {
        "x-1.dist-info/METADATA": "removed",
        "x-1.dist-info/entry_points.txt": "removed",
        "src/y.egg-info/entry_points.txt": "removed",
    }
    assert not (ws / "x-1.dist-info").exists() and not (ws / "src/y.egg-info").exists()


def test_shipped_bytecode_and_extension_modules_are_removed(base_and_ws: tuple[Path, Path]) -> None:
    base, ws = base_and_ws
    (ws / "src/myproj/__pycache__").mkdir()
    (ws / "src/myproj/__pycache__/core.cpython-311.pyc").write_bytes(b"\x00" * 16)
    (ws / "src/myproj/helper.pyc").write_bytes(b"\x00" * 16)  # sourceless: imported as myproj.helper
    (ws / "src/myproj/fast.cpython-311-x86_64-linux-gnu.so").write_bytes(b"\x7fELF")
    done, _ = run_walked(base, ws)
    assert done == {
        "src/myproj/__pycache__/core.cpython-311.pyc": "removed",
        "src/myproj/helper.pyc": "removed",
        "src/myproj/fast.cpython-311-x86_64-linux-gnu.so": "removed",
    }
    assert not (ws / "src/myproj/__pycache__").exists()


def test_only_the_emptied_bytecode_and_metadata_folders_are_pruned(base_and_ws: tuple[Path, Path]) -> None:
    base, ws = base_and_ws
    (ws / "a/__pycache__/sub").mkdir(parents=True)  # keeps a/__pycache__ from being emptied
    (ws / "a/__pycache__/x.cpython-311.pyc").write_bytes(b"\x00" * 16)
    (ws / "b/__pycache__").mkdir(parents=True)
    (ws / "b/__pycache__/y.cpython-311.pyc").write_bytes(b"\x00" * 16)
    (ws / "vendor").mkdir()
    (ws / "vendor/legacy.pyc").write_bytes(b"\x00" * 16)
    done, _ = run_walked(base, ws)
    assert set(done) == {"a/__pycache__/x.cpython-311.pyc", "b/__pycache__/y.cpython-311.pyc", "vendor/legacy.pyc"}
    assert (ws / "a/__pycache__/sub").is_dir()  # not empty: left as it is, and the next one still pruned
    assert not (ws / "b/__pycache__").exists() and (ws / "b").is_dir()
    assert (ws / "vendor").is_dir()  # an ordinary folder stays, empty or not


def test_deleting_shipped_code_of_the_base_is_not_undone(tmp_path: Path) -> None:
    """Only what a submission adds or changes can load code; a deletion is the submission's own business."""
    from pytest_proofswe.harness.workspace import Base, new_workspace

    base = snapshot_workspace(tmp_path / "base", {**BASE, "vendor/_speedups.cpython-311-x86_64-linux-gnu.so": "ELF"})
    (tmp_path / "parent").mkdir()
    ws = new_workspace(Base(base, "HEAD", "sha", "repo/"), tmp_path / "parent")
    (ws / "vendor/_speedups.cpython-311-x86_64-linux-gnu.so").unlink()
    assert tree_changes(ws, base) == [("D", "vendor/_speedups.cpython-311-x86_64-linux-gnu.so")]
    done, _ = run_walked(base, ws)
    assert done == {} and not (ws / "vendor/_speedups.cpython-311-x86_64-linux-gnu.so").exists()


@pytest.mark.parametrize("status", ["?", "??", "A"])
def test_a_new_helper_package_off_the_tests_import_path_is_kept(ws: Path, status: str) -> None:
    """A new tests/ package the hidden tests never import cannot run before them (whatever git calls it)."""
    (ws / "tests/helpers_new").mkdir(parents=True)
    (ws / "tests/helpers_new/__init__.py").write_text("# new\n")
    done, _ = neutralise(ws, [(status, "tests/helpers_new/__init__.py")], test_paths=["tests/test_core.py"])
    assert done == []


def test_an_existing_init_of_a_test_folder_by_any_name_is_put_back(ws: Path) -> None:
    """testing/ and test/ folders are test suites too; a tests/ folder nested in a package as well."""
    for folder in ("testing", "pkg/tests"):
        (ws / folder).mkdir(parents=True, exist_ok=True)
        (ws / folder / "__init__.py").write_text("")
    gitmod.git(["add", "-A"], cwd=ws)
    gitmod.git(["commit", "-qm", "base"], cwd=ws)
    (ws / "testing/__init__.py").write_text("import os  # runs before the tests\n")
    (ws / "pkg/tests/__init__.py").write_text("import os  # runs before the tests\n")
    changed = [("M", "pkg/tests/__init__.py"), ("M", "testing/__init__.py")]
    done, _ = neutralise(ws, changed, test_paths=["testing/test_x.py"])
    assert {n.path: n.action for n in done} == {"pkg/tests/__init__.py": "restored", "testing/__init__.py": "restored"}
    assert (ws / "testing/__init__.py").read_text() == ""


def test_an_init_on_the_tests_import_path_says_why_it_was_put_back(ws: Path) -> None:
    (ws / "tests/__init__.py").write_text("import os  # runs before the tests\n")
    done, _ = neutralise(ws, [("A", "tests/__init__.py")], test_paths=["tests/test_core.py"])
    assert [(n.path, n.reason) for n in done] == [
        (
            "tests/__init__.py",
            "a package __init__.py on the hidden tests' import path runs before them, like a conftest.py",
        )
    ]


def test_a_file_replaced_by_a_fifo_is_modified(base_and_ws: tuple[Path, Path]) -> None:
    """A special file is never compared by content (reading a FIFO would block): its kind tells."""
    base, ws = base_and_ws
    (base / "notes.txt").write_text("")
    (ws / "notes.txt").write_text("")
    assert tree_changes(ws, base) == []
    (ws / "notes.txt").unlink()
    os.mkfifo(ws / "notes.txt")
    assert tree_changes(ws, base) == [("M", "notes.txt")]


def test_an_init_that_is_an_outside_symlink_says_so(ws: Path) -> None:
    """The first reason found stands: an __init__.py made a symlink to /etc is named as the symlink it is."""
    (ws / "tests/__init__.py").unlink(missing_ok=True)
    os.symlink("/etc/hostname", ws / "tests/__init__.py")
    done, _ = neutralise(ws, [("A", "tests/__init__.py")], test_paths=["tests/test_core.py"])
    assert [n.reason for n in done] == ["a symlink pointing outside the workspace ('/etc/hostname')"]


def test_test_package_init_files_are_put_back_but_the_code_under_test_is_not(base_and_ws: tuple[Path, Path]) -> None:
    base, ws = base_and_ws
    (ws / "tests/__init__.py").write_text("import _pytest.reports  # forges outcomes like a conftest\n")
    (ws / "tests/unit").mkdir()
    (ws / "tests/unit/__init__.py").write_text("# a new test package\n")
    (ws / "__init__.py").write_text("# a new package above the hidden tests\n")
    (ws / "src/myproj/__init__.py").write_text("VERSION = 2  # the fix may change the package\n")
    (ws / "src/other").mkdir()
    (ws / "src/other/__init__.py").write_text("")
    (ws / "tests/app").mkdir()
    (ws / "tests/app/__init__.py").write_text("")  # a new package for the submission's own tests: never imported
    done, _ = run_walked(base, ws, test_paths=["tests/test_core.py", "tests/unit/test_new.py"])
    assert done == {
        "tests/__init__.py": "restored",
        "tests/unit/__init__.py": "removed",
        "__init__.py": "removed",
    }
    assert (ws / "tests/__init__.py").read_text() == ""
    assert (ws / "src/myproj/__init__.py").read_text().startswith("VERSION = 2")


def test_a_helper_package_of_the_tests_folder_is_put_back(base_and_ws: tuple[Path, Path]) -> None:
    base, ws = base_and_ws
    (ws / "tests/support/__init__.py").write_text("# imported by hidden tests as tests.support: forges\n")
    done, _ = run_walked(base, ws)
    assert done == {"tests/support/__init__.py": "restored"}


def test_inside_a_package_only_the_test_folders_init_is_restored(base_and_ws: tuple[Path, Path]) -> None:
    base, ws = base_and_ws
    (ws / "src/myproj/__init__.py").write_text("VERSION = 2\n")
    (ws / "src/myproj/tests").mkdir()
    (ws / "src/myproj/tests/__init__.py").write_text("# new\n")
    done, _ = run_walked(base, ws, test_paths=["src/myproj/tests/test_x.py"])
    assert done == {"src/myproj/tests/__init__.py": "removed"}


def test_symlinks_pointing_outside_are_removed(base_and_ws: tuple[Path, Path]) -> None:
    base, ws = base_and_ws
    (ws / "tests/hidden").symlink_to("../../..")
    (ws / "abs").symlink_to("/etc")
    (ws / "into-git").symlink_to(".git/config")
    (ws / "docs").symlink_to("src/myproj")  # inside: kept
    done, _ = run_walked(base, ws)
    assert done == {"tests/hidden": "removed", "abs": "removed", "into-git": "removed"}
    assert (ws / "docs").is_symlink()


# -- the harness's own writes never follow a symlink --------------------------------------


def test_place_file_replaces_symlinked_folders_and_files(tmp_path: Path) -> None:
    ws, outside = tmp_path / "ws", tmp_path / "outside"
    ws.mkdir()
    outside.mkdir()
    (ws / "tests").symlink_to(outside)
    (ws / "a").write_text("a file where a folder must be")
    (ws / "victim").symlink_to(outside / "victim.txt")
    place_file(ws, "tests/hidden/test_x.py", b"hidden\n")
    place_file(ws, "a/b/test_y.py", b"y\n")
    place_file(ws, "victim", b"v\n")
    assert list(outside.iterdir()) == []
    assert not (ws / "tests").is_symlink() and (ws / "tests/hidden/test_x.py").read_bytes() == b"hidden\n"
    assert (ws / "a/b/test_y.py").read_bytes() == b"y\n"
    assert not (ws / "victim").is_symlink() and (ws / "victim").read_bytes() == b"v\n"
    with pytest.raises(ValueError, match="not a plain relative path"):
        place_file(ws, "../escape.py", b"")


def test_place_file_makes_every_missing_folder_and_writes_an_ordinary_file(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "tests").mkdir()
    (ws / "tests" / "test_old.py").mkdir()  # a folder where the hidden test file goes
    (ws / "tests" / "test_old.py" / "inside.txt").write_text("x")
    old = os.umask(0o022)
    try:
        place_file(ws, "new/deeper/still/test_z.py", b"z\n")
        place_file(ws, "tests/test_old.py", b"old\n")
    finally:
        os.umask(old)
    assert (ws / "new/deeper/still/test_z.py").read_bytes() == b"z\n"
    assert sorted(p.relative_to(ws).as_posix() for p in (ws / "new").rglob("*")) == [
        "new/deeper", "new/deeper/still", "new/deeper/still/test_z.py"
    ]  # fmt: skip
    assert (ws / "tests/test_old.py").read_bytes() == b"old\n"
    assert os.stat(ws / "new/deeper/still/test_z.py").st_mode & 0o777 == 0o644  # not executable
    for bad in ("/abs/test.py", "a//test.py", "./test.py", "a/./test.py", "a/../test.py", "a/", ""):
        with pytest.raises(ValueError, match="not a plain relative path"):
            place_file(ws, bad, b"")


def test_a_modified_file_of_the_same_size_is_found_by_its_content(base_and_ws: tuple[Path, Path]) -> None:
    base, ws = base_and_ws
    core = ws / "src/myproj/core.py"
    text = core.read_text()
    core.write_text(text[:-2] + ("X" if text[-2] != "X" else "Y") + text[-1])  # same size, other bytes
    assert tree_changes(ws, base) == [("M", "src/myproj/core.py")]


def test_a_binary_symlink_patch_hidden_by_gitignore_is_rejected(base_and_ws: tuple[Path, Path]) -> None:
    from pytest_proofswe.harness.patch import PatchRejected, apply_patch, parse_patch

    _base, ws = base_and_ws
    text = (FIXTURE_SUBMISSIONS / "symlink-escape.diff").read_text()
    with pytest.raises(PatchRejected, match="symlink pointing outside") as info:
        apply_patch(parse_patch(text), ws)
    assert info.value.path == "tests/hidden"
    assert not (ws / "tests/hidden").is_symlink()


def test_a_symlink_pointing_outside_that_the_base_has_is_not_the_patchs_doing(tmp_path: Path) -> None:
    from pytest_proofswe import git as gitmod
    from pytest_proofswe.harness.patch import apply_patch, parse_patch

    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "a.py").write_text("x = 1\n")
    (ws / "shared").symlink_to("/usr/share")
    gitmod.init_snapshot(ws)
    outcome = apply_patch(parse_patch("--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"), ws)
    assert outcome.method == "git apply" and (ws / "shared").is_symlink()


def test_each_undone_file_says_why(ws: Path) -> None:
    # git lists conftest.py first: a file already undone does not end the search for plugins.
    (ws / "conftest.py").write_text("# new\n")
    (ws / "pytest.ini").write_text("[pytest]\n")
    (ws / "src/evil.pth").write_text("import os\n")
    (ws / "setup.cfg").write_text(BASE["setup.cfg"] + "addopts = -p x\n")
    (ws / "pyproject.toml").write_text(BASE["pyproject.toml"] + "[tool.pytest.other]\nx = 1\n")
    (ws / "src/myproj/plugin.py").write_text("# forged\n")
    (ws / "pytest.py").write_text("")
    done, _ = neutralise(ws, changed_paths(ws), import_roots=("src", ""), installed_names={"pytest"})
    assert {n.path: n.reason for n in done} == {
        "conftest.py": "conftest.py is loaded by the test runner",
        "pyproject.toml": "its [tool.pytest] table configures pytest",
        "pytest.ini": "pytest.ini configures pytest",
        "pytest.py": "a new module 'pytest' would shadow the installed one",
        "setup.cfg": "its [tool:pytest] section configures pytest",
        "src/evil.pth": ".pth files run code when Python starts",
        "src/myproj/plugin.py": "a pytest plugin that the base configuration loads",
    }


def test_a_new_module_staged_by_git_apply_3way_is_still_new(ws: Path) -> None:
    (ws / "pytest.py").write_text("")
    gitmod.git(["add", "pytest.py"], cwd=ws)  # --3way leaves its new files staged: status "A"
    assert changed_paths(ws) == [("A", "pytest.py")]
    assert run_guard(ws, installed_names={"pytest"})[0] == {"pytest.py": "removed"}
    (ws / "pytest.py").write_text("")
    done, _ = neutralise(ws, [("?", "pytest.py")], installed_names={"pytest"})  # changed_paths' fallback status
    assert [n.action for n in done] == ["removed"]


def test_a_config_file_replaced_by_a_directory_is_put_back(ws: Path) -> None:
    (ws / "tests/conftest.py").unlink()
    (ws / "tests/conftest.py").mkdir()
    (ws / "tests/conftest.py/notes.txt").write_text("")
    done, _ = run_guard(ws)
    assert done == {"tests/conftest.py": "restored"}
    assert (ws / "tests/conftest.py").read_text() == BASE["tests/conftest.py"]


def test_a_config_file_replaced_by_a_symlink_to_a_directory_is_put_back(ws: Path, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (ws / "tests/conftest.py").unlink()
    (ws / "tests/conftest.py").symlink_to(tmp_path / "elsewhere")
    done, _ = run_guard(ws)
    assert done == {"tests/conftest.py": "restored"}
    assert not (ws / "tests/conftest.py").is_symlink()
    assert (ws / "tests/conftest.py").read_text() == BASE["tests/conftest.py"]
    assert (tmp_path / "elsewhere").is_dir()  # what the link pointed to is left alone


def test_new_shared_config_files_count_only_with_a_pytest_section(tmp_path: Path) -> None:
    ws = snapshot_workspace(tmp_path / "ws", {"pyproject.toml": '[project]\nname = "x"\n', "mod.py": ""})
    (ws / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.ruff]\nline-length = 100\n')
    (ws / "setup.cfg").write_text("[metadata]\nname = x\n")
    (ws / "tox.ini").write_text("[tox]\nenvlist = py3\n\n[pytest]\naddopts = -p x\n")
    done, _ = run_guard(ws)
    assert done == {"tox.ini": "removed"}
    assert (ws / "setup.cfg").exists() and "tool.ruff" in (ws / "pyproject.toml").read_text()


def test_a_config_file_that_is_not_utf8_is_still_compared(ws: Path) -> None:
    (ws / "setup.cfg").write_bytes(BASE["setup.cfg"].encode() + b"\n# caf\xe9 in latin-1\n")
    (ws / "tox.ini").write_bytes(BASE["tox.ini"].encode() + b"addopts = -p caf\xe9\n")
    done, _ = run_guard(ws)
    assert done == {"tox.ini": "restored"}  # setup.cfg's [tool:pytest] did not change: kept
