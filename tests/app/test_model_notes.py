"""The field view marks an untrained model; far-away samples raise a banner warning; the preset
description wraps."""
import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton

from tests.helpers import child, sample_and_wait


def _title(plot) -> str:
    return plot.getPlotItem().titleLabel.text


def test_untrained_marker_goes_after_first_training_step(qtbot, make_window):
    w = make_window()
    field = child(w, pg.PlotWidget, "fieldView")
    assert "untrained model" in _title(field)
    button = child(w, QPushButton, "trainButton")
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.state.training.step > 0, timeout=30_000)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)            # pause
    qtbot.waitUntil(lambda: "untrained" not in _title(field), timeout=5_000)
    w.state.new_generation()                                       # a fresh model is untrained again
    assert "untrained model" in _title(field)


def test_far_away_samples_warn_in_the_banner(qtbot, make_window):
    from dataclasses import replace
    w = make_window(particles=200, steps=4)
    sample_and_wait(qtbot, w)
    banner = child(w, QLabel, "banner")
    assert "lie beyond" not in (banner.text() if banner.isVisible() else "")
    real = w.current_frames()
    x = np.zeros((200, 2), np.float32)
    x[:6] = 1e6                                                    # 3% far beyond the target's range
    w.state.set_run(replace(real, x=[*real.x[:-1], x]))
    qtbot.waitUntil(banner.isVisible, timeout=2_000)
    assert "3% of the samples lie beyond 10x the target's range" in banner.text()
    assert "lie beyond" in w.statusBar().currentMessage()
