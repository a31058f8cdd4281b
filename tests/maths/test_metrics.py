"""Metrics on cases with known answers, and quality vs steps with the exact score."""
import math

import numpy as np
import pytest
import torch

from playground import load_preset
from playground.maths.quality import quality_vs_steps
from playground.maths.metrics import energy_distance, noise_floor, noise_floor_band, off_support_fraction, sliced_w2
from playground.maths.sources import ExactSource


def test_identical_sets_are_at_distance_zero():
    x = torch.randn(500, 2, generator=torch.Generator().manual_seed(0))
    assert sliced_w2(x, x) == 0.0 and energy_distance(x, x) == 0.0


def test_a_shift_by_d_has_sliced_w2_of_d_over_root_two():
    """E_theta[(d . theta)^2] = |d|^2 / 2 for theta uniform on the circle."""
    x = torch.randn(3000, 2, generator=torch.Generator().manual_seed(0))
    d = torch.tensor([1.2, -0.5])
    assert math.isclose(sliced_w2(x, x + d, n_directions=4096), float(d.norm()) / math.sqrt(2), rel_tol=0.02)


def test_energy_distance_grows_with_a_shift_and_the_floor_is_small():
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(1500, 2, generator=g), torch.randn(1500, 2, generator=g)
    near, far = energy_distance(x, y), energy_distance(x, y + 1.0)
    assert near < 0.15 < far


def test_noise_floor_shrinks_with_more_samples():
    t = load_preset("eight_gaussians").target
    assert noise_floor(t, 8000) < noise_floor(t, 500)


def test_within_the_floor_band_means_indistinguishable_from_exact_sampling():
    """Fresh exact sets sit below the band's 90th percentile (about 9 in 10); a cloud 10% too wide never does."""
    t = load_preset("swiss_roll").target
    median, p90 = noise_floor_band(t, 2000, seed=0)
    single = [noise_floor(t, 2000, seed=s) for s in range(3)]
    assert 0 < median < p90 < 2 * median and min(single) < p90
    ref = t.sample(2000, seed=777)
    fresh = [sliced_w2(t.sample(2000, seed=1000 + i), ref) for i in range(10)]
    wide = [sliced_w2(1.1 * t.sample(2000, seed=1000 + i), ref) for i in range(10)]
    assert sum(d <= p90 for d in fresh) >= 8, (fresh, p90)
    assert min(wide) > p90, (wide, p90)


def test_off_support_fraction_sees_points_in_the_gaps():
    t = load_preset("loaded_dice").target
    on = t.sample(1000, seed=0)
    off = torch.zeros(1000, 2)        # the centre of the hexagon holds no face
    assert off_support_fraction(t, on) < 0.02 and off_support_fraction(t, off) > 0.98


def test_quality_with_the_exact_score_improves_with_steps_for_every_sampler():
    t = load_preset("two_moons").target
    names = ["ddpm", "ddim", "ode-euler", "ode-heun", "dpm-solver++", "sde-euler", "annealed-langevin"]
    table = quality_vs_steps(t, names, [2, 10, 100], {"exact": lambda: ExactSource(t)}, n=2000, seed=0)
    floor = table["floor"]            # the median over 10 draws: one two-sample value is too noisy
    assert table["floor_draws"] >= 10 and table["floor"] < table["floor_p90"]
    for row in table["results"]:
        sw = row["sw2"]
        assert sw[0] > sw[2] and sw[1] > sw[2] * 0.9, row
        assert sw[2] < 2.0 * floor, row


def test_score_error_is_zero_for_the_exact_source_and_large_for_a_wrong_one():
    from playground.maths.metrics import score_error
    t = load_preset("loaded_dice").target
    x = t.sample(300, seed=0) * 1.1
    rel, w, mean = score_error(t, ExactSource(t), x, 0.9, 0.4)
    assert mean < 1e-5 and w.max() == 1.0
    other = load_preset("eight_gaussians").target
    assert score_error(t, ExactSource(other), x, 0.9, 0.4)[2] > 0.3


def test_far_fraction_counts_points_beyond_ten_times_the_box():
    from playground.maths.metrics import far_fraction
    box = {"xlim": [-1, 1], "ylim": [0, 2]}
    x = np.array([[0, 1], [9.9, 1], [10.1, 1], [0, -9.5], [np.nan, 0]])
    assert far_fraction(x, box) == pytest.approx(3 / 5)
    assert far_fraction(np.zeros((0, 2)), box) == 0.0


def test_energy_distance_is_its_pairwise_definition_whatever_the_chunking(monkeypatch):
    from playground.maths import metrics
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(300, 2)), rng.normal(size=(200, 2)) + 0.3
    d = lambda a, b: np.mean(np.sqrt(((a[:, None] - b[None]) ** 2).sum(-1)))      # noqa: E731
    exact = np.sqrt(2 * d(x, y) - d(x, x) - d(y, y))
    assert energy_distance(x, y) == pytest.approx(exact, rel=1e-12)
    monkeypatch.setattr(metrics, "WORKING_CELLS", 1000)           # five rows of 200 at a time
    assert energy_distance(x, y) == pytest.approx(exact, rel=1e-12)


def _sw2_reference(x, y, n_directions=64, seed=3):
    """The statistic written out whole: every projection at once, np.quantile for unequal sizes."""
    from playground.maths.metrics import _directions
    d = _directions(n_directions, seed)
    px, py = np.sort(x @ d.T, axis=0), np.sort(y @ d.T, axis=0)
    if len(px) != len(py):
        q = (np.arange(max(len(px), len(py))) + 0.5) / max(len(px), len(py))
        px = np.quantile(px, q, axis=0, method="inverted_cdf")
        py = np.quantile(py, q, axis=0, method="inverted_cdf")
    return float(np.sqrt(np.mean((px - py) ** 2)))


@pytest.mark.parametrize("n, m", [(3000, 3000), (3000, 1001), (7, 20), (500, 499)])
def test_sliced_w2_in_direction_groups_is_the_whole_statistic(monkeypatch, n, m):
    """Directions go in groups of WORKING_CELLS / n (256 projections of 50k points were ~400 MB at
    once) and unequal sizes take the inverted CDF by index (np.quantile took minutes at 50k)."""
    from playground.maths import metrics
    rng = np.random.default_rng(n + m)
    x, y = rng.normal(size=(n, 2)), rng.normal(size=(m, 2)) * 1.2 + 0.1
    monkeypatch.setattr(metrics, "WORKING_CELLS", 10 * max(n, m))          # 6 groups of 10 and one of 4
    assert metrics.sliced_w2(x, y, n_directions=64, seed=3) == pytest.approx(_sw2_reference(x, y), rel=1e-12)
