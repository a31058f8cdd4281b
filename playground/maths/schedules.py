"""Noise schedules in one convention: x_t = alpha(t) * x0 + sigma(t) * eps, t in [0, 1].

A schedule only says how alpha and sigma move with t and which K levels a sampler visits.
Samplers and the denoiser work with the scale-free noise level sigma/alpha (`level`, the
"VE-equivalent" noise), so one trained model serves every schedule. d_alpha and d_sigma (time
derivatives) give the probability-flow velocity dx/dt in a schedule's own frame.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SIGMA_MIN = 0.002   # smallest VE-equivalent noise level visited (well below any component's width)
SIGMA_MAX = 80.0    # largest: x_T is then noise to within data_std/80


@dataclass(frozen=True)
class Levels:
    """K noise levels from high to low, then 0: t, alpha and sigma of each, and sigma/alpha."""
    t: np.ndarray
    alpha: np.ndarray
    sigma: np.ndarray

    @property
    def level(self) -> np.ndarray:
        """sigma/alpha, the noise level of x/alpha = x0 + (sigma/alpha) eps."""
        return self.sigma / self.alpha

    def __len__(self) -> int:
        return len(self.t)


class Schedule:
    """Base: subclasses give alpha(t) and sigma(t) on [t_min, t_max] (arrays in, arrays out)."""
    name = ""
    label = ""
    tooltip = ""

    def __init__(self, sigma_min: float = SIGMA_MIN, sigma_max: float = SIGMA_MAX):
        if not (0 < sigma_min < sigma_max):
            raise ValueError("schedule needs 0 < sigma_min < sigma_max")
        self.sigma_min, self.sigma_max = float(sigma_min), float(sigma_max)
        self.t_min, self.t_max = self.t_of_level(self.sigma_min), self.t_of_level(self.sigma_max)

    def alpha(self, t):
        raise NotImplementedError

    def sigma(self, t):
        raise NotImplementedError

    def d_alpha(self, t):
        """d alpha / dt; subclasses with a closed form override this central difference."""
        return _central(self.alpha, t)

    def d_sigma(self, t):
        """d sigma / dt."""
        return _central(self.sigma, t)

    def level(self, t):
        return np.asarray(self.sigma(t)) / np.asarray(self.alpha(t))

    def t_of_level(self, s: float) -> float:
        """Invert sigma/alpha (monotone in t) by bisection; only used to place the endpoints."""
        lo, hi = 1e-9, 1.0 - 1e-9
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if self.level(mid) < s else (lo, mid)
        return 0.5 * (lo + hi)

    def times(self, k: int) -> np.ndarray:
        """K times from t_max down to t_min; uniform in t unless a subclass spaces them."""
        return np.linspace(self.t_max, self.t_min, k)

    def levels(self, k: int) -> Levels:
        """The K levels a K-step sampler visits, followed by the clean level (t=0, sigma=0)."""
        if k < 1:
            raise ValueError("need at least one step")
        t = np.append(self.times(k), 0.0)
        alpha = np.append(self.alpha(t[:-1]), 1.0)
        sigma = np.append(self.sigma(t[:-1]), 0.0)
        return Levels(t, alpha.astype(np.float64), sigma.astype(np.float64))

    def describe(self) -> str:
        return f"{self.label}: sigma/alpha from {self.sigma_max:g} down to {self.sigma_min:g}"


class VPLinear(Schedule):
    """DDPM's variance-preserving schedule: beta(t) linear, alpha = exp(-1/2 int beta), alpha^2+sigma^2=1."""
    name, label = "vp-linear", "VP, linear beta (DDPM)"
    tooltip = "alpha_t = exp(-½∫β), σ_t = √(1-α_t²), β linear from 0.1 to 20"
    beta_min, beta_max = 0.1, 20.0

    def alpha(self, t):
        t = np.asarray(t, dtype=np.float64)
        return np.exp(-0.5 * (self.beta_min * t + 0.5 * (self.beta_max - self.beta_min) * t * t))

    def sigma(self, t):
        return np.sqrt(-np.expm1(-(self.beta_min * np.asarray(t) + 0.5 * (self.beta_max - self.beta_min) * np.asarray(t) ** 2)))

    def d_alpha(self, t):
        t = np.asarray(t, dtype=np.float64)
        return -0.5 * (self.beta_min + (self.beta_max - self.beta_min) * t) * self.alpha(t)

    def d_sigma(self, t):
        return -self.alpha(t) * self.d_alpha(t) / self.sigma(t)


class VPCosine(Schedule):
    """Nichol & Dhariwal's cosine schedule: alpha = cos(pi/2 (t+s)/(1+s)) normalised, variance preserving."""
    name, label = "vp-cosine", "VP, cosine"
    tooltip = "α_t = cos(π/2·(t+s)/(1+s)) / cos(π/2·s/(1+s)), σ_t = √(1-α_t²)"
    s = 0.008

    def alpha(self, t):
        f = lambda u: np.cos(0.5 * np.pi * (np.asarray(u, dtype=np.float64) + self.s) / (1 + self.s))
        return np.clip(f(t) / f(0.0), 0.0, 1.0)

    def sigma(self, t):
        return np.sqrt(np.clip(1.0 - self.alpha(t) ** 2, 0.0, 1.0))

    def d_alpha(self, t):
        u = 0.5 * np.pi * (np.asarray(t, dtype=np.float64) + self.s) / (1 + self.s)
        return -np.sin(u) * 0.5 * np.pi / (1 + self.s) / np.cos(0.5 * np.pi * self.s / (1 + self.s))

    def d_sigma(self, t):
        return -self.alpha(t) * self.d_alpha(t) / self.sigma(t)


class VELogLinear(Schedule):
    """Variance exploding, sigma log-linear in t (NCSN, smalldiffusion's ScheduleLogLinear); alpha = 1."""
    name, label = "ve", "VE, log-linear σ"
    tooltip = "α = 1, σ_t = σ_min·(σ_max/σ_min)^t: equal steps in log σ"

    def alpha(self, t):
        return np.ones_like(np.asarray(t, dtype=np.float64))

    def sigma(self, t):
        return self.sigma_min * (self.sigma_max / self.sigma_min) ** np.asarray(t, dtype=np.float64)

    def d_alpha(self, t):
        return np.zeros_like(np.asarray(t, dtype=np.float64))

    def d_sigma(self, t):
        return self.sigma(t) * math.log(self.sigma_max / self.sigma_min)

    def t_of_level(self, s):
        return math.log(s / self.sigma_min) / math.log(self.sigma_max / self.sigma_min)


class EDMKarras(Schedule):
    """Karras et al. (EDM): alpha = 1 and sigma spaced as (a + t (b - a))^rho, dense near the data."""
    name, label = "edm", "EDM (Karras ρ=7)"
    tooltip = "α = 1, σ_i = (σ_min^(1/ρ) + t_i(σ_max^(1/ρ) − σ_min^(1/ρ)))^ρ, ρ = 7"
    rho = 7.0

    def alpha(self, t):
        return np.ones_like(np.asarray(t, dtype=np.float64))

    def sigma(self, t):
        a, b = self.sigma_min ** (1 / self.rho), self.sigma_max ** (1 / self.rho)
        return (a + np.asarray(t, dtype=np.float64) * (b - a)) ** self.rho

    def d_alpha(self, t):
        return np.zeros_like(np.asarray(t, dtype=np.float64))

    def d_sigma(self, t):
        a, b = self.sigma_min ** (1 / self.rho), self.sigma_max ** (1 / self.rho)
        return self.rho * (b - a) * (a + np.asarray(t, dtype=np.float64) * (b - a)) ** (self.rho - 1)

    def t_of_level(self, s):
        a, b = self.sigma_min ** (1 / self.rho), self.sigma_max ** (1 / self.rho)
        return (s ** (1 / self.rho) - a) / (b - a)


class FlowLinear(Schedule):
    """Rectified flow / flow matching: the straight line alpha = 1 - t, sigma = t."""
    name, label = "flow", "Flow matching (α = 1−t, σ = t)"
    tooltip = "x_t = (1−t)·x₀ + t·ε: a straight line from data to noise"

    def alpha(self, t):
        return 1.0 - np.asarray(t, dtype=np.float64)

    def sigma(self, t):
        return np.asarray(t, dtype=np.float64)

    def d_alpha(self, t):
        return -np.ones_like(np.asarray(t, dtype=np.float64))

    def d_sigma(self, t):
        return np.ones_like(np.asarray(t, dtype=np.float64))

    def t_of_level(self, s):
        return s / (1.0 + s)


def _central(f, t, h: float = 1e-6):
    t = np.asarray(t, dtype=np.float64)
    return (np.asarray(f(t + h)) - np.asarray(f(t - h))) / (2 * h)


SCHEDULES = {cls.name: cls for cls in (EDMKarras, VPLinear, VPCosine, VELogLinear, FlowLinear)}
DEFAULT_SCHEDULE = "edm"


def get_schedule(name: str = DEFAULT_SCHEDULE, **kw) -> Schedule:
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r} (one of {', '.join(SCHEDULES)})")
    return SCHEDULES[name](**kw)
