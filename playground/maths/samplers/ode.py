"""Deterministic solvers of the probability-flow ODE dy/ds = (y - D(y, s))/s: Euler, Heun,
DPM-Solver++(2M) and adaptive RK45."""
from __future__ import annotations

import math
from typing import Iterator

import torch

from playground.maths.samplers.run import RunContext, Step, ode_derivative


def ode_euler(run: RunContext, y: torch.Tensor) -> Iterator[Step]:
    """Euler on dy/ds = (y - D)/s. In this frame it coincides with DDIM (eta = 0)."""
    level = run.levels.level
    for i in range(len(level) - 1):
        denoised = run.source.denoise(y, level[i])
        y = y + (level[i + 1] - level[i]) * ode_derivative(y, denoised, level[i])
        yield run.step(i + 1, y, denoised)


def ode_heun(run: RunContext, y: torch.Tensor) -> Iterator[Step]:
    """Heun's 2nd-order method (EDM Algorithm 1); the last step to s = 0 is plain Euler."""
    level = run.levels.level
    for i in range(len(level) - 1):
        s, s_next = level[i], level[i + 1]
        denoised = run.source.denoise(y, s)
        slope = ode_derivative(y, denoised, s)
        y_euler = y + (s_next - s) * slope
        if s_next == 0:
            y = y_euler
        else:
            slope2 = ode_derivative(y_euler, run.source.denoise(y_euler, s_next), s_next)
            y = y + (s_next - s) * 0.5 * (slope + slope2)
        yield run.step(i + 1, y, denoised)


def dpm_solver_pp_2m(run: RunContext, y: torch.Tensor) -> Iterator[Step]:
    """DPM-Solver++(2M): exact in the linear part, 2nd-order multistep on the denoised estimate."""
    level = run.levels.level
    old = None
    for i in range(len(level) - 1):
        s, s_next = level[i], level[i + 1]
        denoised = run.source.denoise(y, s)
        if s_next == 0:
            y = denoised
        else:
            h = math.log(s / s_next)
            extrapolated = denoised
            if old is not None:
                r = math.log(level[i - 1] / s) / h
                extrapolated = (1 + 1 / (2 * r)) * denoised - (1 / (2 * r)) * old
            y = (s_next / s) * y - math.expm1(-h) * extrapolated
        old = denoised
        yield run.step(i + 1, y, denoised)


def ode_rk45(run: RunContext, y: torch.Tensor, rtol: float = 1e-4, atol: float = 1e-4) -> Iterator[Step]:
    """Adaptive Dormand–Prince (scipy's RK45) on dy/du = y - D(y, e^u), u = log s; then y = D."""
    from scipy.integrate import RK45

    level = run.levels.level
    s_max, s_min = level[0], level[-2]
    shape, dtype, device = y.shape, y.dtype, y.device

    def f(u, flat):
        yy = torch.from_numpy(flat.reshape(shape)).to(device=device, dtype=dtype)
        return (yy - run.source.denoise(yy, math.exp(u))).double().cpu().numpy().ravel()

    solver = RK45(f, math.log(s_max), y.double().cpu().numpy().ravel(), math.log(s_min),
                  rtol=rtol, atol=atol)
    i = 0
    while solver.status == "running":
        solver.step()
        if solver.status == "failed":
            raise RuntimeError(f"RK45 failed: {solver.message}")
        i += 1
        y = torch.from_numpy(solver.y.reshape(shape)).to(device=device, dtype=dtype)
        yield run.step(i, y, None, level_override=math.exp(solver.t))
    denoised = run.source.denoise(y, s_min)
    yield run.step(i + 1, denoised, denoised, level_override=0.0)
