"""Classifier-free guidance: D_w = D_u + w (D_c - D_u), learned and exact.

w = 0 must be the unconditional sampler bit for bit, w = 1 the exact class-conditional law,
w > 1 a sharper version of the class; a conditional model must learn it in a short run, and
adding the feature must leave unconditional models exactly as they were.
"""
import math

import numpy as np
import pytest
import torch

from playground import load_preset
from playground.formats.checkpoint import load_model, save_checkpoint
from playground.maths.guidance import ExactGuidedSource, GuidedSource, conditional_target, parse_class
from playground.maths.metrics import sliced_w2
from playground.learning.model import Denoiser, ModelConfig, build_model
from playground.maths.samplers import SAMPLERS, sample
from playground.maths.sources import ExactSource, ModelSource
from playground.learning.trainer import TrainConfig, Trainer

DICE = load_preset("loaded_dice").target
OLD_KEYS = ['noise_basis', 'x_octaves', 'net.0.weight', 'net.0.bias', 'net.2.weight', 'net.2.bias',
            'net.4.weight', 'net.4.bias', 'net.6.weight', 'net.6.bias']


pytestmark = pytest.mark.usefixtures("one_torch_thread")     # small batches: see conftest.py


def _random_model(n_classes=0, seed=0) -> Denoiser:
    """A model with every weight random (the zero-initialised last layer would hide differences)."""
    torch.manual_seed(seed)
    m = build_model(ModelConfig(hidden=32, depth=3, sigma_data=1.7, n_classes=n_classes))
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=g))
    return m.eval()


def _spread(x: torch.Tensor) -> float:
    """Geometric-mean standard deviation det(Cov)^(1/4) around the cloud's own mean."""
    return float(torch.linalg.det(torch.cov(x.T.double())) ** 0.25)


# ----- the exact conditional target ---------------------------------------------------------------

def test_exact_conditional_density_is_bayes_rule_on_a_many_component_class():
    """log p(x | c) = log p(x) + log P(c | x) - log P(c), with classes of many components (two moons)."""
    t = load_preset("two_moons").target
    x = t.sample(300, seed=3).double()
    r = t.mixture.responsibilities(x).numpy()
    for c in range(t.n_groups):
        post = r[:, t.groups == c].sum(1)
        expected = t.log_prob(x).numpy() + np.log(post) - np.log(t.group_weights()[c])
        got = conditional_target(t, c).log_prob(x).numpy()
        ok = post > 1e-12
        assert np.allclose(got[ok], expected[ok], atol=1e-6)
        assert np.allclose(conditional_target(t, c).group_weights(), np.eye(t.n_groups)[c])


def test_parse_class_accepts_one_based_numbers_and_names():
    assert parse_class(DICE, "6") == 5 and parse_class(DICE, "face 6") == 5 and parse_class(DICE, "FACE 1") == 0
    for bad in ("0", "7", "face 9", "six"):
        with pytest.raises(ValueError):
            parse_class(DICE, bad)


# ----- the guidance formula ---------------------------------------------------------------------------

@pytest.mark.parametrize("w", [0.5, 2.5])
def test_guided_denoiser_is_the_cfg_combination_and_costs_two_evaluations(w):
    m = _random_model(n_classes=6)
    y = torch.randn(64, 2, generator=torch.Generator().manual_seed(0)) * 2
    src = GuidedSource(ModelSource(m), 3, w)
    d = src.denoise(y, 0.7)
    assert src.nfe == 2
    with torch.no_grad():
        d_c, d_u = m(y, 0.7, 3), m(y, 0.7)
    assert torch.allclose(d, d_u + w * (d_c - d_u), atol=1e-5)
    # the same statement in score form: score_w = score_u + w (score_c - score_u)
    ex = ExactGuidedSource(DICE, 3, w)
    a, s = 0.8, 0.6
    xt = torch.randn(64, 2, generator=torch.Generator().manual_seed(1)) * 2
    score_u = DICE.score(xt.double(), a, s)
    score_c = conditional_target(DICE, 3).score(xt.double(), a, s)
    assert torch.allclose(ex.score(xt, a, s).double(), score_u + w * (score_c - score_u), atol=1e-4)
    assert ex.nfe == 2


@pytest.mark.parametrize("sampler", ["ode-heun", "ddpm", "dpm-solver++"])
def test_scale_zero_is_exactly_unconditional_and_scale_one_exactly_conditional(sampler):
    kw = dict(n=500, seed=4, steps=8)
    assert torch.equal(sample(sampler, ExactGuidedSource(DICE, 2, 0.0), **kw), sample(sampler, ExactSource(DICE), **kw))
    m = _random_model(n_classes=6)
    plain = ModelSource(m)
    assert torch.equal(sample(sampler, GuidedSource(plain, 2, 0.0), **kw), sample(sampler, ModelSource(m), **kw))
    assert torch.equal(sample(sampler, GuidedSource(plain, 2, 1.0), **kw),
                       sample(sampler, ModelSource(m, label=2), **kw))


def test_every_sampler_runs_on_a_guided_source_at_twice_the_cost():
    for name in SAMPLERS:
        plain, guided = ExactSource(DICE), ExactGuidedSource(DICE, 5, 2.0)
        x = sample(name, guided, 200, seed=1, steps=4)
        sample(name, plain, 200, seed=1, steps=4)
        assert torch.isfinite(x).all(), name
        if name != "ode-rk45":            # adaptive: its number of steps depends on the path
            assert guided.nfe == 2 * plain.nfe, name


def test_exact_guided_scale_one_samples_the_exact_conditional():
    n, c = 3000, 0                                     # face 1, the rarest (8%)
    x = sample("ode-heun", ExactGuidedSource(DICE, c, 1.0), n, seed=2, steps=25)
    assert (DICE.classify(x) == c).mean() >= 0.97
    cond = conditional_target(DICE, c)
    d = np.mean([sliced_w2(x, cond.sample(n, seed=100 + k)) for k in range(3)])
    floor = np.mean([sliced_w2(cond.sample(n, seed=200 + k), cond.sample(n, seed=300 + k)) for k in range(3)])
    assert d < 2.0 * floor, (d, floor)
    # the unconditional sampler from the same noise is nowhere near it
    assert sliced_w2(sample("ode-heun", ExactSource(DICE), n, seed=2, steps=25), cond.sample(n, seed=100)) > 20 * floor


def test_scale_above_one_sharpens_the_class():
    c = 5
    x1 = sample("ode-heun", ExactGuidedSource(DICE, c, 1.0), 2000, seed=3, steps=20)
    x3 = sample("ode-heun", ExactGuidedSource(DICE, c, 3.0), 2000, seed=3, steps=20)
    assert (DICE.classify(x3) == c).mean() >= 0.99
    assert abs(_spread(x1) - 0.3) < 0.03                 # the face's own std
    assert _spread(x3) < 0.75 * _spread(x1)


def test_guided_source_refuses_an_unconditional_model_and_bad_input():
    with pytest.raises(ValueError, match="train a conditional model first"):
        GuidedSource(_random_model(0), 1, 2.0)
    with pytest.raises(ValueError):
        GuidedSource(_random_model(6), 6, 2.0)          # labels are 0..5
    with pytest.raises(ValueError):
        ExactGuidedSource(DICE, 1, -1.0)
    with pytest.raises(ValueError):
        _random_model(0)(torch.zeros(3, 2), 0.5, 1)      # an unconditional net takes no label


# ----- unconditional models stay as they were ---------------------------------------------------------

def _old_forward(m: Denoiser, x, sigma):
    """The pre-guidance forward pass, written out: D = c_skip x + c_out net([x feats, noise feats])."""
    sigma = torch.as_tensor(sigma, dtype=x.dtype).reshape(-1, 1).expand(len(x), 1)
    sd = m.config.sigma_data
    c_skip, c_out, c_in = sd**2 / (sigma**2 + sd**2), sigma * sd / torch.sqrt(sigma**2 + sd**2), 1 / torch.sqrt(sigma**2 + sd**2)
    xin = c_in * x
    ang = xin[..., None] * m.x_octaves * math.pi / 2
    xf = torch.cat([xin, torch.sin(ang).flatten(1), torch.cos(ang).flatten(1)], 1)
    a = torch.log(sigma) / 4.0 * m.noise_basis * math.pi
    return c_skip * x + c_out * m.net(torch.cat([xf, torch.sin(a), torch.cos(a)], 1))


def test_unconditional_models_keep_their_keys_init_and_outputs():
    m = _random_model(0)
    assert list(m.state_dict()) == OLD_KEYS
    assert "n_classes" in ModelConfig().to_dict() and ModelConfig().n_classes == 0
    # a state dict saved without the new field loads into the default config and gives the old outputs
    fresh = build_model({k: v for k, v in m.config.to_dict().items() if k != "n_classes"})
    fresh.load_state_dict(m.state_dict())
    x = torch.randn(40, 2, generator=torch.Generator().manual_seed(5)) * 2
    per_point = torch.rand(40, 1, generator=torch.Generator().manual_seed(6)) + 0.05
    with torch.no_grad():
        assert torch.allclose(fresh(x, per_point), _old_forward(m, x, per_point), atol=1e-6)
        assert torch.allclose(fresh(x, 0.4), _old_forward(m, x, 0.4), atol=1e-5)     # the folded-bias path
    # the shared layers of a conditional model draw exactly the unconditional init
    torch.manual_seed(9)
    a = build_model(ModelConfig(depth=3, n_classes=0))
    torch.manual_seed(9)
    b = build_model(ModelConfig(depth=3, n_classes=6))
    assert set(b.state_dict()) - set(a.state_dict()) == {"label_embedding.weight"}
    assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in OLD_KEYS)


def test_conditional_fast_path_matches_per_point_labels():
    m = _random_model(6)
    x = torch.randn(30, 2, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        one = m(x, 0.3, 4)                                              # label folded into the bias
        each = m(x, torch.full((30, 1), 0.3), torch.full((30,), 4))     # generic path
        assert torch.allclose(one, each, atol=1e-5)
        assert not torch.allclose(m(x, 0.3, 4), m(x, 0.3, 1), atol=1e-3)   # labels matter


def test_unconditional_training_is_untouched_by_the_new_options():
    a = Trainer(DICE, TrainConfig(batch=64, seed=3, device="cpu"))
    b = Trainer(DICE, TrainConfig(batch=64, seed=3, device="cpu", conditional=False, label_dropout=0.5))
    assert a.train(5) == b.train(5)
    assert not any(k.startswith("label_embedding") for k in a.model.state_dict())


# ----- conditional training ----------------------------------------------------------------------------

def test_batches_carry_the_class_of_their_component_and_dropout_nulls_some():
    tr = Trainer(DICE, TrainConfig(batch=2000, seed=1, device="cpu", conditional=True, label_dropout=0.25))
    assert tr.model.config.n_classes == 6
    x, labels = tr._labelled_batch()
    assert (DICE.classify(x) == labels.numpy()).mean() > 0.99
    seen = []
    raw = tr.model.raw
    tr.model.raw = lambda y, s, lab=None: (seen.append(lab), raw(y, s, lab))[1]
    tr.train(1)
    nulls = float((seen[0] == 6).float().mean())
    assert 0.2 < nulls < 0.3
    # "roll the dice N times" keeps each roll's label
    tr.set_target(DICE, dataset_size=50)
    assert tr.dataset_labels.shape == (50,)
    assert np.array_equal(DICE.classify(tr.dataset), tr.dataset_labels.numpy())
    x, labels = tr._labelled_batch()
    assert np.array_equal(DICE.classify(x), labels.numpy())


def test_short_conditional_training_guides_into_the_chosen_face():
    torch.manual_seed(0)
    tr = Trainer(DICE, TrainConfig(batch=256, seed=0, device="cpu", conditional=True))
    tr.train(1000)
    src = tr.source()
    for c in (0, 3):                                      # the rarest face and a middle one
        x = sample("ode-heun", GuidedSource(src, c, 3.0), 1000, seed=7, steps=15)
        assert (DICE.classify(x) == c).mean() > 0.8, c
    # unguided, the same network still rolls the loaded die (face 6 most, not one face only)
    x = sample("ode-heun", GuidedSource(src, 0, 0.0), 1000, seed=7, steps=15)
    w = DICE.empirical_weights(x)
    assert w.argmax() == 5 and w.max() < 0.5


def test_conditional_checkpoint_round_trip(tmp_path):
    tr = Trainer(DICE, TrainConfig(batch=64, seed=2, device="cpu", conditional=True))
    tr.train(5)
    path = tmp_path / "c.pt"
    save_checkpoint(tr, path)
    state = torch.load(path, weights_only=True)
    assert state["config"]["conditional"] is True and state["config"]["model"]["n_classes"] == 6
    model = load_model(path)
    assert model.config.n_classes == 6
    x = torch.randn(20, 2)
    with torch.no_grad():
        for label in (None, 0, 5):
            assert torch.equal(model(x, 0.5, label), tr.ema_model.eval()(x, 0.5, label))
    again = Trainer(DICE, TrainConfig.from_dict(state["config"]))
    again.load_state_dict(state)
    assert again.config.conditional and again.step == 5
