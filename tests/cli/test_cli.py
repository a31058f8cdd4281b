"""The command line as users and acceptance scripts call it: its listing and data commands through a
real subprocess (the `python -m playground` entry point), the heavier commands in-process through
the same main() (a fresh interpreter costs seconds of imports per call): run_process() and run()
in tests/helpers.py."""
import json

import numpy as np
import pytest

from tests.helpers import run, run_process


def test_presets_lists_names_with_descriptions():
    r = run_process("presets")
    assert r.returncode == 0
    lines = r.stdout.strip().splitlines()
    assert any(l.startswith("loaded_dice ") for l in lines) and len(lines) >= 8


def test_target_writes_npy_and_csv(tmp_path):
    assert run_process("target", "loaded_dice", "--n", 50, "--seed", 1, "--out", tmp_path / "a.npy").returncode == 0
    assert run("target", "loaded_dice", "--n", 50, "--seed", 1, "--out", tmp_path / "a.csv").returncode == 0
    a = np.load(tmp_path / "a.npy")
    b = np.loadtxt(tmp_path / "a.csv", delimiter=",", skiprows=1)
    assert a.shape == (50, 2) and (tmp_path / "a.csv").read_text().startswith("x,y\n")
    assert np.allclose(a, b, atol=1e-5)


def test_train_sample_nll_and_compare_end_to_end(tmp_path, monkeypatch):
    from playground.tools.cli import common
    # Progress stays quiet for its first 2 s; a quick machine finishes nll sooner, so show it at once.
    monkeypatch.setattr(common.Progress.__init__, "__defaults__", (0.0,))
    ckpt = tmp_path / "m.pt"
    r = run("train", "two_moons", "--steps", 60, "--out", ckpt)
    assert r.returncode == 0, r.stderr
    assert "step" in r.stderr
    r = run("sample", "two_moons", "--model", ckpt, "--sampler", "ddim", "--steps", 10, "--n", 100, "--seed", 0,
            "--out", tmp_path / "s.npy", "--gif", tmp_path / "s.gif")
    assert r.returncode == 0, r.stderr
    assert np.load(tmp_path / "s.npy").shape == (100, 2)
    import imageio.v3 as iio
    assert iio.imread(tmp_path / "s.gif").shape[0] == 11      # the noise plus one frame per step
    r = run("nll", "loaded_dice", "--exact", "--n", 200, "--seed", 0)
    out = json.loads(r.stdout)
    assert abs(out["nll"] - out["nll_true"]) < 0.02
    assert "nll: 100%" in r.stderr              # progress on stderr; stdout stays one JSON line
    r = run("compare", "loaded_dice", "--samplers", "ode-euler,ddpm", "--steps", "1,10", "--exact", "--model", ckpt,
            "--n", 300, "--json", tmp_path / "c.json")
    assert r.returncode == 0, r.stderr
    table = json.loads((tmp_path / "c.json").read_text())
    assert table["steps"] == [1, 10] and 0 < table["floor"] < table["floor_p90"]
    header, *rows, floor_line = r.stdout.strip().splitlines()
    assert header.split()[:4] == ["sampler", "score", "1", "10"] and len(rows) == 4
    assert "median" in floor_line and "90th percentile" in floor_line
    assert "compare: 100%" in r.stderr
    assert {(x["sampler"], x["score"]) for x in table["results"]} == {
        ("ode-euler", "exact"), ("ode-euler", "model"), ("ddpm", "exact"), ("ddpm", "model")}


@pytest.mark.parametrize("args", [
    ["target", "no_such_preset", "--n", "5", "--out", "OUT.npy"],
    ["target", "loaded_dice", "--n", "zero", "--out", "OUT.npy"],
    ["target", "loaded_dice", "--n", "5", "--out", "OUT.txt"],
    ["target", "blank", "--n", "5", "--out", "OUT.npy"],
    ["sample", "loaded_dice", "--exact", "--sampler", "warp-drive", "--n", "5", "--out", "OUT.npy"],
    ["sample", "loaded_dice", "--sampler", "ddpm", "--n", "5", "--out", "OUT.npy"],
    ["sample", "loaded_dice", "--model", "missing.pt", "--sampler", "ddpm", "--n", "5", "--out", "OUT.npy"],
    ["sample", "loaded_dice", "--exact", "--sampler", "ddim", "--eta", "nan", "--n", "5", "--out", "OUT.npy"],
    ["sample", "loaded_dice", "--exact", "--sampler", "ddim", "--eta", "3", "--n", "5", "--out", "OUT.npy"],
    ["train", "loaded_dice", "--steps", "-3"],
    ["train", "loaded_dice"],
    ["nll", "loaded_dice", "--exact", "--n", "5", "--seed", "x"],
    ["frobnicate"],
])
def test_bad_input_gives_one_line_and_exit_2(tmp_path, args):
    out = tmp_path / "OUT.npy"
    np.save(out, np.ones((2, 2)))
    r = run(*[a.replace("OUT", str(tmp_path / "OUT")) for a in args])
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, r.stderr
    assert np.array_equal(np.load(out), np.ones((2, 2)))
