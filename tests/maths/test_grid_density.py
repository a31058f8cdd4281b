"""The grid sum behind the edit preview's density picture (maths.grids.density) against the mixture's
own log-sum-exp, on every cell, including where the plain sum underflows (moved here from
tests/app/features/test_edit_preview.py)."""
import numpy as np
import pytest
import torch

from playground.maths.grids.density import grid_log_prob
from playground.maths.likelihood import grid_points
from playground.maths.mixture import GaussianMixture

LEFT_VIEW = {"xlim": [-4, 4], "ylim": [-3, 5]}


def _axes(view, res):
    pts = grid_points(view, res)
    return pts, np.unique(pts[:, 0]), np.unique(pts[:, 1])


@pytest.mark.parametrize("alpha,sigma", [(1.0, 0.0), (0.9, 0.3), (0.999, 0.01)])
def test_grid_sum_is_the_mixtures_log_density_everywhere(alpha, sigma):
    rng = np.random.default_rng(3)
    k = 60
    covs = np.tile(np.eye(2) * 0.005, (k, 1, 1))
    covs[:5] = [[0.01, 0.004], [0.004, 0.005]]                  # rotated: summed directly
    covs[5:10] = [[0.02, 0.0], [0.0, 0.002]]                    # axis-aligned, not isotropic
    mix = GaussianMixture(rng.random(k) + 0.1, rng.normal(0, 0.5, (k, 2)), covs)
    pts, xs, ys = _axes(LEFT_VIEW, 37)
    want = mix.log_prob(torch.as_tensor(pts), alpha, sigma).numpy().reshape(37, 37)
    got = grid_log_prob(mix, xs, ys, alpha, sigma)
    assert np.isfinite(got).all()
    assert sigma > 0.1 or want.min() < -1000         # cells where the plain sum underflows: the exact fallback
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
