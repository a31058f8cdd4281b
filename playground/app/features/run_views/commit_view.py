"""Mode commitment: the exact class posterior of the run's particles against the noise level.

One line per class (the mean of p(c | x_t) over the particles) and the fraction of particles whose
largest posterior exceeds 0.9. The curves are computed by maths.commitment, off the paint path
(set_run computes them; a caller with a worker thread hands set_commitment the result instead).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from playground.app.widgets.legend import legend_beside
from playground.maths.commitment import Commitment, commitment

MAX_LINES = 24                  # classes drawn (the heaviest); the legend lists at most LEGEND_MAX
LEGEND_MAX = 8


def class_colour(i: int, n: int):
    return pg.intColor(i, hues=max(n, 1), values=1, maxValue=255, minValue=150, sat=200)


class CommitView(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("commitView")
        self._target = None
        self._commitment: Commitment | None = None
        self.note = QLabel(objectName="commitNote")
        self.note.setWordWrap(True)
        self.note.setFixedHeight(2 * self.note.fontMetrics().lineSpacing() + 4)   # the plot never jumps
        self.plot = pg.PlotWidget()
        self.plot.setObjectName("commitPlot")      # PlotWidget hands objectName= to its PlotItem
        self.plot.setMenuEnabled(False)
        self.plot.setLogMode(x=True, y=False)
        self.plot.invertX(True)              # high noise on the left: the run's order
        self.plot.setLabel("bottom", "noise level σ/α")
        self.plot.setLabel("left", "probability")
        self.plot.setYRange(0.0, 1.02, padding=0)
        self.legend = legend_beside(self.plot)
        self.cursor = pg.InfiniteLine(angle=90, pen=pg.mkPen((120, 200, 255), width=1))
        self.cursor.setVisible(False)
        self.plot.addItem(self.cursor)
        self._curves: list[pg.PlotDataItem] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.note)
        layout.addWidget(self.plot, 1)
        self._refresh_note()

    def set_target(self, target) -> None:
        """A new target: its classes, no curves until a run."""
        self._target = target
        self._commitment = None
        self._redraw()

    def set_run(self, alphas, sigmas, states, max_particles: int = 2000) -> None:
        """Compute the curves of a recorded run (frames' alpha, sigma and (n, 2) states)."""
        if self._target is None:
            raise RuntimeError("set_target before set_run")
        if self._target.n_groups < 2:
            self._commitment = None
            self._redraw()
            return
        self.set_commitment(commitment(self._target, states, alphas, sigmas, max_particles=max_particles))

    def set_commitment(self, result: Commitment | None) -> None:
        self._commitment = result
        self._redraw()

    def clear_run(self) -> None:
        self.set_commitment(None)

    def commitment(self) -> Commitment | None:
        return self._commitment

    def set_frame(self, k: int | None) -> None:
        """Mark the noise level of the frame the particle view shows (None: no marker)."""
        c = self._commitment
        level = None if c is None or k is None else float(c.levels[int(k)])
        if level is None or not (0 < level < np.inf):
            self.cursor.setVisible(False)
            return
        self.cursor.setValue(np.log10(level))       # log-mode axes place items in log10 units
        self.cursor.setVisible(True)

    def _redraw(self) -> None:
        for curve in self._curves:
            self.plot.removeItem(curve)
        self._curves = []
        self.legend.clear()
        c = self._commitment
        if c is not None:
            ok = np.isfinite(c.levels) & (c.levels > 0)      # a log axis: the clean frame (0) is left out
            lv = c.levels[ok]
            names = self._target.group_names
            order = np.argsort(-self._target.group_weights())[:MAX_LINES]
            for i in sorted(order):
                pen = pg.mkPen(class_colour(i, len(names)), width=2)
                label = names[i] if len(names) <= LEGEND_MAX else None
                self._add(lv, c.mean_posterior[ok, i], pen, label)
            pen = pg.mkPen((255, 255, 255), width=3, style=Qt.PenStyle.DashLine)
            self._add(lv, c.committed[ok], pen, f"committed (max p > {c.threshold:g})")
        self._refresh_note()

    def _add(self, x, y, pen, name) -> None:
        curve = self.plot.plot(x, y, pen=pen, name=name)
        self._curves.append(curve)

    def _refresh_note(self) -> None:
        t = self._target
        if t is None:
            text = "no target"
        elif t.n_groups < 2:
            text = (f"This target has one class ({t.group_names[0] if t.group_names else '1'}): "
                    "there is no choice to commit to.")
        elif self._commitment is None:
            text = "Run a sampler to see at which noise level each particle chooses its class."
        else:
            text = ("Mean exact posterior p(class | x_t) per class, and the fraction of particles "
                    "already committed: they choose at middle noise levels.")
            if t.n_groups > MAX_LINES:
                text += f" The {MAX_LINES} heaviest of {t.n_groups} classes are drawn."
        self.note.setText(text)
