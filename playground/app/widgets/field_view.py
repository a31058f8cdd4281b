"""The score field: learned (and optionally exact) score arrows plus an error heatmap.

With a schedule given it shows the schedule's probability-flow velocity instead, negated so the
arrows point the way particles move while sampling (toward the data); the exact velocity comes
from the exact denoiser through the parametrisation module (sources.Source.velocity).

Arrows are built as line segments (shaft + two head strokes) and drawn with a few
PlotDataItems using connect='pairs', one per magnitude bin, so the whole field is 4-5 items
whatever the grid size. Lengths are normalised (direction matters, magnitude is shown by
colour) because raw score magnitudes span orders of magnitude between noise levels.
The evaluation (576 points for arrows, 48x48 for the heatmap) runs on the GUI thread when the
frame or the model changes, never in paint(); it takes a few milliseconds (see the report).
"""
from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
import torch

from playground.maths.metrics import score_error, velocity_error
from playground.maths.sources import ExactSource
from playground.app.widgets.particle_item import grid_image

ARROW_GRID = 32
ERROR_GRID = 48
MAG_COLOURS = ["#3b6fb6", "#35b779", "#fde725", "#ff7f0e"]   # low -> high magnitude
HEAD = 0.3        # head stroke length as a fraction of the arrow
HEAD_ANGLE = math.radians(28)


def arrow_segments(pts: np.ndarray, vec: np.ndarray, length: np.ndarray) -> np.ndarray:
    """(m*6, 2) points: for each arrow a shaft and two head strokes, as pairs."""
    norm = np.linalg.norm(vec, axis=1, keepdims=True)
    d = np.where(norm > 0, vec / np.maximum(norm, 1e-30), 0.0)
    half = 0.5 * length[:, None] * d
    tail, tip = pts - half, pts + half
    out = np.empty((len(pts), 6, 2))
    out[:, 0], out[:, 1] = tail, tip
    for k, sgn in enumerate((1.0, -1.0)):
        c, s = math.cos(math.pi - sgn * HEAD_ANGLE), math.sin(math.pi - sgn * HEAD_ANGLE)
        back = np.stack([d[:, 0] * c - d[:, 1] * s, d[:, 0] * s + d[:, 1] * c], 1)
        out[:, 2 + 2 * k] = tip
        out[:, 3 + 2 * k] = tip + HEAD * length[:, None] * back
    return out.reshape(-1, 2)


class FieldLayer:
    """Owns the arrow and heatmap items of one PlotWidget and recomputes them on request."""

    def __init__(self, plot: pg.PlotWidget):
        self.plot = plot
        self.error_image = pg.ImageItem(axisOrder="col-major")
        self.error_image.setLookupTable(pg.colormap.get("inferno").getLookupTable(nPts=256))
        self.error_image.setOpacity(0.85)
        self.error_image.setZValue(-5)
        self.error_image.setVisible(False)
        plot.addItem(self.error_image)
        self.learned = []
        for col in MAG_COLOURS:
            item = pg.PlotDataItem(connect="pairs", pen=pg.mkPen(col, width=1))
            item.setZValue(5)
            plot.addItem(item)
            self.learned.append(item)
        self.exact = pg.PlotDataItem(connect="pairs", pen=pg.mkPen((230, 230, 230, 150), width=1))
        self.exact.setZValue(4)
        self.exact.setVisible(False)
        plot.addItem(self.exact)
        self.show_exact = False
        self.show_error = False
        self.last_eval_ms = 0.0
        self.last_error = float("nan")
        self.last_peak = float("nan")

    def clear(self) -> None:
        for item in self.learned:
            item.setData([], [])
        self.exact.setData([], [])
        self.error_image.clear()

    def update(self, view: dict, target, source, alpha: float, sigma: float, schedule=None) -> None:
        """Recompute the arrows (and heatmap) at level (alpha, sigma) > 0: the score, or with a
        schedule its sampling-direction velocity -dx/dt at the time t of that noise level."""
        t0 = time.perf_counter()
        pts, _, _ = grid_image(view, ARROW_GRID)
        cell = min(view["xlim"][1] - view["xlim"][0], view["ylim"][1] - view["ylim"][0]) / ARROW_GRID
        x = torch.as_tensor(pts, dtype=torch.float32)
        t = None if schedule is None else float(schedule.t_of_level(sigma / alpha))

        def vectors(src):
            if t is None:
                return src.score(x, alpha, sigma).double().numpy()
            return -src.velocity(x, t, schedule).double().numpy()

        exact = None
        with torch.no_grad():
            learned = vectors(source) if source is not None else None
            if self.show_exact or learned is None:
                exact = vectors(ExactSource(target)) if t is not None else target.score(x, alpha, sigma).double().numpy()
        shown = learned if learned is not None else exact
        mag = np.linalg.norm(shown, axis=1)
        finite = np.isfinite(mag)
        ref = np.percentile(mag[finite], 90) if finite.any() else 1.0
        rel = np.clip(mag / max(ref, 1e-30), 0, 1)
        length = cell * 0.9 * (0.35 + 0.65 * rel)
        segs = arrow_segments(pts, np.where(finite[:, None], shown, 0.0), length)
        per_arrow = segs.reshape(len(pts), 6, 2)
        colour_bin = np.minimum((np.clip(mag / max(ref, 1e-30), 0, 1.5) / 1.5 * len(MAG_COLOURS)).astype(int),
                                len(MAG_COLOURS) - 1)
        for b, item in enumerate(self.learned):
            sel = per_arrow[(colour_bin == b) & finite].reshape(-1, 2)
            item.setData(sel[:, 0], sel[:, 1])
        if self.show_exact and exact is not None and learned is not None:
            emag = np.linalg.norm(exact, axis=1)
            el = cell * 0.9 * (0.35 + 0.65 * np.clip(emag / max(np.percentile(emag, 90), 1e-30), 0, 1))
            es = arrow_segments(pts, exact, el)
            self.exact.setData(es[:, 0], es[:, 1])
            self.exact.setVisible(True)
        else:
            self.exact.setVisible(False)
        if self.show_error and source is not None:
            self._update_error(view, target, source, alpha, sigma, schedule, t)
            self.error_image.setVisible(True)
        else:
            self.error_image.setVisible(False)
        self.last_eval_ms = 1000 * (time.perf_counter() - t0)

    def _update_error(self, view, target, source, alpha, sigma, schedule=None, t=None) -> None:
        """|learned - exact| / |exact|, weighted by the noised density (errors where mass is)."""
        pts, _, rect = grid_image(view, ERROR_GRID)
        if schedule is None:
            rel, w, self.last_error = score_error(target, source, pts, alpha, sigma)
        else:
            rel, w, self.last_error = velocity_error(target, source, pts, t, schedule)
        img = (np.clip(rel, 0, 1) * w).reshape(ERROR_GRID, ERROR_GRID)
        # Scale to the worst cell (at least 0.1) so a good model still shows where it is wrong;
        # the absolute figure is last_error, printed next to the toggles.
        self.last_peak = float(img.max())
        self.error_image.setImage(img.astype(np.float32), levels=(0.0, max(0.1, self.last_peak)))
        self.error_image.setRect(rect)
