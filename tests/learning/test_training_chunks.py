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
    with torch.no_grad():         # the last layer starts at zero, which would leave the others no gradient
        trainer.model.net[-1].weight.copy_(torch.randn(trainer.model.net[-1].weight.shape,
                                                       generator=torch.Generator().manual_seed(2)))
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
    assert all(float(g.abs().max()) > 0 for g in grads)
    for a, b in zip(grads, chunk_grads):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-6)


def test_without_gradients_the_slices_run_plainly(monkeypatch):
    from playground.learning.model import build_model
    monkeypatch.setattr(devices, "TRAIN_CELLS", 64 * 7)
    model = build_model(ModelConfig(n_classes=3))
    torch.nn.init.normal_(model.net[-1].weight)       # the last layer starts at zero: make F non-trivial
    y, s = torch.randn(50, 2), torch.rand(50, 1) + 0.1
    labels = torch.randint(0, 4, (50,))
    with torch.no_grad():
        whole = model.raw(y, s, labels)
        sliced = devices.in_chunks(model.raw, 64, y, s, labels)
    assert sliced.shape == (50, 2) and whole.abs().max() > 0.1 and torch.allclose(whole, sliced, atol=1e-6)
