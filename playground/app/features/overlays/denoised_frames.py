"""x̂₀ of each frame of a run for the overlay, without stalling playback on the GUI thread.

One frame's x̂₀ is one denoiser evaluation on all particles: the learned model takes ~0.5 ms per
thousand particles, the exact posterior mean ~0.04 ms per thousand particles per mixture component
(a 10k-particle spiral: ~0.4 s). A frame whose estimated cost fits SYNC_MS is computed at once,
where it is asked for; dearer frames are computed in a TaskRunner thread from the asked frame
onwards (where playback is heading) for about JOB_S seconds, the newest request winning, and
`ready` asks the overlay to draw again. Results are cached per run and score source, at most
budgets.DENOISED_BYTES of them (the least recently shown frames go first).
"""
from __future__ import annotations

import time

from PySide6.QtCore import QObject, Signal

from playground.maths.budgets import DENOISED_BYTES, ByteLRU
from playground.maths.denoised import denoised_at

SYNC_MS = 4.0                   # at most this much of a 33 ms frame goes to x̂₀ on the GUI thread
JOB_S = 0.3                     # a background job returns (and the overlay draws) at least this often
MODEL_MS_PER_POINT = 5e-4
EXACT_MS_PER_POINT_COMPONENT = 4e-5


class DenoisedFrames(QObject):
    ready = Signal()            # newly computed frames are in the cache

    def __init__(self, services, parent=None, max_bytes: int = DENOISED_BYTES):
        super().__init__(parent)
        self.runner = services.tasks("denoisedThread", self)
        self.runner.finished.connect(self._on_job)
        self._key = None            # (frames, kind) the cache belongs to
        self._cache = ByteLRU(max_bytes)       # frame index -> x̂₀ (n, 2)
        self._asked: int | None = None
        self._ms_per_point: dict[str, float] = {}

    @property
    def nbytes(self) -> int:
        """Bytes of x̂₀ frames held now (at most the budget)."""
        return self._cache.nbytes

    def clear(self) -> None:
        self.runner.cancel()
        self._key, self._asked = None, None
        self._cache.clear()

    def estimate_ms(self, source, kind: str, n: int) -> float:
        if kind in self._ms_per_point:
            return self._ms_per_point[kind] * n
        if kind == "exact":
            return EXACT_MS_PER_POINT_COMPONENT * n * len(source.target.mixture)
        return MODEL_MS_PER_POINT * n

    def get(self, frames, k: int, source, kind: str):
        """x̂₀ of frame k (n, 2), or None while it is being computed in the background."""
        if self._key is None or self._key[0] is not frames or self._key[1] != kind:
            self.clear()
            self._key = (frames, kind)
        if k in self._cache:
            return self._cache.get(k)
        if self.estimate_ms(source, kind, len(frames.x[k])) <= SYNC_MS:
            out = self._timed(source, kind, frames, k)
            self._cache.put(k, out, out.nbytes)
            return out
        if self._asked != k or not self.runner.busy:
            self._asked = k
            key = self._key
            self.runner.start(lambda progress, stop: (key, self._job(source, kind, frames, k, stop)))
        return None

    def _timed(self, source, kind: str, frames, k: int):
        t0 = time.perf_counter()
        out = denoised_at(source, frames.x[k], frames.alpha[k], frames.sigma[k])
        if frames.sigma[k] > 0:
            self._ms_per_point[kind] = 1000 * (time.perf_counter() - t0) / max(len(out), 1)
        return out

    def _job(self, source, kind: str, frames, k: int, stop) -> dict:
        """Frames k, k+1, ... (then the start of the run) until JOB_S has passed or they fill the
        budget; runs in the thread."""
        out, t_end, held = {}, time.perf_counter() + JOB_S, 0
        order = list(range(k, len(frames))) + list(range(k))
        for j in order:
            full = held + frames.x[j].nbytes > self._cache.max_bytes
            if stop.is_set() or (out and (time.perf_counter() > t_end or full)):
                break
            if j not in self._cache:
                out[j] = denoised_at(source, frames.x[j], frames.alpha[j], frames.sigma[j])
                held += out[j].nbytes
        return out

    def _on_job(self, result) -> None:
        key, out = result
        if self._key is not None and key[0] is self._key[0] and key[1] == self._key[1]:
            for j, value in reversed(list(out.items())):      # the asked frame last: the last to go
                self._cache.put(j, value, value.nbytes)
            self._asked = None
            self.ready.emit()
