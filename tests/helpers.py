"""Shared statistical yardsticks for the tests."""
import numpy as np

from playground.metrics import sliced_w2


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
