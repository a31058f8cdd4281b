"""The brush: one mouse drag turned into sprayed sketch points at a steady density per unit length."""
from __future__ import annotations

import math

import numpy as np

from playground.formats.drawing import SketchDocument, _xy


class BrushStroke:
    """One brush drag: `density` points per unit of path length, carrying the fraction between
    mouse moves so the count does not depend on how often the mouse reports. Deterministic given
    `seed`. A stroke that never moved leaves one dab of density*radius points where it started."""

    def __init__(self, doc: SketchDocument, radius: float, density: float, seed: int):
        self.doc, self.radius, self.density = doc, float(radius), float(density)
        self.rng = np.random.default_rng(seed)
        self.start: tuple[float, float] | None = None
        self.last: tuple[float, float] | None = None
        self.carry = 0.0
        self.length = 0.0
        self.added = 0

    def to(self, p) -> int:
        p = _xy(p)
        if self.last is None:
            self.start = self.last = p
            return 0
        seg = math.dist(self.last, p)
        if seg <= 0:
            return 0
        exact = self.density * seg + self.carry
        n = int(math.floor(exact))
        self.carry = exact - n
        added = self.doc.spray_segment(self.last, p, self.radius, n, self.rng)
        self.last = p
        self.length += seg
        self.added += added
        return added

    def finish(self) -> int:
        if self.start is not None and self.length == 0:
            self.added += self.doc.spray(self.start, self.radius, max(1, round(self.density * self.radius)), self.rng)
        return self.added
