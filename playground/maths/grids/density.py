"""Exact log-density of a Gaussian mixture on a regular grid, fast enough to redraw on every edit.

An axis-aligned component factorises, N(x, y) = N(x; mx, a) N(y; my, d), so its values on an
nx × ny grid are an outer product and the whole sum over K such components is one matrix product,
    p(xs_i, ys_j) = Σ_k w_k gx_k(xs_i) gy_k(ys_j) = (Gxᵀ W Gy)_ij,
about nx·ny·K multiply-adds instead of nx·ny·K Gaussians with their exp and log-sum-exp: a
1000-point sketch on 128² cells takes milliseconds, not a second. Rotated components are summed
directly, and cells where the sum underflows (far from every component) are recomputed with the
mixture's own log-sum-exp, so the result is the exact log p_t everywhere, never -inf by rounding.
"""
from __future__ import annotations

import math

import numpy as np
import torch

TINY = 1e-280            # below this a float64 sum may have lost its terms to underflow
_CHUNK = 2048            # components per matrix product (bounds memory for 20 000-component targets)


def _gauss_1d(grid: np.ndarray, mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """(K, n): N(grid; mean_k, var_k)."""
    return np.exp(-0.5 * (grid[None, :] - mean[:, None]) ** 2 / var[:, None]) / np.sqrt(2 * math.pi * var)[:, None]


MAX_ROTATED = 64           # rotated components summed one grid pass each; beyond this, log_prob's planes


def grid_log_prob(mixture, xs, ys, alpha: float = 1.0, sigma: float = 0.0) -> np.ndarray:
    """log p_t at every (xs[i], ys[j]), shape (len(xs), len(ys)), x along axis 0, float64: the law of
    alpha*x0 + sigma*eps with x0 ~ mixture (alpha = 1, sigma = 0: the mixture itself)."""
    xs, ys = np.asarray(xs, np.float64).reshape(-1), np.asarray(ys, np.float64).reshape(-1)
    alpha, sigma = float(alpha), float(sigma)
    w = mixture.weights.numpy()
    mu = alpha * mixture.means.numpy()
    cov = alpha ** 2 * mixture.covs.numpy() + sigma ** 2 * np.eye(2)[None]
    a, b, d = cov[:, 0, 0], cov[:, 0, 1], cov[:, 1, 1]
    p = np.zeros((len(xs), len(ys)))
    sep = np.flatnonzero(b == 0)
    for i in range(0, len(sep), _CHUNK):
        k = sep[i:i + _CHUNK]
        gx = torch.from_numpy(w[k, None] * _gauss_1d(xs, mu[k, 0], a[k]))
        p += (gx.T @ torch.from_numpy(_gauss_1d(ys, mu[k, 1], d[k]))).numpy()     # torch's BLAS: 30x numpy's here
    rot = np.flatnonzero(b != 0)
    if len(rot) > MAX_ROTATED:      # an imported target of many rotated pieces: the vectorised general path
        gx, gy = np.meshgrid(xs, ys, indexing="ij")
        pts = torch.as_tensor(np.stack([gx.ravel(), gy.ravel()], 1))
        return mixture.log_prob(pts, alpha, sigma).numpy().reshape(len(xs), len(ys))
    if len(rot):
        gx, gy = np.meshgrid(xs, ys, indexing="ij")
        for k in rot:           # few in practice (placed, rotated Gaussians); each is one grid pass
            det = a[k] * d[k] - b[k] ** 2
            dx, dy = gx - mu[k, 0], gy - mu[k, 1]
            q = (d[k] * dx * dx - 2 * b[k] * dx * dy + a[k] * dy * dy) / det
            p += w[k] * np.exp(-0.5 * q) / (2 * math.pi * math.sqrt(det))
    with np.errstate(divide="ignore"):
        out = np.log(p)
    low = p < TINY
    if low.any():               # far from all mass: the mixture's log-sum-exp keeps it finite and exact
        ii, jj = np.nonzero(low)
        pts = torch.as_tensor(np.stack([xs[ii], ys[jj]], 1))
        out[ii, jj] = mixture.log_prob(pts, alpha, sigma).numpy()
    return out
