"""Play a guided tour without anyone watching (the CLI's `tour NAME --screenshots DIR`).

The real window, offscreen: each stop is walked with the panel's own Next button, and once the
stop's window is set up, a grab of the whole main window is saved as 01.png, 02.png, ...
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

STOP_LIMIT_S = 90.0         # far above the 10 s a stop may take: a stuck stop fails, never hangs


class TourFailed(RuntimeError):
    pass


def play_tour(name: str, out_dir, size: tuple[int, int] = (1400, 860), window=None) -> dict:
    """Play tour `name`, write one PNG per stop into out_dir; returns {"tour", "stops", "questions",
    "seconds", "stop_seconds"}. With `window` (a shown MainWindow), that one plays it and stays open."""
    from PySide6.QtWidgets import QApplication
    from playground.app.core.threads import wait_events

    app = QApplication.instance() or QApplication(sys.argv[:1])
    own = window is None
    if own:
        from playground.app.shell.main_window import MainWindow
        window = MainWindow()
        window.resize(*size)
        window.show()
        app.processEvents()
    player = window.features["tours"]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    try:
        try:
            player.start(name)
        except Exception as exc:        # a tour naming what this window lacks: one line, not a traceback
            raise TourFailed(str(exc)) from None
        tour = player.tour
        for k in range(len(tour.stops)):
            if k:
                player.panel.next.click()
            if not wait_events(lambda: player.ready, STOP_LIMIT_S):
                raise TourFailed(f"tour {name}: stop {k + 1} was not ready after {STOP_LIMIT_S:g} s")
            app.processEvents()
            path = out / f"{k + 1:02d}.png"
            if not window.grab().save(str(path), "PNG"):
                raise TourFailed(f"could not write {path}")
        seconds = time.perf_counter() - t0
        result = {"tour": name, "stops": len(tour.stops), "questions": tour.questions, "seconds": round(seconds, 2),
                  "stop_seconds": [round(s, 2) for s in player.stop_seconds]}
        player.close()
        return result
    finally:
        if own:
            window.close()
            window.shutdown()
