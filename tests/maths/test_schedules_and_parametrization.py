import numpy as np
import pytest
import torch

from playground.maths import parametrization as P
from playground.maths.schedules import SCHEDULES, get_schedule


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_levels_run_from_sigma_max_down_to_clean(name):
    s = get_schedule(name)
    lv = s.levels(30)
    assert len(lv) == 31
    assert np.all(np.diff(lv.level) < 0)
    assert np.isclose(lv.level[0], s.sigma_max, rtol=1e-6) and np.isclose(lv.level[-2], s.sigma_min, rtol=1e-6)
    assert lv.sigma[-1] == 0 and lv.alpha[-1] == 1


@pytest.mark.parametrize("name", ["vp-linear", "vp-cosine"])
def test_variance_preserving_schedules_keep_alpha2_plus_sigma2_one(name):
    t = np.linspace(0.01, 0.95, 20)
    s = get_schedule(name)
    assert np.allclose(s.alpha(t) ** 2 + s.sigma(t) ** 2, 1.0)


def test_flow_is_the_straight_line_and_edm_is_karras_spacing():
    f = get_schedule("flow")
    t = np.linspace(0, 0.9, 7)
    assert np.allclose(f.alpha(t), 1 - t) and np.allclose(f.sigma(t), t)
    e = get_schedule("edm")
    lv = e.levels(10).level[:-1]
    rho = 7
    expect = (e.sigma_max ** (1 / rho) + np.arange(10) / 9 * (e.sigma_min ** (1 / rho) - e.sigma_max ** (1 / rho))) ** rho
    assert np.allclose(lv, expect)


def test_parametrizations_round_trip_and_agree_on_the_score():
    g = torch.Generator().manual_seed(0)
    x0, eps = torch.randn(50, 2, generator=g), torch.randn(50, 2, generator=g)
    alpha, sigma = 0.6, 0.8
    x = alpha * x0 + sigma * eps
    assert torch.allclose(P.x0_from_eps(x, P.eps_from_x0(x, x0, alpha, sigma), alpha, sigma), x0, atol=1e-6)
    assert torch.allclose(P.x0_from_v(x, P.v_from_x0(x, x0, alpha, sigma), alpha, sigma), x0, atol=1e-6)
    assert torch.allclose(P.score_from_x0(x, x0, alpha, sigma), P.score_from_eps(eps, sigma), atol=1e-5)
    assert torch.allclose(P.x0_from_score(x, P.score_from_x0(x, x0, alpha, sigma), alpha, sigma), x0, atol=1e-5)
