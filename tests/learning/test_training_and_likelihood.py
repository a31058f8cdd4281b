"""Training reaches the target; likelihoods through the ODE match the exact density."""

import numpy as np
import pytest
import torch

from tests.helpers import floor_and_distance
from playground import load_preset
from playground.formats.checkpoint import CheckpointError, load_model, save_checkpoint
from playground.maths.likelihood import nll
from playground.maths.samplers import sample
from playground.maths.sources import ExactSource
from playground.learning.trainer import TrainConfig, Trainer


@pytest.mark.parametrize("name", ["loaded_dice", "spiral", "two_moons"])
def test_exact_nll_through_the_ode_matches_the_true_density(name):
    t = load_preset(name).target
    x = t.sample(300, seed=0)
    ode = nll(ExactSource(t), x)
    true = -t.log_prob(x.double()).numpy()
    assert abs(ode.mean() - true.mean()) < 0.02
    assert np.abs(ode - true).max() < 0.2


def test_short_training_on_two_moons_reaches_the_target_with_ode_heun():
    t = load_preset("two_moons").target
    trainer = Trainer(t, TrainConfig(seed=0))
    trainer.train(2000)        # a step count, not a time budget: the same model on any machine (ratio ~1.2)
    source = trainer.source()
    dist, floor = floor_and_distance(t, lambda s: sample("ode-heun", source, 4000, seed=s, steps=50))
    assert dist <= 1.5 * floor, (dist, floor, trainer.step)
    # and the learned likelihood is close to the truth
    x = t.sample(200, seed=1)
    assert abs(nll(source, x).mean() - float(-t.log_prob(x.double()).mean())) < 0.3


def test_train_returns_one_loss_per_step_and_is_seeded():
    t = load_preset("loaded_dice").target
    a = Trainer(t, TrainConfig(seed=3, batch=256)).train(5)
    b = Trainer(t, TrainConfig(seed=3, batch=256)).train(5)
    assert len(a) == 5 and a == b


def test_a_diverging_learning_rate_is_caught_and_the_model_stays_finite():
    t = load_preset("loaded_dice").target
    trainer = Trainer(t, TrainConfig(seed=0, lr=50.0, warmup=1, grad_clip=1e9))
    for _ in range(40):
        trainer.train(10)
    assert any("diverged" in e for e in trainer.events)
    assert trainer.lr < 50.0
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())
    assert torch.isfinite(trainer.source().denoise(torch.zeros(4, 2), 0.5)).all()


def test_fixed_training_set_is_used_when_asked():
    t = load_preset("loaded_dice").target
    trainer = Trainer(t, TrainConfig(seed=0, dataset_size=12))
    assert trainer.dataset.shape == (12, 2)
    batch = trainer._batch()
    assert all(any(torch.equal(b, d) for d in trainer.dataset) for b in batch[:20])


def test_checkpoint_round_trip_is_weights_only_and_refuses_pickles(tmp_path):
    t = load_preset("loaded_dice").target
    trainer = Trainer(t, TrainConfig(seed=0))
    trainer.train(3)
    path = tmp_path / "m.pt"
    save_checkpoint(trainer, path)
    state = torch.load(path, weights_only=True)
    assert state["step"] == 3 and "model" in state["config"]
    model = load_model(path)
    y = torch.randn(5, 2)
    assert torch.allclose(model(y, 0.3), trainer.ema_model(y, 0.3))

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))
    torch.save({"config": {}, "ema": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="pickled"):
        load_model(tmp_path / "evil.pt")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(CheckpointError, match="not a checkpoint"):
        load_model(tmp_path / "junk.pt")
    (tmp_path / "cut.pt").write_bytes(path.read_bytes()[:200])
    with pytest.raises(CheckpointError):
        load_model(tmp_path / "cut.pt")


def test_warm_start_keeps_the_weights_when_the_target_changes():
    trainer = Trainer(load_preset("loaded_dice").target, TrainConfig(seed=0))
    trainer.train(20)
    before = [p.clone() for p in trainer.model.parameters()]
    trainer.set_target(load_preset("two_moons").target)
    assert all(torch.equal(a, b) for a, b in zip(before, trainer.model.parameters()))
    assert trainer.step == 20


def test_a_learning_rate_raised_mid_run_recovers_to_the_old_loss_level():
    """The weights kept as 'good' are ones that produced a healthy loss, never an update that already blew up."""
    t = load_preset("loaded_dice").target
    trainer = Trainer(t, TrainConfig(seed=1))
    before = np.mean(trainer.train(70)[-30:])     # 70: the next snapshot step (75) comes after the raise
    trainer.set_lr(10.0)
    after = []
    for _ in range(60):
        after += trainer.train(10)
    assert any("diverged" in e for e in trainer.events)
    assert len(after) > 300 and np.mean(after[-50:]) < 1.5 * before
