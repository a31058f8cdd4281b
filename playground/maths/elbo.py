"""The variational bound (ELBO) of a K-step discrete diffusion, beside the exact log-likelihood.

Chain in the scale-free frame on levels s_1 < ... < s_K (a schedule's K levels): q(y_t | x0) =
N(x0, s_t^2 I), Markov forward steps y_t = y_{t-1} + sqrt(s_t^2 - s_{t-1}^2) z. The model reverses
it with Gaussian kernels p(y_{t-1} | y_t) = q(y_{t-1} | y_t, x0 = D(y_t, s_t)) (DDPM's posterior
variance), decodes with p(x0 | y_1) = N(D(y_1, s_1), s_1^2 I), and starts from p(y_K) = N(m, s_K^2 I)
with m the source's start_centre, where its samplers start:
    -ELBO = |x0 - m|^2 / 2s_K^2  +  sum_{t=2..K} (1/s_{t-1}^2 - 1/s_t^2) |x0 - D(y_t, s_t)|^2 / 2
            +  |x0 - D(y_1, s_1)|^2 / 2s_1^2 + log(2 pi s_1^2),          y_t ~ q(y_t | x0).
Every term is a KL between Gaussians of equal covariance, so the sum is exact given one draw of
y_t per level (Monte Carlo only in y_t). The decoder is a density on the continuous x0, so the
model is a density and E[-ELBO] >= E[-log p_model(x0)] >= the true NLL (cross-entropy >= entropy).
The bound is the same in a VP frame with the same sigma/alpha (each KL is invariant).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from playground.maths.schedules import get_schedule
from playground.maths.sources import ExactSource, Source

ELBO_SCHEDULE = "ve"        # levels equally spaced in log s, from 0.002 to 80
DEFAULT_ELBO_STEPS = 1000


def elbo_levels(steps: int, schedule: str = ELBO_SCHEDULE) -> np.ndarray:
    """The chain's K levels s_1 < ... < s_K: the schedule's K sampling levels, low to high."""
    if not (1 <= int(steps) <= 100_000):
        raise ValueError(f"ELBO steps must be between 1 and 100000, got {steps}")
    return get_schedule(schedule).levels(int(steps)).level[:-1][::-1].copy()


def negative_elbo(source: Source, x, steps: int = DEFAULT_ELBO_STEPS, seed: int = 0,
                  schedule: str = ELBO_SCHEDULE, progress=None) -> dict[str, np.ndarray]:
    """Per-point terms of -ELBO in nats: "prior", "diffusion" (the K-1 KL terms), "reconstruction"
    and their sum "elbo". `progress(fraction)` may return False to stop (compare.Cancelled)."""
    from playground.maths.progress import Cancelled

    dtype = torch.float64 if isinstance(source, ExactSource) else torch.float32
    x0 = torch.as_tensor(x).to(device=source.device, dtype=dtype)
    level = elbo_levels(steps, schedule)
    gen = torch.Generator().manual_seed(int(seed))
    diffusion = torch.zeros(len(x0), dtype=torch.float64)
    reconstruction = None
    with torch.no_grad():
        for t in range(len(level)):
            s = float(level[t])
            y = x0 + s * torch.randn(x0.shape, generator=gen, dtype=dtype).to(source.device)
            err = ((x0 - source.denoise(y, s).to(dtype)) ** 2).sum(1).double().cpu()
            if t == 0:
                reconstruction = err / (2 * s * s) + math.log(2 * math.pi * s * s)
            else:
                diffusion += 0.5 * (1 / level[t - 1] ** 2 - 1 / s**2) * err
            if progress is not None and t % 20 == 19 and progress((t + 1) / len(level)) is False:
                raise Cancelled()
    centre = source.start_centre(float(level[-1])).double().cpu()
    prior = ((x0.double().cpu() - centre) ** 2).sum(1) / (2 * level[-1] ** 2)
    total = prior + diffusion + reconstruction
    if progress is not None and progress(1.0) is False:
        raise Cancelled()
    return {"elbo": total.numpy(), "prior": prior.numpy(), "diffusion": diffusion.numpy(),
            "reconstruction": reconstruction.numpy()}
