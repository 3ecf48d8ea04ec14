"""The leaderboard at the end of a task run: per-agent intervals and every pair's comparison.

Usage: python benchmarks/bench_leaderboard.py [AGENTS TASKS TRIALS ...]

Generates a run's results (each agent resolves each task with its own rate, one taste score
per trial) and prints the CPU seconds of ``pytest_proofswe.compare.aggregate`` over them,
the work done at the end of every task run (cached re-runs included). With no arguments:
40 agents on 1 task, 10 on 300, 5 on 300 with 3 trials, 10 on 2,294 (SWE-bench's size).
Time it whole against another checkout with PYTHONPATH pointing at that checkout.
"""

from __future__ import annotations

import random
import sys
import time
from typing import Any

from pytest_proofswe.compare import aggregate

DEFAULT = [(40, 1, 1), (10, 300, 1), (5, 300, 3), (10, 2294, 1)]


def results(agents: int, tasks: int, trials: int, seed: int = 1) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for a in range(agents):
        rate = 0.3 + 0.4 * a / max(agents - 1, 1)
        for t in range(tasks):
            for k in range(1, trials + 1):
                resolved = rng.random() < rate
                out.append(
                    {
                        "task": f"task-{t}",
                        "submission": f"agent{a}@{k}" if trials > 1 else f"agent{a}",
                        "behaviour": {"status": "resolved" if resolved else "unresolved"},
                        "taste": {"score": round(rng.uniform(40, 100), 1)},
                    }
                )
    return out


def main(argv: list[str]) -> None:
    numbers = [int(a) for a in argv]
    if len(numbers) % 3:
        raise SystemExit("give AGENTS TASKS TRIALS, three numbers a configuration")
    configs = [tuple(numbers[i : i + 3]) for i in range(0, len(numbers), 3)] or DEFAULT
    for agents, tasks, trials in configs:
        data = results(agents, tasks, trials)
        started = time.process_time()
        board = aggregate(data)
        spent = time.process_time() - started
        print(
            f"{agents} agents x {tasks} tasks x {trials} trials: {spent:.2f} s CPU ({len(board.comparisons)} pairs)",
            flush=True,
        )


if __name__ == "__main__":
    main(sys.argv[1:])
