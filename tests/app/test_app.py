"""The desktop window with real widgets (pytest-qt, offscreen): training, sampling, painting,
scrubbing, responsiveness, shutdown and bad input. No mocks: the real workers and models run.
"""
import time

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QComboBox, QPushButton, QSpinBox  # noqa: E402

from tests.helpers import WAIT_MS, bright_pixels, child, pick, sample_and_wait, train_until, wait_painted  # noqa: E402
from playground.formats.presets import Preset  # noqa: E402
from playground.maths.targets import dice_layout  # noqa: E402


def test_required_widgets_and_defaults(window):
    for cls, name in ((QComboBox, "presetCombo"), (QPushButton, "trainButton"), (QPushButton, "resetButton"),
                      (QComboBox, "samplerCombo"), (QPushButton, "sampleButton"), (QSpinBox, "stepsSpin"),
                      (QSpinBox, "particlesSpin"), (QComboBox, "deviceCombo")):
        child(window, cls, name)
    import pyqtgraph as pg
    for name in ("particleView", "fieldView", "lossPlot"):
        assert isinstance(window.findChild(pg.PlotWidget, name), pg.PlotWidget)
    assert child(window, QPushButton, "trainButton").isCheckable()
    assert isinstance(window.current_preset(), Preset)
    sampler = child(window, QComboBox, "samplerCombo")
    for i in range(sampler.count()):
        assert sampler.itemData(i, Qt.ItemDataRole.ToolTipRole)
    pv, fv = window.particle_view.getPlotItem().vb, window.field_view.getPlotItem().vb
    assert fv.linkedView(0) is pv                                    # same x, linked pan/zoom
    (x0, x1), (y0, y1) = pv.viewRange()
    (f0, f1), (g0, g1) = fv.viewRange()
    assert abs(f0 - x0) < 1e-6 and abs(f1 - x1) < 1e-6 and abs((g0 + g1) - (y0 + y1)) < 1e-3   # same centre
    assert abs((f1 - f0) / fv.width() - (g1 - g0) / fv.height()) < 1e-3 * (f1 - f0) / fv.width()  # square pixels
    assert x0 <= -3.9 and x1 >= 3.9 and x1 - x0 < 12                 # the preset's view, not the noise


def test_train_sample_paints_where_the_target_has_mass(qtbot, window):
    pick(child(window, QComboBox, "presetCombo"), "loaded_dice")
    assert window.current_preset().name == "Loaded dice"
    t0 = time.perf_counter()
    train_until(qtbot, window, 900)
    print(f"900 training steps took {time.perf_counter() - t0:.1f} s")
    losses = window.losses()
    assert np.mean(losses[-100:]) < 0.85 * np.mean(losses[:30]), "loss did not fall"
    qtbot.mouseClick(child(window, QPushButton, "trainButton"), Qt.MouseButton.LeftButton)   # pause
    t0 = time.perf_counter()
    frames = sample_and_wait(qtbot, window)
    print(f"sampling took {time.perf_counter() - t0:.2f} s")
    assert len(frames) == 51 and frames.x[0].shape == (2000, 2)
    qtbot.waitUntil(lambda: not window.is_playing(), timeout=10_000)    # the animation reaches the end
    assert window.current_frame_index() == len(frames) - 1
    wait_painted(qtbot, window.particle_view)                           # the last frame is on screen

    faces = dice_layout(2.2)
    weights = window.current_preset().target.group_weights()
    heavy, light = faces[int(np.argmax(weights))], faces[int(np.argmin(weights))]
    view = window.particle_view
    n_heavy = bright_pixels(view, heavy, 0.45)
    n_light = bright_pixels(view, light, 0.45)
    n_centre = bright_pixels(view, (0.0, 0.0), 0.45)
    n_corner = bright_pixels(view, (3.3, -3.3), 0.45)
    print(f"particle pixels: heavy face {n_heavy}, light face {n_light}, centre {n_centre}, corner {n_corner}")
    assert n_heavy > 200, (n_heavy, n_light, n_centre)
    assert n_heavy > 1.3 * n_light, (n_heavy, n_light)
    assert n_heavy > 8 * max(n_centre, n_corner, 1), (n_heavy, n_centre, n_corner)

    # scrubbing the slider shows exactly the stored frame
    slider = window.time_slider
    for k in (0, 10, 37, len(frames) - 1):
        slider.setValue(k)
        assert window.current_frame_index() == k
        np.testing.assert_array_equal(window.particles.drawn_positions().astype(np.float32)[np.isfinite(frames.x[k]).all(1)],
                                      frames.x[k][np.isfinite(frames.x[k]).all(1)])
    # keyboard: Left/Right step, Space plays
    slider.setValue(20)
    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert window.current_frame_index() == 21
    qtbot.keyClick(window, Qt.Key.Key_Left)
    qtbot.keyClick(window, Qt.Key.Key_Left)
    assert window.current_frame_index() == 19
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert window.is_playing()
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not window.is_playing()


def test_gui_stays_responsive_while_training(qtbot, window):
    """Training lives in its own thread and the event loop keeps turning; how smoothly is a speed
    figure (bench's fps_particles_10k, measured while training), not a test: a loaded machine
    stretches every gap."""
    train_until(qtbot, window, 20)
    assert window.train_thread.isRunning() and window.train_worker.thread() is window.train_thread
    gaps, last = [], [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    timer.start()
    qtbot.wait(2500)            # not waiting for anything: the span over which the event loop's gaps are measured
    timer.stop()
    gaps = np.array(gaps[1:]) * 1000
    assert len(gaps) > 20
    p95 = float(np.percentile(gaps, 95))
    print(f"event-loop gaps while training: median {np.median(gaps):.1f} ms, p95 {p95:.1f} ms, max {gaps.max():.1f} ms")
    assert window.train_button.isChecked()


def test_close_during_training_and_sampling_stops_both_threads_quietly(qtbot, capfd, make_window):
    w = make_window(size=None)
    train_until(qtbot, w, 30)
    child(w, QSpinBox, "particlesSpin").setValue(20000)
    child(w, QSpinBox, "stepsSpin").setValue(400)
    with qtbot.waitSignal(w.services.sampling.progress, timeout=WAIT_MS):     # the sampler run is under way
        qtbot.mouseClick(child(w, QPushButton, "sampleButton"), Qt.MouseButton.LeftButton)
    t0 = time.perf_counter()
    w.close()
    elapsed = time.perf_counter() - t0
    print(f"close during training + sampling took {elapsed * 1000:.0f} ms")     # a figure, not a test
    assert w.train_thread.isFinished() and w.sample_thread.isFinished()
    err = capfd.readouterr().err
    assert "Traceback" not in err and "QThread" not in err, err


def test_divergence_is_reported_and_recovered(qtbot, window):
    train_until(qtbot, window, 60)
    window.controls.lr.setValue(10.0)
    qtbot.waitUntil(lambda: "diverged" in window.last_event, timeout=20_000)
    assert window.banner.isVisible() and "diverged" in window.banner.text()
    assert "diverged" in window.statusBar().currentMessage() or window.banner.text()
    # the trainer halves the rate and keeps going; training is still on and losses stay finite
    n = len(window.losses())
    qtbot.waitUntil(lambda: len(window.losses()) > n + 50, timeout=20_000)
    assert window.train_button.isChecked()
    assert window.controls.lr.value() < 10.0


def test_switching_preset_and_sampler_mid_animation_is_safe(qtbot, window):
    window.controls.speed.setValue(5)          # slow, so the switch happens mid-animation
    child(window, QSpinBox, "stepsSpin").setValue(20)
    sample_and_wait(qtbot, window)
    assert window.is_playing()
    pick(child(window, QComboBox, "samplerCombo"), "ddpm")
    pick(child(window, QComboBox, "presetCombo"), "two_moons")
    assert window.current_preset().spec["kind"] == "moons"
    assert not window.is_playing()
    frames = sample_and_wait(qtbot, window)
    assert frames.sampler == "ddpm" and len(frames) == 21
    # an empty preset and bad requests end in the banner, not in an exception
    pick(child(window, QComboBox, "presetCombo"), "blank")
    assert window.banner.isVisible()
    qtbot.mouseClick(child(window, QPushButton, "sampleButton"), Qt.MouseButton.LeftButton)
    qtbot.mouseClick(child(window, QPushButton, "trainButton"), Qt.MouseButton.LeftButton)
    assert not window.train_button.isChecked()
    window.set_preset("/no/such/file.json")
    assert "no such file" in window.banner.text()
    pick(child(window, QComboBox, "presetCombo"), "loaded_dice")
    window.controls.exact.setChecked(True)
    window.controls.error.setChecked(True)
    qtbot.waitUntil(window.field.error_image.isVisible, timeout=WAIT_MS)
    assert window.field.error_image.isVisible()


def test_shortcuts_reset_and_hidden_width_rebuild(qtbot, window):
    qtbot.keyClick(window, Qt.Key.Key_T)
    assert window.train_button.isChecked()
    qtbot.waitUntil(lambda: len(window.losses()) >= 40, timeout=20_000)
    gen = window._generation
    qtbot.mouseClick(child(window, QPushButton, "resetButton"), Qt.MouseButton.LeftButton)
    assert window._generation == gen + 1 and len(window.losses()) < 40
    qtbot.waitUntil(lambda: window.train_worker.trainer is not None and window.train_worker.generation == gen + 1,
                    timeout=10_000)
    # training continues on the fresh model after a reset
    qtbot.waitUntil(lambda: len(window.losses()) >= 20, timeout=20_000)
    window.controls.hidden.setValue(32)
    qtbot.waitUntil(lambda: window.train_worker.trainer is not None
                    and window.train_worker.trainer.model.config.hidden == 32, timeout=10_000)
    qtbot.keyClick(window, Qt.Key.Key_T)
    assert not window.train_button.isChecked()
    child(window, QSpinBox, "particlesSpin").setValue(500)
    child(window, QSpinBox, "stepsSpin").setValue(10)
    qtbot.keyClick(window, Qt.Key.Key_S)
    qtbot.waitUntil(lambda: window.current_frames() is not None, timeout=20_000)
    assert window.current_frames().x[-1].shape == (500, 2)


@pytest.mark.parametrize("schedule", ["edm", "vp-cosine"])
def test_every_sampler_runs_in_the_window(qtbot, window, schedule):
    """Untrained model, tiny runs: every sampler records frames and the slider spans them."""
    from playground.maths.samplers import SAMPLERS
    schedule_combo = window.controls.schedule
    schedule_combo.setCurrentIndex(schedule_combo.findData(schedule))
    child(window, QSpinBox, "particlesSpin").setValue(200)
    child(window, QSpinBox, "stepsSpin").setValue(8)
    for name in SAMPLERS:
        pick(child(window, QComboBox, "samplerCombo"), name)
        frames = sample_and_wait(qtbot, window)
        assert frames.sampler == name and len(frames) >= 2
        assert window.time_slider.maximum() == len(frames) - 1
        assert not window.banner.isVisible(), window.banner.text()


def test_run_gui_screenshot(qapp, tmp_path):
    from playground.app.shell.launch import run_gui
    shot = tmp_path / "shot.png"
    assert run_gui("loaded_dice", "cpu", str(shot), 4.0) == 0
    from PySide6.QtGui import QImage
    img = QImage(str(shot))
    assert not img.isNull() and img.width() > 400 and img.height() > 300
    assert run_gui("no_such_preset", "cpu", str(tmp_path / "x.png"), 1.0) == 2
    assert not (tmp_path / "x.png").exists()
