"""The one place that converts between what a network may predict: x0, eps, score, v and velocity.

Every conversion is for one point x = alpha*x0 + sigma*eps of a schedule (alpha, sigma at time t,
with time derivatives d_alpha, d_sigma where a velocity is involved):
    eps = (x - alpha*x0)/sigma,   score = (alpha*x0 - x)/sigma^2 = -eps/sigma,
    v = alpha*eps - sigma*x0 (Salimans & Ho's v-prediction),
    velocity = d_alpha*x0 + d_sigma*eps = dx/dt (toward noise); with the posterior means of x0 and
    eps it is the probability-flow ODE's velocity; on the flow path (alpha = 1-t, sigma = t) it is
    eps - x0, the flow-matching target.
The scale-free frame of the samplers is alpha = 1, sigma = level.
"""
from __future__ import annotations


def eps_from_x0(x, x0, alpha, sigma):
    return (x - alpha * x0) / sigma


def x0_from_eps(x, eps, alpha, sigma):
    return (x - sigma * eps) / alpha


def v_from_x0(x, x0, alpha, sigma):
    return alpha * eps_from_x0(x, x0, alpha, sigma) - sigma * x0


def x0_from_v(x, v, alpha, sigma):
    return (alpha * x - sigma * v) / (alpha**2 + sigma**2)


def score_from_x0(x, x0, alpha, sigma):
    return (alpha * x0 - x) / sigma**2


def score_from_eps(eps, sigma):
    return -eps / sigma


def x0_from_score(x, score, alpha, sigma):
    return (x + sigma**2 * score) / alpha


def velocity_from_x0_eps(x0, eps, d_alpha, d_sigma):
    """dx/dt of the path alpha(t)*x0 + sigma(t)*eps: the conditional velocity flow matching regresses on."""
    return d_alpha * x0 + d_sigma * eps


def velocity_from_x0(x, x0, alpha, sigma, d_alpha, d_sigma):
    """The velocity given the denoised estimate (the eps it implies fills in the rest)."""
    return velocity_from_x0_eps(x0, eps_from_x0(x, x0, alpha, sigma), d_alpha, d_sigma)


def x0_from_velocity(x, velocity, alpha, sigma, d_alpha, d_sigma):
    """Invert velocity = d_alpha*x0 + d_sigma*(x - alpha*x0)/sigma for x0 (flow: x0 = x - t*velocity)."""
    return (sigma * velocity - d_sigma * x) / (sigma * d_alpha - alpha * d_sigma)


def velocity_from_score(x, score, alpha, sigma, d_alpha, d_sigma):
    """The probability-flow ODE dx/dt = f*x - g^2/2 * score, f = d_alpha/alpha, g^2/2 = sigma*d_sigma - f*sigma^2."""
    f = d_alpha / alpha
    return f * x - (sigma * d_sigma - f * sigma**2) * score


# ----- the flow path alpha = 1 - t, sigma = t, and its link to the scale-free level -------------------

def flow_time(level):
    """t on the flow path with sigma/alpha = level: t = level/(1 + level)."""
    return level / (1.0 + level)
