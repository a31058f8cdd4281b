"""Target densities. Every kind compiles to a GaussianMixture so that it stays exact.

A Target adds to its mixture the JSON spec it came from (for saving) and a grouping of
components into classes: the faces of a die, the points of a sketch, one class per
component of a plain mixture. Classes are what weight bars and guidance talk about.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from playground.maths.budgets import MIXTURE_CELLS
from playground.maths.mixture import GaussianMixture


@dataclass
class Target:
    mixture: GaussianMixture
    spec: dict
    groups: np.ndarray = None          # component -> class index
    group_names: list[str] = field(default_factory=list)

    def __post_init__(self):
        if self.groups is None:
            self.groups = np.arange(len(self.mixture))
        self.groups = np.asarray(self.groups, dtype=np.int64)
        if not self.group_names:
            self.group_names = [str(i + 1) for i in range(int(self.groups.max()) + 1)]

    @property
    def kind(self) -> str:
        return self.spec.get("kind", "mixture")

    @property
    def n_groups(self) -> int:
        return len(self.group_names)

    def sample(self, n: int, seed: int = 0) -> torch.Tensor:
        return self.mixture.sample(n, seed)

    def log_prob(self, x, alpha: float = 1.0, sigma: float = 0.0) -> torch.Tensor:
        return self.mixture.log_prob(x, alpha, sigma)

    def score(self, x, alpha: float = 1.0, sigma: float = 0.0) -> torch.Tensor:
        """Exact score of the law of alpha*x0 + sigma*eps, x0 ~ target."""
        return self.mixture.score(x, alpha, sigma)

    def denoise(self, x, alpha: float = 1.0, sigma: float = 0.0) -> torch.Tensor:
        """Exact E[x0 | alpha*x0 + sigma*eps = x]."""
        return self.mixture.denoise(x, alpha, sigma)

    def group_weights(self) -> np.ndarray:
        w = self.mixture.weights.numpy()
        return np.bincount(self.groups, weights=w, minlength=self.n_groups)

    def classify(self, x, max_cells: int = MIXTURE_CELLS) -> np.ndarray:
        """Most probable class of each point (posterior over classes under the clean target), in
        chunks of at most max_cells (point, component or class) pairs: memory stays bounded for
        100 000 rolls of a 4 000-component target."""
        if self.n_groups == 1:
            return np.zeros(len(x), np.int64)
        step = max(1, int(max_cells) // max(len(self.mixture), self.n_groups, 1))
        parts = [self.mixture.group_posteriors(x[a:a + step], self.groups, self.n_groups, max_cells=max_cells)
                 .argmax(1).numpy() for a in range(0, len(x), step)]
        return np.concatenate(parts) if parts else np.zeros(0, np.int64)

    def empirical_weights(self, x, max_cells: int = MIXTURE_CELLS) -> np.ndarray:
        """Fraction of points assigned to each class."""
        if len(x) == 0:
            return np.zeros(self.n_groups)
        return np.bincount(self.classify(x, max_cells), minlength=self.n_groups) / len(x)


# ----- compilers from kind-specific parameters to a mixture --------------------------------

def iso(std: float) -> np.ndarray:
    return np.eye(2) * float(std) ** 2


def mixture_from_components(components) -> GaussianMixture:
    return GaussianMixture([c["weight"] for c in components], [c["mean"] for c in components],
                           [c["cov"] for c in components])


def points_mixture(points, bandwidth, weights=None) -> GaussianMixture:
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    w = np.ones(len(pts)) if weights is None else np.asarray(weights, dtype=np.float64)
    return GaussianMixture(w, pts, np.tile(iso(bandwidth), (len(pts), 1, 1)))


def dice_layout(radius: float) -> np.ndarray:
    """Face k (1..6) sits on a hexagon, face 1 at the top, going clockwise like a clock."""
    angles = math.pi / 2 - np.arange(6) * 2 * math.pi / 6
    return radius * np.stack([np.cos(angles), np.sin(angles)], 1)


def dice_mixture(weights, radius, std) -> GaussianMixture:
    return GaussianMixture(weights, dice_layout(radius), np.tile(iso(std), (6, 1, 1)))


def curve_mixture(xy: np.ndarray, width: float) -> GaussianMixture:
    """Equal-arc-length beads of std `width` along a polyline: a thin manifold with exact density."""
    seg = np.linalg.norm(np.diff(xy, axis=0), axis=1)
    s = np.concatenate([[0], np.cumsum(seg)])
    n = max(2, int(math.ceil(s[-1] / (0.8 * width))))
    t = np.linspace(0, s[-1], n)
    beads = np.stack([np.interp(t, s, xy[:, 0]), np.interp(t, s, xy[:, 1])], 1)
    return GaussianMixture(np.ones(n), beads, np.tile(iso(width), (n, 1, 1)))


def spiral_xy(turns, r_start, r_end, phase=0.0, n=2000) -> np.ndarray:
    th = np.linspace(0, 2 * math.pi * turns, n)
    r = r_start + (r_end - r_start) * th / th[-1]
    return np.stack([r * np.cos(th + phase), r * np.sin(th + phase)], 1)


def moons_xy(radius, n=400) -> list[np.ndarray]:
    th = np.linspace(0, math.pi, n)
    upper = np.stack([radius * np.cos(th) - radius / 2, radius * np.sin(th) - radius / 4], 1)
    lower = np.stack([radius / 2 - radius * np.cos(th), -radius * np.sin(th) + radius / 4], 1)
    return [upper, lower]


def concat_mixtures(parts: list[tuple[float, GaussianMixture]]) -> tuple[GaussianMixture, np.ndarray]:
    """Union of mixtures with overall part weights; also returns the part index of each component."""
    w, mu, cov, grp = [], [], [], []
    for i, (pw, m) in enumerate(parts):
        w.append(pw * m.weights.numpy())
        mu.append(m.means.numpy())
        cov.append(m.covs.numpy())
        grp.append(np.full(len(m), i))
    return GaussianMixture(np.concatenate(w), np.concatenate(mu), np.concatenate(cov)), np.concatenate(grp)


def checkerboard_mixture(cells: int, size: float, beads: int) -> GaussianMixture:
    """Dark squares of a cells x cells board, each filled by beads x beads small Gaussians."""
    h = size / cells
    std = h / beads * 0.55
    offs = (np.arange(beads) + 0.5) / beads * h
    means = []
    for i in range(cells):
        for j in range(cells):
            if (i + j) % 2 == 0:
                x0, y0 = -size / 2 + i * h, -size / 2 + j * h
                means += [(x0 + a, y0 + b) for a in offs for b in offs]
    means = np.array(means)
    return GaussianMixture(np.ones(len(means)), means, np.tile(iso(std), (len(means), 1, 1)))


def image_mixture(pixels, xlim, ylim, max_side: int = 64) -> GaussianMixture:
    """A grey image as a density: darker = more mass; one Gaussian per non-empty pixel cell."""
    img = np.asarray(pixels, dtype=np.float64)
    mass = img.max() - img if img.max() > 1.0 else 1.0 - img
    mass = np.clip(mass, 0, None)
    rows, cols = mass.shape
    if mass.sum() <= 0:
        raise ValueError("the image has no dark pixels: it holds no mass")
    dx = (xlim[1] - xlim[0]) / cols
    dy = (ylim[1] - ylim[0]) / rows
    ii, jj = np.nonzero(mass > mass.max() * 1e-3)
    xs = xlim[0] + (jj + 0.5) * dx
    ys = ylim[1] - (ii + 0.5) * dy           # row 0 is the top of the picture
    std = 0.5 * max(dx, dy)
    return GaussianMixture(mass[ii, jj], np.stack([xs, ys], 1), np.tile(iso(std), (len(xs), 1, 1)))
