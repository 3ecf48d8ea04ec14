"""history.py and durability.py on real git repositories made by the tests (no committed .git)."""

from __future__ import annotations

import hashlib
import importlib.util
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from pytest_proofswe.errors import UsageError
from pytest_proofswe.modes.durability import AgentSelector, added_lines, measure_durability, non_trivial
from pytest_proofswe.modes.history import grade_history, resolve_history
from tests.conftest import FIXTURES


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


AGENT_HISTORY = _load("make_agent_history", FIXTURES / "repos" / "make_agent_history.py")
CLAUDE = AgentSelector.parse("trailer:Co-Authored-By: Claude")


@pytest.fixture(scope="module")
def agent_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    repo = tmp_path_factory.mktemp("agent") / "repo"
    return repo, AGENT_HISTORY.build(repo)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


# --- durability: the figures of the fixture's docstring, counted by hand ------------------------------


def fates(found: object) -> dict[tuple[str, str], tuple[str, str]]:
    """(agent commit, line text) -> (fate, who removed it)."""
    out = {}
    for c in found.commits:  # type: ignore[attr-defined]
        for f in c.lines:
            out[(c.subject, f.text.strip())] = (f.fate, f.by_author.split(" <")[0])
    return out


def test_durability_at_the_end_of_the_range(agent_repo: tuple[Path, dict[str, str]]) -> None:
    repo, ids = agent_repo
    found = measure_durability(repo, ids["c0"], "HEAD", CLAUDE)
    assert fates(found) == {
        ("Add mul and div", "def mul(a, b):"): ("standing", ""),
        ("Add mul and div", "result = a * b"): ("rewritten", "Bob"),
        ("Add mul and div", "return result"): ("rewritten", "Bob"),
        ("Add mul and div", "def div(a, b):"): ("moved", ""),  # Erin moved it to division.py
        ("Add mul and div", "if b == 0:"): ("deleted", "Carol"),  # after the move, in division.py
        ("Add mul and div", 'raise ZeroDivisionError("b is zero")'): ("deleted", "Carol"),
        ("Add mul and div", "return a / b"): ("moved", ""),
        ("Add sub", "def sub(a, b):"): ("reverted", "Dave"),
        ("Add sub", "return a - b"): ("reverted", "Dave"),
    }
    assert found.counts() == {"standing": 1, "moved": 2, "rewritten": 2, "deleted": 2, "reverted": 2}
    assert found.lines == 9 and found.pending == 0
    assert found.share_standing == round(3 / 9, 4)
    assert found.by_author() == {
        "Bob <bob@example.com>": {"rewritten": 2},
        "Carol <carol@example.com>": {"deleted": 2},
        "Dave <dave@example.com>": {"reverted": 2},
    }
    moved = {f.text.strip(): f.where for c in found.commits for f in c.lines if f.fate != "rewritten"}
    assert moved["def mul(a, b):"] == "arith.py:8"  # through the rename
    assert moved["def div(a, b):"] == "division.py:4"
    doc = found.to_json()
    assert doc["share_standing"] == 0.3333 and doc["commits"][0]["share_standing"] == round(3 / 7, 4)
    assert "33% of 9 agent line(s) still stand" in found.summary()


def test_durability_n_commits_later(agent_repo: tuple[Path, dict[str, str]]) -> None:
    repo, ids = agent_repo
    two = measure_durability(repo, ids["c0"], "HEAD", CLAUDE, after=2)
    # c1 seen at c3: Bob has rewritten two lines, the rest stands (renamed); c5 seen at c7: reverted.
    assert [c.observed_at for c in two.commits] == [ids["c3"], ids["c7"]]
    assert two.counts() == {"standing": 5, "moved": 0, "rewritten": 2, "deleted": 0, "reverted": 2}
    four = measure_durability(repo, ids["c0"], "HEAD", CLAUDE, after=4)
    # c1 seen at c5: div() moved (4 lines), mul's two lines rewritten; c5 has only 3 commits after it.
    assert four.counts() == {"standing": 1, "moved": 4, "rewritten": 2, "deleted": 0, "reverted": 0}
    assert four.pending == 2 and four.lines == 7 and four.commits[1].observed_at is None
    assert four.share_standing == round(5 / 7, 4)


def test_a_move_made_by_the_observation_point_itself(agent_repo: tuple[Path, dict[str, str]]) -> None:
    repo, ids = agent_repo
    # c1 is observed at c4, the very commit that moved div() (git blame --reverse c4..c4 is an error).
    three = measure_durability(repo, ids["c0"], "HEAD", CLAUDE, after=3)
    assert [c.observed_at for c in three.commits] == [ids["c4"], ids["c8"]]
    assert three.counts() == {"standing": 1, "moved": 4, "rewritten": 2, "deleted": 0, "reverted": 2}
    assert sorted(f.where for f in three.commits[0].lines if f.fate == "moved") == [
        f"division.py:{n}" for n in (4, 5, 6, 7)
    ]


def test_selectors_choose_the_same_commits(agent_repo: tuple[Path, dict[str, str]]) -> None:
    repo, ids = agent_repo
    by_author = measure_durability(repo, ids["c0"], "HEAD", AgentSelector.parse("author:AGENT smith"))
    by_ids = measure_durability(repo, ids["c0"], "HEAD", AgentSelector("commits", f"{ids['c1'][:8]},{ids['c5']}"))
    assert [c.id for c in by_author.commits] == [c.id for c in by_ids.commits] == [ids["c1"], ids["c5"]]
    nobody = measure_durability(repo, ids["c0"], "HEAD", AgentSelector.parse("author:nobody"))
    assert nobody.commits == () and nobody.share_standing is None
    assert "no agent line could be observed" in nobody.summary()


def test_a_captured_session_is_found_where_its_lines_landed(
    agent_repo: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    repo, ids = agent_repo
    task = tmp_path / "calc-session"
    (task / "submissions" / "claude").mkdir(parents=True)
    (task / "task.toml").write_text(f'[repo]\ngit = "{repo}"\ncommit = "{ids["c0"]}"\n\n[tests]\nfail_to_pass = []\n')
    # The session's final diff: c1's change, and two lines that were never committed.
    patch = (
        git(repo, "diff", ids["c0"], ids["c1"])
        .replace("+    return a / b\n", "+    return a / b\n+\n+\n+def never(a):\n+    return a ** 2\n")
        .replace("@@ -3,3 +3,15 @@", "@@ -3,3 +3,19 @@")
    )
    (task / "submissions" / "claude" / "patch.diff").write_text(patch)
    found = measure_durability(repo, ids["c0"], "HEAD", AgentSelector.parse(f"session:{task}"))
    assert [c.id for c in found.commits] == [ids["c1"]]
    assert found.counts() == {"standing": 1, "moved": 2, "rewritten": 2, "deleted": 2, "reverted": 0}
    assert found.uncommitted == (("calc.py", "def never(a):"), ("calc.py", "return a ** 2"))
    with pytest.raises(UsageError, match="expected one submission folder"):
        (task / "submissions" / "other").mkdir()
        (task / "submissions" / "other" / "patch.diff").write_text(patch)
        measure_durability(repo, ids["c0"], "HEAD", AgentSelector.parse(f"session:{task}"))


@pytest.mark.parametrize("text", ["nobody", "author:", "who:x", "trailer:Claude", "session:"])
def test_bad_selectors_say_how_to_write_one(text: str) -> None:
    with pytest.raises(UsageError, match="fix: "):
        AgentSelector.parse(text)


@pytest.mark.parametrize(
    ("path", "line", "counts"),
    [
        ("a.py", "    return total", True),
        ("a.py", "", False),
        ("a.py", "    )", False),
        ("a.py", "    # a comment", False),
        ("a.py", "import os", False),
        ("a.py", "from x import y", False),
        ("a.py", "    pass", False),
        ("a.py", "    else:", False),
        ("a.py", '    """', False),
        ("README.md", "# A heading", True),  # not a comment in Markdown
        ("a.js", "// a comment", False),
        ("a.js", "#include <x>", False),
    ],
)
def test_non_trivial_lines(path: str, line: str, counts: bool) -> None:
    assert non_trivial(path, line) is counts


def test_added_lines_of_a_diff() -> None:
    diff = (
        "diff --git a/x.py b/y.py\nsimilarity index 90%\nrename from x.py\nrename to y.py\n"
        "--- a/x.py\n+++ b/y.py\n@@ -2,0 +3,2 @@ def f():\n+    a = 1\n+    b = 2\n@@ -9 +11 @@\n-old\n+new\n"
    )
    assert added_lines(diff) == {"y.py": [(3, "    a = 1"), (4, "    b = 2"), (11, "new")]}


# --- history: the range read from git's objects, nothing of the user's touched -------------------------


def _fingerprint(repo: Path) -> tuple[str, str, str, list[str]]:
    index = hashlib.sha256((repo / ".git" / "index").read_bytes()).hexdigest()
    return (
        index,
        git(repo, "status", "--porcelain=v1", "--untracked-files=all"),
        git(repo, "stash", "list"),
        sorted(p.name for p in (repo / ".git").iterdir()),
    )


def test_history_reads_each_commit_and_leaves_the_checkout_alone(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    ids = AGENT_HISTORY.build(repo)
    # The user's work in progress: a staged change, an unstaged one, an untracked file.
    (repo / "README.md").write_text("work in progress\n")
    git(repo, "add", "README.md")
    (repo / "arith.py").write_text((repo / "arith.py").read_text() + "\nx = 1\n")
    (repo / "scratch.py").write_text("y = 2\n")
    before = _fingerprint(repo)
    history = resolve_history(repo, f"{ids['c0']}..HEAD")
    assert [c.id for c in history.commits] == [ids[f"c{i}"] for i in range(1, 9)]
    assert history.start == ids["c0"] and history.head == ids["c8"]
    trend = grade_history(history)
    assert _fingerprint(repo) == before  # index, status, stash and the .git folder's entries unchanged
    by_id = {s.info.id: s for s in trend.steps}
    assert by_id[ids["c5"]].lint_introduced == {"F401": 1}  # the unused import of "Add sub"
    assert by_id[ids["c7"]].points["lint"] == -1  # reverted with it
    assert by_id[ids["c2"]].new_modules == () and by_id[ids["c2"]].files_changed == 1  # a rename
    assert by_id[ids["c4"]].new_modules == ("division.py",)
    assert by_id[ids["c8"]].files_changed == 0  # README only
    assert trend.start.python_files == 2 and trend.end.python_files == 3
    assert by_id[ids["c1"]].info.author == "Agent Smith <agent@example.com>"


def test_history_from_the_first_commit_and_in_a_subfolder(tmp_path: Path) -> None:
    repo = tmp_path / "mono"
    (repo / "pkg").mkdir(parents=True)
    (repo / "other.py").write_text("import os\n")  # F401, outside the scope
    (repo / "pkg" / "a.py").write_text("x = 1\n")
    git(repo, "init", "-q", "--initial-branch=main")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "root", "--allow-empty")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "files")
    root = git(repo, "rev-list", "--max-parents=0", "HEAD").strip()
    whole = grade_history(resolve_history(repo, f"{root}~0..HEAD"))
    assert whole.end.python_files == 2 and whole.end.lint == 1
    scoped = grade_history(resolve_history(repo / "pkg", f"{root}..HEAD"))
    assert scoped.end.python_files == 1 and scoped.end.lint == 0
    # A range from the root: the first step is measured against the empty tree.
    git(repo, "checkout", "-q", "--orphan", "fresh")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "orphan root")
    fresh = resolve_history(repo, "main..fresh")
    assert fresh.start == "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
    assert grade_history(fresh).steps[0].after.python_files == 2


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nope..HEAD", "unknown revision 'nope'"),
        ("HEAD..HEAD~1", "no commits between HEAD and HEAD~1"),
        ("HEAD~1...HEAD", "a symmetric range"),
        ("..HEAD", "no BASE"),
    ],
)
def test_history_ranges_that_cannot_be_graded(agent_repo: tuple[Path, dict[str, str]], spec: str, message: str) -> None:
    with pytest.raises(UsageError, match="fix: ") as info:
        resolve_history(agent_repo[0], spec)
    assert message in str(info.value)


def test_history_outside_a_repository(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is not inside a git repository"):
        resolve_history(tmp_path, "HEAD~1..HEAD")
