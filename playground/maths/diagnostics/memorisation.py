"""Memorisation: the exact denoiser of a finite training set, and how often samples copy it.

A denoiser trained on N fixed points x_i minimises its loss with the exact denoiser of their
empirical law (N Diracs): E[x0 | y] = sum_i softmax_i(-||y - x_i||^2 / (2 s^2)) x_i. Its
probability-flow ODE ends on the training points, so a perfect fit reproduces the training set, and
a model makes new samples only because it does not fit that well. A sample is a copy when its
nearest training point is closer than COPY_FACTOR x the training set's median nearest-neighbour
spacing; fresh exact samples give the rate chance alone produces.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import torch

from playground.maths.budgets import WORKING_CELLS
from playground.maths.sources import Source

COPY_FACTOR = 0.1
SAMPLER, STEPS = "ode-heun", 50       # how the samples whose copies are counted are made
FRESH_SEED_OFFSET = 50_021           # fresh exact samples: far from the training set's own seed


class EmpiricalSource(Source):
    """The exact denoiser of the empirical law of `points` ((N, 2)); at level 0 the nearest point.

    The softmax runs on squared distances less their minimum, so tiny levels never divide by zero
    or overflow: the nearest point keeps its weight and the far ones fall to exactly 0."""
    name = "empirical"

    def __init__(self, points):
        super().__init__()
        p = torch.as_tensor(np.asarray(points, dtype=np.float64)).reshape(-1, 2)
        if len(p) == 0 or not bool(torch.isfinite(p).all()):
            raise ValueError("the empirical denoiser needs at least one finite training point")
        self.points = p
        self._neg_sq = -(p * p).sum(1)

    def _denoise(self, y, level):
        y64 = torch.as_tensor(y).to(torch.float64)
        var = float(level) ** 2
        step = max(1, WORKING_CELLS // len(self.points))     # (points x training points) per chunk
        out = []
        for i in range(0, len(y64), step):
            # -||y - x_i||^2 = 2 y.x_i - ||x_i||^2 - ||y||^2; the last term is the same for every i
            closeness = torch.addmm(self._neg_sq, y64[i:i + step], self.points.T, alpha=2.0)    # (m, N)
            if not var > 1e-300:
                out.append(self.points[closeness.argmax(1)])
                continue
            w = torch.softmax((closeness - closeness.max(1, keepdim=True).values) / (2 * var), dim=1)
            out.append(w @ self.points)
        return (torch.cat(out) if out else y64.new_zeros((0, 2))).to(y.dtype)


def _points(x) -> np.ndarray:
    x = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else x
    return np.asarray(x, dtype=np.float64).reshape(-1, 2)


def nearest_spacing(train) -> float:
    """Median distance from each training point to its nearest other training point."""
    from scipy.spatial import cKDTree
    train = _points(train)
    if len(train) < 2 or not np.all(np.isfinite(train)):
        raise ValueError("the copy rate needs at least 2 finite training points")
    d, _ = cKDTree(train).query(train, k=2)
    return float(np.median(d[:, 1]))


def copy_rate(samples, train, factor: float = COPY_FACTOR) -> float:
    """Fraction of samples whose nearest training point is closer than factor x nearest_spacing(train)
    (a non-finite sample is no copy; no samples: nan)."""
    from scipy.spatial import cKDTree
    samples, train = _points(samples), _points(train)
    if len(samples) == 0:
        return float("nan")
    threshold = factor * nearest_spacing(train)
    ok = np.all(np.isfinite(samples), axis=1)
    d, _ = cKDTree(train).query(samples[ok], k=1)
    return float(np.count_nonzero(d < threshold) / len(samples))


@dataclass
class Memorisation:
    """One training-set size: the set, the samples and their copy rates (model ones None without a model)."""
    n_train: int
    dataset: np.ndarray
    samples_empirical: np.ndarray
    copy_rate_empirical_exact: float
    copy_rate_fresh: float
    samples_model: np.ndarray | None = None
    copy_rate_model: float | None = None

    def to_json(self) -> dict:
        return {"n_train": self.n_train, "copy_rate_model": self.copy_rate_model,
                "copy_rate_empirical_exact": self.copy_rate_empirical_exact, "copy_rate_fresh": self.copy_rate_fresh}


def memorisation(target, dataset, n: int = 2000, seed: int = 0, source: Source | None = None,
                 stop: threading.Event | None = None) -> Memorisation:
    """Copy rates of n samples (ode-heun, 50 steps, noise from `seed`) of the empirical-exact denoiser of
    `dataset` and, when given, of `source`, and of n fresh exact samples of target. stop: Cancelled."""
    from playground.maths.samplers.record import final_sample
    dataset = _points(dataset)
    nearest_spacing(dataset)           # refuses a set too small to define a copy, before any sampling
    emp = final_sample(SAMPLER, EmpiricalSource(dataset), n, seed, steps=STEPS, stop=stop).numpy()
    fresh = target.sample(n, seed=seed + FRESH_SEED_OFFSET)
    result = Memorisation(len(dataset), dataset.astype(np.float32), emp, copy_rate(emp, dataset),
                          copy_rate(fresh, dataset))
    if source is not None:
        result.samples_model = final_sample(SAMPLER, source, n, seed, steps=STEPS, stop=stop).numpy()
        result.copy_rate_model = copy_rate(result.samples_model, dataset)
    return result
