"""The sampler's starting cloud is centred on the source's own mean (Source.start_centre).

Starting at 0 instead of the data mean m shifts the cloud by m/s_max standard deviations; for
far-apart modes of unequal weight the ODE then hands a few percent of the mass to the wrong mode.
"""
import numpy as np
import torch

from playground.maths.guidance import ExactGuidedSource
from playground.maths.mixture import GaussianMixture
from playground.maths.samplers import initial_noise, sample
from playground.maths.sources import ExactSource
from playground.maths.targets import Target

# Two tight modes 16 apart, 0.8 / 0.2: the mean sits at (-4.8, 3), 0.07 noise std off the origin at s = 80.
FAR = Target(GaussianMixture([0.8, 0.2], [[-8.0, 3.0], [8.0, 3.0]], np.array([np.eye(2) * 0.1] * 2)),
             {"kind": "mixture"})
N = 20_000


def _heavy_fraction(x) -> float:
    return float(np.mean(FAR.mixture.responsibilities(x).argmax(1).numpy() == 0))


def test_exact_start_centre_is_the_target_mean_and_costs_no_nfe():
    src = ExactSource(FAR)
    m = src.start_centre(80.0)
    # the fixed point is the mode of the noised law: within (spread / s)^2 * spread = 0.04 of its mean
    assert torch.allclose(m, torch.tensor([-4.8, 3.0]), atol=0.05)
    assert src.nfe == 0


def test_conditional_and_guided_sources_start_at_their_own_mean():
    assert torch.allclose(ExactGuidedSource(FAR, 1, 1.0).start_centre(80.0), torch.tensor([8.0, 3.0]), atol=0.05)
    # guidance scale 2: D_u + 2 (D_c - D_u), whose fixed point is mu + 2 (mu_c - mu)
    assert torch.allclose(ExactGuidedSource(FAR, 1, 2.0).start_centre(80.0), torch.tensor([20.8, 3.0]), atol=0.2)


def test_probability_flow_keeps_far_mode_weights_with_the_centred_start():
    src = ExactSource(FAR)
    got = _heavy_fraction(sample("ode-heun", src, N, seed=0, steps=30))
    # the same run from the uncentred cloud (start = eps - m/80 undoes the centring)
    off = _heavy_fraction(sample("ode-heun", src, N, seed=0, steps=30,
                                 start=initial_noise(N, 0) - src.start_centre(80.0) / 80.0))
    sd = (0.8 * 0.2 / N) ** 0.5                                  # binomial std, 0.0028
    assert abs(got - 0.8) < 3 * sd, got
    assert off < 0.8 - 3 * sd, off                               # what the fix removes


def test_a_non_finite_denoiser_falls_back_to_the_origin():
    class Broken(ExactSource):
        def _denoise(self, y, level):
            return torch.full_like(y, float("nan"))
    assert torch.equal(Broken(FAR).start_centre(80.0), torch.zeros(2))


def _far_shifted_by(c):
    return Target(GaussianMixture([0.8, 0.2], [[-8.0 + c[0], 3.0 + c[1]], [8.0 + c[0], 3.0 + c[1]]],
                                  np.array([np.eye(2) * 0.1] * 2)), {"kind": "mixture"})


def test_likelihood_and_elbo_do_not_depend_on_where_the_data_sits():
    """Moving target and points together moves nothing: the prior N(m, s_max^2) moves with them.
    A prior fixed at the origin would change the NLL by ~|c|^2 / (2 * 80^2) = 0.1 nats here."""
    from playground.maths.elbo import negative_elbo
    from playground.maths.likelihood import nll
    c = torch.tensor([30.0, -20.0], dtype=torch.float64)
    x = FAR.sample(40, seed=5)
    here, there = ExactSource(FAR), ExactSource(_far_shifted_by(c))
    assert np.allclose(nll(here, x), nll(there, x + c), atol=2e-3)
    a, b = negative_elbo(here, x, steps=50, seed=1), negative_elbo(there, x + c, steps=50, seed=1)
    assert np.allclose(a["prior"], b["prior"], atol=1e-4) and abs(a["elbo"].mean() - b["elbo"].mean()) < 2e-3
