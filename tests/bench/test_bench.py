"""The benchmark's yardstick and machinery (its speed figures are measured by `bench`, not here)."""
import itertools
import math

import numpy as np
import pytest
import torch

from playground.tools import bench
from playground.tools.bench import (QUALITY_N, _seconds_to_stamp, import_floor_s, quality_reached, startup_s,
                                   targets_missed, time_to_quality_s)
from playground.maths.metrics import sliced_w2
from playground.formats.presets import load_preset
from playground.learning.reference import BATCH, ReferenceTrainer, reference_schedule
from playground.maths.sources import ExactSource
from playground.learning.trainer import TrainConfig, Trainer

EIGHT = load_preset("eight_gaussians").target


@pytest.fixture(autouse=True)
def two_torch_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(min(2, before))
    yield
    torch.set_num_threads(before)


def _floor_and_refs(target):
    floor = float(np.mean([sliced_w2(target.sample(QUALITY_N, seed=500 + i), target.sample(QUALITY_N, seed=600 + i))
                           for i in range(4)]))
    return floor, [target.sample(QUALITY_N, seed=700 + i) for i in range(2)]


def test_the_yardstick_passes_the_exact_score_and_fails_an_untrained_model():
    floor, refs = _floor_and_refs(EIGHT)
    ok, d = quality_reached(EIGHT, ExactSource(EIGHT), floor, refs)
    assert ok, d / floor       # ~1.4x on this target: a 4000-point SW2 of a mixture is that noisy
    ok, d = quality_reached(EIGHT, Trainer(EIGHT, TrainConfig(seed=0)).source(), floor, refs)
    assert not ok and d > 3 * floor        # a zero-initialised network only shrinks the noise


def test_time_to_quality_is_the_training_time_of_the_first_check_that_passes(monkeypatch):
    """A clock that ticks 1 per reading makes the run the same on any machine: with check_every_s = 4
    each check follows three 25-step chunks and counts 5 'seconds'; the answer is 5 x the number of
    checks up to the first that passes, and infinite when the budget ends before one does."""
    verdicts = []

    def recording(*args, **kwargs):
        verdicts.append(quality_reached(*args, **kwargs)[0])
        return verdicts[-1], 0.0
    monkeypatch.setattr(bench, "quality_reached", recording)
    t = time_to_quality_s(EIGHT, seed=0, budget_s=1000, check_every_s=4, clock=itertools.count().__next__)
    assert len(verdicts) >= 2 and verdicts == [False] * (len(verdicts) - 1) + [True], verdicts
    assert t == 5 * len(verdicts)
    verdicts.clear()
    assert time_to_quality_s(EIGHT, seed=0, budget_s=5, check_every_s=4, clock=itertools.count().__next__) == math.inf
    assert verdicts == [False]


def test_the_reference_recipe_learns_and_is_judged_on_its_own_sigma_range():
    trainer = ReferenceTrainer(EIGHT, seed=0)
    sched = reference_schedule()
    assert (sched.sigma_min, sched.sigma_max) == (0.005, 10.0)     # the range it was trained on
    floor, refs = _floor_and_refs(EIGHT)
    _, before = quality_reached(EIGHT, trainer.source(), floor, refs, sched)
    trainer.train(150)
    assert trainer.step == 150
    _, after = quality_reached(EIGHT, trainer.source(), floor, refs, sched)
    assert after < 0.5 * before       # epsilon prediction of batch-2048 exact samples is being learned
    x = EIGHT.sample(BATCH, seed=1)
    assert torch.isfinite(trainer.source().denoise(x, 0.5)).all()


def test_startup_and_import_floor_probes_report_their_stamps():
    assert 0 < startup_s() < math.inf and 0 < import_floor_s() < math.inf     # how long is bench's business
    with pytest.raises(RuntimeError, match="imported probe failed"):
        _seconds_to_stamp(["-c", "print('nothing stamped')"], "imported")


def test_targets_name_only_the_figures_above_their_limit():
    assert targets_missed({"time_to_quality_s": 3.0, "startup_over_import_floor": 1.05}) == []
    assert targets_missed({"time_to_quality_s": 25.0, "startup_s": 9.0}) == ["time_to_quality_s 25 > 20"]


def test_coupling_speeds_cover_each_coupling_and_batch_and_ot_has_a_floor():
    figures = bench.coupling_steps_per_s(EIGHT, batches=(64, 32), seconds=0.05, rounds=1)
    assert set(figures) == set(bench.BENCH_COUPLINGS) and all(set(r) == {"64", "32"} for r in figures.values())
    assert all(v > 0 for r in figures.values() for v in r.values())
    assert targets_missed({"ot_over_independent_256": 0.3}) == ["ot_over_independent_256 0.3 < 0.4"]


def test_peak_memory_is_reported_per_built_in_preset_beside_the_sampling_process():
    pytest.importorskip("PySide6")
    assert "blank" not in bench.builtin_targets() and "rings" in bench.builtin_targets()
    window, child = bench.peak_rss_mb(seconds=2.0, presets=["twin_peaks"])
    assert set(window) == set(child) == {"twin_peaks"}
    assert 100 < window["twin_peaks"] < 4096 and 50 < child["twin_peaks"] < 4096   # MB, not bytes or KB
    assert targets_missed({"peak_rss_mb_max": 720.0}) == ["peak_rss_mb_max 720 > 700"]
    assert targets_missed({"live_refresh_per_s": 4.5, "live_training_ratio": 0.8}) == ["live_refresh_per_s 4.5 < 5"]
