"""Rasterise particle sets to RGB frames (numpy only) for GIF export without a window."""
from __future__ import annotations

import numpy as np

BG = np.array([250, 250, 252], dtype=np.float64)
INK = np.array([40, 70, 160], dtype=np.float64)


def frame(x: np.ndarray, xlim, ylim, size: int = 256, background: np.ndarray | None = None,
          progress: float | None = None) -> np.ndarray:
    """An RGB uint8 image of points x (n, 2); denser pixels are darker; a bar shows progress."""
    h, _, _ = np.histogram2d(x[:, 1], x[:, 0], bins=size, range=[ylim, xlim])
    h = h[::-1]
    level = 1.0 - np.exp(-h / max(1.0, np.percentile(h[h > 0], 90) if np.any(h > 0) else 1.0) * 1.5)
    base = np.broadcast_to(BG, (size, size, 3)) if background is None else background
    img = base * (1 - level[..., None]) + INK * level[..., None]
    if progress is not None:
        img[-4:, : max(1, int(round(progress * size)))] = (200, 80, 40)
    return img.clip(0, 255).astype(np.uint8)


def density_background(target, xlim, ylim, size: int = 256) -> np.ndarray:
    """A faint shaded image of the exact density behind the particles."""
    xs = np.linspace(*xlim, size)
    ys = np.linspace(*ylim, size)[::-1]
    gx, gy = np.meshgrid(xs, ys)
    lp = target.log_prob(np.stack([gx.ravel(), gy.ravel()], 1)).numpy().reshape(size, size)
    p = np.exp(lp - lp.max())
    shade = np.array([255, 225, 190], dtype=np.float64)
    return BG * (1 - 0.6 * p[..., None]) + shade * 0.6 * p[..., None]


def write_gif(path, frames: list[np.ndarray], fps: float = 20.0) -> None:
    import imageio.v3 as iio
    from playground.formats.io_utils import atomic_path
    with atomic_path(path) as tmp:
        iio.imwrite(tmp, np.stack(frames), extension=".gif", duration=1000.0 / fps, loop=0)
