"""Issue 18's hostile inputs, each once: one stderr line and exit 2 (or exit 0 with a warning),
nothing written, and the costly ones refused before they allocate anything. The cases that never
reach the command line are beside their layer: tests/learning/test_hostile_training.py and
tests/formats/test_hostile_sessions.py."""
import io
import json
import struct
import zlib
from contextlib import redirect_stderr

import numpy as np
import pytest
import torch

from playground.tools.cli import main


def cli(*args):
    err = io.StringIO()
    with redirect_stderr(err):
        rc = main([str(a) for a in args])
    return rc, err.getvalue()


def comp(**kw):
    return {"weight": 1, "mean": [0, 0], "cov": [[1, 0], [0, 1]], **kw}


def mixture(*comps):
    return {"target": {"kind": "mixture", "components": list(comps)}}


def kind(name, **kw):
    return {"target": {"kind": name, **kw}}


JSON_CASES = {
    "nested_1000": "[" * 1000 + "]" * 1000,
    "nested_object": '{"target": ' + '{"a":' * 3000 + "1" + "}" * 3000 + "}",
    "int_309_digits": '{"target": {"kind": "dice", "weights": [1,1,1,1,1,1], "radius": 1' + "0" * 309 + "}}",
    "nan_literal": '{"target": {"kind": "dice", "weights": [1,1,1,1,1,NaN]}}',
    "infinity_literal": '{"target": {"kind": "dice", "weights": [1,1,1,1,1,1], "std": -Infinity}}',
    "float_1e999": '{"target": {"kind": "dice", "weights": [1,1,1,1,1,1], "radius": 1e999}}',
    "kind_dict": kind({"a": 1}),
    "kind_list": kind([1]),
    "name_dict": {"name": {"a": 1}, **kind("dice", weights=[1] * 6)},
    "cells_half": kind("checkerboard", cells=0.5),
    "beads_half": kind("checkerboard", beads=0.5),
    "rings_radius_1e308": kind("rings", radii=[1e308]),
    "spiral_arms_half": kind("spiral", arms=0.5),
    "bandwidth_1e-200": kind("points", points=[[0, 0], [1, 1]], bandwidth=1e-200),
    "bandwidth_1e200": kind("points", points=[[0, 0], [1, 1]], bandwidth=1e200),
    "dice_std_1e-200": kind("dice", weights=[1] * 6, std=1e-200),
    "cov_all_1e308": mixture(comp(cov=[[1e308, 1e308], [1e308, 1e308]])),
    "cov_needle": mixture(comp(cov=[[1, 1 - 1e-15], [1 - 1e-15, 1]])),
    "weights_1e308": mixture(comp(weight=1e308), comp(weight=1e308, mean=[1, 1])),
    "mean_1e39": mixture(comp(mean=[1e39, 0])),
    "dice_radius_1e39": kind("dice", weights=[1] * 6, radius=1e39),
    "too_narrow_for_spread": kind("points", points=[[0, 0], [1e6, 0]], bandwidth=1e-6),
    "spiral_width_1e-7": kind("spiral", width=1e-7),
    "spiral_width_1e-5": kind("spiral", width=1e-5),
    "moons_width_1e-6": kind("moons", width=1e-6),
    "image_2000x2000": kind("image", pixels=[[0.5] * 2000] * 2000),
    "rings_100k_radii": kind("rings", radii=[1.0] * 100_000),
    "points_400k": kind("points", points=[[0.0, 0.0]] * 400_000, bandwidth=0.1),
}


@pytest.mark.parametrize("name", list(JSON_CASES))
def test_hostile_preset_files_give_one_line_and_exit_2(tmp_path, name):
    data = JSON_CASES[name]
    path = tmp_path / f"{name}.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    out = tmp_path / "out.npy"
    rc, err = cli("target", path, "--n", 100, "--out", out)
    assert rc == 2 and len(err.strip().splitlines()) == 1 and err.startswith("error: "), err
    assert not out.exists()


def png_header_only(path, width, height):
    """A PNG whose header says width x height, with no pixel data: only a header reader gets far."""
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))


def test_hostile_point_and_image_files(tmp_path):
    np.savez(tmp_path / "z.npz", a=np.zeros((3, 2)))
    (tmp_path / "z.npz").rename(tmp_path / "npz.npy")
    np.save(tmp_path / "complex.npy", np.ones((5, 2), complex) * (1 + 2j))
    np.save(tmp_path / "timedelta.npy", np.arange(10).astype("timedelta64[s]").reshape(5, 2))
    np.save(tmp_path / "datetime.npy", np.zeros((5, 2)).astype("datetime64[s]"))
    np.save(tmp_path / "bool.npy", np.ones((5, 2), bool))
    np.save(tmp_path / "far.npy", np.array([[0, 0], [1e200, 1]]))
    (tmp_path / "far.csv").write_text("x,y\n0,0\n1e200,1e200\n-1e200,3\n")
    png_header_only(tmp_path / "huge.png", 10000, 10000)
    for name, word in [("npz.npy", ".npz"), ("complex.npy", "complex"), ("timedelta.npy", "timedelta"),
                       ("datetime.npy", "datetime"), ("bool.npy", "bool"), ("far.npy", "within"),
                       ("far.csv", "line 3"), ("huge.png", "10000x10000")]:
        rc, err = cli("target", tmp_path / name, "--n", 10, "--out", tmp_path / "out.npy")
        assert rc == 2 and len(err.strip().splitlines()) == 1 and word in err, (name, err)
    assert not (tmp_path / "out.npy").exists()


@pytest.mark.parametrize("args, word", [
    (["sample", "loaded_dice", "--exact", "--sampler", "ddim", "--steps", "100000", "--n", "10"], "steps"),
    (["compare", "loaded_dice", "--exact", "--samplers", "ddim", "--steps", "1,100000"], "steps"),
    (["sample", "spiral", "--exact", "--sampler", "ddim", "--steps", "10", "--n", "2000000"], "budget"),
    (["sample", "loaded_dice", "--exact", "--sampler", "ddim", "--n", "10", "--class", "1", "--guidance", "1e6"],
     "guidance"),
    (["train", "loaded_dice", "--steps", "5", "--lr", "10"], "learning rate"),
    (["train", "loaded_dice", "--steps", "5", "--hidden", "20000"], "hidden"),
    (["target", "loaded_dice", "--n", "5", "--seed", str(2**40)], "seed"),
])
def test_unbounded_requests_are_refused_up_front(tmp_path, args, word):
    out = tmp_path / ("o.json" if args[0] == "compare" else "o.pt" if args[0] == "train" else "o.npy")
    rc, err = cli(*args, "--json" if args[0] == "compare" else "--out", out)
    assert rc == 2 and len(err.strip().splitlines()) == 1 and word in err, err
    assert not out.exists()


def test_far_away_samples_are_written_with_one_warning(tmp_path):
    from playground.formats.checkpoint import save_checkpoint
    from playground.formats.presets import load_preset
    from playground.learning.model import ModelConfig
    from playground.learning.trainer import TrainConfig, Trainer
    trainer = Trainer(load_preset("loaded_dice").target, TrainConfig(device="cpu", model=ModelConfig(hidden=8)))
    with torch.no_grad():
        trainer.ema_model.net[-1].bias.fill_(1e6)       # a wildly wrong model: outputs ~1e3 away
    save_checkpoint(trainer, tmp_path / "bad.pt")
    rc, err = cli("sample", "loaded_dice", "--model", tmp_path / "bad.pt", "--sampler", "ddim", "--steps", 5,
                  "--n", 50, "--out", tmp_path / "s.npy")
    assert rc == 0 and "warning:" in err and "10x" in err, err
    assert np.load(tmp_path / "s.npy").shape == (50, 2)


def test_long_sampling_shows_progress_and_ctrl_c_exits_130_leaving_nothing(tmp_path):
    import signal
    import subprocess
    import sys
    out = tmp_path / "s.npy"
    p = subprocess.Popen([sys.executable, "-m", "playground", "sample", "loaded_dice", "--exact", "--sampler", "ddpm",
                          "--steps", "5000", "--n", "100000", "--out", str(out)], stderr=subprocess.PIPE, text=True)
    try:
        line = p.stderr.readline()          # the first progress line, after the quiet first seconds
        assert line.startswith("ddpm:") and "%" in line, line
        p.send_signal(signal.SIGINT)
        rest = p.stderr.read()
        assert p.wait(timeout=120) == 130
    finally:
        p.kill()
    assert "interrupted" in rest and "Traceback" not in rest, rest
    assert list(tmp_path.iterdir()) == []   # neither the output nor a temporary file
