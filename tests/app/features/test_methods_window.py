"""Issue 15 in the window, with real widgets: gradient estimation's own options (γ, μ), classifier
guidance (exact and learned) from the Guidance section, and the ELBO beside the NLL in the
Likelihood tab."""
import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, Qt  # noqa: E402
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLabel, QPushButton, QSlider, QSpinBox  # noqa: E402
from pyqtgraph import PlotWidget  # noqa: E402

from tests.helpers import child, click, pick, sample_and_wait  # noqa: E402

pytestmark = pytest.mark.window(particles=500, steps=10)


def type_value(qtbot, spin, text):
    """Select the spin box's text and type a new value, as a user would."""
    spin.window().controls_dock.widget().ensureWidgetVisible(spin)
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, text)
    qtbot.keyClick(spin, Qt.Key.Key_Enter)


def test_gamma_and_mu_belong_to_gradient_estimation_and_reach_the_sampler(window, qtbot):
    qtbot.waitUntil(lambda: window.train_worker.trainer is not None, timeout=20_000)
    gamma, mu = child(window, QDoubleSpinBox, "gammaSpin"), child(window, QDoubleSpinBox, "muSpin")
    combo = child(window, QComboBox, "samplerCombo")
    pick(combo, "ddim")
    assert not gamma.isVisible() and not mu.isVisible() and not gamma.isEnabled()
    ddim = sample_and_wait(qtbot, window).x[-1]
    pick(combo, "gradient-estimation")
    assert gamma.isVisible() and mu.isVisible() and gamma.isEnabled() and mu.isEnabled()
    assert (gamma.value(), mu.value()) == (2.0, 0.0)
    assert mu.maximum() < 1.0 and mu.minimum() == 0.0          # μ in [0, 1)
    type_value(qtbot, mu, "1.5")
    assert mu.value() < 1.0
    type_value(qtbot, mu, "0")
    default = sample_and_wait(qtbot, window)
    assert default.sampler == "gradient-estimation" and len(default) == 11
    assert np.abs(default.x[-1] - ddim).max() > 1e-3             # γ = 2 is not DDIM
    type_value(qtbot, gamma, "1")
    assert window.state.settings.gamma == 1.0 and window.state.settings.mu == 0.0
    plain = sample_and_wait(qtbot, window).x[-1]
    assert np.abs(plain - ddim).max() < 1e-3                     # γ = 1, μ = 0 is DDIM: the options arrived
    type_value(qtbot, mu, "0.5")
    assert window.state.settings.to_json()["mu"] == 0.5           # sessions keep them
    assert np.all(np.isfinite(sample_and_wait(qtbot, window).x[-1]))
    assert not window.banner.isVisible(), window.banner.text()


def guided_run(qtbot, w, kind_text, label, slider_value=10):
    panel = w.guidance_panel
    pick(child(w, QComboBox, "guidanceKindCombo"), kind_text)
    child(w, QComboBox, "classCombo").setCurrentIndex(label)
    w.findChild(QSlider, "guidanceSlider").setValue(slider_value)
    panel.last_result = None
    click(qtbot, child(w, QPushButton, "guidedSampleButton"))
    qtbot.waitUntil(lambda: panel.last_result is not None, timeout=60_000)
    return panel.last_result


def test_exact_classifier_guidance_from_the_panel_is_pure(window, qtbot):
    from playground.maths.classifier_guidance import ClassifierGuidedSource, class_purity
    exact = child(window, QCheckBox, "exactGuidedCheck")
    window.controls_dock.widget().ensureWidgetVisible(exact)
    qtbot.mouseClick(exact, Qt.MouseButton.LeftButton, pos=QPoint(8, exact.height() // 2))
    assert exact.isChecked()
    result = guided_run(qtbot, window, "classifier (exact)", 4)       # face 5 of loaded_dice
    assert isinstance(window.last_sampling_source, ClassifierGuidedSource)
    assert result["kind"] == "classifier-exact" and result["fraction"] >= 0.9
    target = window.current_preset().target
    assert class_purity(target, window.current_frames().x[-1], 4) >= 0.9
    chart = window.findChild(PlotWidget, "guidancePurityPlot")
    assert chart.latest["classifier-exact"] == (1.0, result["fraction"])
    free = guided_run(qtbot, window, "classifier-free", 4)           # exact parts: the two kinds agree
    assert abs(free["fraction"] - result["fraction"]) < 0.05
    assert chart.latest["cfg"][1] == free["fraction"] and chart.latest["classifier-exact"] is not None
    assert "classifier (exact)" in [chart.legend.items[i][1].text for i in range(len(chart.legend.items))]


def test_learned_classifier_trains_from_the_panel_and_guides(window, qtbot):
    box = window.guidance_panel.classifier_box
    exact = child(window, QCheckBox, "exactGuidedCheck")
    window.controls_dock.widget().ensureWidgetVisible(exact)
    qtbot.mouseClick(exact, Qt.MouseButton.LeftButton, pos=QPoint(8, exact.height() // 2))
    pick(child(window, QComboBox, "guidanceKindCombo"), "classifier (learned)")
    click(qtbot, child(window, QPushButton, "guidedSampleButton"))    # no classifier yet: a message, no run
    assert window.banner.isVisible() and "train the classifier" in window.banner.text()
    child(window, QSpinBox, "classifierStepsSpin").setValue(300)
    click(qtbot, child(window, QPushButton, "trainClassifierButton"))
    assert not child(window, QPushButton, "trainClassifierButton").isEnabled()   # runs off the GUI thread
    qtbot.waitUntil(lambda: box.result is not None, timeout=60_000)
    label = child(window, QLabel, "classifierAccuracyLabel").text()
    assert "accuracy" in label and "%" in label
    assert 0.5 < box.result["accuracy"] <= box.result["bayes_accuracy"] + 0.03
    x, losses = box.loss_curve.getData()
    assert len(losses) == 300 and np.mean(losses[-50:]) < np.mean(losses[:20])
    result = guided_run(qtbot, window, "classifier (learned)", 0, slider_value=20)
    assert result["kind"] == "classifier-learned" and result["fraction"] >= 0.7


def test_likelihood_tab_shows_the_elbo_above_the_nll_and_tightening_with_k(window, qtbot):
    panel = window.likelihood
    window.likelihood_dock.raise_()
    panel.nll_samples = 200
    child(window, QCheckBox, "likelihoodExactCheck").setChecked(True)
    child(window, QSpinBox, "likelihoodGridSpin").setValue(8)
    assert child(window, QCheckBox, "likelihoodElboCheck").isChecked()
    qtbot.mouseClick(child(window, QPushButton, "likelihoodRunButton"), Qt.MouseButton.LeftButton)
    assert panel.state == "running" and child(window, QPushButton, "likelihoodCancelButton").isEnabled()
    qtbot.waitUntil(lambda: panel.state == "idle", timeout=180_000)
    r = panel.result
    elbo, truth = r["elbo"], r["nll_true"]
    assert list(elbo) == [10, 100, 1000]
    assert -0.08 <= elbo[1000] - truth <= 0.25            # an upper bound, up to Monte Carlo noise
    assert elbo[1000] >= r["nll"] - 0.08
    assert elbo[10] > elbo[100] > elbo[1000]              # the bound tightens as K grows
    text = child(window, QLabel, "likelihoodElboLabel").text()
    assert f"{truth:.3f}" in text and f"{r['nll']:.3f}" in text and f"{elbo[1000]:.3f}" in text
    assert len(window.findChild(PlotWidget, "likelihoodElboPlot").getPlotItem().listDataItems()) == 2
    qtbot.mouseClick(child(window, QPushButton, "likelihoodRunButton"), Qt.MouseButton.LeftButton)
    qtbot.mouseClick(child(window, QPushButton, "likelihoodCancelButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.state == "idle", timeout=30_000)
    assert child(window, QLabel, "likelihoodNll").text() == "cancelled"
