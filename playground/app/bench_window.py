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
    from .sampling_worker import Frames
    target = load_preset("swiss_roll").target
    x0 = target.sample(n, seed=0).numpy()
    eps = np.random.default_rng(0).standard_normal((n, 2)).astype(np.float32)
    lv = get_schedule("edm").levels(n_frames - 1)
    f = Frames("ode-euler", "edm")
    for i in range(n_frames):
        a, s = float(lv.alpha[i]), float(lv.sigma[i])
        f.x.append((a * x0 + min(s, 4.0) * eps).astype(np.float32))   # keep particles in view
        f.step.append(i)
        f.alpha.append(a)
        f.sigma.append(s)
        f.level.append(s / a)
        f.nfe.append(i)
    return f


def _fps(n: int, density: bool, seconds: float = 4.0) -> float:
    from PySide6.QtWidgets import QApplication
    from .launch import quiet_qt_messages
    from .main_window import MainWindow
    app = QApplication.instance() or QApplication([])
    quiet_qt_messages()
    w = MainWindow()
    try:
        w.set_preset("swiss_roll")
        w.show()
        w.controls.density.setChecked(density)
        w.set_training(True)
        t_end = time.perf_counter() + 3.0
        while w.state.training.rate <= 0 and time.perf_counter() < t_end:      # training is really running
            app.processEvents()
            time.sleep(0.01)
        frames = _frames(n)
        w.services.sampling.show_frames(frames)
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


def fps_particles_10k() -> float:
    return _fps(10_000, density=False)


def fps_density_200k() -> float:
    return _fps(200_000, density=True)


def live_refresh_per_s(n: int = 2000, steps: int = 50, seconds: float = 6.0) -> float:
    """Live-sample pictures shown per second (default sampler, n particles, `steps` steps) while
    training runs, counted after the first one (which also pays the threads' warm-up)."""
    from PySide6.QtWidgets import QApplication
    from .launch import quiet_qt_messages
    from .main_window import MainWindow
    app = QApplication.instance() or QApplication([])
    quiet_qt_messages()
    w = MainWindow()
    try:
        w.set_preset("swiss_roll")
        w.state.update_settings(particles=n, steps=steps)
        w.show()
        w.set_training(True)
        live = w.features["live_samples"]
        live.check.setChecked(True)
        t_end = time.perf_counter() + 30.0
        while live.count == 0 and time.perf_counter() < t_end:
            app.processEvents()
            time.sleep(0.002)
        first, t0 = live.count, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            app.processEvents()
            time.sleep(0.002)
        return (live.count - first) / (time.perf_counter() - t0)
    finally:
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
    from .launch import quiet_qt_messages
    from .main_window import MainWindow
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
