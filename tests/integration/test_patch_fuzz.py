"""Random and mutated diffs: the patch layer never crashes and never writes outside."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_proofswe import git as gitmod
from pytest_proofswe.harness.patch import PatchRejected, apply_patch, parse_patch

SEEDS = [
    "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1,3 +1,3 @@\n x = 1\n-y = 2\n+y = 3\n z = 3\n",
    "diff --git a/new.py b/new.py\nnew file mode 100644\n--- /dev/null\n+++ b/new.py\n@@ -0,0 +1,2 @@\n+a\n+b\n",
    "diff --git a/a.py b/a.py\ndeleted file mode 100644\n--- a/a.py\n+++ /dev/null\n@@ -1,3 +0,0 @@\n-x = 1\n-y = 2\n-z = 3\n",
    "diff --git a/a.py b/b.py\nsimilarity index 100%\nrename from a.py\nrename to b.py\n",
    "diff --git a/l b/l\nnew file mode 120000\n--- /dev/null\n+++ b/l\n@@ -0,0 +1 @@\n+a.py\n\\ No newline at end of file\n",
    "--- a.py\n+++ a.py\n@@ -2 +2 @@\n-y = 2\n+y = 4\n",
]
HOSTILE_PATHS = [
    "../escape.txt",
    "../../escape.txt",
    "/tmp/escape.txt",
    ".git/config",
    "sub/../../escape.txt",
    "link/escape.txt",
    "a.py/../../escape.txt",
    '"..\\/escape.txt"',
    "..",
    "./../escape.txt",
    "sub/.git/hooks/x",
    "escape\x00.txt",
]


@st.composite
def mutated_diffs(draw: st.DrawFn) -> str:
    if draw(st.booleans()) and draw(st.booleans()):
        return draw(st.text(max_size=300))
    lines = draw(st.sampled_from(SEEDS)).splitlines(keepends=True)
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["path", "drop", "dup", "flip", "number", "insert"]))
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        if op == "path":
            hostile = draw(st.sampled_from(HOSTILE_PATHS))
            lines[i] = lines[i].replace("a.py", hostile).replace("new.py", hostile).replace(" l\n", f" {hostile}\n")
        elif op == "drop":
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "flip":
            line = lines[i]
            if line:
                j = draw(st.integers(0, len(line) - 1))
                lines[i] = (
                    line[:j] + draw(st.sampled_from(["+", "-", " ", "@", "\\", "\r", "9", "/", "."])) + line[j + 1 :]
                )
        elif op == "number":
            lines[i] = lines[i].replace("1", str(draw(st.integers(0, 10**6))), 1)
        elif op == "insert":
            lines.insert(i, draw(st.text(max_size=40)) + "\n")
    return "".join(lines)


def _snapshot(root: Path) -> dict[str, str]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            full = Path(dirpath) / name
            rel = str(full.relative_to(root))
            out[rel] = (
                "link:" + os.readlink(full) if full.is_symlink() else hashlib.sha256(full.read_bytes()).hexdigest()
            )
    return out


@pytest.fixture(scope="module")
def arena(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    outer = tmp_path_factory.mktemp("arena")
    (outer / "sentinel.txt").write_text("do not touch\n")
    (outer / "outside").mkdir()
    ws = outer / "ws"
    ws.mkdir()
    (ws / "a.py").write_text("x = 1\ny = 2\nz = 3\n")
    (ws / "sub").mkdir()
    (ws / "sub" / "keep.txt").write_text("k\n")
    (ws / "link").symlink_to(outer / "outside")
    gitmod.init_snapshot(ws)
    return outer, ws


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=mutated_diffs())
def test_no_crash_and_nothing_outside(arena: tuple[Path, Path], text: str) -> None:
    outer, ws = arena
    before = {k: v for k, v in _snapshot(outer).items() if not k.startswith("ws/")}
    try:
        apply_patch(parse_patch(text), ws)
    except PatchRejected as exc:
        assert exc.describe()  # always a readable reason
    after = {k: v for k, v in _snapshot(outer).items() if not k.startswith("ws/")}
    assert after == before, f"the patch wrote outside the workspace: {text!r}"
    assert not Path("/tmp/escape.txt").exists()
    for dirpath, dirs, files in os.walk(ws):
        for name in files + dirs:
            full = Path(dirpath) / name
            if full.is_symlink() and full != ws / "link":  # "link" is the base's own trap
                target = (full.parent / os.readlink(full)).resolve()
                assert target.is_relative_to(ws.resolve()) or ".git" in full.parts, text
    assert (ws / ".git" / "config").read_text().startswith("[core]")
    subprocess.run(["git", "checkout", "-q", "-f", "HEAD", "--", "."], cwd=ws, check=True)
    subprocess.run(["git", "clean", "-qfdx"], cwd=ws, check=True)


def test_a_rejected_symlink_is_not_left_in_the_workspace(arena: tuple[Path, Path]) -> None:
    # Found by the fuzzer above: no "+++" header, so the policy sees no target before applying;
    # the check after applying rejects it, and the link must not stay behind.
    _outer, ws = arena
    text = "diff --git a/l b/l\nnew file mode 120000\n--- /dev/null\n@@ -0,0 +1 @@\n+../escape.txt\n"
    try:
        apply_patch(parse_patch(text), ws)
    except PatchRejected as exc:
        assert exc.describe()
    assert not (ws / "l").is_symlink()
