"""The learning side of the diagnostics: one training set for the trainer and the memorisation tools,
the trainer's own weighting of levels, training that brings a model down to its floor, and the
sweep over training-set sizes."""
import copy

import numpy as np
import pytest
import torch

from playground import load_preset
from playground.learning.dataset import training_set
from playground.learning.diagnostics import memorisation_sweep, trainer_floor_and_excess
from playground.learning.model import ModelConfig
from playground.learning.trainer import TrainConfig, Trainer
from playground.maths.diagnostics.loss_by_level import LevelProbe, level_grid
from playground.maths.progress import Cancelled
from playground.maths.sources import ExactSource

pytestmark = pytest.mark.usefixtures("one_torch_thread")

DICE = load_preset("loaded_dice").target


def test_the_training_set_is_the_one_the_trainer_draws_and_did_draw_before():
    for n, seed, conditional in ((12, 0, False), (40, 5, True)):
        trainer = Trainer(DICE, TrainConfig(seed=seed, dataset_size=n, conditional=conditional, device="cpu"))
        x, k = training_set(DICE, n, seed)
        assert torch.equal(trainer.dataset, x)
        assert torch.equal(x, DICE.mixture.sample_with_labels(n, seed=seed + 7)[0])     # as before the move
        if conditional:
            assert torch.equal(trainer.dataset_labels, torch.as_tensor(DICE.groups)[k])
    with pytest.raises(ValueError):
        training_set(DICE, 0)


@pytest.mark.parametrize("objective, t_sampling", [("dsm", "uniform"), ("fm", "uniform"), ("fm", "logit-normal")])
def test_level_weights_reproduce_the_trainers_own_loss(objective, t_sampling):
    """floor + excess under the trainer's weighting = the loss it reports, here of an untrained net."""
    trainer = Trainer(DICE, TrainConfig(seed=0, device="cpu", batch=64, t_sampling=t_sampling,
                                        model=ModelConfig(hidden=16, objective=objective)))
    trainer.train(3)
    probe = LevelProbe(DICE, level_grid(80, 1e-4, 1e4), n=3000, seed=0)
    floor, excess = trainer_floor_and_excess(probe.evaluate(trainer.source()), trainer)
    frozen = copy.copy(trainer)
    frozen.model = trainer.ema_model
    with torch.no_grad():
        loss = np.mean([float(frozen.loss_fn(DICE.sample(20_000, seed=i))) for i in range(4)])
    assert floor + excess == pytest.approx(loss, rel=0.03)
    assert 0 < floor < loss


def test_a_model_trained_ten_times_longer_lies_closer_to_its_floor():
    probe = LevelProbe(DICE, level_grid(10), n=3000, seed=0)
    gaps = {}
    for steps in (40, 400):
        trainer = Trainer(DICE, TrainConfig(seed=0, device="cpu", batch=256, model=ModelConfig(hidden=32)))
        trainer.train(steps)
        result = probe.evaluate(trainer.source())
        assert np.all(result.model_mse >= result.floor_mse)
        gaps[steps] = trainer_floor_and_excess(result, trainer)[1]
    assert gaps[400] < 0.25 * gaps[40], gaps


def test_the_sweep_gives_copy_rates_per_size_with_a_model_hook():
    seen = []

    def model_for(n, dataset):
        seen.append((n, dataset.shape))
        return ExactSource(DICE)          # a model that generalises perfectly copies by chance only

    rows = memorisation_sweep(DICE, sizes=(16, 64), n=300, seed=1, model_for=model_for)
    assert [r.n_train for r in rows] == [16, 64] and seen == [(16, (16, 2)), (64, (64, 2))]
    for r in rows:
        assert r.copy_rate_empirical_exact >= 0.95 and r.copy_rate_fresh <= 0.05 and r.copy_rate_model <= 0.05
        np.testing.assert_array_equal(r.dataset, training_set(DICE, r.n_train, 1)[0].numpy())
    with pytest.raises(Cancelled):
        memorisation_sweep(DICE, sizes=(8,), n=10, progress=lambda f: False)
