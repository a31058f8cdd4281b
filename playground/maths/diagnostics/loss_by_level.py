"""Loss by noise level: how far a denoiser is from the best any denoiser can do, level by level.

At level s (the scale-free frame y = x0 + s*eps) a denoiser D makes the error mse(s) = E||D(y, s) - x0||^2.
None beats the exact one, D*(y) = E[x0 | y], whose error (the floor) is E tr Cov[x0 | y], known in
closed form given y (mixture.posterior_moments). And for any D,
    mse(s) = floor(s) + E||D(y, s) - D*(y)||^2,
the cross term vanishing because D* is the conditional mean. So both rows are estimated on the same
draws y (common random numbers) with x0 integrated out given y (Rao-Blackwell): a lower variance than
averaging ||D - x0||^2 itself, the exact source's row equals its floor to the last digit, and the gap
between a model and its floor is never negative.

A LevelProbe draws the y and computes D* and the floor once per target; scoring a source is then one
denoiser call per level, cheap enough to repeat while training (off the GUI thread, with a stop hook).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from playground.maths.progress import Cancelled
from playground.maths.schedules import SIGMA_MAX, SIGMA_MIN

DEFAULT_LEVELS = 20
DEFAULT_N = 20_000        # relative Monte Carlo error of each level's mse ~ 1/sqrt(n) < 1%


def level_grid(k: int = DEFAULT_LEVELS, lo: float = SIGMA_MIN, hi: float = SIGMA_MAX) -> np.ndarray:
    """k levels log-spaced from lo up to hi (the default schedule's range), float64."""
    if int(k) < 2 or not (0 < lo < hi):
        raise ValueError("a level grid needs at least 2 levels and 0 < lo < hi")
    return np.geomspace(float(lo), float(hi), int(k))


@dataclass
class LossByLevel:
    """mse per level of a source (None until one is scored) and of the exact denoiser (the floor)."""
    levels: np.ndarray
    floor_mse: np.ndarray
    model_mse: np.ndarray | None = None

    @property
    def excess(self) -> np.ndarray | None:
        """model - floor per level: E||D - D*||^2, the part of the error training can still remove."""
        return None if self.model_mse is None else self.model_mse - self.floor_mse

    def to_json(self) -> dict:
        """{"levels", "model_mse", "floor_mse"} as plain floats; a non-finite value (a diverged model) is None."""
        clean = lambda a: None if a is None else [float(v) if np.isfinite(v) else None for v in a]
        return {"levels": clean(self.levels), "model_mse": clean(self.model_mse), "floor_mse": clean(self.floor_mse)}


def _check(stop: threading.Event | None, progress, fraction: float) -> None:
    if (stop is not None and stop.is_set()) or (progress is not None and progress(fraction) is False):
        raise Cancelled()


class LevelProbe:
    """Fixed draws y = x0 + s*eps at every level with the exact denoiser's answer and error there.

    target: a Target (conditional_target(...) for one class); x0 and eps are drawn once (seed) and
    shared by all levels. stop (an Event) or progress(fraction) returning False raise Cancelled.
    """

    def __init__(self, target, levels=None, n: int = DEFAULT_N, seed: int = 0,
                 stop: threading.Event | None = None, progress: Callable[[float], object] | None = None):
        self.levels = level_grid() if levels is None else np.asarray(levels, dtype=np.float64).reshape(-1)
        if len(self.levels) == 0 or not np.all(np.isfinite(self.levels)) or np.any(self.levels < 0):
            raise ValueError("levels must be finite numbers >= 0")
        if int(n) < 1:
            raise ValueError("need at least one sample per level")
        self.n = int(n)
        x0 = target.sample(self.n, seed=seed).to(torch.float64)
        eps = torch.randn(self.n, 2, generator=torch.Generator().manual_seed(int(seed) + 1), dtype=torch.float64)
        self.y, self.best = [], []
        floor = np.empty(len(self.levels))
        for i, s in enumerate(self.levels):
            _check(stop, progress, i / len(self.levels))
            y = (x0 + float(s) * eps).float()         # what a source is asked; D* and the floor at the same points
            best, spread = target.mixture.posterior_moments(y, 1.0, float(s))
            self.y.append(y)
            self.best.append(best)
            floor[i] = float(spread.mean())
        self.floor = floor

    def evaluate(self, source, stop: threading.Event | None = None,
                 progress: Callable[[float], object] | None = None) -> LossByLevel:
        """mse per level of `source` (any Source: a model, exact, guided) next to the floor."""
        mse = np.empty(len(self.levels))
        with torch.no_grad():
            for i, s in enumerate(self.levels):
                _check(stop, progress, i / len(self.levels))
                d = source.denoise(self.y[i].to(source.device), float(s)).to("cpu", torch.float64)
                mse[i] = self.floor[i] + float(((d - self.best[i]) ** 2).sum(1).mean())
        if progress is not None:
            progress(1.0)
        return LossByLevel(self.levels.copy(), self.floor.copy(), mse)

    def floor_only(self) -> LossByLevel:
        return LossByLevel(self.levels.copy(), self.floor.copy())


def loss_by_level(source, target, levels=None, n: int = DEFAULT_N, seed: int = 0,
                  stop: threading.Event | None = None, progress: Callable[[float], object] | None = None) -> LossByLevel:
    """One-off: build a LevelProbe of target and score source on it (to repeat, keep the probe)."""
    half = None if progress is None else (lambda f: progress(0.5 * f))
    probe = LevelProbe(target, levels, n, seed, stop=stop, progress=half)
    rest = None if progress is None else (lambda f: progress(0.5 + 0.5 * f))
    return probe.evaluate(source, stop=stop, progress=rest)


def weighted_mean(levels, values, weights) -> float:
    """Trapezoid integral over log(level) of weights * values: the loss a trainer whose level
    density times its per-level weight is `weights` (per unit log level) sees, over the grid's range."""
    x = np.log(np.asarray(levels, dtype=np.float64))
    f = np.asarray(weights, dtype=np.float64) * np.asarray(values, dtype=np.float64)
    return float(np.sum(0.5 * (f[1:] + f[:-1]) * np.diff(x)))
