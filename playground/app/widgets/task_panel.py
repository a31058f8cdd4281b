"""A dock panel that runs one long computation at a time in a TaskRunner thread.

Quality-vs-steps and the likelihood view share the same life cycle: Run asks the model service
(services.model.snapshot) for a frozen copy of the EMA weights when the job needs the model (state "waiting"), starts the
job in the background ("running") with a progress bar and a Cancel button, and draws the result
or reports a failure in the banner ("idle" again). Subclasses build their widgets, call
`_attach` with the four they share, and implement run(), _launch(job, source) and _show(result).
"""
from __future__ import annotations

from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QWidget

from playground.maths.sources import ModelSource
from playground.app.core.errors import reported


def cpu_copy(source) -> ModelSource:
    return ModelSource(source.model, device="cpu")


class TaskPanel(QWidget):
    def __init__(self, state, services, ui, purpose: str, title: str):
        super().__init__()
        self.app, self.services, self.ui = state, services, ui   # self.state: the task's own state
        self.purpose = purpose        # the snapshot purpose this panel asks for and answers to
        self.title = title            # prefix of its banner messages
        self.result: dict | None = None
        self.state = "idle"           # idle | waiting (for the model snapshot) | running
        self._pending = None          # the job waiting for its snapshot
        self.runner = services.tasks(f"{purpose}Thread", self)
        self.runner.progress.connect(lambda f: self.progress.setValue(int(1000 * f)))
        self.runner.finished.connect(self._on_finished)
        self.runner.failed.connect(self._on_failed)
        self.runner.cancelled.connect(self._on_cancelled)

    def _attach(self, run_button: QPushButton, cancel_button: QPushButton, progress: QProgressBar,
                status: QLabel) -> None:
        self.run_button, self.cancel_button, self.progress, self.status_label = run_button, cancel_button, progress, status
        run_button.clicked.connect(lambda *_: self._guard(self.run))
        cancel_button.clicked.connect(lambda *_: self.cancel())

    # ----- public ---------------------------------------------------------------------------------
    def run(self) -> None:
        raise NotImplementedError

    def cancel(self) -> None:
        self._pending = None
        if self.state != "idle":
            self.runner.cancel()
            if not self.runner.busy:       # only waiting for a snapshot: nothing to wind down
                self._set_state("idle")
                self._cancelled_while_waiting()

    # ----- for subclasses ---------------------------------------------------------------------------
    def _request(self, job) -> None:
        """Run `job` on a snapshot of the model once the training worker hands one over."""
        self._pending = job
        self._set_state("waiting")
        self.services.model.snapshot(self._on_snapshot)

    def _launch(self, job, source) -> None:
        raise NotImplementedError

    def _show(self, result) -> None:
        raise NotImplementedError

    def _cancelled_while_waiting(self) -> None:
        pass

    # ----- internals --------------------------------------------------------------------------------
    def _guard(self, fn) -> None:
        with reported(self.title, self.ui.error):      # bad input goes to the banner
            fn()

    def _set_state(self, state: str) -> None:
        self.state = state
        self.run_button.setEnabled(state == "idle")
        self.cancel_button.setEnabled(state != "idle")
        if state == "running":
            self.progress.setValue(0)

    def _on_snapshot(self, source) -> None:
        if self._pending is not None:
            job, self._pending = self._pending, None
            self._launch(job, source)

    def _on_finished(self, result) -> None:
        self.result = result
        self._set_state("idle")
        self.progress.setValue(1000)
        self._show(result)

    def _on_failed(self, msg: str) -> None:
        self._set_state("idle")
        self.ui.show_message(f"{self.title} failed: {msg}", error=True)

    def _on_cancelled(self) -> None:
        self._set_state("idle")
        self.progress.setValue(0)
        self.status_label.setText("cancelled")
