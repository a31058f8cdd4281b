"""The seeds' other methods: the gradient-estimation sampler, classifier guidance and the ELBO.

Each is checked against the exact target: DDIM as the gamma = 1 special case, the closed-form
classifier gradient against autograd, guided samples against the exact class law, and the bound
against the exact NLL.
"""

import numpy as np
import pytest
import torch

from playground import load_preset
from playground.formats.checkpoint import CheckpointError, load_classifier, load_model, save_classifier
from playground.learning.classifier import ClassifierConfig, ClassifierTrainer, LearnedClassifier
from playground.maths.classifier_guidance import ClassifierGuidedSource, ExactClassifier, class_purity
from playground.maths.elbo import negative_elbo
from playground.maths.guidance import ExactGuidedSource, conditional_target
from playground.maths.metrics import sliced_w2
from playground.maths.samplers import sample, sample_steps
from playground.maths.sources import ExactSource

DICE = load_preset("loaded_dice").target
MOONS = load_preset("two_moons").target


pytestmark = pytest.mark.usefixtures("one_torch_thread")     # small batches: see conftest.py


# ----- gradient estimation ------------------------------------------------------------------------

def test_gamma_one_mu_zero_is_ddim():
    a = sample("gradient-estimation", ExactSource(MOONS), 500, seed=1, steps=10, gamma=1.0, mu=0.0)
    b = sample("ddim", ExactSource(MOONS), 500, seed=1, steps=10)
    assert float((a - b).abs().max()) <= 1e-3
    c = sample("gradient-estimation", ExactSource(MOONS), 500, seed=1, steps=10)
    assert float((c - b).abs().max()) > 0.05              # the default gamma = 2 is not DDIM


@pytest.mark.parametrize("name", ["loaded_dice", "two_moons"])
def test_gamma_two_beats_ddim_at_ten_steps(name):
    t = load_preset(name).target
    ratios = []
    for seed in range(2):
        ref = t.sample(2000, seed=100 + seed)
        ddim = sliced_w2(sample("ddim", ExactSource(t), 2000, seed=seed, steps=10), ref)
        ge = sliced_w2(sample("gradient-estimation", ExactSource(t), 2000, seed=seed, steps=10), ref)
        ratios.append(ge / ddim)
    assert np.mean(ratios) <= 0.7, ratios


def test_stochastic_gradient_estimation_reaches_the_target():
    n = 3000
    x = sample("gradient-estimation", ExactSource(DICE), n, seed=0, steps=100, mu=0.5)
    d = np.mean([sliced_w2(x, DICE.sample(n, seed=10 + k)) for k in range(3)])
    floor = np.mean([sliced_w2(DICE.sample(n, seed=20 + k), DICE.sample(n, seed=30 + k)) for k in range(3)])
    assert d <= 1.5 * floor, (d, floor)
    y = sample("gradient-estimation", ExactSource(DICE), n, seed=0, steps=100, mu=0.5, gamma=1.0)
    assert not torch.allclose(x, y)


@pytest.mark.parametrize("options", [{"mu": 1.0}, {"mu": -0.1}, {"mu": float("nan")}, {"gamma": float("inf")}])
def test_bad_gradient_estimation_options_are_refused_before_any_step(options):
    with pytest.raises(ValueError):
        next(sample_steps("gradient-estimation", ExactSource(DICE), 10, **options))


def test_options_of_other_samplers_are_refused():
    with pytest.raises(ValueError, match="not an option"):
        next(sample_steps("ddim", ExactSource(DICE), 10, gamma=2.0))


# ----- classifier guidance --------------------------------------------------------------------------

@pytest.mark.parametrize("level", [0.03, 0.4, 3.0])
def test_exact_classifier_gradient_is_the_gradient_of_its_log_posterior(level):
    c = ExactClassifier(MOONS)
    y = (MOONS.sample(200, seed=1) * 1.2).double()
    yy = y.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(c.log_posterior(yy, level)[:, 1].sum(), yy)
    assert torch.allclose(c.grad_log_posterior(y, level, 1), grad, atol=1e-8, rtol=1e-6)
    lv = torch.full((200,), level, dtype=torch.float64)
    assert torch.allclose(c.log_posterior_per_point(y, lv), c.log_posterior(y, level), atol=1e-10)
    assert torch.allclose(c.log_posterior(y, level).exp().sum(1), torch.ones(200, dtype=torch.float64))


def test_exact_classifier_guidance_is_exact_classifier_free_guidance():
    """Bayes: grad log p(c|y) = score_c - score, so both kinds coincide when both parts are exact."""
    y = DICE.sample(300, seed=2) * 1.5
    for s in (0.05, 0.7, 5.0):
        a = ClassifierGuidedSource(ExactSource(DICE), ExactClassifier(DICE), 3, 3.0).denoise(y, s)
        b = ExactGuidedSource(DICE, 3, 3.0).denoise(y, s)
        assert torch.allclose(a, b, atol=1e-4)


def test_exact_classifier_guidance_samples_the_class_law():
    c, n = 5, 3000
    cond = conditional_target(DICE, c)
    x1 = sample("ode-heun", ClassifierGuidedSource(ExactSource(DICE), ExactClassifier(DICE), c, 1.0), n, seed=0, steps=25)
    x3 = sample("ode-heun", ClassifierGuidedSource(ExactSource(DICE), ExactClassifier(DICE), c, 3.0), n, seed=0, steps=25)
    d = np.mean([sliced_w2(x1, cond.sample(n, seed=100 + k)) for k in range(4)])
    floor = np.mean([sliced_w2(cond.sample(n, seed=200 + k), cond.sample(n, seed=300 + k)) for k in range(4)])
    assert d <= 1.3 * floor, (d, floor)
    assert class_purity(DICE, x1, c) >= 0.98
    assert class_purity(DICE, x3, c) >= class_purity(DICE, x1, c)
    plain = sample("ode-heun", ExactSource(DICE), n, seed=0, steps=25)
    assert class_purity(DICE, plain, c) < 0.5


def test_a_short_learned_classifier_reaches_bayes_accuracy_and_guides(tmp_path):
    tr = ClassifierTrainer(DICE, ClassifierConfig(seed=0, batch=256))
    losses = tr.train(150)
    assert len(losses) == 150 and tr.step == 150 and np.mean(losses[-20:]) < 0.6 * np.mean(losses[:5])
    acc = tr.accuracy(n=3000, seed=1)
    assert acc["accuracy"] >= acc["bayes_accuracy"] - 0.05, acc
    save_classifier(tr, tmp_path / "c.pt")
    assert torch.load(tmp_path / "c.pt", weights_only=True)["class_names"] == DICE.group_names
    model, names = load_classifier(tmp_path / "c.pt")
    y = DICE.sample(50, seed=4)
    assert torch.equal(model(y, 0.3), tr.model.eval()(y, 0.3)) and names == DICE.group_names
    x = sample("ddim", ClassifierGuidedSource(ExactSource(DICE), LearnedClassifier(model), 2, 1.0), 2000, seed=0,
               steps=30)
    assert class_purity(DICE, x, 2) >= 0.9
    with pytest.raises(CheckpointError):
        load_model(tmp_path / "c.pt")                  # a classifier is not a denoiser...
    with pytest.raises(CheckpointError):
        load_classifier(tmp_path / "missing.pt")


# ----- ELBO -------------------------------------------------------------------------------------------

def test_exact_elbo_bounds_the_true_nll_and_tightens_with_steps():
    t = load_preset("eight_gaussians").target
    x = t.sample(800, seed=0)
    true = -t.log_prob(x.double()).numpy()
    gaps = {}
    for k in (10, 100, 1000):
        terms = negative_elbo(ExactSource(t), x, steps=k, seed=1)
        assert np.allclose(terms["elbo"], terms["prior"] + terms["diffusion"] + terms["reconstruction"])
        diff = terms["elbo"] - true
        gaps[k] = (diff.mean(), diff.std() / np.sqrt(len(diff)))
    gap, se = gaps[1000]
    assert -3 * se <= gap <= 0.25, gaps                # a bound, and a tight one at K = 1000
    assert gaps[10][0] > gaps[100][0] > gap + 3 * se, gaps
