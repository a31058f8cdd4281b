"""Cyclic garbage collection on the GUI thread only.

Python's cycle collector runs in whichever thread happens to allocate when a threshold is
crossed. When that is a worker thread and the garbage holds Qt objects (the widgets of a window
that was closed), their C++ destructors run in the worker: Qt locks its signal-slot mutex there
and then waits for the GIL, which the GUI thread holds while it waits for that same mutex to
connect a new widget. Both threads stop for good (seen in the test suite: the training thread
freeing an old window while the GUI thread built the next one). So while the app runs, automatic
collection is off and a timer on the GUI thread does what the collector would have done.
"""
from __future__ import annotations

import gc

from PySide6.QtCore import QCoreApplication, QThread, QTimer

INTERVAL_MS = 300
_timer: QTimer | None = None
_windows = 0           # windows alive; automatic collection comes back when the last one shuts down


def collect_if_due() -> int:
    """Collect the oldest generation whose threshold the automatic collector would have crossed
    (none when nothing is due); returns the number of unreachable objects found."""
    counts, limits = gc.get_count(), gc.get_threshold()
    due = [g for g in range(3) if limits[g] and counts[g] > limits[g]]
    if not due or due[0] != 0:       # older generations only count up through younger collections
        return 0
    generation = 0
    while generation + 1 < 3 and generation + 1 in due:
        generation += 1
    return gc.collect(generation)


def install() -> None:
    """A window starts: automatic collection off, a GUI-thread timer collects instead."""
    global _timer, _windows
    app = QCoreApplication.instance()
    if app is None or QThread.currentThread() is not app.thread():
        return
    _windows += 1
    try:
        alive = _timer is not None and _timer.thread() is app.thread()
    except RuntimeError:       # the QTimer died with an earlier QApplication
        alive = False
    if not alive:
        _timer = QTimer(app)
        _timer.setInterval(INTERVAL_MS)
        _timer.timeout.connect(collect_if_due)
    _timer.start()
    gc.disable()


def release() -> None:
    """A window has shut down (its worker threads with it); after the last one, a script or test
    that goes on without an event loop gets Python's own collector back."""
    global _windows
    if _windows <= 0:
        return
    _windows -= 1
    if _windows == 0:
        gc.collect()
        gc.enable()
        if _timer is not None:
            try:
                _timer.stop()
            except RuntimeError:
                pass
