"""Large patches: parsing costs about the patch's size in memory, and its answers do not change."""

from __future__ import annotations

import tracemalloc

from pytest_proofswe.harness.patch import HunkLine, parse_patch


def _short_lines(n: int) -> str:
    return f"diff --git a/big.py b/big.py\nnew file mode 100644\n--- /dev/null\n+++ b/big.py\n@@ -0,0 +1,{n} @@\n" + (
        "+x\n" * n
    )


def test_parsing_a_patch_of_short_lines_costs_about_its_size_in_memory() -> None:
    text = _short_lines(300_000)  # 0.9 MB; one object per line cost over 100 MB
    tracemalloc.start()
    try:
        parsed = parse_patch(text)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5 * len(text), f"peak {peak / 1e6:.0f} MB for a {len(text) / 1e6:.1f} MB patch"
    (change,) = parsed.files
    assert (change.kind, change.added, change.removed) == ("add", 300_000, 0)
    lines = change.hunks[0].lines
    assert len(lines) == 300_000 and lines[-1] == HunkLine("+", None, 300_000, "x")


def test_hunk_lines_are_numbered_as_before() -> None:
    text = (
        "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -3,4 +3,4 @@ def f():\n"
        " a\n-b\n+B\r\n\n c\n\\ No newline at end of file\n"
        "@@ -10 +10,2 @@\n x\n+y\f z\n"
    )
    (change,) = parse_patch(text).files
    first, second = change.hunks
    assert first.header == "@@ -3,4 +3,4 @@" and first.lines == (
        HunkLine(" ", 3, 3, "a"),
        HunkLine("-", 4, None, "b"),
        HunkLine("+", None, 4, "B"),
        HunkLine(" ", 5, 5, ""),
        HunkLine(" ", 6, 6, "c"),
    )
    assert second.lines == (HunkLine(" ", 10, 10, "x"), HunkLine("+", None, 11, "y\f z"))
    assert (change.added, change.removed) == (2, 1)


def test_paths_of_many_files_keep_their_order() -> None:
    text = "".join(
        f"diff --git a/f{i}.py b/f{i}.py\nnew file mode 100644\n--- /dev/null\n+++ b/f{i}.py\n@@ -0,0 +1 @@\n+x\n"
        for i in (3, 1, 2, 1)
    )
    assert parse_patch(text).paths == ("f3.py", "f1.py", "f2.py")
