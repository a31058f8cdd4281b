"""What every sampler step shares: the yielded Step and the RunContext that holds source, levels and noise.

All samplers work in the scale-free frame y = x/alpha = x0 + s*eps with noise level
s = sigma/alpha (Karras et al.): there the probability-flow ODE is dy/ds = (y - D(y, s))/s, and
every schedule is just a choice of levels s_0 > s_1 > ... > s_K = 0. States are yielded back in
the schedule's own frame x = alpha*y.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from playground.maths.parametrization import eps_from_x0

from playground.maths.samplers.noise import NoiseStream
from playground.maths.schedules import Levels, Schedule
from playground.maths.sources import Source


@dataclass
class Step:
    i: int                      # 0 = the initial noise, K = the final sample
    t: float
    alpha: float
    sigma: float
    x: torch.Tensor             # state in the schedule's frame, (n, 2)
    denoised: torch.Tensor | None  # current estimate of x0 (None before the first evaluation)
    nfe: int

    @property
    def level(self) -> float:
        """The scale-free noise level sigma/alpha."""
        return self.sigma / self.alpha if self.alpha > 0 else math.inf


@dataclass
class RunContext:
    """Everything a sampler step function needs besides its own options."""
    source: Source
    levels: Levels
    schedule: Schedule
    noise: NoiseStream

    def step(self, i: int, y: torch.Tensor, denoised, level_override: float | None = None) -> Step:
        if level_override is None:
            a, sig, t = self.levels.alpha[i], self.levels.sigma[i], self.levels.t[i]
        else:   # an adaptive or fixed level that is not on the level grid
            t = self.schedule.t_of_level(level_override) if level_override > 0 else 0.0
            a = float(self.schedule.alpha(t)) if level_override > 0 else 1.0
            sig = a * level_override
        return Step(i, float(t), float(a), float(sig), y * float(a), denoised, self.source.nfe)


def ode_derivative(y, denoised, s):
    """dy/ds of the probability-flow ODE (k-diffusion's to_d)."""
    return eps_from_x0(y, denoised, 1.0, s)
