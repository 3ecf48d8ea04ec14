"""Static taste grading speed: a patch touching 5 files of about 1,000 lines each.

Usage: python benchmarks/bench_taste.py [--repeat N]

Compares grade_taste() on the patch (all analysers, ruff included) with running the
ruff and radon command lines by hand on the same files, base and head (one ruff
process and one radon process, both given the two folders: the cheapest way by hand).
Also times a pathological file: a 5,000-line literal.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_proofswe.harness.patch import parse_patch  # noqa: E402
from pytest_proofswe.taste import FileText, TasteConfig, TasteInput, grade_taste  # noqa: E402


def module(seed: int, functions: int = 48) -> str:
    rng = random.Random(seed)
    parts = ['"""A generated module."""', "", "import os", "import re", ""]
    for i in range(functions):
        n = rng.randint(2, 5)
        body = [f"def func_{i}(items, limit={i}):", f'    """Function {i}."""', "    total = 0"]
        for j in range(n):
            body += [
                "    for item in items:",
                f"        if item > limit + {j}:",
                f"            total += item * {j + 1}",
                f"        elif item == {j}:",
                "            total -= 1",
            ]
        body += ["    return total", "", ""]
        parts += body
    return "\n".join(parts) + "\n"


def mutate(text: str, seed: int, edits: int) -> str:
    rng = random.Random(seed)
    lines = text.splitlines()
    for _ in range(edits):
        i = rng.randrange(len(lines))
        if lines[i].startswith("            total += item"):
            lines[i] = lines[i] + "\n            if total > 1000:\n                total = 1000"
    lines.insert(3, "import sys")
    return "\n".join(lines) + "\n"


def build(tmp: Path, edits: int = 12) -> tuple[TasteInput, Path]:
    tmp = tmp / f"edits-{edits}"
    repo = tmp / "repo"
    repo.mkdir(parents=True)
    git = ["git", "-c", "user.name=b", "-c", "user.email=b@b"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    base = {f"pkg/mod{i}.py": module(i) for i in range(5)}
    head = {path: mutate(text, i, edits) for i, (path, text) in enumerate(base.items())}
    for path, text in base.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=repo, check=True)
    for path, text in head.items():
        (repo / path).write_text(text)
    diff = subprocess.run([*git, "diff"], cwd=repo, check=True, capture_output=True, text=True).stdout
    parsed = parse_patch(diff)
    files = tuple(FileText(f.path, f.kind, base[f.path], head[f.path], f.hunks) for f in parsed.files)
    by_hand = tmp / "by-hand"
    for side, texts in (("base", base), ("head", head)):
        for path, text in texts.items():
            (by_hand / side / path).parent.mkdir(parents=True, exist_ok=True)
            (by_hand / side / path).write_text(text)
    lines = sum(t.count("\n") for t in head.values())
    print(
        f"patch: {len(files)} files, {lines} lines after the patch, "
        f"{sum(len(f.added()) for f in files)} added / {sum(len(f.removed()) for f in files)} removed lines"
    )
    return TasteInput(files=files), by_hand


def timed(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    bindir = Path(sys.executable).parent
    ruff, radon = shutil.which("ruff", path=str(bindir)) or "ruff", shutil.which("radon", path=str(bindir)) or "radon"
    with tempfile.TemporaryDirectory() as tmp:
        config = TasteConfig()
        heavy, _ = build(Path(tmp), edits=400)  # most functions touched
        heavy_result = grade_taste(heavy, config)
        heavy_time = timed(lambda: grade_taste(heavy, config), args.repeat)
        print(
            f"grade_taste, most functions edited: median {heavy_time * 1000:6.0f} ms  "
            f"(score {heavy_result.score:g}, {len(heavy_result.findings)} findings)"
        )
        data, by_hand = build(Path(tmp))
        result = grade_taste(data, config)
        ours = timed(lambda: grade_taste(data, config), args.repeat)

        def hand() -> None:
            subprocess.run(
                [
                    ruff,
                    "check",
                    "--no-cache",
                    "--exit-zero",
                    "--select",
                    "F,E4,E7,E9,B,SIM,C4,PIE,PERF",
                    "base",
                    "head",
                ],
                cwd=by_hand,
                capture_output=True,
                check=True,
            )
            subprocess.run([radon, "cc", "-s", "base", "head"], cwd=by_hand, capture_output=True, check=True)

        theirs = timed(hand, args.repeat)
        print(
            f"grade_taste (all analysers):        median {ours * 1000:6.0f} ms  "
            f"(score {result.score:g}, {len(result.findings)} findings)"
        )
        print(f"ruff check + radon cc by hand:      median {theirs * 1000:6.0f} ms")

        literal = "DATA = [\n" + "".join(f"    {i},\n" for i in range(5000)) + "]\n"
        diff = "--- a/big.py\n+++ b/big.py\n@@ -1 +1,5003 @@\n x = 1\n" + "".join(
            f"+{line}\n" for line in literal.splitlines()
        )
        parsed = parse_patch(diff)
        big = TasteInput(files=(FileText("big.py", "modify", "x = 1\n", "x = 1\n" + literal, parsed.files[0].hunks),))
        print(
            f"a 5,000-line literal:               median {timed(lambda: grade_taste(big, config), args.repeat) * 1000:6.0f} ms"
        )


if __name__ == "__main__":
    main()
