"""Watching it move, in the real window: live samples while training, the x̂₀ and mesh overlays,
the p_t backdrop that follows the frame, and the flow-in-time and commitment tabs (real clicks,
real painting through grab())."""
import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QCheckBox, QComboBox, QPushButton, QWidget   # noqa: E402

from tests.helpers import child, click, pixels          # noqa: E402


def small_run(qtbot, w, preset="loaded_dice"):
    """A short sampler run of the untrained model, shown paused on its middle frame."""
    w.set_preset(preset)
    w.state.update_settings(particles=400, steps=12, sampler="ode-euler")
    click(qtbot, child(w, QPushButton, "sampleButton"))
    qtbot.waitUntil(lambda: w.state.run is not None and len(w.state.run) == 13, timeout=30000)
    w.set_playing(False)
    w.show_frame(6)
    return w.state.run


def test_live_samples_refresh_while_training_without_a_sample_press(qtbot, make_window):
    w = make_window()
    w.set_preset("two_moons")
    w.state.update_settings(particles=300, steps=8, sampler="ode-euler")
    live = w.features["live_samples"]
    view = w.particle_view
    click(qtbot, child(w, QCheckBox, "liveSamplesCheck"))
    assert live.count == 0 and w.state.run is None          # nothing until training runs
    click(qtbot, child(w, QPushButton, "trainButton"))
    qtbot.waitUntil(lambda: live.count >= 1, timeout=30000)
    first = pixels(view)
    assert w.state.run is not None and len(w.state.run.x[0]) == 300
    qtbot.waitUntil(lambda: live.count >= 3, timeout=40000)
    assert not np.array_equal(first, pixels(view))            # the newer model drew other samples
    assert len(w.state.run) == 1 and w.state.run.provenance.score == "learned"   # a live picture, no press
    click(qtbot, child(w, QPushButton, "trainButton"))         # training stops: so do the refreshes
    qtbot.waitUntil(lambda: not live.in_flight, timeout=20000)
    count = live.count
    qtbot.wait(400)     # negative check, nothing to wait for: no refresh comes once training has stopped
    assert live.count == count


def test_denoised_and_mesh_overlays_change_the_middle_frame(qtbot, make_window):
    w = make_window()
    small_run(qtbot, w)
    overlays = w.features["frame_overlays"]
    before = pixels(w.particle_view)
    click(qtbot, child(w, QCheckBox, "denoisedCheck"))
    assert overlays.denoised_item.segment_count() == 400
    with_denoised = pixels(w.particle_view)
    assert np.count_nonzero(with_denoised != before) > 200
    click(qtbot, child(w, QCheckBox, "denoisedCheck"))
    click(qtbot, child(w, QCheckBox, "meshCheck"))
    qtbot.waitUntil(lambda: overlays.mesh_item.segment_count() > 0, timeout=30000)
    assert "ode-euler" in overlays.mesh_label.text()
    assert np.count_nonzero(pixels(w.particle_view) != before) > 200
    w.show_frame(0)                                          # drawn on every frame: the grid moves
    start = overlays.mesh_item.segments()
    w.show_frame(12)
    assert np.abs(overlays.mesh_item.segments() - start).max() > 0.05


def test_exact_pt_backdrop_differs_between_an_early_and_the_last_frame(qtbot, make_window):
    w = make_window()
    frames = small_run(qtbot, w)
    combo = child(w, QComboBox, "densityModeCombo")
    i = next(k for k in range(combo.count()) if "p_t" in combo.itemText(k) and "exact" in combo.itemText(k))
    combo.setCurrentIndex(i)
    w.show_frame(2)
    early = pixels(w.particle_view)
    w.show_frame(len(frames) - 1)
    last = pixels(w.particle_view)
    assert np.count_nonzero(early != last) > 1000
    overlays = w.features["frame_overlays"]
    assert "σ/α" in overlays.backdrop_note.text()
    pick_off = combo.findData("off")
    combo.setCurrentIndex(pick_off)
    assert w.particle_view.backdrop() is None


def test_flow_time_and_commit_views_change_after_a_run(qtbot, make_window):
    w = make_window()
    w.set_preset("loaded_dice")
    views = w.features["run_views"]
    flow, commit = child(w, QWidget, "flowTimeView"), child(w, QWidget, "commitView")
    w.ui.docks["flowTime"].raise_()                         # showing the tab draws the density alone
    qtbot.waitUntil(lambda: flow.density_image().size > 0, timeout=10000)
    for view in (flow, commit):
        view.setFixedSize(600, 300)          # the tab layout may move while a run arrives
    flow_before, commit_before = pixels(flow), pixels(commit)
    small_run(qtbot, w)
    qtbot.waitUntil(lambda: views.commit.commitment() is not None, timeout=30000)
    assert flow.has_run()
    assert np.count_nonzero(pixels(flow) != flow_before) > 500
    assert np.count_nonzero(pixels(commit) != commit_before) > 500
    c = views.commit.commitment()
    assert c.mean_posterior.shape == (13, 6)
    assert np.allclose(c.mean_posterior.sum(1), 1.0, atol=1e-6)


def test_checks_combo_and_angle_are_saved_in_sessions(qtbot, tmp_path, make_window):
    w = make_window()
    w.set_preset("loaded_dice")
    click(qtbot, child(w, QCheckBox, "denoisedCheck"))
    combo = child(w, QComboBox, "densityModeCombo")
    combo.setCurrentIndex(combo.findData("exact"))
    w.features["run_views"].flow.set_angle(30.0)
    path = tmp_path / "s.session"
    assert w.save_session(path)
    click(qtbot, child(w, QCheckBox, "denoisedCheck"))
    combo.setCurrentIndex(combo.findData("off"))
    w.features["run_views"].flow.set_angle(0.0)
    assert w.open_session(path)
    assert child(w, QCheckBox, "denoisedCheck").isChecked()
    assert combo.currentData() == "exact"
    assert w.features["run_views"].flow.angle() == pytest.approx(30.0)
    names = set(w.features["exporter"].views())
    assert {"flowTimePlot", "commitPlot"} <= names
