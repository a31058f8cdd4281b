"""What the tests share, defined once: statistical yardsticks, the command line (in this process and
as a real subprocess), session files built by hand, and the helpers of the window tests (finding,
picking and clicking widgets, training and sampling in a real window, waiting until a view is
painted, painted pixels). The fixtures (the window factory, the private state folder) are in
tests/conftest.py. Qt is imported inside the Qt helpers: the maths tests never load it."""
import io
import json
import os
import subprocess
import sys
import zipfile
from contextlib import redirect_stderr, redirect_stdout

import numpy as np
import torch

from playground.formats.presets import load_preset
from playground.formats.session import session_json
from playground.learning.model import ModelConfig
from playground.learning.trainer import TrainConfig, Trainer
from playground.maths.metrics import sliced_w2

# Timeouts of the shared waits: generous, since CI is a loaded 2-core machine (a wait ends as soon
# as its condition holds, so a long timeout costs nothing when all is well).
WAIT_MS = 30_000
TRAIN_MS = 60_000


# ----- statistics ------------------------------------------------------------------------------------------

def floor_and_distance(target, make_samples, n=4000, seeds=tuple(range(8))):
    """Mean SW2 of sampler output to fresh exact samples, and the mean two-sample floor (same n).

    On multimodal targets one SW2 value swings by 2x between seeds (the multinomial count of each
    mode moves quantiles across the gaps), so both sides are averaged over 8 seeds.
    """
    d = [sliced_w2(make_samples(s), target.sample(n, seed=1000 + s)) for s in seeds]
    f = [sliced_w2(target.sample(n, seed=2000 + s), target.sample(n, seed=3000 + s)) for s in seeds]
    return float(np.mean(d)), float(np.mean(f))


# ----- the command line ------------------------------------------------------------------------------------

def assert_same_noise(a, b, max_shift=0.5, atol=1e-4):
    """Two runs' first frames hold the same noise, each centred on its own source's mean
    (Source.start_centre): they differ by one small shift, the same for every particle."""
    shift = np.asarray(a) - np.asarray(b)
    np.testing.assert_allclose(shift, np.broadcast_to(shift[0], shift.shape), atol=atol)
    assert np.abs(shift[0]).max() < max_shift, shift[0]


def run_process(*args, timeout=300):
    """`python -m playground ARGS` in a fresh interpreter, as users and acceptance scripts call it."""
    return subprocess.run([sys.executable, "-m", "playground", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def run(*args):
    """main(argv) in this process, with what a subprocess would report: exit status, stdout, stderr."""
    from playground.tools.cli import main
    out, err = io.StringIO(), io.StringIO()
    argv = [str(a) for a in args]
    with redirect_stdout(out), redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as e:       # --help and --version exit through argparse
            rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    return subprocess.CompletedProcess(argv, rc, out.getvalue(), err.getvalue())


# ----- session files ---------------------------------------------------------------------------------------

def small_trainer(preset="loaded_dice", hidden=16, steps=5):
    trainer = Trainer(load_preset(preset).target, TrainConfig(batch=64, device="cpu", model=ModelConfig(hidden=hidden)))
    trainer.train(steps)
    return trainer


def session_parts_of(trainer, preset="loaded_dice", **overrides):
    """(session.json dict, weights dict) of a session holding trainer, as the window writes them."""
    state = trainer.state_dict()
    meta = session_json(load_preset(preset), {"sampler": "ddim", "steps": 12, "seed": 3},
                        {"config": state["config"], "step": state["step"], "lr": state["lr"]},
                        {"guidance": {"scale": 2.5}}, preset)
    meta.update(overrides)
    weights = {"model": state["model"], "ema": state["ema"], "optimizer": state["optimizer"],
               "losses": torch.tensor(trainer.losses)}
    return meta, weights


def write_raw(path, meta, weights_blob):
    """A session zip written by hand: no checks, so tests can write what write_session refuses."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("session.json", meta if isinstance(meta, str) else json.dumps(meta))
        z.writestr("weights.pt", weights_blob)


def torch_bytes(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


class Payload:
    """Unpickling this would run a shell command that creates a file."""

    def __init__(self, flag):
        self.flag = flag

    def __reduce__(self):
        return (os.system, (f"touch {self.flag}",))


# ----- windows: widgets ------------------------------------------------------------------------------------

def child(w, cls, name):
    """The widget of that class and objectName inside w; fails the test when it is missing."""
    found = w.findChild(cls, name)
    assert found is not None, name
    return found


def pick(combo, text):
    """Choose the combo box entry with that text; fails the test when there is none."""
    i = combo.findText(text)
    assert i >= 0, text
    combo.setCurrentIndex(i)


def show_widget(qtbot, widget, size=None):
    """Register widget with qtbot (closed after the test), resize it, show it and wait until it is exposed."""
    qtbot.addWidget(widget)
    if size is not None:
        widget.resize(*size)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def click(qtbot, widget, timeout=WAIT_MS):
    """A real left click where a user would click: the centre of a button, the indicator of a check
    box (a wide box ignores clicks right of its text). The controls panel scrolls, so a widget in it
    is scrolled into view first, and the click waits until the point clicked is inside the panel's
    viewport (a layout change just before, a section shown or hidden, is applied by the event loop)."""
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtWidgets import QCheckBox
    dock = getattr(widget.window(), "controls_dock", None)
    area = dock.widget() if dock is not None else None
    inside = area is not None and area.widget() is not None and area.widget().isAncestorOf(widget)

    def where():
        return QPoint(8, widget.height() // 2) if isinstance(widget, QCheckBox) else widget.rect().center()

    def reachable():
        if not widget.isVisible():
            return False
        if not inside:
            return True
        area.ensureWidgetVisible(widget)
        viewport = area.viewport()
        return viewport.rect().contains(widget.mapTo(viewport, where()))

    qtbot.waitUntil(reachable, timeout=timeout)
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=where())


def click_button(qtbot, w, name):
    """click() the QPushButton of that objectName in window w."""
    from PySide6.QtWidgets import QPushButton
    click(qtbot, child(w, QPushButton, name))


# ----- windows: training and sampling ----------------------------------------------------------------------

def train_until(qtbot, w, min_steps, timeout=TRAIN_MS, pause=False):
    """Start training (unless it is on) and wait until the loss curve has min_steps points; with
    pause=True then pause it as pause_training() does."""
    from PySide6.QtWidgets import QPushButton
    button = child(w, QPushButton, "trainButton")
    if not button.isChecked():
        click(qtbot, button)
    assert button.isChecked()
    qtbot.waitUntil(lambda: len(w.losses()) >= min_steps, timeout=timeout)
    if pause:
        pause_training(qtbot, w)


def pause_training(qtbot, w, timeout=WAIT_MS):
    """Click Train off and wait until the training worker has answered the pause: the chunk that was
    in flight has finished and the worker idles (the trainer may then be read on this thread)."""
    from PySide6.QtWidgets import QPushButton
    button = child(w, QPushButton, "trainButton")
    assert button.isChecked()
    with qtbot.waitSignal(w.train_worker.runningChanged, check_params_cb=lambda on: not on, timeout=timeout):
        click(qtbot, button)
    assert not button.isChecked()


def sample_and_wait(qtbot, w, timeout=WAIT_MS):
    """Press Sample and wait for the new run's frames; returns them."""
    before = w.current_frames()
    click_button(qtbot, w, "sampleButton")
    qtbot.waitUntil(lambda: w.current_frames() is not None and w.current_frames() is not before, timeout=timeout)
    return w.current_frames()


# ----- windows: painting -----------------------------------------------------------------------------------

def wait_painted(qtbot, widget, timeout=WAIT_MS):
    """Wait until widget's painting has settled: two grabs in a row, with the event loop run between
    them, are the same picture (the layout passes and repaints a change asks for are posted events).
    Returns the settled QImage."""
    last = []

    def settled():
        img = widget.grab().toImage()
        same = bool(last) and img == last[0]
        last[:] = [img]
        return same

    qtbot.waitUntil(settled, timeout=timeout)
    return last[0]


def pixels(widget) -> np.ndarray:
    """The widget as painted now: (height, bytes per line) of RGB32 bytes, for counting changes."""
    from PySide6.QtGui import QImage
    img = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    return np.frombuffer(img.constBits(), np.uint8, img.sizeInBytes()).reshape(img.height(), -1).copy()


def bright_pixels(view, centre, half_width=0.6):
    """Painted particle pixels (max channel >= 230; the density images stay darker) in a
    data-space box of half_width around centre, counted on view.grab()."""
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QColor
    img = view.grab().toImage()
    vb = view.getPlotItem().vb

    def to_px(x, y):
        p = view.mapFromScene(vb.mapViewToScene(QPointF(x, y)))
        return p.x(), p.y()

    x0, y0 = to_px(centre[0] - half_width, centre[1] + half_width)
    x1, y1 = to_px(centre[0] + half_width, centre[1] - half_width)
    dpr = img.devicePixelRatio()
    return sum(max(QColor(img.pixel(px, py)).getRgb()[:3]) >= 230
               for px in range(int(x0 * dpr), int(x1 * dpr)) for py in range(int(y0 * dpr), int(y1 * dpr)))
