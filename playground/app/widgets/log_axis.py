"""A log-scale axis that always labels several ticks: 1-2-5 steps per decade over wide ranges,
every integer mantissa over about a decade, and plain linear 'nice' steps when the range is
narrower than that (the loss often sits between 1.9 and 2.3, where pyqtgraph labels one tick)."""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg

MIN_LABELS = 3
PIXELS_PER_LABEL = 28


def _nice_step(span: float, count: int) -> float:
    """A 1-2-5 step that cuts `span` into about `count` pieces."""
    raw = span / max(1, count)
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * mag >= raw:
            return m * mag
    return 10 * mag


def log_tick_values(lo: float, hi: float, max_ticks: int = 12) -> list[float]:
    """Linear tick positions (not logs) in [lo, hi], lo > 0: the coarsest 1-2-5 family that
    gives at least MIN_LABELS ticks without exceeding max_ticks; linear steps below a decade."""
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo <= 0 or hi <= lo:
        return []
    d0, d1 = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    for i, mantissas in enumerate(((1,), (1, 2, 5), tuple(range(1, 10)))):
        ticks = [m * 10.0 ** d for d in range(d0, d1 + 1) for m in mantissas]
        ticks = [t for t in ticks if lo <= t <= hi]
        if len(ticks) > max_ticks:
            if i == 0:                          # many decades: every k-th decade
                return ticks[:: math.ceil(len(ticks) / max_ticks)]
            break
        if len(ticks) >= MIN_LABELS:
            return ticks
    step = _nice_step(hi - lo, max(MIN_LABELS, min(max_ticks, 5)))
    first = math.ceil(lo / step) * step
    return [round(float(v), 12) for v in np.arange(first, hi + step * 1e-9, step) if v > 0]


class LogLossAxis(pg.AxisItem):
    """An AxisItem that, in log mode, places and labels ticks through log_tick_values."""

    def logTickValues(self, minVal, maxVal, size, stdTicks):
        max_ticks = max(MIN_LABELS, int(size // PIXELS_PER_LABEL)) if size else 12
        ticks = log_tick_values(10.0 ** minVal, 10.0 ** maxVal, max_ticks)
        if len(ticks) < 2:
            return super().logTickValues(minVal, maxVal, size, stdTicks)
        return [(None, [math.log10(t) for t in ticks])]

    def logTickStrings(self, values, scale, spacing):
        lin = [10.0 ** v for v in values]
        for digits in range(1, 7):
            strings = [f"{x:.{digits}g}" for x in lin]
            if len(set(strings)) == len(strings) and all(
                    abs(float(s) - x) <= 1e-6 * abs(x) for s, x in zip(strings, lin)):
                return strings
        return strings
