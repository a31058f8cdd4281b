"""Flow matching: the velocity conversions against exact ground truth, and an fm model that samples."""
import numpy as np
import pytest
import torch

from tests.helpers import floor_and_distance
from playground import load_preset
from playground.formats.presets import compile_target
from playground.learning.model import ModelConfig, build_model
from playground.learning.train_loop import cosine_tail
from playground.learning.trainer import TrainConfig, Trainer
from playground.maths import parametrization as P
from playground.maths.samplers import sample
from playground.maths.schedules import SCHEDULES, get_schedule
from playground.maths.sources import ExactSource, ModelSource


def two_modes(d=2.5, std=0.25):
    comp = lambda m: {"weight": 1, "mean": [m, 0.0], "cov": [[std**2, 0], [0, std**2]]}
    return compile_target({"kind": "mixture", "components": [comp(-d), comp(d)]})


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_derivatives_match_finite_differences(name):
    s = get_schedule(name)
    t = np.linspace(s.t_min + 0.01, s.t_max - 0.01, 9)
    h = 1e-6
    assert np.allclose(s.d_alpha(t), (s.alpha(t + h) - s.alpha(t - h)) / (2 * h), rtol=1e-4, atol=1e-6)
    assert np.allclose(s.d_sigma(t), (s.sigma(t + h) - s.sigma(t - h)) / (2 * h), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", ["flow", "edm", "vp-linear", "vp-cosine"])
def test_exact_velocity_equals_the_converted_exact_score(name):
    """Velocity from the exact denoiser (alpha' x0_hat + sigma' eps_hat) = f x - g^2/2 score."""
    target = load_preset("loaded_dice").target
    sched = get_schedule(name)
    x = torch.randn(300, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 2
    for t in np.linspace(sched.t_min + 0.05 * (sched.t_max - sched.t_min), sched.t_max, 5):
        alpha, sigma = float(sched.alpha(t)), float(sched.sigma(t))
        xt = alpha * x
        from_denoiser = ExactSource(target).velocity(xt, t, sched)
        from_score = P.velocity_from_score(xt, target.score(xt, alpha, sigma), alpha, sigma,
                                           float(sched.d_alpha(t)), float(sched.d_sigma(t)))
        torch.testing.assert_close(from_denoiser, from_score, rtol=1e-6, atol=1e-6 * max(1.0, sigma))


def test_flow_velocity_of_a_gaussian_is_its_linear_transport():
    """For x0 ~ N(m, c^2 I) the law of x_t is N((1-t) m, r_t^2 I); the flow moving it is
    v = -m + (r_t'/r_t)(x - (1-t) m), r_t^2 = (1-t)^2 c^2 + t^2."""
    m, c = torch.tensor([1.0, -0.5], dtype=torch.float64), 0.4
    target = compile_target({"kind": "mixture", "components": [
        {"weight": 1, "mean": m.tolist(), "cov": [[c**2, 0], [0, c**2]]}]})
    sched = get_schedule("flow")
    x = torch.randn(50, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    for t in (0.1, 0.5, 0.9):
        r2 = (1 - t) ** 2 * c**2 + t**2
        expect = -m + ((t - (1 - t) * c**2) / r2) * (x - (1 - t) * m)
        torch.testing.assert_close(ExactSource(target).velocity(x, t, sched), expect, rtol=1e-7, atol=1e-7)


def test_velocity_conversions_round_trip_on_every_schedule():
    g = torch.Generator().manual_seed(0)
    x0, eps = torch.randn(40, 2, generator=g, dtype=torch.float64), torch.randn(40, 2, generator=g, dtype=torch.float64)
    for name in SCHEDULES:
        s = get_schedule(name)
        t = 0.5 * (s.t_min + s.t_max)
        a, sig, da, ds = (float(f(t)) for f in (s.alpha, s.sigma, s.d_alpha, s.d_sigma))
        x = a * x0 + sig * eps
        v = P.velocity_from_x0_eps(x0, eps, da, ds)
        torch.testing.assert_close(P.velocity_from_x0(x, x0, a, sig, da, ds), v)
        torch.testing.assert_close(P.x0_from_velocity(x, v, a, sig, da, ds), x0)
    # on the flow path the velocity is the flow-matching target eps - x0, and x0 = x_t - t v
    t = 0.3
    x = (1 - t) * x0 + t * eps
    torch.testing.assert_close(P.velocity_from_x0_eps(x0, eps, -1.0, 1.0), eps - x0)
    torch.testing.assert_close(P.x0_from_velocity(x, eps - x0, 1 - t, t, -1.0, 1.0), x - t * (eps - x0))


def test_an_fm_network_with_the_exact_velocity_is_the_exact_denoiser():
    """The fm model's level -> (t, x_t) mapping and velocity -> x0 conversion, checked by swapping the
    network for the exact flow velocity: calling the model must then give the exact E[x0 | y]."""
    target = two_modes()
    model = build_model(ModelConfig(objective="fm"))
    flow = get_schedule("flow")
    model.velocity = lambda x_t, t, label=None: ExactSource(target).velocity(x_t, float(t.reshape(-1)[0]), flow)
    y = torch.randn(200, 2, generator=torch.Generator().manual_seed(2)) * 3
    for level in (0.01, 0.3, 2.0, 80.0):
        torch.testing.assert_close(model(y, level), target.denoise(y, 1.0, level).float(), rtol=1e-4, atol=1e-4)


def test_old_checkpoints_without_an_objective_load_as_score_matching(tmp_path):
    from playground.formats.checkpoint import load_model, model_info, read_checkpoint, save_checkpoint
    trainer = Trainer(load_preset("two_moons").target, TrainConfig(seed=0, batch=64, device="cpu"))
    trainer.train(2)
    path = tmp_path / "old.pt"
    save_checkpoint(trainer, path)
    state = torch.load(path, weights_only=True)
    del state["objective"], state["config"]["model"]["objective"]
    torch.save(state, path)
    assert load_model(path).config.objective == "dsm"
    assert model_info(read_checkpoint(path)) == {"objective": "dsm", "reflowed": 0, "base": None,
                                                 "exact_counterpart": True}


@pytest.mark.parametrize("objective", ["dsm", "fm"])
def test_dsm_and_fm_both_reach_the_target_with_ode_heun(objective):
    """Same preset, same step budget: both objectives reach 1.5x the SW2 floor at 50 Heun steps."""
    target = load_preset("spiral").target
    trainer = Trainer(target, TrainConfig(seed=0, device="cpu", model=ModelConfig(objective=objective)))
    steps = 800
    while trainer.step < steps:
        trainer.lr_scale = cosine_tail(trainer.step / steps)
        trainer.train(50)
    source = trainer.source()
    dist, floor = floor_and_distance(target, lambda s: sample("ode-heun", source, 4000, seed=s, steps=50),
                                     seeds=range(4))
    assert dist <= 1.5 * floor, (objective, dist, floor)


def test_a_conditional_fm_model_guides_like_a_dsm_one():
    from playground.maths.guidance import GuidedSource
    target = load_preset("loaded_dice").target
    trainer = Trainer(target, TrainConfig(seed=0, batch=256, device="cpu", conditional=True,
                                          model=ModelConfig(objective="fm")))
    trainer.train(5)
    base = trainer.source()
    y = torch.randn(30, 2, generator=torch.Generator().manual_seed(0))
    cond, uncond = ModelSource(trainer.ema_model, label=2).denoise(y, 0.7), base.denoise(y, 0.7)
    guided = GuidedSource(base, 2, 3.0).denoise(y, 0.7)
    torch.testing.assert_close(guided, uncond + 3.0 * (cond - uncond))
