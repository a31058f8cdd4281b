"""Broken preset files are refused with a message that names the field; the CLI exits 2."""
import json
import re

import numpy as np
import pytest

from playground import PresetError, load_preset
from playground.formats.presets import preset_from_json
from tests.helpers import run, run_process

GOOD = {"kind": "mixture", "components": [{"weight": 1, "mean": [0, 0], "cov": [[1, 0], [0, 1]]}]}
BROKEN = [
    ({"target": {"kind": "mixture", "components": []}}, "components"),
    ({"target": {"kind": "mixture", "components": [{"weight": 1, "mean": [0, 0], "cov": [[1, 2], [2, 1]]}]}}, "cov"),
    ({"target": {"kind": "mixture", "components": [{"weight": 1, "mean": [0, 0], "cov": [[1, 0.5], [0, 1]]}]}}, "symmetric"),
    ({"target": {"kind": "mixture", "components": [{"weight": -1, "mean": [0, 0], "cov": [[1, 0], [0, 1]]}]}}, "weight"),
    ({"target": {"kind": "mixture", "components": [{"weight": 1, "mean": [0], "cov": [[1, 0], [0, 1]]}]}}, "mean"),
    ({"target": {"kind": "mixture", "components": [{"weight": 1, "mean": [0, "a"], "cov": [[1, 0], [0, 1]]}]}}, "mean"),
    ({"target": {"kind": "mixture", "components": [{"mean": [0, 0], "cov": [[1, 0], [0, 1]]}]}}, "weight"),
    ({"target": {"kind": "points", "points": [[0, 0]], "bandwidth": 0}}, "bandwidth"),
    ({"target": {"kind": "points", "points": [[0, 0, 1]], "bandwidth": 0.1}}, "points"),
    ({"target": {"kind": "points", "points": [[0, 0], [1, 1]], "bandwidth": 0.1, "weights": [1]}}, "weights"),
    ({"target": {"kind": "nonsense"}}, "kind"),
    ({"target": {"components": []}}, "kind"),
    ({"name": 3, "target": GOOD}, "name"),
    ({"target": GOOD, "view": {"xlim": [4, -4]}}, "xlim"),
    ({}, "target"),
    ([1, 2], "object"),
]


@pytest.mark.parametrize("data,field", BROKEN)
def test_broken_preset_is_refused_naming_the_field(tmp_path, data, field):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(PresetError, match=field):
        load_preset(path)


@pytest.mark.parametrize("text", ["", "{not json", "\x00\x01\x02", '{"target": {"kind": "mixture", "components": [{"weight": NaN, "mean": [0,0], "cov": [[1,0],[0,1]]}]}}'])
def test_unreadable_files_are_refused(tmp_path, text):
    path = tmp_path / "bad.json"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(PresetError):
        load_preset(path)


def test_cli_refuses_broken_files_with_one_line_and_exit_2(tmp_path):
    out = tmp_path / "out.npy"
    np.save(out, np.zeros((3, 2)))
    before = out.read_bytes()
    for i, (data, _) in enumerate(BROKEN[:6]):
        path = tmp_path / f"bad{i}.json"
        path.write_text(json.dumps(data))
        call = run_process if i == 0 else run        # one through a real interpreter, the rest in-process
        r = call("target", path, "--n", 10, "--out", out)
        assert r.returncode == 2, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert out.read_bytes() == before   # nothing saved earlier was overwritten


def test_a_preset_saved_as_json_loads_back_identically(tmp_path):
    from playground.formats.presets import save_preset
    p = load_preset("loaded_dice")
    save_preset(p, tmp_path / "copy.json")
    q = load_preset(tmp_path / "copy.json")
    assert q.spec == p.spec and q.view == p.view
    assert np.allclose(q.target.sample(100, 1).numpy(), p.target.sample(100, 1).numpy())


def test_points_files_import(tmp_path):
    pts = np.random.default_rng(0).normal(size=(300, 2))
    np.savetxt(tmp_path / "p.csv", pts, delimiter=",", header="x,y", comments="")
    np.savetxt(tmp_path / "q.csv", pts, delimiter=",")
    np.save(tmp_path / "r.npy", pts)
    for name in ("p.csv", "q.csv", "r.npy"):
        t = load_preset(tmp_path / name).target
        assert len(t.mixture) == 300 and t.kind == "points"
    (tmp_path / "bad.csv").write_text("x,y\n1,2\n3,abc\n")
    with pytest.raises(PresetError, match="line 3"):
        load_preset(tmp_path / "bad.csv")
    (tmp_path / "nan.csv").write_text("x,y\n1,2\nnan,1\n")
    with pytest.raises(PresetError, match="NaN"):
        load_preset(tmp_path / "nan.csv")


# The per-point check of a sketch's points, done fast for a large drawing (from tests/app/features/test_edit_preview.py).
def test_fast_point_check_refuses_what_the_per_item_check_refuses():
    base = {"name": "s", "target": {"kind": "sketch", "bandwidth": 0.1}}

    def load(points):
        return preset_from_json({**base, "target": {**base["target"], "points": points}}, "s")
    pts = [[float(i) / 100, -1.5] for i in range(300)] + [[1, 2]]
    np.testing.assert_array_equal(load(pts).target.mixture.means.numpy(), np.array(pts, float))
    for bad, where in (([[0.1, 0.2], [True, 0.0]], "points[1][0]"), ([[0.1, "1"]], "points[0][1]"),
                       ([[0.1, 0.2], [1e9, 0.0]], "points[1][0]"), ([[0.1, float("nan")]], "points[0][1]"),
                       ([[0.1, 0.2, 0.3]], "points[0]"), ([[0.1, 10 ** 400]], "points[0][1]")):
        with pytest.raises(PresetError, match=re.escape(where)):
            load(bad)
