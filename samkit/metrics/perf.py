"""Speed measurement: wall-clock timing that synchronises CUDA, with warm-up and repeats.

Times are in milliseconds. On CUDA, work is synchronised before the clock starts and after the
call returns, so the figure is the GPU time of the call, not its launch time.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass
from typing import Any, Callable

__all__ = ["TimingStats", "synchronize", "time_call"]


@dataclass(frozen=True)
class TimingStats:
    """Summary of repeated timings, in milliseconds."""

    median_ms: float
    p95_ms: float
    mean_ms: float
    repeats: int
    times_ms: tuple[float, ...]


def synchronize(device: Any) -> None:
    """Wait for queued CUDA work on ``device`` (no-op on CPU)."""
    import torch

    dev = torch.device(device)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def time_call(fn: Callable[[], Any], device: Any = "cpu", *, warmup: int = 1,
              repeats: int = 5) -> TimingStats:
    """Run ``fn`` ``warmup`` times untimed, then ``repeats`` timed times; never times the first call."""
    if repeats < 1:
        raise ValueError("repeats must be >= 1")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append((time.perf_counter() - start) * 1e3)
    ordered = sorted(times)
    p95 = ordered[math.ceil(0.95 * len(ordered)) - 1]  # nearest-rank percentile
    return TimingStats(statistics.median(times), p95, statistics.fmean(times), repeats, tuple(times))
