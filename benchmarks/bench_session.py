"""Reading a large transcript: time and peak memory.

Usage: python benchmarks/bench_session.py [--mb N]

Builds a Claude Code JSONL transcript of about N MB (default 10) by repeating the lines
of a generated session with fresh ids, then times grade_session on it and measures the
peak of Python memory allocations (tracemalloc) while reading.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import tracemalloc
from pathlib import Path

from pytest_proofswe.session import grade_session


def lines(i: int) -> list[dict[str, object]]:
    msg = f"msg_{i:08d}"
    req = f"req_{i:08d}"
    ts = f"2026-01-01T00:{(i // 60) % 60:02d}:{i % 60:02d}.000Z"
    usage = {"input_tokens": 10, "output_tokens": 20, "cache_read_input_tokens": 300, "cache_creation_input_tokens": 5}
    return [
        {
            "type": "user",
            "uuid": f"u{i}",
            "sessionId": "s",
            "timestamp": ts,
            "message": {"role": "user", "content": f"please fix bug {i} " + "x" * 200},
        },
        {
            "type": "assistant",
            "uuid": f"a{i}",
            "sessionId": "s",
            "requestId": req,
            "timestamp": ts,
            "message": {
                "id": msg,
                "role": "assistant",
                "model": "claude-opus-4-6",
                "usage": usage,
                "content": [{"type": "text", "text": "Looking. " + "y" * 300}],
            },
        },
        {
            "type": "assistant",
            "uuid": f"b{i}",
            "sessionId": "s",
            "requestId": req,
            "timestamp": ts,
            "message": {
                "id": msg,
                "role": "assistant",
                "model": "claude-opus-4-6",
                "usage": usage,
                "content": [
                    {
                        "type": "tool_use",
                        "id": f"t{i}",
                        "name": "Bash",
                        "input": {"command": f"pytest tests/test_{i % 50}.py"},
                    }
                ],
            },
        },
        {
            "type": "user",
            "uuid": f"r{i}",
            "sessionId": "s",
            "timestamp": ts,
            "message": {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": f"t{i}",
                        "content": "1 passed " + "z" * 400,
                        "is_error": False,
                    }
                ],
            },
        },
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "session.jsonl"
        size, i = 0, 0
        with open(path, "w") as fh:
            while size < args.mb * 1024 * 1024:
                for line in lines(i):
                    text = json.dumps(line) + "\n"
                    fh.write(text)
                    size += len(text)
                i += 1
        grade_session(path)  # warm: imports done
        started = time.perf_counter()
        result = grade_session(path)
        elapsed = time.perf_counter() - started
        tracemalloc.start()  # a separate run: tracing slows Python down several times
        grade_session(path)
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"{size / 1024 / 1024:.1f} MB, {i * 4} lines, {i} API calls: {elapsed:.2f} s, "
            f"peak traced memory {peak / 1024 / 1024:.1f} MB; status {result.status}, "
            f"tool_calls {result.metrics['tool_calls']}, tokens {result.metrics['tokens']['total']}"
        )


if __name__ == "__main__":
    main()
