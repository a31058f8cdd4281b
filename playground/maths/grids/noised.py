"""p_t on a grid in the frame's own coordinates: the backdrop that follows a run's frames.

At a frame with (alpha, sigma) the particles are draws of x_t = alpha*x0 + sigma*eps, so the
picture behind them is log p_t(x) of the noised mixture, exact and closed form. The learned
p_t is the density the model's probability-flow ODE defines at that level,
    log p_t(x) = log p_s(x/alpha) - 2 log alpha,   s = sigma/alpha,
from an adaptive solve per grid point (likelihood.log_density starting at s): about a second on
a coarse grid, so it is computed off the GUI thread, only when asked, and cached like the exact one.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from playground.maths.budgets import PT_GRID_BYTES, ByteLRU
from playground.maths.grids.density import grid_log_prob
from playground.maths.likelihood import S_END, S_START, grid_points, log_density, prior_centre

EXACT_RES = 96
LEARNED_RES = 24


def view_key(view: dict) -> tuple:
    return tuple(map(float, view["xlim"])) + tuple(map(float, view["ylim"]))


def grid_axes(view: dict, res: int) -> tuple[np.ndarray, np.ndarray]:
    """The x and y cell centres of grid_points(view, res)."""
    (x0, x1), (y0, y1) = view["xlim"], view["ylim"]
    return x0 + (np.arange(res) + 0.5) * (x1 - x0) / res, y0 + (np.arange(res) + 0.5) * (y1 - y0) / res


def exact_pt_grid(target, alpha: float, sigma: float, view: dict, res: int = EXACT_RES) -> np.ndarray:
    """log p_t on grid_points(view, res), (res, res) with x along axis 0 (exact noised mixture)."""
    return grid_log_prob(target.mixture, *grid_axes(view, res), float(alpha), float(sigma))


def learned_pt_grid(source, alpha: float, sigma: float, view: dict, res: int = LEARNED_RES,
                    stop=None, rtol: float = 1e-4) -> np.ndarray:
    """log p_t of the source's PF-ODE density on grid_points(view, res), (res, res).

    stop() returning True gives up inside the solve (compare.Cancelled is raised): the caller's
    time budget. sigma = 0 gives the ODE's p_0 (the solve starts at S_START)."""
    alpha, sigma = float(alpha), float(sigma)
    pts = grid_points(view, res) / alpha
    s = sigma / alpha
    if s >= S_END:      # the ODE's own starting law N(m, S_END² I)
        lp = -0.5 * ((pts - prior_centre(source))**2).sum(1) / S_END**2 - 2 * math.log(S_END) - math.log(2 * math.pi)
    else:
        dtype = torch.float64 if getattr(source, "name", "") == "exact" else torch.float32
        lp = log_density(source, torch.as_tensor(pts, dtype=dtype), batch=res * res, rtol=rtol, atol=rtol,
                         s_start=max(s, S_START), stop=stop)
    return (lp - 2 * math.log(alpha)).reshape(res, res)


def grid_image(log_grid: np.ndarray) -> np.ndarray:
    """A log-density grid as an image in [0, 1]: p / max p (-inf and NaN cells are 0)."""
    lp = np.where(np.isfinite(log_grid), log_grid, -np.inf)
    top = lp.max() if lp.size else -np.inf
    if not np.isfinite(top):
        return np.zeros(lp.shape, np.float32)
    return np.exp(lp - top).astype(np.float32)


class PtGridCache:
    """Least-recently-used log p_t grids keyed by (what, version, alpha, sigma, view, res), at most
    max_bytes of them (budgets.PT_GRID_BYTES).

    `what` is the target (exact) or the score source (learned); the cache holds a reference to
    it, so its id cannot be reused by a new object while the entry lives. Bump `version` when a
    target is edited in place."""

    def __init__(self, max_bytes: int = PT_GRID_BYTES):
        self._grids = ByteLRU(max_bytes)

    @property
    def nbytes(self) -> int:
        return self._grids.nbytes

    @staticmethod
    def key(kind: str, what, alpha, sigma, view, res, version=0) -> tuple:
        return (kind, id(what), version, float(alpha), float(sigma), view_key(view), int(res))

    def get(self, key: tuple, what):
        hit = self._grids.get(key)
        return None if hit is None or hit[0] is not what else hit[1]

    def put(self, key: tuple, what, grid: np.ndarray) -> None:
        self._grids.put(key, (what, grid), np.asarray(grid).nbytes)

    def __len__(self) -> int:
        return len(self._grids)

    def exact(self, target, alpha, sigma, view, res: int = EXACT_RES, version=0) -> np.ndarray:
        """The exact grid, computed on a miss (tens of ms), else from the cache."""
        key = self.key("exact", target, alpha, sigma, view, res, version)
        grid = self.get(key, target)
        if grid is None:
            grid = exact_pt_grid(target, alpha, sigma, view, res)
            self.put(key, target, grid)
        return grid

    def learned(self, source, alpha, sigma, view, res: int = LEARNED_RES, version=0):
        """The learned grid if it has been computed (store it with store_learned), else None:
        the caller shows "absent" and may start learned_pt_grid off the GUI thread."""
        return self.get(self.key("learned", source, alpha, sigma, view, res, version), source)

    def store_learned(self, source, alpha, sigma, view, grid, res: int = LEARNED_RES, version=0) -> None:
        self.put(self.key("learned", source, alpha, sigma, view, res, version), source, grid)
