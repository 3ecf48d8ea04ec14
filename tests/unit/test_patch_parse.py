"""Parsing patches and the path policy (no workspace writes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_proofswe.patch import PatchRejected, check_policy, parse_patch

MODIFY = """diff --git a/pkg/mod.py b/pkg/mod.py
--- a/pkg/mod.py
+++ b/pkg/mod.py
@@ -1,2 +1,2 @@
 a = 1
-b = 2
+b = 3
"""


def new_file(path: str, body: str = "x") -> str:
    return f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n@@ -0,0 +1 @@\n+{body}\n"


def test_parse_kinds() -> None:
    text = (
        MODIFY
        + new_file("new.py")
        + (
            "diff --git a/old.py b/old.py\ndeleted file mode 100644\n--- a/old.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n"
            "diff --git a/a.py b/b.py\nsimilarity index 100%\nrename from a.py\nrename to b.py\n"
            "diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n"
        )
    )
    parsed = parse_patch(text)
    kinds = {f.path: f.kind for f in parsed.files}
    assert kinds == {"pkg/mod.py": "modify", "new.py": "add", "old.py": "delete", "b.py": "rename", "run.sh": "modify"}
    mod = parsed.files[0]
    assert (mod.added, mod.removed) == (1, 1)
    assert mod.hunks[0].header == "@@ -1,2 +1,2 @@"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "the patch is empty"),
        ("   \n\n", "the patch is empty"),
        ("I would change line 3.\n", "no file changes found"),
        ("--- a/x.py\n+++ b/x.py\n@@ -1,3 +1,3 @@\n-a\n", "malformed"),
    ],
)
def test_empty_or_malformed(text: str, words: str) -> None:
    with pytest.raises(PatchRejected, match=words):
        parse_patch(text)


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("../outside.py", "climbs out"),
        ("pkg/../../x.py", "climbs out"),
        (".git/hooks/pre-commit", "inside .git"),
        ("sub/.GIT/config", "inside .git"),
        ("sub/.git /config", "inside .git"),
    ],
)
def test_policy_rejects_paths(tmp_path: Path, path: str, words: str) -> None:
    with pytest.raises(PatchRejected, match=words) as info:
        check_policy(parse_patch(new_file(path)), tmp_path)
    assert info.value.path is not None


def test_policy_rejects_absolute_paths(tmp_path: Path) -> None:
    text = "--- /etc/passwd\n+++ /etc/passwd\n@@ -1 +1 @@\n-root\n+evil\n"
    with pytest.raises(PatchRejected, match="absolute"):
        check_policy(parse_patch(text), tmp_path)


def test_policy_checks_git_header_paths_even_if_unidiff_disagrees(tmp_path: Path) -> None:
    text = (
        "diff --git a/ok.py b/ok.py\nsimilarity index 90%\nrename from ok.py\nrename to ../../evil.py\n"
        "--- a/ok.py\n+++ b/ok.py\n@@ -1 +1 @@\n-a\n+b\n"
    )
    with pytest.raises(PatchRejected, match="climbs out"):
        check_policy(parse_patch(text), tmp_path)


def test_policy_rejects_writing_through_a_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "link").symlink_to(outside)
    with pytest.raises(PatchRejected, match="through the symlink link"):
        check_policy(parse_patch(new_file("link/x.py")), ws)


def test_policy_rejects_new_symlink_pointing_outside(tmp_path: Path) -> None:
    text = (
        "diff --git a/evil b/evil\nnew file mode 120000\n--- /dev/null\n+++ b/evil\n@@ -0,0 +1 @@\n"
        "+../../etc\n\\ No newline at end of file\n"
    )
    with pytest.raises(PatchRejected, match="symlink pointing outside"):
        check_policy(parse_patch(text), tmp_path)


def test_policy_accepts_symlink_inside(tmp_path: Path) -> None:
    text = (
        "diff --git a/docs/link b/docs/link\nnew file mode 120000\n--- /dev/null\n+++ b/docs/link\n"
        "@@ -0,0 +1 @@\n+../README.md\n\\ No newline at end of file\n"
    )
    check_policy(parse_patch(text), tmp_path)


@pytest.mark.parametrize(
    ("quoted", "plain"),
    [
        ('"a\\tb.py"', "a\tb.py"),
        ('"\\303\\251t\\303\\251.py"', "été.py"),
        ('"sp ace\\"q.py"', 'sp ace"q.py'),
        ('"..\\/escape.txt"', "../escape.txt"),
        ("plain.py", "plain.py"),
    ],
)
def test_git_quoted_paths(quoted: str, plain: str) -> None:
    from pytest_proofswe.patch import _unquote

    assert _unquote(quoted) == plain
