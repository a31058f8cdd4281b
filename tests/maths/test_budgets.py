"""Caches keep to their byte budgets (maths/budgets.py), and chunked class posteriors equal whole ones."""
import numpy as np
import pytest
import torch

from playground.formats.presets import load_preset
from playground.maths import budgets
from playground.maths.budgets import ByteLRU
from playground.maths.grids.noised import PtGridCache

VIEW = {"xlim": [-4.0, 4.0], "ylim": [-4.0, 4.0]}


def test_a_byte_lru_never_holds_more_than_its_budget():
    cache, rng = ByteLRU(1000), np.random.default_rng(0)
    for k in range(300):
        size = int(rng.integers(1, 1300))
        cache.put(k % 40, object(), size)
        assert cache.nbytes <= 1000
        assert (k % 40 in cache) == (size <= 1000)       # an entry over the whole budget is never kept


def test_the_least_recently_used_entry_goes_first():
    cache = ByteLRU(30)
    for key in "abc":
        cache.put(key, key.upper(), 10)
    assert cache.get("a") == "A"           # a is now the most recent: b is the oldest
    cache.put("d", "D", 10)
    assert "b" not in cache and all(k in cache for k in "acd") and cache.nbytes == 30
    cache.put("a", "A2", 25)               # replacing an entry frees its old bytes first
    assert cache.get("a") == "A2" and cache.nbytes == 25 and len(cache) == 1


def test_the_pt_cache_keeps_to_its_byte_budget_over_a_whole_run():
    target = load_preset("loaded_dice").target
    one = 16 * 16 * 8                                  # a 16x16 float64 grid
    cache = PtGridCache(max_bytes=10 * one)
    for sigma in np.linspace(0.05, 3.0, 51):           # every frame of a 50-step run
        grid = cache.exact(target, 1.0, float(sigma), VIEW, res=16)
        assert cache.nbytes <= 10 * one and grid.shape == (16, 16)
    assert len(cache) == 10
    assert cache.exact(target, 1.0, 3.0, VIEW, res=16) is cache.exact(target, 1.0, 3.0, VIEW, res=16)


def test_the_caches_together_stay_within_what_a_laptop_spares():
    assert budgets.cache_bytes() <= 300 * budgets.MB
    assert PtGridCache().nbytes == 0 and ByteLRU(budgets.PT_GRID_BYTES).max_bytes == budgets.PT_GRID_BYTES


def test_class_posteriors_in_small_chunks_are_the_responsibilities_summed_per_class():
    target = load_preset("rings").target
    x = target.sample(300, seed=4).double()
    whole = target.mixture.responsibilities(x, 0.8, 0.4)
    groups = torch.as_tensor(target.groups)
    summed = torch.zeros(len(x), target.n_groups, dtype=torch.float64).index_add_(1, groups, whole)
    chunked = target.mixture.group_posteriors(x, target.groups, target.n_groups, 0.8, 0.4,
                                              max_cells=7 * len(target.mixture))      # seven points a chunk
    torch.testing.assert_close(chunked, summed)
    clean = target.mixture.group_posteriors(x, target.groups, target.n_groups)
    np.testing.assert_array_equal(target.classify(x, max_cells=50), clean.argmax(1).numpy())


def _resident_mb() -> float:
    import os
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / budgets.MB


def test_freed_heap_goes_back_to_the_system_after_a_job():
    """Arrays freed in a worker thread stay resident in its arena until malloc_trim hands them back."""
    import sys
    import threading
    import os
    if (not sys.platform.startswith("linux") or os.environ.get("LD_PRELOAD")
            or not budgets.release_free_memory(force=True)):
        pytest.skip("glibc's malloc_trim is Linux-only (and another preloaded allocator ignores it)")
    kept = []

    def job():          # 1500 blocks of 100 KB (under the mmap threshold): the last one pins the heap's top
        blocks = [np.ones(12_800) for _ in range(1500)]
        kept.append(blocks[-1])
        del blocks
    thread = threading.Thread(target=job)
    thread.start()
    thread.join()
    held = _resident_mb()                            # 150 MB freed, still resident
    assert budgets.release_free_memory(force=True)
    assert held - _resident_mb() > 100               # handed back
    assert not budgets.release_free_memory()         # at most once a RELEASE_EVERY_S unless forced
