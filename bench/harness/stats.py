"""Figures from latencies and rounds. No clock here: callers measure, this only counts."""
from __future__ import annotations

import math
import statistics
from typing import Iterable, Sequence


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100): a value that was really measured, so a p99
    of few requests is the slowest one rather than an interpolation past it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(latencies: Sequence[float], wall_seconds: float) -> dict:
    """Requests, requests per second over the wall time, p50 and p99 in milliseconds."""
    count = len(latencies)
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    return {"requests": count, "seconds": round(wall_seconds, 4),
            "rps": round(count / wall_seconds, 2) if wall_seconds > 0 else None,
            "p50_ms": None if p50 is None else round(p50 * 1000, 2),
            "p99_ms": None if p99 is None else round(p99 * 1000, 2)}


def median_ratio(numerators: Iterable[float | None], denominators: Iterable[float | None]) -> float | None:
    """The median of per-round ratios: each round's endpoint against the baseline measured
    next to it, so load that comes and goes on a shared machine cancels within a round."""
    ratios = [n / d for n, d in zip(numerators, denominators) if n is not None and d]
    return round(statistics.median(ratios), 4) if ratios else None


def spread(ratios: Sequence[float]) -> float | None:
    """How far apart the per-round ratios are: (max - min) / median, as a fraction."""
    ratios = [r for r in ratios if r is not None]
    if len(ratios) < 2:
        return None
    middle = statistics.median(ratios)
    return round((max(ratios) - min(ratios)) / middle, 4) if middle else None


def change(current: float | None, previous: float | None) -> float | None:
    """Signed change from the previous run, as a fraction (0.05 = 5 % higher)."""
    if current is None or not previous:
        return None
    return round(current / previous - 1, 4)
