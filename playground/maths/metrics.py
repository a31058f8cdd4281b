"""Distances between sample sets, judged against the exact target.

sliced W2: average over random directions of the 1D W2 between projections (sorted
matching); energy distance: 2E|X-Y| - E|X-X'| - E|Y-Y'|. Both are noisy at finite N, so
every figure comes with the two-sample noise floor: the same distance between two
independent exact sample sets of the same size.
"""
from __future__ import annotations

import numpy as np
import torch

from playground.maths.budgets import WORKING_CELLS

N_DIRECTIONS = 256


def _directions(n: int, seed: int) -> np.ndarray:
    ang = np.random.default_rng(seed).uniform(0, np.pi, n)
    return np.stack([np.cos(ang), np.sin(ang)], 1)


def _np(x) -> np.ndarray:
    return x.detach().double().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x, dtype=np.float64)


def sliced_w2(x, y, n_directions: int = N_DIRECTIONS, seed: int = 0, trim: float = 0.0) -> float:
    """Sliced 2-Wasserstein distance; unequal sizes are compared through matched quantiles.

    At N of a few thousand the plain statistic is dominated by the few most extreme points of
    each projection (it varies by a factor of 2 between seeds); trim > 0 drops that fraction of
    quantiles at each end, which makes comparisons of bulk shape far more repeatable.
    """
    x, y = _np(x), _np(y)
    if len(x) == 0 or len(y) == 0:
        return float("nan")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        return float("inf")
    d = _directions(n_directions, seed)
    m = max(len(x), len(y))
    q = (np.arange(m) + 0.5) / m
    total, count, per = 0.0, 0, max(1, WORKING_CELLS // m)
    # Directions in groups of WORKING_CELLS / m: 256 projections of 50k points were ~400 MB of float64
    # planes at once (the Quality sweep's largest size); up to ~4000 points it is one group.
    for a in range(0, len(d), per):
        group = d[a:a + per]
        px, py = np.sort(x @ group.T, axis=0), np.sort(y @ group.T, axis=0)
        if len(px) != len(py):      # matched quantiles of the sorted projections: the inverted CDF
            px, py = px[_inverted_cdf(q, len(px))], py[_inverted_cdf(q, len(py))]
        sq = (px - py) ** 2
        if trim > 0:
            k = int(len(sq) * trim)
            sq = sq[k:len(sq) - k] if k else sq
        total, count = total + float(sq.sum()), count + sq.size
    return float(np.sqrt(total / count)) if count else float("nan")


def _inverted_cdf(q: np.ndarray, n: int) -> np.ndarray:
    """Rows of n sorted values at probabilities q, as np.quantile(method="inverted_cdf") picks them:
    the smallest value whose empirical CDF reaches q. np.quantile along axis 0 took minutes at 50k."""
    return np.clip(np.ceil(q * n).astype(np.int64) - 1, 0, n - 1)


def energy_distance(x, y, max_points: int = 2000, seed: int = 0) -> float:
    """Energy distance (sqrt of the statistic), on at most max_points of each set."""
    rng = np.random.default_rng(seed)
    x, y = _np(x), _np(y)
    if len(x) == 0 or len(y) == 0:
        return float("nan")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        return float("inf")
    x = x[rng.choice(len(x), max_points, replace=False)] if len(x) > max_points else x
    y = y[rng.choice(len(y), max_points, replace=False)] if len(y) > max_points else y
    stat = 2 * _mean_distance(x, y) - _mean_distance(x, x) - _mean_distance(y, y)
    return float(np.sqrt(max(stat, 0.0)))


def _mean_distance(a, b) -> float:
    """Mean Euclidean distance over all pairs (a_i, b_j), float64, WORKING_CELLS pairs at a time:
    torch's exact cdist is ten times numpy's broadcast and holds no (n, m, 2) array."""
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    rows = max(1, WORKING_CELLS // max(1, len(b)))
    total = sum(float(torch.cdist(a[i:i + rows], b, compute_mode="donot_use_mm_for_euclid_dist").sum())
                for i in range(0, len(a), rows))
    return total / (len(a) * len(b))


def noise_floor(target, n: int, seed: int = 0, metric=sliced_w2) -> float:
    """The metric between two independent exact sample sets of size n."""
    return metric(target.sample(n, seed=seed + 10_001), target.sample(n, seed=seed + 20_002))


FLOOR_DRAWS = 10


def noise_floor_band(target, n: int, seed: int = 0, draws: int = FLOOR_DRAWS, metric=sliced_w2) -> tuple[float, float]:
    """(median, 90th percentile) of the metric between two independent exact sample sets of size n, over
    `draws` pairs. One pair is a single noisy draw; a sampler whose distance to fresh exact samples stays
    below the 90th percentile cannot be told apart from exact sampling at this n."""
    values = [metric(target.sample(n, seed=seed + 10_001 + i), target.sample(n, seed=seed + 20_002 + i))
              for i in range(draws)]
    return float(np.median(values)), float(np.percentile(values, 90))


def off_support_fraction(target, x, threshold_nats: float = 6.0) -> float:
    """Fraction of points whose density is below the target's typical density by threshold_nats."""
    x = torch.as_tensor(_np(x))
    if len(x) == 0:
        return float("nan")
    ref = target.log_prob(target.sample(2000, seed=99)).double()
    cut = float(torch.quantile(ref, 0.01)) - threshold_nats
    lp = target.log_prob(x).double()
    return float((~torch.isfinite(lp) | (lp < cut)).double().mean())


FAR_FACTOR = 10.0


def support_box(target, view: dict | None = None) -> dict:
    """The target's range: the view box grown to hold every component's mean +- 3 std."""
    m = target.mixture
    reach = 3 * torch.sqrt(torch.diagonal(m.covs, dim1=1, dim2=2))           # (K, 2)
    lo, hi = (m.means - reach).min(0).values.numpy(), (m.means + reach).max(0).values.numpy()
    if view is not None:
        lo = np.minimum(lo, [view["xlim"][0], view["ylim"][0]])
        hi = np.maximum(hi, [view["xlim"][1], view["ylim"][1]])
    return {"xlim": [float(lo[0]), float(hi[0])], "ylim": [float(lo[1]), float(hi[1])]}


def far_fraction(x, box: dict, factor: float = FAR_FACTOR) -> float:
    """Fraction of points outside `box` grown `factor` times about its centre (non-finite ones count
    as far): samples there mean a diverging model or extreme settings, not the target."""
    x = _np(x)
    if len(x) == 0:
        return 0.0
    far = ~np.all(np.isfinite(x), axis=1)
    for axis, key in enumerate(("xlim", "ylim")):
        lo, hi = box[key]
        centre, half = (lo + hi) / 2, factor * (hi - lo) / 2
        with np.errstate(invalid="ignore"):
            far |= np.abs(x[:, axis] - centre) > half
    return float(far.mean())


def score_error(target, source, x, alpha: float, sigma: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Relative error |learned - exact| / |exact| of the score at points x, the noised density
    weights exp(log p_t - max) of those points, and the density-weighted mean error (capped at 10
    per point), so errors count where the noised mass is."""
    x = torch.as_tensor(x, dtype=torch.float32)
    with torch.no_grad():
        learned = source.score(x, alpha, sigma).double().numpy()
        exact = target.score(x, alpha, sigma).double().numpy()
        lp = target.log_prob(x, alpha, sigma).double().numpy()
    return weighted_relative_error(learned, exact, lp)


def velocity_error(target, source, x, t: float, schedule) -> tuple[np.ndarray, np.ndarray, float]:
    """The same for the schedule's probability-flow velocity at time t, the exact one from the
    target's exact denoiser (sources.ExactSource)."""
    from playground.maths.sources import ExactSource
    x = torch.as_tensor(x, dtype=torch.float32)
    with torch.no_grad():
        learned = source.velocity(x, t, schedule).double().numpy()
        exact = ExactSource(target).velocity(x, t, schedule).double().numpy()
        lp = target.log_prob(x, float(schedule.alpha(t)), float(schedule.sigma(t))).double().numpy()
    return weighted_relative_error(learned, exact, lp)


def weighted_relative_error(learned: np.ndarray, exact: np.ndarray, log_p: np.ndarray):
    """Per point |learned - exact| / |exact| (non-finite -> 1), weights exp(log_p - max), weighted mean (capped at 10)."""
    rel = np.linalg.norm(learned - exact, axis=1) / np.maximum(np.linalg.norm(exact, axis=1), 1e-12)
    rel = np.where(np.isfinite(rel), rel, 1.0)
    w = np.exp(log_p - np.max(log_p))
    return rel, w, float(np.sum(w * np.minimum(rel, 10)) / max(np.sum(w), 1e-30))
