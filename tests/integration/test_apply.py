"""Applying patches to real git workspaces, with SWE-bench's fallbacks."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from pytest_proofswe.harness.patch import PatchRejected, _check_symlinks_after, apply_patch, changed_paths, parse_patch
from tests.conftest import snapshot_workspace

BASE = {
    "pkg/mod.py": "".join(f"line {i}\n" for i in range(1, 21)),
    "old.py": "gone = True\n",
    "keep.py": "a = 1\n",
    "run.sh": "echo hi\n",
    "crlf.txt": "one\r\ntwo\r\nthree\r\n",
    "nonl.txt": "no newline at end",
    "blob.bin": "".join(map(chr, range(128))),
}


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    return snapshot_workspace(tmp_path / "ws", BASE)


def diff_of(ws: Path, change) -> str:  # type: ignore[no-untyped-def]
    """Make a change in a scratch copy of ``ws`` and return git's diff of it."""
    change(ws)
    subprocess.run(["git", "add", "-A", "."], cwd=ws, check=True)
    text = subprocess.run(
        ["git", "diff", "--cached", "--binary", "-M"], cwd=ws, check=True, capture_output=True
    ).stdout.decode()
    subprocess.run(["git", "reset", "-q", "--hard"], cwd=ws, check=True)
    subprocess.run(["git", "clean", "-qfdx"], cwd=ws, check=True)
    return text


def test_modify_add_delete_rename_mode(ws: Path) -> None:
    def change(root: Path) -> None:
        mod = root / "pkg/mod.py"
        mod.write_text(mod.read_text().replace("line 10\n", "line ten\n"))
        (root / "new.py").write_text("print('new')\n")
        (root / "old.py").unlink()
        (root / "keep.py").rename(root / "kept.py")
        os.chmod(root / "run.sh", 0o755)

    text = diff_of(ws, change)
    outcome = apply_patch(parse_patch(text), ws)
    assert outcome.method == "git apply"
    assert "line ten" in (ws / "pkg/mod.py").read_text()
    assert (ws / "new.py").exists() and not (ws / "old.py").exists()
    assert (ws / "kept.py").read_text() == "a = 1\n" and not (ws / "keep.py").exists()
    assert os.stat(ws / "run.sh").st_mode & stat.S_IXUSR
    assert {p for _, p in changed_paths(ws)} >= {"pkg/mod.py", "new.py", "old.py", "kept.py", "keep.py", "run.sh"}


def test_crlf_file_and_missing_final_newline(ws: Path) -> None:
    def change(root: Path) -> None:
        (root / "crlf.txt").write_bytes(b"one\r\nTWO\r\nthree\r\n")
        (root / "nonl.txt").write_text("still no newline")

    text = diff_of(ws, change)
    assert "\\ No newline at end of file" in text
    apply_patch(parse_patch(text), ws)
    assert (ws / "crlf.txt").read_bytes() == b"one\r\nTWO\r\nthree\r\n"
    assert (ws / "nonl.txt").read_text() == "still no newline"


def test_patch_with_crlf_line_endings_is_normalised(ws: Path) -> None:
    def change(root: Path) -> None:
        (root / "keep.py").write_text("a = 2\n")

    text = diff_of(ws, change).replace("\n", "\r\n")
    outcome = apply_patch(parse_patch(text), ws)
    # git apply refuses the CR-terminated lines; patch --fuzz or the normalised retry applies them.
    assert outcome.method in ("patch --fuzz=5", "git apply (CRLF normalised)")
    assert (ws / "keep.py").read_text() == "a = 2\n"


def test_binary_patch(ws: Path) -> None:
    def change(root: Path) -> None:
        (root / "blob.bin").write_bytes(bytes(reversed(range(128))))

    text = diff_of(ws, change)
    assert "GIT binary patch" in text
    apply_patch(parse_patch(text), ws)
    assert (ws / "blob.bin").read_bytes() == bytes(reversed(range(128)))


def test_binary_change_without_data_is_refused(ws: Path) -> None:
    text = "diff --git a/blob.bin b/blob.bin\nindex 1111111..2222222 100644\nBinary files a/blob.bin and b/blob.bin differ\n"
    with pytest.raises(PatchRejected, match="binary change without its data") as info:
        apply_patch(parse_patch(text), ws)
    assert info.value.path == "blob.bin"
    assert (ws / "blob.bin").read_bytes() == "".join(map(chr, range(128))).encode()


def test_fuzz_fallback_applies_shifted_context(ws: Path) -> None:
    # Context that git apply rejects (a context line differs) but patch --fuzz accepts.
    text = (
        "--- a/pkg/mod.py\n+++ b/pkg/mod.py\n@@ -8,6 +8,6 @@\n line 8\n line 9\n-line 10\n+line TEN\n"
        " line 11\n line 12\n line 13 (edited upstream)\n"
    )
    outcome = apply_patch(parse_patch(text), ws)
    assert outcome.method.startswith("patch --fuzz")
    assert [m for m, _ in outcome.attempts] == ["git apply", "git apply --3way"]
    assert "line TEN" in (ws / "pkg/mod.py").read_text()
    assert not list(ws.rglob("*.orig")) and not list(ws.rglob("*.rej"))


def test_failure_names_file_and_hunk_and_resets_the_tree(ws: Path) -> None:
    text = (
        "--- a/keep.py\n+++ b/keep.py\n@@ -1 +1 @@\n-a = 1\n+a = 5\n"
        "--- a/pkg/mod.py\n+++ b/pkg/mod.py\n@@ -1,3 +1,3 @@\n line 1\n-line 2\n+line two\n line 3\n"
        "@@ -15,2 +15,2 @@\n nothing\n-like\n+this\n"
    )
    with pytest.raises(PatchRejected) as info:
        apply_patch(parse_patch(text), ws)
    err = info.value
    assert err.path == "pkg/mod.py" and err.hunk == 2 and err.hunk_header == "@@ -15,2 +15,2 @@"
    assert "tried: git apply, git apply --3way, patch --fuzz=5" in err.describe()
    assert changed_paths(ws) == []  # nothing of the failed attempts is left


def test_symlink_created_by_patch_pointing_outside_is_undone(ws: Path) -> None:
    # The policy refuses it before applying; the check after applying is
    # test_symlinks_are_checked_again_after_applying.
    def change(root: Path) -> None:
        (root / "escape").symlink_to("/etc/passwd")

    text = diff_of(ws, change)
    with pytest.raises(PatchRejected, match="symlink pointing outside"):
        apply_patch(parse_patch(text), ws)
    assert not (ws / "escape").is_symlink()


@pytest.mark.parametrize("target", ["trap/escape.txt", "trap", "docs/../trap/x"])
def test_a_symlink_through_a_symlink_of_the_base_that_leaves_is_refused(tmp_path: Path, target: str) -> None:
    """Its text reads inside; followed through the base's own link (which points outside), it is not (fuzzer find)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    ws = snapshot_workspace(tmp_path / "ws2", {"a.py": "x = 1\n", "docs/keep.txt": "k\n"})
    (ws / "trap").symlink_to(outside)  # the base's own link (committed): it may point anywhere
    subprocess.run(["git", "add", "trap"], cwd=ws, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "trap"], cwd=ws, check=True)
    text = f"diff --git a/l b/l\nnew file mode 120000\n--- /dev/null\n+++ b/l\n@@ -0,0 +1 @@\n+{target}\n\\ No newline at end of file\n"
    with pytest.raises(PatchRejected, match="symlink pointing outside"):
        apply_patch(parse_patch(text), ws)
    assert not (ws / "l").is_symlink()
    inside = "diff --git a/l b/l\nnew file mode 120000\n--- /dev/null\n+++ b/l\n@@ -0,0 +1 @@\n+docs/keep.txt\n\\ No newline at end of file\n"
    apply_patch(parse_patch(inside), ws)
    assert os.readlink(ws / "l") == "docs/keep.txt"


def test_symlinks_are_checked_again_after_applying(ws: Path) -> None:
    # The second line of defence, for a link the policy could not see in the patch text
    # (patch --fuzz, a mode change): every changed path that is a symlink is read back.
    (ws / "escape").symlink_to("../../outside")
    (ws / "docs").mkdir()
    (ws / "docs/inside").symlink_to("../keep.py")
    with pytest.raises(PatchRejected) as info:
        _check_symlinks_after(ws)
    assert info.value.reason == "the patch made a symlink pointing outside the workspace ('../../outside')"
    assert info.value.path == "escape"
    assert not (ws / "escape").is_symlink()  # removed, not left in the workspace
    assert _check_symlinks_after(ws) == [("??", "docs/inside")]


def test_malformed_hunk_names_file_and_hunk(ws: Path) -> None:
    text = "--- a/keep.py\n+++ b/keep.py\n@@ -1,3 +1,3 @@\n-a = 1\n+a = 5\n"
    with pytest.raises(PatchRejected) as info:
        parse_patch(text)
    err = info.value
    assert (err.path, err.hunk) == ("keep.py", 1)
    assert "the hunk has 1 old and 1 new lines where its header promises 3 and 3" in err.describe()
