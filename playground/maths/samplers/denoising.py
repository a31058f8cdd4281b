"""Samplers that step through the denoised estimate: DDIM, DDPM and gradient estimation.

Each step asks the source for denoised = D(y, s) and its implied noise eps_hat = (y - denoised)/s,
then places y at the next level s' by re-noising denoised with (part of) eps_hat.
"""
from __future__ import annotations

import math
from typing import Iterator

import torch

from playground.maths.parametrization import eps_from_x0

from playground.maths.samplers.run import RunContext, Step, level_steps


def ddim(run: RunContext, y: torch.Tensor, eta: float = 0.0) -> Iterator[Step]:
    """DDIM with stochasticity eta; eta = 1 is DDPM's ancestral sampler on the same levels.

    y' = D + sqrt(s'^2 - c^2) * eps_hat + c z,  c = eta * s' * sqrt(1 - s'^2/s^2).
    """
    def update(y, denoised, s, s_next, i):
        eps = eps_from_x0(y, denoised, 1.0, s)
        c = eta * s_next * math.sqrt(max(0.0, 1 - (s_next / s) ** 2))
        y = denoised + math.sqrt(max(0.0, s_next**2 - c**2)) * eps
        return y + c * run.noise.between(i, s, s_next) if c > 0 else y
    yield from level_steps(run, y, update)


def ddpm(run: RunContext, y: torch.Tensor) -> Iterator[Step]:
    """Ancestral sampling: draw x_{s'} from the Gaussian posterior q(x_{s'} | x_s, x0 = D)."""
    yield from ddim(run, y, eta=1.0)


GAMMA, MU = 2.0, 0.0


def check_gradient_estimation(gamma: float = GAMMA, mu: float = MU) -> None:
    if not math.isfinite(gamma):
        raise ValueError(f"gamma must be a finite number, got {gamma}")
    if not (math.isfinite(mu) and 0.0 <= mu < 1.0):
        raise ValueError(f"mu must be in [0, 1), got {mu}")


def gradient_estimation(run: RunContext, y: torch.Tensor, gamma: float = GAMMA, mu: float = MU) -> Iterator[Step]:
    """Permenter & Yuan (2024), smalldiffusion's samples(gam, mu): DDIM with averaged noise estimates.

    eps_bar = gamma eps_i + (1 - gamma) eps_{i-1};  y' = y - (s - s_p) eps_bar + sqrt(s'^2 - s_p^2) z,
    s_p = (s' / s^mu)^(1/(1-mu)). gamma = 1, mu = 0 is DDIM; mu = 1/2 is DDPM's noise split.
    The last step to s' = 0 is taken like every other (s_p = 0), so it lands on
    D + s (gamma - 1)(eps_{i-1} - eps_i) rather than on D: the correction also refines the end point.
    """
    check_gradient_estimation(gamma, mu)
    eps_prev = None

    def update(y, denoised, s, s_next, i):
        nonlocal eps_prev
        eps = eps_from_x0(y, denoised, 1.0, s)
        eps_bar = eps if eps_prev is None else gamma * eps + (1 - gamma) * eps_prev
        eps_prev = eps
        s_p = (s_next / s**mu) ** (1 / (1 - mu)) if s_next > 0 else 0.0
        y = y - (s - s_p) * eps_bar
        return y + math.sqrt(s_next**2 - s_p**2) * run.noise.between(i, s, s_next) if s_next > s_p else y
    yield from level_steps(run, y, update, jump_to_denoised=False)
