"""What the particle view adds to the frame on screen: x̂₀, the carried mesh, and a p_t backdrop.

Everything drawn is computed before paint: x̂₀ once per frame of a run (cached; dear frames in a
TaskRunner thread, see denoised_frames), the mesh once per run in a TaskRunner thread, the
backdrop by PtBackdrop (exact grids cached per level, the learned one in its own thread, absent
until it exists). Observes frameShown / runChanged / targetChanged; draws through
ui.add_overlay and the particle view's backdrop.
"""
from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QCheckBox, QComboBox, QGroupBox, QLabel, QVBoxLayout

from playground.maths.mesh import MESH_RES, carry_mesh, noise_grid
from playground.maths.sources import ExactSource
from playground.maths.samplers.explanations import DENOISED_LINE
from playground.app.features.overlays.denoised_frames import DenoisedFrames
from playground.app.widgets.overlay_items import DenoisedOverlayItem, MeshItem
from playground.app.widgets.pt_backdrop import MODES, PtBackdrop
from playground.app.core.errors import reported

DEFAULT_MODE = "target"


class FrameOverlays(QObject):
    def __init__(self, state, services, ui):
        super().__init__(services)
        self.state, self.services, self.ui = state, services, ui
        self.view = ui.views["particles"]
        self.denoised_item, self.mesh_item = DenoisedOverlayItem(), MeshItem()
        self.denoised_item.setVisible(False)
        self.mesh_item.setVisible(False)
        ui.add_overlay(self.denoised_item)
        ui.add_overlay(self.mesh_item)
        self.backdrop = PtBackdrop(parent=self)
        self._shown_key = None
        self.backdrop.learnedReady.connect(self.show_backdrop)
        self.denoised = DenoisedFrames(services, self)
        self.denoised.ready.connect(self.show_frame)
        self.mesh = None
        self.mesh_runner = services.tasks("meshThread", self)
        self.mesh_runner.finished.connect(self._on_mesh)
        self.mesh_runner.failed.connect(lambda msg: self.mesh_label.setText(f"mesh failed: {msg}"))
        self._build_section()
        state.frameShown.connect(lambda *_: self.show_frame())
        state.runChanged.connect(self._on_frames)
        state.presetChanged.connect(lambda *_: self._on_target())
        state.settingsChanged.connect(self._on_settings)
        services.on_shutdown(self.backdrop.shutdown)
        services.parts.register("frame_overlays", self.get_state, self.set_state)
        self.show_backdrop()

    def _build_section(self) -> None:
        self.denoised_check = QCheckBox("x̂₀: each particle's denoised estimate", objectName="denoisedCheck")
        self.denoised_check.setToolTip(DENOISED_LINE)
        self.mesh_check = QCheckBox(f"Mesh: a {MESH_RES}×{MESH_RES} noise grid carried by the run",
                                    objectName="meshCheck")
        self.mesh_check.setToolTip("Initial-noise grid points joined by lines, moved by the same run "
                                   "(by the probability-flow ODE for stochastic samplers): the flow map")
        self.mesh_label = QLabel("", objectName="meshNote")
        self.mesh_label.setWordWrap(True)
        self.mode_combo = QComboBox(objectName="densityModeCombo")
        for key, text in MODES.items():
            self.mode_combo.addItem(text, key)
        self.mode_combo.setCurrentIndex(self.mode_combo.findData(DEFAULT_MODE))
        self.mode_combo.setToolTip("Backdrop behind the particles; p_t follows the frame's α and σ")
        self.backdrop_note = QLabel("", objectName="densityModeNote")
        self.backdrop_note.setWordWrap(True)
        box = QGroupBox("Why they move", objectName="frameOverlaysSection")
        lay = QVBoxLayout(box)
        for w in (self.denoised_check, self.mesh_check, self.mesh_label, QLabel("Backdrop"),
                  self.mode_combo, self.backdrop_note):
            lay.addWidget(w)
        self.ui.add_section(box)
        self.denoised_check.toggled.connect(lambda *_: self.show_frame())
        self.mesh_check.toggled.connect(self._on_mesh_toggled)
        self.mode_combo.currentIndexChanged.connect(lambda *_: self.show_backdrop())

    # ----- sessions ------------------------------------------------------------------------------
    def get_state(self) -> dict:
        return {"denoised": self.denoised_check.isChecked(), "mesh": self.mesh_check.isChecked(),
                "density_mode": self.mode_combo.currentData()}

    def set_state(self, d: dict) -> None:
        self.denoised_check.setChecked(bool(d.get("denoised", False)))
        self.mesh_check.setChecked(bool(d.get("mesh", False)))
        i = self.mode_combo.findData(d.get("density_mode", DEFAULT_MODE))
        if i >= 0:
            self.mode_combo.setCurrentIndex(i)

    # ----- inputs ----------------------------------------------------------------------------------
    def _frame(self):
        f = self.state.run
        if f is None or not len(f):
            return None, -1
        return f, self.state.frame_index

    def score_source(self):
        """The exact oracle when the field shows the exact score or no model made the run, else the run's."""
        run_source = self.state.run_source
        if self.state.settings.exact or run_source is None:
            return ExactSource(self.state.preset.target), "exact"
        return run_source, "learned"

    def _on_target(self) -> None:
        self._shown_key = None            # the window drew the new target's own backdrop
        self.denoised.clear()
        self.mesh = None
        self.show_frame()

    def _on_frames(self, frames) -> None:
        self.denoised.clear()
        self.mesh = None
        self.mesh_runner.cancel()
        if frames is not None and self.mesh_check.isChecked():
            self._start_mesh(frames)
        if frames is None:
            self.show_frame()             # a run draws itself on the frameShown that follows

    def _on_settings(self, settings, changed: set, origin: str) -> None:
        if "exact" in changed:
            self.show_frame()

    # ----- x̂₀ ------------------------------------------------------------------------------------
    def denoised_for(self, k: int):
        """x̂₀ of frame k of the current run, or None while it is computed off the GUI thread."""
        source, kind = self.score_source()
        return self.denoised.get(self.state.run, k, source, kind)

    # ----- mesh --------------------------------------------------------------------------------------
    def _on_mesh_toggled(self, on: bool) -> None:
        f, _ = self._frame()
        if on and self.mesh is None and f is not None:
            self._start_mesh(f)
        self.show_frame()

    def _start_mesh(self, frames) -> None:
        source = self.state.run_source
        if source is None or not self.state.has_target():
            source = ExactSource(self.state.preset.target) if self.state.has_target() else None
        if source is None:
            return
        sampler, steps, schedule = frames.sampler, int(max(frames.step)), frames.schedule
        fs, fa, fsig = list(frames.step), list(frames.alpha), list(frames.sigma)
        eps = noise_grid()
        self.mesh_label.setText("mesh: carrying the grid …")
        self.mesh_runner.start(lambda progress, stop: (frames, carry_mesh(
            sampler, source, eps, max(steps, 1), schedule, fs, fa, fsig)))

    def _on_mesh(self, result) -> None:
        frames, mesh = result
        if frames is not self.state.run:
            return
        self.mesh = mesh
        self.mesh_label.setText(mesh.label)
        self.show_frame()

    # ----- drawing -----------------------------------------------------------------------------------
    def show_frame(self) -> None:
        f, k = self._frame()
        with reported("overlay", self.ui.error):       # one banner line, the frame still shows
            denoised = self.denoised_for(k) if f is not None and self.denoised_check.isChecked() else None
            if denoised is not None:
                self.denoised_item.set_frame(f.x[k], denoised)
                self.denoised_item.setVisible(True)
            else:
                self.denoised_item.setVisible(False)
            if f is not None and self.mesh_check.isChecked() and self.mesh is not None:
                self.mesh_item.set_mesh(self.mesh.states[k], self.mesh.res)
                self.mesh_item.setVisible(True)
            else:
                self.mesh_item.setVisible(False)
        self.show_backdrop()

    def show_backdrop(self) -> None:
        if not self.state.has_target():
            return
        mode = self.mode_combo.currentData()
        f, k = self._frame()
        alpha, sigma = (1.0, 0.0) if f is None else (f.alpha[k], f.sigma[k])
        source = self.state.run_source
        learned = None if source is None or getattr(source, "name", "") == "exact" else source
        key = (mode, id(self.state.preset), str(self.state.view), id(learned)) + \
            ((alpha, sigma) if mode in ("exact", "learned") else ())
        if key == self._shown_key:
            return                    # a static backdrop: no repaint of the view's cached background
        img, rect, note = None, None, ""
        with reported("backdrop failed") as outcome:      # the reason shows under the view
            img, rect, note = self.backdrop.image_for(mode, self.state.preset.target, self.state.view,
                                                      alpha, sigma, learned)
        note = outcome.failed or note
        self.view.set_backdrop(img, rect)
        self.backdrop_note.setText(note)
        self._shown_key = key if img is not None or mode == "off" else None


def install(state, services, ui) -> FrameOverlays:
    return FrameOverlays(state, services, ui)
