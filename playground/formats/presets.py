"""Preset files: read, validate and compile a preset JSON (or an image / point file) to a Target.

Every rule a file can break is checked here, and the message names the field and the reason,
so a CLI or a window can show one clear line instead of a traceback.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from playground.formats.builtin import PRESET_DIR, builtin_file, builtin_names  # noqa: F401 (re-exported)
from playground.maths.targets import (Target, checkerboard_mixture, concat_mixtures, curve_mixture, dice_mixture,
                      image_mixture, mixture_from_components, moons_xy, points_mixture, spiral_xy)

DEFAULT_VIEW = {"xlim": [-4.0, 4.0], "ylim": [-4.0, 4.0]}
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_POINTS = 4000          # components of a points target; more are thinned (and the description says so)
MAX_IMAGE_SIDE = 48        # image cells on the long side after block averaging
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
POINT_SUFFIXES = {".csv", ".npy"}


class PresetError(ValueError):
    """A preset or imported file that cannot be used; the message is meant for the user."""


@dataclass
class Preset:
    name: str
    description: str
    spec: dict                       # the target's JSON spec
    view: dict = field(default_factory=lambda: dict(DEFAULT_VIEW))
    path: str | None = None
    _target: Target | None = field(default=None, repr=False)

    @property
    def target(self) -> Target:
        if self._target is None:
            raise PresetError(f"preset '{self.name}' is empty: draw points or place Gaussians first")
        return self._target

    @property
    def is_empty(self) -> bool:
        return self._target is None

    def to_json(self) -> dict:
        return {"name": self.name, "description": self.description, "target": self.spec, "view": self.view}


# ----- small validators ---------------------------------------------------------------------

def _need(d: dict, key: str, where: str):
    if not isinstance(d, dict):
        raise PresetError(f"{where}: must be an object")
    if key not in d:
        raise PresetError(f"{where}.{key}: missing")
    return d[key]


def _number(v, where: str, positive=False, nonneg=False) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise PresetError(f"{where}: must be a number, got {type(v).__name__}")
    v = float(v)
    if not math.isfinite(v):
        raise PresetError(f"{where}: must be finite")
    if positive and v <= 0:
        raise PresetError(f"{where}: must be > 0, got {v:g}")
    if nonneg and v < 0:
        raise PresetError(f"{where}: must be >= 0, got {v:g}")
    return v


def _opt(d: dict, key: str, default, where: str, **kw) -> float:
    return _number(d[key], f"{where}.{key}", **kw) if key in d else float(default)


def _vector(v, where: str, length: int | None = None, **kw) -> list[float]:
    if not isinstance(v, list):
        raise PresetError(f"{where}: must be a list")
    if length is not None and len(v) != length:
        raise PresetError(f"{where}: must have {length} entries, got {len(v)}")
    return [_number(e, f"{where}[{i}]", **kw) for i, e in enumerate(v)]


def _nonempty_list(v, where: str) -> list:
    if not isinstance(v, list):
        raise PresetError(f"{where}: must be a list")
    if not v:
        raise PresetError(f"{where}: must not be empty")
    return v


def _cov(v, where: str) -> list[list[float]]:
    if not isinstance(v, list) or len(v) != 2:
        raise PresetError(f"{where}: must be a 2x2 matrix [[a, b], [b, d]]")
    rows = [_vector(r, f"{where}[{i}]", 2) for i, r in enumerate(v)]
    (a, b), (c, d) = rows
    if abs(b - c) > 1e-9 * max(1.0, abs(b), abs(c)):
        raise PresetError(f"{where}: must be symmetric ({b:g} != {c:g})")
    if a <= 0 or a * d - b * c <= 0:
        raise PresetError(f"{where}: must be positive definite")
    return rows


def _points(v, where: str, allow_empty=False) -> np.ndarray:
    if not isinstance(v, list) or (not v and not allow_empty):
        raise PresetError(f"{where}: must be a non-empty list of [x, y]")
    return np.array([_vector(p, f"{where}[{i}]", 2) for i, p in enumerate(v)], dtype=np.float64).reshape(-1, 2)


def _components(v, where: str, allow_empty=False) -> list[dict]:
    if not isinstance(v, list) or (not v and not allow_empty):
        raise PresetError(f"{where}: must be a non-empty list of components")
    out = []
    for i, c in enumerate(v):
        w = f"{where}[{i}]"
        out.append({"weight": _number(_need(c, "weight", w), f"{w}.weight", positive=True),
                    "mean": _vector(_need(c, "mean", w), f"{w}.mean", 2),
                    "cov": _cov(_need(c, "cov", w), f"{w}.cov")})
    return out


# ----- kinds ---------------------------------------------------------------------------------

def _compile_mixture(t, w):
    comps = _components(_need(t, "components", w), f"{w}.components")
    return Target(mixture_from_components(comps), t)


def _compile_points(t, w):
    pts = _points(_need(t, "points", w), f"{w}.points")
    h = _number(_need(t, "bandwidth", w), f"{w}.bandwidth", positive=True)
    weights = None
    if "weights" in t:
        weights = _vector(t["weights"], f"{w}.weights", len(pts), positive=True)
    return Target(points_mixture(pts, h, weights), t, groups=np.zeros(len(pts), int), group_names=["points"])


def _compile_dice(t, w):
    weights = _vector(_need(t, "weights", w), f"{w}.weights", 6, positive=True)
    radius = _opt(t, "radius", 2.2, w, positive=True)
    std = _opt(t, "std", 0.3, w, positive=True)
    return Target(dice_mixture(weights, radius, std), t, group_names=[f"face {k}" for k in range(1, 7)])


def _compile_spiral(t, w):
    turns = _opt(t, "turns", 2.0, w, positive=True)
    r0, r1 = _opt(t, "r_start", 0.3, w, nonneg=True), _opt(t, "r_end", 3.2, w, positive=True)
    width = _opt(t, "width", 0.08, w, positive=True)
    arms = int(_opt(t, "arms", 1, w, positive=True))
    if arms > 8:
        raise PresetError(f"{w}.arms: at most 8, got {arms}")
    parts = [(1.0, curve_mixture(spiral_xy(turns, r0, r1, 2 * math.pi * a / arms), width)) for a in range(arms)]
    mix, grp = concat_mixtures(parts)
    return Target(mix, t, groups=grp, group_names=[f"arm {a + 1}" for a in range(arms)])


def _compile_moons(t, w):
    radius = _opt(t, "radius", 2.0, w, positive=True)
    width = _opt(t, "width", 0.15, w, positive=True)
    mix, grp = concat_mixtures([(1.0, curve_mixture(c, width)) for c in moons_xy(radius)])
    return Target(mix, t, groups=grp, group_names=["upper moon", "lower moon"])


def _compile_rings(t, w):
    radii = _vector(_need(t, "radii", w), f"{w}.radii", positive=True)
    if not radii:
        raise PresetError(f"{w}.radii: must not be empty")
    width = _opt(t, "width", 0.1, w, positive=True)
    th = np.linspace(0, 2 * math.pi, 600)
    parts = [(r, curve_mixture(np.stack([r * np.cos(th), r * np.sin(th)], 1), width)) for r in radii]
    mix, grp = concat_mixtures(parts)
    return Target(mix, t, groups=grp, group_names=[f"ring r={r:g}" for r in radii])


def _compile_checkerboard(t, w):
    cells = int(_opt(t, "cells", 4, w, positive=True))
    size = _opt(t, "size", 6.0, w, positive=True)
    beads = int(_opt(t, "beads", 3, w, positive=True))
    if cells > 12 or beads > 8:
        raise PresetError(f"{w}: cells must be <= 12 and beads <= 8")
    return Target(checkerboard_mixture(cells, size, beads), t, groups=None)


def _compile_image(t, w):
    pix = _need(t, "pixels", w)
    if not isinstance(pix, list) or not pix or not all(isinstance(r, list) and r for r in pix):
        raise PresetError(f"{w}.pixels: must be a non-empty list of rows of grey values")
    ncol = len(pix[0])
    if any(len(r) != ncol for r in pix):
        raise PresetError(f"{w}.pixels: rows must all have the same length")
    arr = np.array([_vector(r, f"{w}.pixels[{i}]", nonneg=True) for i, r in enumerate(pix)])
    xlim = _vector(t.get("xlim", DEFAULT_VIEW["xlim"]), f"{w}.xlim", 2)
    ylim = _vector(t.get("ylim", DEFAULT_VIEW["ylim"]), f"{w}.ylim", 2)
    try:
        mix = image_mixture(arr, xlim, ylim)
    except ValueError as e:
        raise PresetError(f"{w}.pixels: {e}") from None
    return Target(mix, t, groups=np.zeros(len(mix), int), group_names=["image"])


def _compile_sketch(t, w):
    """Drawn points (a KDE) plus placed Gaussians; an empty sketch is allowed and has no target."""
    pts = _points(t.get("points", []), f"{w}.points", allow_empty=True)
    comps = _components(t.get("components", []), f"{w}.components", allow_empty=True)
    h = _opt(t, "bandwidth", 0.15, w, positive=True)
    parts, names = [], []
    if len(pts):
        pw = _opt(t, "points_weight", 1.0, w, positive=True)
        pweights = _vector(t["weights"], f"{w}.weights", len(pts), positive=True) if "weights" in t else None
        parts.append((pw, points_mixture(pts, h, pweights)))     # weights: an imported weighted cloud, exact
        names.append("strokes")
    for i, c in enumerate(comps):
        parts.append((c["weight"], mixture_from_components([dict(c, weight=1.0)])))
        names.append(f"gaussian {i + 1}")
    if not parts:
        return None
    mix, grp = concat_mixtures(parts)
    return Target(mix, t, groups=grp, group_names=names)


KINDS = {"mixture": _compile_mixture, "points": _compile_points, "dice": _compile_dice,
         "spiral": _compile_spiral, "moons": _compile_moons, "rings": _compile_rings,
         "checkerboard": _compile_checkerboard, "image": _compile_image, "sketch": _compile_sketch}


def compile_target(spec) -> Target | None:
    kind = _need(spec, "kind", "target")
    if kind not in KINDS:
        raise PresetError(f"target.kind: unknown kind {kind!r} (one of {', '.join(KINDS)})")
    return KINDS[kind](spec, "target")


def _view(v) -> dict:
    if v is None:
        return dict(DEFAULT_VIEW)
    if not isinstance(v, dict):
        raise PresetError("view: must be an object with xlim and ylim")
    out = {}
    for key in ("xlim", "ylim"):
        lim = _vector(v.get(key, DEFAULT_VIEW[key]), f"view.{key}", 2)
        if not lim[0] < lim[1]:
            raise PresetError(f"view.{key}: must be [low, high] with low < high")
        out[key] = lim
    return out


def preset_from_json(data, name: str = "preset", path: str | None = None) -> Preset:
    if not isinstance(data, dict):
        raise PresetError("file: the top level must be a JSON object")
    for key in ("name", "description"):
        if key in data and not isinstance(data[key], str):
            raise PresetError(f"{key}: must be a string")
    spec = _need(data, "target", "file")
    if not isinstance(spec, dict):
        raise PresetError("target: must be an object")
    target = compile_target(spec)
    return Preset(data.get("name", name), data.get("description", ""), spec, _view(data.get("view")), path, target)


# ----- files ----------------------------------------------------------------------------------

def _check_size(path: Path):
    try:
        size = path.stat().st_size
    except OSError as e:
        raise PresetError(f"{path}: cannot read ({e.strerror})") from None
    if size > MAX_FILE_BYTES:
        raise PresetError(f"{path}: file is too large ({size / 2**20:.1f} MB, {size:,} bytes); "
                          f"the limit is {MAX_FILE_BYTES // 2**20} MB")
    if size == 0:
        raise PresetError(f"{path}: file is empty")


def read_preset_file(path) -> Preset:
    path = Path(path)
    _check_size(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise PresetError(f"{path}: not a text file") from None
    except json.JSONDecodeError as e:
        raise PresetError(f"{path}: not valid JSON (line {e.lineno}: {e.msg})") from None
    try:
        return preset_from_json(data, path.stem, str(path))
    except PresetError as e:
        raise PresetError(f"{path.name}: {e}") from None


def read_points_file(path) -> np.ndarray:
    """(N, 2) finite points from a CSV (header x,y or two numeric columns) or an NPY array."""
    path = Path(path)
    _check_size(path)
    if path.suffix.lower() == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except Exception as e:  # numpy raises several types for a bad header or pickled data
            raise PresetError(f"{path.name}: not a readable .npy array ({e})") from None
    else:
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
        rows = []
        for i, line in enumerate(lines, start=first):
            if not line.strip():
                continue
            cells = line.split(",")
            if len(cells) != 2:
                raise PresetError(f"{path.name}: line {i}: expected 2 columns, got {len(cells)}")
            try:
                rows.append([float(c) for c in cells])
            except ValueError:
                raise PresetError(f"{path.name}: line {i}: not a number ({line.strip()[:40]!r})") from None
        arr = np.array(rows, dtype=np.float64).reshape(-1, 2)
    if arr.ndim != 2 or arr.shape[1] != 2 or not np.issubdtype(arr.dtype, np.number):
        raise PresetError(f"{path.name}: expected an (N, 2) array of numbers, got shape {arr.shape}")
    if len(arr) == 0:
        raise PresetError(f"{path.name}: holds no points")
    if not np.all(np.isfinite(arr)):
        raise PresetError(f"{path.name}: contains NaN or infinite values")
    return arr.astype(np.float64)


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


def fit_points_to_view(points: np.ndarray, view=DEFAULT_VIEW, margin=0.85) -> np.ndarray:
    """Centre and scale a point cloud so that it fills the view (imports arrive in any units)."""
    lo, hi = points.min(0), points.max(0)
    centre, span = (lo + hi) / 2, max(float((hi - lo).max()), 1e-9)
    box = min(view["xlim"][1] - view["xlim"][0], view["ylim"][1] - view["ylim"][0]) * margin
    vc = np.array([sum(view["xlim"]) / 2, sum(view["ylim"]) / 2])
    return (points - centre) / span * box + vc


def points_preset(points: np.ndarray, name: str, bandwidth: float | None = None, fit=False) -> Preset:
    note = ""
    if len(points) > MAX_POINTS:
        keep = np.random.default_rng(0).choice(len(points), MAX_POINTS, replace=False)
        note = f" ({MAX_POINTS} of {len(points)} points kept)"
        points = points[np.sort(keep)]
    if fit:
        points = fit_points_to_view(points)
    h = float(bandwidth) if bandwidth else default_bandwidth(points)
    spec = {"kind": "points", "points": np.round(points, 5).tolist(), "bandwidth": round(h, 5)}
    return preset_from_json({"name": name, "description": f"Imported points{note}", "target": spec}, name)


def read_image_file(path) -> np.ndarray:
    """Grey values in [0, 1], block-averaged to at most MAX_IMAGE_SIDE cells on the long side."""
    path = Path(path)
    _check_size(path)
    try:
        import imageio.v3 as iio
        img = np.asarray(iio.imread(path), dtype=np.float64)
    except Exception as e:  # imageio/pillow raise many types for broken images
        raise PresetError(f"{path.name}: not a readable image ({type(e).__name__})") from None
    if img.ndim == 3:
        if img.shape[2] == 4:   # transparent = white
            a = img[..., 3:] / 255.0
            img = img[..., :3] * a + 255.0 * (1 - a)
        img = img[..., :3].mean(2)
    if img.ndim != 2 or min(img.shape) < 1:
        raise PresetError(f"{path.name}: not a 2D image")
    if img.shape[0] * img.shape[1] > 50_000_000:
        raise PresetError(f"{path.name}: image has {img.shape[1]}x{img.shape[0]} pixels; the limit is 50 megapixels")
    img = img / 255.0 if img.max() > 1.0 else img
    f = max(1, int(math.ceil(max(img.shape) / MAX_IMAGE_SIDE)))
    h, w = (img.shape[0] // f) * f or img.shape[0], (img.shape[1] // f) * f or img.shape[1]
    img = img[:h, :w]
    if f > 1:
        img = img.reshape(h // f, f, w // f, f).mean((1, 3))
    return img


def image_preset(pixels: np.ndarray, name: str, view=DEFAULT_VIEW) -> Preset:
    rows, cols = pixels.shape
    half = 0.85 * (view["xlim"][1] - view["xlim"][0]) / 2
    sx, sy = (half, half * rows / cols) if cols >= rows else (half * cols / rows, half)
    spec = {"kind": "image", "pixels": np.round(pixels, 4).tolist(), "xlim": [-sx, sx], "ylim": [-sy, sy]}
    return preset_from_json({"name": name, "description": "Imported image (darker = more mass)", "target": spec}, name)


def load_preset(name_or_path) -> Preset:
    """A built-in preset name, a preset .json path, or an image / points file with default settings."""
    s = str(name_or_path)
    path = Path(s)
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES | POINT_SUFFIXES | {".json"} or path.exists():
        if not path.is_file():
            raise PresetError(f"{s}: no such file")
        if suffix in IMAGE_SUFFIXES:
            return image_preset(read_image_file(path), path.stem)
        if suffix in POINT_SUFFIXES:
            return points_preset(read_points_file(path), path.stem, fit=False)
        return read_preset_file(path)
    builtin = builtin_file(s)
    if builtin is None:
        raise PresetError(f"unknown preset {s!r}: run 'diffusion-playground presets' for the list")
    with resources.as_file(builtin) as path:
        return read_preset_file(path)


def save_preset(preset: Preset, path) -> None:
    from playground.formats.io_utils import atomic_write_text
    atomic_write_text(path, json.dumps(preset.to_json(), indent=1))
