"""Where live pictures are computed: the sampling process for a CPU model, a thread otherwise.

A live picture is a whole sampler run redrawn several times a second while training goes on. Its
Python overhead would take turns with training for one GIL, so a plain CPU model's run goes to the
sampling process (learning/sample_process.py: its own interpreter and core); a GPU model, a
guided source or a process that cannot run samples in this lane's thread instead. Either way the
request is the same RunRequest and the answer the same Run, with the source attached here.
"""
from __future__ import annotations

import os

from PySide6.QtCore import QObject, Signal

from playground.learning.sample_process import SampleProcess
from playground.maths.progress import Cancelled
from playground.maths.samplers.record import RunRequest, provenance_of
from playground.maths.sources import ModelSource

USE_PROCESS = os.name == "posix"   # the process's reader needs select() on pipes, which is POSIX only


class LiveLane(QObject):
    finished = Signal(object)      # a Run
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, runner, parent=None):
        super().__init__(parent)
        self.runner = runner
        self.process: SampleProcess | None = None
        runner.finished.connect(self.finished)
        runner.failed.connect(lambda msg: self.failed.emit(f"live samples failed: {msg}"))
        runner.cancelled.connect(self.cancelled)

    @property
    def busy(self) -> bool:
        return self.runner.busy

    def open(self) -> None:
        """Start the sampling process now (its imports run while training warms up)."""
        if self.process is None and USE_PROCESS:
            self.process = SampleProcess()
            try:
                self.process.start()
            except (OSError, RuntimeError):
                self.process = None           # no process: live runs sample in the thread

    def start(self, source, request: RunRequest) -> None:
        self.runner.start(lambda progress, stop: self._record(source, request, stop))

    def cancel(self) -> None:
        self.runner.cancel()

    def _record(self, source, request: RunRequest, stop):
        """In the runner's thread: the process for a plain CPU model, else here."""
        process = self.process
        if process is None or type(source) is not ModelSource or source.device.type != "cpu" or source.label is not None:
            return request.record(source, stop)
        try:
            run = process.run(source.model, request, stop)
        except (RuntimeError, OSError):       # the process cannot run (or the job failed there): sample here
            if self.process is process:
                self.process = None
                process.close()
            return request.record(source, stop)
        if run is None:
            raise Cancelled()
        run.source, run.provenance = source, provenance_of(source)
        return run

    def close(self) -> None:
        self.runner.cancel()
        process, self.process = self.process, None
        if process is not None:
            process.close()
