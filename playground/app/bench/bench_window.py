"""Window figures for `bench`: frames per second of the real MainWindow, offscreen, grab included,
with training running in its worker thread.

The frames shown are the forward process x = alpha*x0 + sigma*eps of the swiss roll on the EDM
levels (what a sampler run looks like in reverse); rendering cost does not depend on who made them.
"""
from __future__ import annotations

import os
import time

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _frames(n: int, n_frames: int = 100):
    from playground.formats.presets import load_preset
    from playground.maths.schedules import get_schedule
    from playground.maths.samplers.record import Run
    target = load_preset("swiss_roll").target
    x0 = target.sample(n, seed=0).numpy()
    eps = np.random.default_rng(0).standard_normal((n, 2)).astype(np.float32)
    lv = get_schedule("edm").levels(n_frames - 1)
    f = Run("ode-euler", "edm")
    for i in range(n_frames):
        a, s = float(lv.alpha[i]), float(lv.sigma[i])
        f.x.append((a * x0 + min(s, 4.0) * eps).astype(np.float32))   # keep particles in view
        f.step.append(i)
        f.alpha.append(a)
        f.sigma.append(s)
        f.level.append(s / a)
        f.nfe.append(i)
    return f


def _fps(n: int, density: bool, seconds: float = 4.0, overlay: str = "") -> float:
    from PySide6.QtWidgets import QApplication
    from playground.app.shell.launch import quiet_qt_messages
    from playground.app.shell.main_window import MainWindow
    app = QApplication.instance() or QApplication([])
    quiet_qt_messages()
    w = MainWindow()
    try:
        w.set_preset("swiss_roll")
        w.show()
        w.controls.density.setChecked(density)
        _overlay_on(w, overlay)
        w.set_training(True)
        t_end = time.perf_counter() + 3.0
        while w.state.training.rate <= 0 and time.perf_counter() < t_end:      # training is really running
            app.processEvents()
            time.sleep(0.01)
        frames = _frames(n)
        w.services.sampling.show(frames)
        w.set_playing(False)
        k, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            w.show_frame(k % len(frames))
            app.processEvents()
            w.particle_view.grab()     # the two animated views; a real window repaints only these
            w.field_view.grab()
            k += 1
        return k / (time.perf_counter() - t0)
    finally:
        w.close()
        w.shutdown()


OVERLAYS = ("denoised", "mesh", "pt_exact")


def _overlay_on(w, overlay: str) -> None:
    """Turn on one particle-view overlay through its widget (the x̂₀ dots, the mesh, the p_t backdrop)."""
    from PySide6.QtWidgets import QCheckBox, QComboBox
    if overlay in ("denoised", "mesh"):
        w.findChild(QCheckBox, f"{overlay}Check").setChecked(True)
    elif overlay == "pt_exact":
        combo = w.findChild(QComboBox, "densityModeCombo")
        combo.setCurrentIndex(next(i for i in range(combo.count())
                                   if "p_t" in combo.itemText(i) and "exact" in combo.itemText(i)))


def fps_overlay_10k(overlay: str) -> float:
    return _fps(10_000, density=False, overlay=overlay)


def fps_overlays_10k() -> float:
    """The slowest overlay's animation frame rate (each one on alone, 10k particles, training running)."""
    return min(fps_overlay_10k(o) for o in OVERLAYS)


def fps_particles_10k() -> float:
    return _fps(10_000, density=False)


def fps_density_200k() -> float:
    return _fps(200_000, density=True)


class LatencyProbe:
    """Event-loop lateness: a precise 10 ms single-shot timer re-armed on each tick; a tick's lateness
    is how long after its due time the loop ran it (what a click or a repaint would have waited)."""

    def __init__(self, interval_ms: int = 10):
        from PySide6.QtCore import QTimer, Qt
        self.interval_ms, self.lateness_ms = interval_ms, []
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self._tick)
        self._due = 0.0

    def start(self) -> None:
        self.lateness_ms = []
        self._due = time.perf_counter() + self.interval_ms / 1000
        self.timer.start(self.interval_ms)

    def stop(self) -> None:
        self.timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.lateness_ms.append(max(0.0, 1000 * (now - self._due)))
        self._due = now + self.interval_ms / 1000
        self.timer.start(self.interval_ms)

    def p90(self) -> float:
        return float(np.percentile(self.lateness_ms, 90)) if self.lateness_ms else float("nan")


def _run_loop(app, seconds: float) -> None:
    """Run the real event loop (not a processEvents poll) for `seconds`."""
    from PySide6.QtCore import QEventLoop, QTimer
    loop = QEventLoop()
    QTimer.singleShot(int(1000 * seconds), loop.quit)
    loop.exec()


def live_figures(n: int = 2000, steps: int = 50, seconds: float = 6.0) -> dict:
    """Live samples in the real window (swiss roll, default sampler, n particles, `steps` steps) with
    training running: pictures shown per second in the particle view (counted after the first, which
    also pays the threads' warm-up), the event loop's p90 lateness meanwhile, and training's steps/s
    then over its steps/s in the same window with live samples off."""
    from PySide6.QtWidgets import QApplication
    from playground.app.shell.launch import quiet_qt_messages
    from playground.app.shell.main_window import MainWindow
    app = QApplication.instance() or QApplication([])
    quiet_qt_messages()
    w = MainWindow()
    probe = LatencyProbe()
    try:
        w.set_preset("swiss_roll")
        w.state.update_settings(particles=n, steps=steps)
        w.show()
        w.set_training(True)
        t_end = time.perf_counter() + 30.0
        while w.state.training.rate <= 0 and time.perf_counter() < t_end:
            _run_loop(app, 0.05)
        _run_loop(app, 0.5)

        def steps_per_s() -> float:
            step0, t0 = w.state.training.step, time.perf_counter()
            _run_loop(app, seconds / 2)
            return (w.state.training.step - step0) / (time.perf_counter() - t0)

        solo = steps_per_s()
        live = w.features["live_samples"]
        live.check.setChecked(True)
        while live.count == 0 and time.perf_counter() < t_end + 30.0:
            _run_loop(app, 0.05)
        first, t0, step0 = live.count, time.perf_counter(), w.state.training.step
        probe.start()
        _run_loop(app, seconds)
        probe.stop()
        dt = time.perf_counter() - t0
        return {"live_refresh_per_s": (live.count - first) / dt,
                "live_event_loop_p90_ms": probe.p90(),
                "live_training_ratio": (w.state.training.step - step0) / dt / max(solo, 1e-9)}
    finally:
        probe.stop()
        w.close()
        w.shutdown()


def _sketch_preset(n: int, seed: int = 0):
    from playground.formats.presets import preset_from_json
    pts = np.random.default_rng(seed).normal(0.0, 1.2, (n, 2)).clip(-3.5, 3.5)
    return preset_from_json({"name": "Sketch", "description": f"{n} drawn points",
                             "target": {"kind": "sketch", "points": pts.tolist(), "bandwidth": 0.15},
                             "view": {"xlim": [-4, 4], "ylim": [-4, 4]}}, "Sketch")


def edit_latency_ms(n_points: int = 1000, edits: int = 40, training: bool = False, seed: int = 0) -> dict:
    """Per edit of an n_points sketch: ms from a real mouse press on the particle view (a brush dab,
    then an eraser dab, alternately, at random places) to the end of the repaint of that view
    (processEvents, then grab()), and ms until the compiled target is the window's current one.
    Between edits the window settles (the exact target lands, then 100 ms of events), as between
    a user's clicks; so one edit's figure never carries the previous edit's work."""
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication, QPushButton
    from playground.app.shell.launch import quiet_qt_messages
    from playground.app.shell.main_window import MainWindow
    app = QApplication.instance() or QApplication([])
    quiet_qt_messages()
    w = MainWindow()
    landed: list[float] = []
    try:
        w.resize(1400, 860)
        w.show()
        w.apply_preset(_sketch_preset(n_points, seed), "bench sketch")
        w.state.presetChanged.connect(lambda *_: landed.append(time.perf_counter()))
        if training:
            w.set_training(True)
        w.findChild(QPushButton, "editModeButton").setChecked(True)
        view = w.particle_view
        vp, vb = view.viewport(), view.getPlotItem().vb

        def settle(wait_s: float, until_landed: int = 0) -> None:
            t = time.perf_counter()
            while time.perf_counter() - t < wait_s or (len(landed) < until_landed and time.perf_counter() - t < 10):
                app.processEvents()
                time.sleep(0.002)

        settle(1.0)
        rng = np.random.default_rng(seed + 1)
        repaint, exact = [], []
        for k in range(edits):
            w.findChild(QPushButton, "brushToolButton" if k % 2 == 0 else "eraserToolButton").setChecked(True)
            x, y = rng.uniform(-2.0, 2.0, 2)
            p = QPointF(view.mapFromScene(vb.mapViewToScene(QPointF(x, y))))
            g = QPointF(vp.mapToGlobal(p))
            count = len(landed)
            t0 = time.perf_counter()
            for kind, buttons in ((QEvent.Type.MouseButtonPress, Qt.MouseButton.LeftButton),
                                  (QEvent.Type.MouseButtonRelease, Qt.MouseButton.NoButton)):
                QApplication.sendEvent(vp, QMouseEvent(kind, p, g, Qt.MouseButton.LeftButton, buttons,
                                                       Qt.KeyboardModifier.NoModifier))
            app.processEvents()
            view.grab()
            repaint.append((time.perf_counter() - t0) * 1000)
            settle(0.0, until_landed=count + 1)
            exact.append((landed[count] - t0) * 1000 if len(landed) > count else float("nan"))
            settle(0.1)
        return {"repaint_ms": repaint, "exact_ms": exact}
    finally:
        w.close()
        w.shutdown()


def edit_ms_p90(training: bool = False) -> float:
    """90th percentile of edit_latency_ms's repaint times (40 edits of a 1000-point sketch)."""
    return float(np.percentile(edit_latency_ms(training=training)["repaint_ms"], 90))


def live_refresh_per_s(n: int = 2000, steps: int = 50, seconds: float = 6.0) -> float:
    return live_figures(n, steps, seconds)["live_refresh_per_s"]
