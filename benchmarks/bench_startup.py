"""The cost of having the plugin installed, on a plain pytest run without --proofswe.

Usage: python benchmarks/bench_startup.py [--runs N]

Runs a one-test session N times with the plugin active and N times with
``-p no:proofswe``, interleaved, and prints the medians and what the plugin imported.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFTEST = """
import sys
def pytest_sessionfinish(session):
    ours = sorted(m for m in sys.modules if m.startswith("pytest_proofswe"))
    heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("litellm", "libcst", "radon", "unidiff"))
    open("imported.txt", "w").write(f"{ours} heavy={heavy}")
"""


def run(cwd: Path, extra: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra],
        cwd=cwd,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        (cwd / "test_plain.py").write_text("def test_plain():\n    assert True\n")
        (cwd / "conftest.py").write_text(CONFTEST)
        on, off = [], []
        run(cwd, [])  # warm the file system cache
        for _ in range(args.runs):
            on.append(run(cwd, []))
            off.append(run(cwd, ["-p", "no:proofswe"]))
        run(cwd, [])
        imported = (cwd / "imported.txt").read_text()
    m_on, m_off = statistics.median(on), statistics.median(off)
    print(f"plain pytest run, plugin installed:  median {m_on * 1000:.0f} ms over {args.runs} runs")
    print(f"plain pytest run, -p no:proofswe:    median {m_off * 1000:.0f} ms")
    print(f"difference: {(m_on - m_off) * 1000:+.0f} ms ({(m_on - m_off) / m_off:+.1%})")
    print(f"imported without --proofswe: {imported}")


if __name__ == "__main__":
    main()
