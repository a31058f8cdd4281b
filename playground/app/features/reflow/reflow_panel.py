"""Reflow in the window: Tools > Reflow the model… straightens a snapshot of the current model.

The run (learning/reflow.py: couple the base ODE's noise and samples, then train a new fm model on
the straight lines between them) happens in a TaskRunner thread with progress and cancel. When it
finishes, the base snapshot and the reflowed model are kept as the state's reflow (state.set_reflow),
which the Compare dock offers as "base model" and "reflowed model", with their path straightness
and 1-, 2- and 4-step sample quality in this section. The run's size (pairs, ODE steps, training
steps) is injectable through `configure` so a test can run a small one.
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout

from playground.learning.reflow import DEFAULT_ODE_STEPS, Reflow, few_step_report
from playground.learning.trainer import TrainConfig
from playground.maths.sources import ModelSource
from playground.maths.progress import Cancelled
from playground.maths.samplers.explanations import CONCEPTS
from playground.app.widgets.controls import named

GUI_PAIRS = 8000            # couplings: enough for a 2D target, integrated in ~2 s on one core
GUI_STEPS = 1500            # training steps of the new model
COUPLE_SHARE = 0.3          # of the progress bar
REPORT_STEPS = (1, 2, 4)


@dataclass
class ReflowResult:
    base: ModelSource           # the snapshot the reflow started from
    reflowed: ModelSource       # the new fm model (EMA weights)
    rectified: int              # 1 after one reflow, 2 after reflowing the reflowed model, ...
    pairs: int
    report: dict                # "base"/"reflowed" -> {"straightness", "sw2": {k: SW2 of the k-step sample}}


class ReflowPanel(QGroupBox):
    def __init__(self, state, services, ui):
        super().__init__("Reflow (rectified flow)")
        self.state, self.services, self.ui = state, services, ui
        self.pairs, self.ode_steps, self.steps = GUI_PAIRS, DEFAULT_ODE_STEPS, GUI_STEPS
        self.result: ReflowResult | None = None
        self.phase = "idle"              # idle | waiting (for the snapshot) | running
        self._again = False
        lay = QVBoxLayout(self)
        row = QHBoxLayout()
        tip = f"{CONCEPTS['reflow'].tooltip}\n{CONCEPTS['reflow'].rule}"
        self.run_button = named(QPushButton("Reflow…"), "reflowButton", tip)
        self.cancel_button = named(QPushButton("Cancel"), "reflowCancelButton", "Stop the running reflow")
        self.cancel_button.setEnabled(False)
        self.progress = named(QProgressBar(), "reflowProgress", "Couplings (base ODE), then training the new model")
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        row.addWidget(self.run_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.progress, 1)
        lay.addLayout(row)
        self.status = named(QLabel("Straighten the current model's paths so a few steps suffice."), "reflowStatus",
                            f"{CONCEPTS['straight-paths'].tooltip}\n{CONCEPTS['straight-paths'].rule}")
        lay.addWidget(self.status)
        self.runner = services.tasks("reflowThread", self)
        self.runner.progress.connect(lambda f: self.progress.setValue(int(1000 * f)))
        self.runner.finished.connect(self._on_finished)
        self.runner.failed.connect(self._on_failed)
        self.runner.cancelled.connect(self._on_cancelled)
        self.run_button.clicked.connect(lambda *_: self.start())
        self.cancel_button.clicked.connect(lambda *_: self.cancel())
        state.presetChanged.connect(lambda *_: self._forget())

    # ----- public ---------------------------------------------------------------------------------
    def configure(self, pairs: int | None = None, ode_steps: int | None = None, steps: int | None = None) -> None:
        """The size of the next run (tests use a small one)."""
        self.pairs = int(pairs or self.pairs)
        self.ode_steps = int(ode_steps or self.ode_steps)
        self.steps = int(steps or self.steps)

    def start(self, again: bool = False) -> None:
        """Reflow a snapshot of the current model, or (again=True) the last reflowed model once more."""
        if self.phase != "idle" or self.services.closed:
            return
        if not self.state.has_target():
            self.ui.show_message("reflow: pick a non-empty preset first", error=True)
            return
        if again and self.result is None:
            self.ui.show_message("reflow: nothing reflowed yet to reflow again", error=True)
            return
        self._again = again
        self._set_phase("waiting")
        if again:
            self._launch(self.result.reflowed, self.result.rectified)
        else:
            self.services.model.snapshot(self._on_snapshot)

    def cancel(self) -> None:
        if self.phase == "running":
            self.runner.cancel()
        elif self.phase == "waiting":
            self._set_phase("idle")
            self.status.setText("reflow cancelled")

    def is_running(self) -> bool:
        return self.phase != "idle"

    # ----- running ----------------------------------------------------------------------------------
    def _set_phase(self, phase: str) -> None:
        self.phase = phase
        self.run_button.setEnabled(phase == "idle")
        self.cancel_button.setEnabled(phase != "idle")
        if phase == "waiting":
            self.progress.setValue(0)

    def _on_snapshot(self, source) -> None:
        if self.phase != "waiting":
            return
        if source is None:
            self._set_phase("idle")
            self.ui.show_message("reflow: no model yet (train one first)", error=True)
            return
        self._launch(source, 0)

    def _launch(self, base: ModelSource, base_rectified: int) -> None:
        s, target = self.state.settings, self.state.preset.target
        pairs, ode_steps, steps = self.pairs, self.ode_steps, self.steps
        config = TrainConfig(seed=s.seed, device=s.device, batch=s.batch)
        reflow = Reflow(target, base.model, pairs=pairs, ode_steps=ode_steps, seed=s.seed,
                        base_reflowed=base_rectified, config=config)

        def job(progress, stop):
            for p in reflow.run(steps=steps):
                share = p.done / max(p.total or 1, 1)
                fraction = COUPLE_SHARE * share if p.phase == "couple" else COUPLE_SHARE + (1 - COUPLE_SHARE) * share
                if not progress(fraction):
                    raise Cancelled()
            reflowed = reflow.trainer.source()
            report = {name: few_step_report(src.model, target, REPORT_STEPS, seed=s.seed)
                      for name, src in (("base", base), ("reflowed", reflowed))}
            return ReflowResult(base, reflowed, reflow.reflowed, len(reflow.x0), report)

        self._set_phase("running")
        self.status.setText(f"reflow: integrating the base ODE for {pairs} pairs, then {steps} training steps…")
        self.runner.start(job)

    def _on_finished(self, result: ReflowResult) -> None:
        self._set_phase("idle")
        self.progress.setValue(1000)
        self.result = result
        self.state.set_reflow(result)
        b, r = result.report["base"], result.report["reflowed"]
        ks = "/".join(str(k) for k in REPORT_STEPS)
        sw2_base = "/".join(f"{b['sw2'][k]:.2f}" for k in REPORT_STEPS)
        sw2_reflowed = "/".join(f"{r['sw2'][k]:.2f}" for k in REPORT_STEPS)
        self.status.setText(f"{result.rectified}-rectified on {result.pairs} pairs (flow schedule), base → reflowed:\n"
                            f"  straightness {b['straightness']:.3f} → {r['straightness']:.3f}\n"
                            f"  SW2 at {ks} steps: {sw2_base} → {sw2_reflowed}\n"
                            "The reflowed model has no exact counterpart.")
        self.ui.show_message("reflow done: the Compare dock offers 'base model' and 'reflowed model' "
                             "(try 'base vs reflowed')")

    def _on_failed(self, msg: str) -> None:
        self._set_phase("idle")
        self.status.setText("reflow failed")
        self.ui.show_message(f"reflow failed: {msg}", error=True)

    def _on_cancelled(self) -> None:
        self._set_phase("idle")
        self.progress.setValue(0)
        self.status.setText("reflow cancelled")

    def _forget(self) -> None:
        """A new target: a running reflow and the reflowed models belong to the old one."""
        if self.phase == "running":
            self.runner.cancel()
        elif self.phase == "waiting":
            self._set_phase("idle")
        if self.result is not None:
            self.result = None
            self.state.set_reflow(None)


def install(state, services, ui) -> ReflowPanel:
    panel = ReflowPanel(state, services, ui)
    ui.add_section(panel)
    ui.add_action("tools", "Reflow the model…", "reflowAction",
                  "Rectified flow: retrain on the current model's own noise → sample pairs so its paths "
                  "straighten (progress and cancel in the controls' Reflow section)", panel.start)
    ui.add_action("tools", "Reflow the reflowed model again", "reflowAgainAction",
                  "2-, 3-rectified: reflow the last reflowed model once more", lambda: panel.start(again=True))
    return panel
