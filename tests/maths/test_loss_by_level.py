"""Loss by level: the floor against an independent Monte Carlo estimate (posterior mean written out
by hand with numpy), the exact source on its floor, and a known error (the identity denoiser makes
exactly 2 s^2) recovered through the floor + E||D - D*||^2 decomposition."""
import threading

import numpy as np
import pytest
import torch

from playground import load_preset
from playground.maths.diagnostics.loss_by_level import LevelProbe, LossByLevel, level_grid, loss_by_level
from playground.maths.guidance import conditional_target
from playground.maths.mixture import GaussianMixture
from playground.maths.progress import Cancelled
from playground.maths.sources import ExactSource, Source
from playground.maths.targets import Target

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# Correlated, unequal covariances: a floor that treated them as isotropic or diagonal would miss.
TILTED = Target(GaussianMixture([0.5, 0.3, 0.2], [[-1.5, 0.0], [1.0, 1.0], [1.2, -1.4]],
                                [[[0.30, 0.12], [0.12, 0.10]], [[0.05, -0.03], [-0.03, 0.20]],
                                 [[0.02, 0.0], [0.0, 0.02]]]), {"kind": "mixture"})


def posterior_mean_by_hand(y, s, weights, means, covs):
    """E[x0 | y = x0 + s eps] of a Gaussian mixture, from Bayes' rule with numpy only."""
    logs, cond = [], []
    for w, m, c in zip(weights, means, covs):
        cy = c + s * s * np.eye(2)
        inv = np.linalg.inv(cy)
        d = y - m
        logs.append(np.log(w) - 0.5 * np.log(np.linalg.det(cy)) - 0.5 * np.einsum("ni,ij,nj->n", d, inv, d))
        cond.append(m + d @ (c @ inv).T)
    logs = np.array(logs)
    r = np.exp(logs - logs.max(0))
    r /= r.sum(0)
    return np.einsum("kn,kni->ni", r, np.array(cond))


@pytest.mark.parametrize("target", [TILTED, load_preset("loaded_dice").target], ids=["tilted", "dice"])
def test_floor_equals_an_independent_monte_carlo_estimate(target):
    levels = [0.02, 0.4, 2.5]
    probe = LevelProbe(target, levels, n=20_000, seed=0)
    m = target.mixture
    rng = np.random.default_rng(123)
    k = rng.choice(len(m), 40_000, p=m.weights.numpy())
    x0 = m.means.numpy()[k] + np.einsum("nij,nj->ni", np.linalg.cholesky(m.covs.numpy())[k], rng.normal(size=(40_000, 2)))
    for s, floor in zip(levels, probe.floor):
        y = x0 + s * rng.normal(size=x0.shape)
        mse = np.mean(np.sum((posterior_mean_by_hand(y, s, m.weights.numpy(), m.means.numpy(), m.covs.numpy())
                              - x0) ** 2, 1))
        assert floor == pytest.approx(mse, rel=0.03), (s, floor, mse)
    # at tiny levels the floor is 2 s^2 (the prior barely helps); at huge ones the target's total variance
    tiny, huge = LevelProbe(target, [1e-3, 1e4], n=2000).floor
    assert tiny == pytest.approx(2e-6, rel=0.01)
    assert huge == pytest.approx(2 * m.data_std() ** 2, rel=0.01)


class Identity(Source):
    """D(y) = y: its error is exactly E||s eps||^2 = 2 s^2 at every level."""
    def _denoise(self, y, level):
        return y.clone()


def test_exact_source_sits_on_its_floor_and_a_known_error_is_recovered():
    target = TILTED
    levels = level_grid(8)
    exact = loss_by_level(ExactSource(target), target, levels, n=4000, seed=1)
    np.testing.assert_allclose(exact.model_mse, exact.floor_mse, rtol=1e-8)
    assert np.all(np.diff(exact.floor_mse) > 0)             # more noise, more error
    identity = loss_by_level(Identity(), target, levels, n=4000, seed=1)
    np.testing.assert_allclose(identity.floor_mse, exact.floor_mse)      # same draws, same floor
    np.testing.assert_allclose(identity.model_mse, 2 * levels**2, rtol=0.05)
    assert np.all(identity.excess >= 0)


def test_a_class_has_its_own_floor_and_the_json_has_no_infinities():
    dice = load_preset("loaded_dice").target
    six = conditional_target(dice, 5)
    probe = LevelProbe(six, [0.01, 50.0], n=3000)
    # one Gaussian of std 0.3: the floor is 2 * var * s^2 / (var + s^2) exactly
    var = 0.09
    np.testing.assert_allclose(probe.floor, [2 * var * s * s / (var + s * s) for s in (0.01, 50.0)], rtol=1e-9)
    row = LossByLevel(np.array([1.0, 2.0]), np.array([0.1, 0.2]), np.array([np.inf, 0.3])).to_json()
    assert row == {"levels": [1.0, 2.0], "model_mse": [None, 0.3], "floor_mse": [0.1, 0.2]}


def test_a_probe_can_be_stopped():
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        LevelProbe(TILTED, n=100, stop=stop)
    probe = LevelProbe(TILTED, [0.1, 1.0], n=100)
    with pytest.raises(Cancelled):
        probe.evaluate(ExactSource(TILTED), progress=lambda f: False)
    with pytest.raises(ValueError):
        level_grid(1)
    assert torch.isfinite(torch.as_tensor(probe.evaluate(Identity()).model_mse)).all()
