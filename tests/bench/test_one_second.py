"""The one-second recipe (issue 26) and bench's train_1s figure, at fixed step counts, not wall-clock."""
from playground.learning.model import ModelConfig
from playground.learning.trainer import TrainConfig
from playground.learning.train_loop import BUDGET_RECIPE, budget_config
from playground.tools.one_second import IDLE_STEPS_1S, builtin_presets, train_1s, trained_ratio, unseen_presets


def test_the_budget_recipe_reaches_the_floor_band_on_a_cheap_target():
    """fair_dice sits at 0.6-0.8x the floor after one idle second's steps; 1.5x leaves room for
    seed and evaluation noise, while a recipe that fails to learn in that many steps lands far above."""
    ratio, steps = trained_ratio("fair_dice", steps=IDLE_STEPS_1S, n=2000)
    assert steps == IDLE_STEPS_1S and ratio <= 1.5
    undertrained, _ = trained_ratio("fair_dice", steps=30, n=2000, recipe="default")
    assert undertrained > 1.5          # the yardstick tells an unfinished model apart


def test_budget_config_overrides_defaults_and_takes_fields():
    config = budget_config(seed=3, p_std=0.7)
    assert config.ema_power == BUDGET_RECIPE["ema_power"] > 0 and config.p_std == 0.7 and config.seed == 3
    assert config.stable_target and not budget_config(model=ModelConfig(objective="fm")).stable_target
    assert budget_config(model=ModelConfig(objective="fm"), stable_target=True).stable_target     # asked for
    assert (config.lr, config.warmup) == (BUDGET_RECIPE["lr"], BUDGET_RECIPE["warmup"]) != (TrainConfig.lr, TrainConfig.warmup)
    flow = budget_config(model=ModelConfig(objective="fm"))
    assert (flow.lr, flow.warmup) == (TrainConfig.lr, TrainConfig.warmup)     # measured for score matching only
    assert budget_config(lr=3e-3).lr == 3e-3


def test_train_uses_the_recipes_rate_unless_given(tmp_path):
    from playground.formats.checkpoint import read_checkpoint
    from tests.helpers import run
    for extra, lr in (([], BUDGET_RECIPE["lr"]), (["--lr", "0.002"], 0.002)):
        out = tmp_path / f"m{len(extra)}.pt"
        assert run("train", "fair_dice", "--steps", 3, "--out", out, *extra).returncode == 0
        assert read_checkpoint(out)["config"]["lr"] == lr


def test_train_1s_reports_each_preset_and_the_worst():
    figure = train_1s(["fair_dice", "eight_gaussians"], seconds=0.1)
    assert set(figure["per_preset"]) == {"fair_dice", "eight_gaussians"} == set(figure["steps"])
    assert figure["worst"] == max(figure["per_preset"].values()) and all(k > 0 for k in figure["steps"].values())


def test_the_table_covers_every_built_in_and_the_unseen_targets():
    assert "blank" not in builtin_presets() and {"twin_peaks", "two_moons"} <= set(builtin_presets())
    assert len(unseen_presets()) >= 5


def test_the_table_prints_the_exact_scores_reading_beside_the_models(capsys):
    """--exact: the yardstick's reading for a perfect model at the same evaluation seed, so a row over
    1.5 can be told apart from one where exact sampling itself reads high."""
    from playground.tools.one_second import main
    assert main(["fair_dice", "--steps", "30", "--exact"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("fair_dice"))
    exact = float(row.split("exact")[1])
    assert 0.3 < exact < 1.5
