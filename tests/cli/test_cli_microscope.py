"""`diagnose` and `memorisation` on the command line: what they write (the contract's keys and shapes),
the training set that `train --dataset-size` uses, and bad input refused in one line with exit 2."""
import json

import numpy as np
import pytest

from playground import load_preset
from playground.learning.trainer import TrainConfig, Trainer
from playground.maths.diagnostics.loss_by_level import LevelProbe, level_grid
from playground.maths.guidance import conditional_target
from tests.helpers import run

pytestmark = pytest.mark.usefixtures("one_torch_thread")

DICE = load_preset("loaded_dice").target


@pytest.fixture(scope="module")
def dice16(tmp_path_factory):
    """A small checkpoint trained on the 16 points of seed 3."""
    path = tmp_path_factory.mktemp("models") / "dice16.pt"
    r = run("train", "loaded_dice", "--steps", "30", "--batch", "64", "--hidden", "16", "--dataset-size", "16",
            "--seed", "3", "--device", "cpu", "--out", path)
    assert r.returncode == 0, r.stderr
    return path


def test_diagnose_writes_levels_and_both_rows(tmp_path, dice16):
    out = tmp_path / "exact.json"
    r = run("diagnose", "loaded_dice", "--exact", "--levels", "6", "--n", "3000", "--seed", "2", "--json", out)
    assert r.returncode == 0, r.stderr
    table = json.loads(out.read_text())
    assert {"levels", "model_mse", "floor_mse"} <= set(table)
    np.testing.assert_allclose(table["levels"], level_grid(6))
    np.testing.assert_allclose(table["model_mse"], table["floor_mse"], rtol=1e-8)
    np.testing.assert_allclose(table["floor_mse"], LevelProbe(DICE, level_grid(6), n=3000, seed=2).floor)
    assert len(r.stdout.strip().splitlines()) == 7          # a header and one row per level
    r = run("diagnose", "loaded_dice", "--model", dice16, "--levels", "5", "--n", "2000", "--json", tmp_path / "m.json")
    assert r.returncode == 0, r.stderr
    table = json.loads((tmp_path / "m.json").read_text())
    assert len(table["model_mse"]) == 5 and all(m >= f for m, f in zip(table["model_mse"], table["floor_mse"]))
    assert table["model_mse"][2] > 1.05 * table["floor_mse"][2]      # 30 steps of training are visibly off


def test_diagnose_one_class_uses_that_class_floor(tmp_path):
    out = tmp_path / "six.json"
    r = run("diagnose", "loaded_dice", "--exact", "--class", "face 6", "--levels", "3", "--n", "1000", "--json", out)
    assert r.returncode == 0, r.stderr
    floor = LevelProbe(conditional_target(DICE, 5), level_grid(3), n=1000).floor
    np.testing.assert_allclose(json.loads(out.read_text())["floor_mse"], floor)


@pytest.mark.parametrize("args", [
    ["--levels", "1"], ["--n", "0"], ["--class", "9"], ["--class", "nine"], ["--model", "missing.pt"], [],
    ["--exact", "--model", "x.pt"],
])
def test_diagnose_refuses_bad_input_in_one_line(tmp_path, args):
    out = tmp_path / "d.json"
    extra = [] if any(a in args for a in ("--model", "--exact")) or not args else ["--exact"]
    r = run("diagnose", "loaded_dice", *extra, *args, "--json", out)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not out.exists()


def test_diagnose_refuses_a_class_of_an_unconditional_model(tmp_path, dice16):
    r = run("diagnose", "loaded_dice", "--model", dice16, "--class", "2", "--json", tmp_path / "d.json")
    assert r.returncode == 2 and "unconditional" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_memorisation_writes_the_trainers_set_samples_and_rates(tmp_path, dice16):
    files = {k: tmp_path / f"{k}.{ext}" for k, ext in (("set", "npy"), ("x", "npy"), ("rates", "json"))}
    r = run("memorisation", "loaded_dice", "--dataset-size", "16", "--seed", "3", "--model", dice16, "--n", "400",
            "--dataset-out", files["set"], "--out", files["x"], "--json", files["rates"])
    assert r.returncode == 0, r.stderr
    trainer = Trainer(DICE, TrainConfig(seed=3, dataset_size=16, device="cpu"))
    np.testing.assert_array_equal(np.load(files["set"]), trainer.dataset.numpy())
    assert np.load(files["x"]).shape == (400, 2)
    rates = json.loads(files["rates"].read_text())
    assert set(rates) == {"n_train", "copy_rate_model", "copy_rate_empirical_exact", "copy_rate_fresh"}
    assert rates["n_train"] == 16 and rates["copy_rate_empirical_exact"] >= 0.95 and rates["copy_rate_fresh"] <= 0.05
    assert 0.0 <= rates["copy_rate_model"] <= 1.0
    assert json.loads(r.stdout.strip().splitlines()[-1]) == rates
    assert "warning" not in r.stderr
    # without a model: the empirical-exact denoiser's samples, and no model rate
    r = run("memorisation", "loaded_dice", "--dataset-size", "16", "--seed", "3", "--n", "300",
            "--dataset-out", files["set"], "--out", files["x"], "--json", files["rates"])
    assert r.returncode == 0, r.stderr
    assert json.loads(files["rates"].read_text())["copy_rate_model"] is None
    samples, train = np.load(files["x"]), np.load(files["set"])
    assert samples.shape == (300, 2)
    assert np.mean(np.min(np.linalg.norm(samples[:, None] - train[None], axis=-1), 1) < 1e-2) >= 0.95
    # a model trained on another set is compared all the same, with a warning
    r = run("memorisation", "loaded_dice", "--dataset-size", "20", "--seed", "3", "--model", dice16, "--n", "50",
            "--dataset-out", files["set"], "--out", files["x"], "--json", files["rates"])
    assert r.returncode == 0 and "warning" in r.stderr and "--dataset-size 16 --seed 3" in r.stderr


@pytest.mark.parametrize("args", [
    ["--dataset-size", "1"], ["--dataset-size", "ten"], ["--dataset-size", "8", "--model", "missing.pt"],
    ["--dataset-size", "8", "--n", "-3"], ["--dataset-size", "8", "--same-out"],
])
def test_memorisation_refuses_bad_input_in_one_line(tmp_path, args):
    d, x = tmp_path / "d.npy", tmp_path / "x.npy"
    if "--same-out" in args:
        args, x = args[:-1], d
    r = run("memorisation", "loaded_dice", *args, "--dataset-out", d, "--out", x, "--json", tmp_path / "r.json")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not d.exists() and not (tmp_path / "r.json").exists()
