"""How particles travel during a sampler run: path length and straightness of trajectories.

A run is a sequence of states x_0, ..., x_K (each (N, 2)). Each particle's path length is
L = sum_k |x_{k+1} - x_k|, and its straightness |x_K - x_0| / L is 1 for a straight line and
falls as the path bends: probability-flow ODEs on simple targets move nearly straight, SDEs
wander. Both are measured on the frames as stored (the schedule's frame x = alpha * y).
"""
from __future__ import annotations

import numpy as np


def _stack(frames) -> np.ndarray:
    """(K+1, N, 2) float64 from a list of (N, 2) arrays or one array."""
    x = np.asarray([np.asarray(f, dtype=np.float64) for f in frames]) if isinstance(frames, (list, tuple)) \
        else np.asarray(frames, dtype=np.float64)
    if x.ndim != 3 or x.shape[-1] != 2:
        raise ValueError(f"expected frames of shape (K+1, N, 2), got {x.shape}")
    return x


def path_lengths(frames) -> np.ndarray:
    """Per-particle length sum_k |x_{k+1} - x_k| of the polyline through the frames, (N,)."""
    x = _stack(frames)
    if len(x) < 2:
        return np.zeros(x.shape[1])
    return np.linalg.norm(np.diff(x, axis=0), axis=-1).sum(0)


def straightness(frames) -> np.ndarray:
    """Per-particle |x_K - x_0| / path length, in [0, 1]; a particle that never moved counts as 1."""
    x = _stack(frames)
    length = path_lengths(x)
    chord = np.linalg.norm(x[-1] - x[0], axis=-1) if len(x) else np.zeros(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(length > 0, chord / np.where(length > 0, length, 1.0), 1.0)
    return np.clip(ratio, 0.0, 1.0)


def path_summary(frames) -> dict:
    """Mean path length and mean straightness over the finite particles (NaN when none are)."""
    x = _stack(frames)
    finite = np.isfinite(x).all(axis=(0, 2))
    if not finite.any():
        return {"length": float("nan"), "straightness": float("nan")}
    x = x[:, finite]
    return {"length": float(path_lengths(x).mean()), "straightness": float(straightness(x).mean())}
