"""Samplers driven by the exact score reach the target; same seed means same noise."""
import numpy as np
import pytest
import torch

from tests.helpers import floor_and_distance
from playground import load_preset
from playground.maths.samplers import SAMPLERS, initial_noise, sample, sample_steps
from playground.maths.sources import ExactSource

N = 4000
DIFFUSION_SAMPLERS = [s for s in SAMPLERS if s != "langevin"]


@pytest.fixture(scope="module", params=["loaded_dice", "eight_gaussians"])
def target(request):
    return load_preset(request.param).target


@pytest.mark.parametrize("name", DIFFUSION_SAMPLERS)
def test_exact_score_sampler_reaches_the_noise_floor_and_the_weights(target, name):
    xs = {}

    def draw(seed):
        xs[seed] = sample(name, ExactSource(target), N, seed=seed, steps=200)
        return xs[seed]

    dist, floor = floor_and_distance(target, draw, n=N)
    assert dist <= 1.3 * floor, (dist, floor)
    for x in xs.values():
        assert np.abs(target.empirical_weights(x) - target.group_weights()).max() <= 0.03


def test_plain_langevin_gets_the_dice_weights_wrong():
    # One fixed small noise level means no annealing: each particle slides into the face nearest its
    # start in N(0, I) and the low-density gaps between faces are almost never crossed in 200 steps,
    # so face frequencies follow the starting basins (near uniform), not the loaded weights.
    t = load_preset("loaded_dice").target
    x = sample("langevin", ExactSource(t), N, seed=0, steps=200)
    err = np.abs(t.empirical_weights(x) - t.group_weights())
    assert err.max() > 0.1
    # ...while each particle did reach a face: almost none are left between faces.
    assert float((t.log_prob(x) > -6).float().mean()) > 0.95


def test_every_sampler_starts_from_the_same_noise_and_yields_every_step():
    t = load_preset("twin_peaks").target          # its mean is off the origin: the start is centred on it
    eps = initial_noise(300, seed=7)
    centre = ExactSource(t).start_centre(80.0)
    assert torch.allclose(centre, torch.as_tensor(t.mixture.mean(), dtype=torch.float32), atol=0.01)
    for name in SAMPLERS:
        steps = list(sample_steps(name, ExactSource(t), 300, seed=7, steps=12))
        first = steps[0]
        if SAMPLERS[name].starts_from_unit_noise:
            assert torch.equal(first.x, eps)
        else:                                     # x = alpha (m + s_max eps)
            expected = first.alpha * (centre + (first.sigma / first.alpha) * eps)
            assert torch.allclose(first.x, expected, rtol=1e-5, atol=1e-4)
        assert [s.i for s in steps] == list(range(len(steps)))
        if name != "ode-rk45":      # adaptive: its step count is its own
            assert len(steps) == 13
            assert all(s.denoised is not None for s in steps[1:])
        assert steps[-1].denoised is not None


def test_stochastic_samplers_share_brownian_increments_for_a_seed():
    t = load_preset("loaded_dice").target
    a = sample("sde-euler", ExactSource(t), 500, seed=3, steps=30)
    b = sample("sde-euler", ExactSource(t), 500, seed=3, steps=30)
    c = sample("sde-euler", ExactSource(t), 500, seed=4, steps=30)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_ddim_with_eta_zero_is_euler_on_the_probability_flow_ode():
    t = load_preset("spiral").target
    a = sample("ddim", ExactSource(t), 500, seed=1, steps=25)
    b = sample("ode-euler", ExactSource(t), 500, seed=1, steps=25)
    assert torch.allclose(a, b, atol=1e-4)     # float32 rounding of two update forms; a wrong rule is off by 0.1


def test_ddim_with_eta_one_matches_ddpm_in_distribution():
    t = load_preset("eight_gaussians").target
    a = sample("ddim", ExactSource(t), N, seed=1, steps=100, eta=1.0)
    b = sample("ddpm", ExactSource(t), N, seed=2, steps=100)
    from playground.maths.metrics import sliced_w2
    floor = sliced_w2(t.sample(N, seed=8), t.sample(N, seed=9))
    assert sliced_w2(a, b) < 1.5 * floor


def test_heun_beats_euler_at_few_steps():
    """Second order pays: at 10 levels Heun is closer to the target than Euler."""
    t = load_preset("two_moons").target
    from playground.maths.metrics import sliced_w2
    ref = t.sample(N, seed=11)
    e = sliced_w2(sample("ode-euler", ExactSource(t), N, seed=0, steps=10), ref)
    h = sliced_w2(sample("ode-heun", ExactSource(t), N, seed=0, steps=10), ref)
    assert h < 0.7 * e


@pytest.mark.parametrize("schedule", ["vp-linear", "vp-cosine", "ve", "flow"])
def test_every_schedule_samples_the_target(schedule):
    t = load_preset("loaded_dice").target
    dist, floor = floor_and_distance(
        t, lambda s: sample("ode-heun", ExactSource(t), N, seed=s, steps=100, schedule=schedule), n=N, seeds=(0, 1))
    assert dist <= 1.3 * floor


def test_bad_sampler_arguments_are_refused():
    t = load_preset("loaded_dice").target
    with pytest.raises(ValueError, match="unknown sampler"):
        next(sample_steps("nope", ExactSource(t), 10))
    with pytest.raises(ValueError, match="eta"):
        next(sample_steps("ddim", ExactSource(t), 10, eta=2.0))
    with pytest.raises(ValueError, match="steps"):
        next(sample_steps("ddim", ExactSource(t), 10, steps=0))
