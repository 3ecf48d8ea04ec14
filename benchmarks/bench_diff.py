"""What --proofswe-diff adds to a repository's own test run.

Usage: python benchmarks/bench_diff.py [--runs N]

A generated repository (20 modules, 20 test files, 200 tests) on a feature branch that
changes 3 modules; its test run timed with and without --proofswe-diff=main (runs
interleaved), and the grading's own duration from the report.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GIT = ["git", "-c", "user.name=b", "-c", "user.email=b@b", "-c", "init.defaultBranch=main"]


def build(root: Path) -> Path:
    repo = root / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "tests").mkdir()
    (repo / "pkg" / "__init__.py").write_text("")
    for i in range(20):
        body = "\n\n".join(
            f"def f{j}(x):\n    if x > {j}:\n        return x - {j}\n    return x + {j}" for j in range(10)
        )
        (repo / "pkg" / f"m{i}.py").write_text(body + "\n")
        tests = "\n\n".join(f"def test_f{j}():\n    assert m.f{j}({j + 1}) == 1" for j in range(10))
        (repo / "tests" / f"test_m{i}.py").write_text(f"from pkg import m{i} as m\n\n\n{tests}\n")
    subprocess.run([*GIT, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*GIT, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*GIT, "commit", "-qm", "base"], cwd=repo, check=True)
    subprocess.run([*GIT, "checkout", "-qb", "feature"], cwd=repo, check=True)
    for i in range(3):
        path = repo / "pkg" / f"m{i}.py"
        path.write_text(path.read_text().replace("return x + 0", "return abs(x) + 0"))
    subprocess.run([*GIT, "commit", "-qam", "change"], cwd=repo, check=True)
    return repo


def run(repo: Path, extra: list[str]) -> float:
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra],
        cwd=repo,
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = build(Path(tmp))
        report = Path(tmp) / "r.json"
        run(repo, [])
        plain, diff = [], []
        for _ in range(args.runs):
            plain.append(run(repo, []))
            diff.append(run(repo, ["--proofswe-diff=main", f"--proofswe-report={report}"]))
        grading = json.loads(report.read_text())["results"][0]["duration_s"]
    a, b = statistics.median(plain), statistics.median(diff)
    print(f"repository's own test run (200 tests):      median {a * 1000:.0f} ms over {args.runs} runs")
    print(f"the same with --proofswe-diff=main:          median {b * 1000:.0f} ms")
    print(f"difference: {(b - a) * 1000:+.0f} ms; the grading itself (git + taste): {grading * 1000:.0f} ms")


if __name__ == "__main__":
    main()
