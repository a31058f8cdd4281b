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
