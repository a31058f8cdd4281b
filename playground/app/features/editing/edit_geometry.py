"""Geometry of editing Gaussians on the particle view: where each handle sits, which handle or
Gaussian a press hits, and the 2-sigma ellipses drawn as one polyline. No Qt: pixel sizes come
in as `px`, data units per screen pixel."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from playground.formats.brush import BrushStroke
from playground.formats.drawing import DEFAULT_STD

HIT_PX = 9                  # how close (pixels) a press must be to a handle to grab it
ROTATE_OFFSET_PX = 22       # rotation handle sits this far past the end of the major axis
MAX_HANDLE_GAUSSIANS = 32   # with more Gaussians only the selected one gets handles
ELLIPSE_SEGMENTS = 48
MIN_STD = 0.01


@dataclass
class Handle:
    kind: str                  # "centre" | "axis" | "rotate"
    index: int                 # which Gaussian
    pos: np.ndarray            # data coordinates
    axis: int = -1             # for "axis": 0 major, 1 minor


@dataclass
class Drag:
    kind: str                  # "brush" | "erase" | "move" | "axis" | "rotate"
    index: int = -1
    last: np.ndarray | None = None
    offset: np.ndarray = field(default_factory=lambda: np.zeros(2))
    axes: tuple = (0.0, 0.0, 0.0)   # (std_u, std_v, angle) when the drag started
    axis: int = -1
    grab_angle: float = 0.0
    stroke: BrushStroke | None = None


def with_handles(doc, selected) -> list[int]:
    n = len(doc.gaussians)
    if n <= MAX_HANDLE_GAUSSIANS:
        return list(range(n))
    return [] if selected is None else [selected]


def handles(doc, i: int, px: float) -> list[Handle]:
    """Centre, both ends of both principal axes (at 2 sigma) and the rotation handle of Gaussian i."""
    g = doc.gaussians[i]
    su, sv, angle = g.axes()
    m = np.array(g.mean)
    u = np.array([math.cos(angle), math.sin(angle)])
    v = np.array([-u[1], u[0]])
    return [Handle("centre", i, m),
            Handle("axis", i, m + 2 * su * u, 0), Handle("axis", i, m - 2 * su * u, 0),
            Handle("axis", i, m + 2 * sv * v, 1), Handle("axis", i, m - 2 * sv * v, 1),
            Handle("rotate", i, m + (2 * su + ROTATE_OFFSET_PX * px) * u)]


def hit_test(doc, selected, p: np.ndarray, px: float) -> Handle | None:
    """The handle within HIT_PX of p (nearest; the centre wins ties), else the Gaussian whose
    1-sigma ellipse contains p (as its centre), else None."""
    order = with_handles(doc, selected)
    if selected in order:
        order.remove(selected)
        order.insert(0, selected)
    best, best_d = None, float(HIT_PX)
    for i in order:
        for h in handles(doc, i, px):
            if h.kind == "rotate" and i != selected:     # only the selection shows one
                continue
            d = float(np.linalg.norm(h.pos - p)) / px - (0.5 if h.kind == "centre" else 0.0)
            if d < best_d:
                best, best_d = h, d
    if best is not None:
        return best
    i = gaussian_under(doc, selected, p, limit=1.0)
    return None if i is None else Handle("centre", i, np.array(doc.gaussians[i].mean))


def gaussian_under(doc, selected, p: np.ndarray, limit: float) -> int | None:
    """The Gaussian with p inside its `limit`-sigma ellipse (the selected one first, else the nearest)."""
    gs = doc.gaussians
    if not gs:
        return None
    if selected is not None and gs[selected].mahalanobis(p)[0] <= limit:
        return selected
    if len(gs) > 2000:
        return None
    d = np.array([g.mahalanobis(p)[0] for g in gs])
    i = int(np.argmin(d))
    return i if d[i] <= limit else None


def circle(c, r, n=64):
    t = np.linspace(0, 2 * math.pi, n)
    return c[0] + r * np.cos(t), c[1] + r * np.sin(t)


def ellipses(gs) -> tuple[np.ndarray, np.ndarray]:
    """2-sigma ellipses of all Gaussians as one NaN-separated polyline (one item, any count)."""
    if not gs:
        return np.zeros(0), np.zeros(0)
    t = np.append(np.linspace(0, 2 * math.pi, ELLIPSE_SEGMENTS + 1), np.nan)
    unit = np.stack([np.cos(t), np.sin(t)], 1)                            # (T, 2)
    means = np.array([g.mean for g in gs])
    chol = np.linalg.cholesky(np.array([g.cov for g in gs]))              # x = m + 2 L z, |z| = 1
    xy = means[:, None, :] + 2 * np.einsum("kij,tj->kti", chol, unit)
    xy = xy.reshape(-1, 2)
    return xy[:, 0], xy[:, 1]


def press_gaussian(doc, hit: Handle | None, p: np.ndarray) -> Drag:
    """The drag a press with the Gaussian tool starts: a new Gaussian on empty space, else moving,
    stretching or rotating the one hit (Drag.index is the Gaussian to select)."""
    if hit is None:
        return Drag("move", doc.add_gaussian(p, DEFAULT_STD, weight=1.0))
    g = doc.gaussians[hit.index]
    axes = g.axes()
    if hit.kind == "axis":
        return Drag("axis", hit.index, axes=axes, axis=hit.axis)
    if hit.kind == "rotate":
        d = p - np.array(g.mean)
        return Drag("rotate", hit.index, axes=axes, grab_angle=math.atan2(d[1], d[0]))
    return Drag("move", hit.index, offset=np.array(g.mean) - p)


def drag_gaussian(doc, d: Drag, p: np.ndarray) -> None:
    """Follow a move / axis / rotate drag of Gaussian d.index to the pointer at p."""
    if d.kind == "move":
        doc.move_gaussian(d.index, p + d.offset)
        return
    g = doc.gaussians[d.index]
    su, sv, angle = d.axes
    rel = p - np.array(g.mean)
    if d.kind == "axis":
        u = np.array([math.cos(angle), math.sin(angle)]) if d.axis == 0 else \
            np.array([-math.sin(angle), math.cos(angle)])
        std = max(MIN_STD, abs(float(rel @ u)) / 2)       # the handle sits at 2 sigma
        su, sv = (std, sv) if d.axis == 0 else (su, std)
        doc.set_gaussian_shape(d.index, su, sv, angle)
    elif np.linalg.norm(rel) > 0:
        turn = math.atan2(rel[1], rel[0]) - d.grab_angle
        doc.set_gaussian_shape(d.index, su, sv, angle + turn)
