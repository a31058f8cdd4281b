"""The 1D probability-flow picture: p_t of u·x over (time, position) with the run's paths on it.

The heatmap is exact (maths.projection) and computed when the target, schedule or direction
changes, never in paint; each column is scaled to its own maximum so the shape shows at every
noise level. Deterministic paths follow its level sets; stochastic ones jitter across them.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Signal
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from playground.maths.projection import direction, project, projected_density
from playground.maths.schedules import get_schedule

from playground.app.widgets.overlay_items import SegmentsItem, cosmetic_pen

TIME_COLUMNS = 160
POSITION_ROWS = 160
MAX_PATHS = 200
DIRECTIONS = {"x": 0.0, "y": 90.0}      # and "angle": the spin box


def frame_times(schedule, alphas, sigmas) -> np.ndarray:
    """The schedule time t of each frame from its level sigma/alpha (t = 0 for a clean frame)."""
    out = []
    for a, s in zip(alphas, sigmas):
        level = float(s) / float(a) if float(a) > 0 else schedule.sigma_max
        out.append(0.0 if level <= 0 else float(schedule.t_of_level(min(level, schedule.sigma_max))))
    return np.asarray(out)


class FlowTimeView(QWidget):
    """Heatmap of the projected p_t plus up to MAX_PATHS particle paths; see set_target / set_run."""

    directionChanged = Signal(float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("flowTimeView")
        self._target = self._schedule = None
        self._view = {"xlim": [-4.0, 4.0], "ylim": [-4.0, 4.0]}
        self._run = None                     # (times (F,), states (F, m, 2))
        self._image = np.zeros((0, 0))

        self.direction_combo = QComboBox(objectName="flowDirectionCombo")
        self.direction_combo.addItems(["x", "y", "angle"])
        self.direction_combo.setToolTip("Project the particles and the density onto this direction")
        self.angle_spin = QDoubleSpinBox(objectName="flowAngleSpin")
        self.angle_spin.setRange(-180.0, 180.0)
        self.angle_spin.setSuffix("°")
        self.angle_spin.setSingleStep(15.0)
        self.angle_spin.setEnabled(False)
        self.angle_spin.setToolTip("Angle of the projection direction from the x axis")
        self.note = QLabel(objectName="flowTimeNote")
        self.note.setWordWrap(True)
        self.note.setFixedHeight(2 * self.note.fontMetrics().lineSpacing() + 4)   # the plot never jumps
        row = QHBoxLayout()
        row.addWidget(QLabel("direction"))
        row.addWidget(self.direction_combo)
        row.addWidget(self.angle_spin)
        row.addWidget(self.note, 1)

        self.plot = pg.PlotWidget()
        self.plot.setObjectName("flowTimePlot")      # PlotWidget hands objectName= to its PlotItem
        self.plot.setMenuEnabled(False)
        self.plot.invertX(True)              # noise on the left, data on the right: the run's order
        self.plot.setLabel("bottom", "time t (noise → data)")
        self.plot.setLabel("left", "position along the direction")
        for axis in ("bottom", "left"):
            self.plot.getAxis(axis).enableAutoSIPrefix(False)
        self.heat = pg.ImageItem(axisOrder="col-major")
        self.heat.setColorMap(pg.colormap.get("inferno"))
        self.plot.addItem(self.heat)
        self.paths = SegmentsItem(cosmetic_pen((255, 255, 255, 110), 1.0))
        self.plot.addItem(self.paths)
        self.cursor = pg.InfiniteLine(angle=90, pen=pg.mkPen((120, 200, 255), width=1))
        self.cursor.setVisible(False)
        self.plot.addItem(self.cursor)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(row)
        layout.addWidget(self.plot, 1)
        self.direction_combo.currentTextChanged.connect(self._direction_picked)
        self.angle_spin.valueChanged.connect(lambda _: self._redraw_all())
        self._show_note()

    # ----- inputs ---------------------------------------------------------------------------
    def set_target(self, target, schedule="edm", view: dict | None = None) -> None:
        """A new target or schedule (a name or a Schedule): the density alone, any run is dropped.
        view: the target's {"xlim", "ylim"}; the positions shown cover it along the direction."""
        self._target = target
        self._schedule = get_schedule(schedule) if isinstance(schedule, str) else schedule
        if view is not None:
            self._view = {"xlim": list(view["xlim"]), "ylim": list(view["ylim"])}
        self._run = None
        self._redraw_all()

    def set_run(self, alphas, sigmas, states) -> None:
        """A recorded run: each frame's alpha and sigma and its particles (F arrays (n, 2), the
        schedule's frame); the first MAX_PATHS particles are drawn as paths."""
        if self._schedule is None:
            raise RuntimeError("set_target before set_run")
        states = np.stack([np.asarray(x, np.float64)[:MAX_PATHS] for x in states])
        self._run = (frame_times(self._schedule, alphas, sigmas), states)
        self._redraw_paths()
        self._show_note()

    def clear_run(self) -> None:
        self._run = None
        self._redraw_paths()
        self._show_note()

    def set_frame(self, k: int | None) -> None:
        """Mark the frame the particle view shows (None: no marker)."""
        if self._run is None or k is None:
            self.cursor.setVisible(False)
            return
        self.cursor.setValue(float(self._run[0][int(k)]))
        self.cursor.setVisible(True)

    def angle(self) -> float:
        """The projection direction in degrees from the x axis (sessions save this)."""
        text = self.direction_combo.currentText()
        return DIRECTIONS.get(text, self.angle_spin.value())

    def set_angle(self, degrees: float) -> None:
        match = [k for k, v in DIRECTIONS.items() if abs(v - float(degrees)) < 1e-9]
        if match:
            self.direction_combo.setCurrentText(match[0])
        else:
            self.angle_spin.setValue(float(degrees))
            self.direction_combo.setCurrentText("angle")

    def density_image(self) -> np.ndarray:
        """The heatmap drawn now, (time columns, position rows), each column scaled to max 1."""
        return self._image

    def has_run(self) -> bool:
        return self._run is not None

    # ----- drawing --------------------------------------------------------------------------
    def _direction_picked(self, text: str) -> None:
        self.angle_spin.setEnabled(text == "angle")
        self._redraw_all()

    def _extent(self, u) -> float:
        corners = np.array([[x, y] for x in self._view["xlim"] for y in self._view["ylim"]], np.float64)
        return float(np.abs(corners @ u).max())

    def _redraw_all(self) -> None:
        self.directionChanged.emit(self.angle())
        if self._target is None:
            self.heat.clear()
            self._image = np.zeros((0, 0))
            self._redraw_paths()
            return
        u = direction(self.angle())
        sched, extent = self._schedule, self._extent(u)
        times = np.linspace(0.0, sched.t_max, TIME_COLUMNS)
        alphas, sigmas = np.asarray(sched.alpha(times), np.float64), np.asarray(sched.sigma(times), np.float64)
        alphas[0], sigmas[0] = 1.0, 0.0                    # t = 0 is the clean target itself
        positions = np.linspace(-extent, extent, POSITION_ROWS)
        dens = projected_density(self._target.mixture, u, alphas, sigmas, positions)
        dens = dens / np.maximum(dens.max(1, keepdims=True), 1e-300)
        self._image = dens
        self.heat.setImage(np.sqrt(dens), levels=(0.0, 1.0))    # sqrt: faint tails stay visible
        dt, dz = times[1] - times[0], positions[1] - positions[0]
        self.heat.setRect(QRectF(-dt / 2, -extent - dz / 2, sched.t_max + dt, 2 * extent + dz))
        self.plot.setXRange(0.0, sched.t_max, padding=0.02)
        self.plot.setYRange(-extent, extent, padding=0.02)
        self._redraw_paths()

    def _redraw_paths(self) -> None:
        if self._run is None:
            self.paths.clear()
            self.cursor.setVisible(False)
            return
        times, states = self._run
        z = project(states, direction(self.angle()))           # (F, m)
        t = np.broadcast_to(times[:, None], z.shape)
        starts = np.stack([t[:-1].ravel(), z[:-1].ravel()], 1)
        ends = np.stack([t[1:].ravel(), z[1:].ravel()], 1)
        self.paths.set_data(starts, ends)

    def _show_note(self) -> None:
        if self._run is None:
            self.note.setText("exact p_t of the projection, each time scaled to its maximum; "
                              "run a sampler to draw particle paths over it")
        else:
            self.note.setText(f"{self._run[1].shape[1]} particle paths over the exact projected p_t")
