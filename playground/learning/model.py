"""A small MLP denoiser, trained by score matching (EDM preconditioning) or flow matching.

Whatever it was trained on, calling it answers the samplers' one question: given y = x/alpha and
the scale-free level s = sigma/alpha, the denoised estimate E[x0 | y]. The objective only changes
what the MLP F predicts:
  dsm: D(y, s) = m + c_skip(s) (y - m) + c_out(s) F(c_in(s) (y - m), log(s)/4), with c_in, c_skip,
       c_out chosen (Karras et al. 2022) so that F's input and target have unit variance at every
       level, and m the data's mean: that choice assumes zero-mean data (sigma_data is the spread
       about the mean), and without m F has to output m / sigma_data at every large level, where
       training rarely reaches and the sampler starts (twin_peaks, 80/20 modes at x = -2 and 2:
       400 budgeted steps gave 0.7% too much weight to the small mode, SW2/floor 1.44 -> 0.92);
  fm:  the flow velocity on x_t = (1-t) x0 + t eps, v(x_t, t) = c_v F(c_in x_t, t), and
       D = x_t - t v with t = s/(1+s), x_t = y/(1+s) (parametrization.x0_from_velocity).
       F sees t itself, bounded in [0, 1], not log s: the flow loss draws t up to 1 (s = inf) and
       down to 0 (s = 0), where log s features would blow up; c_in x_t = y/sqrt(s^2 + sd^2) is the
       same unit-variance input as dsm's, and c_v = sqrt(1 + sd^2) the std of eps - x0.

A conditional model (n_classes > 0) adds a learned embedding of the class label to the first
layer's pre-activation; label n_classes is "no label" (the null class classifier-free guidance
needs). With n_classes = 0 the module, its state_dict and its outputs are exactly the old ones.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

from playground.maths.parametrization import flow_time, x0_from_velocity

OBJECTIVES = {"dsm": "score matching", "fm": "flow matching"}


@dataclass
class ModelConfig:
    hidden: int = 64
    # Two hidden layers: reaching quality took as many steps as three (~1000 on swiss_roll, 6
    # seeds; equal SW2 after 1500 steps on seven presets) at 2.3 ms a step instead of 2.7.
    depth: int = 2
    noise_freqs: int = 16      # Fourier features of log(sigma)
    x_freqs: int = 4           # sin/cos of the scaled input at octave frequencies: sharper shapes
    sigma_data: float = 1.0    # std of the target; set from the target when training starts
    n_classes: int = 0         # > 0: conditional on a class label (index n_classes = null label)
    objective: str = "dsm"     # "dsm": F predicts the scaled x0 (score matching); "fm": the flow velocity
    # dsm: the data's mean [x, y], set from the target when training starts (as sigma_data);
    # None: no centring, the models saved before it (their outputs are exactly the old ones).
    data_mean: list[float] | None = None

    def to_dict(self) -> dict:
        return asdict(self)


class Denoiser(nn.Module):
    def __init__(self, config: ModelConfig | None = None):
        super().__init__()
        self.config = config or ModelConfig()
        c = self.config
        if c.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, got {c.objective!r}")
        self.register_buffer("noise_basis", torch.linspace(0.25, 6.0, c.noise_freqs), persistent=True)
        self.register_buffer("x_octaves", 2.0 ** torch.arange(c.x_freqs, dtype=torch.float32), persistent=True)
        # Not saved in the state_dict (the config holds it), so checkpoints keep their keys.
        self.register_buffer("centre", _mean_tensor(c.data_mean), persistent=False)
        width_in = 2 + 4 * c.x_freqs + 2 * c.noise_freqs
        layers, w = [], width_in
        for _ in range(c.depth):
            layers += [nn.Linear(w, c.hidden), nn.SiLU()]
            w = c.hidden
        layers.append(nn.Linear(w, 2))
        self.net = nn.Sequential(*layers)
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)
        if c.n_classes > 0:     # created last: the shared layers draw the same init as an unconditional model
            self.label_embedding = nn.Embedding(c.n_classes + 1, c.hidden)
            nn.init.normal_(self.label_embedding.weight, std=0.1)

    @property
    def null_label(self) -> int:
        return self.config.n_classes

    def _label_shift(self, label, n: int, device) -> torch.Tensor | None:
        """Embedding added to the first layer: (1, hidden) for one label, (n, hidden) per sample.
        None for an unconditional model; a conditional model without a label gets the null one."""
        if self.config.n_classes <= 0:
            if label is not None:
                raise ValueError("this model is unconditional: it takes no class label")
            return None
        label = torch.as_tensor(self.null_label if label is None else label, dtype=torch.long, device=device)
        if label.numel() != 1 and label.numel() != n:
            raise ValueError(f"need one label or one per point, got {label.numel()} for {n} points")
        if bool(((label < 0) | (label > self.null_label)).any()):
            raise ValueError(f"class labels must be in 0..{self.null_label - 1} (or {self.null_label} for none)")
        return self.label_embedding(label.reshape(-1))

    def precond(self, sigma: torch.Tensor):
        sd = self.config.sigma_data
        var = sigma * sigma + sd * sd          # six small ops, not twelve: the loss asks three times a step
        c_in = torch.rsqrt(var)
        return (sd * sd) / var, (sd * sigma) * c_in, c_in

    def _x_features(self, xin: torch.Tensor) -> torch.Tensor:
        feats = [xin]
        if self.config.x_freqs:
            ang = xin[..., None] * self.x_octaves * math.pi / 2          # (n, 2, F)
            feats += [torch.sin(ang).flatten(1), torch.cos(ang).flatten(1)]
        return torch.cat(feats, dim=1)

    def _noise_features(self, sigma: torch.Tensor) -> torch.Tensor:
        ang = (torch.log(sigma) / 4.0) * self.noise_basis * math.pi
        return torch.cat([torch.sin(ang), torch.cos(ang)], dim=1)

    def _time_features(self, t: torch.Tensor) -> torch.Tensor:
        ang = t * self.noise_basis * math.pi
        return torch.cat([torch.sin(ang), torch.cos(ang)], dim=1)

    def _mlp(self, xf: torch.Tensor, nf: torch.Tensor, label) -> torch.Tensor:
        """F on input features xf (n, k) and noise/time features nf ((n, m) or (1, m)).

        With one noise level for the whole batch (every sampler step) the noise features' share of
        the first layer is computed once and folded into its bias: about 20% less work per step.
        One label for the batch is folded into that bias too; per-point labels are added after.
        """
        shift = self._label_shift(label, xf.shape[0], xf.device)
        if nf.shape[0] == 1 and xf.shape[0] != 1:
            first = self.net[0]
            k = xf.shape[1]
            bias = first.bias + nf @ first.weight[:, k:].T
            if shift is not None and shift.shape[0] == 1:
                bias, shift = bias + shift, None
            h = torch.addmm(bias, xf, first.weight[:, :k].T)
            return self._after_first(h if shift is None else h + shift)
        if shift is None:
            return self.net(torch.cat([xf, nf], dim=1))
        return self._after_first(self.net[0](torch.cat([xf, nf], dim=1)) + shift)

    def _after_first(self, h: torch.Tensor) -> torch.Tensor:
        """The layers after the first (self.net[1:] would build a new Sequential on every call)."""
        for layer in itertools.islice(self.net, 1, None):
            h = layer(h)
        return h

    def raw(self, x: torch.Tensor, sigma: torch.Tensor, label=None) -> torch.Tensor:
        """dsm: F, the unit-variance network output the loss compares; sigma is (n, 1) or (1, 1)."""
        _, _, c_in = self.precond(sigma)
        return self._mlp(self._x_features(c_in * (x - self.centre)), self._noise_features(sigma), label)

    def skip(self, x: torch.Tensor, sigma) -> torch.Tensor:
        """dsm: the part of D that is not learned, m + c_skip (x - m): the loss's target is
        (x0 - skip) / c_out."""
        c_skip, _, _ = self.precond(sigma)
        return self.centre + c_skip * (x - self.centre)

    def velocity_scale(self) -> float:
        """c_v: the std of the flow target eps - x0, so F's output is O(1)."""
        return math.sqrt(1.0 + self.config.sigma_data**2)

    def velocity(self, x_t: torch.Tensor, t: torch.Tensor, label=None) -> torch.Tensor:
        """fm: the flow velocity v(x_t, t) ~ E[eps - x0 | x_t]; t is (n, 1) or (1, 1) in [0, 1]."""
        if self.config.objective != "fm":
            raise ValueError("this is a score-matching model: it has no velocity output (use Source.velocity)")
        sd = self.config.sigma_data
        c_in = torch.rsqrt((1 - t) ** 2 * sd**2 + t**2)
        return self.velocity_scale() * self._mlp(self._x_features(c_in * x_t), self._time_features(t), label)

    def forward(self, x: torch.Tensor, sigma, label=None) -> torch.Tensor:
        """x0 estimate from x/alpha = x0 + sigma*eps; sigma (the level) is a float or an (n, 1) tensor;
        label (conditional models only) an int or an (n,) long tensor, None = the null label."""
        sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).reshape(-1, 1)
        if self.config.objective == "fm":
            t = flow_time(sigma).clamp(0.0, 1.0)
            x_t = (1 - t) * x
            return x0_from_velocity(x_t, self.velocity(x_t, t, label), 1 - t, t, -1.0, 1.0)
        if sigma.numel() == 1:      # one level for the batch (every sampler step): scalars, not tiny tensor ops
            level = float(sigma)
            c_skip, c_out, c_in = (float(c) for c in self.precond(torch.tensor(level, dtype=torch.float64)))
            features, xc = self._noise_features(sigma), x - self.centre
            return self.centre + c_skip * xc + c_out * self._mlp(self._x_features(c_in * xc), features, label)
        _, c_out, _ = self.precond(sigma)
        return self.skip(x, sigma) + c_out * self.raw(x, sigma, label)


def _mean_tensor(mean) -> torch.Tensor:
    """The data mean as a (2,) float32 tensor: zeros for None; two finite numbers or a ValueError."""
    if mean is None:
        return torch.zeros(2)
    try:
        values = [float(v) for v in mean]
    except (TypeError, ValueError):
        values = []
    if len(values) != 2 or not all(math.isfinite(v) for v in values):
        raise ValueError(f"data_mean must be two finite numbers, got {mean!r}")
    return torch.tensor(values, dtype=torch.float32)


def build_model(config: dict | ModelConfig | None = None) -> Denoiser:
    if isinstance(config, dict):
        config = ModelConfig(**{k: v for k, v in config.items() if k in ModelConfig.__dataclass_fields__})
    return Denoiser(config)
