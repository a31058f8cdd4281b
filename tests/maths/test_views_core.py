"""The maths behind the watch-it-move views: projected p_t, mode commitment, mesh, p_t grids, x̂₀."""
import math

import numpy as np
import pytest
import torch

from playground import load_preset
from playground.maths.commitment import class_posterior, commitment
from playground.maths.denoised import denoised_at
from playground.maths.guidance import conditional_target
from playground.maths.likelihood import grid_points
from playground.maths.mesh import carry_mesh, mesh_edges, noise_grid
from playground.maths.grids.noised import PtGridCache, exact_pt_grid, grid_image, learned_pt_grid
from playground.maths.projection import direction, project, projected_density
from playground.maths.samplers import initial_noise, sample_steps
from playground.maths.sources import ExactSource

VIEW = {"xlim": [-4.0, 4.0], "ylim": [-4.0, 4.0]}


@pytest.fixture(scope="module")
def dice():
    return load_preset("loaded_dice").target


def run_frames(sampler, target, n, seed=0, steps=20, **kw):
    return list(sample_steps(sampler, ExactSource(target), n, seed, steps=steps, **kw))


# ----- projected density ---------------------------------------------------------------------

def test_projected_density_is_the_line_integral_of_the_noised_2d_density(dice):
    """p(u·x_t = z) = ∫ p_t(z·u + w·u⊥) dw, by quadrature on the exact 2D noised density."""
    u = direction(30.0)
    perp = np.array([-u[1], u[0]])
    alpha, sigma = 0.8, 0.6
    z = np.linspace(-3.5, 3.5, 9)
    w = np.linspace(-12, 12, 4001)
    pts = z[:, None, None] * u + w[None, :, None] * perp
    dens = np.exp(dice.log_prob(torch.as_tensor(pts.reshape(-1, 2)), alpha, sigma).numpy()).reshape(len(z), -1)
    quad = np.trapezoid(dens, w, axis=1)
    ours = projected_density(dice.mixture, u, [alpha], [sigma], z)[0]
    np.testing.assert_allclose(ours, quad, rtol=1e-6, atol=1e-9)


def test_projected_density_matches_a_histogram_of_noised_samples(dice):
    u = direction(-70.0)
    rng = np.random.default_rng(0)
    levels = [(1.0, 0.0), (0.9, 0.4), (0.3, 0.95)]
    edges = np.linspace(-5, 5, 81)
    fine = np.linspace(-5, 5, 8001)
    x0 = dice.sample(200_000, seed=1).numpy().astype(np.float64)
    dens = projected_density(dice.mixture, u, [a for a, _ in levels], [s for _, s in levels], fine)
    for row, (a, s) in zip(dens, levels):
        z = project(a * x0 + s * rng.standard_normal(x0.shape), u)
        hist = np.histogram(z, edges)[0] / len(z)
        mass = np.array([np.trapezoid(row[(fine >= lo) & (fine <= hi)], fine[(fine >= lo) & (fine <= hi)])
                         for lo, hi in zip(edges[:-1], edges[1:])])
        assert 0.5 * np.abs(hist - mass).sum() < 0.01       # total variation; sampling noise ~0.005


def test_projection_of_frames_keeps_their_shape():
    x = np.random.default_rng(0).normal(size=(4, 7, 2))
    assert project(x, direction(90)).shape == (4, 7)
    np.testing.assert_allclose(project(x, direction(90)), x[..., 1], atol=1e-12)


# ----- mode commitment -----------------------------------------------------------------------

def test_class_posterior_is_bayes_rule_with_the_conditional_densities(dice):
    x = torch.randn(50, 2, generator=torch.Generator().manual_seed(0)) * 2
    alpha, sigma = 0.9, 0.7
    post = class_posterior(dice, x, alpha, sigma)
    w = dice.group_weights()
    log_joint = np.stack([np.log(w[c]) + conditional_target(dice, c).log_prob(x.double(), alpha, sigma).numpy()
                          for c in range(dice.n_groups)], 1)
    bayes = np.exp(log_joint - dice.log_prob(x.double(), alpha, sigma).numpy()[:, None])
    np.testing.assert_allclose(post, bayes, atol=1e-10)


def test_dice_particles_commit_to_a_face_at_middle_noise_levels(dice):
    frames = run_frames("ddim", dice, 1000, steps=30)
    c = commitment(dice, [f.x for f in frames], [f.alpha for f in frames], [f.sigma for f in frames])
    assert c.mean_posterior.shape == (31, 6) and c.committed.shape == (31,)
    np.testing.assert_allclose(c.mean_posterior[0], dice.group_weights(), atol=1e-3)   # prior at s = 80
    final = frames[-1].x.numpy()
    np.testing.assert_allclose(c.mean_posterior[-1], dice.empirical_weights(final), atol=0.01)
    assert np.abs(c.mean_posterior[-1] - dice.group_weights()).max() < 0.06
    assert c.committed[0] < 0.02 and c.committed[-1] > 0.97
    early = c.committed[c.levels >= 3.0].max()       # noise wider than the die: nobody has chosen
    late = c.committed[c.levels <= 0.1].min()        # noise below the faces' width: all have
    assert early < 0.02 and late > 0.97
    half = c.levels[np.argmax(c.committed > 0.5)]
    assert 0.2 < half < 1.5                          # half commit around the faces' spacing


def test_a_one_class_target_is_committed_from_the_start():
    spiral = load_preset("spiral").target
    frames = run_frames("ddim", spiral, 200, steps=5)
    c = commitment(spiral, [f.x for f in frames], [f.alpha for f in frames], [f.sigma for f in frames])
    np.testing.assert_allclose(c.mean_posterior, 1.0)
    np.testing.assert_allclose(c.committed, 1.0)


# ----- mesh ----------------------------------------------------------------------------------

def test_mesh_edges_join_grid_neighbours():
    g = noise_grid(24)
    e = mesh_edges(24)
    assert g.shape == (576, 2) and e.shape == (2 * 24 * 23, 2)
    gaps = np.linalg.norm(g[e[:, 0]] - g[e[:, 1]], axis=1)
    np.testing.assert_allclose(gaps, 5.0 / 23, rtol=1e-12)
    assert len({tuple(sorted(p)) for p in e.tolist()}) == len(e)


@pytest.mark.parametrize("sampler", ["ddim", "dpm-solver++", "ode-heun"])
def test_a_deterministic_mesh_is_particles_of_the_same_run(dice, sampler):
    frames = run_frames(sampler, dice, 64, seed=3, steps=12, schedule="vp-cosine")
    keep = [0, 3, 6, 9, 12]
    mesh = carry_mesh(sampler, ExactSource(dice), initial_noise(64, 3), 12, "vp-cosine", keep,
                      [frames[i].alpha for i in keep], [frames[i].sigma for i in keep])
    assert mesh.same_run and len(mesh.states) == len(keep)
    for k, i in enumerate(keep):
        np.testing.assert_allclose(mesh.states[k], frames[i].x.numpy(), atol=1e-5)


def test_a_stochastic_run_carries_its_mesh_by_the_probability_flow_ode(dice):
    frames = run_frames("sde-euler", dice, 16, steps=10)
    keep = list(range(11))
    alphas, sigmas = [f.alpha for f in frames], [f.sigma for f in frames]
    source = ExactSource(dice)
    mesh = carry_mesh("sde-euler", source, noise_grid(8), 10, "edm", keep, alphas, sigmas)
    ode = carry_mesh("ddim", source, noise_grid(8), 10, "edm", keep, alphas, sigmas)
    assert not mesh.same_run and "probability-flow" in mesh.label and source.nfe == 0
    for a, b in zip(mesh.states, ode.states):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert np.isfinite(dice.log_prob(torch.as_tensor(mesh.states[-1]))).all()
    assert float(dice.log_prob(torch.as_tensor(mesh.states[-1])).mean()) > -4   # on the faces, not spread


def test_an_adaptive_run_carries_its_mesh_between_its_own_frames(dice):
    frames = run_frames("ode-rk45", dice, 64, seed=2)
    mesh = carry_mesh("ode-rk45", ExactSource(dice), initial_noise(64, 2), 0, "edm", [f.i for f in frames],
                      [f.alpha for f in frames], [f.sigma for f in frames])
    assert len(mesh.states) == len(frames) and not mesh.same_run
    gap = np.linalg.norm(mesh.states[-1] - frames[-1].x.numpy(), axis=1)
    assert np.median(gap) < 0.05            # the same flow, in smaller steps between the run's own levels


def test_a_langevin_mesh_moves_once_then_rests(dice):
    frames = run_frames("langevin", dice, 16, steps=5)
    mesh = carry_mesh("langevin", ExactSource(dice), noise_grid(5), 5, "edm", [f.i for f in frames],
                      [f.alpha for f in frames], [f.sigma for f in frames])
    np.testing.assert_allclose(mesh.states[0], noise_grid(5), atol=1e-6)
    assert not np.allclose(mesh.states[1], mesh.states[0])
    for later in mesh.states[2:]:
        np.testing.assert_array_equal(later, mesh.states[1])
    assert "one noise level" in mesh.label


# ----- p_t grids -----------------------------------------------------------------------------

def test_the_pt_backdrop_is_the_target_convolved_with_the_noise(dice):
    """p_t(x) = ∫ p_0(x0) N(x; alpha·x0, sigma² I) dx0 by quadrature, at a few grid cells."""
    alpha, sigma, res = 0.9, 0.5, 12
    grid = exact_pt_grid(dice, alpha, sigma, VIEW, res)
    pts = grid_points(VIEW, res)
    g = np.linspace(-4.5, 4.5, 451)
    x0 = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
    p0 = np.exp(dice.log_prob(torch.as_tensor(x0)).numpy())
    cell = (g[1] - g[0]) ** 2
    for idx in [0, 17, 40, 77, 100, 143]:
        d2 = ((pts[idx] - alpha * x0) ** 2).sum(1)
        conv = (p0 * np.exp(-0.5 * d2 / sigma**2)).sum() * cell / (2 * math.pi * sigma**2)
        assert abs(grid.reshape(-1)[idx] - math.log(conv)) < 1e-3


def test_the_pt_cache_returns_stored_grids_and_forgets_the_oldest(dice):
    cache = PtGridCache(max_bytes=2 * 8 * 8 * 8)         # two 8x8 float64 grids
    a = cache.exact(dice, 1.0, 0.5, VIEW, res=8)
    assert cache.exact(dice, 1.0, 0.5, VIEW, res=8) is a
    b = cache.exact(dice, 1.0, 0.1, VIEW, res=8)
    assert not np.allclose(a, b)
    cache.exact(dice, 1.0, 2.0, VIEW, res=8)
    assert len(cache) == 2 and cache.exact(dice, 1.0, 0.5, VIEW, res=8) is not a
    assert cache.exact(dice, 1.0, 0.5, VIEW, res=8, version=1) is not cache.exact(dice, 1.0, 0.5, VIEW, res=8)
    other = load_preset("loaded_dice").target
    assert cache.exact(other, 1.0, 0.5, VIEW, res=8) is not cache.exact(dice, 1.0, 0.5, VIEW, res=8)


def test_learned_pt_is_absent_until_stored(dice):
    cache = PtGridCache()
    source = ExactSource(dice)
    assert cache.learned(source, 1.0, 0.5, VIEW, res=4) is None
    grid = np.zeros((4, 4))
    cache.store_learned(source, 1.0, 0.5, VIEW, grid, res=4)
    assert cache.learned(source, 1.0, 0.5, VIEW, res=4) is grid


def test_the_ode_density_of_the_exact_source_is_the_exact_pt(dice):
    alpha, sigma, res = 0.8, 0.4, 5
    learned = learned_pt_grid(ExactSource(dice), alpha, sigma, VIEW, res)
    exact = exact_pt_grid(dice, alpha, sigma, VIEW, res)
    where = exact > exact.max() - 5             # the far tails are where adaptive solves are loosest
    np.testing.assert_allclose(learned[where], exact[where], atol=0.02)
    np.testing.assert_allclose(learned, exact, atol=0.1)


def test_grid_image_scales_density_to_its_maximum():
    img = grid_image(np.log(np.array([[1.0, 2.0], [4.0, 0.0]])))
    np.testing.assert_allclose(img, [[0.25, 0.5], [1.0, 0.0]], atol=1e-7)


# ----- denoised overlay ----------------------------------------------------------------------

def test_denoised_overlay_gives_the_score_by_tweedie(dice):
    source = ExactSource(dice)
    x = torch.randn(40, 2, generator=torch.Generator().manual_seed(5)).numpy() * 2
    alpha, sigma = 0.7, 0.6
    d = denoised_at(source, x, alpha, sigma)
    score = (alpha * d - x) / sigma**2
    np.testing.assert_allclose(score, dice.score(torch.as_tensor(x, dtype=torch.float64), alpha, sigma).numpy(),
                               atol=2e-4)
    assert source.nfe == 0
    np.testing.assert_allclose(denoised_at(source, x, 0.5, 0.0), x / 0.5, rtol=1e-6)
