"""What every sampler step shares: the yielded Step, the RunContext that holds source, levels and
noise, and level_steps, the loop over the levels that each level-stepping sampler feeds its update rule.

All samplers work in the scale-free frame y = x/alpha = x0 + s*eps with noise level
s = sigma/alpha (Karras et al.): there the probability-flow ODE is dy/ds = (y - D(y, s))/s, and
every schedule is just a choice of levels s_0 > s_1 > ... > s_K = 0. States are yielded back in
the schedule's own frame x = alpha*y.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterator

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


def start_state(source: Source, level: float, eps: torch.Tensor) -> torch.Tensor:
    """The scale-free state a run starts from: y = m + level * eps, m the source's start_centre."""
    return source.start_centre(level).to(eps.device, eps.dtype) + float(level) * eps


def ode_derivative(y, denoised, s):
    """dy/ds of the probability-flow ODE (k-diffusion's to_d)."""
    return eps_from_x0(y, denoised, 1.0, s)


Update = Callable[[torch.Tensor, torch.Tensor, float, float, int], torch.Tensor]


def level_steps(run: RunContext, y: torch.Tensor, update: Update, jump_to_denoised: bool = True) -> Iterator[Step]:
    """Walk the level pairs (s, s') = (s_i, s_{i+1}) (smalldiffusion's pairwise(sigmas)), so a sampler
    is only its rule: y <- update(y, denoised, s, s', i) with denoised = D(y, s), then yield step i+1.

    jump_to_denoised: the step to s' = 0 lands on denoised itself instead of calling update.
    """
    level = run.levels.level
    for i in range(len(level) - 1):
        s, s_next = level[i], level[i + 1]
        denoised = run.source.denoise(y, s)
        y = denoised if jump_to_denoised and s_next == 0 else update(y, denoised, s, s_next, i)
        yield run.step(i + 1, y, denoised)
