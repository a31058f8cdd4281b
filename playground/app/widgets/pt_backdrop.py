"""The backdrop behind the particles that follows the frame: off, p₀, exact p_t, learned p_t.

Exact grids come from maths.grids.noised' LRU cache (tens of ms on a miss, free on playback's
second pass). A learned grid costs one PF-ODE solve over a coarse grid (about a second, more
under load), so it is computed in one background thread, newest request wins, within a time
budget; until it exists the backdrop is absent and the note says so: never a stand-in picture.
"""
from __future__ import annotations

import threading
import time

import numpy as np
from PySide6.QtCore import QObject, QRectF, Signal

from playground.maths.grids.noised import LEARNED_RES, PtGridCache, grid_image, learned_pt_grid
from playground.maths.progress import Cancelled
from playground.app.core.errors import report

MODES = {                         # key -> densityModeCombo text
    "off": "off",
    "target": "target p₀",
    "exact": "p_t exact (noised mixture at the frame's α, σ)",
    "learned": "p_t learned (probability-flow ODE, coarse grid)",
}
LEARNED_BUDGET_S = 20.0


def view_rect(view: dict) -> QRectF:
    (x0, x1), (y0, y1) = view["xlim"], view["ylim"]
    return QRectF(x0, y0, x1 - x0, y1 - y0)


class PtBackdrop(QObject):
    """image_for(mode, ...) -> (image in [0, 1] or None, data rect or None, note for the UI)."""

    learnedReady = Signal()       # a learned grid was stored (or given up): ask image_for again

    def __init__(self, cache: PtGridCache | None = None, learned_res: int = LEARNED_RES,
                 budget_s: float = LEARNED_BUDGET_S, parent=None):
        super().__init__(parent)
        self.cache = cache or PtGridCache()
        self.learned_res, self.budget_s = int(learned_res), float(budget_s)
        self._lock = threading.Lock()
        self._wanted = None           # the newest learned request (key tuple)
        self._failed: dict[tuple, str] = {}
        self._thread: threading.Thread | None = None
        self._closing = False

    def image_for(self, mode: str, target, view: dict, alpha: float, sigma: float, source=None,
                  version: int = 0):
        if mode == "off":
            return None, None, ""
        if mode == "target":
            return grid_image(self.cache.exact(target, 1.0, 0.0, view, version=version)), view_rect(view), \
                "target density p₀"
        if mode == "exact":
            grid = self.cache.exact(target, alpha, sigma, view, version=version)
            return grid_image(grid), view_rect(view), f"exact p_t at σ/α = {sigma / alpha:.3g}"
        if mode != "learned":
            raise ValueError(f"unknown backdrop mode {mode!r} (one of {', '.join(MODES)})")
        if source is None:
            return None, None, "p_t learned: absent (no trained model yet)"
        grid = self.cache.learned(source, alpha, sigma, view, self.learned_res, version)
        if grid is not None:
            return grid_image(grid), view_rect(view), \
                f"learned p_t ({self.learned_res}×{self.learned_res}, PF-ODE) at σ/α = {sigma / alpha:.3g}"
        key = (id(source), float(alpha), float(sigma), tuple(view["xlim"]), tuple(view["ylim"]), version)
        if key in self._failed:
            return None, None, f"p_t learned: absent ({self._failed[key]})"
        self._request(key, source, alpha, sigma, view, version)
        return None, None, f"p_t learned: absent while it is computed ({self.learned_res}×{self.learned_res} grid)"

    def shutdown(self, wait_s: float = 2.0) -> None:
        """Stop the background solve (at its next batch) and wait for it briefly."""
        self._closing = True
        with self._lock:
            self._wanted = None
        if self._thread is not None:
            self._thread.join(wait_s)

    def _request(self, key, source, alpha, sigma, view, version) -> None:
        with self._lock:
            self._wanted = (key, source, alpha, sigma, dict(view), version)
            if self._thread is not None and self._thread.is_alive():
                return                      # the running loop picks the newest request next
            self._thread = threading.Thread(target=self._loop, name="learned-pt", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._closing:
            with self._lock:
                job, self._wanted = self._wanted, None
            if job is None:
                return
            key, source, alpha, sigma, view, version = job
            deadline = time.monotonic() + self.budget_s

            def stop():
                return self._closing or self._wanted is not None or time.monotonic() >= deadline
            try:
                grid = learned_pt_grid(source, alpha, sigma, view, self.learned_res, stop=stop)
            except Cancelled:
                if time.monotonic() >= deadline:
                    self._failed[key] = f"the ODE solve needs more than {self.budget_s:g} s here"
                    self.learnedReady.emit()
                continue
            except Exception as exc:  # noqa: BLE001 - shown as the reason it is absent
                self._failed[key] = report("failed", exc)
                self.learnedReady.emit()
                continue
            self.cache.store_learned(source, alpha, sigma, view, np.asarray(grid), self.learned_res, version)
            self.learnedReady.emit()
