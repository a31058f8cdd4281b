"""Paint cost of the particle-view overlays at 10k particles, offscreen, for `bench` and tuning.

A frame budget of 33 ms (30 fps) has to hold the particles, the x̂₀ lines and dots and the mesh;
grab() renders the whole plot through the same raster engine as the screen.
"""
from __future__ import annotations

import os
import statistics
import time

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def overlay_paint_ms(n: int = 10_000, repeats: int = 15, size=(900, 700)) -> dict:
    """grab() milliseconds of a PlotWidget holding n particles, alone and with each overlay:
    (median, fastest) over repeats; on a shared machine the fastest is the nearer to the cost."""
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    from playground.maths.mesh import noise_grid
    from playground.app.widgets.overlay_items import DenoisedOverlayItem, MeshItem
    from playground.app.widgets.particle_item import ParticleItem, start_colour_bins

    app = QApplication.instance() or QApplication([])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 2)) * 1.5
    denoised = 0.6 * x + 0.1 * rng.normal(size=(n, 2))
    w = pg.PlotWidget()
    w.resize(*size)
    w.setXRange(-4, 4)
    w.setYRange(-4, 4)
    w.show()
    app.processEvents()
    particles = ParticleItem()
    particles.set_colours(*start_colour_bins(x))
    particles.set_positions(x)
    w.addItem(particles)
    overlay, mesh = DenoisedOverlayItem(), MeshItem()
    w.addItem(overlay)
    w.addItem(mesh)

    def median_ms() -> tuple[float, float]:
        w.grab()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            w.grab()
            times.append(1000 * (time.perf_counter() - t0))
        return statistics.median(times), min(times)

    out = {"particles": median_ms()}
    t0 = time.perf_counter()
    overlay.set_frame(x, denoised)
    out["denoised_set_frame"] = (1000 * (time.perf_counter() - t0),) * 2
    out["particles+denoised"] = median_ms()
    mesh.set_mesh(noise_grid() * 1.3, 24)
    out["particles+denoised+mesh"] = median_ms()
    overlay.clear()
    out["particles+mesh"] = median_ms()
    w.close()
    return out


if __name__ == "__main__":
    for key, (median, fastest) in overlay_paint_ms().items():
        print(f"{key:26s} median {median:6.1f} ms   fastest {fastest:6.1f} ms")
