"""Overlays drawn over the particles: the denoiser's x̂₀ and the deforming noise mesh.

10k particles mean 10k lines per frame, so each overlay is one GraphicsObject whose paint() is a
single drawLines (and drawPoints) call over a contiguous array of QLineF/QPointF that
set_* filled from numpy beforehand: no item per particle, no maths in paint.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt.internals import PrimitiveArray
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPen

from playground.maths.mesh import mesh_edges


def cosmetic_pen(rgba, width: float) -> QPen:
    pen = QPen(QColor(*rgba))
    pen.setWidthF(width)
    pen.setCosmetic(True)
    pen.setCapStyle(Qt.PenCapStyle.SquareCap)
    return pen


class SegmentsItem(pg.GraphicsObject):
    """Line segments (m, 2) -> (m, 2) and points (k, 2) in data coordinates; rows with a
    non-finite end are skipped."""

    def __init__(self, line_pen: QPen, point_pen: QPen | None = None):
        super().__init__()
        self._line_pen, self._point_pen = line_pen, point_pen
        self._lines = PrimitiveArray(QLineF, 4)
        self._points = PrimitiveArray(QPointF, 2)
        self._bounds = QRectF()

    def set_data(self, starts=None, ends=None, points=None) -> None:
        """Replace what is drawn (None: nothing of that kind)."""
        self.prepareGeometryChange()
        seen = []
        if starts is None:
            self._lines.resize(0)
        else:
            seg = np.concatenate([np.asarray(starts, np.float64), np.asarray(ends, np.float64)], 1)
            seg = seg[np.isfinite(seg).all(1)]
            self._lines.resize(len(seg))
            self._lines.ndarray()[:] = seg
            seen += [seg[:, :2], seg[:, 2:]]
        if points is None or self._point_pen is None:
            self._points.resize(0)
        else:
            pts = np.asarray(points, np.float64)
            pts = pts[np.isfinite(pts).all(1)]
            self._points.resize(len(pts))
            self._points.ndarray()[:] = pts
            seen.append(pts)
        allp = np.concatenate(seen) if seen else np.zeros((0, 2))
        if len(allp):
            lo, hi = allp.min(0), allp.max(0)
            self._bounds = QRectF(lo[0], lo[1], max(hi[0] - lo[0], 1e-9), max(hi[1] - lo[1], 1e-9))
        else:
            self._bounds = QRectF()
        self.update()

    def clear(self) -> None:
        self.set_data()

    def segment_count(self) -> int:
        return len(self._lines)

    def point_count(self) -> int:
        return len(self._points)

    def segments(self) -> np.ndarray:
        """What paint() draws, (m, 4) as x1, y1, x2, y2: tests check the picture's input, not ours."""
        return self._lines.ndarray().copy()

    def boundingRect(self) -> QRectF:
        if self._bounds.isNull():
            return QRectF()
        px, py = self.pixelWidth() or 0.0, self.pixelHeight() or 0.0
        return self._bounds.adjusted(-3 * px, -3 * py, 3 * px, 3 * py)

    def dataBounds(self, ax, frac=1.0, orthoRange=None):
        return None, None            # like the particles: early frames must not auto-range the view

    def viewTransformChanged(self):
        self.prepareGeometryChange()

    def paint(self, p, *args):
        if len(self._lines):
            p.setPen(self._line_pen)
            p.drawLines(*self._lines.drawargs())
        if len(self._points):
            p.setPen(self._point_pen)
            p.drawPoints(*self._points.drawargs())


class DenoisedOverlayItem(SegmentsItem):
    """Each particle's x̂₀ = E[x0 | x_t] as a faint dot, with a thin line from the particle to it."""

    def __init__(self):
        # 1-px dots: wider points take Qt's stroker path, ~15x slower for 10k (see bench notes)
        super().__init__(cosmetic_pen((255, 255, 255, 60), 1.0), cosmetic_pen((255, 240, 150, 220), 1.0))
        self.setZValue(5)

    def set_frame(self, x, denoised) -> None:
        """x: the frame's particles (n, 2); denoised: denoised.denoised_at(source, x, alpha, sigma)."""
        x, denoised = np.asarray(x), np.asarray(denoised)
        if x.shape != denoised.shape:
            raise ValueError(f"{len(x)} particles but {len(denoised)} denoised estimates")
        self.set_data(x, denoised, denoised)


class MeshItem(SegmentsItem):
    """The noise grid as lines between neighbouring grid points: the flow map deforming."""

    def __init__(self):
        super().__init__(cosmetic_pen((200, 230, 255, 120), 1.0))
        self.setZValue(4)
        self._edges = mesh_edges(1)

    def set_mesh(self, states, res: int) -> None:
        """states: the grid's (res*res, 2) positions at this frame (mesh.Mesh.states[k])."""
        states = np.asarray(states)
        if len(states) != res * res:
            raise ValueError(f"a {res}×{res} mesh needs {res * res} points, got {len(states)}")
        if len(self._edges) != 2 * res * (res - 1):
            self._edges = mesh_edges(res)
        self.set_data(states[self._edges[:, 0]], states[self._edges[:, 1]])
