"""Classifier guidance (Dhariwal & Nichol 2021) as a score source, with an exact or a learned classifier.

score_w(x_t) = score(x_t) + w ∇ log p(c | x_t). In the scale-free frame y = x/alpha at level s the
score is (D - y)/s^2, so the guided denoised estimate is D_w = D + w s^2 ∇_y log p(c | y, s)
(p(c | x_t) = p(c | y): the same event). Any classifier with grad_log_posterior(y, level, label)
serves, so every sampler runs unchanged on the guided source.

The exact classifier is Bayes' rule on the noised mixture, p(c | y) = sum_{k in c} pi_k N_k(y) / p(y),
whose gradient is the class-c noised score minus the full one. With both parts exact this makes
D_w = D + w (D_c - D): exactly classifier-free guidance's exact combination, as it must be (the
"implicit classifier" of Ho & Salimans). The two kinds differ only once their parts are learned.
"""
from __future__ import annotations

import numpy as np
import torch

from playground.maths.budgets import MIXTURE_CELLS
from playground.maths.guidance import _check_scale, check_label, conditional_target
from playground.maths.sources import Source
from playground.maths.targets import Target


class ExactClassifier:
    """p(class | y) of the target noised to level s, in closed form (float64 inside)."""
    name = "exact"

    def __init__(self, target: Target):
        self.target = target
        self.n_classes = target.n_groups
        self._conditionals: dict[int, Target] = {}

    def _conditional(self, label: int) -> Target:
        if label not in self._conditionals:
            self._conditionals[label] = conditional_target(self.target, label)
        return self._conditionals[label]

    def log_posterior(self, y: torch.Tensor, level: float) -> torch.Tensor:
        """log p(c | y) for every class, (n, n_classes) float64: responsibilities summed per class."""
        r = self.target.mixture.responsibilities(torch.as_tensor(y).double(), 1.0, float(level))
        groups = torch.as_tensor(self.target.groups)
        per_class = torch.zeros(r.shape[0], self.n_classes, dtype=torch.float64).index_add_(1, groups, r)
        return torch.log(per_class)

    def log_posterior_per_point(self, y: torch.Tensor, levels: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
        """log p(c | y_i) with each point at its own level s_i (a classifier's test set), (n, n_classes)."""
        mix = self.target.mixture
        y64, lv = torch.as_tensor(y).double().reshape(-1, 2), torch.as_tensor(levels).double().reshape(-1)
        groups = torch.as_tensor(self.target.groups)
        step = max(1, MIXTURE_CELLS // len(mix))
        out = []
        for a in range(0, len(y64), step):
            yc, var = y64[a:a + step], lv[a:a + step, None] ** 2                 # (m, 2), (m, 1)
            c00, c01, c11 = mix.covs[None, :, 0, 0] + var, mix.covs[None, :, 0, 1], mix.covs[None, :, 1, 1] + var
            det = c00 * c11 - c01 * c01
            dx, dy = yc[:, 0:1] - mix.means[None, :, 0], yc[:, 1:2] - mix.means[None, :, 1]
            quad = (c11 * dx * dx - 2 * c01 * dx * dy + c00 * dy * dy) / det
            log_joint = torch.log(mix.weights)[None] - 0.5 * torch.log(det) - 0.5 * quad   # (m, K), constants dropped
            r = torch.softmax(log_joint, dim=1)
            out.append(torch.log(torch.zeros(len(yc), self.n_classes, dtype=torch.float64).index_add_(1, groups, r)))
        return torch.cat(out)

    def grad_log_posterior(self, y: torch.Tensor, level: float, label: int) -> torch.Tensor:
        """∇_y log p(c | y) = score of the class-c noised mixture - score of the whole one."""
        y64 = torch.as_tensor(y).double()
        grad = self._conditional(int(label)).score(y64, 1.0, float(level)) - self.target.score(y64, 1.0, float(level))
        return grad.to(y.dtype)


class ClassifierGuidedSource(Source):
    """D_w = D + w s^2 ∇_y log p(c | y, s) on any base source; costs the base's evaluation plus one
    classifier gradient (counted as a second NFE), w = 0 only the base's."""
    name = "classifier-guided"

    def __init__(self, base: Source, classifier, label: int, scale: float = 1.0):
        super().__init__()
        self.base, self.classifier = base, classifier
        self.label = int(label)
        n_classes = int(classifier.n_classes)
        if not (0 <= self.label < n_classes):
            raise ValueError(f"class index must be between 0 and {n_classes - 1} for this classifier, got {self.label}")
        self.scale = _check_scale(scale)
        self.device = base.device

    def _denoise(self, y, s):
        denoised = self.base.denoise(y, s)
        if self.scale == 0.0:
            return denoised
        self.nfe += 1
        grad = self.classifier.grad_log_posterior(y, s, self.label).to(denoised.device, denoised.dtype)
        return denoised + (self.scale * s * s) * grad


def exact_classifier_guided(target: Target, base: Source, label: int, scale: float = 1.0) -> ClassifierGuidedSource:
    """Guidance of `base` (exact or learned score) by the exact classifier of the target's classes."""
    return ClassifierGuidedSource(base, ExactClassifier(target), check_label(target, label), scale)


def class_purity(target: Target, x, label: int) -> float:
    """Fraction of points whose exact class posterior at level 0 is largest for `label`."""
    return float(np.mean(target.classify(torch.as_tensor(x)) == int(label)))
