"""Memory budgets: every cache and working set of the app, sized here and nowhere else.

The window's resident memory is the libraries' floor (torch, Qt, pyqtgraph, scipy: about 370 MB)
plus what these allow, so the sum below is what a laptop is asked to spare beyond the floor.
The peak counts as much as the steady state: a transient table of (points x components) float64
planes is as resident, while it lives, as a cache. The bench reports the peak per built-in preset
(`peak_rss_mb`); tests check that each cache keeps to its budget.
"""
from __future__ import annotations

import threading
import time

import torch

MB = 1024 * 1024

# Working sets: how much one computation holds at once.
MIXTURE_CELLS = 1 << 16          # (point, component) pairs a mixture evaluates at once: ~6 float64 planes, 3 MB
                                 # (smaller chunks stay in cache: 2-3x faster than 1 << 21 on a 600-component target)
WORKING_CELLS = 1 << 20          # (point, point) pairs a distance table holds at once (memorisation, energy
                                 # distance): 8 MB
TRAIN_CELLS = 1 << 21            # (sample, hidden unit) pairs one training pass holds activations for: a
                                 # larger batch x width (65536 x 1024 peaked at 1.7 GB) runs the network in
                                 # checkpointed chunks of this size (learning/devices.in_chunks): 8 MB a layer
EVAL_CELLS = 1 << 20             # (point, hidden unit) pairs one network evaluation holds: a sampler step on
                                 # 200k particles at width 1024 peaked at 2.6 GB (64: +230 MB) and now runs in
                                 # row slices of this size (maths/sources.ModelSource): 4 MB a layer

# Caches: what is kept between computations.
RUN_FRAME_BYTES = 64 * MB        # frames of the main lane's run (a 10k x 100-step run is 8 MB; more: every k-th)
COMPARE_PANEL_FRAME_BYTES = 32 * MB   # frames of each Compare panel (at most four panels)
DENOISED_BYTES = 32 * MB         # x̂₀ of the frames shown (least recently used go first)
PT_GRID_BYTES = 16 * MB          # p_t backdrop grids (one 96² float64 grid is 72 KB: a 50-step run is 3.7 MB)
BROWNIAN_BYTES = 10 * MB         # nodes of each shared Brownian path (maths/samplers/noise.py; Compare runs one
                                 # per panel): was 64 MB each, 256 MB over four panels of 20k particles; kept
                                 # least recently used first, and never under one root-to-leaf path (28
                                 # nodes of 16 bytes a particle: 9 MB at Compare's most, 20k particles)
DENSITY_IMAGE_BYTES = 2 * MB     # target density images shared by the views (one 128² float32 image is 64 KB)
COMPARE_PANELS = 4               # the Compare dock's most panels


def rows_per_pass(width: int, cells: int) -> int:
    """Rows of a network `width` hidden units wide that one pass may hold under a budget of `cells`."""
    return max(1, int(cells) // max(1, int(width)))


def by_rows(fn, rows: int, *args, wrap=None):
    """fn(*args) on slices of `rows` rows of every tensor sharing args[0]'s first dimension (anything
    else passes whole), concatenated: the same answer when rows are independent, a bounded working
    set. wrap(fn, *slice_args) runs each slice instead of fn (activation checkpointing, say)."""
    n = len(args[0])
    if n <= rows:
        return fn(*args)
    parts = []
    for i in range(0, n, rows):
        part = [a[i:i + rows] if isinstance(a, torch.Tensor) and a.ndim and a.shape[0] == n else a for a in args]
        parts.append(fn(*part) if wrap is None else wrap(fn, *part))
    return torch.cat(parts)


def cache_bytes() -> int:
    """What the caches may hold together at most."""
    return (RUN_FRAME_BYTES + COMPARE_PANELS * (COMPARE_PANEL_FRAME_BYTES + BROWNIAN_BYTES) + DENOISED_BYTES
            + PT_GRID_BYTES + DENSITY_IMAGE_BYTES)


class ByteLRU:
    """Least-recently-used entries under a byte budget: put() drops the oldest until the total
    fits, and an entry larger than the whole budget is not kept at all."""

    def __init__(self, max_bytes: int):
        from collections import OrderedDict
        self.max_bytes = int(max_bytes)
        self.nbytes = 0
        self._items: OrderedDict = OrderedDict()          # key -> (value, nbytes)

    def get(self, key, default=None):
        hit = self._items.get(key)
        if hit is None:
            return default
        self._items.move_to_end(key)
        return hit[0]

    def put(self, key, value, nbytes: int) -> None:
        self.pop(key)
        if nbytes > self.max_bytes:
            return
        self._items[key] = (value, int(nbytes))
        self.nbytes += int(nbytes)
        while self.nbytes > self.max_bytes:
            self.nbytes -= self._items.popitem(last=False)[1][1]

    def pop(self, key) -> None:
        hit = self._items.pop(key, None)
        if hit is not None:
            self.nbytes -= hit[1]

    def clear(self) -> None:
        self._items.clear()
        self.nbytes = 0

    def __contains__(self, key) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)


RELEASE_EVERY_S = 1.0     # malloc_trim is ~5 ms with 100 MB to hand back, ~0.4 ms with none
_release = {"last": 0.0, "trim": None}
_release_lock = threading.Lock()


def release_free_memory(force: bool = False) -> bool:
    """Hand the C allocator's free pages back to the system after a heavy job (glibc's malloc_trim).

    Freed tensors and arrays stay resident in glibc's per-thread arenas: after four minutes of the
    GUI monkey the window held 931 MB, of which 350 MB was free heap that malloc_trim returned.
    At most once a RELEASE_EVERY_S unless forced; False where there is no glibc (macOS, Windows)
    or when it was skipped."""
    with _release_lock:
        now = time.monotonic()
        if not force and now - _release["last"] < RELEASE_EVERY_S:
            return False
        _release["last"] = now
        if _release["trim"] is None:
            _release["trim"] = _malloc_trim()
        trim = _release["trim"]
    return bool(trim and trim(0) >= 0)


def _malloc_trim():
    """glibc's malloc_trim, or False where the C library has none (ctypes is imported here, when
    the first job ends, not at start-up)."""
    import ctypes
    for name in ("libc.so.6", None):        # None: the symbols already loaded into this process
        try:
            trim = ctypes.CDLL(name).malloc_trim
            break
        except (OSError, AttributeError, TypeError):
            continue
    else:
        return False
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim
