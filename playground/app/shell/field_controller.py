"""The score field under the particles: which model copy it shows, at which noise level, how often.

It draws the model copy the training worker last published (services.model.snapshotPublished: after
a reset or load and every half second of training); during playback the field follows the frame on
screen at most every FIELD_FRAME_MS, with a trailing refresh so it always lands on the frame left
on screen.
"""
from __future__ import annotations

import math
import time

from PySide6.QtCore import QObject, QTimer

from playground.maths.schedules import get_schedule
from playground.app.widgets.field_view import FieldLayer
from playground.app.core.state import AppState
from playground.app.core.errors import reported

FIELD_LEVEL_BEFORE_SAMPLING = 0.3     # sigma (alpha = 1) shown before any sampler run
FIELD_FRAME_MS = 66                   # during playback the field follows frames at most at 15 Hz: the
                                      # particles carry the motion; arrows every frame halved 10k fps


def field_level(frames, i: int) -> tuple[float, float]:
    """(alpha, sigma) at which to draw the field for frame i: its own level where the score exists,
    else the lowest positive level of the run."""
    if frames is None or not len(frames):
        return 1.0, FIELD_LEVEL_BEFORE_SAMPLING
    a, s = frames.alpha[i], frames.sigma[i]
    if not (s > 0 and a > 0) or frames.level[i] > 1e4:
        a, s = frames.smallest_positive() if s <= 0 else (a, s)
    return a, s


class FieldController(QObject):
    def __init__(self, state: AppState, model, field_view, info_label, on_error, parent=None):
        super().__init__(parent)
        self.state, self.model = state, model
        self.layer = FieldLayer(field_view)
        self.info = info_label
        self.on_error = on_error            # fn(text): a failed refresh goes to the banner
        self.source = None                  # the CPU model copy drawn (None: exact field only)
        self._refreshed_at = 0.0
        self._last_key = None
        self.follow = QTimer(self)
        self.follow.setSingleShot(True)
        self.follow.timeout.connect(self.refresh)
        model.snapshotPublished.connect(self._on_source)
        state.generationChanged.connect(lambda *_: setattr(self, "source", None))
        state.frameShown.connect(lambda *_: self.refresh_soon())
        state.settingsChanged.connect(self._on_settings)

    def _on_source(self, source) -> None:
        self.source = source
        self.refresh()

    def _on_settings(self, settings, changed, origin) -> None:
        if changed & {"exact", "error", "velocity"} or (settings.velocity and "schedule" in changed):
            self.layer.show_exact, self.layer.show_error = settings.exact, settings.error
            self.refresh()

    def _drawn_key(self) -> tuple:
        """What the drawn field depends on that a shown frame can change: model copy and noise level."""
        return (id(self.source), id(self.state.preset), field_level(self.state.run, self.state.frame_index))

    def refresh_soon(self) -> None:
        if self._drawn_key() == self._last_key:
            return          # same model copy at the same level (live samples show one frame each time)
        now = time.perf_counter()
        if now - self._refreshed_at >= FIELD_FRAME_MS / 1000:
            self.follow.stop()
            self.refresh()
        elif not self.follow.isActive():
            self.follow.start(FIELD_FRAME_MS)

    def refresh(self) -> None:
        if not self.state.has_target():
            return
        with reported("refresh field", self.on_error):    # a bad evaluation is a banner line
            self._refresh()

    def _refresh(self) -> None:
        self._refreshed_at = time.perf_counter()
        self._last_key = self._drawn_key()
        a, s = field_level(self.state.run, self.state.frame_index)
        layer, settings = self.layer, self.state.settings
        schedule = get_schedule(settings.schedule) if settings.velocity else None
        what = "score"
        if schedule is not None:     # the grid is read in the schedule's own frame at that noise level
            t = schedule.t_of_level(s / a)
            a, s = float(schedule.alpha(t)), float(schedule.sigma(t))
            what = f"velocity ({settings.schedule}, t = {t:.3g})"
        layer.update(self.state.view, self.state.preset.target, self.source, a, s, schedule)
        layer.plot.setTitle("Velocity field (sampling direction)" if schedule else "Score field")
        text = f"{what}  σ/α = {s / a:.3g}  ({layer.last_eval_ms:.1f} ms)"
        if layer.show_error and not math.isnan(layer.last_error):
            text += f"  weighted rel. error {layer.last_error:.3f} (peak {layer.last_peak:.2f})"
        self.info.setText(text)

    def clear(self) -> None:
        self.layer.clear()

    def stop(self) -> None:
        self.follow.stop()
