"""Deterministic solvers of the probability-flow ODE dy/ds = (y - D(y, s))/s: Euler, Heun,
DPM-Solver++(2M) and adaptive RK45."""
from __future__ import annotations

import math
from typing import Iterator

import torch

from playground.maths.samplers.run import RunContext, Step, level_steps, ode_derivative


def ode_euler(run: RunContext, y: torch.Tensor) -> Iterator[Step]:
    """Euler on dy/ds = (y - D)/s: y' = y + (s' - s)(y - D)/s. In this frame it is DDIM (eta = 0)."""
    def update(y, denoised, s, s_next, i):
        return y + (s_next - s) * ode_derivative(y, denoised, s)
    yield from level_steps(run, y, update, jump_to_denoised=False)


def ode_heun(run: RunContext, y: torch.Tensor) -> Iterator[Step]:
    """Heun's 2nd-order method (EDM Algorithm 1); the last step to s = 0 is plain Euler.

    y' = y + (s' - s)(d(y, s) + d(y_euler, s'))/2,  y_euler = y + (s' - s) d(y, s),  d = (y - D)/s.
    """
    def update(y, denoised, s, s_next, i):
        slope = ode_derivative(y, denoised, s)
        y_euler = y + (s_next - s) * slope
        if s_next == 0:
            return y_euler
        slope2 = ode_derivative(y_euler, run.source.denoise(y_euler, s_next), s_next)
        return y + (s_next - s) * 0.5 * (slope + slope2)
    yield from level_steps(run, y, update, jump_to_denoised=False)


def dpm_solver_pp_2m(run: RunContext, y: torch.Tensor) -> Iterator[Step]:
    """DPM-Solver++(2M): exact in the linear part, 2nd-order multistep on the denoised estimate.

    y' = (s'/s) y - expm1(-h) D_bar,  h = log(s/s'),  D_bar = D + (D - D_prev)/2r,  r = log(s_prev/s)/h.
    """
    level = run.levels.level
    old = None

    def update(y, denoised, s, s_next, i):
        nonlocal old
        h = math.log(s / s_next)
        extrapolated = denoised
        if old is not None:
            r = math.log(level[i - 1] / s) / h
            extrapolated = (1 + 1 / (2 * r)) * denoised - (1 / (2 * r)) * old
        old = denoised
        return (s_next / s) * y - math.expm1(-h) * extrapolated
    yield from level_steps(run, y, update)


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
