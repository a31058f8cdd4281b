"""Reflow straightens a model's paths and makes one step enough; checkpoints say what was reflowed."""
import torch

from playground.formats.checkpoint import load_model, model_info, read_checkpoint, save_checkpoint
from playground.formats.presets import compile_target
from playground.learning.model import ModelConfig, build_model
from playground.learning.reflow import Reflow, flow_report, unconditional_weights
from playground.learning.train_loop import cosine_tail
from playground.learning.trainer import TrainConfig, Trainer
from playground.maths.paths import path_summary
from playground.maths.samplers import sample_steps
from playground.maths.sources import ExactSource


def two_far_modes(d=2.5, std=0.25):
    comp = lambda m: {"weight": 1, "mean": [m, 0.0], "cov": [[std**2, 0], [0, std**2]]}
    return compile_target({"kind": "mixture", "components": [comp(-d), comp(d)]})


def trained(target, steps, objective="dsm"):
    trainer = Trainer(target, TrainConfig(seed=0, device="cpu", model=ModelConfig(objective=objective)))
    while trainer.step < steps:
        trainer.lr_scale = cosine_tail(trainer.step / steps)
        trainer.train(50)
    return trainer


def test_reflow_straightens_paths_and_one_step_lands_on_the_target(tmp_path):
    target = two_far_modes()
    exact = torch.stack([s.x for s in sample_steps("ode-euler", ExactSource(target), 2000, seed=0, steps=50,
                                                   schedule="flow")]).numpy()
    assert abs(path_summary(exact)["straightness"] - 0.91) < 0.03      # the exact PF-ODE bends this much

    base = trained(target, 600)
    reflow = Reflow(target, base.ema_model, pairs=5000, ode_steps=50, seed=0, base_name="base.pt")
    progress = list(reflow.run(steps=400))
    assert progress[0].phase == "couple" and progress[-1].phase == "train" and progress[-1].done == 400
    assert reflow.trainer.model.config.objective == "fm" and not reflow.trainer.events

    before, after = flow_report(base.ema_model, target), flow_report(reflow.trainer.ema_model, target)
    assert before["straightness"] < 0.95
    assert 1 - after["straightness"] <= 0.5 * (1 - before["straightness"]), (before, after)
    assert after["sw2_1step"] <= 0.5 * before["sw2_1step"], (before, after)

    path = tmp_path / "reflowed.pt"
    save_checkpoint(reflow.trainer, path, extra=reflow.checkpoint_extra())
    info = model_info(read_checkpoint(path))
    assert info == {"objective": "fm", "reflowed": 1, "base": "base.pt", "exact_counterpart": False}
    assert load_model(path).config.objective == "fm"


def test_reflow_can_be_cancelled_between_steps_and_repeats():
    target = two_far_modes()
    base = build_model(ModelConfig(objective="fm", sigma_data=2.5))
    reflow = Reflow(target, base, pairs=300, ode_steps=4, seed=1, base_reflowed=1)
    for p in reflow.run(steps=1000):
        if p.phase == "train":
            break                                   # a cancelled run stops at the first chunk
    assert reflow.trainer.step == 25 and reflow.reflowed == 2
    assert len(reflow.x0) == 300 and torch.isfinite(reflow.x0).all()


def test_warm_start_from_a_conditional_fm_base_keeps_its_unconditional_field():
    """The null-label embedding folded into the first bias: the unconditional network is unchanged."""
    cond = build_model(ModelConfig(objective="fm", n_classes=3))
    with torch.no_grad():
        for p in cond.parameters():
            p.normal_(0, 0.3)
    plain = build_model(ModelConfig(objective="fm"))
    plain.load_state_dict(unconditional_weights(cond))
    y = torch.randn(20, 2, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(plain(y, 0.4), cond(y, 0.4))
