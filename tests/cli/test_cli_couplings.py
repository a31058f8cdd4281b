"""The command line for couplings: train --coupling, its refusals, and an OT-trained model in every command."""
import json

import numpy as np
import pytest
import torch

from tests.helpers import run

TWO_MODES = {"name": "two modes", "target": {"kind": "mixture", "components": [
    {"weight": 1, "mean": [-2.5, 0.0], "cov": [[0.09, 0.0], [0.0, 0.09]]},
    {"weight": 1, "mean": [2.5, 0.0], "cov": [[0.09, 0.0], [0.0, 0.09]]}]}}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("couplings")
    (d / "two.json").write_text(json.dumps(TWO_MODES))
    for name, extra in (("ot.pt", ["--coupling", "ot", "--ot-batch", "32"]),
                        ("cond.pt", ["--coupling", "sinkhorn", "--ot-reg", "0.1", "--conditional"])):
        r = run("train", d / "two.json", "--objective", "fm", "--steps", 30, "--batch", 128, "--out", d / name, *extra)
        assert r.returncode == 0, r.stderr
    return d


def test_the_checkpoint_records_the_coupling(models):
    config = torch.load(models / "ot.pt", weights_only=True)["config"]
    assert (config["coupling"], config["ot_batch"], config["ot_reg"]) == ("ot", 32, 0.05)
    config = torch.load(models / "cond.pt", weights_only=True)["config"]
    assert (config["coupling"], config["ot_batch"], config["ot_reg"], config["conditional"]) == ("sinkhorn", 64, 0.1, True)


def test_an_ot_model_samples_guides_compares_scores_and_reflows_as_any_fm_model(models, tmp_path):
    preset = models / "two.json"
    for sampler in ("ode-euler", "ddpm", "dpm-solver++"):
        r = run("sample", preset, "--model", models / "ot.pt", "--sampler", sampler, "--steps", 4, "--n", 50,
                "--seed", 0, "--out", tmp_path / f"{sampler}.npy")
        assert r.returncode == 0 and np.isfinite(np.load(tmp_path / f"{sampler}.npy")).all(), (sampler, r.stderr)
    r = run("sample", preset, "--model", models / "cond.pt", "--sampler", "ode-heun", "--steps", 4, "--n", 50,
            "--seed", 0, "--class", 2, "--guidance", 2, "--out", tmp_path / "guided.npy")
    assert r.returncode == 0, r.stderr
    assert np.isfinite(json.loads(run("nll", preset, "--model", models / "ot.pt", "--n", 20, "--seed", 0).stdout)["nll"])
    r = run("compare", preset, "--samplers", "ode-euler", "--steps", "1,2", "--n", 100, "--model", models / "ot.pt",
            "--json", tmp_path / "q.json")
    assert r.returncode == 0 and len(json.loads((tmp_path / "q.json").read_text())["results"][0]["sw2"]) == 2
    r = run("reflow", preset, "--model", models / "ot.pt", "--out", tmp_path / "re.pt", "--steps", 10, "--pairs", 200,
            "--ode-steps", 4)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("args", [["--coupling", "ot"], ["--objective", "dsm", "--coupling", "sinkhorn"],
                                  ["--objective", "fm", "--coupling", "exact"],
                                  ["--objective", "fm", "--coupling", "ot", "--ot-batch", "0"],
                                  ["--objective", "fm", "--coupling", "ot", "--ot-batch", "-8"],
                                  ["--objective", "fm", "--coupling", "ot", "--ot-batch", "2.5"],
                                  ["--objective", "fm", "--coupling", "sinkhorn", "--ot-reg", "0"],
                                  ["--objective", "fm", "--coupling", "sinkhorn", "--ot-reg", "-0.1"],
                                  ["--objective", "fm", "--coupling", "sinkhorn", "--ot-reg", "nan"],
                                  ["--objective", "fm", "--coupling", "sinkhorn", "--ot-reg", "inf"]])
def test_bad_coupling_arguments_are_one_line_and_exit_2_with_nothing_written(args, tmp_path):
    out = tmp_path / "m.pt"
    r = run("train", "two_moons", "--steps", 5, "--out", out, *args)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, (args, r.stderr)
    assert not out.exists()
