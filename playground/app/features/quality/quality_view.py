"""Quality against steps, in a dock: SW2 to fresh exact samples per sampler, learned and exact score.

The sweep (compare.quality_vs_steps) runs in a TaskRunner thread on a CPU copy of the EMA
weights the training worker hands over, so training and the animation go on meanwhile. The plot
is log-log: learned solid, exact dashed, one colour per sampler, and the two-sample noise floor
as the line no sampler can get below at this N.
"""
from __future__ import annotations

import threading

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QListWidget,
                               QListWidgetItem, QProgressBar, QPushButton)

from playground.app.widgets.legend import legend_beside
from playground.maths.progress import Cancelled
from playground.maths.quality import quality_vs_steps
from playground.formats.io_utils import atomic_write_text
from playground.formats.settings import sampler_options
from playground.maths.samplers import SAMPLERS
from playground.maths.samplers.explanations import label as sampler_label
from playground.maths.sources import ExactSource, Source
from playground.app.widgets.controls import named, side_by_side, spin_box
from playground.app.widgets.task_panel import TaskPanel, cpu_copy

DEFAULT_STEPS_TEXT = "1,2,5,10,20,50,100,200"
DEFAULT_CHECKED = ("ode-euler", "ode-heun", "dpm-solver++", "ddpm")
MAX_STEPS = 10_000
PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
           (227, 119, 194), (188, 189, 34), (23, 190, 207)]
SCORE_NAMES = {"learned": "model", "model": "model", "exact": "exact"}


class StoppableSource(Source):
    """Wraps a source so a sweep aborts at the next denoiser call once `stop` is set."""

    def __init__(self, inner: Source, stop: threading.Event):
        super().__init__()
        self.inner, self.stop, self.device, self.name = inner, stop, inner.device, inner.name

    def _denoise(self, y, s):
        if self.stop.is_set():
            raise Cancelled()
        return self.inner.denoise(y, s)


def parse_steps(text: str) -> list[int]:
    """'1, 2,5' -> [1, 2, 5]; refuses anything but positive whole numbers up to MAX_STEPS."""
    parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
    if not parts:
        raise ValueError("steps: give a comma-separated list such as 1,5,20")
    out = []
    for p in parts:
        try:
            k = int(p)
        except ValueError:
            raise ValueError(f"steps: {p!r} is not a whole number") from None
        if not 1 <= k <= MAX_STEPS:
            raise ValueError(f"steps: {k} is outside 1..{MAX_STEPS}")
        out.append(k)
    return sorted(set(out))


# ----- the panel --------------------------------------------------------------------------------
class QualityPanel(TaskPanel):
    def __init__(self, state, services, ui):
        super().__init__(state, services, ui, "quality", "quality vs steps")
        self.curves: dict[tuple[str, str], pg.PlotDataItem] = {}

        self.samplers = QListWidget(objectName="qualitySamplers")
        self.samplers.setToolTip("Samplers to compare (tick to include)")
        for name in SAMPLERS:
            item = QListWidgetItem(f"{name}  —  {sampler_label(name)}")
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if name in DEFAULT_CHECKED else Qt.CheckState.Unchecked)
            self.samplers.addItem(item)
        self.samplers.setMaximumHeight(120)
        self.steps = QLineEdit(DEFAULT_STEPS_TEXT, objectName="qualitySteps")
        self.steps.setToolTip("Step counts to try, comma-separated (ode-rk45 ignores them)")
        self.learned = QCheckBox("Learned score", objectName="qualityLearnedCheck", checked=True)
        self.learned.setToolTip("Sample with a snapshot of the trained model (solid curves)")
        self.exact = QCheckBox("Exact score", objectName="qualityExactCheck", checked=True)
        self.exact.setToolTip("Sample with the target's exact score (dashed curves): the sampler's own error")
        self.particles = spin_box("qualityParticlesSpin", "Samples per run (and size of the exact reference set)",
                                  100, 50_000, 2000, 500)
        self.run_button = named(QPushButton("Run"), "qualityRunButton",
                                "Sweep every ticked sampler over the step counts (in the background)")
        self.cancel_button = named(QPushButton("Cancel", enabled=False), "qualityCancelButton", "Stop the running sweep")
        self.export_button = named(QPushButton("Export CSV", enabled=False), "qualityExportButton",
                                   "Save the table (sampler, score, steps, sw2, floor) as CSV")
        self.progress = QProgressBar(objectName="qualityProgress")
        self.progress.setRange(0, 1000)
        self.progress.setToolTip("Progress of the sweep")
        self.status = QLabel("", objectName="qualityStatus")
        self.status.setWordWrap(True)
        self.plot = pg.PlotWidget()
        self.plot.setObjectName("qualityPlot")   # PlotWidget hands objectName= to its PlotItem
        self.plot.setToolTip("Sliced W2 to fresh exact samples against steps (log-log); dotted: noise floor")
        self.plot.setLogMode(x=True, y=True)
        self.plot.setLabel("bottom", "steps")
        self.plot.setLabel("left", "sliced W2")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setMinimumHeight(150)
        self.legend = legend_beside(self.plot)

        form = QFormLayout()
        form.addRow("Samplers", self.samplers)
        form.addRow("Steps", self.steps)
        row = QHBoxLayout()
        for w in (self.learned, self.exact, QLabel("N"), self.particles):
            row.addWidget(w)
        form.addRow(row)
        buttons = QHBoxLayout()
        for w in (self.run_button, self.cancel_button, self.export_button):
            buttons.addWidget(w)
        form.addRow(buttons)
        form.addRow(self.progress)
        form.addRow(self.status)
        side_by_side(self, form, 340, self.plot)

        self._attach(self.run_button, self.cancel_button, self.progress, self.status)
        self.export_button.clicked.connect(lambda *_: self._guard(self._export_dialog))

    # ----- public ---------------------------------------------------------------------------------
    def run(self, samplers=None, steps=None, scores=None) -> None:
        """Start a sweep; arguments given here are also shown in the widgets (None: read them)."""
        if samplers is not None:
            wanted = list(samplers)
            for s in wanted:
                if s not in SAMPLERS:
                    raise ValueError(f"unknown sampler {s!r}")
            for i in range(self.samplers.count()):
                it = self.samplers.item(i)
                on = it.data(Qt.ItemDataRole.UserRole) in wanted
                it.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
        if steps is not None:
            self.steps.setText(",".join(str(int(k)) for k in steps))
        if scores is not None:
            keys = {SCORE_NAMES.get(s) for s in scores}
            if None in keys:
                raise ValueError(f"scores are 'learned' and/or 'exact', got {list(scores)}")
            self.learned.setChecked("model" in keys)
            self.exact.setChecked("exact" in keys)
        names = self.checked_samplers()
        if not names:
            raise ValueError("tick at least one sampler")
        step_list = parse_steps(self.steps.text())
        keys = [k for k, box in (("model", self.learned), ("exact", self.exact)) if box.isChecked()]
        if not keys:
            raise ValueError("tick the learned score, the exact score or both")
        preset = self.app.preset
        if preset is None or preset.is_empty:
            raise ValueError("the current preset is empty: nothing to compare against")
        self.cancel()
        options = {name: sampler_options(self.app.settings, name) for name in names}
        job = (preset.target, names, step_list, keys, int(self.particles.value()), self.app.settings.seed, options)
        if "model" in keys:
            self._request(job)
        else:
            self._launch(job, None)

    def checked_samplers(self) -> list[str]:
        return [self.samplers.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.samplers.count())
                if self.samplers.item(i).checkState() == Qt.CheckState.Checked]

    def table_csv(self) -> str:
        r = self.result
        if r is None:
            raise ValueError("no results yet: run a sweep first")
        lines = ["sampler,score,steps,sw2,floor"]
        for row in r["results"]:
            for k, v in zip(r["steps"], row["sw2"]):
                lines.append(f"{row['sampler']},{row['score']},{k},{v:.6g},{r['floor']:.6g}")
        return "\n".join(lines) + "\n"

    def export_csv(self, path) -> None:
        atomic_write_text(path, self.table_csv())
        self.ui.show_message(f"saved the quality table to {path}")

    # ----- internals --------------------------------------------------------------------------------
    def _cancelled_while_waiting(self) -> None:
        self.status.setText("cancelled")

    def _export_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export quality table", "quality.csv", "CSV (*.csv)")
        if path:
            self.export_csv(path)

    def _launch(self, job, snapshot) -> None:
        target, names, steps, keys, n, seed, options = job
        if "model" in keys and snapshot is None:
            self._set_state("idle")
            self.ui.show_message("quality vs steps: no model yet — train first, or untick Learned", error=True)
            return

        def work(progress, stop):
            makers = {}
            if "model" in keys:
                learned = cpu_copy(snapshot)
                makers["model"] = lambda: StoppableSource(learned, stop)
            if "exact" in keys:
                makers["exact"] = lambda: StoppableSource(ExactSource(target), stop)
            with torch.no_grad():
                return quality_vs_steps(target, names, steps, makers, n=n, seed=seed, progress=progress,
                                        options=options)

        self._set_state("running")
        self.status.setText(f"running {len(names)} sampler(s) × {len(steps)} step counts × {len(keys)} score(s) …")
        self.runner.start(work)

    def _show(self, result: dict) -> None:
        self.app.set_quality(result)
        self.export_button.setEnabled(True)
        self._draw()
        self.status.setText(f"done: floor {result['floor']:.3g} at N = {result['n']}")

    def _draw(self) -> None:
        r = self.result
        self.plot.clear()
        self.legend.clear()
        self.curves = {}
        steps = np.asarray(r["steps"], dtype=float)
        colour = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(SAMPLERS)}
        for row in r["results"]:
            y = np.asarray(row["sw2"], dtype=float)
            y = np.where(np.isfinite(y) & (y > 0), y, np.nan)
            style = Qt.PenStyle.SolidLine if row["score"] == "model" else Qt.PenStyle.DashLine
            pen = pg.mkPen(colour[row["sampler"]], width=2, style=style)
            label = f"{row['sampler']} ({'learned' if row['score'] == 'model' else 'exact'})"
            self.curves[(row["sampler"], row["score"])] = self.plot.plot(
                steps, y, pen=pen, symbol="o", symbolSize=5, symbolBrush=colour[row["sampler"]],
                symbolPen=None, name=label, connect="finite")
        floor = float(r["floor"])
        self.floor_curve = self.plot.plot([steps.min(), max(steps.max(), steps.min() * 1.01)], [floor, floor],
                                          pen=pg.mkPen((160, 160, 160), width=1, style=Qt.PenStyle.DotLine),
                                          name=f"noise floor {floor:.3g}")
        self.plot.enableAutoRange()

    def get_state(self) -> dict:
        return {"samplers": self.checked_samplers(), "steps": self.steps.text(),
                "learned": self.learned.isChecked(), "exact": self.exact.isChecked(),
                "n": int(self.particles.value())}

    def set_state(self, state: dict) -> None:
        if not isinstance(state, dict):
            return
        names = [s for s in state.get("samplers", []) if s in SAMPLERS]
        if names:
            for i in range(self.samplers.count()):
                it = self.samplers.item(i)
                it.setCheckState(Qt.CheckState.Checked if it.data(Qt.ItemDataRole.UserRole) in names
                                 else Qt.CheckState.Unchecked)
        if isinstance(state.get("steps"), str):
            self.steps.setText(state["steps"])
        for key, box in (("learned", self.learned), ("exact", self.exact)):
            if isinstance(state.get(key), bool):
                box.setChecked(state[key])
        if isinstance(state.get("n"), int):
            self.particles.setValue(state["n"])


def install(state, services, ui) -> "QualityPanel":
    panel = QualityPanel(state, services, ui)
    ui.add_tab("quality", "Quality vs steps", lambda: panel, lazy=False)
    services.parts.register("quality", panel.get_state, panel.set_state)
    return panel
