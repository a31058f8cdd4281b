"""The "Metrics" dock: how far the frame on screen is from the target, live as a run plays.

For each shown frame: sliced W2 (64 directions, 1% trimmed) and energy distance to fresh
exact samples of the target, the fraction of particles off the target's support, the NFE
spent so far, and the per-class weights. Distances at finite N never reach 0, so the SW2 plot
carries the two-sample noise floor (the same distance between two exact sample sets of the same
size): a run is as good as it can be shown to be when its curve meets that line.
Metrics are computed in a worker thread, at most one request in flight (the newest frame wins),
so playback never waits for them; after each answer the next request waits IDLE_PER_BUSY times as
long as that one took, so metrics of fast-changing frames (playback, live samples while training)
take at most about a third of a core from training and sampling; runs that replace each other
(live samples) get metrics at most every RUN_EVERY_MS.
"""
from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QBoxLayout, QFormLayout, QLabel, QWidget

from playground.maths.metrics import energy_distance, noise_floor, off_support_fraction, sliced_w2
from playground.app.widgets.controls import follow_shape, named
from playground.app.core.threads import release_worker, start_worker, stop_worker
from playground.app.widgets.weights_chart import WeightsChart
from playground.app.core.errors import reported

SW2_POINTS = 2000          # particles compared (a fixed subsample above this)
SW2_DIRECTIONS = 64
SW2_TRIM = 0.01
ENERGY_POINTS = 1000
OFF_SUPPORT_POINTS = 1000
REFERENCE_SEED = 123_457
THROTTLE_MS = 60
IDLE_PER_BUSY = 2.0
RUN_EVERY_MS = 500        # a new run's metrics wait this long after the last request (live samples: ~6 runs/s)


def _sw2(x, y) -> float:
    return sliced_w2(x, y, n_directions=SW2_DIRECTIONS, trim=SW2_TRIM)


class MetricsWorker(QObject):
    """Owns the exact reference samples and floor of each target; computes one frame's metrics."""
    computed = Signal(int, int, object)      # run id, frame index, dict of metrics
    floorReady = Signal(object, int, float)  # target, sample size, SW2 noise floor
    failed = Signal(str)

    def __init__(self):
        super().__init__()
        self._refs: dict = {}               # (id(target), n) -> (target, reference samples, floor)

    def _reference(self, target, n: int):
        key = (id(target), n)
        entry = self._refs.get(key)
        if entry is None or entry[0] is not target:
            if len(self._refs) > 8:
                self._refs.clear()
            ref = target.sample(n, seed=REFERENCE_SEED).double().numpy()
            floor = noise_floor(target, n, seed=REFERENCE_SEED, metric=_sw2)
            entry = self._refs[key] = (target, ref, floor)
            self.floorReady.emit(target, n, floor)
        return entry

    @Slot(object, int)
    def prepare(self, target, n: int) -> None:
        torch.set_num_threads(1)
        with reported("metrics", self.failed.emit):
            self._reference(target, n)

    @Slot(int, int, object, object)
    def compute(self, run_id: int, index: int, x, target) -> None:
        torch.set_num_threads(1)
        out = None
        with reported("metrics", self.failed.emit):
            x = np.asarray(x, dtype=np.float64)
            pick = np.linspace(0, len(x) - 1, min(SW2_POINTS, len(x))).astype(np.int64)
            xs = x[pick]
            _, ref, floor = self._reference(target, len(xs))
            finite = np.isfinite(xs).all(1)
            sub = xs[np.linspace(0, len(xs) - 1, min(OFF_SUPPORT_POINTS, len(xs))).astype(np.int64)]
            sub = sub[np.isfinite(sub).all(1)]
            with torch.no_grad():
                off = off_support_fraction(target, sub) if len(sub) else float("nan")
                weights = target.empirical_weights(torch.as_tensor(xs[finite], dtype=torch.float32)) \
                    if finite.any() else None
            out = {"sw2": _sw2(xs, ref), "energy": energy_distance(xs, ref, max_points=ENERGY_POINTS),
                   "floor": floor, "off_support": off, "sampled": weights}
        self.computed.emit(run_id, index, out)

    @Slot()
    def shutdown(self) -> None:
        release_worker(self)


class MetricsDock(QObject):
    """Controller of the dock (window.metrics): listens to runChanged / frameShown."""
    updated = Signal(int)                  # frame index whose metrics are now shown
    _sigCompute = Signal(int, int, object, object)
    _sigPrepare = Signal(object, int)
    _sigShutdown = Signal()

    def __init__(self, state, services, ui):
        super().__init__(services)          # lives and dies with the window
        self.state, self.ui = state, ui
        self._frames = None
        self._run_id = 0
        self._busy, self._sent_at = False, -1e9
        self._gap_ms, self._fresh_run = THROTTLE_MS, False
        self._pending: int | None = None
        self._closed = False
        self.sw2_by_step: dict[int, float] = {}
        self.last: dict | None = None
        self.last_index = -1
        self.floor = float("nan")
        self._build_widgets()
        self._build_worker()
        self.throttle = QTimer(self)
        self.throttle.setSingleShot(True)
        self.throttle.setInterval(THROTTLE_MS)
        self.throttle.timeout.connect(self._send)
        state.runChanged.connect(self._on_frames)
        state.frameShown.connect(self._on_shown)
        state.targetChanged.connect(self._on_target)
        services.model.datasetReady.connect(self._on_dataset)
        services.on_shutdown(self.shutdown)
        services.add_busy_check(lambda: not self._closed and (self._busy or self._pending is not None))
        self._on_target(state.preset)

    def _build_widgets(self) -> None:
        root = QWidget()
        lay = QBoxLayout(QBoxLayout.Direction.LeftToRight, root)   # a column in a tall tab (follow_shape)
        lay.setContentsMargins(2, 2, 2, 2)
        follow_shape(root, lay)
        form = QFormLayout()
        self.labels = {}
        for key, title, tip in (
                ("SW2", "Sliced W2", f"Sliced 2-Wasserstein distance ({SW2_DIRECTIONS} directions, 1% trimmed) of up "
                                     f"to {SW2_POINTS} particles to as many fresh exact samples"),
                ("Energy", "Energy distance", f"Energy distance on up to {ENERGY_POINTS} particles"),
                ("Floor", "Noise floor", "Sliced W2 between two independent exact sample sets of the same size: "
                                         "the best any sampler can show at this N"),
                ("NFE", "NFE", "Score (network or oracle) evaluations used up to this frame"),
                ("OffSupport", "Off support", "Fraction of particles where the target density is negligible")):
            lab = named(QLabel("–"), f"metric{key}", tip)
            lab.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(title, lab)
            self.labels[key] = lab
        lay.addLayout(form)
        self.plot = named(pg.PlotWidget(), "metricsPlot",
                           "Sliced W2 to the target at each sampler step shown so far; dashed: the noise floor")
        self.plot.setLogMode(x=False, y=True)
        self.plot.setLabel("bottom", "sampler step")
        self.plot.setLabel("left", "sliced W2")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setMinimumSize(160, 110)
        self.curve = self.plot.plot(pen=pg.mkPen((255, 200, 60), width=2), symbol="o", symbolSize=4,
                                    symbolBrush=(255, 200, 60))
        self.floor_curve = self.plot.plot(pen=pg.mkPen((150, 150, 150), width=1, style=Qt.PenStyle.DashLine))
        lay.addWidget(self.plot, 1)
        self.chart = WeightsChart(object_name="metricsWeightsChart")
        self.chart.setMinimumSize(160, 110)
        lay.addWidget(self.chart, 1)
        self.root = root

    def _build_worker(self) -> None:
        self.worker = w = MetricsWorker()
        # Answers go to bound methods of this GUI-thread object (queued), never to a lambda, which
        # would run in the worker's thread.
        self.thread = start_worker(w, "metricsThread", (
            (self._sigCompute, w.compute), (self._sigPrepare, w.prepare), (self._sigShutdown, w.shutdown),
            (w.computed, self._on_computed), (w.floorReady, self._on_floor), (w.failed, self._on_failed)))

    def _on_failed(self, msg: str) -> None:
        self.ui.show_message(msg, error=True)

    # ----------------------------------------------------------------------------- window events
    def _target(self):
        p = self.state.preset
        return None if p is None or p.is_empty else p.target

    def _on_target(self, preset) -> None:
        self._on_frames(None)
        target = self._target()
        if target is None:
            return
        self.chart.set_groups(target.group_names)
        self.chart.set_series("true", target.group_weights())
        self.floor = float("nan")
        self.labels["Floor"].setText("…")
        n = min(SW2_POINTS, self.state.settings.particles)
        self._sigPrepare.emit(target, n)

    def _on_dataset(self, target, weights) -> None:
        if target is not self._target():
            return
        if weights is not None and len(weights) != len(self.chart.group_names):
            return
        self.chart.set_series("training set", weights)

    def _on_frames(self, frames) -> None:
        """A new run (or none): forget the old curve; metrics follow the frames as they are shown."""
        self._frames = frames
        self._run_id += 1
        self._pending = None
        self._fresh_run = True
        self.sw2_by_step = {}
        self.last, self.last_index = None, -1
        self.curve.setData([], [])
        for key in ("SW2", "Energy", "NFE", "OffSupport"):
            self.labels[key].setText("–")
        if self.chart.group_names:
            self.chart.set_series("sampled", None)

    def _on_shown(self, index: int) -> None:
        if self._frames is None or self._closed:
            return
        self._pending = int(index)
        self.labels["NFE"].setText(str(self._frames.nfe[self._pending]))    # free: no need to wait
        if not self._busy and not self.throttle.isActive():
            self.throttle.start(self._wait_ms())

    def _wait_ms(self) -> int:
        if not self._fresh_run:
            return self._gap_ms
        return max(self._gap_ms, int(RUN_EVERY_MS - 1000 * (time.perf_counter() - self._sent_at)))

    def _send(self) -> None:
        target, frames = self._target(), self._frames
        if self._pending is None or frames is None or target is None or self._busy or self._closed:
            return
        index, self._pending = self._pending, None
        self._busy, self._sent_at, self._fresh_run = True, time.perf_counter(), False
        self._sigCompute.emit(self._run_id, index, frames.x[index], target)

    def _on_floor(self, target, n: int, floor: float) -> None:
        if target is not self._target():
            return
        self.floor = float(floor)
        self.labels["Floor"].setText(f"{floor:.4f}  (N = {n})")
        self._draw_curve()

    def _on_computed(self, run_id: int, index: int, out) -> None:
        self._busy = False
        if run_id == self._run_id and out is not None and self._frames is not None:
            f = self._frames
            self.last, self.last_index = out, index
            self.sw2_by_step[int(f.step[index])] = out["sw2"]
            self.labels["SW2"].setText(f"{out['sw2']:.4f}   ({out['sw2'] / out['floor']:.1f}× floor)"
                                       if out["floor"] > 0 else f"{out['sw2']:.4f}")
            self.labels["Energy"].setText(f"{out['energy']:.4f}")
            self.labels["NFE"].setText(str(f.nfe[index]))
            off = out["off_support"]
            self.labels["OffSupport"].setText("–" if math.isnan(off) else f"{100 * off:.1f}%")
            if out["sampled"] is not None and len(out["sampled"]) == len(self.chart.group_names):
                self.chart.set_series("sampled", out["sampled"])
            self._draw_curve()
            self.updated.emit(index)
        busy_ms = 1000 * (time.perf_counter() - self._sent_at)
        self._gap_ms = int(max(THROTTLE_MS, IDLE_PER_BUSY * busy_ms))
        if self._pending is not None and not self._closed:
            self.throttle.start(self._wait_ms())

    def _draw_curve(self) -> None:
        steps = sorted(k for k, v in self.sw2_by_step.items() if math.isfinite(v) and v > 0)
        self.curve.setData(np.asarray(steps, dtype=np.float64), np.asarray([self.sw2_by_step[k] for k in steps]))
        if math.isfinite(self.floor) and self.floor > 0:
            right = max(steps[-1] if steps else 1, (self._frames.step[-1] if self._frames is not None else 1), 1)
            self.floor_curve.setData([0.0, float(right)], [self.floor, self.floor])
        else:
            self.floor_curve.setData([], [])

    def shutdown(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.throttle.stop()
        stop_worker(self._sigShutdown, self.thread)


def install(state, services, ui) -> MetricsDock:
    metrics = MetricsDock(state, services, ui)
    metrics.dock = ui.add_tab("metrics", "Metrics", lambda: metrics.root, lazy=False).dock
    return metrics
