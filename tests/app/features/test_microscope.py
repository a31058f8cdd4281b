"""The microscope tabs in the window: loss by level follows training against its exact floor, and
the memorisation tab draws a training set, its exact denoiser's copies and the copy rates."""
import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QLabel, QPushButton    # noqa: E402

from playground.learning.dataset import training_set  # noqa: E402
from playground.maths.diagnostics.memorisation import copy_rate   # noqa: E402
from tests.helpers import WAIT_MS, child, click      # noqa: E402


def test_loss_by_level_follows_training_and_sits_above_the_floor(qtbot, make_window):
    w = make_window(preset="two_moons")
    scope = w.features["microscope"]
    w.ui.show_dock("lossByLevel")
    panel = scope.loss
    qtbot.waitUntil(lambda: panel.result is not None, timeout=WAIT_MS)
    click(qtbot, child(w, QPushButton, "trainButton"))
    first = None

    def scored_twice():
        nonlocal first
        r = panel.result
        if r is None or r.model_mse is None:
            return False
        first = first or r
        return r is not first
    qtbot.waitUntil(scored_twice, timeout=60_000)          # it re-scores as new snapshots are published
    click(qtbot, child(w, QPushButton, "trainButton"))
    r = panel.result
    assert np.all(r.model_mse >= r.floor_mse - 1e-9) and np.all(r.floor_mse > 0)
    assert "furthest above its floor" in child(w, QLabel, "lossByLevelNote").text()
    view = w.findChild(type(panel.plot), "lossByLevelView")
    assert view is not None and view.isVisible()
    panel.excess_check.setChecked(True)                    # the loss plot shows the excess over the floor
    # Against the last 100 steps' mean: the latest 20 alone dipped 1.6% under the floor once (batch noise, CI).
    recent = float(np.nanmean(w.state.training.losses.all()[-100:]))
    assert w.state.loss_floor is not None and 0 < w.state.loss_floor < recent


def test_memorisation_tab_counts_the_exact_denoisers_copies(qtbot, make_window):
    w = make_window(preset="eight_gaussians")
    panel = w.features["microscope"].memorisation
    w.ui.show_dock("memorisation")
    panel.size_spin.setValue(16)
    click(qtbot, child(w, QPushButton, "memorisationRunButton"))
    qtbot.waitUntil(lambda: panel.state == "idle" and "copies" in panel.status.text(), timeout=WAIT_MS)
    train = training_set(w.state.preset.target, 16, 0)[0].numpy()
    xs, ys = panel.dots["train"].getData()
    np.testing.assert_allclose(np.c_[xs, ys], train, rtol=1e-6)
    ex, ey = panel.dots["empirical"].getData()
    assert copy_rate(np.c_[ex, ey], train) >= 0.95          # the exact denoiser of 16 points copies them
    assert "empirical-exact 9" in panel.status.text() or "empirical-exact 100%" in panel.status.text()


def test_the_sweep_plots_every_copy_rate_against_n(qtbot, make_window, monkeypatch):
    from playground.app.features.microscope import memorisation_view
    monkeypatch.setattr(memorisation_view, "SWEEP_SIZES", (8, 64))
    monkeypatch.setattr(memorisation_view, "SWEEP_STEPS", 40)
    w = make_window(preset="two_moons")
    panel = w.features["microscope"].memorisation
    w.ui.show_dock("memorisation")
    click(qtbot, child(w, QPushButton, "memorisationSweepButton"))
    qtbot.waitUntil(lambda: panel.sweep is not None, timeout=60_000)
    assert [r["n_train"] for r in panel.sweep] == [8, 64]
    assert all(r["copy_rate_model"] is not None and 0 <= r["copy_rate_fresh"] <= 0.05 for r in panel.sweep)
    assert panel.sweep[0]["copy_rate_empirical_exact"] >= 0.95
    assert len(panel.sweep_plot.getPlotItem().listDataItems()) == 3
    state = panel.get_state()                                # sessions keep the sweep
    panel.sweep = None
    panel.set_state(state)
    assert panel.sweep == state["sweep"]


def test_other_panels_link_to_the_microscope(qtbot, make_window):
    w = make_window()
    links = child(w, QLabel, "diceMicroscopeLinks")
    links.linkActivated.emit("memorisation")
    assert w.ui.docks["memorisation"].isVisible()
    assert 'href="lossByLevel"' in child(w, QLabel, "explanationText").text()
