"""Issue 15 in the window, with real widgets: gradient estimation's own options (γ, μ), classifier
guidance (exact and learned) from the Guidance section, and the ELBO beside the NLL in the
Likelihood tab."""
import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, Qt  # noqa: E402
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QPushButton, QSpinBox  # noqa: E402

from helpers import child, pick, shown_window  # noqa: E402


@pytest.fixture
def window(qtbot):
    w = shown_window(qtbot)
    w.findChild(QSpinBox, "particlesSpin").setValue(500)
    w.findChild(QSpinBox, "stepsSpin").setValue(10)
    yield w
    w.shutdown()
    w.close()


def click(qtbot, widget):
    widget.window().controls_dock.widget().ensureWidgetVisible(widget)
    qtbot.wait(20)
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=widget.rect().center())


def type_value(qtbot, spin, text):
    """Select the spin box's text and type a new value, as a user would."""
    spin.window().controls_dock.widget().ensureWidgetVisible(spin)
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, text)
    qtbot.keyClick(spin, Qt.Key.Key_Enter)


def sample_and_wait(qtbot, w):
    before = w.current_frames()
    click(qtbot, child(w, QPushButton, "sampleButton"))
    qtbot.waitUntil(lambda: w.current_frames() is not None and w.current_frames() is not before, timeout=30_000)
    return w.current_frames()


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
