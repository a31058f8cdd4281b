"""The analysis docks with real widgets: quality vs steps (run, cancel, export), likelihood
grids, the forward-process warning and the sampler explanation. Real workers, real painting."""
import csv

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDockWidget, QDoubleSpinBox, QLabel, QLineEdit,  # noqa: E402
                               QListWidget, QProgressBar, QPushButton, QSpinBox)

from tests.helpers import WAIT_MS, child  # noqa: E402
from playground.maths.samplers.explanations import EXPLANATIONS  # noqa: E402


def distinct_colours(widget) -> int:
    img = widget.grab().toImage()
    step = max(1, img.width() // 60)
    return len({img.pixel(x, y) for x in range(0, img.width(), step) for y in range(0, img.height(), step)})


def tick_only(listw: QListWidget, names):
    for i in range(listw.count()):
        it = listw.item(i)
        it.setCheckState(Qt.CheckState.Checked if it.data(Qt.ItemDataRole.UserRole) in names
                         else Qt.CheckState.Unchecked)


def test_widgets_exist_with_names_and_tooltips(window):
    for cls, name in ((QDockWidget, "qualityDock"), (QDockWidget, "likelihoodDock"), (QDockWidget, "forwardDock"),
                      (QDockWidget, "explanationDock"), (QListWidget, "qualitySamplers"), (QLineEdit, "qualitySteps"),
                      (QPushButton, "qualityRunButton"), (QPushButton, "qualityCancelButton"),
                      (QProgressBar, "qualityProgress"), (QPushButton, "likelihoodRunButton"),
                      (QLabel, "likelihoodNll"), (QSpinBox, "forwardStepsSpin"),
                      (QDoubleSpinBox, "forwardSigmaMaxSpin"), (QLabel, "forwardWarning")):
        child(window, cls, name)
    assert child(window, QLineEdit, "qualitySteps").text() == "1,2,5,10,20,50,100,200"
    for name in ("qualitySteps", "qualityRunButton", "qualityCancelButton", "likelihoodRunButton",
                 "forwardStepsSpin", "forwardSigmaMaxSpin", "qualityExportButton"):
        assert window.findChild(object, name).toolTip(), name


def test_quality_run_with_the_exact_score_draws_one_dashed_curve_per_sampler(window, qtbot, tmp_path):
    window.quality_dock.raise_()
    qtbot.waitUntil(lambda: window.quality.plot.width() > 200)      # laid out in its tab
    tick_only(child(window, QListWidget, "qualitySamplers"), ["ode-euler", "ddpm"])
    steps = child(window, QLineEdit, "qualitySteps")
    steps.clear()
    qtbot.keyClicks(steps, "1, 4,16")
    child(window, QCheckBox, "qualityLearnedCheck").setChecked(False)
    window.quality.particles.setValue(300)
    blank = distinct_colours(window.quality.plot)
    qtbot.mouseClick(child(window, QPushButton, "qualityRunButton"), Qt.MouseButton.LeftButton)
    assert window.quality.state == "running"
    qtbot.waitUntil(lambda: window.quality.state == "idle", timeout=120_000)
    r = window.quality.result
    assert r["steps"] == [1, 4, 16] and {x["sampler"] for x in r["results"]} == {"ode-euler", "ddpm"}
    assert all(x["score"] == "exact" for x in r["results"])
    for x in r["results"]:
        assert x["sw2"][-1] < x["sw2"][0]                       # exact score: more steps, better
    assert set(window.quality.curves) == {("ode-euler", "exact"), ("ddpm", "exact")}
    for item in window.quality.curves.values():
        xs, ys = item.getData()
        assert len(xs) == 3 and np.all(np.isfinite(ys))
        assert item.opts["pen"].style() == Qt.PenStyle.DashLine
    assert child(window, QProgressBar, "qualityProgress").value() == 1000
    assert distinct_colours(window.quality.plot) > blank + 3       # the curves were painted
    out = tmp_path / "q.csv"
    window.quality.export_csv(out)
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 6 and {row["sampler"] for row in rows} == {"ode-euler", "ddpm"}
    assert float(rows[0]["sw2"]) == pytest.approx(r["results"][0]["sw2"][0], rel=1e-5)


def test_quality_with_the_learned_score_uses_a_model_snapshot(window, qtbot):
    window.quality.particles.setValue(200)
    window.quality.run(["ode-euler"], [1, 3], ["learned"])
    assert window.quality.state in ("waiting", "running")
    qtbot.waitUntil(lambda: window.quality.state == "idle", timeout=120_000)
    r = window.quality.result
    assert [x["score"] for x in r["results"]] == ["model"]
    assert window.quality.curves[("ode-euler", "model")].opts["pen"].style() == Qt.PenStyle.SolidLine


def test_quality_cancel_mid_run_returns_to_idle_and_a_new_run_works(window, qtbot):
    window.quality.particles.setValue(2000)
    with qtbot.waitSignal(window.quality.runner.progress, timeout=WAIT_MS):     # the sweep has taken its first step
        window.quality.run(["ode-heun", "sde-euler", "ddpm"], [300, 600, 1000], ["exact"])
    assert window.quality.state == "running"
    cancel = child(window, QPushButton, "qualityCancelButton")
    assert cancel.isEnabled()
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.quality.state == "idle", timeout=10_000)
    assert window.quality.result is None
    assert window.quality.status.text() == "cancelled"
    assert child(window, QPushButton, "qualityRunButton").isEnabled()
    window.quality.particles.setValue(200)
    window.quality.run(["ode-euler"], [2], ["exact"])
    qtbot.waitUntil(lambda: window.quality.result is not None, timeout=60_000)


def test_quality_bad_steps_show_a_message_and_start_nothing(window, qtbot):
    steps = child(window, QLineEdit, "qualitySteps")
    steps.setText("1, two, 5")
    qtbot.mouseClick(child(window, QPushButton, "qualityRunButton"), Qt.MouseButton.LeftButton)
    assert window.quality.state == "idle"
    assert "two" in window.banner.text() and window.banner.isVisible()
    assert steps.text() == "1, two, 5"                              # the input is kept for fixing


def test_closing_during_a_quality_run_does_not_hang(qtbot, make_window):
    w = make_window(shown=False, size=None)
    with qtbot.waitSignal(w.quality.runner.progress, timeout=WAIT_MS):          # the run is under way
        w.quality.run(["ode-heun"], [1000], ["exact"])
    w.close()
    assert not w.quality.runner._thread.isRunning()


def test_likelihood_of_the_exact_score_matches_the_true_density(window, qtbot):
    window.likelihood_dock.raise_()
    window.likelihood.nll_samples = 40
    child(window, QCheckBox, "likelihoodExactCheck").setChecked(True)
    child(window, QSpinBox, "likelihoodGridSpin").setValue(8)
    qtbot.mouseClick(child(window, QPushButton, "likelihoodRunButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.likelihood.state == "idle", timeout=180_000)
    r = window.likelihood.result
    assert r["model"].shape == (8, 8)
    shown = r["exact"] > r["exact"].max() - 12
    assert np.abs(r["model"] - r["exact"])[shown].max() < 0.1
    assert abs(r["nll"] - r["nll_true"]) < 0.05
    text = child(window, QLabel, "likelihoodNll").text()
    assert "nats" in text and f"{r['nll_true']:.3f}" in text
    for plot in window.likelihood.plots:
        assert distinct_colours(plot) > 6


def test_forward_view_warns_for_a_small_sigma_max(window, qtbot):
    fw = window.forward
    qtbot.waitUntil(lambda: not fw.debounce.isActive(), timeout=WAIT_MS)   # the first target's debounce has fired:
    assert fw.check is None             # a tab behind the loss curve computes nothing
    window.forward_dock.raise_()
    qtbot.waitUntil(lambda: fw.check is not None, timeout=5000)
    warning = child(window, QLabel, "forwardWarning")
    assert fw.check.ok and warning.isHidden()
    spin = child(window, QDoubleSpinBox, "forwardSigmaMaxSpin")
    spin.setValue(1.0)
    qtbot.waitUntil(lambda: not warning.isHidden(), timeout=5000)
    assert "σ_max" in warning.text()
    spin.setValue(80.0)
    qtbot.waitUntil(lambda: warning.isHidden(), timeout=5000)
    child(window, QSpinBox, "forwardStepsSpin").setValue(2)
    qtbot.waitUntil(lambda: not warning.isHidden(), timeout=5000)
    assert "first step" in warning.text()


def test_forward_slider_scrubs_from_data_to_noise_and_paints(window, qtbot):
    fw = window.forward
    window.forward_dock.raise_()
    qtbot.waitUntil(lambda: fw.check is not None, timeout=5000)
    fw.steps.setValue(10)
    fw.refresh()
    fw.slider.setValue(0)
    x0 = fw.scatter.getData()[0].copy()
    fw.slider.setValue(fw.slider.maximum())
    xt = fw.scatter.getData()[0]
    assert abs(np.std(xt) - 1.0) < 0.1 and abs(np.std(x0) - 1.0) > 0.2
    assert "t = " in fw.frame_label.text()
    assert distinct_colours(fw.view) > 3 and distinct_colours(fw.schedule_plot) > 5
    qtbot.mouseClick(fw.play_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not fw.play_button.isChecked(), timeout=5000)    # played to the end
    assert fw.frame == len(fw.frames) - 1


def test_explanation_follows_the_sampler_combo(window, qtbot):
    label = child(window, QLabel, "explanationText")
    combo = child(window, QComboBox, "samplerCombo")
    seen = set()
    for name in ("langevin", "ddim", "dpm-solver++"):
        combo.setCurrentIndex(combo.findData(name))
        assert EXPLANATIONS[name].label.split(" (")[0] in label.text()
        seen.add(label.text())
    assert len(seen) == 3
    assert EXPLANATIONS["dpm-solver++"].look_for in window.explanation.plain_text()
    assert distinct_colours(window.explanation) > 2
