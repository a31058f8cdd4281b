"""The 1D probability-flow picture: the density of u·x_t along a direction u, at every noise level.

A linear image of a Gaussian is Gaussian, so projecting the noised mixture onto a unit vector u
is exact: each component gives N(alpha·u·mu_k, alpha²·uᵀSigma_k·u + sigma²) (u·eps ~ N(0, 1)).
Drawn over (time, position) it is the classic picture of densities flowing along time.
"""
from __future__ import annotations

import math

import numpy as np

_CHUNK_CELLS = 1 << 22          # (levels × positions × components) float64 cells per chunk


def direction(angle_deg: float) -> np.ndarray:
    """Unit vector at angle_deg from the x axis (0: x, 90: y)."""
    a = math.radians(float(angle_deg))
    return np.array([math.cos(a), math.sin(a)])


def project(x, u) -> np.ndarray:
    """u·x for each row of x (n, 2) -> (n,), or for each frame of (K, n, 2) -> (K, n)."""
    return np.asarray(x, dtype=np.float64) @ np.asarray(u, dtype=np.float64)


def projected_components(mixture, u) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights, means u·mu_k and variances uᵀSigma_k u of the clean mixture's projection."""
    u = np.asarray(u, dtype=np.float64)
    means = mixture.means.numpy() @ u
    var = np.einsum("i,kij,j->k", u, mixture.covs.numpy(), u)
    return mixture.weights.numpy(), means, var


def projected_density(mixture, u, alphas, sigmas, positions) -> np.ndarray:
    """Exact density of u·x_t at each position, one row per level: (len(alphas), len(positions)).

    p(z) = sum_k w_k N(z; alpha·m_k, alpha²·v_k + sigma²); a level with alpha = 1, sigma = 0
    is the clean target's projection."""
    w, m, v = projected_components(mixture, u)
    a = np.asarray(alphas, dtype=np.float64).reshape(-1, 1, 1)
    s = np.asarray(sigmas, dtype=np.float64).reshape(-1, 1, 1)
    z = np.asarray(positions, dtype=np.float64).reshape(1, -1, 1)
    out = np.zeros((a.shape[0], z.shape[1]))
    step = max(1, _CHUNK_CELLS // max(1, out.size))
    for k in range(0, len(w), step):
        var = a**2 * v[None, None, k:k + step] + s**2
        dz = z - a * m[None, None, k:k + step]
        out += (w[k:k + step] * np.exp(-0.5 * dz**2 / var) / np.sqrt(2 * math.pi * var)).sum(-1)
    return out
