"""Exact targets: samples, densities and noised scores agree with each other."""
import math

import numpy as np
import pytest
import torch

from playground import load_preset
from playground.formats.presets import builtin_names
from playground.maths.mixture import GaussianMixture

NON_EMPTY = [n for n in builtin_names() if n != "blank"]


def test_at_least_eight_builtin_presets_including_the_contract_ones():
    names = set(builtin_names())
    assert len(names) >= 8
    assert {"loaded_dice", "spiral", "swiss_roll", "two_moons", "eight_gaussians", "rings",
            "checkerboard", "blank"} <= names


def test_samples_are_float32_and_seeded():
    t = load_preset("loaded_dice").target
    a, b, c = t.sample(1000, seed=0), t.sample(1000, seed=0), t.sample(1000, seed=1)
    assert a.dtype == torch.float32 and a.shape == (1000, 2)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_loaded_dice_has_one_component_per_face_in_face_order():
    p = load_preset("loaded_dice")
    w = p.target.group_weights()
    assert len(p.target.mixture) == 6
    assert np.allclose(w, np.array(p.spec["weights"]) / sum(p.spec["weights"]))
    emp = p.target.empirical_weights(p.target.sample(20000, seed=3))
    assert np.abs(emp - w).max() < 0.015


@pytest.mark.parametrize("name", NON_EMPTY)
@pytest.mark.parametrize("alpha,sigma", [(1.0, 0.0), (0.9, 0.5), (0.3, 0.95), (1.0, 3.0)])
def test_exact_score_is_the_gradient_of_the_noised_log_density(name, alpha, sigma):
    t = load_preset(name).target
    x = (t.sample(64, seed=5).double() * alpha + sigma * torch.randn(64, 2, dtype=torch.float64,
                                                                     generator=torch.Generator().manual_seed(1)))
    x.requires_grad_(True)
    t.log_prob(x, alpha, sigma).sum().backward()
    assert torch.allclose(t.score(x.detach(), alpha, sigma), x.grad, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", ["loaded_dice", "spiral", "checkerboard"])
def test_ideal_denoiser_satisfies_tweedie(name):
    """E[x0 | x_t] = (x + sigma^2 * score) / alpha."""
    t = load_preset(name).target
    x = torch.randn(200, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 2
    for alpha, sigma in [(0.8, 0.6), (1.0, 0.05)]:
        lhs = t.denoise(x, alpha, sigma)
        rhs = (x + sigma**2 * t.score(x, alpha, sigma)) / alpha
        assert torch.allclose(lhs, rhs, atol=1e-9)


def test_noised_density_integrates_to_one():
    t = load_preset("two_moons").target
    g = torch.linspace(-9, 9, 361, dtype=torch.float64)
    gx, gy = torch.meshgrid(g, g, indexing="xy")
    p = t.log_prob(torch.stack([gx.ravel(), gy.ravel()], 1), 0.7, 0.6).exp()
    assert abs(float(p.sum()) * (g[1] - g[0]) ** 2 - 1.0) < 1e-3


def test_mixture_moments_match_samples():
    m = GaussianMixture([1, 3], [[-1, 0], [2, 1]], [[[0.2, 0.05], [0.05, 0.1]], [[0.3, 0], [0, 0.3]]])
    x = m.sample(200000, seed=0).double()
    assert torch.allclose(x.mean(0), m.mean(), atol=0.01)
    assert math.isclose(float(x.var(0).mean().sqrt()), m.data_std(), rel_tol=0.01)


def test_blank_preset_is_empty_and_says_so():
    p = load_preset("blank")
    assert p.is_empty
    with pytest.raises(ValueError, match="empty"):
        p.target
