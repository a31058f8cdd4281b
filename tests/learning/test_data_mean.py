"""The denoiser's preconditioning centred on the data's mean (ModelConfig.data_mean, issue 26)."""
import math

import pytest
import torch

from playground import load_preset
from playground.formats.session_checks import SessionCheckError, check_trainer_config
from playground.learning.model import ModelConfig, build_model
from playground.learning.train_loop import budget_config, train_for
from playground.learning.trainer import TrainConfig, Trainer
from playground.tools.one_second import floor_ratio


def test_an_untrained_centred_model_denoises_to_the_mean_at_large_levels():
    """The last layer starts at zero, so D = m + c_skip (y - m): the data mean once noise swamps y,
    and y itself at small noise. Without a mean (old checkpoints) the same model is centred on 0."""
    y = torch.randn(50, 2, generator=torch.Generator().manual_seed(0)) * 1e4
    centred = build_model(ModelConfig(sigma_data=1.3, data_mean=[2.0, -1.0]))
    assert torch.allclose(centred(y, 1e4), torch.tensor([2.0, -1.0]).expand(50, 2), atol=0.05)
    levels = torch.full((50, 1), 1e4)
    assert torch.allclose(centred(y, levels), centred(y, 1e4), atol=1e-4)    # per-row levels: the same D
    small = torch.randn(5, 2)
    assert torch.allclose(centred(small, 1e-4), small, atol=1e-4)
    old = build_model({"sigma_data": 1.3})
    assert old.config.data_mean is None and torch.allclose(old(y, 1e4), torch.zeros(50, 2), atol=0.05)
    assert set(old.state_dict()) == set(centred.state_dict())             # checkpoints keep their keys


def test_bad_means_are_refused():
    for bad in ([1.0], [math.nan, 0.0], "ab", [1.0, 2.0, 3.0]):
        with pytest.raises(ValueError, match="data_mean"):
            build_model(ModelConfig(data_mean=bad))
    for bad in ([1.0], [math.inf, 0.0], "ab", [1e9, 0.0], [True, 0.0]):
        with pytest.raises(SessionCheckError, match="data_mean"):
            check_trainer_config({"model": {"data_mean": bad}})
    check_trainer_config({"model": {"data_mean": [1.5, -2]}})
    check_trainer_config({"model": {"data_mean": None}})


def test_training_sets_the_mean_from_the_target_for_score_matching_only():
    target = load_preset("twin_peaks").target
    trainer = Trainer(target, TrainConfig(seed=0, device="cpu", batch=32))
    assert trainer.model.config.data_mean == pytest.approx([float(v) for v in target.mixture.mean()], abs=1e-4)
    assert trainer.model.config.data_mean == pytest.approx([-1.2, 0.1], abs=1e-4)
    flow = Trainer(target, TrainConfig(seed=0, device="cpu", batch=32, model=ModelConfig(objective="fm")))
    assert flow.model.config.data_mean is None
    given = Trainer(target, TrainConfig(seed=0, device="cpu", batch=32, model=ModelConfig(data_mean=[0.0, 0.0])))
    assert given.model.config.data_mean == [0.0, 0.0]


def test_a_saved_model_keeps_its_mean(tmp_path):
    from playground.formats.checkpoint import load_model, save_checkpoint
    trainer = Trainer(load_preset("twin_peaks").target, TrainConfig(seed=0, device="cpu", batch=64))
    trainer.train(20)
    path = tmp_path / "m.pt"
    save_checkpoint(trainer, path)
    loaded = load_model(path)
    y = torch.randn(64, 2)
    assert loaded.config.data_mean == trainer.model.config.data_mean
    assert torch.allclose(loaded(y, 0.7), trainer.ema_model(y, 0.7), atol=1e-6)


def test_centring_fixes_the_weight_between_far_modes_in_a_short_run():
    """twin_peaks (80/20 at x = -2 and 2, mean -1.2): after one idle second's steps the uncentred
    model read 1.23 and 1.26 times the floor (training seeds 0, 1; evaluation seeds 0, 1) and gave
    the small mode 0.3-0.7% too much weight; the centred one 0.81 and 0.58."""
    target = load_preset("twin_peaks").target
    trainer = Trainer(target, budget_config(seed=0, device="cpu"))
    for _ in train_for(trainer, steps=400):
        pass
    ratio = (floor_ratio(target, trainer.ema_model, seed=0) + floor_ratio(target, trainer.ema_model, seed=1)) / 2
    assert ratio < 1.0


def test_a_model_saved_before_centring_reloads_uncentred():
    """Sessions, autosaves and tours rebuild a Trainer from the saved config and load the weights
    into it: a config without data_mean must stay uncentred (the shipped dice_fresh tour model came
    back 0.4-1.0 off at levels 0.2-80 when the Trainer filled the mean in)."""
    from importlib import resources
    from playground.formats.checkpoint import load_model
    from playground.formats.tour_files import model_file, read_tour_model
    data, state = read_tour_model("dice_fresh")
    assert "data_mean" not in data["model"]
    trainer = Trainer(load_preset("loaded_dice").target, TrainConfig.from_dict({**data, "device": "cpu"}))
    trainer.load_state_dict(state)
    with resources.as_file(model_file("dice_fresh")) as path:
        shipped = load_model(path)
    y = torch.randn(200, 2, generator=torch.Generator().manual_seed(1)) * 2
    for level in (80.0, 5.0, 1.0, 0.2):
        assert torch.allclose(trainer.ema_model(y, level), shipped(y, level), atol=1e-5)
    fresh = TrainConfig.from_dict(TrainConfig().to_dict())       # a config saved now keeps what it says
    assert fresh.model.data_mean is None and TrainConfig.from_dict(trainer.config.to_dict()).model.data_mean == [0.0, 0.0]
