"""The one gate every number passes before it reaches the maths (JSON, CSV, NPY, images, sessions,
the command line): finite, in a stated range, of the right type and size, the field named in the
message. The limits are constants here so that the cost of any input is known before anything is
built: an input that would need more than a bounded memory or time is refused, not attempted.
"""
from __future__ import annotations

import json
import math

import numpy as np

# ----- limits (stated once; the messages quote them) ------------------------------------------------
MAX_FILE_BYTES = 20 * 1024 * 1024      # any preset, points or image file
MAX_JSON_DEPTH = 64                    # nesting of arrays/objects in a JSON file
MAX_INT_DIGITS = 30                    # an integer literal longer than this is not a sensible number
MAX_COORD = 1e6                        # |mean|, |point|, radius, view limit
MIN_STD, MAX_STD = 1e-6, 1e6           # standard deviations, bandwidths, widths (cov eigenvalues: squared)
MAX_COND = 1e10                        # largest / smallest covariance eigenvalue: Cholesky stays accurate
MAX_SPREAD = 1e6                       # extent of the means / smallest std: the exact maths stays accurate
MAX_WEIGHT = 1e12                      # one mixture weight (so that their sum is finite)
MAX_COMPONENTS = 20_000                # Gaussians after compilation (memory and time of the exact maths)
MAX_IMAGE_CELLS = 256                  # rows or columns of an `image` kind in JSON
MAX_IMAGE_PIXELS = 25_000_000          # decoded image files, read from the header before decoding
MAX_IMPORT_POINTS = 2_000_000          # rows of a points file (thinned to presets.MAX_POINTS after)
MAX_STEPS = 10_000                     # sampler steps
MAX_PARTICLE_STEPS = 2_000_000_000     # particles x steps of one sampler run
MAX_EXACT_PAIRS = 5_000_000_000        # particles x steps x components with the exact score
MAX_GUIDANCE = 100.0                   # guidance scale W
MAX_LR = 1.0                           # Adam learning rate
MAX_SEED = 2**31 - 1                   # what the window's seed box accepts


class PresetError(ValueError):
    """A preset or imported file that cannot be used; the message is meant for the user."""


# ----- scalars -----------------------------------------------------------------------------------------

def number(v, where: str, lo: float | None = None, hi: float | None = None, positive=False,
           nonneg=False) -> float:
    """A finite JSON number (not a bool, string, list or dict) within [lo, hi]."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise PresetError(f"{where}: must be a number, got {type(v).__name__}")
    try:
        v = float(v)
    except OverflowError:
        raise PresetError(f"{where}: number is too large") from None
    if not math.isfinite(v):
        raise PresetError(f"{where}: must be finite")
    if positive and v <= 0:
        raise PresetError(f"{where}: must be > 0, got {v:g}")
    if nonneg and v < 0:
        raise PresetError(f"{where}: must be >= 0, got {v:g}")
    if lo is not None and v < lo:
        raise PresetError(f"{where}: must be at least {lo:g}, got {v:g}")
    if hi is not None and v > hi:
        raise PresetError(f"{where}: must be at most {hi:g}, got {v:g}")
    return v


def integer(v, where: str, lo: int, hi: int) -> int:
    """A whole number in [lo, hi]; 3.0 is accepted as 3, 0.5 is not rounded to 0."""
    x = number(v, where)
    if x != int(x):
        raise PresetError(f"{where}: must be a whole number, got {x:g}")
    if not lo <= x <= hi:
        raise PresetError(f"{where}: must be between {lo} and {hi}, got {x:g}")
    return int(x)


def coord(v, where: str) -> float:
    return number(v, where, lo=-MAX_COORD, hi=MAX_COORD)


def std(v, where: str) -> float:
    return number(v, where, lo=MIN_STD, hi=MAX_STD)


def weight(v, where: str) -> float:
    return number(v, where, positive=True, hi=MAX_WEIGHT)


def text(v, where: str, max_len: int = 10_000) -> str:
    if not isinstance(v, str):
        raise PresetError(f"{where}: must be a string, got {type(v).__name__}")
    if len(v) > max_len:
        raise PresetError(f"{where}: longer than {max_len} characters")
    return v


def sized_list(v, where: str, max_len: int, min_len: int = 0, length: int | None = None) -> list:
    """A list whose length is checked before any element is looked at."""
    if not isinstance(v, list):
        raise PresetError(f"{where}: must be a list, got {type(v).__name__}")
    if length is not None and len(v) != length:
        raise PresetError(f"{where}: must have {length} entries, got {len(v)}")
    if len(v) < min_len:
        raise PresetError(f"{where}: must not be empty" if min_len == 1 else f"{where}: needs {min_len} entries")
    if len(v) > max_len:
        raise PresetError(f"{where}: at most {max_len} entries, got {len(v)}")
    return v


def vector(v, where: str, length: int | None = None, item=number, max_len: int = MAX_COMPONENTS, **kw) -> list[float]:
    sized_list(v, where, max_len, length=length)
    return [item(e, f"{where}[{i}]", **kw) for i, e in enumerate(v)]


def cov2(v, where: str) -> list[list[float]]:
    """A symmetric 2x2 covariance whose eigenvalues lie in [MIN_STD^2, MAX_STD^2] with a bounded ratio."""
    if not isinstance(v, list) or len(v) != 2:
        raise PresetError(f"{where}: must be a 2x2 matrix [[a, b], [b, d]]")
    rows = [vector(r, f"{where}[{i}]", 2, lo=-MAX_STD**2, hi=MAX_STD**2) for i, r in enumerate(v)]
    (a, b), (c, d) = rows
    if abs(b - c) > 1e-9 * max(1.0, abs(b), abs(c)):
        raise PresetError(f"{where}: must be symmetric ({b:g} != {c:g})")
    half, root = (a + d) / 2, math.hypot((a - d) / 2, b)
    low, high = half - root, half + root
    if a <= 0 or d <= 0 or low <= 0 or a * d - b * b <= 0:
        raise PresetError(f"{where}: must be positive definite")
    if low < MIN_STD**2 or high > MAX_STD**2:
        raise PresetError(f"{where}: variances must lie in [{MIN_STD**2:g}, {MAX_STD**2:g}] "
                          f"(eigenvalues {low:.3g}, {high:.3g})")
    if high / low > MAX_COND:
        raise PresetError(f"{where}: too elongated (eigenvalue ratio {high / low:.3g} > {MAX_COND:g})")
    return rows


def components_count(n: float, where: str) -> int:
    """Refuse a target that would compile to more than MAX_COMPONENTS Gaussians, before building it."""
    if not math.isfinite(n) or n > MAX_COMPONENTS:
        shown = "too many" if not math.isfinite(n) else f"{n:,.0f}"
        raise PresetError(f"{where}: would need {shown} Gaussians; the limit is {MAX_COMPONENTS:,} "
                          "(make it wider or smaller)")
    return int(n)


def mixture_arrays(weights, means, covs, where: str = "target") -> None:
    """Whole-mixture checks after compilation: finite positive weights with a finite sum, bounded
    means, and no component so narrow against the spread of the means that float64 loses it."""
    w, mu, cov = (np.asarray(a, dtype=np.float64) for a in (weights, means, covs))
    if len(w) > MAX_COMPONENTS:
        components_count(len(w), where)
    if not (np.all(np.isfinite(w)) and np.all(w > 0) and np.isfinite(w.sum())):
        raise PresetError(f"{where}: weights must be finite and > 0 with a finite sum")
    if not (np.all(np.isfinite(mu)) and np.all(np.abs(mu) <= MAX_COORD)):
        raise PresetError(f"{where}: means must be finite and within ±{MAX_COORD:g}")
    if not np.all(np.isfinite(cov)):
        raise PresetError(f"{where}: covariances must be finite")
    tr, det = cov[:, 0, 0] + cov[:, 1, 1], cov[:, 0, 0] * cov[:, 1, 1] - cov[:, 0, 1] * cov[:, 1, 0]
    low = tr / 2 - np.sqrt(np.maximum(tr**2 / 4 - det, 0))
    if not np.all(low > 0) or float(low.min()) < MIN_STD**2 * (1 - 1e-9):
        raise PresetError(f"{where}: a component is narrower than std {MIN_STD:g}")
    extent = float(np.max(np.abs(mu - mu.mean(0)))) if len(mu) > 1 else 0.0
    if extent / math.sqrt(float(low.min())) > MAX_SPREAD:
        raise PresetError(f"{where}: components too narrow for their spread (std {math.sqrt(float(low.min())):.3g} "
                          f"over an extent of {extent:.3g}; the ratio must stay below {MAX_SPREAD:g})")


# ----- JSON text -----------------------------------------------------------------------------------------

def parse_json(text_: str, where: str) -> object:
    """json.loads that refuses NaN/Infinity, overflowing or absurdly long numbers and deep nesting."""
    def constant(c):
        raise PresetError(f"{where}: {c} is not allowed (numbers must be finite)")

    def parse_int(s):
        if len(s.lstrip("-")) > MAX_INT_DIGITS:
            raise PresetError(f"{where}: a number with {len(s.lstrip('-'))} digits is out of range")
        return int(s)

    def parse_float(s):
        v = float(s)
        if not math.isfinite(v):
            raise PresetError(f"{where}: number {s[:20]} is out of range")
        return v

    try:
        data = json.loads(text_, parse_constant=constant, parse_int=parse_int, parse_float=parse_float)
    except RecursionError:
        raise PresetError(f"{where}: nested more than {MAX_JSON_DEPTH} levels deep") from None
    except json.JSONDecodeError as e:
        raise PresetError(f"{where}: not valid JSON (line {e.lineno}: {e.msg})") from None
    check_depth(data, where)
    return data


def check_depth(data, where: str, limit: int = MAX_JSON_DEPTH) -> None:
    """Iterative, so a deep structure cannot overflow the stack while it is being measured."""
    stack = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (list, dict)):
            if depth > limit:
                raise PresetError(f"{where}: nested more than {limit} levels deep")
            stack.extend((c, depth + 1) for c in (node.values() if isinstance(node, dict) else node))


# ----- arrays from files --------------------------------------------------------------------------------

def points_array(arr, where: str) -> np.ndarray:
    """An (N, 2) array of real numbers (no bool/complex/time/object dtypes), finite, within ±MAX_COORD."""
    if not isinstance(arr, np.ndarray):
        raise PresetError(f"{where}: expected one array, got {type(arr).__name__}")
    if arr.dtype.kind not in "iuf":
        raise PresetError(f"{where}: expected real numbers, got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise PresetError(f"{where}: expected an (N, 2) array of numbers, got shape {arr.shape}")
    if len(arr) == 0:
        raise PresetError(f"{where}: holds no points")
    if len(arr) > MAX_IMPORT_POINTS:
        raise PresetError(f"{where}: {len(arr):,} points; the limit is {MAX_IMPORT_POINTS:,}")
    with np.errstate(all="ignore"):
        arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise PresetError(f"{where}: contains NaN or infinite values")
    if np.max(np.abs(arr)) > MAX_COORD:
        raise PresetError(f"{where}: coordinates must be within ±{MAX_COORD:g} (got {np.max(np.abs(arr)):.3g})")
    return arr
