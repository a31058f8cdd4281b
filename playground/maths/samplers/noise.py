"""Where a sampler's randomness comes from: the starting noise and the per-step Gaussians.

Given a seed, every sampler starts from the same eps and step i of every stochastic sampler draws
the same z_i (NoiseStream), or, with a BrownianPath, the increment of one Brownian motion between
the step's two noise levels, so runs with different step counts share their noise too.
"""
from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import torch

from playground.maths.budgets import BROWNIAN_BYTES


def initial_noise(n: int, seed: int) -> torch.Tensor:
    """The eps every sampler starts from for this seed (float32 (n, 2), CPU)."""
    return torch.randn(int(n), 2, generator=torch.Generator().manual_seed(int(seed)))


class NoiseStream:
    """Gaussian increments keyed by step index, so two samplers with one seed share them."""

    def __init__(self, n: int, seed: int, device):
        self.n, self.seed, self.device = int(n), int(seed), device

    def __call__(self, i: int) -> torch.Tensor:
        g = torch.Generator().manual_seed((self.seed * 1_000_003 + 7919 * (i + 1)) % (2**63))
        return torch.randn(self.n, 2, generator=g).to(self.device)

    def between(self, i: int, s: float, s_next: float) -> torch.Tensor:
        """The unit Gaussian of step i, which moves from level s to s_next: here the i-th draw."""
        return self(i)


BROWNIAN_S_MIN, BROWNIAN_S_MAX = 1e-6, 1e5      # levels the shared Brownian path covers
BROWNIAN_DEPTH = 26                             # bisections in log s: leaves ~4e-7 wide in u


class BrownianPath(NoiseStream):
    """One Brownian motion W(v) in variance time v = s^2 per seed, shared by every step count.

    The reverse SDE's noise from level s to s' has variance s^2 - s'^2, so step noise
    z = (W(s^2) - W(s'^2)) / sqrt(s^2 - s'^2) is a unit Gaussian, and a coarse run's increments are
    sums of a fine run's: runs with different levels follow the same Brownian motion. W is a
    virtual Brownian tree (as k-diffusion's BrownianTreeNoiseSampler) bisected in u = log s, each
    midpoint drawn from its Brownian bridge with its own seed, so W at any level is reproducible
    without storing the path. Step-indexed draws (`__call__`) remain for one-level Langevin.
    """

    U_LO, U_HI = math.log(BROWNIAN_S_MIN), math.log(BROWNIAN_S_MAX)

    def __init__(self, n: int, seed: int, device, depth: int = BROWNIAN_DEPTH):
        super().__init__(n, seed, device)
        self.depth = int(depth)
        # Least recently used nodes go first: a walk down the tree touches the shared top levels on
        # every query, so they stay, and one root-to-leaf path (+2) always fits. Values never depend on it.
        self._nodes: OrderedDict[tuple[int, int], torch.Tensor] = OrderedDict()
        self._max_nodes = max(self.depth + 2, BROWNIAN_BYTES // (16 * max(1, self.n)))
        self._recent: dict[float, torch.Tensor] = {}

    def _v(self, frac: float) -> float:
        return math.exp(2 * (self.U_LO + frac * (self.U_HI - self.U_LO)))

    def _gauss(self, d: int, j: int) -> torch.Tensor:
        key = np.random.SeedSequence([self.seed % 2**63, 0xB7, d, j]).generate_state(1, dtype=np.uint64)[0]
        g = torch.Generator().manual_seed(int(key) % 2**63)
        return torch.randn(self.n, 2, generator=g, dtype=torch.float64)

    def _node(self, d: int, j: int, wa, wb, va: float, vb: float, vm: float) -> torch.Tensor:
        """W at the dyadic point j/2^d: the bridge between its parent interval's ends, plus its own draw."""
        w = self._nodes.get((d, j))
        if w is not None:
            self._nodes.move_to_end((d, j))
            return w
        w = wa + (vm - va) / (vb - va) * (wb - wa) + math.sqrt((vm - va) * (vb - vm) / (vb - va)) * self._gauss(d, j)
        self._nodes[(d, j)] = w
        while len(self._nodes) > self._max_nodes:
            self._nodes.popitem(last=False)
        return w

    def w(self, s: float) -> torch.Tensor:
        """W(s^2) (float64 (n, 2), CPU); W = 0 at and below BROWNIAN_S_MIN."""
        s = float(s)
        if not s <= BROWNIAN_S_MAX:
            raise ValueError(f"noise level {s:g} is above the shared Brownian path's range ({BROWNIAN_S_MAX:g})")
        if s <= BROWNIAN_S_MIN:
            return torch.zeros(self.n, 2, dtype=torch.float64)
        frac = (math.log(s) - self.U_LO) / (self.U_HI - self.U_LO)
        v0, v1 = self._v(0.0), self._v(1.0)
        lo, hi, scale = 0, 1, 1                       # the interval [lo, hi] / scale holds frac
        wa = torch.zeros(self.n, 2, dtype=torch.float64)
        wb = self._nodes.get((0, 1))
        if wb is None:
            wb = self._nodes[(0, 1)] = math.sqrt(v1 - v0) * self._gauss(0, 1)
        self._nodes.move_to_end((0, 1))
        va, vb = v0, v1
        for d in range(1, self.depth + 1):
            mid, scale = 2 * lo + 1, scale * 2
            lo, hi = 2 * lo, 2 * hi
            vm = self._v(mid / scale)
            wm = self._node(d, mid, wa, wb, va, vb, vm)
            if frac * scale < mid:
                hi, wb, vb = mid, wm, vm
            else:
                lo, wa, va = mid, wm, vm
        v = s * s                                      # inside one leaf: linear in v
        return wa + (v - va) / (vb - va) * (wb - wa)

    def _w_memo(self, s: float) -> torch.Tensor:
        if s not in self._recent:
            if len(self._recent) >= 4:
                self._recent.pop(next(iter(self._recent)))
            self._recent[s] = self.w(s)
        return self._recent[s]

    def between(self, i: int, s: float, s_next: float) -> torch.Tensor:
        s, s_next = float(s), max(float(s_next), 0.0)
        var = s * s - (s_next * s_next if s_next > BROWNIAN_S_MIN else 0.0)
        if not var > 0:
            raise ValueError(f"a Brownian increment needs s > s_next, got {s:g} and {s_next:g}")
        z = (self._w_memo(s) - self._w_memo(s_next)) / math.sqrt(var)
        return z.float().to(self.device)
