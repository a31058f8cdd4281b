"""An edit shows at once; the exact target follows off the GUI thread.

Compiling a drawing into a validated Preset and making it current (views, the trainer's warm
start, charts) took 0.3–1.5 s per edit of a 1000-point sketch. Now an edit first repaints the
particle view's target density straight from the document: the very mixture the "sketch" compiler
builds, summed on the grid by one matrix product (maths.grids.density, milliseconds). The compile
runs in a TaskRunner thread, newest edit wins (a superseded job is dropped before it starts, never
queued behind), and its Preset is made current on the GUI thread when it is ready; that repaints
the same picture from the compiled target, so no preview is ever left standing.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal

from playground.formats.drawing import Sketch, SketchDocument
from playground.maths.mixture import GaussianMixture
from playground.maths.grids.density import grid_log_prob
from playground.maths.grids.noised import EXACT_RES, grid_axes, grid_image
from playground.maths.progress import Cancelled
from playground.app.widgets.pt_backdrop import view_rect


def sketch_mixture(state: Sketch) -> GaussianMixture | None:
    """The mixture the "sketch" compiler makes of this snapshot, without its JSON validation:
    point i weighs points_weight * w_i / Σw (w = 1 unless loaded with weights), Gaussian k its weight."""
    w, mu, cov = [], [], []
    n = len(state.points)
    if n:
        pw = np.ones(n) if state.weights is None else np.asarray(state.weights, np.float64)
        w.append(state.points_weight * pw / pw.sum())
        mu.append(state.points)
        cov.append(np.broadcast_to(np.eye(2) * state.bandwidth ** 2, (n, 2, 2)))
    for g in state.gaussians:
        w.append([g.weight])
        mu.append([g.mean])
        cov.append([g.cov])
    if not w:
        return None
    return GaussianMixture(np.concatenate(w), np.concatenate(mu), np.concatenate(cov))


def preview_image(state: Sketch, view: dict, res: int = EXACT_RES) -> np.ndarray | None:
    """The target-density picture of a snapshot, exactly as the backdrop draws the compiled target
    (p / max p on its res x res grid); None for an empty drawing."""
    mix = sketch_mixture(state)
    return None if mix is None else grid_image(grid_log_prob(mix, *grid_axes(view, res)))


class EditApplier(QObject):
    """submit(doc) after each edit: preview now, compile in the background, `compiled` when ready."""

    compiled = Signal(object)        # the Preset of the newest submitted snapshot
    failed = Signal(str)
    _ready = Signal(object)          # queued to ourselves: the view paints the edit before the swap

    def __init__(self, services, view, name: str, parent=None):
        super().__init__(parent)
        self.view, self.name = view, name
        self.runner = services.tasks("sketchCompileThread", self)
        self.runner.finished.connect(self._ready.emit)
        self._ready.connect(self._on_finished, Qt.ConnectionType.QueuedConnection)
        self.runner.failed.connect(self._on_failed)
        self.pending: Sketch | None = None       # the snapshot being compiled (None: settled)

    def submit(self, doc: SketchDocument, preview: bool = True) -> None:
        state, view = doc.state, {k: list(v) for k, v in doc.view.items()}
        self.pending = state
        if preview:
            img = preview_image(state, view)
            self.view.set_backdrop(img, view_rect(view) if img is not None else None)
        name = self.name

        def compile_it(progress, stop):
            if stop.is_set():            # a newer edit was submitted before this one started
                raise Cancelled()
            return state, SketchDocument(state, view).to_preset(name)
        self.runner.start(compile_it)

    def cancel(self) -> None:
        """Another target was made current: the pending drawing must not replace it."""
        self.pending = None
        self.runner.cancel()

    def _on_finished(self, result) -> None:
        """One event-loop pass after the compile finished: a repaint the edit asked for (posted
        before the compile started) has been handled first."""
        state, preset = result
        if state is self.pending:        # stale results never arrive (the runner drops them); be sure
            self.pending = None
            self.compiled.emit(preset)

    def _on_failed(self, message: str) -> None:
        self.pending = None
        self.failed.emit(message)
