"""Samplers driven by the score plus fresh noise: the reverse SDE and (annealed) Langevin dynamics.
The score is (D - y)/s^2 in the scale-free frame."""
from __future__ import annotations

import math
from typing import Iterator

import torch

from playground.maths.parametrization import score_from_x0

from playground.maths.samplers.run import RunContext, Step, level_steps


def sde_euler(run: RunContext, y: torch.Tensor) -> Iterator[Step]:
    """Euler–Maruyama on the reverse SDE dy = -d(s^2) score + sqrt(d(s^2)) dW; last step to D.

    y' = y + (s^2 - s'^2) score + sqrt(s^2 - s'^2) z,  score = (D - y)/s^2.
    """
    def update(y, denoised, s, s_next, i):
        dvar = s**2 - s_next**2
        return y + dvar * score_from_x0(y, denoised, 1.0, s) + math.sqrt(dvar) * run.noise.between(i, s, s_next)
    yield from level_steps(run, y, update)


def annealed_langevin(run: RunContext, y: torch.Tensor, inner: int = 2, ratio: float = 0.1) -> Iterator[Step]:
    """Annealed Langevin over the schedule's K levels: `inner` Langevin steps at each level s,
    y <- y + eta * score + sqrt(2 eta) z with score = (D - y)/s^2 and eta = ratio * s^2.

    Moving to the next level s', the noise part of y is first shrunk to it,
    y <- D + (s'/s)(y - D) (Song et al.'s predictor-corrector form). Without that move a step
    eta ~ s^2 is far too small to pull particles in once s is below a component's width: they
    freeze and the samples come out too wide unless thousands of steps are spent.
    """
    level = run.levels.level
    i = 0
    for k_level in range(len(level) - 1):
        s, s_next = level[k_level], level[k_level + 1]
        eta = ratio * s**2
        s_low = s_next if s_next > 0 else 0.5 * s     # inner draws: sub-intervals of [s_low, s] in log s
        bounds = [s * (s_low / s) ** (k / inner) for k in range(inner + 1)]
        for k in range(inner):
            denoised = run.source.denoise(y, s)
            y = y + eta * score_from_x0(y, denoised, 1.0, s) + math.sqrt(2 * eta) * run.noise.between(i, bounds[k], bounds[k + 1])
            i += 1
        denoised = run.source.denoise(y, s)
        y = denoised + (s_next / s) * (y - denoised)
        yield run.step(k_level + 1, y, denoised)


def langevin(run: RunContext, y: torch.Tensor, level: float = 0.1, step_size: float | None = None) -> Iterator[Step]:
    """Unadjusted Langevin on the score at one small fixed level, started from eps.

    With one level there is no annealing: a particle falls into the mode nearest its start and
    rarely crosses the low-density gap, so mode weights follow the start, not the target.
    Step eta = level^2 keeps the update stable for any target (its curvature is <= 1/level^2).
    """
    k_total = len(run.levels.level) - 1
    eta = level**2 if step_size is None else float(step_size)
    for i in range(k_total):
        denoised = run.source.denoise(y, level)
        y = y + eta * score_from_x0(y, denoised, 1.0, level) + math.sqrt(2 * eta) * run.noise(i)
        yield run.step(i + 1, y, denoised, level_override=level)
