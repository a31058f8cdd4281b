"""The command line of the seeds' other methods (gradient estimation, classifier guidance, the ELBO)
and of classifier-free guidance (--class, --guidance): runs that work, and bad options refused in
one line with exit 2. The methods themselves are checked in tests/maths (test_methods.py,
test_guidance.py)."""
from types import SimpleNamespace

import numpy as np
import pytest

from playground import load_preset
from playground.maths.samplers import sample
from playground.maths.sources import ExactSource

DICE = load_preset("loaded_dice").target
MOONS = load_preset("two_moons").target

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# ----- gradient estimation, classifier guidance, ELBO (from test_methods.py) --------------------------

def _cli(capsys, *args):
    from playground.tools.cli import main
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return SimpleNamespace(returncode=code, stdout=out.out, stderr=out.err)


def test_cli_gradient_estimation_classifier_guidance_and_elbo(tmp_path, capsys):
    out = tmp_path / "ge.npy"
    r = _cli(capsys, "sample", "two_moons", "--exact", "--sampler", "gradient-estimation", "--gamma", "1",
             "--mu", "0", "--steps", "10", "--n", "200", "--seed", "0", "--out", out)
    assert r.returncode == 0, r.stderr
    ddim = sample("ddim", ExactSource(MOONS), 200, seed=0, steps=10).numpy()
    assert np.abs(np.load(out) - ddim).max() <= 1e-3
    r = _cli(capsys, "compare", "two_moons", "--samplers", "ddim,gradient-estimation", "--steps", "10", "--exact",
             "--n", "300", "--json", tmp_path / "c.json")
    assert r.returncode == 0, r.stderr
    r = _cli(capsys, "train-classifier", "loaded_dice", "--out", tmp_path / "c.pt", "--steps", "30")
    assert r.returncode == 0 and "accuracy" in r.stderr, r.stderr
    for extra in ([], ["--classifier", tmp_path / "c.pt"]):
        r = _cli(capsys, "sample", "loaded_dice", "--exact", "--sampler", "ddim", "--steps", "5", "--n", "50",
                 "--seed", "0", "--class", "face 2", "--guidance", "2", "--guidance-kind", "classifier", *extra,
                 "--out", tmp_path / "g.npy")
        assert r.returncode == 0 and "10 evaluations" in r.stderr, r.stderr
    r = _cli(capsys, "nll", "eight_gaussians", "--exact", "--n", "100", "--seed", "0", "--elbo", "--elbo-steps", "50")
    line = __import__("json").loads(r.stdout)
    assert r.returncode == 0 and line["elbo"] > line["nll_true"] + 0.1, line


@pytest.mark.parametrize("args", [
    ["sample", "loaded_dice", "--exact", "--sampler", "gradient-estimation", "--mu", "1"],
    ["sample", "loaded_dice", "--exact", "--sampler", "gradient-estimation", "--gamma", "inf"],
    ["sample", "loaded_dice", "--exact", "--sampler", "ddim", "--gamma", "2"],
    ["sample", "loaded_dice", "--exact", "--sampler", "ddim", "--class", "2", "--guidance-kind", "magic"],
    ["sample", "loaded_dice", "--exact", "--sampler", "ddim", "--guidance-kind", "classifier"],
    ["sample", "loaded_dice", "--exact", "--sampler", "ddim", "--class", "2", "--classifier", "C.pt"],
    ["sample", "loaded_dice", "--exact", "--sampler", "ddim", "--class", "2", "--guidance-kind", "classifier",
     "--classifier", "missing.pt"],
])
def test_cli_refuses_bad_method_options(tmp_path, capsys, args):
    bad = tmp_path / "bad.npy"
    r = _cli(capsys, *args, "--n", "10", "--seed", "0", "--out", bad)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not bad.exists()


def test_cli_refuses_elbo_steps_without_elbo_and_a_one_class_classifier(tmp_path, capsys):
    r = _cli(capsys, "nll", "loaded_dice", "--exact", "--n", "5", "--seed", "0", "--elbo-steps", "10")
    assert r.returncode == 2
    r = _cli(capsys, "train-classifier", "spiral", "--out", tmp_path / "c.pt", "--steps", "3")
    assert r.returncode == 2 and not (tmp_path / "c.pt").exists()


# ----- classifier-free guidance (from test_guidance.py) ---------------------------------------------------

def test_cli_class_and_guidance(tmp_path, capsys):
    from playground.tools.cli import main

    def _cli(*args):
        code = main([str(a) for a in args])
        return SimpleNamespace(returncode=code, stderr=capsys.readouterr().err)

    out = tmp_path / "face6.npy"
    r = _cli("sample", "loaded_dice", "--exact", "--sampler", "ddim", "--steps", "10", "--n", "500", "--seed", "0",
             "--class", "face 6", "--guidance", "1", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert (DICE.classify(np.load(out)) == 5).mean() >= 0.97
    r = _cli("train", "loaded_dice", "--steps", "3", "--out", str(tmp_path / "u.pt"))
    assert r.returncode == 0, r.stderr
    r = _cli("train", "loaded_dice", "--steps", "3", "--conditional", "--out", str(tmp_path / "c.pt"))
    assert r.returncode == 0, r.stderr
    r = _cli("sample", "loaded_dice", "--model", str(tmp_path / "c.pt"), "--sampler", "ddim", "--steps", "3",
             "--n", "50", "--seed", "0", "--class", "2", "--guidance", "3", "--out", str(tmp_path / "c.npy"))
    assert r.returncode == 0, r.stderr
    assert "6 evaluations" in r.stderr                   # two per step
    for args in (["--model", str(tmp_path / "u.pt"), "--class", "2"],      # unconditional model
                 ["--exact", "--guidance", "2"],                           # guidance without a class
                 ["--exact", "--class", "7"],
                 ["--exact", "--class", "face 2", "--guidance", "-1"]):
        bad = tmp_path / "bad.npy"
        r = _cli("sample", "loaded_dice", *args, "--sampler", "ddim", "--n", "10", "--seed", "0", "--out", str(bad))
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, args
        assert not bad.exists()
