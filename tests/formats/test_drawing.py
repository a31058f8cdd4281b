"""The drawing document (GUI-free): brush and eraser geometry, Gaussian edits, undo/redo as whole
strokes, and loading any preset as a drawing without changing its mixture."""
import json
import math

import numpy as np
import pytest
import torch

from playground.formats.brush import BrushStroke
from playground.formats.drawing import MAX_EDITABLE_COMPONENTS, Gaussian, SketchDocument
from playground.formats.presets import Preset, load_preset, preset_from_json, save_preset


def seg_dist(p, a, b):
    """Distance of points p (n, 2) to the segment a-b."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    t = np.clip(((p - a) @ (b - a)) / np.dot(b - a, b - a), 0, 1)
    return np.linalg.norm(p - (a + t[:, None] * (b - a)), axis=1)


def assert_same_mixture(m1, m2):
    assert len(m1) == len(m2)
    for a, b in ((m1.weights, m2.weights), (m1.means, m2.means), (m1.covs, m2.covs)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-15)


def test_spray_is_uniform_in_the_disc_and_deterministic():
    doc = SketchDocument()
    doc.spray((1.0, -1.0), 0.5, 4000, np.random.default_rng(3))
    r = np.linalg.norm(doc.points - [1.0, -1.0], axis=1)
    assert len(doc.points) == 4000 and r.max() <= 0.5
    # uniform in area: P(r < R/2) = 1/4, and the mean radius is 2R/3
    assert abs(np.mean(r < 0.25) - 0.25) < 0.03
    assert abs(r.mean() - 2 * 0.5 / 3) < 0.01
    again = SketchDocument()
    again.spray((1.0, -1.0), 0.5, 4000, np.random.default_rng(3))
    np.testing.assert_array_equal(doc.points, again.points)
    other = SketchDocument()
    other.spray((1.0, -1.0), 0.5, 4000, np.random.default_rng(4))
    assert not np.array_equal(doc.points, other.points)


def test_brush_stroke_follows_the_path_at_the_given_density():
    doc = SketchDocument()
    with doc.edit():
        stroke = BrushStroke(doc, radius=0.2, density=30.0, seed=1)
        for x in np.linspace(-2, 2, 17):           # a mouse reporting 16 moves
            stroke.to((x, 0.0))
        stroke.finish()
    pts = doc.points
    assert abs(len(pts) - 120) <= 1                 # 30 points per unit over 4 units
    assert np.all(seg_dist(pts, (-2, 0), (2, 0)) <= 0.2 + 1e-12)
    # spread along the whole length: every quarter of the stroke gets about a quarter
    counts = np.histogram(pts[:, 0], bins=[-2.2, -1, 0, 1, 2.2])[0]
    assert counts.min() >= 22, counts
    # the count does not depend on how often the mouse reported
    doc2 = SketchDocument()
    s2 = BrushStroke(doc2, 0.2, 30.0, seed=1)
    s2.to((-2, 0))
    s2.to((2, 0))
    assert abs(len(doc2.points) - 120) <= 1
    # one stroke is one undo step
    assert doc.can_undo and doc.undo() and doc.is_empty and not doc.can_undo


def test_a_click_without_moving_leaves_one_dab():
    doc = SketchDocument()
    s = BrushStroke(doc, 0.3, 20.0, seed=0)
    s.to((0.5, 0.5))
    s.finish()
    assert len(doc.points) == 6 and np.all(np.linalg.norm(doc.points - 0.5, axis=1) <= 0.3)


def test_eraser_removes_exactly_the_points_inside_its_radius():
    doc = SketchDocument()
    doc.spray((0, 0), 2.0, 1000, np.random.default_rng(0))
    before = doc.points.copy()
    removed = doc.erase((0.5, 0.0), 0.7)
    inside = np.linalg.norm(before - [0.5, 0.0], axis=1) <= 0.7
    assert removed == inside.sum() > 50
    np.testing.assert_array_equal(doc.points, before[~inside])
    assert doc.erase((10, 10), 0.5) == 0
    doc.undo()
    np.testing.assert_array_equal(doc.points, before)


def test_gaussian_edits_and_their_geometry():
    doc = SketchDocument()
    i = doc.add_gaussian((1.0, 2.0), std=0.3, weight=2.0)
    g = doc.gaussians[i]
    np.testing.assert_allclose(g.cov, [[0.09, 0], [0, 0.09]])
    doc.move_gaussian(i, (-1.0, 0.5))
    assert doc.gaussians[i].mean == (-1.0, 0.5)
    doc.set_gaussian_shape(i, 0.8, 0.2, math.pi / 6)
    su, sv, angle = doc.gaussians[i].axes()
    assert su == pytest.approx(0.8) and sv == pytest.approx(0.2) and angle == pytest.approx(math.pi / 6)
    # the covariance really has variance 0.64 along 30 degrees
    u = np.array([math.cos(math.pi / 6), math.sin(math.pi / 6)])
    assert u @ np.array(doc.gaussians[i].cov) @ u == pytest.approx(0.64)
    doc.resize_gaussian(i, 1, 0.4)
    assert doc.gaussians[i].axes()[:2] == pytest.approx((0.8, 0.4))
    doc.rotate_gaussian(i, -math.pi / 4)
    assert doc.gaussians[i].axes() == pytest.approx((0.8, 0.4, -math.pi / 4))
    doc.set_weight(i, 0.5)
    assert doc.gaussians[i].weight == 0.5 and doc.gaussians[i].mean == (-1.0, 0.5)
    with pytest.raises(ValueError):
        doc.set_weight(i, -1.0)
    with pytest.raises(ValueError):
        doc.add_gaussian((0, 0), cov=[[1, 2], [2, 1]])
    doc.delete_gaussian(i)
    assert doc.gaussians == ()
    # seven edits, seven undo steps back to the empty canvas (the two refused ones left nothing)
    steps = 0
    while doc.undo():
        steps += 1
    assert steps == 7 and doc.is_empty
    while doc.redo():
        pass
    assert doc.gaussians == ()


def test_undo_redo_history_and_a_new_edit_drops_the_redo_branch():
    doc = SketchDocument()
    doc.add_gaussian((0, 0))
    doc.add_gaussian((1, 1))
    with doc.edit():                 # a drag: many moves, one step
        for x in np.linspace(1, 3, 20):
            doc.move_gaussian(1, (x, 1.0))
    assert doc.gaussians[1].mean == (3.0, 1.0)
    doc.undo()
    assert doc.gaussians[1].mean == (1.0, 1.0)
    doc.redo()
    assert doc.gaussians[1].mean == (3.0, 1.0)
    doc.undo()
    doc.undo()
    assert len(doc.gaussians) == 1 and doc.can_redo
    doc.clear()
    assert doc.is_empty and not doc.can_redo
    doc.undo()
    assert len(doc.gaussians) == 1


def test_sketch_preset_is_the_exact_mixture_and_round_trips_through_json(tmp_path):
    doc = SketchDocument()
    s = BrushStroke(doc, 0.3, 25.0, seed=5)
    s.to((-2, -1))
    s.to((2, 1))
    doc.add_gaussian((1.5, -2.0), cov=[[0.2, 0.05], [0.05, 0.1]], weight=3.0)
    doc.set_bandwidth(0.1)
    p = doc.to_preset("My sketch")
    assert p.spec["kind"] == "sketch" and not p.is_empty
    mix = p.target.mixture
    n = len(doc.points)
    assert len(mix) == n + 1
    # points share weight 1 (points_weight), the Gaussian has weight 3: total 4
    assert mix.weights[-1].item() == pytest.approx(3 / 4)
    assert mix.weights[0].item() == pytest.approx(1 / 4 / n)
    np.testing.assert_allclose(mix.covs[0].numpy(), np.eye(2) * 0.01)
    path = tmp_path / "sketch.json"
    save_preset(p, path)
    q = load_preset(path)
    assert_same_mixture(q.target.mixture, mix)
    assert torch.equal(q.target.sample(3000, seed=9), p.target.sample(3000, seed=9))
    again = SketchDocument.from_preset(q)
    np.testing.assert_array_equal(again.points, doc.points)
    assert again.gaussians == doc.gaussians and again.bandwidth == 0.1


def test_empty_sketch_gives_an_empty_preset():
    p = SketchDocument().to_preset("Sketch")
    assert p.is_empty
    with pytest.raises(ValueError, match="empty"):
        p.target
    assert SketchDocument.from_preset(load_preset("blank")).is_empty


@pytest.mark.parametrize("name", ["loaded_dice", "eight_gaussians", "twin_peaks"])
def test_small_mixtures_load_as_editable_gaussians_exactly(name):
    p = load_preset(name)
    doc = SketchDocument.from_preset(p)
    assert len(p.target.mixture) <= MAX_EDITABLE_COMPONENTS
    assert len(doc.gaussians) == len(p.target.mixture) and len(doc.points) == 0
    assert_same_mixture(doc.to_preset().target.mixture, p.target.mixture)
    assert doc.view == p.view
    # weights average 1, like a newly placed Gaussian, so a new one is not a giant among them
    assert np.mean([g.weight for g in doc.gaussians]) == pytest.approx(1.0)


@pytest.mark.parametrize("name", ["spiral", "two_moons", "checkerboard"])
def test_large_isotropic_targets_load_as_points_with_their_std_as_bandwidth(name):
    p = load_preset(name)
    doc = SketchDocument.from_preset(p)
    assert len(doc.gaussians) == 0 and len(doc.points) == len(p.target.mixture)
    assert doc.bandwidth == pytest.approx(math.sqrt(p.target.mixture.covs[0, 0, 0].item()))
    assert_same_mixture(doc.to_preset().target.mixture, p.target.mixture)


def test_weighted_image_like_target_keeps_its_weights():
    pix = np.linspace(0, 1, 100).reshape(10, 10)          # 99 non-white cells of different mass
    p = preset_from_json({"target": {"kind": "image", "pixels": pix.tolist()}})
    doc = SketchDocument.from_preset(p)
    assert doc.weights is not None and len(doc.points) == len(p.target.mixture) > MAX_EDITABLE_COMPONENTS
    assert_same_mixture(doc.to_preset().target.mixture, p.target.mixture)
    doc.spray((0, 0), 0.1, 3, np.random.default_rng(0))   # new points weigh like an average one
    assert doc.weights[-1] == pytest.approx(doc.weights[:-3].mean())


def test_large_anisotropic_target_stays_gaussians_exactly():
    rng = np.random.default_rng(0)
    comps = [{"weight": float(rng.uniform(0.5, 2)), "mean": rng.normal(size=2).tolist(),
              "cov": [[0.1 + 0.01 * k, 0.02], [0.02, 0.05]]} for k in range(40)]
    p = preset_from_json({"target": {"kind": "mixture", "components": comps}})
    doc = SketchDocument.from_preset(p)
    assert len(doc.gaussians) == 40 and len(doc.points) == 0
    assert_same_mixture(doc.to_preset().target.mixture, p.target.mixture)


def test_gaussian_from_axes_matches_mahalanobis():
    g = Gaussian.from_axes((1, 1), 0.5, 0.1, 0.3)
    u = np.array([math.cos(0.3), math.sin(0.3)])
    v = np.array([-u[1], u[0]])
    pts = np.array([1, 1]) + np.stack([2 * 0.5 * u, 2 * 0.1 * v])
    np.testing.assert_allclose(g.mahalanobis(pts), [2, 2])
    assert json.loads(json.dumps(g.to_json()))["weight"] == 1.0
    assert isinstance(SketchDocument().to_preset(), Preset)


def test_sketch_point_weights_are_validated_with_the_field_name():
    from playground.formats.presets import PresetError
    spec = {"kind": "sketch", "points": [[0, 0], [1, 1]], "weights": [1.0], "bandwidth": 0.2}
    with pytest.raises(PresetError, match=r"target\.weights"):
        preset_from_json({"target": spec})
    spec["weights"] = [1.0, -2.0]
    with pytest.raises(PresetError, match=r"target\.weights\[1\]"):
        preset_from_json({"target": spec})
    spec["weights"] = [1.0, 3.0]
    mix = preset_from_json({"target": spec}).target.mixture
    np.testing.assert_allclose(mix.weights.numpy(), [0.25, 0.75])
