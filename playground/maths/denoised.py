"""The x̂₀ overlay: each shown state paired with its own denoised estimate E[x0 | x_t].

A sampler's Step.denoised is the estimate it used to make that step, taken at the previous
state, so it lags the drawn particles by one frame; the overlay asks the source again at the
frame itself. Tweedie: score = (alpha·x̂₀ - x)/sigma², so the line from x towards alpha·x̂₀ is
the score's direction (on alpha = 1 schedules, EDM and VE, it is the drawn line itself).
"""
from __future__ import annotations

import numpy as np
import torch


def denoised_at(source, x, alpha: float, sigma: float) -> np.ndarray:
    """E[x0 | x_t = x] for each row of x (n, 2) at (alpha, sigma), float32 numpy.

    At sigma = 0 the state is clean: x̂₀ = x/alpha. The source's NFE count is left unchanged
    (the overlay is a view, not part of the run's cost)."""
    x = torch.as_tensor(np.asarray(x, dtype=np.float32))
    alpha, sigma = float(alpha), float(sigma)
    if sigma <= 0:
        return (x / alpha).numpy()
    nfe = source.nfe
    try:
        with torch.no_grad():
            out = source.denoise((x / alpha).to(source.device), sigma / alpha)
    finally:
        source.nfe = nfe
    return out.float().cpu().numpy()
