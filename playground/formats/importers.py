"""Points (.csv, .npy) and images (.png, .jpg) read into plain arrays, with their cost bounded
before any decoding: the file size from the file system, an .npy's shape and dtype from its
header, an image's width and height from its header. Warnings from numpy or the image decoder
become the one error line instead of extra stderr lines.
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np

from playground.formats import validate as v
from playground.formats.validate import PresetError

MAX_IMAGE_SIDE = 48        # image cells on the long side after block averaging


def check_size(path: Path, limit: int = v.MAX_FILE_BYTES) -> None:
    try:
        size = path.stat().st_size
    except OSError as e:
        raise PresetError(f"{path}: cannot read ({e.strerror})") from None
    if size > limit:
        raise PresetError(f"{path}: file is too large ({size / 2**20:.1f} MB, {size:,} bytes); "
                          f"the limit is {limit // 2**20} MB")
    if size == 0:
        raise PresetError(f"{path}: file is empty")


def _read_npy(path: Path) -> np.ndarray:
    """An .npy array, its header (magic, dtype, shape) checked before the data is read."""
    with open(path, "rb") as fh:
        try:
            version = np.lib.format.read_magic(fh)
        except ValueError:
            raise PresetError(f"{path.name}: not an .npy array (an .npz archive or another format "
                              "under an .npy name?)") from None
        read = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}.get(version)
        if read is None:
            raise PresetError(f"{path.name}: unsupported .npy format version {version}")
        try:
            shape, _, dtype = read(fh)
        except (ValueError, SyntaxError, TypeError) as e:
            raise PresetError(f"{path.name}: not a readable .npy header ({type(e).__name__})") from None
        if dtype.hasobject or dtype.kind not in "iuf":
            raise PresetError(f"{path.name}: expected real numbers, got dtype {dtype}")
        if len(shape) != 2 or shape[1] != 2:
            raise PresetError(f"{path.name}: expected an (N, 2) array of numbers, got shape {shape}")
    try:
        return np.load(path, allow_pickle=False)
    except Exception as e:  # noqa: BLE001 - numpy raises several types for truncated data
        raise PresetError(f"{path.name}: not a readable .npy array ({type(e).__name__})") from None


def _read_csv(path: Path) -> np.ndarray:
    try:
        lines = path.read_text(encoding="utf-8").strip().splitlines()
    except UnicodeDecodeError:
        raise PresetError(f"{path.name}: not a text CSV file") from None
    first = 1
    if lines and not _is_numeric_row(lines[0]):
        head = [c.strip().strip('"').lower() for c in lines[0].split(",")]
        if head[:2] != ["x", "y"] or len(head) != 2:
            raise PresetError(f"{path.name}: header must be 'x,y' (got {lines[0][:40]!r})")
        lines, first = lines[1:], 2
    if len(lines) > v.MAX_IMPORT_POINTS:
        raise PresetError(f"{path.name}: {len(lines):,} rows; the limit is {v.MAX_IMPORT_POINTS:,}")
    rows = []
    for i, line in enumerate(lines, start=first):
        if not line.strip():
            continue
        cells = line.split(",")
        if len(cells) != 2:
            raise PresetError(f"{path.name}: line {i}: expected 2 columns, got {len(cells)}")
        try:
            row = [float(c) for c in cells]
        except ValueError:
            raise PresetError(f"{path.name}: line {i}: not a number ({line.strip()[:40]!r})") from None
        if not all(abs(c) <= v.MAX_COORD for c in row):      # also catches nan and inf
            raise PresetError(f"{path.name}: line {i}: x and y must be finite (no NaN or inf) and within ±{v.MAX_COORD:g} "
                              f"({line.strip()[:40]!r})")
        rows.append(row)
    return np.array(rows, dtype=np.float64).reshape(-1, 2)


def read_points_file(path) -> np.ndarray:
    """(N, 2) finite points from a CSV (header x,y or two numeric columns) or an NPY array."""
    path = Path(path)
    check_size(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        arr = _read_npy(path) if path.suffix.lower() == ".npy" else _read_csv(path)
        return v.points_array(arr, path.name)


def _is_numeric_row(line: str) -> bool:
    try:
        [float(c) for c in line.split(",")]
        return True
    except ValueError:
        return False


def default_bandwidth(points: np.ndarray) -> float:
    """Half of Silverman's rule: keeps drawn shapes crisp while still smooth."""
    n = len(points)
    s = float(np.mean(np.std(points, axis=0))) if n > 1 else 0.3
    return max(0.02, 0.5 * 1.06 * max(s, 1e-3) * n ** (-0.2))


def fit_points_to_view(points: np.ndarray, view, margin=0.85) -> np.ndarray:
    """Centre and scale a point cloud so that it fills the view (imports arrive in any units)."""
    lo, hi = points.min(0), points.max(0)
    centre, span = (lo + hi) / 2, max(float((hi - lo).max()), 1e-9)
    box = min(view["xlim"][1] - view["xlim"][0], view["ylim"][1] - view["ylim"][0]) * margin
    vc = np.array([sum(view["xlim"]) / 2, sum(view["ylim"]) / 2])
    return (points - centre) / span * box + vc


def _open_image(path: Path):
    """The PIL image, its size checked from the header (nothing decoded yet)."""
    from PIL import Image
    try:
        im = Image.open(path)
    except Image.DecompressionBombError:
        raise PresetError(f"{path.name}: image is far too large (over {v.MAX_IMAGE_PIXELS:,} pixels)") from None
    except Exception as e:  # noqa: BLE001 - Pillow raises many types for broken images
        raise PresetError(f"{path.name}: not a readable image ({type(e).__name__})") from None
    w, h = im.size
    if w < 1 or h < 1 or w * h > v.MAX_IMAGE_PIXELS:
        im.close()
        raise PresetError(f"{path.name}: image has {w}x{h} pixels; the limit is {v.MAX_IMAGE_PIXELS / 1e6:g} megapixels")
    return im


def _grey(im) -> tuple[np.ndarray, float]:
    """Decoded pixels as (uint8/float32 array, full-scale value); transparent counts as white."""
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        arr = np.asarray(im, dtype=np.float32)
        return arr, (65535.0 if arr.max() > 255 else 255.0)
    if im.mode not in ("L", "RGB", "RGBA"):
        im = im.convert("RGBA" if ("A" in im.mode or "transparency" in im.info) else "RGB")
    return np.asarray(im), 255.0


def read_image_file(path) -> np.ndarray:
    """Grey values in [0, 1], block-averaged to at most MAX_IMAGE_SIDE cells on the long side.
    The averaging runs one band of rows at a time, so memory stays a few bytes per pixel."""
    path = Path(path)
    check_size(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        im = _open_image(path)
        try:
            with im:
                raw, full = _grey(im)
        except PresetError:
            raise
        except Exception as e:  # noqa: BLE001 - truncated or corrupt data shows up while decoding
            raise PresetError(f"{path.name}: not a readable image ({type(e).__name__})") from None
    rows, cols = raw.shape[:2]
    f = max(1, int(math.ceil(max(rows, cols) / MAX_IMAGE_SIDE)))
    fr, fc = min(f, rows), min(f, cols)           # a 1-pixel-high strip keeps its one row
    h, w = (rows // fr) * fr, (cols // fc) * fc
    out = np.empty((h // fr, w // fc))
    peak = 0.0
    for r in range(0, h, fr):
        band = raw[r:r + fr, :w].astype(np.float32)
        if band.ndim == 3:
            if band.shape[2] == 4:
                a = band[..., 3:] / 255.0
                band = band[..., :3] * a + 255.0 * (1 - a)
            band = band[..., :3].mean(2)
        peak = max(peak, float(band.max()))
        out[r // fr] = band.reshape(fr, w // fc, fc).mean((0, 2))
    return out / full if peak > 1.0 else out
