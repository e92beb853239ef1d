"""Timing shared by the benchmarks (run as ``python benchmarks/NAME.py``, so this module is
importable by its name)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def median_ms(fn: Callable[[], Any], repeat: int) -> float:
    """Median wall-clock milliseconds of ``repeat`` calls of ``fn``, after one call to warm it
    (caches, the compiled statement)."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)
