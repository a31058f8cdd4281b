"""Property-based fuzzing of every file the playground reads: mutated preset JSON of every kind,
CSV and NPY point files, and session files.

Whatever the input, the CLI ends with exit 0 and finite output, or exit 2 with exactly one
stderr line and nothing written; never a traceback. Sessions either read whole or raise
SessionError. Deterministic in CI (derandomized, no example database); a longer run:
    PLAYGROUND_FUZZ_EXAMPLES=2000 pytest tests/cli/test_fuzz_inputs.py
"""
import copy
import io
import json
import os
import resource
import subprocess
import sys
from contextlib import redirect_stderr

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playground.formats.session import Session, SessionError, read_session, session_json, write_session
from playground.tools.cli import main

EXAMPLES = int(os.environ.get("PLAYGROUND_FUZZ_EXAMPLES", "12"))
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None, print_blob=False,
                suppress_health_check=list(HealthCheck))

COMP = {"weight": 1, "mean": [0.5, -1], "cov": [[0.3, 0.1], [0.1, 0.2]]}
BASES = {
    "mixture": {"kind": "mixture", "components": [COMP, dict(COMP, mean=[2, 2], weight=3)]},
    "points": {"kind": "points", "points": [[0, 0], [1, 2], [-1, 0.5]], "bandwidth": 0.2, "weights": [1, 2, 3]},
    "dice": {"kind": "dice", "weights": [1, 2, 3, 4, 5, 6], "radius": 2.2, "std": 0.3},
    "spiral": {"kind": "spiral", "turns": 2, "r_start": 0.3, "r_end": 3.2, "width": 0.08, "arms": 2},
    "moons": {"kind": "moons", "radius": 2, "width": 0.15},
    "rings": {"kind": "rings", "radii": [1, 2.5], "width": 0.1},
    "checkerboard": {"kind": "checkerboard", "cells": 4, "size": 6, "beads": 3},
    "image": {"kind": "image", "pixels": [[0, 0.5, 1], [1, 0.2, 0.9]], "xlim": [-3, 3], "ylim": [-2, 2]},
    "sketch": {"kind": "sketch", "points": [[0, 0], [1, 1]], "bandwidth": 0.15, "points_weight": 2,
               "components": [COMP]},
}

HOSTILE = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-2**80, max_value=2**80),
    st.sampled_from([0, -1, 0.5, 1e-300, 1e-7, 1e7, 1e39, 1e308, -1e308, 10**400, True, False, None, "", "mixture",
                     "x", [], {}, [[]], [1e308] * 3, [[1e-200, 0], [0, 1e-200]], {"kind": "dice"}, [0.5] * 300]),
    st.lists(st.floats(-1e3, 1e3), max_size=4),
    st.text(max_size=4),
)


def paths(node, prefix=()):
    """Every place in a JSON tree a mutation can hit, as key/index tuples."""
    yield prefix
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for k, v in items:
        yield from paths(v, prefix + (k,))


def mutate(data, tree):
    """Replace, delete or multiply the value at 1 to 3 random places."""
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.sampled_from(list(paths(tree))))
        if not where:
            continue
        parent = tree
        for k in where[:-1]:
            parent = parent[k]
        action = data.draw(st.sampled_from(["replace", "replace", "delete", "repeat"]))
        if action == "delete" and isinstance(parent, dict):
            del parent[where[-1]]
        elif action == "repeat" and isinstance(parent[where[-1]], list):
            parent[where[-1]] = parent[where[-1]] * data.draw(st.sampled_from([0, 2, 50]))
        else:
            parent[where[-1]] = copy.deepcopy(data.draw(HOSTILE))     # never share (and then grow) a constant
    return tree


def cli(*args):
    err = io.StringIO()
    with redirect_stderr(err):
        rc = main([str(a) for a in args])      # an uncaught exception here fails the test: a traceback
    return rc, err.getvalue()


def check_outcome(rc, err, out):
    assert rc in (0, 2), (rc, err)
    if rc == 2:
        assert len(err.strip().splitlines()) == 1 and err.startswith("error: "), err
        assert not out.exists()
    else:
        x = np.load(out) if out.suffix == ".npy" else np.loadtxt(out, delimiter=",", skiprows=1, ndmin=2)
        assert np.all(np.isfinite(x)), "non-finite samples written"
        out.unlink()


@pytest.mark.parametrize("kind", list(BASES))
@FUZZ
@given(data=st.data())
def test_mutated_preset_json(tmp_path_factory, kind, data):
    d = tmp_path_factory.mktemp("fuzz")
    tree = mutate(data, {"name": kind, "target": json.loads(json.dumps(BASES[kind])),
                         "view": {"xlim": [-4, 4], "ylim": [-4, 4]}})
    path = d / "p.json"
    path.write_text(json.dumps(tree))           # NaN/Infinity/huge ints are written as such
    out = d / "o.npy"
    command = data.draw(st.sampled_from(["target", "sample"]))
    extra = ["--exact", "--sampler", "ddim", "--steps", "2"] if command == "sample" else []
    check_outcome(*cli(command, path, "--n", 20, *extra, "--out", out), out)


CELL = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
                 st.floats(-1e3, 1e3).map(str), st.text(max_size=3), st.sampled_from(["1e200", "-0", "", " 1 "]))


@FUZZ
@given(header=st.sampled_from(["x,y\n", "", "a,b\n", "x,y,z\n", '"x","y"\n']),
       rows=st.lists(st.lists(CELL, min_size=1, max_size=3), max_size=8), junk=st.binary(max_size=8))
def test_mutated_csv(tmp_path_factory, header, rows, junk):
    d = tmp_path_factory.mktemp("csv")
    path = d / "p.csv"
    path.write_bytes((header + "\n".join(",".join(r) for r in rows)).encode() + junk)
    out = d / "o.csv"
    check_outcome(*cli("target", path, "--n", 20, "--out", out), out)


@FUZZ
@given(dtype=st.sampled_from(["f8", "f4", "f2", "i8", "u1", "b1", "c16", "m8[s]", "M8[s]", "U3", "V8"]),
       shape=st.sampled_from([(5, 2), (0, 2), (5,), (5, 3), (2, 2, 2), (1, 2)]),
       values=st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=10, max_size=10),
       damage=st.sampled_from(["none", "none", "truncate", "npz"]))
def test_mutated_npy(tmp_path_factory, dtype, shape, values, damage):
    d = tmp_path_factory.mktemp("npy")
    path = d / "p.npy"
    base = np.resize(np.array(values), int(np.prod(shape))).reshape(shape)
    with np.errstate(all="ignore"):
        arr = base.astype(dtype) if dtype[0] not in "mMUV" else np.zeros(shape, dtype)
    if damage == "npz":
        with open(path, "wb") as fh:
            np.savez(fh, a=arr)
    else:
        np.save(path, arr)
        if damage == "truncate":
            path.write_bytes(path.read_bytes()[: max(1, path.stat().st_size - 7)])
    out = d / "o.npy"
    check_outcome(*cli("target", path, "--n", 20, "--out", out), out)


# ----- sessions -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def session_parts():
    from playground.formats.presets import load_preset
    from playground.learning.model import ModelConfig
    from playground.learning.trainer import TrainConfig, Trainer
    trainer = Trainer(load_preset("loaded_dice").target, TrainConfig(batch=16, device="cpu", model=ModelConfig(hidden=8)))
    trainer.train(2)
    state = trainer.state_dict()
    meta = session_json(load_preset("loaded_dice"), {"seed": 3, "sampler": "ddim", "steps": 20, "device": "cpu"},
                        {"config": state["config"], "step": state["step"], "lr": state["lr"]}, {"x": {"y": 1}},
                        "loaded_dice")
    weights = {k: state[k] for k in ("model", "ema", "optimizer")}
    weights["losses"] = torch.tensor(trainer.losses)
    return meta, weights


BAD_TENSORS = st.sampled_from([torch.tensor(float("nan")), torch.zeros(3, 3), torch.ones(2, dtype=torch.complex64),
                               torch.full((8,), float("inf")), 7, "text", None, {"a": torch.zeros(1)}])


@FUZZ
@given(data=st.data(), target=st.sampled_from(["json", "json", "weights", "bytes"]))
def test_mutated_session(tmp_path_factory, session_parts, data, target):
    meta, weights = json.loads(json.dumps(session_parts[0])), dict(session_parts[1])
    path = tmp_path_factory.mktemp("session") / "s.dpsession"
    if target == "json":
        mutate(data, meta)
    elif target == "weights":
        part = data.draw(st.sampled_from(["model", "ema", "losses"]))
        if part == "losses":
            weights["losses"] = data.draw(BAD_TENSORS)
        else:
            weights[part] = dict(weights[part])
            weights[part][data.draw(st.sampled_from(sorted(weights[part])))] = data.draw(BAD_TENSORS)
    write_session(path, meta, weights)
    if target == "bytes":
        raw = bytearray(path.read_bytes())
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at:at + 4] = data.draw(st.binary(min_size=1, max_size=4))
        path.write_bytes(bytes(raw[: data.draw(st.integers(len(raw) // 2, len(raw)))]))
    try:
        s = read_session(path)
    except SessionError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert isinstance(s, Session)
    for part in ("model", "ema"):
        if isinstance(s.weights.get(part), dict):
            assert all(torch.isfinite(t).all() for t in s.weights[part].values() if t.is_floating_point())


# ----- the costliest inputs allowed, in a memory-limited process -------------------------------------------

LARGEST = {
    "spiral_19k": {"kind": "spiral", "turns": 2, "r_end": 3.2, "width": 0.00147, "arms": 1},
    "points_20k": {"kind": "points", "points": [[i % 141 * 0.04, i // 141 * 0.04] for i in range(20_000)],
                   "bandwidth": 0.05},
    "image_141": {"kind": "image", "pixels": [[0.0] * 141] * 141},
}


@pytest.mark.parametrize("name", list(LARGEST))
def test_the_largest_allowed_targets_stay_under_2_gb(tmp_path, name):
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"target": LARGEST[name]}))
    out = tmp_path / "o.npy"

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))       # a safety net; the figure checked is RSS
    r = subprocess.run([sys.executable, "-m", "playground", "sample", str(path), "--exact", "--sampler", "ddim",
                        "--steps", "2", "--n", "500", "--out", str(out)], capture_output=True, text=True,
                       timeout=600, preexec_fn=limit)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert np.all(np.isfinite(np.load(out)))
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert peak_kb < 2 * 1024 * 1024, f"peak RSS {peak_kb / 1024:.0f} MB"
