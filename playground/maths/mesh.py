"""The deforming mesh: a grid of initial-noise points carried by a run, drawn joined by lines.

Where the sampler is deterministic and visits the schedule's levels, the grid is just more
particles of the same run (the sampler treats every particle alone). A stochastic sampler would
tear the grid apart, so there the grid follows the probability-flow ODE (DDIM with eta = 0) of
the same schedule, levels and source: the flow map whose marginals the noisy run shares.
Adaptive RK45 and one-level Langevin visit levels of their own, so the grid takes PF-ODE steps
between the levels of the run's stored frames.
"""
from __future__ import annotations

from dataclasses import dataclass

import math

import numpy as np
import torch

from playground.maths.samplers import SAMPLERS, NoiseStream, RunContext
from playground.maths.samplers.run import start_state
from playground.maths.schedules import get_schedule

MESH_RES = 24
MESH_SPAN = 2.5                 # the grid covers eps in [-span, span]^2: 98.8% of N(0, I) per axis
_OWN_LEVELS = ("ode-rk45", "langevin")
MAX_RATIO = 1.25               # PF-ODE sub-steps between frames: s shrinks by at most this per step


def noise_grid(res: int = MESH_RES, span: float = MESH_SPAN) -> np.ndarray:
    """(res*res, 2) initial noise eps on a square grid, row-major: index = row*res + col, x = col."""
    g = np.linspace(-span, span, int(res))
    gx, gy = np.meshgrid(g, g, indexing="xy")
    return np.stack([gx.ravel(), gy.ravel()], 1)


def mesh_edges(res: int = MESH_RES) -> np.ndarray:
    """(2*res*(res-1), 2) index pairs of horizontally and vertically neighbouring grid points."""
    idx = np.arange(res * res).reshape(res, res)
    across = np.stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()], 1)
    down = np.stack([idx[:-1, :].ravel(), idx[1:, :].ravel()], 1)
    return np.concatenate([across, down])


@dataclass
class Mesh:
    """Grid states aligned with a run's stored frames, and how they were carried (a UI label)."""
    states: list                 # one (res*res, 2) float32 array per frame, schedule's frame
    res: int
    label: str
    same_run: bool               # True: the grid are particles of the sampler's own run


def carries_itself(sampler: str) -> bool:
    """Whether the grid can ride in the sampler's own run (deterministic, on the schedule's levels)."""
    return not SAMPLERS[sampler].stochastic and sampler not in _OWN_LEVELS


def carry_mesh(sampler: str, source, eps, steps: int, schedule, frame_steps, frame_alphas,
               frame_sigmas, **options) -> Mesh:
    """Carry initial noise eps (m, 2) through a run recorded at the given frames.

    frame_steps: the sampler step index of each stored frame (0 = the initial noise);
    frame_alphas, frame_sigmas: each frame's alpha and sigma (what the particles were drawn at).
    options: the sampler's own options (eta, gamma, ...), used only when the grid rides along.
    The source's NFE count is left as it was: the mesh is a view, not part of the run's cost."""
    sched = get_schedule(schedule) if isinstance(schedule, str) else schedule
    eps = torch.as_tensor(np.asarray(eps), dtype=torch.float32).to(source.device)
    res = int(round(len(eps) ** 0.5))
    nfe = source.nfe
    try:
        with torch.no_grad():
            if carries_itself(sampler) and options.get("eta", 0.0) == 0.0:
                states = _same_run(sampler, source, eps, sched, steps, frame_steps, options)
                label = f"mesh: {res}×{res} initial-noise points in the same {sampler} run"
                return Mesh(states, res, label, True)
            if sampler in _OWN_LEVELS:
                states = _along_frames(source, eps, sched, frame_alphas, frame_sigmas, sampler == "langevin")
                why = "one noise level" if sampler == "langevin" else "adaptive levels"
                label = f"mesh: probability-flow ODE between the run's frames ({sampler} has {why})"
            else:
                states = _same_run("ddim", source, eps, sched, steps, frame_steps, {})
                what = "ddim with eta > 0" if sampler == "ddim" else sampler
                label = f"mesh: probability-flow ODE on the same levels ({what} is stochastic)"
            return Mesh(states, res, label, False)
    finally:
        source.nfe = nfe


def _keep(frame_steps):
    return {int(i): k for k, i in enumerate(frame_steps)}


def _same_run(sampler, source, eps, sched, steps, frame_steps, options) -> list:
    levels = sched.levels(int(steps))
    run = RunContext(source, levels, sched, NoiseStream(len(eps), 0, source.device))
    y = start_state(source, levels.level[0], eps)
    wanted = _keep(frame_steps)
    out = [None] * len(wanted)
    if 0 in wanted:
        out[wanted[0]] = (y * float(levels.alpha[0])).cpu().numpy().astype(np.float32)
    for st in SAMPLERS[sampler].fn(run, y, **options):
        if st.i in wanted:
            out[wanted[st.i]] = st.x.float().cpu().numpy().astype(np.float32, copy=True)
    if any(o is None for o in out):
        raise ValueError("frame_steps name steps the run does not have")
    return out


def _along_frames(source, eps, sched, alphas, sigmas, unit_start: bool) -> list:
    """PF-ODE between consecutive frame levels, in DDIM steps of at most MAX_RATIO in s (the
    run's own adaptive steps are too coarse for first-order steps); equal levels: no motion."""
    alphas = np.asarray(alphas, dtype=np.float64)
    level = np.asarray(sigmas, dtype=np.float64) / alphas
    y = eps if unit_start else start_state(source, level[0], eps)
    out = [(y * float(alphas[0])).cpu().numpy().astype(np.float32)]
    for k in range(1, len(level)):
        s, s_end = float(level[k - 1]), float(level[k])
        if s_end < s:
            n = 1 if s_end <= 0 else max(1, math.ceil(math.log(s / s_end) / math.log(MAX_RATIO)))
            for j in range(1, n + 1):
                s_next = s_end if j == n else s * (s_end / s) ** (1 / (n + 1 - j))
                denoised = source.denoise(y, s)
                y = denoised + (s_next / s) * (y - denoised)
                s = s_next
        out.append((y * float(alphas[k])).cpu().numpy().astype(np.float32))
    return out
