"""The one place that converts between what a network may predict: eps, x0, v and the score.

With x = alpha*x0 + sigma*eps:  score = (alpha*x0_hat - x)/sigma^2 = -eps_hat/sigma,
v = alpha*eps - sigma*x0 (so that x0 = (alpha*x - sigma*v)/(alpha^2 + sigma^2)).
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
