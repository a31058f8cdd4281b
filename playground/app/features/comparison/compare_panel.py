"""One panel of the Compare dock: what it samples (PanelSpec), its recorded run with its path summary
(PanelResult) and how it draws itself. The runs themselves are the sampling service's (compare lane)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSpinBox, QWidget

from playground.maths.budgets import COMPARE_PANEL_FRAME_BYTES, COMPARE_PANELS
from playground.maths.paths import path_summary
from playground.maths.samplers import SAMPLERS
from playground.maths.samplers.record import Run
from playground.maths.sources import ExactSource
from playground.maths.samplers.explanations import tooltip as sampler_tooltip
from playground.app.widgets.controls import named
from playground.app.widgets.particle_item import ParticleItem, start_colour_bins

MAX_PANELS = COMPARE_PANELS            # each holds up to PANEL_FRAME_BYTES of frames
CLOCK_TICKS = 1000
CLOCK_FPS = 30
CLOCK_PLAY_SECONDS = 3.0
TAIL_PARTICLES = 64
TAIL_FRAMES = 10
PANEL_FRAME_BYTES = COMPARE_PANEL_FRAME_BYTES   # beyond this per panel, keep every k-th frame (first and last always)
SCORES = ("learned", "exact")
REFLOW_SCORES = ("base model", "reflowed model")     # offered once a reflow has finished (reflow_panel)
COUPLING_SCORES = ("independent model", "OT model")  # offered once the Pairing tab trained them
NO_EXACT = "no exact counterpart: it learned the base model's pairing, not the target's"
CLOCK_MODES = ("noise level", "fraction of run")
DEFAULT_PANELS = (("ode-heun", 50, "learned"), ("ode-heun", 50, "exact"),
                  ("sde-euler", 50, "exact"), ("ddpm", 20, "exact"))


@dataclass
class PanelSpec:
    sampler: str
    steps: int
    score: str          # "learned" | "exact" | "base model" | "reflowed model"


@dataclass
class PanelResult:
    spec: PanelSpec
    run: Run
    length: float        # mean path length of the particles over the run
    straightness: float  # mean |x_end - x_start| / length

    @property
    def frames(self) -> Run:
        return self.run


def panel_result(spec: PanelSpec, run: Run) -> PanelResult:
    summary = path_summary(run.x)
    return PanelResult(spec, run, summary["length"], summary["straightness"])


def panel_source(score: str, target, learned, models: dict):
    """The source a panel samples: the live model's snapshot, the exact score, or a reflow's model."""
    if score == "exact":
        return ExactSource(target)
    if score == "learned":
        if learned is None:
            raise ValueError("no learned model yet: train one or use the exact score")
        return learned
    source = models.get(score)
    if source is None:
        raise ValueError(f"no {score} yet: run Tools > Reflow first")
    return source


class _Margins(QObject):
    """Keeps a panel's selectors along its plot's top edge and its figures along the bottom one."""

    def __init__(self, panel: "ComparePanel"):
        super().__init__(panel.plot)
        self.panel = panel

    def eventFilter(self, plot, event) -> bool:
        if event.type() == QEvent.Type.Resize:
            top, bottom = self.panel.margins
            self.panel.selectors.setGeometry(0, 0, plot.width(), top)
            self.panel.label.setGeometry(4, plot.height() - bottom, plot.width() - 8, bottom)
        return False


class ComparePanel:
    """One plot with its own sampler, step count and score; shows one stored frame at a time."""

    def __init__(self, index: int):
        self.index = index
        self.plot = named(pg.PlotWidget(), f"comparePanel{index}",
                           "Particles of this panel's run at the clock's noise level; lines are the last "
                           f"{TAIL_FRAMES} frames of {TAIL_PARTICLES} particles")
        self.plot.getViewBox().disableAutoRange()
        self.plot.setMinimumSize(160, 160)
        self.image = pg.ImageItem(axisOrder="col-major")
        ramp = np.linspace(0, 1, 256)[:, None] ** 0.6
        self.image.setLookupTable((ramp * np.array([80, 120, 190])[None]).astype(np.ubyte))
        self.image.setZValue(-10)
        self.plot.addItem(self.image)
        self.tails = pg.PlotCurveItem(pen=pg.mkPen((235, 235, 235, 80), width=1))
        self.tails.setZValue(5)
        self.plot.addItem(self.tails)
        self.particles = ParticleItem()
        self.plot.addItem(self.particles)

        self.sampler = named(QComboBox(), f"compareSampler{index}", "Sampler of this panel")
        for name in SAMPLERS:
            self.sampler.addItem(name, name)
            self.sampler.setItemData(self.sampler.count() - 1, sampler_tooltip(name), Qt.ItemDataRole.ToolTipRole)
        self.steps = named(QSpinBox(), f"compareSteps{index}", "Sampler steps (noise levels) of this panel")
        self.steps.setRange(1, 1000)
        self.score = named(QComboBox(), f"compareScore{index}",
                            "Score of this panel: the learned model (a snapshot taken when Run is pressed), "
                            "the target's exact score, or after a reflow the base and the reflowed model")
        self.score.addItems(list(SCORES))
        sampler, steps, score = DEFAULT_PANELS[index]
        self.configure(sampler, steps, score)
        self.label = named(QLabel("not run yet"), f"compareLabel{index}",
                            "NFE used, mean path length of the particles and mean straightness "
                            "|x_end − x_start| / path length (1 = straight lines)")
        self.label.setWordWrap(True)

        # The panel is its plot: the selectors sit in the plot's top margin and the figures in its
        # bottom margin, so four panels get 300 px plots each on a 768 px screen.
        self.widget = self.plot
        self.selectors = QWidget(self.plot)
        row = QHBoxLayout(self.selectors)
        row.setContentsMargins(1, 1, 1, 1)
        row.addWidget(self.sampler, 2)
        row.addWidget(self.steps, 1)
        row.addWidget(self.score, 2)
        self.label.setParent(self.plot)
        self.label.setStyleSheet("color: #dcdcdc; background: transparent;")
        self.margins = (self.selectors.sizeHint().height(), 2 * self.label.fontMetrics().lineSpacing() + 2)
        self.plot.getPlotItem().layout.setContentsMargins(2, self.margins[0], 2, self.margins[1])
        self.plot.installEventFilter(_Margins(self))

        self.result: PanelResult | None = None
        self.shown = -1
        self._tail_idx = np.zeros(0, np.int64)

    def configure(self, sampler: str, steps: int, score: str) -> None:
        if sampler not in SAMPLERS:
            raise ValueError(f"unknown sampler {sampler!r}")
        if score not in SCORES + REFLOW_SCORES + COUPLING_SCORES:
            raise ValueError(f"score must be one of {', '.join(SCORES + REFLOW_SCORES + COUPLING_SCORES)}")
        self.sampler.setCurrentIndex(self.sampler.findData(sampler))
        self.steps.setValue(int(steps))
        i = self.score.findText(score)
        self.score.setCurrentIndex(i if i >= 0 else 0)      # a reflow's model before any reflow: learned

    def set_choices(self, extra: tuple) -> None:
        """Offer learned/exact and the `extra` models (a reflow's, the Pairing tab's); keeps the choice if it stays."""
        current = self.score.currentText()
        self.score.blockSignals(True)
        self.score.clear()
        self.score.addItems(list(SCORES + tuple(extra)))
        i = self.score.findText(current)
        self.score.setCurrentIndex(i if i >= 0 else 0)
        self.score.blockSignals(False)

    def spec(self) -> PanelSpec:
        return PanelSpec(self.sampler.currentData(), int(self.steps.value()), self.score.currentText())

    def set_result(self, result: PanelResult | None) -> None:
        self.result, self.shown = result, -1
        if result is None or not len(result.run):
            self.particles.set_positions(None)
            self.tails.setData([], [])
            self.plot.setTitle("")
            self.label.setText("not run yet")
            return
        f = result.run
        bins, colours = start_colour_bins(f.x[0])
        self.particles.set_colours(bins, colours)
        n = len(f.x[0])
        self._tail_idx = np.linspace(0, n - 1, min(TAIL_PARTICLES, n)).astype(np.int64)
        s = result.spec
        note = f"\n{NO_EXACT}" if s.score == "reflowed model" else ""
        self.label.setText(f"{s.sampler} · {s.steps} steps · {s.score}{'' if ' ' in s.score else ' score'}\n"
                           f"NFE {f.nfe[-1]}   path length {result.length:.3g}   "
                           f"straightness {result.straightness:.3f}{note}")

    def show_frame(self, k: int) -> None:
        f = self.result.run if self.result is not None else None
        if f is None or not len(f):
            return
        k = int(min(max(k, 0), len(f) - 1))
        self.shown = k
        self.particles.set_positions(f.x[k])
        lo = max(0, k - TAIL_FRAMES)
        seg = np.stack([f.x[j][self._tail_idx] for j in range(lo, k + 1)], axis=1).astype(np.float64)  # (P, T, 2)
        connect = np.ones(seg.shape[0] * seg.shape[1], dtype=bool)
        connect[seg.shape[1] - 1::seg.shape[1]] = False          # no line from one particle to the next
        flat = seg.reshape(-1, 2)
        self.tails.setData(flat[:, 0], flat[:, 1], connect=connect)
        level = f.level[k]
        lvl = "∞" if not math.isfinite(level) else f"{level:.3g}"
        self.plot.setTitle(f"σ/α = {lvl}   step {f.step[k]}/{f.step[-1]}   NFE {f.nfe[k]}", size="8pt")


