"""The main window: layout and playback. Everything else lives elsewhere and is wired here once.

AppState (state.py) owns the data, Services (services.py) do the background work (the training
worker alone touches the Trainer; sampling and tasks run in their own threads), and feature
panels plug in through (state, services, UiHost). The window lays out the docks, replays the
recorded frames of the current run, and keeps the features in its registry `features`.
"""
from __future__ import annotations

import atexit
import math
import weakref

import torch
from PySide6.QtCore import QCoreApplication, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QMainWindow, QTabWidget

from playground.formats.presets import Preset
from playground.app.widgets.controls import DENSITY_AUTO_PARTICLES, ControlsPanel, show_toggle
from playground.app.shell.controls_binding import ControlsBinding
from playground.app.shell.dock_layout import VIEW_SHARE, DockLayout, make_dock
from playground.formats.session import state_dir
from playground.app.core import gui_gc
from playground.app.shell.features import FEATURES, install_feature, install_features
from playground.app.shell.field_controller import FieldController
from playground.app.widgets.particle_item import density_image, histogram_image, start_colour_bins
from playground.app.core.preset_catalog import bind_combo
from playground.app.core.services import Services
from playground.app.core.state import AppState
from playground.app.shell.status_view import StatusView
from playground.app.shell.ui_host import UiHost
from playground.app.shell.views import Banner, PlaybackBar, loss_plot, plot_views, scrolled, toggle_bar
from playground.app.shell.window_support import AfterFirstPaint, alias, column, quiet_shutdown, warm_optimiser_imports
from playground.app.core.errors import reported

GUI_TORCH_THREADS = 1
CONTROLS_WIDTH = 360          # the controls column at most: a laptop's width goes to the views


class MainWindow(QMainWindow):
    featuresReady = Signal()        # the deferred feature panels are all installed (gui command)

    def __init__(self, parent=None, defer_features: bool = False):
        """defer_features: show the core window first and install the feature panels one per
        event-loop turn after its first paint (the `gui` command: the window appears sooner).
        By default everything, with every objectName, exists when the constructor returns."""
        super().__init__(parent)
        gui_gc.install()            # cycles holding widgets must never be freed in a worker thread
        self.setWindowTitle("Diffusion Playground")
        self.resize(1400, 860)
        self.setDockNestingEnabled(True)
        self.setTabPosition(Qt.DockWidgetArea.AllDockWidgetAreas, QTabWidget.TabPosition.North)
        self._closed = False
        # The GUI thread evaluates small fields (576 points). With the default OpenMP pool it
        # waits for a core the training thread is using: measured 130 ms per field on 2 cores,
        # 2.4 ms with one thread. Restored on shutdown (the setting is per calling thread).
        self._torch_threads_before = torch.get_num_threads()
        torch.set_num_threads(GUI_TORCH_THREADS)
        self.state = AppState(parent=self)
        self.services = Services(self.state, self, start_model=not defer_features)
        self._build_layout()
        self.ui = UiHost(self, self.controls, self.menus, self.banner,
                         {"particles": self.particle_view, "field": self.field_view, "loss": self.loss_plot},
                         self.layout_)
        self.services.messageRaised.connect(self.show_message)
        self.binding = ControlsBinding(self.controls, self.state, self.services, self._error, self)
        bind_combo(self.preset_combo, self.services.presets, self._error)
        self.field_controller = FieldController(self.state, self.services.model, self.field_view,
                                                self.controls.field_info, self._error, self)
        self.status_view = StatusView(self.state, self.services.sampling, self.statusBar(), self.loss_curve,
                                      self.loss_smooth, self._error, self)
        self.status_labels = self.status_view.labels
        self._build_playback()
        self._build_shortcuts()
        self.state.presetChanged.connect(self._on_preset)
        self.state.runChanged.connect(self._on_run)
        self.state.frameShown.connect(self._draw_frame)
        self.state.settingsChanged.connect(self._on_settings)
        app = QCoreApplication.instance()
        if app is not None:        # a running QThread destroyed at exit would abort the process
            app.aboutToQuit.connect(self.shutdown)
        ref = weakref.ref(self)
        atexit.register(lambda: (ref() is not None) and quiet_shutdown(ref()))
        self.set_preset(self.preset_combo.currentData())
        self.features: dict = {}
        self._pending_features = list(FEATURES) if defer_features else []
        self._features_begun = False
        if not defer_features:
            self.features = install_features(self.state, self.services, self.ui)
            self._fit_controls()
            self._restore_layout()

    def _restore_layout(self) -> None:
        """The layout the last run left (dock places, open sections); a bad one: default, one note."""
        note = self.layout_.restore_saved()
        if note:
            self.ui.status(note)

    def _fit_controls(self) -> None:
        """Wide enough for the widest section the features added (no clipped buttons on the right)."""
        bar = self.controls_scroll.verticalScrollBar().sizeHint().width()
        width = min(CONTROLS_WIDTH, self.controls.sizeHint().width() + bar + 6)
        self.controls_scroll.setMinimumWidth(width)
        if self.isVisible():        # installed after the first paint: the dock was laid out narrower
            self.resizeDocks([self.controls_dock], [width], Qt.Orientation.Horizontal)

    def features_ready(self) -> bool:
        return not self._pending_features

    def _begin_features(self) -> None:
        """After the first paint (or a few seconds without one): the model thread, then the features."""
        if not self._features_begun:
            self._features_begun = True
            self._install_next_feature()

    def _install_next_feature(self) -> None:
        if self._closed or not self._pending_features:
            return
        self.services.model.start()         # deferred with the features: the first model builds now
        name = self._pending_features.pop(0)
        with reported(f"the {name.replace('_', ' ')} panel could not start", self._error):   # the others still do
            self.features[name] = install_feature(name, self.state, self.services, self.ui)
        self._fit_controls()            # the panel widens with the sections as they arrive
        if self._pending_features:
            QTimer.singleShot(0, self._install_next_feature)
        else:
            self._restore_layout()
            self.featuresReady.emit()

    # ===================================================================== layout
    def _build_layout(self) -> None:
        self.particle_view, self.field_view, self.hist_image, self.particles = plot_views()
        self.loss_plot, self.loss_curve, self.loss_smooth = loss_plot()
        self.controls = c = ControlsPanel()
        c.setMaximumWidth(CONTROLS_WIDTH)
        self.preset_combo, self.train_button, self.reset_button = c.preset, c.train, c.reset
        self.sampler_combo, self.sample_button = c.sampler, c.sample
        self.steps_spin, self.particles_spin, self.device_combo = c.steps, c.particles, c.device
        self.banner = Banner()
        self.playback = PlaybackBar()
        self.play_button, self.time_slider, self.frame_label = self.playback.play, self.playback.slider, self.playback.label
        particle_panel = column(self.banner, (self.particle_view, 1), self.playback)
        field_panel = column((self.field_view, 1), toggle_bar(c.exact, c.error, c.velocity, c.field_info))
        self.controls_scroll = scroll = scrolled(c, CONTROLS_WIDTH + 20)
        self.controls_dock = make_dock(self, "Controls", scroll, "controlsDock")
        self.particle_dock = make_dock(self, "Particles", particle_panel, "particleDock")
        self.field_dock = make_dock(self, "Score field", field_panel, "fieldDock")
        self.loss_dock = make_dock(self, "Training loss", self.loss_plot, "lossDock")
        self.layout_ = lay = DockLayout(self, state_dir)
        lay.place("controls", self.controls_dock, "left")
        lay.place("particle", self.particle_dock, "right")
        lay.place("field", self.field_dock, "right", split_from="particle")
        lay.place("loss", self.loss_dock, "right", tab_with="field", share=VIEW_SHARE)
        self.field_dock.raise_()
        self.setCentralWidget(None)
        bar = self.menuBar()
        self.menus = {key: bar.addMenu(title) for key, title in
                      (("file", "&File"), ("edit", "&Edit"), ("view", "&View"), ("tools", "&Tools"))}
        for d in (self.controls_dock, self.particle_dock, self.field_dock, self.loss_dock):
            self.menus["view"].addAction(d.toggleViewAction())
        lay.add_reset_action(self.menus["view"])

    def _build_playback(self) -> None:
        self.play_timer = QTimer(self)
        self.play_timer.timeout.connect(self._advance)
        p = self.playback
        p.play.toggled.connect(lambda on: self.set_playing(on))
        p.back.clicked.connect(lambda *_: self.step_frame(-1))
        p.forward.clicked.connect(lambda *_: self.step_frame(+1))
        p.slider.valueChanged.connect(lambda v: self.show_frame(v))
        self._apply_speed()

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
        return self.state.preset

    def current_frames(self):
        return self.state.run

    def current_frame_index(self) -> int:
        return self.state.frame_index

    def save_session(self, path) -> bool:
        """Save target, settings, weights, EMA, optimiser and panels to one file (session_actions)."""
        return self.features["sessions"].save(path)

    def open_session(self, path) -> bool:
        """Restore a saved session; a bad file shows a message, keeps the current state, never raises."""
        return self.features["sessions"].open(path)

    def apply_preset(self, preset: Preset, key: str = "custom") -> None:
        """Make a drawn, edited or imported Preset current, listed as `key` (warm start)."""
        self.binding.guarded("apply preset", lambda: self.services.presets.apply(preset, key))

    def set_preset(self, name_or_path: str) -> None:
        """Select a built-in preset by name, or load a preset/image/points file and list it."""
        self.binding.guarded("set preset", lambda: self.services.presets.select(name_or_path))

    def set_training(self, on: bool) -> None:
        self.binding.set_training(on)

    def reset_training(self) -> None:
        self.binding.guarded("reset training", self.services.model.reset)

    def start_sampling(self) -> None:
        self.binding.start_sampling()

    def show_message(self, text: str, error: bool = False) -> None:
        """Status bar plus the non-modal banner above the particles (never a dialog)."""
        self.ui.show_message(text, error)

    def hide_message(self) -> None:
        self.ui.hide_message()

    def losses(self):
        """All training losses received so far (for tests and the screenshot)."""
        return self.state.training.losses.all()

    def _error(self, text: str) -> None:
        self.show_message(text, error=True)

    # ===================================================================== target
    def _on_preset(self, preset: Preset, key: str) -> None:
        self.set_playing(False)
        self.particles.set_positions(None)
        self.hist_image.setVisible(False)
        self._set_view_range()
        self.controls.preset_note.setText(preset.description)
        if preset.is_empty:
            for w in (self.particle_view, self.field_view):
                w.set_backdrop(None)
            self.field_controller.clear()
            self.show_message(f"preset '{preset.name}' is empty: nothing to train on or sample", error=True)
            return
        img, rect = density_image(preset.target, self.state.view)
        for w in (self.particle_view, self.field_view):
            w.set_backdrop(img, rect)
        self.hide_message()
        self.field_controller.refresh()
        self.playback.set_range(0)
        self.frame_label.setText("no run yet")

    def _set_view_range(self) -> None:
        view = self.state.view
        self.particle_view.getViewBox().setRange(xRange=view["xlim"], yRange=view["ylim"], padding=0.02)
        for w in (self.particle_view, self.field_view):
            w.getViewBox().disableAutoRange()

    def _on_settings(self, settings, changed: set, origin: str) -> None:
        if "speed" in changed:
            self._apply_speed()
        if "density" in changed:
            self._draw_frame(self.state.frame_index)

    # ===================================================================== playback
    def _on_run(self, run) -> None:
        """A new run: colours by start position, the slider's range, playing or not (the state then
        shows its first frame, which _draw_frame draws)."""
        if run is None or self._closed:
            return
        self.set_playing(False)
        bins, colours = start_colour_bins(run.x[0])
        self.particles.set_colours(bins, colours)
        if run.n > DENSITY_AUTO_PARTICLES and not self.controls.density.isChecked():
            self.controls.density.setChecked(True)
        self.playback.set_range(len(run) - 1)
        self.set_playing(self.state.autoplay)

    def _apply_speed(self) -> None:
        self.play_timer.setInterval(max(1, int(1000 / max(1, self.state.settings.speed))))

    def set_playing(self, on: bool) -> None:
        f = self.state.run
        on = bool(on) and f is not None and len(f) > 1
        if on and self.state.frame_index >= len(f) - 1:
            self.show_frame(0)
        show_toggle(self.play_button, on, "Pause", "Play")
        if on:
            self.play_timer.start()
        else:
            self.play_timer.stop()

    def is_playing(self) -> bool:
        return self.play_timer.isActive()

    def _advance(self) -> None:
        f = self.state.run
        if f is None or self.state.frame_index >= len(f) - 1:
            self.set_playing(False)
            return
        self.show_frame(self.state.frame_index + 1)

    def step_frame(self, delta: int) -> None:
        if self.state.run is None:
            return
        self.set_playing(False)
        self.show_frame(self.state.frame_index + delta)

    def show_frame(self, i: int) -> None:
        """Put stored frame i on screen: the state says so, and every view follows through frameShown."""
        self.state.show_frame(i)

    def _draw_frame(self, i: int) -> None:
        with reported("show frame", self._error):
            self._draw_particles(i)

    def _draw_particles(self, i: int) -> None:
        f = self.state.run
        if f is None or not len(f):
            return
        i = int(min(max(i, 0), len(f) - 1))
        self.playback.set_position(i)
        x, view = f.x[i], self.state.view
        if self.state.settings.density:
            self.particles.setVisible(False)
            h = histogram_image(x, view)
            self.hist_image.setImage(h, levels=(0.0, max(float(h.max()), 1.0)))
            (x0, x1), (y0, y1) = view["xlim"], view["ylim"]
            self.hist_image.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
            self.hist_image.setVisible(True)
        else:
            self.hist_image.setVisible(False)
            self.particles.setVisible(True)
            self.particles.set_positions(x)      # hidden in density mode: skip the per-point work
        level = f.level[i]
        lvl = "∞" if not math.isfinite(level) else f"{level:.3g}"
        self.frame_label.setText(f"step {f.step[i]}/{f.step[-1]}   σ/α = {lvl}   NFE {f.nfe[i]}")

    # ===================================================================== shutdown
    def shutdown(self) -> None:
        """Stop the features, then both workers, and wait for their threads (well under a second)."""
        if self._closed:
            return
        self._closed = True
        self.play_timer.stop()
        self.status_view.stop()
        self.field_controller.stop()
        if self.features_ready():
            self.layout_.save()
        self.ui.release_filters()
        self.services.shutdown()
        torch.set_num_threads(self._torch_threads_before)
        gui_gc.release()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not getattr(self, "_shown_once", False):
            self._shown_once = True
            QTimer.singleShot(0, self._first_layout)       # once the docks have their final sizes
            if self._pending_features:
                self._after_paint = AfterFirstPaint(self.particle_view.viewport(), self._begin_features)
                QTimer.singleShot(3000, self._begin_features)     # a platform that never paints
            QTimer.singleShot(1000, warm_optimiser_imports)   # after the first paint has surely happened

    def _first_layout(self) -> None:
        if not self.layout_.restored:
            self.layout_.fit_widths()
        self._set_view_range()

    def closeEvent(self, event) -> None:
        self.shutdown()
        event.accept()

    # ===================================================================== read-only views for scripts and tests
    train_worker = alias("services.model.worker")
    train_thread = alias("services.model.worker_thread")
    sample_thread = alias("services.sampling.main.worker_thread")
    field = alias("field_controller.layer")
    _generation = alias("state.generation")
    last_event = alias("state.training.last_event")
    last_sampling_source = alias("state.run_source")
    targetChanged = alias("state.targetChanged")
    runChanged = alias("state.runChanged")
    frameShown = alias("state.frameShown")

    def register_session_part(self, name: str, get_state, set_state) -> None:
        self.services.parts.register(name, get_state, set_state)

    def __getattr__(self, name: str):
        """`window.quality`, `window.quality_dock`: a feature, or a feature's dock, by its registry name."""
        features = self.__dict__.get("features") or {}
        if name in features:
            return features[name]
        ui = self.__dict__.get("ui")
        if name.endswith("_dock") and ui is not None and name[:-5] in ui.docks:
            return ui.docks[name[:-5]]
        raise AttributeError(f"MainWindow has no attribute {name!r}")
