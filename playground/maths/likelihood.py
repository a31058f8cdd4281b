"""Negative log-likelihood through the probability-flow ODE, with the exact 2x2 divergence.

In the scale-free frame with u = log s the ODE is dy/du = y - D(y, e^u) and
    log p_0(y_0) = log N(y_T; m, s_max^2 I) + int_{u_0}^{u_T} (2 - tr dD/dy) du,
with m the denoiser's fixed point at s_max (prior_centre): the cloud the samplers start from.
The trace is exact: two forward-mode JVPs (torch.func.jvp) per evaluation, one per axis.
"""
from __future__ import annotations

import math
import threading

import numpy as np
import torch
from torch.func import jvp

from playground.maths.sources import ExactSource, Source, denoiser_fixed_point

S_START = 1e-3     # the ODE starts here: log p_{1e-3} differs from log p_0 by far less than 0.01 nats
S_END = 80.0
# Forward-mode AD levels are process-wide in torch: two threads inside jvp at once (the Likelihood
# tab and the learned p_t backdrop) break each other's level ("no level exists"). One at a time.
_JVP_LOCK = threading.Lock()


def _denoise_fn(source: Source, s: float):
    if isinstance(source, ExactSource):
        return lambda y: source.target.denoise(y, 1.0, s)
    model = source.model
    return lambda y: model(y, s)


def prior_centre(source: Source) -> np.ndarray:
    """The centre m of the ODE's starting law N(m, S_END^2 I): the fixed point of the very denoiser the
    ODE integrates (a guided source's ODE runs its model unguided here), as Source.start_centre."""
    dtype = torch.float64 if isinstance(source, ExactSource) else torch.float32
    with torch.no_grad():
        m = denoiser_fixed_point(_denoise_fn(source, S_END), source.device, dtype)
    return m.double().cpu().numpy()


def divergence_and_drift(source: Source, y: torch.Tensor, s: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(y - D(y, s), 2 - tr dD/dy) for each row of y, exactly."""
    f = _denoise_fn(source, s)
    e0 = torch.zeros_like(y)
    e0[:, 0] = 1
    e1 = torch.zeros_like(y)
    e1[:, 1] = 1
    with _JVP_LOCK:
        d, j0 = jvp(f, (y,), (e0,))
        _, j1 = jvp(f, (y,), (e1,))
    source.nfe += 2
    return y - d, 2.0 - (j0[:, 0] + j1[:, 1])


def nll(source: Source, x, rtol: float = 1e-5, atol: float = 1e-5, s_start: float = S_START,
        stop=None, progress=None) -> np.ndarray:
    """-log p(x) in nats for each point, under the density the source's ODE defines; with s_start
    above S_START, of the noised law p_s of y = x0 + s_start*eps (the ODE then starts there).
    stop() returning True inside the solve raises compare.Cancelled (a caller's time budget);
    progress(fraction of the way from s_start to S_END in log s) is called on every evaluation."""
    from scipy.integrate import solve_ivp

    dtype = torch.float64 if isinstance(source, ExactSource) else torch.float32
    x = torch.as_tensor(x).to(dtype)
    n = x.shape[0]

    u0, u1 = math.log(max(s_start, S_START)), math.log(S_END)

    calls, reached = [0], [0.0]

    def rhs(u, state):
        if stop is not None and stop():
            from playground.maths.progress import Cancelled
            raise Cancelled()
        calls[0] += 1
        if progress is not None and calls[0] > 2:     # solve_ivp's first two calls only probe a step size
            reached[0] = max(reached[0], (u - u0) / (u1 - u0))
            progress(reached[0])
        y = torch.from_numpy(state[: 2 * n].reshape(n, 2)).to(device=source.device, dtype=dtype)
        with torch.no_grad():
            drift, div = divergence_and_drift(source, y, math.exp(u))
        return np.concatenate([drift.double().cpu().numpy().ravel(), div.double().cpu().numpy()])

    state0 = np.concatenate([x.double().numpy().ravel(), np.zeros(n)])
    sol = solve_ivp(rhs, (u0, u1), state0, method="RK45", rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"likelihood ODE failed: {sol.message}")
    end = sol.y[:, -1]
    y_end, integral = end[: 2 * n].reshape(n, 2), end[2 * n:]
    centre = prior_centre(source)
    log_prior = -0.5 * ((y_end - centre)**2).sum(1) / S_END**2 - 2 * math.log(S_END) - math.log(2 * math.pi)
    return -(log_prior + integral)


def log_density(source: Source, x, batch: int = 400, progress=None, rtol: float = 1e-5,
                atol: float = 1e-5, s_start: float = S_START, stop=None) -> np.ndarray:
    """log p(x) under the source's ODE density at arbitrary points (a grid, say), batch by batch.

    One adaptive solve per batch: its step size is set by that batch's stiffest point only, and
    `progress(fraction)` between batches may return False to stop (compare.Cancelled is raised).
    """
    from playground.maths.progress import Cancelled

    x = torch.as_tensor(x)
    out = np.empty(len(x))
    for a in range(0, len(x), batch):
        if progress is not None and progress(a / len(x)) is False:
            raise Cancelled()
        out[a:a + batch] = -nll(source, x[a:a + batch], rtol=rtol, atol=atol, s_start=s_start, stop=stop)
    if progress is not None and progress(1.0) is False:
        raise Cancelled()
    return out


def grid_points(view: dict, res: int) -> np.ndarray:
    """Cell centres of a res x res grid over view's xlim, ylim: (res*res, 2), x the slow index."""
    (x0, x1), (y0, y1) = view["xlim"], view["ylim"]
    xs = x0 + (np.arange(res) + 0.5) * (x1 - x0) / res
    ys = y0 + (np.arange(res) + 0.5) * (y1 - y0) / res
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    return np.stack([gx.ravel(), gy.ravel()], 1)


def density_grids(target, source: Source, view: dict, res: int, seed: int, progress=None,
                  nll_samples: int = 300, rtol: float = 1e-4) -> dict:
    """The source's ODE log-density and the exact one on a grid over the view, plus the mean NLL of
    nll_samples exact samples under both (the likelihood view's picture and numbers).

    rtol 1e-4 rather than 1e-5 on the grid: ~2x faster, and the error stays ~0.01 nats.
    """
    from playground.maths.progress import Cancelled

    x = torch.as_tensor(grid_points(view, res))
    exact_source = isinstance(source, ExactSource)
    exact = target.log_prob(x.double()).double().numpy()
    step = (lambda f: progress(0.85 * f)) if progress is not None else None
    model = log_density(source, x if exact_source else x.float(), batch=200, progress=step, rtol=rtol, atol=rtol)
    xs = target.sample(nll_samples, seed=seed + 123)
    nll_model = float(np.mean(nll(source, xs.double() if exact_source else xs)))
    nll_true = float(-target.log_prob(xs.double()).double().mean())
    if progress is not None and progress(1.0) is False:
        raise Cancelled()
    return {"res": res, "view": view, "model": model.reshape(res, res), "exact": exact.reshape(res, res),
            "nll": nll_model, "nll_true": nll_true, "exact_source": exact_source, "nll_samples": nll_samples}
