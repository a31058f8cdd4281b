"""Mode commitment: when does a particle choose its class (dice face, mixture component, arm)?

The exact class posterior of a noised state is a sum of the noised mixture's responsibilities,
p(c | x_t) = sum_{k in c} r_k(x_t), r_k ∝ w_k N(x_t; alpha·mu_k, alpha²·Sigma_k + sigma² I).
At high noise it is the prior weights for everyone; at the end it is one-hot. The level at which
the largest posterior passes a threshold is where the particle has committed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

COMMITTED = 0.9


def class_posterior(target, x, alpha: float, sigma: float) -> np.ndarray:
    """p(c | x_t = x) for each row of x: (n, n_groups), rows sum to 1."""
    x = torch.as_tensor(np.asarray(x, dtype=np.float64))
    return target.mixture.group_posteriors(x, target.groups, target.n_groups, alpha, sigma).numpy()


@dataclass
class Commitment:
    """Per frame of a run: its noise level sigma/alpha, the mean posterior of each class over the
    particles, and the fraction of particles whose largest posterior exceeds `threshold`."""
    levels: np.ndarray            # (F,)
    mean_posterior: np.ndarray    # (F, n_groups)
    committed: np.ndarray         # (F,)
    threshold: float


def commitment(target, states, alphas, sigmas, threshold: float = COMMITTED,
               max_particles: int | None = 2000) -> Commitment:
    """Commitment curves of a run, frame by frame (states: F arrays (n, 2) in the schedule's frame).

    Particles are i.i.d., so the first max_particles of each frame estimate the same curves at a
    bounded cost (frames × particles × components); None keeps them all."""
    levels, means, committed = [], [], []
    for x, a, s in zip(states, alphas, sigmas):
        x = np.asarray(x, dtype=np.float64)
        if max_particles is not None:
            x = x[:max_particles]
        x = x[np.isfinite(x).all(1)]
        a, s = float(a), float(s)
        levels.append(s / a if a > 0 else np.inf)
        if len(x) == 0:
            means.append(np.full(target.n_groups, np.nan))
            committed.append(np.nan)
            continue
        post = class_posterior(target, x, a, s)
        means.append(post.mean(0))
        committed.append(float((post.max(1) > threshold).mean()))
    return Commitment(np.asarray(levels), np.asarray(means).reshape(-1, target.n_groups),
                      np.asarray(committed), float(threshold))
