"""The Guidance section with real widgets: classes listed, a guided run that lands in the chosen
face (checked in the painted particle view), the learned path at two evaluations per step, and
the message when the model is unconditional."""
import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QPushButton, QSlider, QSpinBox  # noqa: E402

from tests.helpers import bright_pixels, child, click  # noqa: E402
from playground.maths.guidance import ExactGuidedSource, GuidedSource  # noqa: E402
from playground.maths.targets import dice_layout  # noqa: E402

pytestmark = pytest.mark.window(particles=1000, steps=15)


def wait_for_guided_frames(qtbot, w, kind, timeout=60_000):
    qtbot.waitUntil(lambda: isinstance(w.last_sampling_source, kind) and w.current_frames() is not None
                    and w.guidance_panel.last_result is not None, timeout=timeout)
    return w.current_frames()


def test_class_combo_lists_the_dice_faces_and_slider_shows_w(window, qtbot):
    combo = child(window, QComboBox, "classCombo")
    assert [combo.itemText(i) for i in range(combo.count())] == [f"face {k}" for k in range(1, 7)]
    slider = child(window, QSlider, "guidanceSlider")
    assert (slider.minimum(), slider.maximum()) == (0, 100)
    slider.setValue(35)
    assert child(window, QLabel, "guidanceLabel").text() == "w = 3.5"
    for name, cls in (("conditionalCheck", QCheckBox), ("exactGuidedCheck", QCheckBox),
                      ("guidedSampleButton", QPushButton), ("classCombo", QComboBox), ("guidanceSlider", QSlider)):
        assert child(window, cls, name).toolTip()
    window.set_preset("two_moons")
    assert [combo.itemText(i) for i in range(combo.count())] == ["upper moon", "lower moon"]


def test_exact_guided_sample_lands_in_the_selected_face(window, qtbot):
    combo = child(window, QComboBox, "classCombo")
    combo.setCurrentIndex(2)                                   # face 3
    click(qtbot, child(window, QCheckBox, "exactGuidedCheck"))
    assert window.guidance_panel.exact_check.isChecked()
    click(qtbot, child(window, QPushButton, "guidedSampleButton"))
    frames = wait_for_guided_frames(qtbot, window, ExactGuidedSource)
    target = window.current_preset().target
    assert (target.classify(frames.x[-1]) == 2).mean() >= 0.97
    assert window.guidance_panel.last_result["fraction"] >= 0.97
    assert "face 3" in child(window, QLabel, "guidanceResultLabel").text()
    window.set_playing(False)
    window.show_frame(len(frames) - 1)
    centres = dice_layout(2.2)
    in_face = bright_pixels(window.particle_view, centres[2])
    assert in_face > 50
    assert all(bright_pixels(window.particle_view, centres[k]) < 0.02 * in_face for k in (0, 5))


def test_unconditional_model_gets_a_clear_message(window, qtbot):
    qtbot.waitUntil(lambda: window.train_worker.trainer is not None, timeout=20_000)
    before = window.current_frames()
    click(qtbot, child(window, QPushButton, "guidedSampleButton"))
    assert "train a conditional model first" in window.banner.text()
    qtbot.wait(300)     # negative check, nothing to wait for: no sampler run starts
    assert window.current_frames() is before


def test_conditional_check_rebuilds_and_the_learned_guided_run_costs_two_evaluations(window, qtbot):
    qtbot.waitUntil(lambda: window.train_worker.trainer is not None, timeout=20_000)
    click(qtbot, child(window, QCheckBox, "conditionalCheck"))
    qtbot.waitUntil(lambda: window.train_worker.trainer is not None
                    and window.train_worker.trainer.model.config.n_classes == 6, timeout=20_000)
    assert window.train_worker.trainer.config.conditional
    child(window, QSlider, "guidanceSlider").setValue(30)
    click(qtbot, child(window, QPushButton, "guidedSampleButton"))
    frames = wait_for_guided_frames(qtbot, window, GuidedSource)
    assert window.last_sampling_source.scale == 3.0
    steps = window.findChild(QSpinBox, "stepsSpin").value()
    assert frames.nfe[-1] == 2 * (2 * steps - 1)             # ode-heun: 2K-1 evaluations, each guided twice
    assert np.isfinite(frames.x[-1]).all()
    # the plain Sample button is still unconditional (one evaluation per call)
    click(qtbot, child(window, QPushButton, "sampleButton"))
    qtbot.waitUntil(lambda: window.current_frames() is not frames, timeout=30_000)
    assert window.current_frames().nfe[-1] == 2 * steps - 1
    # unticking rebuilds an unconditional model
    click(qtbot, child(window, QCheckBox, "conditionalCheck"))
    qtbot.waitUntil(lambda: window.train_worker.trainer.model.config.n_classes == 0, timeout=20_000)


def test_overlay_shows_the_class_density_and_state_round_trips(window, qtbot):
    panel = window.guidance_panel
    click(qtbot, child(window, QCheckBox, "conditionalOverlayCheck"))
    assert panel.overlay.isVisible()
    child(window, QComboBox, "classCombo").setCurrentIndex(5)
    img = panel.overlay.image
    # the overlay peaks at face 6 and is zero at face 1
    centres = dice_layout(2.2)
    xs = np.linspace(-4, 4, img.shape[0])
    ij = lambda c: (np.abs(xs - c[0]).argmin(), np.abs(xs - c[1]).argmin())   # noqa: E731
    assert img[ij(centres[5])] > 0.9 and img[ij(centres[0])] < 1e-6
    state = panel.get_state()
    assert state["class"] == 5 and state["overlay"] is True
    panel.set_state({"class": 1, "scale": 4.2, "exact": True, "overlay": False})
    assert panel.label() == 1 and panel.scale() == 4.2 and panel.exact_check.isChecked()
    assert not panel.overlay.isVisible()
