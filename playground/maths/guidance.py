"""Classifier-free guidance (Ho & Salimans 2022) as score sources, learned and exact.

Convention (the GUI slider, `sample --guidance W`, and every function here): with the
unconditional denoiser D_u(y, s) and the class-c one D_c(y, s), guidance scale w gives
    D_w = D_u + w (D_c - D_u)      <=>      score_w = score_u + w (score_c - score_u),
the two being the same statement because the score is affine in the denoised estimate
(score = (alpha D - x) / sigma^2). So w = 0 is exactly unconditional, w = 1 exactly
conditional, and w > 1 extrapolates past the class: the implied law is p_c^w p_u^(1-w)
= p_c p(c | x)^(w-1), which sharpens the class and moves it away from the others.
(Some papers write 1 + w' for our w.) Labels here are 0-based class indices of
target.group_names; the CLI and the GUI show them 1-based / by name.

Both sources are ordinary `Source`s, so every sampler runs unchanged on them. A guided step
costs two evaluations (conditional and unconditional) and counts as two NFE; w = 0 and w = 1
need only one of the two and count one.
"""
from __future__ import annotations

import numpy as np
import torch

from playground.maths.sources import ModelSource, Source
from playground.maths.targets import Target


def conditional_target(target: Target, label: int) -> Target:
    """The exact class-c target: the components of class c, weights renormalised.

    Its noised score and denoiser are then the exact conditional ones, p(x | c) being that
    sub-mixture. Groups and names are kept, so its group_weights() are 1 for c, 0 elsewhere.
    """
    label = check_label(target, label)
    keep = np.flatnonzero(target.groups == label)
    if len(keep) == 0:
        raise ValueError(f"class {target.group_names[label]!r} has no components")
    mix = target.mixture
    idx = torch.as_tensor(keep)
    from playground.maths.mixture import GaussianMixture
    sub = GaussianMixture(mix.weights[idx], mix.means[idx], mix.covs[idx])
    spec = {"kind": "conditional", "class": int(label), "of": target.spec}
    return Target(sub, spec, groups=np.full(len(keep), label), group_names=list(target.group_names))


def check_label(target: Target, label: int) -> int:
    label = int(label)
    if not (0 <= label < target.n_groups):
        raise ValueError(f"class index must be between 0 and {target.n_groups - 1}, got {label}")
    return label


def parse_class(target: Target, text: str) -> int:
    """A user's class, as a 1-based number ("6") or a class name ("face 6"), to a 0-based label."""
    text = str(text).strip()
    names = [n.lower() for n in target.group_names]
    if text.lower() in names:
        return names.index(text.lower())
    try:
        k = int(text)
    except ValueError:
        shown = ", ".join(target.group_names[:8]) + (", ..." if target.n_groups > 8 else "")
        raise ValueError(f"unknown class {text!r} (1..{target.n_groups} or a name: {shown})") from None
    if not (1 <= k <= target.n_groups):
        raise ValueError(f"class must be between 1 and {target.n_groups}, got {k}")
    return k - 1


def _check_scale(scale: float) -> float:
    scale = float(scale)
    if not np.isfinite(scale) or scale < 0:
        raise ValueError(f"guidance scale must be a finite number >= 0, got {scale}")
    return scale


class UnconditionalModelError(ValueError):
    """Guidance asked of a model trained without class labels (callers show how to get one)."""


class _Guided(Source):
    """D_w = D_u + w (D_c - D_u) from `_pair` (both estimates) or a single estimate at w = 0 or 1."""

    def __init__(self, label: int, scale: float):
        super().__init__()
        self.label = int(label)
        self.scale = _check_scale(scale)

    def _denoise(self, y, level):
        if self.scale == 0.0:
            return self._single(y, level, None)
        if self.scale == 1.0:
            return self._single(y, level, self.label)
        self.nfe += 1                      # the base class counted one of the two evaluations
        conditional, unconditional = self._pair(y, level)
        return unconditional + self.scale * (conditional - unconditional)


class GuidedSource(_Guided):
    """Classifier-free guidance with a conditional network (trained with label dropout).

    model_source_or_model: a ModelSource (used as is) or a Denoiser (frozen copy taken).
    Both passes run as one forward of 2n points: [y; y] with labels [c, ...; null, ...].
    """
    name = "model-guided"

    def __init__(self, model_source_or_model, label: int, scale: float = 1.0):
        super().__init__(label, scale)
        src = model_source_or_model
        self.base = src if isinstance(src, ModelSource) else ModelSource(src)
        n_classes = self.base.n_classes
        if n_classes <= 0:
            raise UnconditionalModelError("the model is unconditional: train a conditional model first")
        if not (0 <= self.label < n_classes):
            raise ValueError(f"class index must be between 0 and {n_classes - 1} for this model, got {self.label}")
        self.model = self.base.model
        self.device = self.base.device

    def _single(self, y, s, label):
        return self.base.evaluate(y, s, label)

    def _pair(self, y, s):
        y = y.to(self.device)
        n = y.shape[0]
        labels = torch.full((2 * n,), self.model.null_label, dtype=torch.long, device=self.device)
        labels[:n] = self.label
        denoised = self.base.evaluate(torch.cat([y, y]), s, labels)
        return denoised[:n], denoised[n:]


class ExactGuidedSource(_Guided):
    """The same combination with the target's exact unconditional and class-c denoisers."""
    name = "exact-guided"

    def __init__(self, target: Target, label: int, scale: float = 1.0):
        super().__init__(check_label(target, label), scale)
        self.target = target
        self.conditional = conditional_target(target, self.label)

    def _single(self, y, s, label):
        t = self.target if label is None else self.conditional
        return t.denoise(y, 1.0, s).to(y.dtype)

    def _pair(self, y, s):
        return (self.conditional.denoise(y, 1.0, s).to(y.dtype), self.target.denoise(y, 1.0, s).to(y.dtype))
