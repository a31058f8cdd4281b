"""The main window: wires controls, the two workers and the views together.

Threads: the GUI thread only paints and does cheap bookkeeping. Training runs in a
TrainingWorker thread (which alone touches the Trainer), sampling in a SamplingWorker thread on
a snapshot the training worker hands over by signal. The GUI then replays the recorded frames.
Every slot that acts on user input is wrapped by `guarded`, so bad input ends up in the banner
and status bar instead of as a traceback in the event loop.
"""
from __future__ import annotations

import atexit
import functools
import math
import time
import weakref

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import QCoreApplication, QRectF, Qt, QThread, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QDockWidget, QHBoxLayout, QLabel, QMainWindow, QPushButton, QScrollArea, QSlider,
                               QVBoxLayout, QWidget)

from playground.learning.model import ModelConfig
from playground.formats.presets import Preset, load_preset
from playground.learning.trainer import TrainConfig
from .backdrop import BackdropPlotWidget
from .controls import DENSITY_AUTO_PARTICLES, ControlsPanel, show_toggle
from .field_view import FieldLayer
from .particle_item import ParticleItem, density_image, histogram_image, start_colour_bins
from .sampling_worker import Frames, SamplingJob, SamplingWorker
from .threads import stop_thread
from .training_worker import TrainingWorker



def _warm_optimiser_imports() -> None:
    """torch.optim imports torch._dynamo (~1.3 s, holding the GIL) on the first optimiser step.
    Paid once right after the first paint, so the window appears first and a later press of
    Train does not freeze the animation."""
    try:
        import torch._dynamo  # noqa: F401
    except Exception:  # noqa: BLE001 - an optional speed-up only
        pass

FIELD_LEVEL_BEFORE_SAMPLING = 0.3     # sigma (alpha = 1) shown before any sampler run
FIELD_REFRESH_MS = 500                # learned field follows training at most this often
FIELD_FRAME_MS = 33                   # during playback the field follows frames at most at 30 Hz
UI_REFRESH_MS = 100                   # loss plot and status labels
LOSS_EMA = 0.98
LOSS_REFRESH_TICKS = 3                # loss curve redrawn every 3rd UI tick (0.3 s)
GUI_TORCH_THREADS = 1
BANNER_ERROR = "background:#5a1e1e; color:#ffd7d7; padding:4px; border-radius:3px;"
BANNER_INFO = "background:#1e3a5a; color:#d7e9ff; padding:4px; border-radius:3px;"


def guarded(fn):
    """Run a slot; show any exception in the banner instead of raising into the event loop."""
    @functools.wraps(fn)
    def wrapper(self, *args, **kwargs):
        try:
            return fn(self, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001
            self.show_message(f"{fn.__name__.strip('_').replace('_', ' ')}: {exc}", error=True)
            return None
    return wrapper


class MainWindow(QMainWindow):
    # GUI -> training worker (queued: the worker lives in another thread)
    _sigReset = Signal(object, object, int)
    _sigRunning = Signal(bool)
    _sigTarget = Signal(object)
    _sigLr = Signal(float)
    _sigBatch = Signal(int)
    _sigSnapshot = Signal(str)
    _sigTrainShutdown = Signal()
    # GUI -> sampling worker
    _sigSample = Signal(object)
    _sigSampleShutdown = Signal()
    # window -> feature panels (editing, metrics, comparison, sessions listen to these)
    targetChanged = Signal(object)        # the new current Preset (never an empty one)
    framesChanged = Signal(object)        # a finished sampler run (Frames), or None when cleared
    frameShown = Signal(int)              # index of the stored frame now on screen

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Diffusion Playground")
        self.resize(1400, 860)
        self.setDockNestingEnabled(True)
        self._preset: Preset | None = None
        self._view = {"xlim": [-4.0, 4.0], "ylim": [-4.0, 4.0]}
        self._generation = 0
        self._field_source = None
        self._frames: Frames | None = None
        self._frame = 0
        self._job_id = 0
        self._loss_chunks: list[np.ndarray] = []
        self._loss_count = 0
        self._loss_y = np.zeros(0, np.float32)
        self._loss_smooth_y, self._ema_carry = np.zeros(0), np.zeros(2)
        self._loss_dirty = False
        self._last_loss = float("nan")
        self._rate = 0.0
        self._trainer_step = 0
        self._closed = False
        self.last_event: str = ""
        self.dataset_size: int | None = None     # "roll the dice N times" (dice_editor); None: fresh samples
        self._custom_presets: dict[str, Preset] = {}     # combo key -> drawn / edited / imported preset
        self.session_parts: dict[str, tuple] = {}         # name -> (get_state, set_state) for sessions
        self.shutdown_hooks: list = []                   # feature panels stop their own threads here
        self.snapshot_handlers: dict = {}                # purpose -> fn(source) for request_snapshot
        self.conditional_training = False                # guidance panel: train with class labels (CFG)
        self.last_sampling_source = None                 # the source of the latest sampler job
        # The GUI thread evaluates small fields (576 points). With the default OpenMP pool it
        # waits for a core the training thread is using: measured 130 ms per field on 2 cores,
        # 2.4 ms with one thread. Restored on shutdown (the setting is per calling thread).
        self._torch_threads_before = torch.get_num_threads()
        torch.set_num_threads(GUI_TORCH_THREADS)

        self._build_views()
        self._build_docks()
        self._build_status()
        self._build_workers()
        self._build_timers()
        self._connect()
        self._build_menus()
        self._build_shortcuts()
        self._on_preset_index()
        from .features import install_features
        install_features(self)
        # Wide enough for the widest section the features added (no clipped buttons on the right).
        bar = self.controls_scroll.verticalScrollBar().sizeHint().width()
        self.controls_scroll.setMinimumWidth(min(420, self.controls.sizeHint().width() + bar + 6))

    # ===================================================================== construction
    def _build_views(self) -> None:
        pg.setConfigOptions(antialias=False)
        self.particle_view = BackdropPlotWidget()
        self.particle_view.setObjectName("particleView")
        self.field_view = BackdropPlotWidget()
        self.field_view.setObjectName("fieldView")
        for w, title in ((self.particle_view, "Particles"), (self.field_view, "Score field")):
            w.getViewBox().disableAutoRange()     # the preset's view sets the axes, not the data
            w.showGrid(x=False, y=False)
            w.setTitle(title)
        # Only the particle view locks its aspect; the field view follows it through the links
        # (two aspect-locked views linked on both axes fight each other when their shapes differ).
        self.particle_view.setAspectLocked(True)
        self.field_view.setXLink(self.particle_view)
        self.field_view.setYLink(self.particle_view)
        self.hist_image = pg.ImageItem(axisOrder="col-major")
        self.hist_image.setLookupTable(pg.colormap.get("inferno").getLookupTable(nPts=256))
        self.hist_image.setZValue(-4)
        self.hist_image.setVisible(False)
        self.particle_view.addItem(self.hist_image)
        self.particles = ParticleItem()
        self.particle_view.addItem(self.particles)
        self.field = FieldLayer(self.field_view)

        self.loss_plot = pg.PlotWidget()
        self.loss_plot.setObjectName("lossPlot")
        self.loss_plot.setLogMode(x=False, y=True)
        self.loss_plot.setLabel("bottom", "training step")
        self.loss_plot.setLabel("left", "loss")
        self.loss_plot.showGrid(x=True, y=True, alpha=0.2)
        self.loss_curve = self.loss_plot.plot(pen=pg.mkPen((120, 160, 220, 110), width=1))
        self.loss_smooth = self.loss_plot.plot(pen=pg.mkPen((255, 200, 60), width=2))
        for c in (self.loss_curve, self.loss_smooth):
            c.setDownsampling(auto=True, method="mean")
            c.setClipToView(True)

    def _build_docks(self) -> None:
        self.controls = ControlsPanel()
        self.controls.setMaximumWidth(400)
        c = self.controls
        self.preset_combo, self.train_button, self.reset_button = c.preset, c.train, c.reset
        self.sampler_combo, self.sample_button = c.sampler, c.sample
        self.steps_spin, self.particles_spin, self.device_combo = c.steps, c.particles, c.device

        self.banner = QLabel(objectName="banner")
        self.banner.setWordWrap(True)
        self.banner.setVisible(False)
        self.play_button = QPushButton("Play", objectName="playButton", checkable=True)
        self.play_button.setToolTip("Play / pause the recorded sampler run (Space)")
        self.back_button = QPushButton("◀", objectName="backButton")
        self.back_button.setToolTip("One frame back (Left)")
        self.forward_button = QPushButton("▶", objectName="forwardButton")
        self.forward_button.setToolTip("One frame forward (Right)")
        self.time_slider = QSlider(Qt.Orientation.Horizontal, objectName="timeSlider")
        self.time_slider.setToolTip("Scrub through the stored sampler steps")
        self.time_slider.setRange(0, 0)
        self.frame_label = QLabel("no run yet", objectName="frameLabel")
        self.frame_label.setMinimumWidth(170)
        self.time_slider.setMinimumWidth(80)
        bar = QHBoxLayout()
        for w in (self.play_button, self.back_button, self.forward_button):
            w.setMaximumWidth(48)
            bar.addWidget(w)
        bar.addWidget(self.time_slider, 1)
        bar.addWidget(self.frame_label)
        particle_panel = QWidget()
        lay = QVBoxLayout(particle_panel)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.banner)
        self.particle_view.setMinimumHeight(280)
        self.field_view.setMinimumHeight(280)
        lay.addWidget(self.particle_view, 1)
        lay.addLayout(bar)

        def dock(title, widget, name):
            d = QDockWidget(title, self)
            d.setObjectName(name)
            d.setWidget(widget)
            return d

        scroll = QScrollArea()
        scroll.setWidget(self.controls)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMaximumWidth(420)
        self.controls_scroll = scroll
        self.controls_dock = dock("Controls", scroll, "controlsDock")
        self.particle_dock = dock("Particles", particle_panel, "particleDock")
        field_panel = QWidget()
        lay = QVBoxLayout(field_panel)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.field_view, 1)
        fbar = QHBoxLayout()          # same height as the playback bar, so both plots line up
        fbar.addWidget(self.controls.exact)
        fbar.addWidget(self.controls.error)
        fbar.addWidget(self.controls.field_info, 1)
        lay.addLayout(fbar)
        self.field_dock = dock("Score field", field_panel, "fieldDock")
        self.loss_dock = dock("Training loss", self.loss_plot, "lossDock")
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.controls_dock)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.particle_dock)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.loss_dock)      # below, full width
        self.splitDockWidget(self.particle_dock, self.field_dock, Qt.Orientation.Horizontal)
        self.resizeDocks([self.particle_dock, self.loss_dock], [650, 170], Qt.Orientation.Vertical)
        self.resizeDocks([self.particle_dock, self.field_dock], [600, 600], Qt.Orientation.Horizontal)
        self.setCentralWidget(None)

    def _build_status(self) -> None:
        sb = self.statusBar()
        self.status_labels = {}
        for key, text in (("rate", "0 steps/s"), ("loss", "loss –"), ("device", "device –"),
                          ("sampler", "sampler –"), ("nfe", "NFE 0")):
            lab = QLabel(text, objectName=f"status_{key}")
            lab.setMinimumWidth(90)
            sb.addPermanentWidget(lab)
            self.status_labels[key] = lab

    def _build_workers(self) -> None:
        self.train_thread = QThread()
        self.train_thread.setObjectName("trainingThread")
        self.train_worker = TrainingWorker()
        self.train_worker.moveToThread(self.train_thread)
        self.sample_thread = QThread()
        self.sample_thread.setObjectName("samplingThread")
        self.sample_worker = SamplingWorker()
        self.sample_worker.moveToThread(self.sample_thread)
        self.train_thread.start()
        self.sample_thread.start()
        # A window that is never closed must still stop its threads before Qt or Python tears
        # down (a running QThread being destroyed aborts the process).
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        ref = weakref.ref(self)
        atexit.register(lambda: (ref() is not None) and _quiet_shutdown(ref()))

    def _build_timers(self) -> None:
        self.play_timer = QTimer(self)
        self.play_timer.timeout.connect(self._advance)
        self.ui_timer = QTimer(self)
        self.ui_timer.setInterval(UI_REFRESH_MS)
        self.ui_timer.timeout.connect(self._refresh_ui)
        self.ui_timer.start()
        self.field_timer = QTimer(self)
        self.field_timer.setInterval(FIELD_REFRESH_MS)
        self.field_timer.timeout.connect(self._request_field_snapshot)
        self.field_timer.start()
        self._field_refreshed_at = 0.0
        self.field_follow_timer = QTimer(self)
        self.field_follow_timer.setSingleShot(True)
        self.field_follow_timer.timeout.connect(self._refresh_field)
        self.rebuild_timer = QTimer(self)           # debounce: typing "256" rebuilds once, not three times
        self.rebuild_timer.setSingleShot(True)
        self.rebuild_timer.setInterval(400)
        self.rebuild_timer.timeout.connect(self.reset_training)

    def _connect(self) -> None:
        w = self.train_worker
        self._sigReset.connect(w.reset)
        self._sigRunning.connect(w.set_running)
        self._sigTarget.connect(w.set_target)
        self._sigLr.connect(w.set_lr)
        self._sigBatch.connect(w.set_batch)
        self._sigSnapshot.connect(w.request_snapshot)
        self._sigTrainShutdown.connect(w.shutdown)
        w.lossesReady.connect(self._on_losses)
        w.eventRaised.connect(self._on_trainer_event)
        w.snapshotReady.connect(self._on_snapshot)
        w.trainerReady.connect(self._on_trainer_ready)
        w.failed.connect(lambda msg: self.show_message(msg, error=True))
        w.runningChanged.connect(self._on_running_changed)
        s = self.sample_worker
        self._sigSample.connect(s.run)
        self._sigSampleShutdown.connect(s.shutdown)
        s.finished.connect(self._on_frames)
        s.failed.connect(self._on_sampling_failed)
        s.progress.connect(self._on_sampling_progress)

        c = self.controls
        c.preset.currentIndexChanged.connect(lambda *_: self._on_preset_index())
        c.train.toggled.connect(lambda on: self.set_training(on))
        c.reset.clicked.connect(lambda *_: self.reset_training())
        c.sample.clicked.connect(lambda *_: self.start_sampling())
        c.device.currentIndexChanged.connect(lambda *_: self.reset_training())
        c.hidden.valueChanged.connect(lambda *_: self.rebuild_timer.start())
        c.lr.valueChanged.connect(lambda v: self._sigLr.emit(float(v)) if v > 0 else None)
        c.batch.valueChanged.connect(lambda v: self._sigBatch.emit(int(v)))
        c.sampler.currentIndexChanged.connect(lambda *_: self._update_sampler_label())
        c.speed.valueChanged.connect(lambda *_: self._apply_speed())
        c.density.toggled.connect(lambda *_: self.show_frame(self._frame))
        c.exact.toggled.connect(lambda on: self._toggle_field("show_exact", on))
        c.error.toggled.connect(lambda on: self._toggle_field("show_error", on))
        self.play_button.toggled.connect(lambda on: self.set_playing(on))
        self.back_button.clicked.connect(lambda *_: self.step_frame(-1))
        self.forward_button.clicked.connect(lambda *_: self.step_frame(+1))
        self.time_slider.valueChanged.connect(lambda v: self.show_frame(v))
        self._apply_speed()
        self._update_sampler_label()

    def _build_menus(self) -> None:
        """File / Edit / View menus; feature modules add their actions to `self.menus[...]`."""
        bar = self.menuBar()
        self.menus = {key: bar.addMenu(title) for key, title in
                      (("file", "&File"), ("edit", "&Edit"), ("view", "&View"), ("tools", "&Tools"))}
        for d in (self.controls_dock, self.particle_dock, self.field_dock, self.loss_dock):
            self.menus["view"].addAction(d.toggleViewAction())

    def add_dock(self, dock: QDockWidget, area=Qt.DockWidgetArea.RightDockWidgetArea, tabify_with=None,
                 visible: bool = True) -> None:
        """Add a feature's dock (listed in the View menu); optionally tabbed with an existing one."""
        self.addDockWidget(area, dock)
        if tabify_with is not None:
            self.tabifyDockWidget(tabify_with, dock)
        dock.setVisible(visible)
        self.menus["view"].addAction(dock.toggleViewAction())

    def register_session_part(self, name: str, get_state, set_state) -> None:
        """A feature's settings for sessions: get_state() -> JSON-able dict, set_state(dict)."""
        self.session_parts[name] = (get_state, set_state)

    def _build_shortcuts(self) -> None:
        for key, fn in ((Qt.Key.Key_Space, lambda: self.play_button.toggle()),
                        (Qt.Key.Key_T, lambda: self.train_button.toggle()),
                        (Qt.Key.Key_R, self.reset_training),
                        (Qt.Key.Key_S, self.start_sampling),
                        (Qt.Key.Key_Right, lambda: self.step_frame(+1)),
                        (Qt.Key.Key_Left, lambda: self.step_frame(-1))):
            sc = QShortcut(QKeySequence(key), self)
            sc.setContext(Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(fn)

    # ===================================================================== public API
    def current_preset(self) -> Preset | None:
        return self._preset

    def current_frames(self) -> Frames | None:
        return self._frames

    def current_frame_index(self) -> int:
        return self._frame

    def save_session(self, path) -> bool:
        """Save target, settings, weights, EMA, optimiser and panels to one file (session_actions)."""
        return self.sessions.save(path)

    def open_session(self, path) -> bool:
        """Restore a saved session; a bad file shows a message, keeps the current state, never raises."""
        return self.sessions.open(path)

    def apply_preset(self, preset: Preset, key: str = "custom") -> None:
        """Make a drawn, edited or imported Preset the current target, listed in the preset combo
        under `key` (the same key again replaces that entry: a drag does not add hundreds).
        Training continues from the current weights (warm start)."""
        combo_key = f"custom:{key}"
        self._custom_presets[combo_key] = preset
        combo = self.preset_combo
        i = combo.findData(combo_key)
        if i < 0:
            combo.addItem(preset.name, combo_key)
            i = combo.count() - 1
        else:
            combo.setItemText(i, preset.name)
        if combo.currentIndex() == i:
            self._on_preset_index()           # same entry: the signal would not fire
        else:
            combo.setCurrentIndex(i)

    @guarded
    def set_preset(self, name_or_path: str) -> None:
        """Select a built-in preset by name, or load a preset/image/points file and add it to the list."""
        combo = self.preset_combo
        i = combo.findData(str(name_or_path))
        if i < 0:
            p = load_preset(name_or_path)           # raises PresetError with a user-facing message
            combo.addItem(p.name, str(name_or_path))
            i = combo.count() - 1
        combo.setCurrentIndex(i)

    def show_message(self, text: str, error: bool = False) -> None:
        """Status bar plus the non-modal banner above the particles (never a dialog)."""
        self.statusBar().showMessage(text, 15000)
        self.banner.setText(text)
        self.banner.setStyleSheet(BANNER_ERROR if error else BANNER_INFO)
        self.banner.setVisible(True)

    def hide_message(self) -> None:
        self.banner.setVisible(False)

    # ===================================================================== preset and training
    @guarded
    def _on_preset_index(self) -> None:
        name = self.preset_combo.currentData()
        if name is None or self._closed:
            return
        self._stop_animation()
        self.sample_worker.cancel()       # a run for the old target is stale: stop it ...
        self._job_id += 1                 # ... and ignore its frames if they still arrive
        self._frames = None
        self.particles.set_positions(None)
        self.hist_image.setVisible(False)
        preset = self._custom_presets.get(name) or load_preset(name)
        self._preset = preset
        self._view = {"xlim": list(map(float, preset.view["xlim"])), "ylim": list(map(float, preset.view["ylim"]))}
        self._set_view_range()
        if preset.is_empty:
            for w in (self.particle_view, self.field_view):
                w.set_backdrop(None)
            self.field.clear()
            self.set_training(False)
            self.show_message(f"preset '{preset.name}' is empty: nothing to train on or sample", error=True)
            return
        img, rect = density_image(preset.target, self._view)
        for w in (self.particle_view, self.field_view):
            w.set_backdrop(img, rect)
        self.hide_message()
        if self.train_worker.trainer is None or self._generation == 0:
            self.reset_training()
        else:
            self._sigTarget.emit(preset.target)
            self._refresh_field()
        self.time_slider.setRange(0, 0)
        self.frame_label.setText(preset.description[:80])
        self.framesChanged.emit(None)
        self.targetChanged.emit(preset)

    def _set_view_range(self) -> None:
        vb = self.particle_view.getViewBox()
        vb.setRange(xRange=self._view["xlim"], yRange=self._view["ylim"], padding=0.02)
        for w in (self.particle_view, self.field_view):
            w.getViewBox().disableAutoRange()

    def _config(self) -> TrainConfig:
        c = self.controls
        return TrainConfig(lr=float(c.lr.value()), batch=int(c.batch.value()), device=c.device.currentText(),
                           model=ModelConfig(hidden=int(c.hidden.value())),
                           dataset_size=self.dataset_size, conditional=self.conditional_training)

    @guarded
    def reset_training(self) -> None:
        """Fresh trainer for the current target (the worker keeps training if it was)."""
        if self._closed:
            return
        preset = self._preset
        if preset is None or preset.is_empty:
            raise ValueError("pick a non-empty preset first")
        self._generation += 1
        self._field_source = None
        self._loss_chunks, self._loss_count, self._loss_y = [], 0, np.zeros(0, np.float32)
        self._loss_smooth_y, self._ema_carry = np.zeros(0), np.zeros(2)
        self._loss_dirty = True
        self._last_loss, self._trainer_step = float("nan"), 0
        self._sigReset.emit(preset.target, self._config(), self._generation)

    @guarded
    def set_training(self, on: bool) -> None:
        if self._closed:          # after shutdown the worker lives in the GUI thread: never start it there
            return
        show_toggle(self.train_button, bool(on), "Pause", "Train")
        if on and (self._preset is None or self._preset.is_empty):
            self.set_training(False)
            raise ValueError("the current preset is empty: nothing to train on")
        if not on:      # the worker answers every stop once; count them so a late answer is not a failure
            self._stop_echoes = getattr(self, "_stop_echoes", 0) + 1
        self._sigRunning.emit(bool(on))

    def _on_running_changed(self, on: bool) -> None:
        if not on and getattr(self, "_stop_echoes", 0) > 0:
            self._stop_echoes -= 1       # the answer to our own stop: a Train click after it stands
            return
        if not on and self.train_button.isChecked():
            self.set_training(False)

    def _on_trainer_ready(self, info: dict) -> None:
        if info.get("generation") != self._generation:
            return
        self.status_labels["device"].setText(f"device {info['device']}")

    def _on_trainer_event(self, msg: str) -> None:
        self.last_event = msg
        lr = self._trainer_lr_from(msg)
        if lr is not None:
            self.controls.lr.blockSignals(True)
            self.controls.lr.setValue(max(lr, self.controls.lr.minimum()))
            self.controls.lr.blockSignals(False)
        self.show_message(msg, error="diverged" in msg)

    @staticmethod
    def _trainer_lr_from(msg: str):
        key = "learning rate to "
        if key in msg:
            try:
                return float(msg.split(key, 1)[1].split()[0])
            except (ValueError, IndexError):
                return None
        return None

    def _on_losses(self, losses, step: int, rate: float) -> None:
        self._loss_chunks.append(np.asarray(losses, dtype=np.float32))
        self._loss_dirty = True
        self._trainer_step, self._rate = int(step), float(rate)
        finite = losses[np.isfinite(losses)]
        if len(finite):
            self._last_loss = float(finite[-20:].mean())

    @guarded
    def _refresh_ui(self) -> None:
        """10 Hz status labels; the loss curve every LOSS_REFRESH_TICKS-th tick (never per training
        chunk): re-plotting it re-ranges and re-renders its axes, ~2 ms that the animation needs."""
        self._ui_ticks = getattr(self, "_ui_ticks", 0) + 1
        if self._loss_dirty and self._ui_ticks % LOSS_REFRESH_TICKS == 0:
            self._loss_dirty = False
            if self._loss_chunks:
                new = np.concatenate(self._loss_chunks)
                self._loss_chunks = []
                self._loss_y = np.concatenate([self._loss_y, new])
                # Only the new losses are smoothed (the carry holds the filter state): the cost
                # per refresh no longer grows with the length of the run.
                smooth, self._ema_carry = _ema(np.where(np.isfinite(new) & (new > 0), new, np.nan),
                                               LOSS_EMA, self._ema_carry)
                self._loss_smooth_y = np.concatenate([self._loss_smooth_y, smooth])
            y = self._loss_y
            y = np.where(np.isfinite(y) & (y > 0), y, np.nan)
            x = np.arange(1, len(y) + 1, dtype=np.float64)
            self.loss_curve.setData(x, y, connect="finite")
            if len(y):
                self.loss_smooth.setData(x, self._loss_smooth_y, connect="finite")
            else:
                self.loss_smooth.setData([], [])
        running = self.train_button.isChecked()
        self.status_labels["rate"].setText(f"{self._rate:.0f} steps/s" if running else f"step {self._trainer_step}")
        self.status_labels["loss"].setText("loss –" if math.isnan(self._last_loss) else f"loss {self._last_loss:.4f}")

    def losses(self) -> np.ndarray:
        """All training losses received so far (for tests and the screenshot)."""
        parts = [self._loss_y] + list(self._loss_chunks)
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)

    # ===================================================================== score field
    def _request_field_snapshot(self) -> None:
        if self.train_button.isChecked() and not self._closed:
            self._sigSnapshot.emit("field")

    @guarded
    def _on_snapshot(self, source, purpose: str, generation: int) -> None:
        if self._closed or generation != self._generation:
            return
        if purpose == "field":
            self._field_source = source
            self._refresh_field()
        elif purpose == "sample":
            self._launch_sampling(source)
        elif purpose in self.snapshot_handlers:
            self.snapshot_handlers[purpose](source)

    def request_snapshot(self, purpose: str) -> None:
        """Ask the training worker for a frozen model copy; it arrives at snapshot_handlers[purpose]
        (None when there is no model), taken between optimiser steps."""
        if not self._closed:
            self._sigSnapshot.emit(purpose)

    def _toggle_field(self, attr: str, on: bool) -> None:
        setattr(self.field, attr, bool(on))
        self._refresh_field()

    def _field_level(self) -> tuple[float, float]:
        f = self._frames
        if f is None or not len(f):
            return 1.0, FIELD_LEVEL_BEFORE_SAMPLING
        a, s = f.alpha[self._frame], f.sigma[self._frame]
        if not (s > 0 and a > 0) or f.level[self._frame] > 1e4:
            a, s = f.smallest_positive() if s <= 0 else (a, s)
        return a, s

    def _refresh_field_soon(self) -> None:
        """Follow the shown frame, at most every FIELD_FRAME_MS: particles animate at the full frame
        rate while the field (a model evaluation plus ~3000 arrow segments, ~4 ms) updates at
        30 Hz; a trailing refresh always lands on the frame left on screen."""
        now = time.perf_counter()
        if now - self._field_refreshed_at >= FIELD_FRAME_MS / 1000:
            self.field_follow_timer.stop()
            self._refresh_field()
        elif not self.field_follow_timer.isActive():
            self.field_follow_timer.start(FIELD_FRAME_MS)

    @guarded
    def _refresh_field(self) -> None:
        preset = self._preset
        if preset is None or preset.is_empty:
            return
        self._field_refreshed_at = time.perf_counter()
        a, s = self._field_level()
        self.field.update(self._view, preset.target, self._field_source, a, s)
        text = f"σ/α = {s / a:.3g}  ({self.field.last_eval_ms:.1f} ms)"
        if self.field.show_error and not math.isnan(self.field.last_error):
            text += f"  weighted rel. error {self.field.last_error:.3f} (peak {self.field.last_peak:.2f})"
        self.controls.field_info.setText(text)
        # The level is in field_info under the view: a per-frame title costs a rich-text relayout.

    # ===================================================================== sampling
    @guarded
    def start_sampling(self) -> None:
        if self._closed:
            return
        if self._preset is None or self._preset.is_empty:
            raise ValueError("the current preset is empty: nothing to sample")
        if self.train_worker.trainer is None and self._field_source is None:
            raise ValueError("no model yet")
        self.status_labels["sampler"].setText(f"sampler {self.sampler_combo.currentData()} …")
        self._sigSnapshot.emit("sample")

    def _launch_sampling(self, source) -> None:
        if source is None:
            self.show_message("no model to sample from yet", error=True)
            return
        self.sample_worker.cancel()              # a running job stops at its next step
        self._job_id += 1
        self.last_sampling_source = source
        c = self.controls
        job = SamplingJob(self._job_id, c.sampler.currentData(), source, int(c.particles.value()),
                          int(c.steps.value()), c.schedule.currentData(), int(c.seed.value()))
        self._sampling_started = time.perf_counter()
        self._sigSample.emit(job)

    def _on_sampling_progress(self, job_id: int, done: int, planned: int) -> None:
        if job_id == self._job_id:
            self.status_labels["nfe"].setText(f"sampling {done}/{planned}")

    def _on_sampling_failed(self, job_id: int, msg: str) -> None:
        if job_id == self._job_id:
            self.show_message(msg, error=True)
            self._update_sampler_label()

    @guarded
    def _on_frames(self, job_id: int, frames: Frames) -> None:
        if job_id != self._job_id or self._closed:
            return
        self._stop_animation()
        self._frames = frames
        bins, colours = start_colour_bins(frames.x[0])
        self.particles.set_colours(bins, colours)
        n = len(frames.x[0])
        if n > DENSITY_AUTO_PARTICLES and not self.controls.density.isChecked():
            self.controls.density.setChecked(True)
        self.time_slider.blockSignals(True)
        self.time_slider.setRange(0, len(frames) - 1)
        self.time_slider.blockSignals(False)
        self.status_labels["sampler"].setText(f"sampler {frames.sampler}")
        self.framesChanged.emit(frames)
        self.show_frame(0)
        self.set_playing(True)

    def _update_sampler_label(self) -> None:
        f = self._frames
        name = f.sampler if f is not None else self.sampler_combo.currentData()
        self.status_labels["sampler"].setText(f"sampler {name}")

    # ===================================================================== playback
    def _apply_speed(self) -> None:
        self.play_timer.setInterval(max(1, int(1000 / max(1, self.controls.speed.value()))))

    def set_playing(self, on: bool) -> None:
        on = bool(on) and self._frames is not None and len(self._frames) > 1
        if on and self._frame >= len(self._frames) - 1:
            self.show_frame(0)
        show_toggle(self.play_button, on, "Pause", "Play")
        if on:
            self.play_timer.start()
        else:
            self.play_timer.stop()

    def is_playing(self) -> bool:
        return self.play_timer.isActive()

    def _stop_animation(self) -> None:
        self.set_playing(False)

    def _advance(self) -> None:
        if self._frames is None or self._frame >= len(self._frames) - 1:
            self.set_playing(False)
            return
        self.show_frame(self._frame + 1)

    def step_frame(self, delta: int) -> None:
        if self._frames is None:
            return
        self.set_playing(False)
        self.show_frame(self._frame + delta)

    @guarded
    def show_frame(self, i: int) -> None:
        """Show stored frame i in the particle view and evaluate the field at its level."""
        f = self._frames
        if f is None or not len(f):
            return
        i = int(min(max(i, 0), len(f) - 1))
        self._frame = i
        if self.time_slider.value() != i:
            self.time_slider.blockSignals(True)
            self.time_slider.setValue(i)
            self.time_slider.blockSignals(False)
        x = f.x[i]
        if self.controls.density.isChecked():
            self.particles.setVisible(False)
            h = histogram_image(x, self._view)
            self.hist_image.setImage(h, levels=(0.0, max(float(h.max()), 1.0)))
            self.hist_image.setRect(QRectF(self._view["xlim"][0], self._view["ylim"][0],
                                           self._view["xlim"][1] - self._view["xlim"][0],
                                           self._view["ylim"][1] - self._view["ylim"][0]))
            self.hist_image.setVisible(True)
        else:
            self.hist_image.setVisible(False)
            self.particles.setVisible(True)
            self.particles.set_positions(x)      # hidden in density mode: skip the per-point work
        level = f.level[i]
        lvl = "∞" if not math.isfinite(level) else f"{level:.3g}"
        self.frame_label.setText(f"step {f.step[i]}/{f.step[-1]}   σ/α = {lvl}   NFE {f.nfe[i]}")
        self.status_labels["nfe"].setText(f"NFE {f.nfe[i]}")
        self._refresh_field_soon()
        self.frameShown.emit(i)

    # ===================================================================== shutdown
    def shutdown(self) -> None:
        """Stop both workers and wait for their threads (well under a second)."""
        if self._closed:
            return
        self._closed = True
        for t in (self.play_timer, self.ui_timer, self.field_timer, self.rebuild_timer, self.field_follow_timer):
            t.stop()
        self.train_worker.request_stop()
        self.sample_worker.cancel()
        for hook in self.shutdown_hooks:
            hook()
        self._sigTrainShutdown.emit()
        self._sigSampleShutdown.emit()
        for th in (self.train_thread, self.sample_thread):
            stop_thread(th)
        torch.set_num_threads(self._torch_threads_before)
        for sig in (self._sigReset, self._sigRunning, self._sigTarget, self._sigLr, self._sigBatch,
                    self._sigSnapshot, self._sigSample):
            try:
                sig.disconnect()
            except (RuntimeError, TypeError):
                pass

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not getattr(self, "_shown_once", False):
            self._shown_once = True
            QTimer.singleShot(0, self._first_layout)       # once the docks have their final sizes
            QTimer.singleShot(1000, _warm_optimiser_imports)   # after the first paint has surely happened

    def _first_layout(self) -> None:
        half = max(200, (self.width() - self.controls_dock.width()) // 2)
        self.resizeDocks([self.particle_dock, self.field_dock], [half, half], Qt.Orientation.Horizontal)
        self._set_view_range()

    def closeEvent(self, event) -> None:
        self.shutdown()
        event.accept()


def _quiet_shutdown(window) -> None:
    try:
        window.shutdown()
    except RuntimeError:          # the C++ side is already gone: its threads went with it
        pass


def _ema(y: np.ndarray, decay: float, carry=None) -> tuple[np.ndarray, np.ndarray]:
    """Bias-corrected exponential moving average (NaNs skipped) for the smoothed loss curve;
    returns it and the filter state to continue from (`carry`) when more values arrive.

    Vectorised in blocks (s_j = d^(j+1) (s + (1-d) sum_k v_k / d^(k+1)) within a block) rather
    than scipy.signal.lfilter, whose import alone cost 0.9 s of start-up.
    """
    good = np.isfinite(y)
    out = np.empty(len(y))
    carry = np.zeros(2) if carry is None else np.asarray(carry, dtype=np.float64)   # numerator, denominator
    for a in range(0, len(y), 500):
        v = np.stack([np.where(good[a:a + 500], y[a:a + 500], 0.0), good[a:a + 500]]).astype(np.float64)
        p = decay ** np.arange(1, v.shape[1] + 1)
        run = p * (carry[:, None] + (1 - decay) * np.cumsum(v / p, axis=1))
        with np.errstate(invalid="ignore", divide="ignore"):
            out[a:a + 500] = np.where(run[1] > 0, run[0] / run[1], np.nan)
        carry = run[:, -1]
    return out, carry
