"""Issue 18's hostile inputs to training, each once: a batch of one is noise, not divergence, and a loss
that never becomes finite ends at the learning-rate floor with one stall event (moved here from
tests/cli/test_hostile_inputs.py, which keeps the command-line cases)."""
import torch


def test_batch_one_noise_is_not_divergence():
    from playground.formats.presets import load_preset
    from playground.learning.model import ModelConfig
    from playground.learning.trainer import TrainConfig, Trainer
    # on main this run "diverged" at step 51 and halved the rate, and kept halving it after
    trainer = Trainer(load_preset("spiral").target,
                      TrainConfig(batch=1, device="cpu", seed=0, model=ModelConfig(hidden=16)))
    for _ in range(40):
        if trainer.step >= 400:
            break
        trainer.train(50)
    assert trainer.lr == TrainConfig.lr and not any("diverged" in e for e in trainer.events), trainer.events
    assert trainer.step >= 400


def test_the_learning_rate_has_a_floor_and_a_stall_event(monkeypatch):
    from playground.formats.presets import load_preset
    from playground.learning.model import ModelConfig
    from playground.learning.trainer import MIN_LR, TrainConfig, Trainer
    trainer = Trainer(load_preset("loaded_dice").target, TrainConfig(batch=8, device="cpu", model=ModelConfig(hidden=8)))
    monkeypatch.setattr(trainer, "loss_fn", lambda *a: torch.tensor(float("nan"), requires_grad=True))
    for _ in range(40):
        trainer.train(1)
    assert trainer.lr == MIN_LR and trainer.stalled
    assert sum("stopped making progress" in e for e in trainer.events) == 1
