"""Score sources: what a sampler asks for the denoised estimate, learned or exact.

Both answer the same question in the scale-free frame: given y = x0 + s*eps (s = sigma/alpha),
what is E[x0 | y]? The score at any (alpha, sigma) follows from it (see parametrization).
Each source counts its network/oracle evaluations (NFE) so comparisons can report cost.
"""
from __future__ import annotations

import copy

import torch

from playground.maths.parametrization import score_from_x0


class Source:
    device = torch.device("cpu")
    name = ""

    def __init__(self):
        self.nfe = 0

    def denoise(self, y: torch.Tensor, s: float) -> torch.Tensor:
        """E[x0 | x0 + s*eps = y], y float32 (n, 2) on self.device."""
        self.nfe += 1
        return self._denoise(y, float(s))

    def _denoise(self, y, s):
        raise NotImplementedError

    def score(self, x: torch.Tensor, alpha: float, sigma: float) -> torch.Tensor:
        """Score of the noised marginal in the original frame x = alpha*x0 + sigma*eps."""
        denoised = self.denoise((x / alpha).to(self.device), sigma / alpha).to(x.device, x.dtype)
        return score_from_x0(x, denoised, alpha, sigma)


class ExactSource(Source):
    """The oracle: the target's closed-form posterior mean."""
    name = "exact"

    def __init__(self, target):
        super().__init__()
        self.target = target

    def _denoise(self, y, s):
        return self.target.denoise(y, 1.0, s).to(y.dtype)


class ModelSource(Source):
    """A frozen copy of a denoiser network (training may go on with the original).

    label (conditional models only): the class to denoise towards, 0-based; None asks an
    unconditional model plainly and a conditional one with its null label. Classifier-free
    guidance between the two lives in guidance.GuidedSource.
    """
    name = "model"

    def __init__(self, model: torch.nn.Module, device=None, copy_weights: bool = True, label: int | None = None):
        super().__init__()
        self.model = copy.deepcopy(model) if copy_weights else model
        self.model.eval().requires_grad_(False)
        if device is not None:
            self.model.to(device)
        self.device = next(self.model.parameters()).device
        self.label = label

    @property
    def n_classes(self) -> int:
        """Number of class labels the network was trained with (0: unconditional)."""
        config = getattr(self.model, "config", None)
        return int(getattr(config, "n_classes", 0) or 0)

    @torch.no_grad()
    def _denoise(self, y, s):
        if self.label is None:
            return self.model(y.to(self.device), s)
        return self.model(y.to(self.device), s, self.label)
