"""Worker -> GUI messages arrive through queued signals on the GUI thread: a failing training worker
must not make Qt warn that a widget or timer was touched from another thread (issue 18)."""
from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QThread, qInstallMessageHandler  # noqa: E402


THREAD_WARNINGS = ("different thread", "Cannot create children", "Timers cannot be started",
                   "Timers cannot be stopped", "QObject::setParent")


@pytest.fixture
def qt_messages():
    seen = []
    previous = qInstallMessageHandler(lambda mode, ctx, msg: seen.append(msg))
    yield seen
    qInstallMessageHandler(previous)


def test_a_failing_worker_reports_on_the_gui_thread_without_thread_warnings(qtbot, qt_messages, make_window):
    w = make_window()
    qtbot.waitUntil(lambda: w.train_worker.trainer is not None, timeout=30_000)
    shown_from = []
    model = w.services.model
    model.message.connect(lambda text, error: shown_from.append(QThread.currentThread()))
    worker = w.train_worker

    def broken_train(k):
        raise RuntimeError("deliberate failure in the worker")
    worker.trainer.train = broken_train          # the next chunk fails inside the worker thread
    w.set_training(True)
    qtbot.waitUntil(lambda: "deliberate failure" in w.banner.text(), timeout=20_000)
    qtbot.waitUntil(lambda: not w.train_button.isChecked(), timeout=10_000)
    worker.failed.emit("a second failure straight from the worker object")   # as the worker's own slots do
    qtbot.waitUntil(lambda: "second failure" in w.banner.text(), timeout=10_000)
    assert shown_from and all(t is w.thread() for t in shown_from)
    w.close()
    bad = [m for m in qt_messages if any(s in m for s in THREAD_WARNINGS)]
    assert not bad, bad


def test_the_warning_filter_would_see_a_cross_thread_widget_touch(qtbot, qt_messages):
    """The check above can fail: creating a child of a GUI-thread object from another thread is reported."""
    from PySide6.QtCore import QObject

    parent = QObject()
    errors = []

    class Bad(QThread):
        def run(self):
            try:
                QObject(parent)
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)

    t = Bad()
    t.start()
    t.wait(5000)
    assert any("different thread" in m or "Cannot create children" in m for m in qt_messages)


def test_garbage_cycles_are_collected_on_the_gui_thread_not_in_a_worker(qtbot, make_window):
    """A closed window's widgets caught in reference cycles used to be freed by whichever thread
    triggered the cycle collector: in the training thread, a Qt destructor then waited for the GIL
    while the GUI thread waited for Qt's mutex (the suite hung). Now a worker's allocations never
    run the collector; the GUI thread's timer does."""
    import gc
    import threading
    import weakref

    w = make_window()

    class Node:
        pass

    gc.collect()                                   # count allocations from zero
    a, b = Node(), Node()
    a.other, b.other = b, a                        # a cycle: only the collector frees it
    alive = weakref.ref(a)
    del a, b
    kept = []
    worker = threading.Thread(target=lambda: kept.extend([] for _ in range(20_000)), name="allocating-worker")
    worker.start()                                 # with automatic collection, this thread would collect
    worker.join()
    assert alive() is not None, "the cycle was collected in the worker thread"
    qtbot.waitUntil(lambda: alive() is None, timeout=10_000)      # ...and the GUI thread's timer does
    w.close()
