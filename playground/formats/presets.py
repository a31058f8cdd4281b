"""Preset files: read, validate and compile a preset JSON (or an image / point file) to a Target.

Every rule a file can break is checked here (through formats.validate, where the limits live),
and the message names the field and the reason, so a CLI or a window can show one clear line
instead of a traceback. Each kind's cost (its number of Gaussians) is known from its parameters
and checked before anything is built.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from playground.formats import validate as v
from playground.formats.importers import (MAX_IMAGE_SIDE, check_size, default_bandwidth,  # noqa: F401 (re-exported)
                                          fit_points_to_view, read_image_file, read_points_file)
from playground.formats.validate import MAX_FILE_BYTES, PresetError  # noqa: F401 (re-exported)
from playground.formats.builtin import PRESET_DIR, builtin_file, builtin_names  # noqa: F401 (re-exported)
from playground.maths.targets import (Target, checkerboard_mixture, concat_mixtures, curve_mixture, dice_mixture,
                      image_mixture, mixture_from_components, moons_xy, points_mixture, spiral_xy)

DEFAULT_VIEW = {"xlim": [-4.0, 4.0], "ylim": [-4.0, 4.0]}
MAX_POINTS = 4000          # components of an imported points target; more are thinned (the description says so)
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
POINT_SUFFIXES = {".csv", ".npy"}


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


# ----- kinds ---------------------------------------------------------------------------------

def _need(d: dict, key: str, where: str):
    if not isinstance(d, dict):
        raise PresetError(f"{where}: must be an object")
    if key not in d:
        raise PresetError(f"{where}.{key}: missing")
    return d[key]


def _opt(d: dict, key: str, default, where: str, check=v.number, **kw):
    return check(d[key], f"{where}.{key}", **kw) if key in d else default


def _points(value, where: str, min_len=1) -> np.ndarray:
    v.sized_list(value, where, v.MAX_COMPONENTS, min_len=min_len)
    fast = _plain_points(value)
    if fast is not None:
        return fast
    return np.array([v.vector(p, f"{where}[{i}]", 2, item=v.coord) for i, p in enumerate(value)],
                    dtype=np.float64).reshape(-1, 2)


def _plain_points(value) -> np.ndarray | None:
    """The common case at array speed (a drawn sketch is recompiled after every edit): pairs of
    plain finite numbers within the coordinate bound. Anything else takes the per-item checks,
    which name the offending entry."""
    num = (float, int)            # exact types: a bool is refused by the per-item check
    if not all(type(p) is list and len(p) == 2 and type(p[0]) in num and type(p[1]) in num for p in value):
        return None
    try:
        arr = np.array(value, dtype=np.float64).reshape(-1, 2)
    except OverflowError:
        return None
    return arr if np.isfinite(arr).all() and np.abs(arr).max(initial=0.0) <= v.MAX_COORD else None


def _components(value, where: str, min_len=1) -> list[dict]:
    v.sized_list(value, where, v.MAX_COMPONENTS, min_len=min_len)
    out = []
    for i, c in enumerate(value):
        w = f"{where}[{i}]"
        out.append({"weight": v.weight(_need(c, "weight", w), f"{w}.weight"),
                    "mean": v.vector(_need(c, "mean", w), f"{w}.mean", 2, item=v.coord),
                    "cov": v.cov2(_need(c, "cov", w), f"{w}.cov")})
    return out


def _beads(length: float, width: float) -> int:
    """Gaussians curve_mixture puts on a polyline of this length (kept in step with it)."""
    return max(2, math.ceil(length / (0.8 * width))) if math.isfinite(length / width) else math.inf


def _compile_mixture(t, w):
    return Target(mixture_from_components(_components(_need(t, "components", w), f"{w}.components")), t)


def _compile_points(t, w):
    pts = _points(_need(t, "points", w), f"{w}.points")
    h = v.std(_need(t, "bandwidth", w), f"{w}.bandwidth")
    weights = v.vector(t["weights"], f"{w}.weights", len(pts), item=v.weight) if "weights" in t else None
    return Target(points_mixture(pts, h, weights), t, groups=np.zeros(len(pts), int), group_names=["points"])


def _compile_dice(t, w):
    weights = v.vector(_need(t, "weights", w), f"{w}.weights", 6, item=v.weight)
    radius = _opt(t, "radius", 2.2, w, positive=True, hi=v.MAX_COORD)
    std = _opt(t, "std", 0.3, w, v.std)
    return Target(dice_mixture(weights, radius, std), t, group_names=[f"face {k}" for k in range(1, 7)])


def _compile_spiral(t, w):
    turns = _opt(t, "turns", 2.0, w, positive=True, hi=100)
    r0 = _opt(t, "r_start", 0.3, w, nonneg=True, hi=v.MAX_COORD)
    r1 = _opt(t, "r_end", 3.2, w, positive=True, hi=v.MAX_COORD)
    width = _opt(t, "width", 0.08, w, v.std)
    arms = _opt(t, "arms", 1, w, v.integer, lo=1, hi=8)
    arm_xy = [spiral_xy(turns, r0, r1, 2 * math.pi * a / arms) for a in range(arms)]
    length = float(np.linalg.norm(np.diff(arm_xy[0], axis=0), axis=1).sum())
    v.components_count(arms * _beads(length, width), f"{w}.width")
    mix, grp = concat_mixtures([(1.0, curve_mixture(xy, width)) for xy in arm_xy])
    return Target(mix, t, groups=grp, group_names=[f"arm {a + 1}" for a in range(arms)])


def _compile_moons(t, w):
    radius = _opt(t, "radius", 2.0, w, positive=True, hi=v.MAX_COORD)
    width = _opt(t, "width", 0.15, w, v.std)
    v.components_count(2 * _beads(math.pi * radius, width), f"{w}.width")
    mix, grp = concat_mixtures([(1.0, curve_mixture(c, width)) for c in moons_xy(radius)])
    return Target(mix, t, groups=grp, group_names=["upper moon", "lower moon"])


def _compile_rings(t, w):
    radii = v.vector(_need(t, "radii", w), f"{w}.radii", item=v.number, positive=True, hi=v.MAX_COORD,
                     max_len=v.MAX_COMPONENTS // 2)
    if not radii:
        raise PresetError(f"{w}.radii: must not be empty")
    width = _opt(t, "width", 0.1, w, v.std)
    v.components_count(sum(_beads(2 * math.pi * r, width) for r in radii), f"{w}.radii")
    th = np.linspace(0, 2 * math.pi, 600)
    parts = [(r, curve_mixture(np.stack([r * np.cos(th), r * np.sin(th)], 1), width)) for r in radii]
    mix, grp = concat_mixtures(parts)
    return Target(mix, t, groups=grp, group_names=[f"ring r={r:g}" for r in radii])


def _compile_checkerboard(t, w):
    cells = _opt(t, "cells", 4, w, v.integer, lo=1, hi=12)
    size = _opt(t, "size", 6.0, w, positive=True, hi=v.MAX_COORD)
    beads = _opt(t, "beads", 3, w, v.integer, lo=1, hi=8)
    return Target(checkerboard_mixture(cells, size, beads), t, groups=None)


def _limits(t, key: str, w: str) -> list[float]:
    lim = v.vector(t.get(key, DEFAULT_VIEW[key]), f"{w}.{key}", 2, item=v.coord)
    if not lim[0] < lim[1]:
        raise PresetError(f"{w}.{key}: must be [low, high] with low < high")
    return lim


def _compile_image(t, w):
    pix = v.sized_list(_need(t, "pixels", w), f"{w}.pixels", v.MAX_IMAGE_CELLS, min_len=1)
    for i, r in enumerate(pix):
        v.sized_list(r, f"{w}.pixels[{i}]", v.MAX_IMAGE_CELLS, min_len=1)
        if len(r) != len(pix[0]):
            raise PresetError(f"{w}.pixels: rows must all have the same length")
    v.components_count(len(pix) * len(pix[0]), f"{w}.pixels")
    arr = np.array([v.vector(r, f"{w}.pixels[{i}]", lo=0, hi=v.MAX_COORD) for i, r in enumerate(pix)])
    xlim, ylim = _limits(t, "xlim", w), _limits(t, "ylim", w)
    try:
        mix = image_mixture(arr, xlim, ylim)
    except ValueError as e:
        raise PresetError(f"{w}.pixels: {e}") from None
    return Target(mix, t, groups=np.zeros(len(mix), int), group_names=["image"])


def _compile_sketch(t, w):
    """Drawn points (a KDE) plus placed Gaussians; an empty sketch is allowed and has no target."""
    pts = _points(t.get("points", []), f"{w}.points", min_len=0)
    comps = _components(t.get("components", []), f"{w}.components", min_len=0)
    v.components_count(len(pts) + len(comps), f"{w}.points")
    h = _opt(t, "bandwidth", 0.15, w, v.std)
    parts, names = [], []
    if len(pts):
        pw = _opt(t, "points_weight", 1.0, w, v.weight)
        pweights = v.vector(t["weights"], f"{w}.weights", len(pts), item=v.weight) if "weights" in t else None
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
    if not isinstance(kind, str) or kind not in KINDS:
        shown = repr(kind) if isinstance(kind, str) else f"of type {type(kind).__name__}"
        raise PresetError(f"target.kind: unknown kind {shown[:60]} (one of {', '.join(KINDS)})")
    try:
        target = KINDS[kind](spec, "target")
    except PresetError:
        raise
    except (ValueError, ArithmeticError, RuntimeError) as e:     # e.g. a Cholesky that fails after all
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:120]
        raise PresetError(f"target: cannot be compiled ({first})") from None
    if target is not None:
        m = target.mixture
        v.mixture_arrays(m.weights.numpy(), m.means.numpy(), m.covs.numpy())
    return target


def _view(view) -> dict:
    if view is None:
        return dict(DEFAULT_VIEW)
    if not isinstance(view, dict):
        raise PresetError("view: must be an object with xlim and ylim")
    return {key: _limits(view, key, "view") for key in ("xlim", "ylim")}


def preset_from_json(data, name: str = "preset", path: str | None = None) -> Preset:
    if not isinstance(data, dict):
        raise PresetError("file: the top level must be a JSON object")
    for key in ("name", "description"):
        if key in data:
            v.text(data[key], key)
    spec = _need(data, "target", "file")
    if not isinstance(spec, dict):
        raise PresetError("target: must be an object")
    target = compile_target(spec)
    return Preset(data.get("name", name), data.get("description", ""), spec, _view(data.get("view")), path, target)


# ----- files ----------------------------------------------------------------------------------

def read_preset_file(path) -> Preset:
    path = Path(path)
    check_size(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise PresetError(f"{path}: not a text file") from None
    data = v.parse_json(text, path.name)
    try:
        return preset_from_json(data, path.stem, str(path))
    except PresetError as e:
        raise PresetError(f"{path.name}: {e}") from None


def points_preset(points: np.ndarray, name: str, bandwidth: float | None = None, fit=False) -> Preset:
    note = ""
    if len(points) > MAX_POINTS:
        keep = np.random.default_rng(0).choice(len(points), MAX_POINTS, replace=False)
        note = f" ({MAX_POINTS} of {len(points)} points kept)"
        points = points[np.sort(keep)]
    if fit:
        points = fit_points_to_view(points, DEFAULT_VIEW)
    h = float(bandwidth) if bandwidth else default_bandwidth(points)
    spec = {"kind": "points", "points": np.round(points, 5).tolist(), "bandwidth": round(h, 5)}
    return preset_from_json({"name": name, "description": f"Imported points{note}", "target": spec}, name)


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
