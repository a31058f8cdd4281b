"""The reference toy-diffusion recipe that issue 8's time-to-quality target is measured against.

It follows smalldiffusion's toy example: an MLP on (x, sin/cos(log(sigma)/2)) with hidden widths
(16, 128, 128, 128, 128, 16) and GELU, epsilon prediction, sigma drawn uniformly from 200
log-linear levels in [0.005, 10], batch 2048, Adam at 1e-3, no EMA, no preconditioning.
`bench --reference` trains it on the same target, on the same threads, and evaluates it with the
same yardstick (ode-heun, 50 Karras-spaced levels within its own sigma range, SW2 <= 1.5x floor),
so the ratio to our time_to_quality_s is measured rather than assumed.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from playground.maths.parametrization import x0_from_eps
from playground.maths.schedules import get_schedule
from playground.maths.sources import Source

SIGMA_MIN, SIGMA_MAX, N_LEVELS = 0.005, 10.0, 200
HIDDEN = (16, 128, 128, 128, 128, 16)
BATCH, LR = 2048, 1e-3


class ReferenceMLP(nn.Module):
    def __init__(self, hidden=HIDDEN):
        super().__init__()
        layers, w = [], 2 + 2
        for h in hidden:
            layers += [nn.Linear(w, h), nn.GELU()]
            w = h
        layers.append(nn.Linear(w, 2))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """Predicted noise eps for x = x0 + sigma * eps; sigma is (n,) or a scalar tensor."""
        s = torch.log(sigma.reshape(-1, 1).expand(len(x), 1)) / 2
        return self.net(torch.cat([x, torch.sin(s), torch.cos(s)], dim=1))


class ReferenceSource(Source):
    """denoised = y - level * eps(y, level) (the reference trains in VE form, alpha = 1)."""
    name = "reference"

    def __init__(self, model: ReferenceMLP):
        super().__init__()
        self.model = model
        self.device = next(model.parameters()).device

    def start_centre(self, level: float) -> torch.Tensor:
        """The origin: the recipe reproduced here samples from sigma_max * randn, and a baseline is
        kept as published (at its sigma_max of 10 the denoiser's fixed point is not the mean anyway)."""
        return torch.zeros(2, device=self.device)

    @torch.no_grad()
    def _denoise(self, y, level):
        sig = torch.full((1,), float(level), device=y.device)
        return x0_from_eps(y, self.model(y.float(), sig).to(y.dtype), 1.0, float(level))


class ReferenceTrainer:
    def __init__(self, target, seed: int = 0):
        torch.manual_seed(seed)
        self.target = target
        self.model = ReferenceMLP()
        self.opt = torch.optim.Adam(self.model.parameters(), lr=LR)
        self.sigmas = torch.exp(torch.linspace(math.log(SIGMA_MIN), math.log(SIGMA_MAX), N_LEVELS))
        self._gen = torch.Generator().manual_seed(seed + 1)
        self.step = 0

    def train(self, k: int) -> None:
        for _ in range(k):
            seed = int(torch.randint(2**62, (1,), generator=self._gen))
            x0 = self.target.sample(BATCH, seed=seed)
            sigma = self.sigmas[torch.randint(N_LEVELS, (BATCH,), generator=self._gen)]
            eps = torch.randn(x0.shape, generator=self._gen)
            loss = ((self.model(x0 + sigma[:, None] * eps, sigma) - eps) ** 2).mean()
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
            self.step += 1

    def source(self) -> ReferenceSource:
        return ReferenceSource(self.model)


def reference_schedule():
    """Karras-spaced levels inside the reference's own trained range."""
    return get_schedule("edm", sigma_min=SIGMA_MIN, sigma_max=SIGMA_MAX)
