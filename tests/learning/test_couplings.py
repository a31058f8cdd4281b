"""Minibatch couplings for flow matching: the exact plan, Sinkhorn between independent and OT, pairs
within classes, straighter paths from an OT-trained model, and checkpoints that record the coupling."""
import itertools
import math
from array import array

import numpy as np
import pytest
import torch

from playground.formats.checkpoint import load_model, read_checkpoint, save_checkpoint
from playground.formats.presets import compile_target
from playground.learning.couplings import COUPLINGS, pair_batch, paired
from playground.learning.model import ModelConfig
from playground.learning.reflow import few_step_report
from playground.learning.train_loop import cosine_tail
from playground.learning.trainer import TrainConfig, Trainer


def mixture(means, std=0.3, weights=None):
    comps = [{"weight": w, "mean": list(m), "cov": [[std**2, 0], [0, std**2]]}
             for m, w in zip(means, weights or [1] * len(means))]
    return compile_target({"kind": "mixture", "components": comps})


TWO_MODES = mixture([(-2.5, 0.0), (2.5, 0.0)])


def batch(n, seed, target=TWO_MODES):
    x, k = target.mixture.sample_with_labels(n, seed=seed)
    return x, torch.randn(n, 2, generator=torch.Generator().manual_seed(seed + 1)), k


def pair_cost(x, z, partner):
    return float(((x - z[partner]) ** 2).sum(1).sum())


def test_the_exact_plan_of_a_tiny_batch_is_the_brute_force_assignment():
    for seed in range(5):
        x, z, _ = batch(6, seed)
        partner = pair_batch(x, z, "ot")
        best = min(itertools.permutations(range(6)), key=lambda p: pair_cost(x, z, torch.tensor(p)))
        assert partner.tolist() == list(best), seed
        # sub-batches of at most 3: each half is solved on its own, its partners from its own rows
        halves = pair_batch(x, z, "ot", ot_batch=3)
        for rows in (range(0, 3), range(3, 6)):
            best = min(itertools.permutations(rows), key=lambda p: pair_cost(x[list(rows)], z, torch.tensor(p)))
            assert halves[list(rows)].tolist() == list(best), seed
    assert pair_batch(x, z, "independent").tolist() == list(range(6))
    assert torch.equal(paired(x, z, "ot")[1], z[pair_batch(x, z, "ot")])


def test_sinkhorn_pairs_like_independent_at_a_large_reg_and_like_ot_at_a_small_one():
    x, z, _ = batch(128, 0)
    gen = lambda: torch.Generator().manual_seed(0)           # noqa: E731
    mean_sq = lambda partner: pair_cost(x, z, partner) / len(x)         # noqa: E731
    independent, ot = mean_sq(torch.arange(128)), mean_sq(pair_batch(x, z, "ot", ot_batch=128))
    assert ot < 0.6 * independent
    loose = [mean_sq(pair_batch(x, z, "sinkhorn", ot_batch=128, ot_reg=100.0, generator=gen())) for _ in range(3)]
    tight = mean_sq(pair_batch(x, z, "sinkhorn", ot_batch=128, ot_reg=1e-3, generator=gen()))
    assert abs(np.mean(loose) - independent) < 0.1 * independent, (loose, independent)
    assert abs(tight - ot) < 0.1 * ot, (tight, ot)
    middle = mean_sq(pair_batch(x, z, "sinkhorn", ot_batch=128, ot_reg=0.05, generator=gen()))
    assert middle < 0.5 * independent
    again = pair_batch(x, z, "sinkhorn", ot_reg=0.05, generator=gen())
    assert torch.equal(again, pair_batch(x, z, "sinkhorn", ot_reg=0.05, generator=gen()))    # the generator decides


def test_conditional_pairs_stay_within_each_class_unless_ot_global():
    x, z, labels = batch(200, 3, mixture([(-2.5, 0.0), (2.5, 0.0), (0.0, 2.5)], weights=[1, 2, 3]))
    for coupling in ("ot", "sinkhorn"):
        partner = pair_batch(x, z, coupling, labels=labels, ot_batch=32, generator=torch.Generator().manual_seed(0))
        assert torch.equal(labels[partner], labels), coupling          # the noise came from a row of its class
    across = pair_batch(x, z, "ot-global", labels=labels, ot_batch=256)
    assert sorted(across.tolist()) == list(range(200)) and not torch.equal(labels[across], labels)
    assert torch.equal(across, pair_batch(x, z, "ot", ot_batch=256))


def train(target, coupling, steps, **config):
    trainer = Trainer(target, TrainConfig(seed=0, device="cpu", batch=256, coupling=coupling,
                                          model=ModelConfig(objective="fm"), **config))
    while trainer.step < steps:
        trainer.lr_scale = cosine_tail(trainer.step / steps)
        trainer.train(50)
    return trainer


def test_an_ot_trained_model_has_straighter_paths_and_a_better_one_step_sample():
    target = mixture([(0.0, 2.5), (-2.2, -1.25), (2.2, -1.25)], weights=[5, 3, 2])
    reports = {c: few_step_report(train(target, c, 600).ema_model, target, steps=(1,), n=1000, path_steps=20)
               for c in ("independent", "ot")}
    before, after = reports["independent"], reports["ot"]
    assert after["straightness"] > 0.98 and 1 - after["straightness"] < 0.2 * (1 - before["straightness"]), reports
    assert after["sw2"][1] < 0.35 * before["sw2"][1], reports


def test_a_conditional_ot_trainer_keeps_labels_with_their_data():
    target = mixture([(-2.5, 0.0), (2.5, 0.0)])
    trainer = Trainer(target, TrainConfig(seed=0, device="cpu", batch=64, conditional=True, coupling="ot",
                                          model=ModelConfig(objective="fm")))
    x0, labels, _ = trainer._training_batch()
    assert torch.equal(labels, (x0[:, 0] > 0).long())        # class 2 is the right mode, with or without OT
    z = torch.randn(64, 2, generator=torch.Generator().manual_seed(0))
    noise = trainer._paired(x0, z, labels)
    assert not torch.equal(noise, z)
    for c in (0, 1):                        # each class's data took its partners from its own rows' noise
        assert sorted(noise[labels == c].tolist()) == sorted(z[labels == c].tolist())
    assert len(trainer.train(3)) == 3 and not trainer.events


def test_independent_is_the_old_training_bit_for_bit_and_ot_changes_only_the_pairs():
    base = Trainer(TWO_MODES, TrainConfig(seed=0, device="cpu", batch=64, model=ModelConfig(objective="fm")))
    same = Trainer(TWO_MODES, TrainConfig(seed=0, device="cpu", batch=64, coupling="independent", ot_batch=3,
                                          ot_reg=9.0, model=ModelConfig(objective="fm")))
    ot = Trainer(TWO_MODES, TrainConfig(seed=0, device="cpu", batch=64, coupling="ot",
                                        model=ModelConfig(objective="fm")))
    assert base.train(5) == same.train(5)
    assert array("f", ot.train(5)) != base.losses          # float32 both sides, as the trainer keeps them
    assert torch.equal(base._gen.get_state(), ot._gen.get_state())     # ot drew nothing more


@pytest.mark.parametrize("bad", [dict(coupling="ot", model=ModelConfig(objective="dsm")), dict(coupling="exact"),
                                 dict(ot_batch=0), dict(ot_batch=-4), dict(ot_reg=0.0), dict(ot_reg=-1.0),
                                 dict(ot_reg=math.nan), dict(ot_reg=math.inf)])
def test_the_trainer_refuses_a_coupling_it_cannot_use(bad):
    config = {"coupling": "sinkhorn", "model": ModelConfig(objective="fm"), **bad}
    with pytest.raises(ValueError):
        Trainer(TWO_MODES, TrainConfig(device="cpu", **config))
    assert "independent" in COUPLINGS


def test_checkpoints_record_the_coupling_and_old_ones_still_load(tmp_path):
    trainer = Trainer(TWO_MODES, TrainConfig(seed=0, device="cpu", batch=32, coupling="sinkhorn", ot_batch=16,
                                             ot_reg=0.2, model=ModelConfig(objective="fm")))
    trainer.train(2)
    path = tmp_path / "ot.pt"
    save_checkpoint(trainer, path)
    config = read_checkpoint(path)["config"]
    assert (config["coupling"], config["ot_batch"], config["ot_reg"]) == ("sinkhorn", 16, 0.2)
    assert TrainConfig.from_dict(config).coupling == "sinkhorn" and load_model(path).config.objective == "fm"

    state = torch.load(path, weights_only=True)
    for key in ("coupling", "ot_batch", "ot_reg"):
        del state["config"][key]                # a checkpoint from before couplings
    torch.save(state, tmp_path / "old.pt")
    old = read_checkpoint(tmp_path / "old.pt")
    assert TrainConfig.from_dict(old["config"]).coupling == "independent"
    y = torch.randn(5, 2)
    torch.testing.assert_close(load_model(tmp_path / "old.pt")(y, 0.5), load_model(path)(y, 0.5))
