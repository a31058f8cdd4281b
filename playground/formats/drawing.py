"""A drawn target as an editable document: sprayed points (a KDE) plus placed Gaussians.

The document holds one immutable `Sketch` snapshot at a time; every edit replaces it and keeps the
old one on the undo stack, so undo/redo is just swapping snapshots. `edit()` groups many small
changes (a brush stroke, a drag) into ONE undo step. The document compiles to the "sketch" preset
kind, so a drawing stays an exact Gaussian mixture and saves/loads like any other preset.
No Qt here: the window's editor (app/target_editor.py) only turns mouse events into these calls.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import numpy as np

from playground.formats.presets import DEFAULT_VIEW, Preset, preset_from_json

MAX_SKETCH_POINTS = 4000        # same budget as an imported point cloud
MAX_EDITABLE_COMPONENTS = 32    # a loaded target with more becomes points (when that is exact)
MAX_HISTORY = 200
DEFAULT_STD = 0.3
DEFAULT_BANDWIDTH = 0.15
MIN_STD = 1e-3


def _finite(v, what: str, positive=False) -> float:
    v = float(v)
    if not math.isfinite(v) or (positive and v <= 0):
        raise ValueError(f"{what} must be a {'positive ' if positive else ''}finite number, got {v:g}")
    return v


def _xy(p, what="point") -> tuple[float, float]:
    a = np.asarray(p, dtype=np.float64).reshape(-1)
    if a.shape != (2,) or not np.all(np.isfinite(a)):
        raise ValueError(f"{what} must be two finite numbers")
    return float(a[0]), float(a[1])


@dataclass(frozen=True)
class Gaussian:
    """One placed component: mean, 2x2 covariance (kept as given, so loading is exact) and weight."""
    mean: tuple[float, float]
    cov: tuple[tuple[float, float], tuple[float, float]]
    weight: float = 1.0

    @classmethod
    def from_axes(cls, mean, std_u: float, std_v: float, angle: float, weight: float = 1.0) -> "Gaussian":
        """cov = R(angle) diag(std_u^2, std_v^2) R(angle)^T: std_u along the direction `angle`."""
        su = max(_finite(std_u, "std", positive=True), MIN_STD)
        sv = max(_finite(std_v, "std", positive=True), MIN_STD)
        c, s = math.cos(angle), math.sin(angle)
        a = c * c * su * su + s * s * sv * sv
        d = s * s * su * su + c * c * sv * sv
        b = c * s * (su * su - sv * sv)
        return cls(_xy(mean, "mean"), ((a, b), (b, d)), _finite(weight, "weight", positive=True))

    @classmethod
    def isotropic(cls, mean, std: float, weight: float = 1.0) -> "Gaussian":
        v = _finite(std, "std", positive=True) ** 2
        return cls(_xy(mean, "mean"), ((v, 0.0), (0.0, v)), _finite(weight, "weight", positive=True))

    def axes(self) -> tuple[float, float, float]:
        """(std along the major axis, std along the minor axis, angle of the major axis in radians)."""
        evals, evecs = np.linalg.eigh(np.array(self.cov, dtype=np.float64))
        major = evecs[:, 1]
        angle = math.atan2(major[1], major[0])
        if angle > math.pi / 2:
            angle -= math.pi
        elif angle <= -math.pi / 2:
            angle += math.pi
        return math.sqrt(max(evals[1], 0.0)), math.sqrt(max(evals[0], 0.0)), angle

    def mahalanobis(self, x) -> np.ndarray:
        """Distance of points x (n, 2) from the mean in units of this Gaussian's std."""
        d = np.asarray(x, dtype=np.float64).reshape(-1, 2) - np.array(self.mean)
        inv = np.linalg.inv(np.array(self.cov))
        return np.sqrt(np.einsum("ni,ij,nj->n", d, inv, d))

    def to_json(self) -> dict:
        return {"weight": self.weight, "mean": list(self.mean), "cov": [list(r) for r in self.cov]}


def _frozen(a: np.ndarray | None) -> np.ndarray | None:
    if a is None:
        return None
    a = np.array(a, dtype=np.float64)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class Sketch:
    """One state of the drawing. Arrays are read-only: a snapshot is never changed, only replaced."""
    points: np.ndarray = field(default_factory=lambda: _frozen(np.zeros((0, 2))))
    weights: np.ndarray | None = None       # per point, only for a loaded weighted cloud
    bandwidth: float = DEFAULT_BANDWIDTH
    gaussians: tuple[Gaussian, ...] = ()
    points_weight: float = 1.0              # mass of the whole point cloud relative to one Gaussian weight

    @property
    def is_empty(self) -> bool:
        return len(self.points) == 0 and not self.gaussians

    def to_spec(self) -> dict:
        spec = {"kind": "sketch", "points": self.points.tolist(),
                "components": [g.to_json() for g in self.gaussians],
                "bandwidth": self.bandwidth, "points_weight": self.points_weight}
        if self.weights is not None:
            spec["weights"] = self.weights.tolist()
        return spec


def _disc(rng: np.random.Generator, n: int, radius: float) -> np.ndarray:
    """n points uniform in a disc of the given radius around 0 (r = R sqrt(u) keeps the density flat)."""
    r = radius * np.sqrt(rng.random(n))
    th = 2 * math.pi * rng.random(n)
    return np.stack([r * np.cos(th), r * np.sin(th)], 1)


class SketchDocument:
    """The drawing being edited, with undo/redo. Every public edit is one undo step unless it runs
    inside `with doc.edit():`, which makes the whole block one step."""

    def __init__(self, state: Sketch | None = None, view: dict | None = None):
        self._state = state if state is not None else Sketch()
        self.view = {k: list(map(float, v)) for k, v in (view or DEFAULT_VIEW).items()}
        self._undo: list[Sketch] = []
        self._redo: list[Sketch] = []
        self._depth = 0
        self._group_start: Sketch | None = None

    # ----- the current snapshot --------------------------------------------------------------
    @property
    def state(self) -> Sketch:
        return self._state

    @property
    def points(self) -> np.ndarray:
        return self._state.points

    @property
    def weights(self) -> np.ndarray | None:
        return self._state.weights

    @property
    def bandwidth(self) -> float:
        return self._state.bandwidth

    @property
    def gaussians(self) -> tuple[Gaussian, ...]:
        return self._state.gaussians

    @property
    def points_weight(self) -> float:
        return self._state.points_weight

    @property
    def is_empty(self) -> bool:
        return self._state.is_empty

    # ----- history -----------------------------------------------------------------------------
    def _commit(self, new: Sketch) -> None:
        if self._depth == 0:
            self._push(self._state)
        self._state = new

    def _push(self, old: Sketch) -> None:
        self._undo.append(old)
        del self._undo[:-MAX_HISTORY]
        self._redo.clear()

    @contextmanager
    def edit(self):
        """Group the edits in the block into one undo step (nothing is recorded if nothing changed)."""
        if self._depth == 0:
            self._group_start = self._state
        self._depth += 1
        try:
            yield self
        finally:
            self._depth -= 1
            if self._depth == 0 and self._state is not self._group_start:
                self._push(self._group_start)

    def begin(self) -> None:
        """Start a group by hand (a drag spans several events); close it with `end()`."""
        if self._depth == 0:
            self._group_start = self._state
        self._depth += 1

    def end(self) -> bool:
        """Close a group; True if it changed the drawing (and so made an undo step)."""
        if self._depth == 0:
            return False
        self._depth -= 1
        if self._depth == 0 and self._state is not self._group_start:
            self._push(self._group_start)
            return True
        return False

    @property
    def in_group(self) -> bool:
        return self._depth > 0

    @property
    def can_undo(self) -> bool:
        return bool(self._undo) and self._depth == 0

    @property
    def can_redo(self) -> bool:
        return bool(self._redo) and self._depth == 0

    def undo(self) -> bool:
        if not self.can_undo:
            return False
        self._redo.append(self._state)
        self._state = self._undo.pop()
        return True

    def redo(self) -> bool:
        if not self.can_redo:
            return False
        self._undo.append(self._state)
        self._state = self._redo.pop()
        return True

    # ----- points --------------------------------------------------------------------------------
    def _add_points(self, new: np.ndarray) -> int:
        room = MAX_SKETCH_POINTS - len(self.points)
        new = new[:max(0, room)]
        if not len(new):
            return 0
        s = self._state
        weights = s.weights
        if weights is not None:         # a weighted cloud: new points weigh like an average old one
            fill = float(weights.mean()) if len(weights) else 1.0
            weights = _frozen(np.concatenate([weights, np.full(len(new), fill)]))
        self._commit(replace(s, points=_frozen(np.concatenate([s.points, new])), weights=weights))
        return len(new)

    def spray(self, center, radius: float, count: int, rng: np.random.Generator) -> int:
        """Add `count` points uniform in the disc of `radius` around `center`; returns how many
        were added (fewer once the sketch holds MAX_SKETCH_POINTS)."""
        c = np.array(_xy(center, "center"))
        radius = _finite(radius, "radius", positive=True)
        return self._add_points(c + _disc(rng, int(count), radius))

    def spray_segment(self, p0, p1, radius: float, count: int, rng: np.random.Generator) -> int:
        """Add `count` points along the segment p0 -> p1 (stratified along it), each uniform in the
        disc of `radius` around its spot on the segment."""
        a, b = np.array(_xy(p0, "p0")), np.array(_xy(p1, "p1"))
        radius = _finite(radius, "radius", positive=True)
        n = int(count)
        if n <= 0:
            return 0
        t = (np.arange(n) + rng.random(n)) / n
        return self._add_points(a + t[:, None] * (b - a) + _disc(rng, n, radius))

    def erase(self, center, radius: float) -> int:
        """Remove the points within `radius` of `center`; returns how many went."""
        c = np.array(_xy(center, "center"))
        radius = _finite(radius, "radius", positive=True)
        s = self._state
        keep = np.sum((s.points - c) ** 2, axis=1) > radius * radius
        if keep.all():
            return 0
        weights = None if s.weights is None else _frozen(s.weights[keep])
        self._commit(replace(s, points=_frozen(s.points[keep]), weights=weights))
        return int((~keep).sum())

    def set_bandwidth(self, h: float) -> None:
        h = _finite(h, "bandwidth", positive=True)
        if h != self.bandwidth:
            self._commit(replace(self._state, bandwidth=h))

    def set_points_weight(self, w: float) -> None:
        w = _finite(w, "points weight", positive=True)
        if w != self.points_weight:
            self._commit(replace(self._state, points_weight=w))

    # ----- Gaussians -------------------------------------------------------------------------------
    def _set_gaussians(self, gs) -> None:
        self._commit(replace(self._state, gaussians=tuple(gs)))

    def _replace_gaussian(self, i: int, g: Gaussian) -> None:
        gs = list(self.gaussians)
        gs[self._index(i)] = g
        self._set_gaussians(gs)

    def _index(self, i: int) -> int:
        if not 0 <= int(i) < len(self.gaussians):
            raise IndexError(f"no Gaussian {i} (the sketch has {len(self.gaussians)})")
        return int(i)

    def add_gaussian(self, mean, std: float | None = None, cov=None, weight: float = 1.0) -> int:
        """Place a Gaussian (isotropic `std`, or a full `cov`); returns its index."""
        if cov is not None:
            c = np.asarray(cov, dtype=np.float64)
            if c.shape != (2, 2) or not np.all(np.isfinite(c)) or abs(c[0, 1] - c[1, 0]) > 1e-12 \
                    or c[0, 0] <= 0 or np.linalg.det(c) <= 0:
                raise ValueError("cov must be a symmetric positive definite 2x2 matrix")
            g = Gaussian(_xy(mean, "mean"), ((float(c[0, 0]), float(c[0, 1])), (float(c[1, 0]), float(c[1, 1]))),
                         _finite(weight, "weight", positive=True))
        else:
            g = Gaussian.isotropic(mean, DEFAULT_STD if std is None else std, weight)
        self._set_gaussians(self.gaussians + (g,))
        return len(self.gaussians) - 1

    def move_gaussian(self, i: int, mean) -> None:
        g = self.gaussians[self._index(i)]
        m = _xy(mean, "mean")
        if m != g.mean:
            self._replace_gaussian(i, replace(g, mean=m))

    def set_gaussian_shape(self, i: int, std_u: float, std_v: float, angle: float) -> None:
        """Covariance with std_u along direction `angle` and std_v across it."""
        g = self.gaussians[self._index(i)]
        self._replace_gaussian(i, Gaussian.from_axes(g.mean, std_u, std_v, angle, g.weight))

    def resize_gaussian(self, i: int, axis: int, std: float) -> None:
        """Set the std along principal axis `axis` (0 major, 1 minor), keeping the other and the angle."""
        su, sv, angle = self.gaussians[self._index(i)].axes()
        su, sv = (std, sv) if axis == 0 else (su, std)
        self.set_gaussian_shape(i, su, sv, angle)

    def rotate_gaussian(self, i: int, angle: float) -> None:
        """Turn the major axis to `angle` (radians), keeping both stds."""
        su, sv, _ = self.gaussians[self._index(i)].axes()
        self.set_gaussian_shape(i, su, sv, _finite(angle, "angle"))

    def set_weight(self, i: int, weight: float) -> None:
        g = self.gaussians[self._index(i)]
        w = _finite(weight, "weight", positive=True)
        if w != g.weight:
            self._replace_gaussian(i, replace(g, weight=w))

    def delete_gaussian(self, i: int) -> None:
        gs = list(self.gaussians)
        del gs[self._index(i)]
        self._set_gaussians(gs)

    def clear(self) -> None:
        if not self.is_empty:
            self._commit(replace(self._state, points=_frozen(np.zeros((0, 2))), weights=None, gaussians=()))

    # ----- presets ----------------------------------------------------------------------------------
    def to_spec(self) -> dict:
        return self._state.to_spec()

    def to_preset(self, name: str = "Sketch") -> Preset:
        """The drawing as a "sketch" preset (empty drawing: an empty preset, `is_empty` True)."""
        n, k = len(self.points), len(self.gaussians)
        desc = f"Drawn target: {n} point{'s' * (n != 1)}, {k} Gaussian{'s' * (k != 1)}"
        return preset_from_json({"name": name, "description": desc, "target": self.to_spec(),
                                 "view": self.view}, name)

    @classmethod
    def from_spec(cls, spec: dict, view: dict | None = None) -> "SketchDocument":
        """A validated "sketch" spec, as is."""
        pts = np.asarray(spec.get("points", []), dtype=np.float64).reshape(-1, 2)
        w = spec.get("weights")
        gs = tuple(Gaussian(tuple(map(float, c["mean"])), tuple(tuple(map(float, r)) for r in c["cov"]),
                            float(c["weight"])) for c in spec.get("components", []))
        state = Sketch(_frozen(pts), _frozen(w) if w is not None else None,
                       float(spec.get("bandwidth", DEFAULT_BANDWIDTH)), gs, float(spec.get("points_weight", 1.0)))
        return cls(state, view)

    @classmethod
    def from_preset(cls, preset: Preset | None) -> "SketchDocument":
        """Any preset as an editable drawing, always exactly the same mixture (never approximated):
        a sketch as is; up to MAX_EDITABLE_COMPONENTS components as Gaussians; more components that
        all share one isotropic std as weighted points with that bandwidth; otherwise Gaussians."""
        if preset is None:
            return cls()
        if preset.spec.get("kind") == "sketch":
            return cls.from_spec(preset.spec, preset.view)
        mix = preset.target.mixture
        w = mix.weights.numpy().astype(np.float64)
        mu = mix.means.numpy().astype(np.float64)
        cov = mix.covs.numpy().astype(np.float64)
        var = cov[0, 0, 0]
        one_iso = bool(np.all(cov[:, 0, 1] == 0) and np.all(cov[:, 1, 0] == 0)
                       and np.all(cov[:, 0, 0] == var) and np.all(cov[:, 1, 1] == var))
        if len(w) > MAX_EDITABLE_COMPONENTS and one_iso:
            weights = None if np.all(w == w[0]) else w
            state = Sketch(_frozen(mu), _frozen(weights), math.sqrt(var))
        else:
            # weights scaled to average 1, the weight of a newly placed Gaussian (the mixture is unchanged)
            gs = tuple(Gaussian((float(m[0]), float(m[1])), ((float(c[0, 0]), float(c[0, 1])),
                                                            (float(c[1, 0]), float(c[1, 1]))), float(wk * len(w)))
                       for wk, m, c in zip(w, mu, cov))
            state = Sketch(gaussians=gs)
        return cls(state, preset.view)
