"""Editing a large sketch stays interactive: the particle view shows an edit right after the mouse
event (the density drawn from the document), the compile runs off the GUI thread, the newest edit
wins, and the picture left on screen is the exact compiled target's density (no stale preview).
The grid sum behind it is tested in tests/maths/test_grid_density.py, the fast check of a sketch's
points in tests/formats/test_presets_validation.py."""
import threading

import numpy as np
import pytest
import torch

from playground.formats.drawing import SketchDocument
from playground.maths.likelihood import grid_points


def test_preview_mixture_is_the_compiled_one():
    from playground.app.features.editing.edit_preview import sketch_mixture
    rng = np.random.default_rng(0)
    doc = SketchDocument()
    with doc.edit():
        doc.spray((0.5, 0.5), 1.0, 200, rng)
        doc.add_gaussian((1, -1), cov=[[0.3, 0.1], [0.1, 0.2]], weight=2.5)
        doc.add_gaussian((-2, 1), std=0.4, weight=0.5)
    doc.set_points_weight(3.0)
    doc.set_bandwidth(0.2)
    exact = doc.to_preset().target.mixture
    fast = sketch_mixture(doc.state)
    for a, b in ((fast.weights, exact.weights), (fast.means, exact.means), (fast.covs, exact.covs)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-15)
    assert sketch_mixture(SketchDocument().state) is None


# ----- the window ------------------------------------------------------------------------------------
pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from tests.helpers import WAIT_MS  # noqa: E402


def _pixels(qimg) -> np.ndarray:
    """(h, w, 4) bytes of a QImage in ARGB32."""
    from PySide6.QtGui import QImage
    img = qimg.convertToFormat(QImage.Format.Format_ARGB32)
    arr = np.frombuffer(img.constBits(), np.uint8, count=img.sizeInBytes())
    return arr.reshape(img.height(), img.bytesPerLine() // 4, 4)[:, :img.width()].copy()


def _press_release(view, at):
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication
    vp = view.viewport()
    p = QPointF(view.mapFromScene(view.getPlotItem().vb.mapViewToScene(QPointF(*at))))
    for kind, buttons in ((QEvent.Type.MouseButtonPress, Qt.MouseButton.LeftButton),
                          (QEvent.Type.MouseButtonRelease, Qt.MouseButton.NoButton)):
        QApplication.sendEvent(vp, QMouseEvent(kind, p, QPointF(vp.mapToGlobal(p.toPoint())), Qt.MouseButton.LeftButton,
                                               buttons, Qt.KeyboardModifier.NoModifier))
    return p


@pytest.fixture
def sketch_window(qtbot, window):
    """The window on a 1000-point sketch, in edit mode with the brush."""
    from PySide6.QtWidgets import QPushButton
    from tests.helpers import child
    from playground.app.bench.bench_window import _sketch_preset
    w = window
    w.apply_preset(_sketch_preset(1000, seed=0), "sketch")
    child(w, QPushButton, "editModeButton").click()
    child(w, QPushButton, "brushToolButton").click()
    qtbot.waitUntil(lambda: len(w.target_editor.doc.points) == 1000 and w.target_editor.applier.pending is None,
                    timeout=WAIT_MS)          # the sketch is loaded for editing and nothing is compiling
    assert len(w.target_editor.doc.points) == 1000 and w.target_editor.applier.pending is None
    return w


def test_the_view_shows_a_dab_at_once_and_ends_on_the_exact_density(qtbot, sketch_window, monkeypatch):
    from playground.app.widgets.backdrop import density_qimage, faint_lut
    from playground.maths.grids.noised import EXACT_RES, grid_image
    w, view = sketch_window, sketch_window.particle_view
    compiled_in = []
    real = SketchDocument.to_preset
    monkeypatch.setattr(SketchDocument, "to_preset",
                        lambda self, *a, **k: compiled_in.append(threading.current_thread()) or real(self, *a, **k))
    before_preset, before_grab = w.current_preset(), _pixels(view.grab().toImage())
    before_backdrop = _pixels(view.backdrop()[0])
    at = (2.4, 2.6)                                  # a sparse corner of the N(0, 1.2²) sketch
    p = _press_release(view, at)
    after_grab = _pixels(view.grab().toImage())      # no event processed in between
    assert w.current_preset() is before_preset       # the compile has not landed yet...
    dpr = view.grab().devicePixelRatio()
    x, y, r = int(p.x() * dpr), int(p.y() * dpr), int(25 * dpr)
    box = (slice(max(y - r, 0), y + r), slice(max(x - r, 0), x + r))
    changed = np.abs(after_grab[box].astype(int) - before_grab[box].astype(int)).max(-1) > 8
    assert changed.sum() > 40                        # ...yet the view shows the dab
    res, (x0, x1), (y0, y1) = EXACT_RES, w.state.view["xlim"], w.state.view["ylim"]
    col, row = int((at[0] - x0) / (x1 - x0) * res), int((y1 - at[1]) / (y1 - y0) * res)
    near = (slice(row - 2, row + 3), slice(col - 2, col + 3))
    assert _pixels(view.backdrop()[0])[near][..., :3].mean() > before_backdrop[near][..., :3].mean() + 10

    qtbot.waitUntil(lambda: w.current_preset() is not before_preset, timeout=10_000)
    target = w.current_preset().target
    assert len(target.mixture) == len(w.target_editor.doc.points) == 1000 + 10      # density 40 × radius 0.25
    assert compiled_in and threading.main_thread() not in compiled_in
    pts = torch.as_tensor(grid_points(w.state.view, res))
    lp = target.log_prob(pts).numpy().reshape(res, res)          # the mixture's own log-sum-exp
    want = _pixels(density_qimage(grid_image(lp), faint_lut()))

    def exact_on_screen():
        backdrop = view.backdrop()
        shown = None if backdrop is None else _pixels(backdrop[0]).astype(int)
        return shown is not None and shown.shape == want.shape and np.abs(shown - want.astype(int)).max() <= 1
    qtbot.waitUntil(exact_on_screen, timeout=WAIT_MS)              # the compiled density replaces the preview
    assert np.abs(_pixels(view.backdrop()[0]).astype(int) - want.astype(int)).max() <= 1


def test_rapid_edits_apply_only_the_newest_drawing(qtbot, sketch_window):
    w, view = sketch_window, sketch_window.particle_view
    applied = []
    w.state.presetChanged.connect(lambda preset, key: applied.append(preset))
    for at in ((-2.5, 2.5), (2.5, -2.5), (2.5, 2.5)):
        _press_release(view, at)                     # no events in between: each edit supersedes the last
    qtbot.waitUntil(lambda: w.target_editor.applier.pending is None and bool(applied), timeout=10_000)
    qtbot.wait(200)     # negative check, nothing to wait for: no older drawing lands after the newest
    assert len(applied) == 1
    assert len(applied[0].target.mixture) == len(w.target_editor.doc.points) == 1030


def test_a_target_picked_while_a_drawing_compiles_is_kept(qtbot, sketch_window):
    w, view = sketch_window, sketch_window.particle_view
    _press_release(view, (2.5, 2.5))
    w.set_preset("two_moons")                        # before the compiled drawing arrives
    qtbot.waitUntil(lambda: not w.target_editor.applier.runner.busy, timeout=WAIT_MS)    # the compile has ended
    qtbot.wait(50)      # negative check: its result, handed over one event-loop pass later, must not land
    assert w.current_preset().spec["kind"] != "sketch" and w.target_editor.applier.pending is None
