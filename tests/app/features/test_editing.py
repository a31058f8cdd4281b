"""Edit mode on the particle view, driven by real mouse, wheel and key events (pytest-qt, offscreen):
what is drawn becomes the exact target the window trains on, undo/redo, warm start, painting."""
import math

import numpy as np
import pytest
import torch

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QColor, QWheelEvent  # noqa: E402
from PySide6.QtWidgets import QApplication, QDoubleSpinBox, QPushButton  # noqa: E402

from tests.helpers import child, click_button, wait_painted  # noqa: E402
from playground.formats.presets import load_preset, save_preset  # noqa: E402

LEFT = Qt.MouseButton.LeftButton
NOMOD = Qt.KeyboardModifier.NoModifier

pytestmark = pytest.mark.window(activate=True)       # the active window: Ctrl+Z and Delete reach it


def to_px(view, x, y) -> QPoint:
    return view.mapFromScene(view.getPlotItem().vb.mapViewToScene(QPointF(x, y)))


def settled(qtbot, w):
    """The window's target once the last edit's compiled drawing has landed (it is compiled off
    the GUI thread; the view shows the edit at once)."""
    qtbot.waitUntil(lambda: w.target_editor.applier.pending is None, timeout=10_000)
    return w.current_preset()


def target_of(w, which):
    return w.particle_view if which == "view" else w.particle_view.viewport()


def drag(qtbot, widget, view, path):
    """Press at path[0], move through the rest, release at the last point (data coordinates)."""
    qtbot.mousePress(widget, LEFT, NOMOD, to_px(view, *path[0]))
    for p in path[1:]:
        qtbot.mouseMove(widget, to_px(view, *p))
    qtbot.mouseRelease(widget, LEFT, NOMOD, to_px(view, *path[-1]))


def wheel(widget, view, at, notches):
    pos = QPointF(to_px(view, *at))
    ev = QWheelEvent(pos, QPointF(widget.mapToGlobal(pos.toPoint())), QPoint(0, 0), QPoint(0, 120 * notches),
                     Qt.MouseButton.NoButton, NOMOD, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, ev)


def start_editing(qtbot, w, tool):
    """Edit mode on an empty canvas with the given tool."""
    click_button(qtbot, w, "editModeButton")
    assert child(w, QPushButton, "editModeButton").isChecked()
    click_button(qtbot, w, "clearButton")
    assert w.target_editor.doc.is_empty
    click_button(qtbot, w, f"{tool}ToolButton")


def seg_dist(p, a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    t = np.clip(((p - a) @ (b - a)) / np.dot(b - a, b - a), 0, 1)
    return np.linalg.norm(p - (a + t[:, None] * (b - a)), axis=1)


@pytest.mark.parametrize("which", ["view", "viewport"])
def test_brush_stroke_puts_the_target_along_the_stroke(qtbot, window, which):
    w, view = window, window.particle_view
    start_editing(qtbot, w, "brush")
    child(w, QDoubleSpinBox, "brushRadiusSpin").setValue(0.2)
    child(w, QDoubleSpinBox, "brushDensitySpin").setValue(30)
    range_before = view.getPlotItem().vb.viewRange()
    drag(qtbot, target_of(w, which), view, [(x, 0.0) for x in np.linspace(-2, 2, 9)])
    assert view.getPlotItem().vb.viewRange() == range_before      # the drag drew, it did not pan
    pts = w.target_editor.doc.points
    assert 100 <= len(pts) <= 140, len(pts)                            # 30 per unit over 4 units
    slack = 0.03                                                       # a pixel of mouse rounding
    assert np.all(seg_dist(pts, (-2, 0), (2, 0)) <= 0.2 + slack)
    assert pts[:, 0].min() < -1.7 and pts[:, 0].max() > 1.7
    assert np.histogram(pts[:, 0], bins=4, range=(-2.2, 2.2))[0].min() >= 15
    preset = settled(qtbot, w)
    assert preset.spec["kind"] == "sketch" and preset.name == "Sketch"
    x = preset.target.sample(4000, seed=0).numpy()
    d = seg_dist(x, (-2, 0), (2, 0))
    h = w.target_editor.doc.bandwidth
    assert np.quantile(d, 0.99) < 0.2 + slack + 3.5 * h
    assert abs(x[:, 0].mean()) < 0.2 and x[:, 0].std() > 0.9            # along the whole stroke
    # the eraser, dragged across the middle, removes exactly the points it passed over
    click_button(qtbot, w, "eraserToolButton")
    child(w, QDoubleSpinBox, "brushRadiusSpin").setValue(0.4)
    before = w.target_editor.doc.points.copy()
    drag(qtbot, target_of(w, which), view, [(0.0, 1.0), (0.0, -1.0)])
    after = w.target_editor.doc.points
    gone = seg_dist(before, (0, 1), (0, -1)) <= 0.4
    assert len(after) > 0 and abs(len(after) - (len(before) - gone.sum())) <= 3     # a pixel of rounding
    assert np.all(seg_dist(after, (0, 1), (0, -1)) > 0.4 - slack)
    assert len(settled(qtbot, w).target.mixture) == len(after)
    # each stroke is one undo step
    click_button(qtbot, w, "undoButton")
    assert len(settled(qtbot, w).target.mixture) == len(before)
    click_button(qtbot, w, "undoButton")
    assert settled(qtbot, w).is_empty


def test_loaded_dice_is_edited_exactly_face_by_face(qtbot, window):
    w, view = window, window.particle_view
    original = settled(qtbot, w).target.mixture
    assert len(original) == 6
    click_button(qtbot, w, "gaussianToolButton")
    click_button(qtbot, w, "editModeButton")
    ed = w.target_editor
    assert len(ed.doc.gaussians) == 6 and len(ed.doc.points) == 0
    face1 = original.means[0].numpy()
    drag(qtbot, view.viewport(), view, [tuple(face1), (0.0, 0.5)])
    mix = settled(qtbot, w).target.mixture
    assert len(mix) == 6
    np.testing.assert_allclose(mix.means[0].numpy(), [0.0, 0.5], atol=0.03)
    for a, b in ((mix.means[1:], original.means[1:]), (mix.covs, original.covs), (mix.weights, original.weights)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-15)
    assert len(ed.handle_item.data) == 6 * 5 + 1      # every face: centre and 4 axis ends; rotation: selected


def test_large_anisotropic_target_shows_handles_only_for_the_selection(qtbot, window):
    from playground.formats.presets import preset_from_json
    rng = np.random.default_rng(0)
    comps = [{"weight": 1.0, "mean": rng.uniform(-3, 3, 2).tolist(), "cov": [[0.05, 0.01], [0.01, 0.02]]}
             for _ in range(40)]
    p = preset_from_json({"name": "many", "target": {"kind": "mixture", "components": comps}})
    w, view = window, window.particle_view
    w.apply_preset(p, key="many")
    click_button(qtbot, w, "gaussianToolButton")
    click_button(qtbot, w, "editModeButton")
    ed = w.target_editor
    assert len(ed.doc.gaussians) == 40 and len(ed.handle_item.data) == 0
    qtbot.mouseClick(view.viewport(), LEFT, NOMOD, to_px(view, *comps[7]["mean"]))
    assert ed.selected == 7 and len(ed.handle_item.data) == 6
    assert settled(qtbot, w) is p                     # selecting is not an edit: the target is untouched


def test_place_drag_reshape_and_undo_a_gaussian(qtbot, window):
    w, view = window, window.particle_view
    ed = w.target_editor
    start_editing(qtbot, w, "gaussian")
    vp = view.viewport()
    qtbot.mouseClick(vp, LEFT, NOMOD, to_px(view, -1.0, 1.0))          # empty space: place one
    mix = settled(qtbot, w).target.mixture
    assert len(mix) == 1 and ed.selected == 0
    np.testing.assert_allclose(mix.means[0].numpy(), [-1, 1], atol=0.03)
    np.testing.assert_allclose(mix.covs[0].numpy(), np.eye(2) * 0.09, atol=1e-9)

    drag(qtbot, view, view, [(-1.0, 1.0), (0.0, 0.5), (1.5, -0.5)])    # press on the centre and drag
    mix = settled(qtbot, w).target.mixture
    assert len(mix) == 1
    new_mean = mix.means[0].numpy()
    np.testing.assert_allclose(new_mean, [1.5, -0.5], atol=0.03)
    x = torch.tensor([[0.0, 0.0], [3.0, 2.0]])
    s = settled(qtbot, w).target.score(x).numpy()
    to_mean = new_mean - x.numpy()
    cos = (s * to_mean).sum(1) / np.linalg.norm(s, axis=1) / np.linalg.norm(to_mean, axis=1)
    assert np.all(cos > 0.999), cos

    # stretch the major axis with its handle, then turn it with the rotation handle
    axis_end = ed.handles(0)[1].pos
    su, sv, angle = ed.doc.gaussians[0].axes()
    u = np.array([math.cos(angle), math.sin(angle)])
    drag(qtbot, vp, view, [tuple(axis_end), tuple(new_mean + 2 * 0.8 * u)])
    su2, sv2, _ = ed.doc.gaussians[0].axes()
    assert su2 == pytest.approx(0.8, abs=0.03) and sv2 == pytest.approx(0.3, abs=1e-6)
    rot = ed.handles(0)[5].pos
    r = np.linalg.norm(rot - new_mean)
    a0 = math.atan2(*(rot - new_mean)[::-1])
    drag(qtbot, vp, view, [tuple(rot), tuple(new_mean + r * np.array([math.cos(a0 + 1.0), math.sin(a0 + 1.0)]))])
    cov = settled(qtbot, w).target.mixture.covs[0].numpy()
    evals, evecs = np.linalg.eigh(cov)
    major_angle = math.atan2(evecs[1, 1], evecs[0, 1])
    turned = (major_angle - angle - 1.0 + math.pi / 2) % math.pi - math.pi / 2
    assert abs(turned) < 0.05 and math.sqrt(evals[1]) == pytest.approx(0.8, abs=0.03)

    # undo with Ctrl+Z three times: rotation, stretch, then the drag
    for _ in range(3):
        qtbot.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    mix = settled(qtbot, w).target.mixture
    np.testing.assert_allclose(mix.means[0].numpy(), [-1, 1], atol=0.03)
    np.testing.assert_allclose(mix.covs[0].numpy(), np.eye(2) * 0.09, atol=1e-9)
    qtbot.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    np.testing.assert_allclose(settled(qtbot, w).target.mixture.means[0].numpy(), new_mean, atol=1e-12)
    click_button(qtbot, w, "undoButton")
    np.testing.assert_allclose(settled(qtbot, w).target.mixture.means[0].numpy(), [-1, 1], atol=0.03)
    click_button(qtbot, w, "redoButton")
    np.testing.assert_allclose(settled(qtbot, w).target.mixture.means[0].numpy(), new_mean, atol=1e-12)

    # Delete removes the selected Gaussian: the canvas is empty again
    qtbot.mouseClick(vp, LEFT, NOMOD, to_px(view, *new_mean))
    assert ed.selected == 0
    qtbot.keyClick(w, Qt.Key.Key_Delete)
    assert settled(qtbot, w).is_empty


def test_weights_from_spin_and_wheel_show_in_the_samples(qtbot, window):
    w, view = window, window.particle_view
    ed = w.target_editor
    start_editing(qtbot, w, "gaussian")
    vp = view.viewport()
    qtbot.mouseClick(vp, LEFT, NOMOD, to_px(view, -2.0, 0.0))
    qtbot.mouseClick(view, LEFT, NOMOD, to_px(view, 2.0, 0.0))
    assert len(ed.doc.gaussians) == 2 and ed.selected == 1

    def right_fraction():
        x = settled(qtbot, w).target.sample(20000, seed=1).numpy()
        return float(np.mean(x[:, 0] > 0))

    assert right_fraction() == pytest.approx(0.5, abs=0.015)
    spin = child(w, QDoubleSpinBox, "weightSpin")
    assert spin.isEnabled() and spin.value() == 1.0
    spin.setValue(3.0)
    assert right_fraction() == pytest.approx(0.75, abs=0.015)
    # four wheel notches over the left one (not selected): it gets selected and weighs 1.15^4
    for _ in range(4):
        wheel(vp, view, (-2.0, 0.1), 1)
    assert ed.selected == 0
    wl = 1.15 ** 4
    assert ed.doc.gaussians[0].weight == pytest.approx(wl)
    assert spin.value() == pytest.approx(wl, abs=1e-3)
    assert right_fraction() == pytest.approx(3 / (3 + wl), abs=0.015)
    wheel(view, view, (0.0, 3.0), 2)               # over empty space: nothing changes
    assert ed.doc.gaussians[0].weight == pytest.approx(wl)


def test_drawn_sketch_saves_and_loads_to_identical_samples(qtbot, window, tmp_path):
    w, view = window, window.particle_view
    start_editing(qtbot, w, "brush")
    drag(qtbot, view.viewport(), view, [(-2, -2), (0, 1), (2, -2)])
    click_button(qtbot, w, "gaussianToolButton")
    qtbot.mouseClick(view.viewport(), LEFT, NOMOD, to_px(view, 0.0, -3.0))
    child(w, QDoubleSpinBox, "bandwidthSpin").setValue(0.1)
    p = settled(qtbot, w)
    assert len(p.target.mixture) == len(w.target_editor.doc.points) + 1
    assert p.target.mixture.covs[0, 0, 0].item() == pytest.approx(0.01)
    path = tmp_path / "drawn.json"
    save_preset(p, path)
    q = load_preset(path)
    assert q.spec["kind"] == "sketch"
    assert torch.equal(q.target.sample(5000, seed=3), p.target.sample(5000, seed=3))
    xs = torch.randn(200, 2)
    assert torch.equal(q.target.score(xs, 0.9, 0.4), p.target.score(xs, 0.9, 0.4))
    # loading it again through the window and entering edit mode gives back the same drawing
    w.set_preset(str(path))
    click_button(qtbot, w, "editModeButton")            # leave
    click_button(qtbot, w, "editModeButton")            # enter: loads the file's sketch
    np.testing.assert_array_equal(w.target_editor.doc.points, np.asarray(p.spec["points"]))


def test_edits_while_training_keep_the_trainer(qtbot, window):
    w, view = window, window.particle_view
    click_button(qtbot, w, "trainButton")
    qtbot.waitUntil(lambda: len(w.losses()) >= 40, timeout=60_000)
    trainer = w.train_worker.trainer
    step = trainer.step
    assert step > 0
    start_editing(qtbot, w, "gaussian")            # clearing empties the target: training pauses
    qtbot.mouseClick(view.viewport(), LEFT, NOMOD, to_px(view, 1.0, 1.0))
    click_button(qtbot, w, "brushToolButton")
    drag(qtbot, view.viewport(), view, [(-2, -1), (-1, -1)])
    if not w.train_button.isChecked():
        click_button(qtbot, w, "trainButton")
    assert w.train_button.isChecked()
    # the window's loss history lags the trainer by a chunk, so wait on the trainer's own count
    qtbot.waitUntil(lambda: w.train_worker.trainer is not trainer or trainer.step > step + 30, timeout=60_000)
    qtbot.waitUntil(lambda: w.train_worker.trainer.target.mixture is settled(qtbot, w).target.mixture,
                    timeout=10_000)
    assert w.train_worker.trainer is trainer                  # same weights and optimiser: warm start
    assert trainer.step > step + 30
    # an edit during training does not pause it and keeps the trainer too
    click_button(qtbot, w, "gaussianToolButton")
    drag(qtbot, view.viewport(), view, [(1.0, 1.0), (2.0, 2.0)])
    assert w.train_button.isChecked()
    s = trainer.step
    qtbot.waitUntil(lambda: trainer.step > s + 20, timeout=60_000)
    qtbot.waitUntil(lambda: w.train_worker.trainer.target.mixture is settled(qtbot, w).target.mixture,
                    timeout=10_000)
    assert w.train_worker.trainer is trainer
    np.testing.assert_allclose(trainer.target.mixture.means[-1].numpy(), [2.0, 2.0], atol=0.03)


def test_empty_canvas_refuses_training_and_sampling_with_a_message(qtbot, window):
    w, view = window, window.particle_view
    start_editing(qtbot, w, "brush")
    assert settled(qtbot, w).is_empty
    assert w.banner.isVisible() and "empty" in w.banner.text().lower()
    click_button(qtbot, w, "trainButton")
    assert not w.train_button.isChecked()
    assert "empty" in w.banner.text().lower()
    click_button(qtbot, w, "sampleButton")
    assert "empty" in w.banner.text().lower() and w.current_frames() is None
    # the window stays usable: draw something, then training runs
    drag(qtbot, view.viewport(), view, [(-1, 0), (1, 0)])
    assert not settled(qtbot, w).is_empty
    click_button(qtbot, w, "trainButton")
    assert w.train_button.isChecked()
    n = len(w.losses())
    qtbot.waitUntil(lambda: len(w.losses()) > n + 20, timeout=60_000)


def _ring_pixels(img, window, view, centre, radius):
    """RGB values of a window grab on a data-space circle (where the 2-sigma ellipse of an isotropic
    Gaussian is drawn)."""
    dpr = img.devicePixelRatio()
    out = []
    for t in np.linspace(0, 2 * math.pi, 90, endpoint=False):
        p = view.mapTo(window, to_px(view, centre[0] + radius * math.cos(t), centre[1] + radius * math.sin(t)))
        c = QColor(img.pixel(int(p.x() * dpr), int(p.y() * dpr)))
        out.append((c.red(), c.green(), c.blue()))
    return np.array(out, dtype=float)


def test_edit_mode_paints_ellipses_and_handles_then_gives_back_pan(qtbot, window):
    w, view = window, window.particle_view
    start_editing(qtbot, w, "gaussian")
    qtbot.mouseClick(view.viewport(), LEFT, NOMOD, to_px(view, 1.0, 1.0))
    settled(qtbot, w)
    wait_painted(qtbot, view)                               # the compiled target and the ellipse are on screen
    edit_img = w.grab().toImage()
    click_button(qtbot, w, "editModeButton")            # leave edit mode
    wait_painted(qtbot, view)                               # the overlay is gone from the screen
    plain_img = w.grab().toImage()
    ring_edit = _ring_pixels(edit_img, w, view, (1.0, 1.0), 0.6)
    ring_plain = _ring_pixels(plain_img, w, view, (1.0, 1.0), 0.6)
    changed = np.abs(ring_edit - ring_plain).max(1) > 40
    assert changed.mean() > 0.5, changed.mean()              # the ellipse is drawn along the 2-sigma ring
    far_edit = _ring_pixels(edit_img, w, view, (-2.5, -2.5), 0.3)
    far_plain = _ring_pixels(plain_img, w, view, (-2.5, -2.5), 0.3)
    assert (np.abs(far_edit - far_plain).max(1) > 40).mean() < 0.1     # and nothing where there is none
    # out of edit mode the mouse pans again instead of editing
    vb = view.getPlotItem().vb
    before = vb.viewRange()
    n_gauss = len(w.target_editor.doc.gaussians)
    vp = view.viewport()
    qtbot.mousePress(vp, LEFT, NOMOD, to_px(view, -1, -1))
    for k in range(1, 6):
        qtbot.mouseMove(vp, to_px(view, -1 + 0.3 * k, -1))
    qtbot.mouseRelease(vp, LEFT, NOMOD, to_px(view, 0.5, -1))
    assert len(w.target_editor.doc.gaussians) == n_gauss
    assert vb.viewRange()[0][0] < before[0][0] - 0.3, (before, vb.viewRange())
