"""Score sources: what a sampler asks for the denoised estimate, learned or exact.

Both answer the same question in the scale-free frame: given y = x0 + level*eps (level = sigma/alpha),
what is E[x0 | y]? The score and the probability-flow velocity of any schedule follow from it
(see parametrization), whatever the network was trained to predict.
Each source counts its network/oracle evaluations (NFE) so comparisons can report cost.
"""
from __future__ import annotations

import copy

import torch

from playground.maths.budgets import EVAL_CELLS, by_rows, rows_per_pass
from playground.maths.parametrization import score_from_x0, velocity_from_x0


def denoiser_fixed_point(denoise, device, dtype=torch.float32) -> torch.Tensor:
    """Two steps of m <- denoise(m) from the origin on one row, (2,); the origin if that is not finite
    (a diverged model). See Source.start_centre for why two steps are enough at the top level."""
    m = torch.zeros(1, 2, device=device, dtype=dtype)
    for _ in range(2):
        m = denoise(m).to(device, dtype)
    m = m[0]
    return m if bool(torch.isfinite(m).all()) else torch.zeros(2, device=device, dtype=dtype)


class Source:
    device = torch.device("cpu")
    name = ""

    def __init__(self):
        self.nfe = 0

    def denoise(self, y: torch.Tensor, level: float) -> torch.Tensor:
        """E[x0 | x0 + level*eps = y], y float32 (n, 2) on self.device."""
        self.nfe += 1
        return self._denoise(y, float(level))

    def _denoise(self, y, level):
        raise NotImplementedError

    def start_centre(self, level: float) -> torch.Tensor:
        """Where a sampler's starting cloud y = m + level*eps belongs: the mean of y at that level, (2,),
        for a level well above the data's spread (the samplers' 80; at levels near the spread the
        fixed point below moves toward the noised law's nearest mode instead).

        The noised law at level s has the data's mean m, and D(y, s) ~ m + C (C + s^2)^-1 (y - m) for
        data covariance C, so two one-row steps from 0 land within (C/s^2)^2 m of the fixed point. That
        point is the noised law's mode, within (spread/s)^2 * spread of m: ~1e-4 noise std at s = 80
        for line4, whose uncentred start was 0.04 off. Starting at 0 shifts the cloud by m/s noise std,
        and for far-apart modes of unequal weight that moves several percent of the mass to the wrong
        mode (line4 with the exact score: SW2 1.8x an i.i.d. sample's). Asking the source, not the
        target, makes a learned, conditional or guided source start where its own law is. The probes
        are not counted in NFE: one row each, nothing next to a step on n particles.
        """
        nfe = self.nfe
        try:
            return denoiser_fixed_point(lambda y: self.denoise(y, float(level)), self.device)
        finally:
            self.nfe = nfe

    def score(self, x: torch.Tensor, alpha: float, sigma: float) -> torch.Tensor:
        """Score of the noised marginal in the original frame x = alpha*x0 + sigma*eps."""
        denoised = self.denoise((x / alpha).to(self.device), sigma / alpha).to(x.device, x.dtype)
        return score_from_x0(x, denoised, alpha, sigma)

    def velocity(self, x: torch.Tensor, t: float, schedule) -> torch.Tensor:
        """dx/dt of the schedule's probability-flow ODE at x (t increases toward noise; sampling runs
        it backwards): alpha'(t)*E[x0|x] + sigma'(t)*E[eps|x]. On the flow schedule, E[eps - x0 | x]."""
        alpha, sigma = float(schedule.alpha(t)), float(schedule.sigma(t))
        denoised = self.denoise((x / alpha).to(self.device), sigma / alpha).to(x.device, x.dtype)
        return velocity_from_x0(x, denoised, alpha, sigma, float(schedule.d_alpha(t)), float(schedule.d_sigma(t)))


class ExactSource(Source):
    """The oracle: the target's closed-form posterior mean."""
    name = "exact"

    def __init__(self, target):
        super().__init__()
        self.target = target

    def _denoise(self, y, level):
        return self.target.denoise(y, 1.0, level).to(y.dtype)


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
    def evaluate(self, y: torch.Tensor, level: float, label=None) -> torch.Tensor:
        """The network at one level, on row slices of EVAL_CELLS (point, hidden unit) pairs: a sampler
        step holds one slice's activations, not all the particles' (rows are independent, so the
        result is the same). level: one float for every row; label: None, one class, or one per row
        (sliced with them). A model without a config is taken to be ModelConfig's default width."""
        y, level = y.to(self.device), float(level)
        rows = rows_per_pass(getattr(getattr(self.model, "config", None), "hidden", 0) or 64, EVAL_CELLS)
        if label is None:
            return by_rows(lambda part: self.model(part, level), rows, y)
        if not isinstance(label, int):
            label = torch.as_tensor(label, dtype=torch.long, device=self.device)
        return by_rows(lambda part, labels: self.model(part, level, labels), rows, y, label)

    def _denoise(self, y, level):
        return self.evaluate(y, level, self.label)
