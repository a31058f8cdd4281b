"""Worker threads of the window: one way to start, hand back and stop them.

Every background worker (training, metrics, and the TaskRunners behind sampling, comparison,
quality, likelihood and the rest) is a QObject moved to its own QThread. On shutdown its slot runs in that thread, hands the object back
to the GUI thread (so it is not destroyed with a dead thread) and ends the thread's loop; the GUI
then waits for the thread, briefly, and never hangs a closing window on it.
"""
from __future__ import annotations

import threading
import time

import torch
from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, QThread, Signal, Slot

from playground.maths.budgets import release_free_memory
from playground.maths.progress import Cancelled
from playground.app.core.errors import report


def release_worker(worker: QObject) -> None:
    """Called in the worker's thread: give the object back to the GUI thread, end the loop."""
    app = QCoreApplication.instance()
    if app is not None:
        worker.moveToThread(app.thread())
    QThread.currentThread().quit()


def start_worker(worker: QObject, name: str, wiring) -> QThread:
    """Move `worker` to a new thread named `name`, connect the (signal, slot) pairs of `wiring`
    (requests to the worker's slots, its answers to GUI-thread bound methods: both queued) and start it."""
    thread = QThread()
    thread.setObjectName(name)
    worker.moveToThread(thread)
    for signal, slot in wiring:
        signal.connect(slot)
    thread.start()
    return thread


def wait_events(done, timeout_s: float) -> bool:
    """Run the GUI thread's events until done() or timeout_s has passed (then False). It sleeps a
    little between rounds, so the thread being waited for gets the GIL instead of a spinning loop;
    a waited-for job that never reports can delay a caller, never hang it."""
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            return False
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        time.sleep(0.002)
    return True


def stop_worker(shutdown_signal, thread: QThread, wait_ms: int = 1500) -> None:
    """Ask the worker to hand itself back (its shutdown slot, queued) and wait for its thread."""
    shutdown_signal.emit()
    stop_thread(thread, wait_ms)


LINGER_MS = 30_000      # a worker inside one long uninterruptible call (building a model, a first import)


def stop_thread(thread: QThread, wait_ms: int = 1500) -> None:
    """Wait for a thread whose worker was asked to shut down; force its loop to quit if it lingers.

    A thread still running after that is inside one long call that cannot be interrupted (the
    training thread building its first model while the window closes at once): it is waited for,
    up to LINGER_MS, because destroying a running QThread aborts the whole process."""
    if not thread.wait(wait_ms):
        thread.quit()
        if not thread.wait(max(500, wait_ms // 3)):
            thread.wait(LINGER_MS)


class _TaskWorker(QObject):
    progress = Signal(int, float)
    finished = Signal(int, object)
    failed = Signal(int, str)
    cancelled = Signal(int)

    @Slot(int, object, object)
    def run(self, job: int, fn, stop: threading.Event) -> None:
        torch.set_num_threads(1)

        def progress(fraction: float) -> bool:
            if stop.is_set():
                return False
            self.progress.emit(job, float(fraction))
            return True

        try:
            result = fn(progress, stop)
        except Cancelled:
            self.cancelled.emit(job)
            return
        except Exception as exc:  # noqa: BLE001 - the thread's boundary: one line, the traceback to the log
            self.failed.emit(job, report("", exc))
            return
        finally:        # whatever the job freed goes back to the system, not only to this thread's arena
            try:
                release_free_memory()
            except Exception:  # noqa: BLE001 - never in the way of the job's own answer
                pass
        if stop.is_set():
            self.cancelled.emit(job)
        else:
            self.finished.emit(job, result)

    @Slot()
    def shutdown(self) -> None:
        release_worker(self)


class TaskRunner(QObject):
    """Runs fn(progress, stop) -> result in its own QThread. `progress(f)` returns False once
    cancelled; `stop` (a threading.Event) lets long inner loops abort between evaluations.
    Signals arrive on the GUI thread and only for the latest job."""
    progress = Signal(float)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    _sigRun = Signal(int, object, object)
    _sigShutdown = Signal()

    def __init__(self, name: str, parent=None):
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName(name)
        self._worker = _TaskWorker()
        self._worker.moveToThread(self._thread)
        self._sigRun.connect(self._worker.run)
        self._sigShutdown.connect(self._worker.shutdown)
        self._worker.progress.connect(self._on_progress)     # a bound method: queued onto the GUI thread
        self._worker.finished.connect(self._on_finished)
        self._worker.failed.connect(self._on_failed)
        self._worker.cancelled.connect(self._on_cancelled)
        self._job, self._stop, self.busy, self.closed = 0, None, False, False
        self._thread.start()

    @property
    def worker_thread(self) -> QThread:
        """The QThread its jobs run in."""
        return self._thread

    def start(self, fn) -> None:
        if self.closed:
            return
        self.cancel()
        self._job += 1
        self._stop = threading.Event()
        self.busy = True
        self._sigRun.emit(self._job, fn, self._stop)

    def cancel(self) -> None:
        if self._stop is not None:
            self._stop.set()

    def _on_progress(self, job, fraction) -> None:
        if job == self._job:
            self.progress.emit(fraction)

    def _on_finished(self, job, result) -> None:
        if job == self._job:
            self.busy = False
            self.finished.emit(result)

    def _on_failed(self, job, msg) -> None:
        if job == self._job:
            self.busy = False
            self.failed.emit(msg)

    def _on_cancelled(self, job) -> None:
        if job == self._job:
            self.busy = False
            self.cancelled.emit()

    def shutdown(self) -> None:
        """Cancel the running job (it stops at its next evaluation) and end the thread."""
        if self.closed:
            return
        self.closed = True
        self.cancel()
        self._sigShutdown.emit()
        stop_thread(self._thread, 5000)
