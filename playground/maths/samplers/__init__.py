"""Samplers as generators: each yields the state after every step, so an animation, the CLI
and the tests all watch the very same run.

All of them work in the scale-free frame y = x/alpha = x0 + s*eps with noise level s = sigma/alpha
(see run.py); given a seed, every sampler starts from the same noise eps and step i of every
stochastic sampler draws the same Gaussian z_i (see noise.py). The update rules live by idea:
denoising.py (DDIM, DDPM, gradient estimation), ode.py (probability-flow ODE solvers) and
stochastic.py (reverse SDE, Langevin); this module is the table of them and the loop that runs one.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Callable, Iterator

import torch

from playground.maths.samplers.denoising import check_gradient_estimation, ddim, ddpm, gradient_estimation
from playground.maths.samplers.noise import BrownianPath, NoiseStream, initial_noise
from playground.maths.samplers.ode import dpm_solver_pp_2m, ode_euler, ode_heun, ode_rk45
from playground.maths.samplers.run import RunContext, Step, ode_derivative, start_state
from playground.maths.samplers.stochastic import annealed_langevin, langevin, sde_euler
from playground.maths.schedules import DEFAULT_SCHEDULE, Schedule, get_schedule
from playground.maths.sources import Source

__all__ = ["SAMPLERS", "SamplerInfo", "DEFAULT_STEPS", "check_options", "sample", "sample_steps", "initial_noise", "NoiseStream",
           "BrownianPath", "Step", "RunContext", "ode_derivative"]


@dataclass(frozen=True)
class SamplerInfo:
    """The maths registry: the generator and its flags. Words (label, tooltip, update rule, what to
    look for) live in one table, playground.maths.samplers.explanations.EXPLANATIONS."""
    fn: Callable
    stochastic: bool = False
    starts_from_unit_noise: bool = False
    check: Callable[..., None] | None = None     # validates the sampler's options before the run starts

    @property
    def options(self) -> dict[str, object]:
        """The keyword options of the update rule and their defaults (e.g. {"gamma": 2.0, "mu": 0.0})."""
        params = list(inspect.signature(self.fn).parameters.values())[2:]
        return {p.name: p.default for p in params}


SAMPLERS: dict[str, SamplerInfo] = {
    "ddpm": SamplerInfo(ddpm, stochastic=True),
    "ddim": SamplerInfo(ddim),
    "gradient-estimation": SamplerInfo(gradient_estimation, check=check_gradient_estimation),
    "ode-euler": SamplerInfo(ode_euler),
    "ode-heun": SamplerInfo(ode_heun),
    "ode-rk45": SamplerInfo(ode_rk45),
    "dpm-solver++": SamplerInfo(dpm_solver_pp_2m),
    "sde-euler": SamplerInfo(sde_euler, stochastic=True),
    "annealed-langevin": SamplerInfo(annealed_langevin, stochastic=True),
    "langevin": SamplerInfo(langevin, stochastic=True, starts_from_unit_noise=True),
}
DEFAULT_STEPS = 50


def check_options(sampler: str, options: dict) -> None:
    """Refuse options the sampler does not take, and values its own check refuses (ValueError)."""
    info = SAMPLERS[sampler]
    unknown = sorted(set(options) - set(info.options))
    if unknown:
        raise ValueError(f"{', '.join(unknown)}: not an option of {sampler}")
    if info.check is not None:
        info.check(**options)


def sample_steps(sampler: str, source: Source, n: int, seed: int = 0, steps: int = DEFAULT_STEPS,
                 schedule: Schedule | str = DEFAULT_SCHEDULE, eta: float | None = None,
                 brownian_path: bool = False, start: torch.Tensor | None = None, **options) -> Iterator[Step]:
    """Yield Step 0 (the initial noise, y = m + s_max * eps with m the source's start_centre) and then
    the state after every sampler step.

    options: the sampler's own keyword options (SAMPLERS[name].options), e.g. gamma and mu.
    brownian_path: stochastic steps take their noise from one BrownianPath keyed by noise level
    (runs with different step counts then share one Brownian motion) instead of by step index.
    start: the initial unit noise eps, (n, 2), instead of the seed's (reflow integrates given noise).
    """
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r} (one of {', '.join(SAMPLERS)})")
    info = SAMPLERS[sampler]
    if not (1 <= int(steps) <= 100_000):
        raise ValueError(f"steps must be between 1 and 100000, got {steps}")
    if n < 1:
        raise ValueError("need at least one particle")
    if eta is not None:
        if sampler != "ddim":
            raise ValueError("--eta only applies to ddim")
        if not (0.0 <= eta <= 1.0):
            raise ValueError(f"eta must be in [0, 1], got {eta}")
        options["eta"] = float(eta)
    check_options(sampler, options)
    sched = get_schedule(schedule) if isinstance(schedule, str) else schedule
    levels = sched.levels(int(steps))
    noise = (BrownianPath if brownian_path else NoiseStream)(n, seed, source.device)
    run = RunContext(source, levels, sched, noise)
    if start is not None and tuple(start.shape) != (n, 2):
        raise ValueError(f"start noise must have shape ({n}, 2), got {tuple(start.shape)}")
    eps = (initial_noise(n, seed) if start is None else start).to(source.device)
    if info.starts_from_unit_noise:
        y = eps
        yield Step(0, 1.0, 1.0, 1.0, y, None, source.nfe)
    else:
        y = start_state(source, levels.level[0], eps)
        yield run.step(0, y, None)
    yield from info.fn(run, y, **options)


def sample(sampler: str, source: Source, n: int, seed: int = 0, **kw) -> torch.Tensor:
    """The final sample of a run (float32 (n, 2) on CPU): record_run keeping the last frame only."""
    from playground.maths.samplers.record import final_sample
    return final_sample(sampler, source, n, seed, **kw)
