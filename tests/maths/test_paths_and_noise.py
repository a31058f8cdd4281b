"""Trajectory geometry (path length, straightness) and the Brownian path shared across step counts."""
import math

import numpy as np
import pytest
import torch

from playground import load_preset
from playground.maths.paths import path_lengths, path_summary, straightness
from playground.maths.samplers import BrownianPath, NoiseStream, initial_noise, sample
from playground.maths.schedules import get_schedule
from playground.maths.sources import ExactSource


# ----- paths -----------------------------------------------------------------------------------

def test_a_straight_line_has_straightness_one_and_its_length():
    t = np.linspace(0, 1, 7)[:, None, None]
    frames = [f for f in t * np.array([[3.0, 4.0], [-1.0, 0.0]])[None]]     # two particles, 6 segments
    np.testing.assert_allclose(path_lengths(frames), [5.0, 1.0])
    np.testing.assert_allclose(straightness(frames), [1.0, 1.0])


def test_a_v_path_is_longer_than_its_chord():
    frames = [np.array([[0.0, 0.0]]), np.array([[1.0, 1.0]]), np.array([[2.0, 0.0]])]
    np.testing.assert_allclose(path_lengths(frames), [2 * math.sqrt(2)])
    np.testing.assert_allclose(straightness(frames), [1 / math.sqrt(2)])
    back_and_forth = [np.array([[0.0, 0.0]]), np.array([[1.0, 0.0]]), np.array([[0.0, 0.0]])]
    np.testing.assert_allclose(straightness(back_and_forth), [0.0])
    np.testing.assert_allclose(path_lengths(back_and_forth), [2.0])


def test_summary_skips_non_finite_particles_and_still_particles_count_as_straight():
    frames = [np.array([[0.0, 0.0], [np.nan, 0.0], [1.0, 1.0]]),
              np.array([[0.0, 2.0], [0.0, 0.0], [1.0, 1.0]])]
    s = path_summary(frames)
    assert s["length"] == pytest.approx(1.0)          # (2 + 0) / 2
    assert s["straightness"] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        path_lengths(np.zeros((3, 4)))


# ----- the shared Brownian path --------------------------------------------------------------------

def scaled(path, s, s_next):
    """The raw increment W(s^2) - W(s'^2) = sqrt(s^2 - s'^2) * z."""
    return path.between(0, s, s_next).double() * math.sqrt(s * s - s_next * s_next)


def test_coarse_increments_are_sums_of_fine_ones_whatever_the_query_order():
    fine_levels = get_schedule("edm").levels(40).level[:-1]         # 80 ... 0.002
    coarse = fine_levels[::8]
    a = BrownianPath(500, seed=5, device="cpu")
    fine_inc = [scaled(a, fine_levels[k], fine_levels[k + 1]) for k in range(len(fine_levels) - 1)]
    b = BrownianPath(500, seed=5, device="cpu")
    b._max_nodes = 8                                              # a tiny cache: values must not depend on it
    for k in reversed(range(len(coarse) - 1)):                   # queried in the opposite order
        summed = sum(fine_inc[8 * k: 8 * k + 8])
        torch.testing.assert_close(scaled(b, coarse[k], coarse[k + 1]), summed, rtol=1e-4, atol=1e-4 * coarse[k])
    other = BrownianPath(500, seed=6, device="cpu")
    assert not torch.allclose(scaled(other, coarse[0], coarse[1]), scaled(b, coarse[0], coarse[1]))


@pytest.mark.parametrize("s, s_next", [(80.0, 40.0), (1.0, 0.9), (0.05, 0.0), (0.0031, 0.003)])
def test_each_normalised_increment_is_a_unit_gaussian(s, s_next):
    z = BrownianPath(40_000, seed=2, device="cpu").between(3, s, s_next).double()
    assert abs(float(z.mean())) < 0.02
    assert float(z.var()) == pytest.approx(1.0, abs=0.03)


def test_disjoint_increments_are_independent_and_w_has_variance_v():
    p = BrownianPath(40_000, seed=9, device="cpu")
    z1, z2 = p.between(0, 2.0, 1.0).double(), p.between(1, 1.0, 0.5).double()
    corr = float((z1 * z2).mean() / (z1.std() * z2.std()))
    assert abs(corr) < 0.03
    assert float(p.w(0.7).var()) == pytest.approx(0.49, rel=0.03)


def test_default_noise_is_still_keyed_by_step_index():
    """Without brownian_path, sde-euler is Euler-Maruyama with the i-th step's NoiseStream draw."""
    target = load_preset("two_moons").target
    src = ExactSource(target)
    level = get_schedule("edm").levels(6).level
    y, noise = level[0] * initial_noise(200, 4), NoiseStream(200, 4, "cpu")
    for i in range(len(level) - 1):
        s, s_next = level[i], level[i + 1]
        denoised = src.denoise(y, s)
        y = denoised if s_next == 0 else y + (s**2 - s_next**2) * (denoised - y) / s**2 + math.sqrt(s**2 - s_next**2) * noise(i)
    torch.testing.assert_close(sample("sde-euler", ExactSource(target), 200, seed=4, steps=6), y)


def test_different_step_counts_follow_one_brownian_motion():
    target = load_preset("eight_gaussians").target

    def final(steps, seed, shared=True):
        return sample("sde-euler", ExactSource(target), 1500, seed=seed, steps=steps, brownian_path=shared)

    same_seed = (final(25, 1) - final(60, 1)).norm(dim=1).mean()
    other_seed = (final(25, 1) - final(60, 2)).norm(dim=1).mean()
    by_step_index = (final(25, 1, False) - final(60, 1, False)).norm(dim=1).mean()
    assert same_seed < 0.3 * other_seed, (same_seed, other_seed)
    assert same_seed < 0.3 * by_step_index, (same_seed, by_step_index)


def test_the_brownian_node_cache_keeps_its_budget_and_the_shared_top_of_the_tree():
    """Least recently used nodes go first: with room for one root-to-leaf path (+2), a sequential
    walk reuses the top levels every query shares instead of rebuilding the path after a clear."""
    from playground.maths import budgets
    path = BrownianPath(20_000, seed=1, device="cpu")
    assert path._max_nodes == max(path.depth + 2, budgets.BROWNIAN_BYTES // (16 * 20_000)) == 32
    path._max_nodes = path.depth + 2
    draws = []
    original = path._gauss
    path._gauss = lambda d, j: draws.append((d, j)) or original(d, j)
    levels = get_schedule("edm").levels(300).level[:-1]
    for k in range(len(levels) - 1):
        path.between(k, levels[k], levels[k + 1])
        assert len(path._nodes) <= path._max_nodes
    per_query = len(draws) / (len(levels) - 1)
    assert per_query < 0.75 * path.depth, per_query       # a clear-all cache of this size: ~1 path a query
