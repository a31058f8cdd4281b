"""The coupling in the window: the combo beside the objective, the Pairing tab that draws one batch's
pairs (OT pairs are shorter than independent ones), the running trainer following the combo, and
independent vs OT models side by side in Compare in one click."""
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QComboBox, QPushButton    # noqa: E402

from tests.helpers import WAIT_MS, assert_same_noise, child, click, pick   # noqa: E402


def mean_pair_length(panel) -> float:
    a, b = panel.pairs
    return float(((a - b) ** 2).sum(1).mean())


def test_flipping_the_coupling_untangles_the_drawn_pairs_and_reaches_the_trainer(qtbot, make_window):
    w = make_window(preset="eight_gaussians")
    combo = child(w, QComboBox, "couplingCombo")
    assert not combo.isEnabled()                                  # score matching pairs nothing
    pick(child(w, QComboBox, "objectiveCombo"), "flow matching (fm)")
    assert combo.isEnabled()
    panel = w.features["pairing"]
    w.ui.show_dock("pairing")
    qtbot.waitUntil(lambda: panel.pairs is not None, timeout=WAIT_MS)
    independent = mean_pair_length(panel)
    combo.setCurrentIndex(combo.findData("ot"))
    assert w.state.settings.coupling == "ot"
    ot = mean_pair_length(panel)
    assert ot < 0.5 * independent                                 # the lines untangle: much shorter pairs
    assert "ot:" in panel.batch_label.text()
    qtbot.waitUntil(lambda: w.train_worker.trainer is not None
                    and w.train_worker.trainer.config.coupling == "ot", timeout=WAIT_MS)


def test_train_both_then_compare_independent_and_ot_in_one_click(qtbot, make_window, monkeypatch):
    from playground.app.features.coupling import pairing_view
    monkeypatch.setattr(pairing_view, "BOTH_STEPS", 30)
    w = make_window(preset="two_moons")
    w.ui.show_dock("pairing")
    click(qtbot, child(w, QPushButton, "couplingTrainButton"))
    qtbot.waitUntil(lambda: w.state.coupling_models is not None, timeout=60_000)
    assert set(w.state.coupling_models) == {"independent model", "OT model"}
    button = child(w, QPushButton, "compareCouplingButton")
    assert button.isEnabled()
    with qtbot.waitSignal(w.comparison.runFinished, timeout=60_000):
        w.comparison.couplings_vs_reflow(1)
    scores = [w.comparison.panel_result(i).spec.score for i in range(2)]
    assert scores == ["independent model", "OT model"] and w.state.settings.schedule == "flow"
    first = [w.comparison.panel_frames(i)[0] for i in range(2)]
    assert_same_noise(first[0], first[1])                         # the same noise in both panels
    w.set_preset("eight_gaussians")                               # models of the old target are dropped
    assert w.state.coupling_models is None and not button.isEnabled()
