"""Parsing patches and the path policy (no workspace writes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_proofswe.harness.patch import (
    PatchRejected,
    _check_path,
    _header_paths,
    _strip_prefix,
    _unquote,
    check_policy,
    parse_patch,
)

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
        ('"caf\\303\\251.py"', "café.py"),  # octal escapes after plain characters
        ('"caf\\303\\251"', "café"),  # ... and at the end
        ('"a\\tb\\\\c\\t"', "a\tb\\c\t"),  # C escapes inside and at the end
        ('""', ""),
        ('name"', 'name"'),  # not quoted: as it is
        ('"', '"'),
        ('"a\\"', "a\\"),  # a trailing backslash is kept
        ('"\\377.py"', "\ufffd.py"),  # bytes that are not UTF-8 are replaced
        ('"a\udcffb"', "a\ufffdb"),  # an undecodable byte of the patch file (surrogateescape)
        ('"a\\\udcff"', "a\ufffd"),
        ('"a\\q"', "aq"),  # escapes git never writes keep their character
        ('"a\\1xy"', "a1xy"),
        ('"a\\7XX"', "a7XX"),
        ('"a\\30"', "a30"),  # an octal escape has three digits
    ],
)
def test_git_quoted_paths(quoted: str, plain: str) -> None:
    assert _unquote(quoted) == plain


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("a\x00b.py", "the path contains a NUL byte"),
        ("/etc/passwd", "the path is absolute"),
        ("C:/Windows/x.py", "the path is absolute"),
        ("c:\\x.py", "the path is absolute"),
        ("\\\\server\\share\\x.py", "the path is absolute"),
        ("pkg\\mod.py", "the path contains a backslash"),
        ("pkg/../../x.py", "the path climbs out with '..'"),
        (".git/config", "the path is inside .git/"),
        ("sub/.Git./hooks/x", "the path is inside .git/"),  # as Windows reads it
        ("", "the path is empty"),
        (".", "the path is empty"),
        ("pkg/mod.py", None),
        (".github/workflows/ci.yml", None),
        (".gitignore", None),
        ("pkg/.gitX/notes", None),
        ("a..b/c.py", None),
    ],
)
def test_path_rules(path: str, reason: str | None) -> None:
    assert _check_path(path) == reason


def test_prefix_stripping() -> None:
    assert _strip_prefix("a/pkg/mod.py") == "pkg/mod.py"
    assert _strip_prefix("/dev/null") is None
    assert _strip_prefix("/etc/passwd") == "/etc/passwd"  # kept, for the policy to refuse
    assert _strip_prefix("top.py") == "top.py"


def test_header_paths_names_every_kind_of_header() -> None:
    text = (
        "diff --git a/x b/y\n--- a/x\n+++ b/y\nrename from x\nrename to y\ncopy from x\ncopy to y\n"
        "Binary files a/x and b/y differ\n+added\n-removed\n context\n"
    )
    prefixed = [("a/x", True), ("b/y", True)]
    assert _header_paths(text) == [*prefixed, *prefixed, *[(p, False) for p in "xyxy"], *prefixed]


def test_plain_diff_deleting_a_file(tmp_path: Path) -> None:
    parsed = parse_patch("--- a/old.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n")
    assert [(f.path, f.kind, f.source_path, f.target_path) for f in parsed.files] == [
        ("old.py", "delete", "old.py", None)
    ]
    check_policy(parsed, tmp_path)


def test_policy_reads_a_prefixed_path_as_git_apply_p1_does(tmp_path: Path) -> None:
    # diff -ru ../orig . writes "--- ../orig/x": -p1 drops the first component, whatever it is.
    text = "--- ../orig/pkg/mod.py\n+++ ./pkg/mod.py\n@@ -1 +1 @@\n-a\n+b\n"
    check_policy(parse_patch(text), tmp_path)


def test_policy_refusal_names_the_rule_and_the_path(tmp_path: Path) -> None:
    text = "--- /etc/passwd\n+++ /etc/passwd\n@@ -1 +1 @@\n-root\n+evil\n"
    with pytest.raises(PatchRejected) as info:
        check_policy(parse_patch(text), tmp_path)
    assert info.value.reason == "the path is absolute: a patch may only name paths inside the repository"
    assert info.value.path == "/etc/passwd"


@pytest.mark.parametrize(
    ("header", "reason", "path"),
    [
        # git writes rename and copy paths without a/ b/: nothing of them is stripped.
        ("rename to ../evil.py", "the path climbs out with '..'", "../evil.py"),
        ("rename to .git/hooks/post-checkout", "the path is inside .git/", ".git/hooks/post-checkout"),
        ("copy to .git/config", "the path is inside .git/", ".git/config"),
        ("rename from ../../etc/x", "the path climbs out with '..'", "../etc/x"),
        # ... and what -p1 would make of them is checked too.
        ("rename to x//etc/cron.d/evil", "the path is absolute", "/etc/cron.d/evil"),
    ],
)
def test_policy_reads_rename_and_copy_headers_as_git_does(tmp_path: Path, header: str, reason: str, path: str) -> None:
    # After a new file (a "--- /dev/null" header), in a change unidiff names by its ---/+++ lines.
    text = new_file("ok.py") + (
        f"diff --git a/x.py b/x.py\nsimilarity index 90%\n{header}\n--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n"
    )
    with pytest.raises(PatchRejected) as info:
        check_policy(parse_patch(text), tmp_path)
    assert info.value.reason == f"{reason}: a patch may only write inside the repository"
    assert info.value.path == path


def test_policy_refuses_writing_through_a_symlink_deeper_down(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    ws = tmp_path / "ws"
    (ws / "pkg").mkdir(parents=True)
    (ws / "pkg/link").symlink_to(outside)
    with pytest.raises(PatchRejected) as info:
        check_policy(parse_patch(new_file("pkg/link/sub/x.py")), ws)
    assert info.value.reason == "the path leads through the symlink pkg/link: nothing is written through a symlink"
    assert info.value.path == "pkg/link/sub/x.py"
    check_policy(parse_patch(new_file("pkg/new/sub/x.py")), ws)  # folders the patch creates


def new_symlink(path: str, target: str) -> str:
    return (
        f"diff --git a/{path} b/{path}\nnew file mode 120000\n--- /dev/null\n+++ b/{path}\n@@ -0,0 +1 @@\n"
        f"+{target}\n\\ No newline at end of file\n"
    )


@pytest.mark.parametrize(
    "text",
    [
        new_symlink("up", ".."),
        new_symlink("docs/up", "../.."),
        new_symlink("abs", "/etc"),
        new_symlink("nul", "a\x00b"),
        # A target that starts with "++" is the added line "+++...", not a file header.
        new_symlink("plusplus", "++/../../../etc"),
        # The link's own hunk gives its target, whatever comes after it.
        new_symlink("first", "../../etc") + new_file("after.py", "ok"),
        "--- a/keep.py\n+++ b/keep.py\n@@ -1 +1 @@\n-a\n+b\n" + new_symlink("second", "../../etc"),
        # A changed link: the old target, a removed line "--- ...", is not a header either.
        (
            "diff --git a/link b/link\nindex 1111111..2222222 120000\n--- a/link\n+++ b/link\n@@ -1 +1 @@\n"
            "--- old\n\\ No newline at end of file\n+../../etc\n\\ No newline at end of file\n"
        ),
    ],
)
def test_policy_refuses_every_symlink_pointing_outside(tmp_path: Path, text: str) -> None:
    parsed = parse_patch(text)
    link = next(f for f in parsed.files if f.symlink)
    with pytest.raises(PatchRejected) as info:
        check_policy(parsed, tmp_path)
    assert info.value.reason.startswith("the patch makes a symlink pointing outside the workspace (")
    assert info.value.path == link.path


def test_policy_reads_only_symlinks_for_a_target(tmp_path: Path) -> None:
    # A regular file whose text looks like a path outside is just text.
    check_policy(parse_patch(new_file("notes.txt", "../../up") + new_file("abs.txt", "/etc/passwd")), tmp_path)
