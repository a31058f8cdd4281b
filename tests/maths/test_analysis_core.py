"""Quality vs steps, the forward process, the likelihood grid and the sampler explanations,
without a window."""
import numpy as np
import pytest
import torch

from playground import load_preset
from playground.maths.progress import Cancelled
from playground.maths.quality import quality_vs_steps
from playground.maths.samplers.explanations import EXPLANATIONS, explain, explain_html
from playground.maths.forward import check, forward_frames, schedule_curves, terminal_gap
from playground.maths.likelihood import density_grids, grid_points, log_density
from playground.maths.samplers import SAMPLERS
from playground.maths.schedules import SCHEDULES, get_schedule
from playground.maths.sources import ExactSource
from playground.learning.trainer import TrainConfig, Trainer


@pytest.fixture(scope="module")
def dice():
    return load_preset("loaded_dice").target


@pytest.fixture(scope="module")
def exact_sweep(dice):
    """Every sampler with the exact score at 2 and 50 steps (N = 2000, seed 0)."""
    return quality_vs_steps(dice, list(SAMPLERS), [2, 50], {"exact": lambda: ExactSource(dice)}, n=2000, seed=0)


def test_with_the_exact_score_more_steps_means_closer_to_the_target(exact_sweep):
    """The exact score leaves only discretisation error, which shrinks with steps: at 2 steps every
    sampler is far off (SW2 > 0.5, floor 0.07) and at 50 it is within a few floors."""
    rows = {r["sampler"]: r["sw2"] for r in exact_sweep["results"]}
    floor = exact_sweep["floor"]
    for name, (few, many) in rows.items():
        if name in ("langevin", "ode-rk45"):
            continue
        assert few > 0.5, (name, few)
        assert many < 0.4 * few, (name, few, many)
        assert many < 3 * floor, (name, many, floor)


def test_rk45_ignores_steps_and_langevin_stays_off(exact_sweep):
    """ode-rk45 picks its own steps to a tolerance, so its curve is flat at the accurate value;
    one-level Langevin does not anneal, so even 50 steps leave it far from the target."""
    rows = {r["sampler"]: r["sw2"] for r in exact_sweep["results"]}
    floor = exact_sweep["floor"]
    assert rows["ode-rk45"][0] == rows["ode-rk45"][1] < 3 * floor
    assert rows["langevin"][1] > 4 * floor


def test_an_under_trained_model_flattens_above_the_exact_curve(dice):
    """30 training steps: the learned curve stalls at the model's own error while the exact
    curve keeps falling with steps — the two together say "the model, not the sampler"."""
    trainer = Trainer(dice, TrainConfig(seed=0, batch=256, device="cpu"))
    trainer.train(30)
    learned = trainer.source()
    r = quality_vs_steps(dice, ["ode-euler"], [5, 20, 100],
                         {"exact": lambda: ExactSource(dice), "model": lambda: learned}, n=2000, seed=0)
    exact = next(x["sw2"] for x in r["results"] if x["score"] == "exact")
    model = next(x["sw2"] for x in r["results"] if x["score"] == "model")
    assert exact[0] > exact[1] > exact[2]
    assert exact[2] < 0.8 * exact[1]
    assert model[2] > 0.9 * model[1]               # flat from 20 to 100 steps
    assert model[2] > 2.5 * exact[2]               # and well above the exact curve there


def test_sweep_can_be_cancelled_from_the_progress_callback(dice):
    calls = []

    def progress(f):
        calls.append(f)
        return False

    with pytest.raises(Cancelled):
        quality_vs_steps(dice, ["ode-euler", "ode-heun"], [1, 2, 3], {"exact": lambda: ExactSource(dice)},
                         n=100, progress=progress)
    assert calls == [pytest.approx(1 / 12)]      # after the first of 2 x (1+2+3) sampler steps


# ----- forward process ------------------------------------------------------------------------------
def test_default_edm_schedule_ends_at_the_samplers_starting_noise(dice):
    sw2, floor = terminal_gap(dice, get_schedule("edm"), n=2000, seed=0)
    assert sw2 < floor + 0.02
    assert check(dice, "edm", 50).ok


def test_sigma_max_of_one_leaves_the_data_visible_and_warns(dice):
    sched = get_schedule("edm", sigma_max=1.0)
    sw2, floor = terminal_gap(dice, sched, n=2000, seed=0)
    # x_T / sigma_T = x0 + eps has per-axis variance 1 + 1.52^2: its SW2 to N(0, I) is about 0.8
    assert sw2 > 10 * floor and sw2 > 0.5
    c = check(dice, sched, 50)
    assert not c.ok and any("σ_max" in w for w in c.warnings)


def test_terminal_gap_depends_on_the_schedule_only_through_sigma_max(dice):
    """Every sampler starts from sigma_T * eps, so VP (alpha_T ~ 0.0125) and VE start equally well."""
    gaps = {name: terminal_gap(dice, get_schedule(name, sigma_max=3.0), n=1000, seed=1)[0] for name in SCHEDULES}
    assert max(gaps.values()) - min(gaps.values()) < 1e-6


def test_two_steps_are_flagged_as_a_too_coarse_first_step(dice):
    assert any("first step" in w for w in check(dice, "edm", 2).warnings)
    assert not any("first step" in w for w in check(dice, "edm", 10).warnings)


def test_forward_frames_follow_alpha_x0_plus_sigma_eps(dice):
    f = forward_frames(dice, "vp-linear", 8, 3000, seed=0)
    assert len(f) == 9 and f.t[0] == 0 and f.sigma[0] == 0
    assert np.allclose(f.x[0], dice.sample(3000, seed=0).numpy(), atol=1e-6)
    assert np.all(np.diff(f.t) > 0)
    # VP: alpha^2 + sigma^2 = 1, the last frame is close to N(0, I)
    assert np.allclose(f.alpha**2 + f.sigma**2, 1.0, atol=1e-6)
    last = f.normalised(len(f) - 1)
    assert abs(last.std() - 1) < 0.05 and np.abs(last.mean(0)).max() < 0.06
    # frame i's spread is sqrt(alpha^2 var(x0) + sigma^2)
    var0 = dice.mixture.data_std() ** 2
    mid = len(f) // 2
    expected = np.sqrt(f.alpha[mid] ** 2 * var0 + f.sigma[mid] ** 2)
    assert abs(np.sqrt(f.x[mid].var(0).mean()) - expected) < 0.05 * expected


def test_schedule_curves_log_snr_is_decreasing():
    for name in SCHEDULES:
        c = schedule_curves(name, 50)
        assert np.all(np.diff(c["log_snr"]) < 0), name
        assert np.allclose(c["log_snr"], 2 * np.log(c["alpha"] / c["sigma"]))


# ----- likelihood grid --------------------------------------------------------------------------------
def test_exact_score_ode_log_density_on_a_grid_matches_the_true_density(dice):
    xs = np.linspace(-3, 3, 5)
    grid = torch.tensor([[a, b] for a in xs for b in xs], dtype=torch.float64)
    true = dice.log_prob(grid).numpy()
    keep = true > true.max() - 12                      # the range the view colours
    fractions = []
    ode = log_density(ExactSource(dice), grid[keep], batch=7, progress=lambda f: fractions.append(f))
    assert keep.sum() >= 8
    assert np.abs(ode - true[keep]).max() < 0.05
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and len(fractions) == -(-int(keep.sum()) // 7) + 1


def test_log_density_stops_when_progress_says_so(dice):
    seen = []
    with pytest.raises(Cancelled):
        log_density(ExactSource(dice), torch.zeros(4, 2, dtype=torch.float64), batch=2,
                    progress=lambda f: seen.append(f) or f < 0.5)
    assert seen == [0.0, 0.5]


# ----- explanations ----------------------------------------------------------------------------------
def test_every_sampler_has_an_explanation_and_no_stale_ones():
    assert set(EXPLANATIONS) == set(SAMPLERS)
    for name in SAMPLERS:
        text = explain(name)
        assert EXPLANATIONS[name].label in text and EXPLANATIONS[name].rule in text
        assert len(EXPLANATIONS[name].look_for.split()) >= 12
        assert "<b>" in explain_html(name)


def test_explanations_say_the_key_facts():
    assert "mode" in EXPLANATIONS["langevin"].look_for and "weight" in EXPLANATIONS["langevin"].look_for
    assert "Euler" in EXPLANATIONS["ddim"].look_for
    assert "ignored" in EXPLANATIONS["ode-rk45"].rule
    with pytest.raises(ValueError):
        explain("nope")


def test_density_grids_with_the_exact_score_reproduce_the_exact_log_density():
    target = load_preset("two_moons").target
    view = {"xlim": [-1.5, 2.5], "ylim": [-1.0, 1.5]}
    pts = grid_points(view, 5)
    assert pts.shape == (25, 2) and np.allclose(pts[:5, 0], -1.1) and np.allclose(pts[0], [-1.1, -0.75])
    r = density_grids(target, ExactSource(target), view, 5, seed=0, nll_samples=40)
    assert r["model"].shape == r["exact"].shape == (5, 5) and r["exact_source"]
    finite = r["exact"] > r["exact"].max() - 12          # where the picture shows colour
    assert np.max(np.abs(r["model"] - r["exact"])[finite]) < 0.05
    assert abs(r["nll"] - r["nll_true"]) < 0.02
