"""The benchmark's yardstick and machinery (its speed figures are measured by `bench`, not here)."""
import math

import numpy as np
import pytest
import torch

from playground.tools.bench import QUALITY_N, quality_reached, startup_s, time_to_quality_s
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


def test_time_to_quality_is_finite_when_reached_and_infinite_when_the_budget_runs_out():
    t = time_to_quality_s(EIGHT, seed=0, budget_s=20.0)
    assert 0.2 <= t < 20.0       # at least one 0.25 s training chunk; measured ~1.1 s on 2 cores
    assert time_to_quality_s(EIGHT, seed=0, budget_s=0.05) == math.inf


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


def test_startup_probe_reports_a_first_paint():
    t = startup_s()
    assert 0.1 < t < 60.0
