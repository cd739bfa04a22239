"""Benchmarks (`make bench`): each module here has ``run() -> str``, a Markdown section."""

import time


def best_of(repeats, fn):
    """The shortest of `repeats` wall times of fn() (time.perf_counter), in seconds."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best
