"""A batch x width over TRAIN_CELLS trains in checkpointed chunks (learning/devices.in_chunks):
bounded memory, the same loss and the same gradient."""
import pytest
import torch

from playground import load_preset
from playground.learning import devices
from playground.learning.model import ModelConfig
from playground.learning.trainer import TrainConfig, Trainer


def _loss_and_grads(monkeypatch, cells, **config):
    monkeypatch.setattr(devices, "TRAIN_CELLS", cells)
    trainer = Trainer(load_preset("loaded_dice").target, TrainConfig(seed=0, device="cpu", batch=300, **config))
    calls = []
    raw, velocity = trainer.model.raw, trainer.model.velocity
    trainer.model.raw = lambda *a: calls.append(len(a[0])) or raw(*a)
    trainer.model.velocity = lambda *a: calls.append(len(a[0])) or velocity(*a)
    loss = trainer.loss_fn(*trainer._training_batch())
    loss.backward()
    return float(loss.detach()), [p.grad.clone() for p in trainer.model.parameters()], calls


@pytest.mark.parametrize("config", [{}, {"model": ModelConfig(objective="fm")}, {"conditional": True},
                                    {"stable_target": True}])
def test_chunked_training_gives_the_same_loss_and_gradient(monkeypatch, config):
    whole, grads, calls = _loss_and_grads(monkeypatch, 1 << 20, **config)
    assert calls == [300]
    copy = {k: (ModelConfig(**v.to_dict()) if isinstance(v, ModelConfig) else v) for k, v in config.items()}
    chunked, chunk_grads, chunk_calls = _loss_and_grads(monkeypatch, 64 * 100, **copy)   # 100 rows at width 64
    assert chunk_calls[:3] == [100, 100, 100]          # forward in three slices (backward recomputes them)
    assert chunked == pytest.approx(whole, rel=1e-5)
    for a, b in zip(grads, chunk_grads):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-6)
