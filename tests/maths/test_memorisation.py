"""Memorisation maths: the empirical-exact denoiser against Bayes' rule on N Diracs written out with
numpy, its samples copying the training set while fresh exact samples do not, and the copy rate
against a brute-force count."""
import numpy as np
import pytest
import torch

from playground import load_preset
from playground.maths.diagnostics.memorisation import (EmpiricalSource, copy_rate, memorisation,
                                                        nearest_spacing)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

DICE = load_preset("loaded_dice").target


def test_empirical_denoiser_is_the_posterior_mean_over_the_points_and_the_nearest_at_zero():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(40, 2))
    y = rng.normal(scale=2.0, size=(300, 2))
    src = EmpiricalSource(points)
    d2 = ((y[:, None] - points[None]) ** 2).sum(-1)
    for s in (0.05, 0.4, 3.0):
        w = np.exp(-(d2 - d2.min(1, keepdims=True)) / (2 * s * s))
        expected = (w / w.sum(1, keepdims=True)) @ points
        got = src.denoise(torch.as_tensor(y, dtype=torch.float64), s).numpy()
        np.testing.assert_allclose(got, expected, atol=1e-9)
    nearest = points[d2.argmin(1)]
    for s in (0.0, 1e-200, 1e-9):
        got = src.denoise(torch.as_tensor(y, dtype=torch.float64), s).numpy()
        assert np.isfinite(got).all()
        np.testing.assert_array_equal(got, nearest)
    assert src.denoise(torch.zeros(0, 2), 0.5).shape == (0, 2)
    with pytest.raises(ValueError):
        EmpiricalSource(np.zeros((0, 2)))


def test_copy_rate_equals_a_brute_force_count():
    rng = np.random.default_rng(1)
    train = rng.normal(size=(50, 2))
    samples = np.concatenate([train[:30] + rng.normal(scale=1e-3, size=(30, 2)), rng.normal(size=(170, 2)),
                              [[np.nan, 0.0]]])
    d = np.sqrt(((train[:, None] - train[None]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    spacing = np.median(d.min(1))
    assert nearest_spacing(train) == pytest.approx(spacing)
    to_train = np.sqrt(((samples[:, None] - train[None]) ** 2).sum(-1)).min(1)
    expected = np.sum(to_train < 0.1 * spacing) / len(samples)       # the nan row compares False: no copy
    assert copy_rate(samples, train) == pytest.approx(expected)
    assert 30 / 201 <= copy_rate(samples, train) < 0.3
    assert copy_rate(samples, train, factor=1e-9) == 0.0
    with pytest.raises(ValueError):
        copy_rate(samples, train[:1])


def test_the_empirical_exact_denoiser_copies_its_16_points_and_fresh_samples_do_not():
    dataset = DICE.mixture.sample(16, seed=4)
    result = memorisation(DICE, dataset, n=600, seed=2)
    assert result.copy_rate_empirical_exact >= 0.95
    assert result.copy_rate_fresh <= 0.05
    assert result.samples_empirical.shape == (600, 2) and result.copy_rate_model is None
    assert result.to_json() == {"n_train": 16, "copy_rate_model": None, "copy_rate_empirical_exact":
                                result.copy_rate_empirical_exact, "copy_rate_fresh": result.copy_rate_fresh}
