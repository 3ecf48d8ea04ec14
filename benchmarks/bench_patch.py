"""Parsing a large patch: time and peak memory against its size.

Usage: python benchmarks/bench_patch.py [--sizes 1 2 4 8]

Three shapes of generated patch, each at every size (MB): one new file of short lines
(``+x``: the most lines per byte, the worst case for a parser that keeps an object per
line), many small new files (the most file headers per byte), and one new file of
ordinary 60-character lines. Each measurement runs in a fresh interpreter: the time of
``parse_patch`` and how far the process's peak resident memory rose above its size
before the parse (Linux: the peak is reset through ``/proc/self/clear_refs``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

CHILD = r"""
import gc, json, sys, time
from pytest_proofswe.harness.patch import parse_patch

shape, mb = sys.argv[1], float(sys.argv[2])
size = int(mb * 1_000_000)
if shape == "short-lines":
    n = size // 3
    text = f"diff --git a/big.py b/big.py\nnew file mode 100644\n--- /dev/null\n+++ b/big.py\n@@ -0,0 +1,{n} @@\n" + "+x\n" * n
elif shape == "many-files":
    parts, i, total = [], 0, 0
    while total < size:
        part = f"diff --git a/p/f{i}.py b/p/f{i}.py\nnew file mode 100644\n--- /dev/null\n+++ b/p/f{i}.py\n@@ -0,0 +1 @@\n+x\n"
        parts.append(part)
        total += len(part)
        i += 1
    text = "".join(parts)
else:
    n = size // 61
    line = "+    value = compute_something(index, other)  # generated code\n"
    text = f"diff --git a/big.py b/big.py\nnew file mode 100644\n--- /dev/null\n+++ b/big.py\n@@ -0,0 +1,{n} @@\n" + line * n


def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024


gc.collect()
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # resets the peak (VmHWM) to the current resident size
before = status("VmRSS")
start = time.perf_counter()
parsed = parse_patch(text)
parsed.paths  # what the callers ask for next (this was quadratic in the number of files)
seconds = time.perf_counter() - start
print(json.dumps({"shape": shape, "mb": len(text) / 1e6, "s": seconds, "peak_mb": status("VmHWM") - before,
                  "files": len(parsed.files)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1, 2, 4, 8])
    args = parser.parse_args()
    print("| shape | patch | parse time | peak memory added | files |")
    print("|---|---|---|---|---|")
    for shape in ("short-lines", "many-files", "code-lines"):
        for mb in args.sizes:
            out = subprocess.run(
                [sys.executable, "-c", CHILD, shape, str(mb)],
                capture_output=True,
                text=True,
                check=True,
                cwd=tempfile.gettempdir(),  # not the checkout: PYTHONPATH can point at another version
            ).stdout
            r = json.loads(out)
            print(f"| {shape} | {r['mb']:.1f} MB | {r['s']:.2f} s | {r['peak_mb']:.0f} MB | {r['files']:,} |")


if __name__ == "__main__":
    main()
