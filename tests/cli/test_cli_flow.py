"""The command line for flow matching: train --objective fm, reflow, sample --paths, compare with two models."""
import json

import numpy as np
import pytest
import torch

from tests.helpers import run

SAMPLER_FAMILIES = ["langevin", "annealed-langevin", "ddpm", "ddim", "ode-euler", "ode-heun", "ode-rk45",
                    "dpm-solver++", "sde-euler"]


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    d = tmp_path_factory.mktemp("flow")
    for name, extra in (("fm.pt", ["--objective", "fm"]), ("dsm.pt", [])):
        r = run("train", "two_moons", "--steps", 40, "--out", d / name, *extra)
        assert r.returncode == 0, r.stderr
    return d


def test_fm_checkpoint_records_its_objective_and_runs_every_sampler_and_nll(checkpoints, tmp_path):
    from playground.formats.checkpoint import load_model
    from playground.maths.samplers import SAMPLERS, sample
    from playground.maths.sources import ModelSource
    assert torch.load(checkpoints / "fm.pt", weights_only=True)["objective"] == "fm"
    model = load_model(checkpoints / "fm.pt")
    assert model.config.objective == "fm" and set(SAMPLER_FAMILIES) <= set(SAMPLERS)
    for sampler in SAMPLER_FAMILIES:           # in process: the CLI's sample path is tested below
        assert torch.isfinite(sample(sampler, ModelSource(model), 50, seed=0, steps=3)).all(), sampler
    out = json.loads(run("nll", "two_moons", "--model", checkpoints / "fm.pt", "--n", 30, "--seed", 0).stdout)
    assert np.isfinite(out["nll"])


def test_sample_paths_hold_the_whole_run_in_the_schedule_frame(checkpoints, tmp_path):
    r = run("sample", "two_moons", "--model", checkpoints / "fm.pt", "--sampler", "ode-euler", "--steps", 7,
            "--n", 40, "--seed", 3, "--schedule", "flow", "--out", tmp_path / "s.npy", "--paths", tmp_path / "p.npy")
    assert r.returncode == 0, r.stderr
    paths = np.load(tmp_path / "p.npy")
    assert paths.shape == (8, 40, 2) and paths.dtype == np.float32
    from playground.maths.samplers import initial_noise
    t_max = 80.0 / 81.0         # the flow schedule's first level: x = alpha * (m + 80 eps) = t eps + (1 - t) m
    shift = paths[0] - t_max * initial_noise(40, 3).numpy()
    np.testing.assert_allclose(shift, np.broadcast_to(shift[0], shift.shape), atol=1e-5)
    assert np.linalg.norm(shift[0]) < 0.05    # (1 - t) m: the model's data mean over 81
    np.testing.assert_array_equal(paths[-1], np.load(tmp_path / "s.npy"))


def test_compare_labels_rows_by_model_only_when_several_are_given(checkpoints, tmp_path):
    args = ["compare", "two_moons", "--samplers", "ode-euler", "--steps", "1,4", "--n", 200]
    r = run(*args, "--model", checkpoints / "fm.pt", "--model", checkpoints / "dsm.pt",
            "--json", tmp_path / "two.json")
    assert r.returncode == 0, r.stderr
    rows = json.loads((tmp_path / "two.json").read_text())["results"]
    assert [(x["score"], x["model"]) for x in rows] == [("model", "fm.pt"), ("model", "dsm.pt")]
    r = run(*args, "--model", checkpoints / "fm.pt", "--json", tmp_path / "one.json")
    rows = json.loads((tmp_path / "one.json").read_text())["results"]
    assert rows[0]["sw2"] == [x for x in json.loads((tmp_path / "two.json").read_text())["results"][0]["sw2"]]
    assert set(rows[0]) == {"sampler", "score", "sw2"}


def test_reflow_reports_json_and_can_be_repeated(checkpoints, tmp_path):
    first, second = tmp_path / "r1.pt", tmp_path / "r2.pt"
    r = run("reflow", "two_moons", "--model", checkpoints / "dsm.pt", "--out", first, "--steps", 30,
            "--pairs", 400, "--ode-steps", 5)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout.strip().splitlines()[-1])
    assert report["reflowed"] == 1 and report["base"] == "dsm.pt" and report["steps"] == 30
    assert report["pairs"] == 400 and report["ode_steps"] == 5 and not report["warm_start"]
    assert 0 < report["straightness"]["reflowed"] <= 1 and report["sw2_1step"]["base"] > 0
    r = run("reflow", "two_moons", "--model", first, "--out", second, "--steps", 10, "--pairs", 200, "--ode-steps", 3)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout.strip().splitlines()[-1])
    assert report["reflowed"] == 2 and report["warm_start"] and report["base"] == "r1.pt"
    state = torch.load(second, weights_only=True)
    assert state["objective"] == "fm" and state["reflowed"] == 2 and state["base"] == "r1.pt"


def test_guidance_works_on_a_conditional_fm_model(tmp_path):
    ckpt = tmp_path / "c.pt"
    assert run("train", "loaded_dice", "--steps", 20, "--objective", "fm", "--conditional", "--out", ckpt).returncode == 0
    r = run("sample", "loaded_dice", "--model", ckpt, "--sampler", "ddim", "--steps", 4, "--n", 30, "--seed", 0,
            "--class", 2, "--guidance", 2.5, "--out", tmp_path / "g.npy")
    assert r.returncode == 0, r.stderr
    assert np.isfinite(np.load(tmp_path / "g.npy")).all()


@pytest.mark.parametrize("args", [
    ["train", "two_moons", "--steps", "5", "--objective", "vae"],
    ["reflow", "two_moons", "--model", "missing.pt", "--out", "NEW.pt", "--steps", "5"],
    ["reflow", "two_moons", "--model", "OUT.npy", "--out", "NEW.pt"],
    ["reflow", "two_moons", "--model", "OUT.npy", "--out", "NEW.pt", "--steps", "5", "--pairs", "0"],
    ["sample", "two_moons", "--exact", "--sampler", "ddim", "--n", "5", "--out", "NEW.npy", "--paths", "OUT.csv"],
])
def test_bad_flow_input_gives_one_line_and_exit_2(tmp_path, args):
    out = tmp_path / "OUT.npy"
    np.save(out, np.ones((2, 2)))
    r = run(*[a.replace("OUT", str(tmp_path / "OUT")).replace("NEW", str(tmp_path / "NEW")) for a in args])
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, r.stderr
    assert np.array_equal(np.load(out), np.ones((2, 2))) and not list(tmp_path.glob("NEW*"))
