"""Shapley attribution by PSIS weights (forecast/analysis/attribution/shapley.py) on a case with a known answer.

The "posterior" is 4000 independent draws of theta ~ Normal(0, 1); each new entry j is an
observation y_j ~ Normal(theta, 1), so with the entries of S added the exact posterior mean is
v(S) = sum_{j in S} y_j / (1 + |S|). The exact Shapley values are computed independently here by
averaging each entry's marginal contribution over all 3! orders. Tolerances: each PSIS estimate
within 4 of its own Monte Carlo standard errors (and those errors below 0.03, so the check is
sharp); the parts add up to v(all) - v(none) to 1e-12; relabelling the entries' order changes no part
by more than 1e-12. Plausible bugs and what they move: giving every subset equal weight instead of
|S|!(n-|S|-1)!/n! shifts the parts of this asymmetric game by 0.02-0.1; an unweighted mean (weights
ignored) makes every part 0; the sign of the log ratio flipped moves the parts by ~2x their size.
"""

from __future__ import annotations

import itertools

import numpy as np

from forecast.analysis.attribution.shapley import psis_shapley, shapley

Y = {"poll": 0.9, "episode": -0.6, "signal": 0.35}


class _Terms:
    """Stands in for forecast.model.reweight.LogRatios: log-likelihood of each entry per draw."""

    def __init__(self, theta):
        self.theta = theta
        self.shape = theta.shape

    def total(self, changes):
        out = np.zeros(self.shape)
        for c in changes:
            out = out - 0.5 * (Y[c] - self.theta) ** 2
        return out


def _exact_v(S):
    return sum(Y[j] for j in S) / (1 + len(S))


def _exact_shapley(players):
    out = dict.fromkeys(players, 0.0)
    perms = list(itertools.permutations(players))
    for order in perms:
        seen = []
        for j in order:
            out[j] += (_exact_v([*seen, j]) - _exact_v(seen)) / len(perms)
            seen.append(j)
    return out


def test_shapley_parts_match_the_exact_answer_add_up_and_are_order_free():
    theta = np.random.default_rng(42).standard_normal((4, 1000))
    p = theta[..., None]
    players = list(Y)
    res = psis_shapley(_Terms(theta), [], {j: [j] for j in players}, p)
    assert res is not None and "parts" in res and res["max_k"] < 0.5
    exact = _exact_shapley(players)
    for j in players:
        est, se = float(res["parts"][j][0]), float(res["mcse"][j][0])
        assert se < 0.03, (j, se)
        assert abs(est - exact[j]) < 4 * se, (j, est, exact[j], se)
    total = sum(float(res["parts"][j][0]) for j in players)
    v = res["v"]
    assert abs(total - float(v[frozenset(players)][0] - v[frozenset()][0])) < 1e-12
    # the same entries listed in another order: the same parts
    again = psis_shapley(_Terms(theta), [], {j: [j] for j in reversed(players)}, p)
    for j in players:
        assert abs(float(again["parts"][j][0]) - float(res["parts"][j][0])) < 1e-12


def test_shapley_of_a_game_with_an_interaction_splits_it_evenly():
    """v = a_1 [1 in S] + a_2 [2 in S] + b [both]: phi_j = a_j + b / 2 (a bug in the weights moves them by b/2)."""
    a1, a2, b = 0.1, -0.3, 0.4
    v = {frozenset(): np.zeros(1), frozenset({"x"}): np.array([a1]), frozenset({"y"}): np.array([a2]),
         frozenset({"x", "y"}): np.array([a1 + a2 + b])}
    phi = shapley(v, ["x", "y"])
    assert abs(phi["x"][0] - (a1 + b / 2)) < 1e-12 and abs(phi["y"][0] - (a2 + b / 2)) < 1e-12


def test_large_pareto_k_stops_the_attribution():
    """An entry far in the tail of the draws (y = 6 with sd 0.05) cannot be reweighted: None-parts, refit path."""
    theta = np.random.default_rng(1).standard_normal((2, 500))

    class Sharp(_Terms):
        def total(self, changes):
            return sum((-0.5 * ((6.0 - self.theta) / 0.05) ** 2 for _ in changes), np.zeros(self.shape))

    res = psis_shapley(Sharp(theta), [], {"far": ["far"]}, theta[..., None])
    assert res is not None and "parts" not in res and res["max_k"] > 0.7
