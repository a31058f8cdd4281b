"""The Compare dock and the live Metrics dock, with real widgets, real workers and real painting.

Exact scores keep these quick: no training is needed to compare samplers on the true score.
"""
import math

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

import pyqtgraph as pg  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QColor  # noqa: E402
from PySide6.QtWidgets import QComboBox, QDockWidget, QLabel, QPushButton, QSlider, QSpinBox  # noqa: E402

from tests.helpers import WAIT_MS, assert_same_noise, child, pick, wait_painted  # noqa: E402
from playground.maths.samplers.record import record_run  # noqa: E402
from playground.maths.sources import ExactSource  # noqa: E402


def configure(w, i, sampler, steps, score):
    pick(child(w, QComboBox, f"compareSampler{i}"), sampler)
    child(w, QSpinBox, f"compareSteps{i}").setValue(steps)
    pick(child(w, QComboBox, f"compareScore{i}"), score)


def run_and_wait(qtbot, w, timeout=60_000):
    with qtbot.waitSignal(w.comparison.runFinished, timeout=timeout):
        qtbot.mouseClick(child(w, QPushButton, "compareRunButton"), Qt.MouseButton.LeftButton)
    assert not w.comparison.is_running()


def bright_pixels(widget) -> int:
    img = widget.grab().toImage()
    count = 0
    for px in range(0, img.width(), 2):
        for py in range(0, img.height(), 2):
            if max(QColor(img.pixel(px, py)).getRgb()[:3]) >= 230:
                count += 1
    return count


def test_every_panel_starts_from_the_same_noise(qtbot, window):
    w = window
    child(w, QSpinBox, "compareParticles").setValue(300)
    child(w, QSpinBox, "panelCountSpin").setValue(4)
    for i, (sampler, steps) in enumerate((("ode-heun", 5), ("sde-euler", 12), ("ddpm", 7), ("dpm-solver++", 3))):
        configure(w, i, sampler, steps, "exact")
    run_and_wait(qtbot, w)
    first = [w.comparison.panel_frames(i)[0] for i in range(4)]
    assert first[0].shape == (300, 2)
    for f in first[1:]:
        np.testing.assert_array_equal(f, first[0])
    assert [len(w.comparison.panel_frames(i)) for i in range(4)] == [6, 13, 8, 4]
    label = child(w, QLabel, "compareLabel1").text()
    assert "NFE 12" in label and "straightness" in label
    r = w.comparison.panel_result(0)
    assert r.frames.nfe[-1] == 9                                   # Heun: 2 per step, the last one Euler
    assert 0 < r.straightness <= 1 and r.length > 0


def test_panel_count_hides_panels_and_runs_only_the_visible_ones(qtbot, window):
    w = window
    child(w, QSpinBox, "compareParticles").setValue(200)
    child(w, QSpinBox, "panelCountSpin").setValue(3)
    w.comparison.dock.raise_()
    qtbot.waitUntil(child(w, pg.PlotWidget, "comparePanel2").isVisible, timeout=WAIT_MS)
    assert child(w, pg.PlotWidget, "comparePanel2").isVisible()
    assert not child(w, pg.PlotWidget, "comparePanel3").isVisible()
    for i in range(3):
        configure(w, i, "ode-euler", 4, "exact")
    run_and_wait(qtbot, w)
    assert [len(w.comparison.panel_frames(i)) for i in range(4)] == [5, 5, 5, 0]


def test_learned_plus_exact_button_sets_up_two_panels_and_runs_the_learned_snapshot(qtbot, window):
    w = window
    child(w, QSpinBox, "compareParticles").setValue(200)
    configure(w, 0, "ddpm", 17, "exact")
    configure(w, 1, "ode-rk45", 3, "learned")
    qtbot.mouseClick(child(w, QPushButton, "compareLearnedExactButton"), Qt.MouseButton.LeftButton)
    for i, score in ((0, "learned"), (1, "exact")):
        assert child(w, QComboBox, f"compareSampler{i}").currentText() == "ddpm"
        assert child(w, QSpinBox, f"compareSteps{i}").value() == 17
        assert child(w, QComboBox, f"compareScore{i}").currentText() == score
    run_and_wait(qtbot, w)           # the learned panel uses a fresh (untrained) snapshot of the model
    a, b = w.comparison.panel_frames(0), w.comparison.panel_frames(1)
    assert_same_noise(a[0], b[0])
    assert len(a) == len(b) == 18
    assert not np.allclose(a[-1], b[-1])                 # an untrained model is not the exact score
    assert w.comparison.panel_result(0).spec.score == "learned"


def test_the_clock_shows_each_panel_the_frame_nearest_in_level(qtbot, window):
    w = window
    child(w, QSpinBox, "compareParticles").setValue(200)
    configure(w, 0, "ode-euler", 6, "exact")
    configure(w, 1, "ode-heun", 25, "exact")
    run_and_wait(qtbot, w)
    clock, c = child(w, QSlider, "compareClock"), w.comparison
    pick(child(w, QComboBox, "compareClockMode"), "noise level")
    for value in (0, 250, 500, 800):
        clock.setValue(value)
        level = c.clock_level()
        for i in range(2):
            f = c.panel_result(i).frames
            lv = np.asarray(f.level)
            positive = np.flatnonzero(lv > 0)
            expected = positive[np.argmin(np.abs(np.log(lv[positive]) - math.log(level)))]
            assert c.panel_frame_index(i) == expected, (value, i)
            np.testing.assert_array_equal(c.panels[i].particles.positions(), f.x[expected])
    clock.setValue(clock.maximum())
    assert [c.panel_frame_index(i) for i in range(2)] == [6, 25]         # the final samples
    pick(child(w, QComboBox, "compareClockMode"), "fraction of run")
    clock.setValue(clock.maximum() // 2)
    assert [c.panel_frame_index(i) for i in range(2)] == [3, 12]         # round(0.5 * 6), round(0.5 * 25)
    vb0, vb1 = (child(w, pg.PlotWidget, f"comparePanel{i}").getPlotItem().vb for i in range(2))
    assert vb1.linkedView(0) is vb0 and vb1.linkedView(1) is vb0


def test_grab_paints_the_particles_of_every_panel(qtbot, window):
    w = window
    w.comparison.dock.raise_()
    child(w, QSpinBox, "compareParticles").setValue(1500)
    configure(w, 0, "ode-heun", 10, "exact")
    configure(w, 1, "sde-euler", 10, "exact")
    panels = [child(w, pg.PlotWidget, f"comparePanel{i}") for i in range(2)]
    for p in panels:
        wait_painted(qtbot, p)                       # the raised dock's panels are laid out and painted
    before = [bright_pixels(p) for p in panels]
    run_and_wait(qtbot, w)
    for p in panels:
        wait_painted(qtbot, p)                       # the final frames (and the titles' new layout) are painted
    after = [bright_pixels(p) for p in panels]
    assert all(a > b + 50 for a, b in zip(after, before)), (before, after)


def test_cancel_stops_a_long_comparison(qtbot, window):
    w = window
    child(w, QSpinBox, "compareParticles").setValue(20_000)
    configure(w, 0, "sde-euler", 1000, "exact")
    configure(w, 1, "ode-heun", 1000, "exact")
    finished = []
    w.comparison.runFinished.connect(lambda: finished.append(1))
    with qtbot.waitSignal(w.services.sampling.compareProgress, timeout=WAIT_MS):   # the first panel is stepping
        qtbot.mouseClick(child(w, QPushButton, "compareRunButton"), Qt.MouseButton.LeftButton)
    assert w.comparison.is_running()
    qtbot.mouseClick(child(w, QPushButton, "compareCancelButton"), Qt.MouseButton.LeftButton)
    assert not w.comparison.is_running()
    qtbot.wait(500)     # negative check, nothing to wait for: a cancelled run must not finish or fill the panels
    assert not finished and w.comparison.panel_frames(0) == []


def test_an_empty_preset_is_refused_with_a_message(qtbot, window):
    w = window
    w.set_preset("blank")
    qtbot.mouseClick(child(w, QPushButton, "compareRunButton"), Qt.MouseButton.LeftButton)
    assert w.banner.isVisible() and "empty" in w.banner.text()
    assert not w.comparison.is_running()


# ----- the metrics dock ----------------------------------------------------------------------------

def exact_frames(target, sampler, steps, n=2000, seed=0):
    return record_run(sampler, ExactSource(target), n, seed, steps, "edm")


def play(qtbot, w, frames):
    """What the window does for a finished run: put it on screen, then show its frames one by one."""
    w.services.sampling.show(frames, play=False)
    for k in range(len(frames)):
        w.show_frame(k)
        qtbot.wait(1)       # not waiting for anything: the event loop turns between frames, as the play timer's would
    qtbot.waitUntil(lambda: w.metrics.last_index == len(frames) - 1, timeout=30_000)


def number(w, name) -> float:
    return float(child(w, QLabel, name).text().split()[0].rstrip("%"))


def test_metrics_dock_meets_the_floor_only_for_a_good_run(qtbot, window):
    w = window
    assert child(w, QDockWidget, "metricsDock").isVisible()
    target = w.current_preset().target                      # loaded_dice
    qtbot.waitUntil(lambda: math.isfinite(w.metrics.floor), timeout=20_000)
    floor = w.metrics.floor
    assert number(w, "metricFloor") == pytest.approx(floor, rel=1e-3)

    good = exact_frames(target, "ode-heun", 50)
    play(qtbot, w, good)
    sw2_good, energy_good = number(w, "metricSW2"), number(w, "metricEnergy")
    assert sw2_good < 3 * floor, (sw2_good, floor)
    assert number(w, "metricNFE") == good.nfe[-1] == 99
    assert number(w, "metricOffSupport") < 2.0
    chart = child(w, pg.PlotWidget, "metricsWeightsChart")
    np.testing.assert_allclose(chart.series("true"), target.group_weights())
    assert np.abs(chart.series("sampled") - target.group_weights()).max() < 0.05
    curve_x, curve_y = w.metrics.curve.getData()                   # log mode: y comes back as log10
    assert curve_x[-1] == 50 and 10 ** curve_y[-1] == pytest.approx(w.metrics.last["sw2"])
    assert 10 ** w.metrics.floor_curve.getData()[1][0] == pytest.approx(floor)

    bad = exact_frames(target, "ode-heun", 1)
    play(qtbot, w, bad)
    assert number(w, "metricSW2") > 10 * floor
    assert number(w, "metricEnergy") > 5 * energy_good
    assert number(w, "metricOffSupport") > 50.0             # every particle lands on the mean, between faces
    assert number(w, "metricNFE") == 1
    assert len(w.metrics.curve.getData()[0]) <= 2           # the old run's curve was cleared
