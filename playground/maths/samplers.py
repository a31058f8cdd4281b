"""Samplers as generators: each yields the state after every step, so an animation, the CLI
and the tests all watch the very same run.

All samplers work in the scale-free frame y = x/alpha = x0 + s*eps with s = sigma/alpha
(Karras et al.): there the probability-flow ODE is dy/ds = (y - D(y, s))/s, and every
schedule is just a choice of levels s_0 > s_1 > ... > s_K = 0. States are yielded back in
the schedule's own frame x = alpha*y. Given a seed, every sampler starts from the same
noise eps and step i of every stochastic sampler draws the same Gaussian z_i.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import torch

from playground.maths.parametrization import eps_from_x0, score_from_x0
from playground.maths.schedules import DEFAULT_SCHEDULE, Levels, Schedule, get_schedule
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


def initial_noise(n: int, seed: int) -> torch.Tensor:
    """The eps every sampler starts from for this seed (float32 (n, 2), CPU)."""
    return torch.randn(int(n), 2, generator=torch.Generator().manual_seed(int(seed)))


class NoiseStream:
    """Gaussian increments keyed by step index, so two samplers with one seed share them."""

    def __init__(self, n: int, seed: int, device):
        self.n, self.seed, self.device = int(n), int(seed), device

    def __call__(self, i: int) -> torch.Tensor:
        g = torch.Generator().manual_seed((self.seed * 1_000_003 + 7919 * (i + 1)) % (2**63))
        return torch.randn(self.n, 2, generator=g).to(self.device)

    def between(self, i: int, s: float, s_next: float) -> torch.Tensor:
        """The unit Gaussian of step i, which moves from level s to s_next: here the i-th draw."""
        return self(i)


BROWNIAN_S_MIN, BROWNIAN_S_MAX = 1e-6, 1e5      # levels the shared Brownian path covers
BROWNIAN_DEPTH = 26                             # bisections in log s: leaves ~4e-7 wide in u
BROWNIAN_CACHE_BYTES = 64 * 1024 * 1024


class BrownianPath(NoiseStream):
    """One Brownian motion W(v) in variance time v = s^2 per seed, shared by every step count.

    The reverse SDE's noise from level s to s' has variance s^2 - s'^2, so step noise
    z = (W(s^2) - W(s'^2)) / sqrt(s^2 - s'^2) is a unit Gaussian, and a coarse run's increments are
    sums of a fine run's: runs with different levels follow the same Brownian motion. W is a
    virtual Brownian tree (as k-diffusion's BrownianTreeNoiseSampler) bisected in u = log s, each
    midpoint drawn from its Brownian bridge with its own seed, so W at any level is reproducible
    without storing the path. Step-indexed draws (`__call__`) remain for one-level Langevin.
    """

    U_LO, U_HI = math.log(BROWNIAN_S_MIN), math.log(BROWNIAN_S_MAX)

    def __init__(self, n: int, seed: int, device, depth: int = BROWNIAN_DEPTH):
        super().__init__(n, seed, device)
        self.depth = int(depth)
        self._nodes: dict[tuple[int, int], torch.Tensor] = {}
        self._max_nodes = max(8, BROWNIAN_CACHE_BYTES // (16 * self.n))      # values never depend on it
        self._recent: dict[float, torch.Tensor] = {}

    def _v(self, frac: float) -> float:
        return math.exp(2 * (self.U_LO + frac * (self.U_HI - self.U_LO)))

    def _gauss(self, d: int, j: int) -> torch.Tensor:
        key = np.random.SeedSequence([self.seed % 2**63, 0xB7, d, j]).generate_state(1, dtype=np.uint64)[0]
        g = torch.Generator().manual_seed(int(key) % 2**63)
        return torch.randn(self.n, 2, generator=g, dtype=torch.float64)

    def _node(self, d: int, j: int, wa, wb, va: float, vb: float, vm: float) -> torch.Tensor:
        """W at the dyadic point j/2^d: the bridge between its parent interval's ends, plus its own draw."""
        w = self._nodes.get((d, j))
        if w is None:
            if len(self._nodes) >= self._max_nodes:
                self._nodes.clear()
            w = wa + (vm - va) / (vb - va) * (wb - wa) + math.sqrt((vm - va) * (vb - vm) / (vb - va)) * self._gauss(d, j)
            self._nodes[(d, j)] = w
        return w

    def w(self, s: float) -> torch.Tensor:
        """W(s^2) (float64 (n, 2), CPU); W = 0 at and below BROWNIAN_S_MIN."""
        s = float(s)
        if not s <= BROWNIAN_S_MAX:
            raise ValueError(f"noise level {s:g} is above the shared Brownian path's range ({BROWNIAN_S_MAX:g})")
        if s <= BROWNIAN_S_MIN:
            return torch.zeros(self.n, 2, dtype=torch.float64)
        frac = (math.log(s) - self.U_LO) / (self.U_HI - self.U_LO)
        v0, v1 = self._v(0.0), self._v(1.0)
        lo, hi, scale = 0, 1, 1                       # the interval [lo, hi] / scale holds frac
        wa = torch.zeros(self.n, 2, dtype=torch.float64)
        wb = self._nodes.get((0, 1))
        if wb is None:
            wb = self._nodes.setdefault((0, 1), math.sqrt(v1 - v0) * self._gauss(0, 1))
        va, vb = v0, v1
        for d in range(1, self.depth + 1):
            mid, scale = 2 * lo + 1, scale * 2
            lo, hi = 2 * lo, 2 * hi
            vm = self._v(mid / scale)
            wm = self._node(d, mid, wa, wb, va, vb, vm)
            if frac * scale < mid:
                hi, wb, vb = mid, wm, vm
            else:
                lo, wa, va = mid, wm, vm
        v = s * s                                      # inside one leaf: linear in v
        return wa + (v - va) / (vb - va) * (wb - wa)

    def _w_memo(self, s: float) -> torch.Tensor:
        if s not in self._recent:
            if len(self._recent) >= 4:
                self._recent.pop(next(iter(self._recent)))
            self._recent[s] = self.w(s)
        return self._recent[s]

    def between(self, i: int, s: float, s_next: float) -> torch.Tensor:
        s, s_next = float(s), max(float(s_next), 0.0)
        var = s * s - (s_next * s_next if s_next > BROWNIAN_S_MIN else 0.0)
        if not var > 0:
            raise ValueError(f"a Brownian increment needs s > s_next, got {s:g} and {s_next:g}")
        z = (self._w_memo(s) - self._w_memo(s_next)) / math.sqrt(var)
        return z.float().to(self.device)


@dataclass
class Run:
    """Everything a sampler step function needs besides its own options."""
    source: Source
    levels: Levels
    schedule: Schedule
    noise: NoiseStream

    def step(self, i: int, y: torch.Tensor, denoised, s_override: float | None = None) -> Step:
        if s_override is None:
            a, sig, t = self.levels.alpha[i], self.levels.sigma[i], self.levels.t[i]
        else:   # an adaptive or fixed level that is not on the level grid
            t = self.schedule.t_of_level(s_override) if s_override > 0 else 0.0
            a = float(self.schedule.alpha(t)) if s_override > 0 else 1.0
            sig = a * s_override
        return Step(i, float(t), float(a), float(sig), y * float(a), denoised, self.source.nfe)


def ode_derivative(y, denoised, s):
    """dy/ds of the probability-flow ODE (k-diffusion's to_d): the implied noise eps_hat = (y - D)/s."""
    return eps_from_x0(y, denoised, 1.0, s)


# ----- the samplers --------------------------------------------------------------------------

def ddim(run: Run, y: torch.Tensor, eta: float = 0.0) -> Iterator[Step]:
    """DDIM with stochasticity eta; eta = 1 is DDPM's ancestral sampler on the same levels.

    y' = D + sqrt(s'^2 - c^2) * eps_hat + c z,  c = eta * s' * sqrt(1 - s'^2/s^2).
    """
    level = run.levels.level
    for i in range(len(level) - 1):
        s, s_next = level[i], level[i + 1]
        denoised = run.source.denoise(y, s)
        if s_next == 0:
            y = denoised
        else:
            eps = eps_from_x0(y, denoised, 1.0, s)
            c = eta * s_next * math.sqrt(max(0.0, 1 - (s_next / s) ** 2))
            y = denoised + math.sqrt(max(0.0, s_next**2 - c**2)) * eps
            if c > 0:
                y = y + c * run.noise.between(i, s, s_next)
        yield run.step(i + 1, y, denoised)


def ddpm(run: Run, y: torch.Tensor) -> Iterator[Step]:
    """Ancestral sampling: draw x_{s'} from the Gaussian posterior q(x_{s'} | x_s, x0 = D)."""
    yield from ddim(run, y, eta=1.0)


def ode_euler(run: Run, y: torch.Tensor) -> Iterator[Step]:
    """Euler on dy/ds = (y - D)/s. In this frame it coincides with DDIM (eta = 0)."""
    level = run.levels.level
    for i in range(len(level) - 1):
        denoised = run.source.denoise(y, level[i])
        y = y + (level[i + 1] - level[i]) * ode_derivative(y, denoised, level[i])
        yield run.step(i + 1, y, denoised)


def ode_heun(run: Run, y: torch.Tensor) -> Iterator[Step]:
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


def dpm_solver_pp_2m(run: Run, y: torch.Tensor) -> Iterator[Step]:
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
            d_used = denoised
            if old is not None:
                r = math.log(level[i - 1] / s) / h
                d_used = (1 + 1 / (2 * r)) * denoised - (1 / (2 * r)) * old
            y = (s_next / s) * y - math.expm1(-h) * d_used
        old = denoised
        yield run.step(i + 1, y, denoised)


def sde_euler(run: Run, y: torch.Tensor) -> Iterator[Step]:
    """Euler–Maruyama on the reverse SDE dy = -d(s^2) score + sqrt(d(s^2)) dW; last step to D."""
    level = run.levels.level
    for i in range(len(level) - 1):
        s, s_next = level[i], level[i + 1]
        denoised = run.source.denoise(y, s)
        if s_next == 0:
            y = denoised
        else:
            dvar = s**2 - s_next**2
            y = y + dvar * score_from_x0(y, denoised, 1.0, s) + math.sqrt(dvar) * run.noise.between(i, s, s_next)
        yield run.step(i + 1, y, denoised)


def ode_rk45(run: Run, y: torch.Tensor, rtol: float = 1e-4, atol: float = 1e-4) -> Iterator[Step]:
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
        yield run.step(i, y, None, s_override=math.exp(solver.t))
    denoised = run.source.denoise(y, s_min)
    yield run.step(i + 1, denoised, denoised, s_override=0.0)


def annealed_langevin(run: Run, y: torch.Tensor, inner: int = 2, ratio: float = 0.1) -> Iterator[Step]:
    """Annealed Langevin over the schedule's K levels: `inner` Langevin steps at each level s,
    y <- y + eta * score + sqrt(2 eta) z with score = (D - y)/s^2 and eta = ratio * s^2.

    Moving to the next level s', the noise part of y is first shrunk to it,
    y <- D + (s'/s)(y - D) (Song et al.'s predictor-corrector form). Without that move a step
    eta ~ s^2 is far too small to pull particles in once s is below a component's width: they
    freeze and the samples come out too wide unless thousands of steps are spent.
    """
    level = run.levels.level
    i = 0
    for lvl in range(len(level) - 1):
        s, s_next = level[lvl], level[lvl + 1]
        eta = ratio * s**2
        s_low = s_next if s_next > 0 else 0.5 * s     # inner draws: sub-intervals of [s_low, s] in log s
        bounds = [s * (s_low / s) ** (k / inner) for k in range(inner + 1)]
        for k in range(inner):
            denoised = run.source.denoise(y, s)
            z = run.noise.between(i, bounds[k], bounds[k + 1])
            y = y + eta * score_from_x0(y, denoised, 1.0, s) + math.sqrt(2 * eta) * z
            i += 1
        denoised = run.source.denoise(y, s)
        y = denoised + (s_next / s) * (y - denoised)
        yield run.step(lvl + 1, y, denoised)


def langevin(run: Run, y: torch.Tensor, level: float = 0.1, step_size: float | None = None) -> Iterator[Step]:
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
        yield run.step(i + 1, y, denoised, s_override=level)


@dataclass(frozen=True)
class SamplerInfo:
    fn: Callable
    label: str
    rule: str                 # the update in one line (tooltips, explanations)
    stochastic: bool
    starts_from_unit_noise: bool = False


SAMPLERS: dict[str, SamplerInfo] = {
    "ddpm": SamplerInfo(ddpm, "DDPM (ancestral)", "x_{s'} ~ q(x_{s'} | x_s, x0 = D(x_s)): posterior mean + posterior noise", True),
    "ddim": SamplerInfo(ddim, "DDIM (η)", "y' = D + √(s'²−c²)·ε̂ + c·z,  c = η·s'·√(1−s'²/s²);  η=0 deterministic", False),
    "ode-euler": SamplerInfo(ode_euler, "PF-ODE, Euler", "y' = y + (s'−s)·(y − D(y,s))/s", False),
    "ode-heun": SamplerInfo(ode_heun, "PF-ODE, Heun (2nd order)", "Euler predictor, then average the slopes at s and s'", False),
    "ode-rk45": SamplerInfo(ode_rk45, "PF-ODE, adaptive RK45", "Dormand–Prince with error control on dy/dlog s = y − D (steps ignored)", False),
    "dpm-solver++": SamplerInfo(dpm_solver_pp_2m, "DPM-Solver++(2M)", "y' = (s'/s)·y − (e^{−h}−1)·D̃,  D̃ extrapolates the last two D's, h = log(s/s')", False),
    "sde-euler": SamplerInfo(sde_euler, "Reverse SDE, Euler–Maruyama", "y' = y + (s²−s'²)·score + √(s²−s'²)·z", True),
    "annealed-langevin": SamplerInfo(annealed_langevin, "Annealed Langevin", "at each level s: 2× y ← y + η·score + √(2η)·z (η = 0.1·s²), then shrink the noise to the next level", True),
    "langevin": SamplerInfo(langevin, "Langevin (one level)", "y ← y + η·score_σ(y) + √(2η)·z at one small σ, from N(0, I)", True, True),
}
DEFAULT_STEPS = 50


def sample_steps(sampler: str, source: Source, n: int, seed: int = 0, steps: int = DEFAULT_STEPS,
                 schedule: Schedule | str = DEFAULT_SCHEDULE, eta: float | None = None,
                 brownian_path: bool = False, start: torch.Tensor | None = None, **options) -> Iterator[Step]:
    """Yield Step 0 (the initial noise) and then the state after every sampler step.

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
    sched = get_schedule(schedule) if isinstance(schedule, str) else schedule
    levels = sched.levels(int(steps))
    noise = (BrownianPath if brownian_path else NoiseStream)(n, seed, source.device)
    run = Run(source, levels, sched, noise)
    if start is not None and tuple(start.shape) != (n, 2):
        raise ValueError(f"start noise must have shape ({n}, 2), got {tuple(start.shape)}")
    eps = (initial_noise(n, seed) if start is None else start).to(source.device)
    if eta is not None:
        if sampler != "ddim":
            raise ValueError("--eta only applies to ddim")
        if not (0.0 <= eta <= 1.0):
            raise ValueError(f"eta must be in [0, 1], got {eta}")
        options["eta"] = float(eta)
    if info.starts_from_unit_noise:
        y = eps
        yield Step(0, 1.0, 1.0, 1.0, y, None, source.nfe)
    else:
        y = levels.level[0] * eps
        yield run.step(0, y, None)
    yield from info.fn(run, y, **options)


def sample(sampler: str, source: Source, n: int, seed: int = 0, **kw) -> torch.Tensor:
    """The final sample of a run (float32 (n, 2) on CPU)."""
    last = None
    for last in sample_steps(sampler, source, n, seed, **kw):
        pass
    return last.x.float().cpu()
