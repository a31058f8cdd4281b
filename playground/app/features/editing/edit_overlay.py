"""What edit mode draws over the particles: the drawn points, every Gaussian's 2-sigma ellipse, the
selected one highlighted with its rotation stalk, the handles, and the brush circle. Five
pyqtgraph items in all, fed arrays (never one item per point or per Gaussian)."""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from playground.app.features.editing.edit_geometry import ellipses, handles
from playground.app.widgets.particle_item import ParticleItem

Z = 30
HANDLE_STYLE = {"centre": ("o", 10, (255, 255, 255)), "axis": ("s", 8, (110, 210, 255)),
                "rotate": ("o", 9, (255, 120, 200))}
SELECTED_RGB = (255, 230, 70)
POINT_RGBA = QColor(255, 170, 60, 200)


def view_px(vb) -> float:
    """Data units per screen pixel of a ViewBox (the particle view's aspect is locked: one number)."""
    (x0, x1), _ = vb.viewRange()
    width = vb.width()                    # 0 before the view is laid out: assume 500 pixels
    px = (x1 - x0) / (width if width > 0 else 500)
    if not (px > 0 and math.isfinite(px)):
        px = (x1 - x0) / 500
    return px


class EditOverlay:
    def __init__(self):
        self.points_item = ParticleItem()         # 1000+ points redrawn per edit: one polygon, not spot records
        self.ellipse_item = pg.PlotCurveItem(pen=pg.mkPen((110, 210, 255), width=1.5), connect="finite")
        self.selected_item = pg.PlotCurveItem(pen=pg.mkPen(SELECTED_RGB, width=3), connect="finite")
        self.handle_item = pg.ScatterPlotItem(pxMode=True)
        self.brush_item = pg.PlotCurveItem(pen=pg.mkPen((255, 255, 255, 150), width=1, style=Qt.PenStyle.DashLine))
        self.items = [self.points_item, self.ellipse_item, self.selected_item, self.handle_item, self.brush_item]
        self._spots = []
        for k, item in enumerate(self.items):
            item.setZValue(Z + k)
            item.setVisible(False)

    def draw(self, doc, selected, with_handles: list[int], px: float) -> None:
        pts = doc.points
        self.points_item.set_colours(np.zeros(len(pts), np.int64), [POINT_RGBA])
        self.points_item.set_positions(pts)
        gs = doc.gaussians
        self.ellipse_item.setData(*ellipses(gs))
        if selected is not None and selected < len(gs):
            x, y = ellipses([gs[selected]])
            hs = handles(doc, selected, px)
            tip, base = hs[5].pos, hs[1].pos           # a stalk from the major axis end to the rotation handle
            self.selected_item.setData(np.concatenate([x, [base[0], tip[0]]]), np.concatenate([y, [base[1], tip[1]]]))
        else:
            self.selected_item.setData([], [])
        spots = []
        for i in with_handles:
            for h in handles(doc, i, px):
                if h.kind == "rotate" and i != selected:
                    continue
                sym, size, rgb = HANDLE_STYLE[h.kind]
                if i == selected and h.kind != "rotate":
                    rgb = SELECTED_RGB
                spots.append({"pos": tuple(h.pos), "symbol": sym, "size": size,
                              "brush": pg.mkBrush(*rgb), "pen": pg.mkPen((20, 20, 20), width=1)})
        key = [(s["pos"], s["symbol"], s["size"], s["brush"].color().getRgb()) for s in spots]
        if key != self._spots:            # unchanged handles (a brush dab): no spot records rebuilt
            self._spots = key
            self.handle_item.setData(spots)
