"""The forward (noising) process x_t = alpha_t x0 + sigma_t eps, frame by frame, and how close
its end comes to the noise a sampler starts from.

What a sampler starts from: every sampler here (samplers.sample_steps) starts in the scale-free
frame from y_T = m + s_max * eps, i.e. from x_T = alpha_T m + sigma_T * eps in the schedule's own
frame, with m the data's mean (Source.start_centre); of the true x_T only the spread of alpha_T x0
about its mean is dropped. So the prior mismatch is between law(alpha_T (x0 - m) + sigma_T eps)
and N(0, sigma_T^2 I), and dividing both by sigma_T, between
    law((x0 - m) / s_max + eps)  and  N(0, I),        s_max = sigma_T / alpha_T.
That is the check `terminal_gap` makes, for every schedule alike. For VP schedules sigma_T is
within 1e-4 of 1, so it is "x_T - alpha_T m against N(0, I)"; for VE/EDM (alpha = 1) it is
"(x_T - m) / sigma_max against N(0, I)". It depends on the schedule only through s_max: a VP
schedule with alpha_T = 0.0125 starts exactly as well as VE with sigma_max = 80.

The animation shows x_t / sqrt(alpha_t^2 + sigma_t^2): the identity for VP schedules, and for
VE it keeps the growing cloud on screen while it turns into N(0, I).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from playground.maths.metrics import sliced_w2
from playground.maths.schedules import Schedule, get_schedule

GAP_TOLERANCE = 0.05     # SW2 above the two-sample floor, in units of the noise std, still "close"


@dataclass
class ForwardFrames:
    """x[i] = alpha[i] x0 + sigma[i] eps at the sampler's levels, from clean (i = 0) to t_max.

    One (x0, eps) pair per particle for all frames: each particle slides along a straight line,
    and every frame still has exactly the forward marginal at its t.
    """
    t: np.ndarray
    alpha: np.ndarray
    sigma: np.ndarray
    x: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.t)

    def level(self, i: int) -> float:
        """The scale-free noise level sigma/alpha of frame i."""
        return float(self.sigma[i] / self.alpha[i]) if self.alpha[i] > 0 else math.inf

    def normalised(self, i: int) -> np.ndarray:
        """x_t / sqrt(alpha^2 + sigma^2): unit-scale noise at the end for every schedule."""
        return self.x[i] / math.hypot(float(self.alpha[i]), float(self.sigma[i]))


def _schedule(schedule) -> Schedule:
    return get_schedule(schedule) if isinstance(schedule, str) else schedule


def forward_frames(target, schedule, steps: int, n: int, seed: int = 0) -> ForwardFrames:
    """The forward process at the K levels a K-step sampler visits (plus t = 0), clean first."""
    sched = _schedule(schedule)
    lv = sched.levels(int(steps))
    t, alpha, sigma = lv.t[::-1].copy(), lv.alpha[::-1].copy(), lv.sigma[::-1].copy()
    x0 = target.sample(int(n), seed=seed).double().numpy()
    eps = torch.randn(int(n), 2, generator=torch.Generator().manual_seed(seed + 1), dtype=torch.float64).numpy()
    frames = [(a * x0 + s * eps).astype(np.float32) for a, s in zip(alpha, sigma)]
    return ForwardFrames(t, alpha, sigma, frames)


def schedule_curves(schedule, points: int = 400) -> dict[str, np.ndarray]:
    """alpha_t, sigma_t and log-SNR = log(alpha^2 / sigma^2) on [t_min, t_max] (where all are finite)."""
    sched = _schedule(schedule)
    t = np.linspace(sched.t_min, sched.t_max, points)
    alpha, sigma = np.asarray(sched.alpha(t), float), np.asarray(sched.sigma(t), float)
    return {"t": t, "alpha": alpha, "sigma": sigma, "log_snr": 2 * np.log(alpha / sigma)}


def terminal_gap(target, schedule, n: int = 2000, seed: int = 0) -> tuple[float, float]:
    """(SW2 between (x_T - alpha_T m) / sigma_T and N(0, I), the same SW2 between two N(0, I) sets of
    size n); m is the data's mean, where the sampler's start is centred."""
    sched = _schedule(schedule)
    a, s = float(sched.alpha(sched.t_max)), float(sched.sigma(sched.t_max))
    x0 = target.sample(int(n), seed=seed).double() - torch.as_tensor(target.mixture.mean(), dtype=torch.float64)
    g = lambda k: torch.randn(int(n), 2, generator=torch.Generator().manual_seed(seed + k), dtype=torch.float64)
    x_t = (a * x0 + s * g(1)) / s
    return sliced_w2(x_t, g(2)), sliced_w2(g(3), g(4))


@dataclass
class ForwardCheck:
    sw2: float
    floor: float
    warnings: list[str]

    @property
    def ok(self) -> bool:
        return not self.warnings


def check(target, schedule, steps: int, n: int = 2000, seed: int = 0) -> ForwardCheck:
    """The terminal gap plus a rule of thumb on the first step, as user-facing warnings.

    First step: a K-step sampler goes from s_max to its second level s_1 (0 when K = 1). When
    s_1 is already below the data's own spread, one step must turn pure noise into fine detail,
    which no first- or second-order step does accurately.
    """
    sched = _schedule(schedule)
    sw2, floor = terminal_gap(target, sched, n, seed)
    warnings = []
    if sw2 > floor + GAP_TOLERANCE:
        warnings.append(f"x_T is not close to the sampler's start (noise around the data's mean): "
                        f"SW2 {sw2:.3f} vs floor {floor:.3f}; "
                        f"raise σ_max (now {sched.sigma_max:g}) well above the data's spread "
                        f"({target.mixture.data_std():.2g})")
    level = sched.levels(int(steps)).level
    s1, spread = float(level[1]), target.mixture.data_std()
    if s1 < spread:
        warnings.append(f"first step too coarse: it jumps from σ/α = {level[0]:.3g} straight to {s1:.3g}, "
                        f"below the data's spread ({spread:.2g}); use more steps")
    return ForwardCheck(sw2, floor, warnings)
