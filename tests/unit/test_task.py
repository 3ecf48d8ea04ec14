"""task.toml loading and validation: every error names the file, the key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_proofswe.errors import TaskError
from pytest_proofswe.task import find_submissions, load_task
from tests.conftest import TASKS, make_git_repo, write_task

GOOD = """
title = "t"
[tests]
fail_to_pass = ["tests/test_a.py::test_a"]
"""


def _task(tmp_path: Path, toml: str, **files: str) -> Path:
    return write_task(tmp_path / "my-task", toml, {"repo/a.py": "x = 1\n", **files})


def test_loads_the_bundled_examples() -> None:
    task = load_task(TASKS / "inventory-restock")
    assert task.id == "inventory-restock"
    assert task.tests.fail_to_pass[0].endswith("test_pending_orders_counted")
    assert task.hidden_tests_dir is not None and task.hidden_tests_diff is None
    assert task.repo.kind == "path"
    git_task = load_task(TASKS / "slugify-git")
    assert git_task.repo.kind == "git" and git_task.repo.commit == "ecaaf7493520e4dae5fe455d18f454b687833e44"


def test_defaults(tmp_path: Path) -> None:
    task = load_task(_task(tmp_path, GOOD))
    assert task.id == "my-task"
    assert task.tests.timeout == 600
    assert task.environment.setup == ()
    assert task.repo.path == (tmp_path / "my-task" / "repo").resolve()


@pytest.mark.parametrize(
    ("toml", "key", "words"),
    [
        (GOOD + "\n[tests.extra]\n", "tests.extra", "unknown key"),
        (GOOD.replace("fail_to_pass", "fail_to_pas"), "tests.fail_to_pas", "did you mean 'tests.fail_to_pass'"),
        ('[tests]\nfail_to_pass = "tests/test_a.py::test_a"\n', "tests.fail_to_pass", "must be list of strings"),
        (GOOD + "[environment]\nsetup = 'pip install .'\n", "environment.setup", "must be list of strings"),
        (GOOD + "[environment]\nenv = { A = 1 }\n", "environment.env", "table of strings"),
        (GOOD.replace("[tests]", "[tests]\ntimeout = 'long'"), "tests.timeout", "must be number"),
        (GOOD.replace("[tests]", "[tests]\ncanaries = 'no'"), "tests.canaries", "must be a boolean"),
        (GOOD.replace("[tests]", "[tests]\ntimeout = -1"), "tests.timeout", "must be positive"),
        ('title = "t"\n', "tests", "the [tests] section is missing"),
        ("[tests]\nfail_to_pass = []\n", "tests.fail_to_pass", "missing or empty"),
        (GOOD + '[repo]\npath = "nowhere"\n', "repo.path", "does not exist"),
        (GOOD + '[repo]\ngit = "nowhere.git"\ncommit = "abc"\n', "repo.git", "does not exist"),
        (GOOD + '[repo]\ngit = "../x.git"\n', "repo.commit", "needs 'repo.commit'"),
        (GOOD + '[repo]\npath = "repo"\ngit = "x"\n', "repo", "both"),
        ("repo = 3\n" + GOOD, "repo", "must be a table"),
        (GOOD + 'deselect = ["tests/test_a.py::test_a"]\n', "tests.deselect", "names FAIL_TO_PASS tests"),
    ],
)
def test_invalid_task_names_file_key_and_fix(tmp_path: Path, toml: str, key: str, words: str) -> None:
    root = _task(tmp_path, toml)
    with pytest.raises(TaskError) as info:
        load_task(root)
    err = info.value
    assert err.key == key
    assert words in str(err)
    assert str(root / "task.toml") in str(err)
    assert "fix:" in str(err) or key == "repo"


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    root = _task(tmp_path, "[tests\nfail_to_pass = 1\n")
    with pytest.raises(TaskError, match=r"is not valid TOML: .*line 1"):
        load_task(root)


def test_unknown_commit_is_a_task_error(tmp_path: Path) -> None:
    make_git_repo(tmp_path / "src.git", {"a.py": "x = 1\n"})
    root = write_task(tmp_path / "t", GOOD + '[repo]\ngit = "../src.git"\ncommit = "deadbeef"\n')
    with pytest.raises(TaskError) as info:
        load_task(root)
    assert info.value.key == "repo.commit"
    assert "'deadbeef' is not in" in str(info.value)


def test_git_commit_is_resolved_to_full_id(tmp_path: Path) -> None:
    commit = make_git_repo(tmp_path / "src.git", {"a.py": "x = 1\n"})
    root = write_task(tmp_path / "t", GOOD + f'[repo]\ngit = "../src.git"\ncommit = "{commit[:8]}"\n')
    assert load_task(root).repo.commit == commit


def test_both_hidden_test_forms_is_an_error(tmp_path: Path) -> None:
    root = _task(tmp_path, GOOD, **{"hidden_tests/tests/test_a.py": "", "hidden_tests.diff": ""})
    with pytest.raises(TaskError, match=r"both hidden_tests/ and hidden_tests\.diff"):
        load_task(root)


def test_submissions_files_folders_and_problems(tmp_path: Path) -> None:
    root = _task(
        tmp_path,
        GOOD,
        **{
            "submissions/a.diff": "x",
            "submissions/b.patch": "y",
            "submissions/c/patch.diff": "z",
            "submissions/c/session.jsonl": "{}",
            "submissions/c/meta.toml": 'agent = "claude"\n',
            "submissions/d/notes.txt": "no patch here",
            "submissions/e/patch.diff": "w",
            "submissions/e/meta.toml": "agent = \n",
            "submissions/readme.txt": "ignored",
        },
    )
    subs = {s.name: s for s in find_submissions(load_task(root))}
    assert sorted(subs) == ["a", "b", "c", "d", "e"]
    assert subs["a"].read_patch() == "x" and subs["a"].problem is None
    assert subs["c"].meta == {"agent": "claude"}
    assert subs["c"].session_path is not None and subs["c"].session_path.name == "session.jsonl"
    assert "no patch.diff" in (subs["d"].problem or "")
    assert "meta.toml" in (subs["e"].problem or "")


def test_duplicate_submission_names(tmp_path: Path) -> None:
    root = _task(tmp_path, GOOD, **{"submissions/a.diff": "x", "submissions/a/patch.diff": "y"})
    (sub,) = find_submissions(load_task(root))
    assert "given twice" in (sub.problem or "")


def test_deselected_tests_leave_pass_to_pass(tmp_path: Path) -> None:
    toml = GOOD + 'pass_to_pass = ["t.py::b", "t.py::net"]\ndeselect = ["t.py::net"]\n'
    task = load_task(_task(tmp_path, toml))
    assert task.tests.pass_to_pass == ("t.py::b",) and task.tests.deselect == ("t.py::net",)


def test_review_table(tmp_path: Path) -> None:
    root = _task(tmp_path, GOOD + '[review]\nrubric = "review-quality"\n')
    assert load_task(root).review == {"rubric": "review-quality"}
    bad = _task(tmp_path / "b", GOOD + '[review]\nrubric = "no-such-rubric"\n')
    with pytest.raises(TaskError) as info:
        load_task(bad)
    assert info.value.key == "review.rubric" and "no such rubric" in str(info.value)
    unknown = _task(tmp_path / "c", GOOD + '[review]\nmodel = "x"\n')
    with pytest.raises(TaskError, match=r"unknown key\(s\) in \[review\]: model"):
        load_task(unknown)


def test_check_rubric_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pytest_proofswe.__main__ import main

    assert main(["check-rubric", "review-quality"]) == 0
    assert "review-quality 1.0: 5 criteria, pass threshold 3.5" in capsys.readouterr().out
    broken = tmp_path / "r.toml"
    broken.write_text('name = "r"\nversion = "1"\ndescription = "d"\npass_threshold = 3\n[[criteria]]\nid = "A!"\n')
    assert main(["check-rubric", str(broken)]) == 2
    assert "criterion 'A!': key 'id'" in capsys.readouterr().err


def test_size_limits_default_and_override(tmp_path: Path) -> None:
    task = load_task(_task(tmp_path, GOOD))
    assert (task.tests.max_patch_mb, task.tests.max_junit_mb, task.tests.canaries) == (10, 50, True)
    other = load_task(_task(tmp_path / "b", GOOD + "max_patch_mb = 0.5\nmax_junit_mb = 2\ncanaries = false\n"))
    assert (other.tests.max_patch_mb, other.tests.max_junit_mb, other.tests.canaries) == (0.5, 2, False)
    with pytest.raises(TaskError) as err:
        load_task(_task(tmp_path / "c", GOOD + "max_junit_mb = 0\n"))
    assert "'tests.max_junit_mb' must be positive" in str(err.value) and "max_junit_mb = 50" in str(err.value)


def test_trials_and_agents_of_submission_names() -> None:
    """Issue 13: ``<agent>@<n>`` is trial n of agent; meta.toml's agent (or a prediction's model) names the agent."""
    from pytest_proofswe.task import agent_of, split_trial

    assert split_trial("claude@3") == ("claude", 3)
    assert split_trial("a@b@07") == ("a@b", 7)
    assert split_trial("minimal") == ("minimal", None) and split_trial("x@y") == ("x@y", None)
    assert agent_of("claude@3") == "claude" and agent_of("minimal") == "minimal"
    assert agent_of("run-b", {"agent": "alpha"}) == "alpha"
    assert agent_of("org__m@2", {"model_name_or_path": "org/m"}) == "org/m"
    assert agent_of("x@1", {"agent": "  "}) == "x"  # a blank agent in meta.toml names nothing


CHECKLIST_ONLY = 'title = "t"\n[review]\nchecklist = ["The README documents --verbose", "main() prints a greeting"]\n'


def test_a_checklist_task_needs_no_tests(tmp_path: Path) -> None:
    """Issue 13, item 4: a task without hidden tests is graded by its [review] checklist."""
    task = load_task(_task(tmp_path, CHECKLIST_ONLY))
    assert task.checklist == ("The README documents --verbose", "main() prints a greeting")
    assert task.checklist_only and task.tests.fail_to_pass == ()
    both = load_task(_task(tmp_path / "b", GOOD + '[review]\nchecklist = ["  A CHANGELOG line  "]\n'))
    assert both.checklist == ("A CHANGELOG line",) and not both.checklist_only
    assert not load_task(_task(tmp_path / "c", GOOD)).checklist


@pytest.mark.parametrize(
    ("toml", "key", "words"),
    [
        ('[review]\nchecklist = "README"\n', "review.checklist", "must be a list of non-empty strings, got 'README'"),
        ('[review]\nchecklist = ["a", " "]\n', "review.checklist", "must be a list of non-empty strings"),
        ('[review]\nchecklist = ["a", "a "]\n', "review.checklist", "has 'a' twice"),
        ("[review]\nchecklist = []\n", "review.checklist", "'review.checklist' is empty"),
        ('[review]\nchecks = ["a"]\n', "review.checks", "unknown key(s) in [review]: checks"),
        (
            '[tests]\npass_to_pass = ["tests/test_a.py::test_a"]\n[review]\nchecklist = ["a"]\n',
            "tests",
            "[tests] has pass_to_pass but no fail_to_pass: a task graded by its checklist runs no tests",
        ),
    ],
)
def test_bad_checklists(tmp_path: Path, toml: str, key: str, words: str) -> None:
    root = _task(tmp_path, 'title = "t"\n' + toml)
    with pytest.raises(TaskError) as info:
        load_task(root)
    assert info.value.key == key and words in str(info.value) and "fix:" in str(info.value)


def test_hidden_tests_without_fail_to_pass_is_an_error(tmp_path: Path) -> None:
    root = _task(tmp_path, CHECKLIST_ONLY, **{"hidden_tests/tests/test_a.py": "def test_a(): pass\n"})
    with pytest.raises(TaskError, match=r"hidden tests, but task\.toml names no fail_to_pass test"):
        load_task(root)
    root = _task(tmp_path / "b", 'title = "t"\n')
    with pytest.raises(TaskError, match=r"or a \[review\] checklist"):
        load_task(root)


def test_the_base_state_folder_must_stay_inside_the_task_folder(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    root = _task(tmp_path, GOOD + '[repo]\npath = "../elsewhere"\n')
    with pytest.raises(TaskError, match="points outside the task folder") as info:
        load_task(root)
    assert info.value.key == "repo.path"
    # A symbolic link named like a plain folder is followed before the check, not trusted.
    root = write_task(tmp_path / "linked", GOOD, {"keep.txt": ""})
    (root / "repo").symlink_to(outside, target_is_directory=True)
    with pytest.raises(TaskError, match="points outside the task folder"):
        load_task(root)


def test_a_link_to_a_folder_inside_is_the_folder_it_names(tmp_path: Path) -> None:
    root = write_task(tmp_path / "t", GOOD, {"base/a.py": "x = 1\n", "checks/tests/test_a.py": "def test_a(): pass\n"})
    (root / "repo").symlink_to(root / "base", target_is_directory=True)
    (root / "hidden_tests").symlink_to(root / "checks", target_is_directory=True)
    (root / "issue.md").mkdir()  # a folder, not the issue's text
    (root / "gold.diff").symlink_to(root / "missing.diff")  # a dangling link
    task = load_task(root)
    assert task.repo.path == (root / "base").resolve()
    assert task.hidden_tests_dir == root.resolve() / "hidden_tests"
    assert task.issue_path is None and task.gold_diff is None


def test_submissions_are_files_and_folders_by_name_links_followed(tmp_path: Path) -> None:
    root = _task(tmp_path, GOOD)
    subs = root / "submissions"
    (subs / "b-folder").mkdir(parents=True)
    (subs / "b-folder" / "patch.diff").write_text("")
    (subs / "a.diff").write_text("")
    (subs / "c.diff").symlink_to(subs / "a.diff")
    (subs / "d.diff").symlink_to(subs / "gone.diff")  # dangling: no submission
    (subs / ".hidden.diff").write_text("")
    (subs / "notes.txt").write_text("")
    found = find_submissions(load_task(root))
    assert [(s.name, s.origin) for s in found] == [("a", "file"), ("b-folder", "folder"), ("c", "file")]
