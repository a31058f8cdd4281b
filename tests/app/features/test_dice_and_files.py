"""The Dice dock (face sliders, fair/loaded, "roll the dice N times") and the File actions
(open / import / export / drag and drop, and the refusal of broken files), with real widgets,
real mouse events and the real training worker.
"""
import json

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, Qt, QUrl  # noqa: E402
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QKeySequence, QMouseEvent  # noqa: E402
from PySide6.QtWidgets import QApplication, QLabel, QPushButton, QSlider, QSpinBox, QStyle  # noqa: E402

from tests.helpers import WAIT_MS, child, pick, sample_and_wait, train_until  # noqa: E402
from playground.app.features.dice.dice_editor import class_weights  # noqa: E402
from playground.maths.targets import dice_layout  # noqa: E402
from playground.formats.presets import MAX_FILE_BYTES, load_preset  # noqa: E402

LOADED = np.array(load_preset("loaded_dice").spec["weights"], dtype=float)

pytestmark = pytest.mark.window(dock="dice_editor")         # the Dice dock in front


def face_weights(w):
    p = w.current_preset()
    assert p.spec["kind"] == "dice"
    return p.target.group_weights()


def labels(w):
    return np.array([float(child(w, QLabel, f"faceProb{k}").text()) for k in range(1, 7)])


def handle_centre(slider: QSlider) -> QPoint:
    """Centre of the slider's handle in widget pixels (the style's own geometry)."""
    style = slider.style()
    length = style.pixelMetric(QStyle.PixelMetric.PM_SliderLength, None, slider)
    pos = QStyle.sliderPositionFromValue(slider.minimum(), slider.maximum(), slider.value(),
                                         slider.width() - length)
    return QPoint(pos + length // 2, slider.height() // 2)


# ----- dice editor ---------------------------------------------------------------------------

def test_face_slider_sets_normalised_face_weights(qtbot, window):
    w = window
    assert w.current_preset().spec["kind"] == "dice"
    np.testing.assert_allclose(labels(w), LOADED / LOADED.sum(), atol=0.006)
    before = w.current_preset()
    child(w, QSlider, "faceSlider6").setValue(0)               # the debounce timer applies it
    qtbot.waitUntil(lambda: w.current_preset() is not before, timeout=3000)
    sliders = np.array([child(w, QSlider, f"faceSlider{k}").value() for k in range(1, 7)], float)
    assert sliders[5] == 0 and sliders[:5].min() > 0
    expect = np.where(np.arange(6) == 5, 0.0, LOADED)       # the other faces keep their exact odds
    expect /= expect.sum()
    np.testing.assert_allclose(face_weights(w), expect, atol=1e-5)
    np.testing.assert_allclose(labels(w), expect, atol=0.006)
    assert labels(w)[5] == 0.0 and abs(labels(w).sum() - 1) < 0.03
    x = w.current_preset().target.sample(4000, seed=0).numpy()       # face 6 is never rolled now
    assert np.linalg.norm(x - dice_layout(2.2)[5], axis=1).min() > 1.0
    # the die keeps its geometry: radius and std of the previous die
    assert w.current_preset().spec["radius"] == pytest.approx(2.2)
    assert w.current_preset().spec["std"] == pytest.approx(0.3)


def test_real_mouse_drag_on_face_slider(qtbot, window):
    w = window
    slider = child(w, QSlider, "faceSlider1")
    assert slider.isVisible()
    old = face_weights(w)
    start = handle_centre(slider)
    end = QPoint(slider.width() - 3, start.y())              # drag face 1 to the far right
    qtbot.mousePress(slider, Qt.MouseButton.LeftButton, pos=start)
    for t in np.linspace(0, 1, 6)[1:]:
        p = QPointF(start.x() + t * (end.x() - start.x()), start.y())
        move = QMouseEvent(QEvent.Type.MouseMove, p, slider.mapToGlobal(p), Qt.MouseButton.NoButton,
                           Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(slider, move)
    qtbot.mouseRelease(slider, Qt.MouseButton.LeftButton, pos=end)
    assert slider.value() >= 95
    new = face_weights(w)                       # applied on release (no wait for the debounce)
    assert new[0] > 3 * old[0]
    expect = 100 * old / old.max()                          # slider units: the largest face at 100
    expect[0] = slider.value()
    np.testing.assert_allclose(new, expect / expect.sum(), atol=1e-5)
    np.testing.assert_allclose(labels(w), new, atol=0.006)


def test_fair_and_loaded_buttons_and_sliders_follow_the_target(qtbot, window):
    w = window
    qtbot.mouseClick(child(w, QPushButton, "fairDiceButton"), Qt.MouseButton.LeftButton)
    np.testing.assert_allclose(face_weights(w), np.full(6, 1 / 6), atol=1e-9)
    assert [child(w, QLabel, f"faceProb{k}").text() for k in range(1, 7)] == ["0.17"] * 6
    qtbot.mouseClick(child(w, QPushButton, "loadedDiceButton"), Qt.MouseButton.LeftButton)
    np.testing.assert_allclose(face_weights(w), LOADED / LOADED.sum(), atol=1e-9)
    assert child(w, QLabel, "faceProb6").text() == "0.35"
    # picking a built-in die moves the sliders (without re-applying: the combo entry stays)
    pick(w.preset_combo, "fair_dice")
    assert w.current_preset().name == "Fair dice"
    assert {child(w, QSlider, f"faceSlider{k}").value() for k in range(1, 7)} == {100}
    assert w.current_preset().name == "Fair dice"
    qtbot.waitUntil(lambda: not w.dice_editor._timer.isActive(), timeout=WAIT_MS)   # past any debounce started:
    assert w.current_preset().name == "Fair dice"           # none fired, still the built-in preset
    # all faces at zero: refused with a message, target unchanged
    before = w.current_preset()
    for k in range(1, 7):
        child(w, QSlider, f"faceSlider{k}").setValue(0)
    assert w.dice_editor.apply_weights() is False
    assert w.current_preset() is before
    assert "weight 0" in w.banner.text() and w.banner.isVisible()
    assert child(w, QLabel, "faceProb1").text() == "–"


def test_roll_the_dice_ten_times_trains_on_ten_fixed_points(qtbot, window):
    w = window
    spin = child(w, QSpinBox, "datasetSizeSpin")
    assert spin.specialValueText() and spin.value() == 0 and spin.maximum() == 100_000
    chart = w.dice_editor.chart
    assert chart.objectName() == "rollsChart" and "memoris" in chart.toolTip()
    qtbot.waitUntil(lambda: w.train_worker.trainer is not None, timeout=20_000)
    spin.setValue(10)
    qtbot.waitUntil(lambda: chart.series("training set") is not None, timeout=10_000)
    tr = w.train_worker.trainer
    assert tr.config.dataset_size == 10 and tr.dataset.shape == (10, 2)
    target = w.current_preset().target
    shown = chart.series("training set")
    np.testing.assert_allclose(shown, target.empirical_weights(tr.dataset.cpu()), atol=1e-12)
    np.testing.assert_allclose(shown * 10, np.round(shown * 10), atol=1e-9)     # multiples of 1/10
    np.testing.assert_allclose(chart.series("true"), target.group_weights(), atol=1e-12)
    # training draws its batches from those ten points only
    train_until(qtbot, w, 20, timeout=30_000, pause=True)     # paused: the worker's chunk is done, it idles
    batch = tr._batch().cpu()
    dist = np.min(np.linalg.norm(batch.numpy()[:, None] - tr.dataset.cpu().numpy()[None], axis=2), axis=1)
    assert dist.max() == 0.0
    # a sampler run of the trained model fills the "sampled" series from its final frame
    w.steps_spin.setValue(8)
    w.particles_spin.setValue(500)
    sample_and_wait(qtbot, w)
    qtbot.waitUntil(lambda: chart.series("sampled") is not None, timeout=10_000)     # classified in the background
    np.testing.assert_allclose(chart.series("sampled"), target.empirical_weights(w.current_frames().x[-1]))
    assert chart.series("sampled").sum() == pytest.approx(1.0)
    # a reset keeps N; 0 goes back to fresh samples and hides the series
    gen = w._generation
    qtbot.mouseClick(child(w, QPushButton, "resetButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.train_worker.generation > gen, timeout=10_000)
    assert w.train_worker.trainer.config.dataset_size == 10 and len(w.train_worker.trainer.dataset) == 10
    spin.setValue(0)
    assert chart.series("training set") is None
    qtbot.waitUntil(lambda: w.train_worker.trainer.dataset is None, timeout=10_000)
    qtbot.wait(100)     # negative check, nothing to wait for: no late update brings the series back
    assert chart.series("training set") is None


def test_class_weights_in_chunks_match_the_target_classifier():
    target = load_preset("loaded_dice").target
    x = target.sample(3000, seed=5).numpy()
    exact = target.empirical_weights(x)
    np.testing.assert_allclose(class_weights(target, x, max_cells=60), exact, atol=1e-12)   # 10-point chunks
    with_nan = np.concatenate([x, np.full((50, 2), np.nan)])
    np.testing.assert_allclose(class_weights(target, with_nan), exact, atol=1e-12)        # diverged points dropped
    sub = class_weights(target, x, max_points=1000)                                      # a subsample estimates it
    assert np.abs(sub - exact).max() < 0.05 and sub.sum() == pytest.approx(1.0)


# ----- file actions --------------------------------------------------------------------------

def write_square_png(path, size=64, rows=(8, 24), cols=(40, 56)):
    import imageio.v3 as iio
    img = np.full((size, size), 255, np.uint8)
    img[rows[0]:rows[1], cols[0]:cols[1]] = 0
    iio.imwrite(path, img)


def test_png_import_puts_mass_in_the_dark_square(qtbot, window, tmp_path):
    w = window
    path = tmp_path / "square.png"
    write_square_png(path)                    # dark square in the upper right quarter
    assert w.file_actions.open_file(path) is True
    p = w.current_preset()
    assert p.spec["kind"] == "image" and p.name == "square"
    assert w.preset_combo.currentText() == "square"
    x = p.target.sample(2000, seed=1).numpy()
    # image_preset spans [-3.4, 3.4]; columns 40..56 and rows 8..24 of 64 -> [0.85, 2.55] on both axes
    inside = np.all((x > 0.85 - 0.35) & (x < 2.55 + 0.35), axis=1)
    assert inside.mean() > 0.99
    np.testing.assert_allclose(x.mean(0), [1.7, 1.7], atol=0.05)


def test_csv_import_is_a_points_target_near_the_points(qtbot, window, tmp_path):
    w = window
    pts = np.array([[0.0, 0.0], [2.0, 1.0], [-1.5, 2.5], [-2.0, -2.0], [3.0, -1.0]])
    path = tmp_path / "pts.csv"
    np.savetxt(path, pts, delimiter=",", header="x,y", comments="")
    assert w.file_actions.open_file(path, bandwidth=0.05)
    p = w.current_preset()
    assert p.spec["kind"] == "points" and p.spec["bandwidth"] == 0.05
    x = p.target.sample(1000, seed=2).numpy()
    nearest = np.min(np.linalg.norm(x[:, None] - pts[None], axis=2), axis=1)
    assert nearest.max() < 0.05 * 5
    counts = np.bincount(np.argmin(np.linalg.norm(x[:, None] - pts[None], axis=2), axis=1), minlength=5)
    assert counts.min() > 120                                 # every point carries mass (1/5 each)
    # points outside the default view get a view that holds them, in their own units
    far = tmp_path / "far.npy"
    np.save(far, pts * 10 + 50)
    assert w.file_actions.open_file(far, bandwidth=0.5)
    v = w.current_preset().view
    assert v["xlim"][0] < 30 and v["xlim"][1] > 80 and v["ylim"][0] < 30 and v["ylim"][1] > 75


def test_exported_preset_round_trips(qtbot, window, tmp_path):
    w = window
    png = tmp_path / "square.png"
    write_square_png(png)
    w.file_actions.open_file(png)
    w.dice_editor.set_weights([1, 2, 3, 4, 5, 6])           # an edited die, not a built-in
    original = w.current_preset()
    actions = {a.objectName(): a for a in w.menus["file"].actions()}
    assert actions["openFileAction"].shortcut() == QKeySequence("Ctrl+O")
    assert actions["exportFileAction"].shortcut() == QKeySequence("Ctrl+E")
    assert {"imageFileAction", "pointsFileAction"} <= set(actions)
    out = tmp_path / "exported.json"
    assert w.file_actions.export_preset(out)
    data = json.loads(out.read_text())
    assert data["target"]["kind"] == "dice" and data["name"] == original.name
    assert not [f for f in tmp_path.iterdir() if f.name.startswith(".exported")]   # no temporary left over
    pick(w.preset_combo, "square")
    assert w.file_actions.open_file(out)
    loaded = w.current_preset()
    assert loaded is not original and loaded.path == str(out)
    np.testing.assert_array_equal(loaded.target.sample(500, seed=3).numpy(), original.target.sample(500, seed=3).numpy())
    np.testing.assert_allclose(loaded.target.group_weights(), np.arange(1, 7) / 21, atol=1e-12)
    # the same for an imported image target
    pick(w.preset_combo, "square")
    img = w.current_preset()
    assert w.file_actions.export_preset(tmp_path / "img")            # ".json" is added
    assert w.file_actions.open_file(tmp_path / "img.json")
    np.testing.assert_array_equal(w.current_preset().target.sample(300, seed=4).numpy(),
                                  img.target.sample(300, seed=4).numpy())


def broken_files(tmp_path):
    """(path, words the banner must contain) for every way a file can be refused."""
    good = tmp_path / "good.png"
    write_square_png(good)
    raw = good.read_bytes()
    cases = []
    p = tmp_path / "truncated.png"
    p.write_bytes(raw[: len(raw) // 2])
    cases.append((p, "not a readable image"))
    p = tmp_path / "zero.png"
    p.write_bytes(b"")
    cases.append((p, "empty"))
    p = tmp_path / "white.png"
    write_square_png(p, rows=(0, 0), cols=(0, 0))
    cases.append((p, "no dark pixels"))
    p = tmp_path / "text.csv"
    p.write_text("x,y\n1,2\nhello,3\n")
    cases.append((p, "line 3: not a number"))
    p = tmp_path / "nan.csv"
    p.write_text("x,y\n1,2\nnan,3\n")
    cases.append((p, "NaN"))
    p = tmp_path / "huge.csv"
    with open(p, "wb") as f:                 # sparse: no real disk space
        f.truncate(MAX_FILE_BYTES + 1)
    cases.append((p, f"the limit is {MAX_FILE_BYTES // 2**20} MB"))
    p = tmp_path / "badcov.json"
    p.write_text(json.dumps({"name": "bad", "target": {"kind": "mixture", "components": [
        {"weight": 1.0, "mean": [0, 0], "cov": [[1.0, 0.0], [0.0, -1.0]]}]}}))
    cases.append((p, "target.components[0].cov: must be positive definite"))
    p = tmp_path / "notes.txt"
    p.write_text("1,2\n")
    cases.append((p, "unsupported file type '.txt'"))
    cases.append((tmp_path / "missing.json", "no such file"))
    return cases


def test_broken_files_are_refused_and_nothing_changes(qtbot, window, tmp_path):
    w = window
    qtbot.waitUntil(lambda: w.train_worker.trainer is not None, timeout=20_000)
    before, generation, combo_count = w.current_preset(), w._generation, w.preset_combo.count()
    trainer = w.train_worker.trainer
    for path, words in broken_files(tmp_path):
        w.hide_message()
        assert w.file_actions.open_file(path) is False, path.name
        assert w.banner.isVisible() and path.name in w.banner.text(), path.name
        assert words in w.banner.text(), (path.name, w.banner.text())
        assert w.current_preset() is before
    assert w._generation == generation and w.train_worker.trainer is trainer      # the model is untouched
    assert w.preset_combo.count() == combo_count
    # still usable: switch preset and train
    pick(w.preset_combo, "two_moons")
    assert w.current_preset().name == "Two moons"
    qtbot.mouseClick(child(w, QPushButton, "trainButton"), Qt.MouseButton.LeftButton)
    n = len(w.losses())
    qtbot.waitUntil(lambda: len(w.losses()) >= n + 10, timeout=30_000)


def drag_and_drop(widget, path, pos):
    """A drag of the file entering `widget` at pos, then its drop there; returns both events."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    events = (QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                              Qt.KeyboardModifier.NoModifier),
              QDropEvent(QPointF(pos), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                         Qt.KeyboardModifier.NoModifier))
    for event in events:
        QApplication.sendEvent(widget, event)
    return events


def test_dropping_files_on_the_window_opens_them(qtbot, window, tmp_path):
    w = window
    png = tmp_path / "dropped.png"
    write_square_png(png)
    enter, drop = drag_and_drop(w, png, QPoint(400, 300))
    assert enter.isAccepted() and drop.isAccepted()
    assert w.current_preset().name == "dropped" and w.current_preset().spec["kind"] == "image"
    # onto the particle plot: its scene does not take the drag, so it propagates to the window,
    # and Qt delivers the drop to the widget that accepted the enter
    pts = tmp_path / "dropped_pts.csv"
    np.savetxt(pts, np.array([[0.5, 0.5], [-1.0, 1.0]]), delimiter=",")
    enter2, _ = drag_and_drop(w.particle_view.viewport(), pts, QPoint(50, 50))
    assert enter2.isAccepted()
    assert w.current_preset().name == "dropped_pts" and w.current_preset().spec["kind"] == "points"
    # an unsupported file is not taken
    txt = tmp_path / "a.txt"
    txt.write_text("hi")
    mime3 = QMimeData()
    mime3.setUrls([QUrl.fromLocalFile(str(txt))])
    enter3 = QDragEnterEvent(QPoint(400, 300), Qt.DropAction.CopyAction, mime3, Qt.MouseButton.LeftButton,
                             Qt.KeyboardModifier.NoModifier)
    enter3.setAccepted(False)
    QApplication.sendEvent(w, enter3)
    assert not enter3.isAccepted()
    assert w.current_preset().name == "dropped_pts"
    # a broken file dropped is refused like one opened from the menu
    bad = tmp_path / "zero.png"
    bad.write_bytes(b"")
    mime4 = QMimeData()
    mime4.setUrls([QUrl.fromLocalFile(str(bad))])
    before = w.current_preset()
    QApplication.sendEvent(w, QDragEnterEvent(QPoint(400, 300), Qt.DropAction.CopyAction, mime4,
                                              Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
    QApplication.sendEvent(w, QDropEvent(QPointF(400, 300), Qt.DropAction.CopyAction, mime4,
                                         Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
    assert w.current_preset() is before and "zero.png" in w.banner.text() and "empty" in w.banner.text()
