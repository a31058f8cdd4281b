"""Peak resident memory of the window on one preset, for `bench`'s peak_rss_mb.

`python -m playground.app.bench.rss_probe PRESET SECONDS` opens the window as a user would, picks
PRESET, turns on the heaviest everyday views (live samples while training, the x̂₀ overlay and the
exact p_t backdrop), runs it for SECONDS and prints `peak-rss <window MB> <sampling process MB>`.
A fresh process per preset: a peak is a property of one session, and windows opened earlier in
the same process would count towards it.
"""
from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _hwm_mb(pid: int) -> float | None:
    """The process's peak resident set so far (Linux: VmHWM), None where the system does not say."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _rss_mb(pid: int) -> float:
    """The process's resident MB now (Linux: /proc/PID/statm); elsewhere this process's own peak
    (resource), and 0 for another process. The standard library only: bench runs in the test venv."""
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    if pid == os.getpid():
        try:
            import resource
        except ImportError:          # Windows
            return 0.0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 1024
    return 0.0


def peak_rss(preset: str, seconds: float) -> tuple[float, float]:
    """(window MB, sampling process MB): peaks over a session of `seconds` with live samples, x̂₀
    and the exact p_t on; where the system keeps no peak, the largest of samples taken every 0.2 s."""
    from PySide6.QtWidgets import QApplication
    from playground.app.bench.bench_window import _overlay_on, _run_loop
    from playground.app.shell.launch import quiet_qt_messages
    from playground.app.shell.main_window import MainWindow
    app = QApplication.instance() or QApplication([])
    quiet_qt_messages()
    w = MainWindow()
    seen = {"window": 0.0, "child": 0.0}
    try:
        w.show()
        _run_loop(app, 1.0)            # as a user's session: the window settles on its first preset, then P is picked
        w.set_preset(preset)
        _overlay_on(w, "denoised")
        _overlay_on(w, "pt_exact")
        w.features["live_samples"].check.setChecked(True)
        w.set_training(True)
        process = w.services.sampling.live.process
        t_end = time.perf_counter() + seconds
        while time.perf_counter() < t_end:
            _run_loop(app, 0.2)
            seen["window"] = max(seen["window"], _rss_mb(os.getpid()))
            if process is not None and process.pid is not None:
                seen["child"] = max(seen["child"], _hwm_mb(process.pid) or _rss_mb(process.pid))
        window = max(seen["window"], _hwm_mb(os.getpid()) or 0.0)
        return window, seen["child"]
    finally:
        w.close()
        w.shutdown()


if __name__ == "__main__":
    window_mb, child_mb = peak_rss(sys.argv[1], float(sys.argv[2]))
    print(f"peak-rss {window_mb:.1f} {child_mb:.1f}", flush=True)
