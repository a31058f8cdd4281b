"""Flow matching and reflow in the window, with real widgets, workers and painting: the objective
combo resets and trains an fm model, the field view shows the schedule's velocity, and a small
reflow run from the Tools menu makes its models available to the Compare dock."""
import math

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

import torch  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QAction  # noqa: E402
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QPushButton, QSpinBox  # noqa: E402

from tests.helpers import assert_same_noise, child, pick  # noqa: E402
from playground.formats.settings import Settings, SettingsError  # noqa: E402
from playground.maths.schedules import get_schedule  # noqa: E402
from playground.maths.sources import ExactSource  # noqa: E402
from playground.maths.samplers.explanations import CONCEPTS  # noqa: E402


def loss_title(w) -> str:
    return w.loss_plot.getPlotItem().titleLabel.text


def trained_objective(w) -> str:
    return w.services.model.read_state()["config"]["model"]["objective"]


def test_objective_is_a_checked_setting_that_sessions_keep():
    s = Settings(objective="fm", velocity=True)
    assert Settings.from_json(s.to_json()) == s
    assert Settings().objective == "dsm"
    with pytest.raises(SettingsError, match="settings.objective"):
        Settings().with_(objective="ddpm")


def test_objective_combo_resets_and_trains_flow_matching_mid_training(qtbot, window):
    w = window
    combo = child(w, QComboBox, "objectiveCombo")
    texts = [combo.itemText(i) for i in range(combo.count())]
    assert any("score matching" in t for t in texts) and any("flow matching" in t for t in texts)
    fm = combo.findData("fm")
    assert "flow matching" in texts[fm] and CONCEPTS["flow-matching"].tooltip in combo.itemData(fm, Qt.ItemDataRole.ToolTipRole)
    assert "score matching" in loss_title(w)
    qtbot.mouseClick(child(w, QPushButton, "trainButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.state.training.step >= 10, timeout=30_000)
    assert trained_objective(w) == "dsm"

    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_Down)           # score matching -> flow matching, while training
    assert w.state.settings.objective == "fm"
    assert "switching objective resets the model" in child(w, QLabel, "banner").text()
    assert "flow matching" in loss_title(w)
    qtbot.waitUntil(lambda: trained_objective(w) == "fm", timeout=10_000)
    qtbot.waitUntil(lambda: w.state.training.step >= 10 and len(w.losses()) >= 10, timeout=30_000)
    assert w.state.training.running
    losses = w.losses()
    assert np.isfinite(losses).all() and len(losses) <= w.state.training.step   # the curve started over

    qtbot.keyClick(combo, Qt.Key.Key_Up)             # and back, still training: no crash, dsm again
    qtbot.waitUntil(lambda: trained_objective(w) == "dsm", timeout=10_000)
    assert "score matching" in loss_title(w) and w.state.training.running
    qtbot.mouseClick(child(w, QPushButton, "trainButton"), Qt.MouseButton.LeftButton)


def arrow_directions(item) -> np.ndarray:
    x, y = item.getData()
    pts = np.stack([x, y], 1).reshape(-1, 6, 2)
    d = pts[:, 1] - pts[:, 0]
    return d / np.linalg.norm(d, axis=1, keepdims=True)


def test_velocity_field_paints_learned_and_exact_with_the_error_heatmap(qtbot, window):
    w = window
    layer = w.field_controller.layer
    # On the flow schedule the velocity is not parallel to the score (on VE/EDM, alpha = 1, it is).
    pick(child(w, QComboBox, "scheduleCombo"), get_schedule("flow").label)
    qtbot.mouseClick(child(w, QCheckBox, "exactCheck"), Qt.MouseButton.LeftButton)
    qtbot.mouseClick(child(w, QCheckBox, "errorCheck"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.field_controller.source is not None, timeout=10_000)
    w.field_controller.refresh()
    score_dirs = arrow_directions(layer.exact)
    score_img = w.field_view.grab().toImage()

    qtbot.mouseClick(child(w, QCheckBox, "velocityCheck"), Qt.MouseButton.LeftButton)
    assert w.state.settings.velocity
    info = child(w, QLabel, "fieldInfo").text()
    assert "velocity" in info and "weighted rel. error" in info
    assert "Velocity" in w.field_view.getPlotItem().titleLabel.text
    assert layer.exact.isVisible() and layer.error_image.isVisible() and math.isfinite(layer.last_error)
    # The exact arrows are -dx/dt of the schedule's probability-flow ODE, from the exact denoiser.
    schedule = get_schedule(w.state.settings.schedule)
    t = schedule.t_of_level(0.3)
    from playground.app.widgets.particle_item import grid_image
    pts, _, _ = grid_image(w.state.view, 32)
    expected = -ExactSource(w.current_preset().target).velocity(torch.as_tensor(pts, dtype=torch.float32), t, schedule)
    expected = expected.double().numpy()
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    vel_dirs = arrow_directions(layer.exact)
    assert np.mean(np.sum(vel_dirs * expected, 1)) > 0.999
    assert np.mean(np.sum(vel_dirs * score_dirs, 1)) < 0.99     # a different field than the score
    img = w.field_view.grab().toImage()
    assert img != score_img                                      # and it is what is painted


def wait_reflow(qtbot, w, timeout=90_000):
    qtbot.waitUntil(lambda: not w.reflow.is_running(), timeout=timeout)


def test_reflow_action_runs_and_the_compare_dock_offers_both_models(qtbot, window):
    w = window
    combo = child(w, QComboBox, "objectiveCombo")
    pick(combo, next(combo.itemText(i) for i in range(combo.count()) if "flow matching" in combo.itemText(i)))
    qtbot.mouseClick(child(w, QPushButton, "trainButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.state.training.step >= 30, timeout=40_000)
    qtbot.mouseClick(child(w, QPushButton, "trainButton"), Qt.MouseButton.LeftButton)
    score0 = child(w, QComboBox, "compareScore0")
    assert score0.findText("reflowed model") < 0
    w.reflow.configure(pairs=400, ode_steps=8, steps=40)
    w.findChild(QAction, "reflowAction").trigger()
    assert w.reflow.is_running()
    wait_reflow(qtbot, w)
    status = child(w, QLabel, "reflowStatus").text()
    assert "1-rectified" in status and "no exact counterpart" in status
    assert score0.findText("reflowed model") >= 0 and score0.findText("base model") >= 0
    assert "reflow" in w.explanation.plain_text().lower()

    qtbot.mouseClick(child(w, QPushButton, "compareReflowButton"), Qt.MouseButton.LeftButton)
    assert w.state.settings.schedule == "flow" and child(w, QSpinBox, "panelCountSpin").value() == 4
    child(w, QSpinBox, "compareParticles").setValue(300)
    with qtbot.waitSignal(w.comparison.runFinished, timeout=60_000):
        qtbot.mouseClick(child(w, QPushButton, "compareRunButton"), Qt.MouseButton.LeftButton)
    first = [w.comparison.panel_frames(i)[0] for i in range(4)]
    for f in first[1:]:
        assert_same_noise(first[0], f)                                   # the same noise in every panel
    assert "no exact counterpart" in child(w, QLabel, "compareLabel1").text()
    assert "no exact counterpart" not in child(w, QLabel, "compareLabel0").text()
    base, reflowed = w.comparison.panel_result(0), w.comparison.panel_result(1)
    assert 0 < base.straightness <= 1 and 0 < reflowed.straightness <= 1
    assert len(w.comparison.panel_frames(2)) == 2                        # one step: noise and sample

    pick(score0, "reflowed model")                                        # learned + exact on a reflowed model
    qtbot.mouseClick(child(w, QPushButton, "compareLearnedExactButton"), Qt.MouseButton.LeftButton)
    assert child(w, QComboBox, "compareScore1").currentText() == "base model"
    assert "no exact counterpart" in child(w, QLabel, "banner").text()


def test_reflow_cancels_and_a_new_target_forgets_the_reflowed_models(qtbot, window):
    w = window
    w.reflow.configure(pairs=400, ode_steps=8, steps=20)
    qtbot.mouseClick(child(w, QPushButton, "reflowButton"), Qt.MouseButton.LeftButton)
    wait_reflow(qtbot, w)
    assert child(w, QComboBox, "compareScore0").findText("reflowed model") >= 0
    w.reflow.configure(pairs=60_000, ode_steps=200, steps=5000)         # long: cancelled long before its end
    qtbot.mouseClick(child(w, QPushButton, "reflowButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.reflow.phase == "running", timeout=10_000)
    qtbot.mouseClick(child(w, QPushButton, "reflowCancelButton"), Qt.MouseButton.LeftButton)
    wait_reflow(qtbot, w, timeout=20_000)
    assert "cancelled" in child(w, QLabel, "reflowStatus").text()
    assert w.reflow.result is not None                                  # the earlier result stays
    pick(child(w, QComboBox, "presetCombo"), "two_moons")
    assert child(w, QComboBox, "compareScore0").findText("reflowed model") < 0
    assert not child(w, QPushButton, "compareReflowButton").isEnabled()
