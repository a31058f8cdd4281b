"""Class purity of guided runs against the guidance scale w, one series per guidance kind.

Purity = the fraction of particles whose most probable clean class is the chosen one (1.0 for the
exact conditional law). Plotting every run as a point (w, purity) per kind shows what the issue asks
a learner to see: classifier-free and exact classifier guidance agree when both parts are exact,
and a learned classifier needs a larger w for the same purity. A new target or class clears it.
"""
from __future__ import annotations

import pyqtgraph as pg

KINDS = {                       # kind -> (label, colour)
    "cfg": ("classifier-free", (90, 160, 230)),
    "classifier-exact": ("classifier (exact)", (255, 170, 40)),
    "classifier-learned": ("classifier (learned)", (120, 200, 120)),
}


class PurityChart(pg.PlotWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("guidancePurityPlot")
        self.setToolTip("Class purity of each guided run against w, per guidance kind "
                        "(1.0 = every particle in the chosen class, as the exact conditional law)")
        self.setFixedHeight(130)
        self.setMouseEnabled(x=False, y=False)
        self.setMenuEnabled(False)
        self.hideButtons()
        self.setLabel("bottom", "w")
        self.setLabel("left", "purity")
        self.setYRange(0, 1.05, padding=0)
        self.legend = self.addLegend(offset=(5, 5), labelTextSize="7pt")
        self.points: dict[str, list[tuple[float, float]]] = {k: [] for k in KINDS}
        self.latest: dict[str, tuple[float, float] | None] = {k: None for k in KINDS}   # (w, purity) of the last run
        self._items = {}
        for kind, (label, colour) in KINDS.items():
            self._items[kind] = self.plot([], [], pen=None, symbol="o", symbolSize=7, symbolBrush=colour,
                                          symbolPen=None, name=label)

    def add(self, kind: str, scale: float, purity: float) -> None:
        """Record a run; a repeat at the same w replaces the older point."""
        pts = [p for p in self.points[kind] if abs(p[0] - scale) > 1e-9] + [(float(scale), float(purity))]
        self.points[kind] = sorted(pts)
        self.latest[kind] = (float(scale), float(purity))
        self._items[kind].setData([p[0] for p in self.points[kind]], [p[1] for p in self.points[kind]])

    def clear_runs(self) -> None:
        for kind in KINDS:
            self.points[kind], self.latest[kind] = [], None
            self._items[kind].setData([], [])
