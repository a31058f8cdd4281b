"""Stable target field (Xu et al. 2023): regress on the batch's posterior mean of x0, not on one x0.

Plain score matching asks the network for E[x0 | y] but shows it a single x0 per noisy point: at
levels where several far-apart data points could have made y, that target is mostly noise, and
the weight between distant modes is learned last (issue 26). Here every point of the batch is a
candidate for every noisy point, weighted by how likely it made it,
    x0_hat(z) = sum_j w_j x_j,   w_j ~ exp(-|z - a x_j|^2 / (2 b^2))   (z = a x0 + b eps),
with the point's own x0 always among the candidates. It uses the training samples only, never
the target's formula, and at small b it is the plain target (only the own x0 has weight). It is
consistent as the batch grows (the bias is O(1/batch)). With a batch of 1024, 390 steps of it beat
575 plain ones (the same CPU time: ~2.5 ms a step instead of 1.5) on 10 hard targets, mean SW2
over the floor 1.17 against 1.26 (issue 26's closing note).
"""
from __future__ import annotations

import torch

LOGIT_FLOOR = -80.0     # exp(-80) is still a normal float32: deeper logits would make slow denormals
GROUP = 2048            # the most points averaged together: bounds the weight matrix at 16 MB
FINE = 0.01             # noise levels (b/a) under this share of the data's spread get exact differences


class StableTarget:
    """Callable (x0, z, a, b, classes=None, rows=None, null=None) -> x0_hat, reusing one (n, n) buffer;
    `spread` is the data's scale (the model's sigma_data)."""

    def __init__(self, spread: float = 1.0):
        self.spread = float(spread)     # the data's scale (sigma_data): where "small noise" begins
        self._buf: torch.Tensor | None = None

    @torch.no_grad()
    def __call__(self, x0: torch.Tensor, z: torch.Tensor, a, b: torch.Tensor,
                 classes: torch.Tensor | None = None, rows: torch.Tensor | None = None,
                 null: int | None = None) -> torch.Tensor:
        """x0 (n, 2) the batch, z = a*x0 + b*eps its noised points, a a float or (n, 1), b (n, 1).
        Conditional training: classes (n,) is each x0's class and rows (n,) the label each noisy
        point is trained with; a row with the null label averages over the whole batch, any other row
        over the points of its own class only. A batch over GROUP points is averaged within groups
        of GROUP (the n x n matrix of a 65536 batch would be 16 GB)."""
        n = len(x0)
        a = torch.as_tensor(a, dtype=x0.dtype, device=x0.device).expand(n, 1)
        parts = [slice(i, i + GROUP) for i in range(0, n, GROUP)]
        return torch.cat([self._group(x0[p], z[p], a[p], b[p], None if classes is None else classes[p],
                                      None if rows is None else rows[p], null) for p in parts])

    def _group(self, x0, z, a, b, classes, rows, null) -> torch.Tensor:
        n = len(x0)
        # Centred on the batch mean: the expanded square below cancels terms of size |x|^2 / b^2.
        mean = x0.mean(0)
        x0, z = x0 - mean, z - a * mean
        inv = 0.5 / b**2
        # -|z - a x_j|^2 / (2 b^2) up to a per-row constant, as one (n, 4) x (4, n) product. The
        # fourth column shifts each row by its own point's logit, so the own weight is exp(~0) ~ 1
        # and the others at most exp(|eps|^2 / 2): nothing overflows and the denominator is never
        # 0. (A row's shift cancels in its normalisation; folding it into the product saves a pass
        # over the n x n matrix.)
        za = torch.cat([z * (2 * a * inv), -(a * a) * inv], 1)
        xa = torch.cat([x0, (x0 * x0).sum(1, keepdim=True)], 1)
        own = (za * xa).sum(1, keepdim=True)
        za, xa = torch.cat([za, -own], 1), torch.cat([xa, torch.ones_like(own)], 1)
        buf = self._buf
        if buf is None or buf.shape != (n, n) or buf.device != x0.device or buf.dtype != x0.dtype:
            buf = self._buf = torch.empty(n, n, dtype=x0.dtype, device=x0.device)
        logits = torch.mm(za, xa.T, out=buf)
        # Rows at small noise (level under FINE of the data's spread, rare) lose digits in that
        # square: their logits come from the differences themselves.
        fine = ((b / a.abs().clamp(min=1e-12)) < FINE * self.spread).reshape(-1).nonzero().reshape(-1)
        if len(fine):       # |z - a x_j|^2 = a^2 |z/a - x_j|^2, each difference taken as such
            af = a[fine]
            dist = torch.cdist(z[fine] / af, x0, compute_mode="donot_use_mm_for_euclid_dist")
            exact = dist.square_().mul_(-(af * af) * inv[fine])
            logits[fine] = exact - exact.gather(1, fine[:, None])
        weights = logits.clamp_(min=LOGIT_FLOOR).exp_()
        if classes is not None and rows is not None:
            weights.mul_((rows[:, None] == classes.reshape(1, -1)) | (rows == null)[:, None])
        acc = torch.mm(weights, torch.cat([x0, torch.ones_like(x0[:, :1])], 1))
        return mean + acc[:, :2] / acc[:, 2:]
