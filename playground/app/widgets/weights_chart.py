"""Bar chart of per-class weights: the truth, the training set, and what a sampler produced.

One widget serves the dice editor ("roll N times": memorisation shows as sampled bars following
the empirical ones instead of the true ones) and the metrics dock. Series are set by name; a
series set to None is hidden, so the chart never shows stale bars from an older run.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

SERIES = {                       # name -> brush colour; drawn left to right within a class
    "true": (150, 150, 150),
    "training set": (90, 160, 230),
    "sampled": (255, 170, 40),
}


class WeightsChart(pg.PlotWidget):
    def __init__(self, parent=None, object_name: str = "weightsChart"):
        super().__init__(parent)
        self.setObjectName(object_name)
        self.setToolTip("Probability of each class (dice face / component): exact, in the training set, "
                        "and in the sampled particles")
        self.setMouseEnabled(x=False, y=False)
        self.setMenuEnabled(False)
        self.hideButtons()
        self.setLabel("left", "probability")
        self.getAxis("left").enableAutoSIPrefix(False)
        self.legend = pg.LegendItem(offset=(5, 5), labelTextSize="8pt")
        self.legend.setParentItem(self.getPlotItem().vb)
        self._names: list[str] = []
        self._values: dict[str, np.ndarray | None] = {k: None for k in SERIES}
        self._bars: dict[str, pg.BarGraphItem] = {}
        self._legend_keys: list[str] = []
        for key, colour in SERIES.items():
            bar = pg.BarGraphItem(x=[], height=[], width=0.25, brush=pg.mkBrush(colour), pen=pg.mkPen(None),
                                  name=key)
            bar.setVisible(False)
            self.getPlotItem().vb.addItem(bar)      # not via the plot: the legend lists shown series only
            self._bars[key] = bar

    def set_groups(self, names: list[str]) -> None:
        """New classes: every series is cleared (weights of another target mean nothing here)."""
        self._names = [str(n) for n in names]
        self._values = {k: None for k in SERIES}
        ticks = [(i, n if len(n) <= 10 else n[:9] + "…") for i, n in enumerate(self._names)]
        self.getAxis("bottom").setTicks([ticks])
        self.setXRange(-0.6, max(len(self._names), 1) - 0.4, padding=0)
        self._redraw()

    def set_series(self, key: str, weights) -> None:
        if key not in SERIES:
            raise KeyError(f"unknown series {key!r} (one of {', '.join(SERIES)})")
        if weights is not None:
            weights = np.asarray(weights, dtype=np.float64).ravel()
            if len(weights) != len(self._names):
                raise ValueError(f"{key}: {len(weights)} weights for {len(self._names)} classes")
        self._values[key] = weights
        self._redraw()

    def series(self, key: str) -> np.ndarray | None:
        return self._values[key]

    @property
    def group_names(self) -> list[str]:
        return list(self._names)

    def _redraw(self) -> None:
        shown = [k for k in SERIES if self._values[k] is not None]
        width = 0.8 / max(len(shown), 1)
        top = 0.0
        relabel = shown != self._legend_keys       # rebuilding the legend costs ~10 ms: only when it changes
        if relabel:
            self.legend.clear()
            self._legend_keys = shown
        for key, bar in self._bars.items():
            v = self._values[key]
            if v is None:
                bar.setVisible(False)
                continue
            j = shown.index(key)
            x = np.arange(len(v)) - 0.4 + width * (j + 0.5)
            bar.setOpts(x=x, height=v, width=width * 0.92)
            bar.setVisible(True)
            if relabel:
                self.legend.addItem(bar, key)
            top = max(top, float(np.max(v)) if len(v) else 0.0)
        self.setYRange(0, max(top * 1.35, 0.05), padding=0)     # head room for the legend
