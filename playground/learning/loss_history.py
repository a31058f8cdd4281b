"""The training-loss record a viewer draws: raw losses, their smoothed curve and the latest level.

Losses arrive in chunks from the trainer; they are buffered and folded in on `flush()`, and only
the new values are smoothed (the EMA carries its state), so a long run costs the same per refresh
as a short one. No Qt: the window draws `values()` and `smoothed()`.
"""
from __future__ import annotations

import numpy as np

LOSS_EMA = 0.98
LAST_WINDOW = 20           # the status line shows the mean of the latest chunk's last 20 finite losses
# The loss plot gets at most this many points: pyqtgraph keeps x, y and log y of every point it is
# given, ~50 bytes a training step for the two curves (46 MB an hour of training); 16k points are
# still ~15 per pixel of a full-screen plot.
PLOT_POINTS = 1 << 14


def ema(y: np.ndarray, decay: float, carry=None) -> tuple[np.ndarray, np.ndarray]:
    """Bias-corrected exponential moving average (NaNs skipped); returns it and the filter state to
    continue from (`carry` = numerator, denominator) when more values arrive.

    Vectorised in blocks (s_j = d^(j+1) (s + (1-d) sum_k v_k / d^(k+1)) within a block) rather
    than scipy.signal.lfilter, whose import alone cost 0.9 s of start-up.
    """
    good = np.isfinite(y)
    out = np.empty(len(y))
    carry = np.zeros(2) if carry is None else np.asarray(carry, dtype=np.float64)
    for a in range(0, len(y), 500):
        v = np.stack([np.where(good[a:a + 500], y[a:a + 500], 0.0), good[a:a + 500]]).astype(np.float64)
        p = decay ** np.arange(1, v.shape[1] + 1)
        run = p * (carry[:, None] + (1 - decay) * np.cumsum(v / p, axis=1))
        with np.errstate(invalid="ignore", divide="ignore"):
            out[a:a + 500] = np.where(run[1] > 0, run[0] / run[1], np.nan)
        carry = run[:, -1]
    return out, carry


def positive(y: np.ndarray) -> np.ndarray:
    """Losses a log-scale plot can show (non-positive and non-finite become NaN gaps)."""
    return np.where(np.isfinite(y) & (y > 0), y, np.nan)


def for_plot(y: np.ndarray, max_points: int = PLOT_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """(step, value) for a log-scale curve of y against steps 1..n: y itself up to max_points, beyond
    that the geometric means of equal blocks of steps (the mean of log y, which is what the log axis
    shows) at each block's middle step; non-positive and NaN values are skipped, an empty block is a
    gap. The raw curve's noise band narrows as blocks average it, as any downsampling does."""
    y = np.asarray(y)
    n = len(y)
    if n <= max_points:
        return np.arange(1, n + 1, dtype=np.float64), y
    k = -(-n // max_points)
    pad = -n % k
    v = np.concatenate([y.astype(np.float64), np.full(pad, np.nan)]).reshape(-1, k)
    good = np.isfinite(v) & (v > 0)
    count = good.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        logs = np.log(np.where(good, v, 1.0))
        mean = np.where(count > 0, np.exp(logs.sum(1) / np.maximum(count, 1)), np.nan)
    first = np.arange(0, n, k, dtype=np.float64) + 1
    last = np.minimum(first + k - 1, n)
    return (first + last) / 2, mean


def _put(buf: np.ndarray, used: int, new: np.ndarray) -> np.ndarray:
    """buf with new written after its first `used` entries, its capacity doubled when full: a long
    run appends in amortised O(chunk), not O(history) as concatenating every refresh did."""
    if used + len(new) > len(buf):
        grown = np.empty(max(2 * len(buf), used + len(new), 1024), np.float32)
        grown[:used] = buf[:used]
        buf = grown
    buf[used:used + len(new)] = new
    return buf


class LossHistory:
    """Float32 throughout: 8 bytes a step for the losses and their smoothed curve."""

    def __init__(self, decay: float = LOSS_EMA):
        self.decay = decay
        self.reset()

    def reset(self) -> None:
        self._pending: list[np.ndarray] = []
        self._y = np.zeros(0, np.float32)
        self._smooth = np.zeros(0, np.float32)
        self._n = 0
        self._carry = np.zeros(2)
        self.last = float("nan")
        self.dirty = True

    def append(self, losses) -> None:
        losses = np.array(losses, dtype=np.float32)     # a copy: never a view pinning the caller's buffer
        self._pending.append(losses)
        self.dirty = True
        finite = losses[np.isfinite(losses)]
        if len(finite):
            self.last = float(finite[-LAST_WINDOW:].mean())

    def flush(self) -> None:
        """Fold the buffered chunks into the record and extend the smoothed curve."""
        if not self._pending:
            return
        new = np.concatenate(self._pending)
        self._pending = []
        smooth, self._carry = ema(positive(new), self.decay, self._carry)
        self._y = _put(self._y, self._n, new)
        self._smooth = _put(self._smooth, self._n, smooth)
        self._n += len(new)

    def all(self) -> np.ndarray:
        """Every loss received so far, buffered ones included (a copy)."""
        return np.concatenate([self._y[:self._n], *self._pending])

    def values(self) -> np.ndarray:
        self.flush()
        return self._y[:self._n]

    def smoothed(self) -> np.ndarray:
        self.flush()
        return self._smooth[:self._n]

    def __len__(self) -> int:
        return self._n + sum(len(c) for c in self._pending)
