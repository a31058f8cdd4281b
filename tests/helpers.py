"""Shared statistical yardsticks for the tests."""
import numpy as np

from playground.maths.metrics import sliced_w2


def floor_and_distance(target, make_samples, n=4000, seeds=tuple(range(8))):
    """Mean SW2 of sampler output to fresh exact samples, and the mean two-sample floor (same n).

    On multimodal targets one SW2 value swings by 2x between seeds (the multinomial count of each
    mode moves quantiles across the gaps), so both sides are averaged over 8 seeds.
    """
    d = [sliced_w2(make_samples(s), target.sample(n, seed=1000 + s)) for s in seeds]
    f = [sliced_w2(target.sample(n, seed=2000 + s), target.sample(n, seed=3000 + s)) for s in seeds]
    return float(np.mean(d)), float(np.mean(f))


def shown_window(qtbot, size=(1300, 850)):
    """A real MainWindow, shown and exposed (offscreen), registered with qtbot for cleanup."""
    from playground.app import MainWindow
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    return w


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
