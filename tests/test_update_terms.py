"""Every PSIS reweighting term (forecast/model/update.py) is the PyMC model's own term.

At a random parameter point of a synthetic model with polls, a cell claim, an ordering claim and a
signal, the numpy terms equal PyMC's log-densities of ``poll_obs``, ``claim_obs``, ``signal_obs`` and
``order_obs`` to 1e-6 (float64 both sides). The test also checks that plausible bugs miss by more
than 1e-3: a signal evaluated at the reference opinion instead of the current one, a poll without its
pollster's house effect, a claim read on the wrong action; and that a new pollster's free wording
effect is integrated out exactly (brute-force Monte Carlo), not set to 0.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import xarray as xr

from forecast.inputs.data import polls_frame
from forecast.inputs.priors import parse_claim
from forecast.model import update as U
from forecast.model.build import build_model

from .synthetic import simulate_inputs

NAMES = ["alpha", "beta", "delta", "loading", "public_opposition", "opinion_effect", "house", "g"]


def _inputs():
    base = simulate_inputs(n_episodes=12, seed=2)
    ont = base.ontology
    import datetime as dt

    polls = polls_frame([
        {"id": f"q{i}", "pollster": p, "date": dt.date(2025, 6, 1), "n": n, "share_opposed": s, "use": "likelihood",
         "wording": "", "source": "synthetic"} for i, (p, n, s) in enumerate([("A", 800, 0.7), ("B", 1200, 0.62),
                                                                              ("A", 500, 0.75)])])
    cell = parse_claim("c_cell", {"quote": "q", "constrains": {"kind": "cell", "actions": ["a1", "a2"],
                                                               "response": "r3"},
                                  "elicit": {"family": "Beta", "alpha": 2, "beta": 8}}, ont, "t")
    order = parse_claim("c_order", {"quote": "q", "constrains": {"kind": "ordering",
                                                                 "cells": [["a0", "r0"], ["a3", "r0"]]}}, ont, "t")
    sig = parse_claim("E-s", {"quote": "q", "constrains": {"kind": "cell", "actions": ["a3"], "response": "r6"},
                              "elicit": {"family": "Beta", "alpha": 3, "beta": 5}, "strength": 2.0}, ont, "t",
                      origin="evidence")
    # a non-zero opinion effect on two responses, so the reference/current opinion distinction matters
    ont.responses.loc[["r3", "r6"], "opinion_sign"] = [1, -1]
    return dataclasses.replace(base, polls=polls, claims=[*base.claims, cell, order], signals=[sig])


def test_terms_equal_the_models_log_densities():
    inputs = _inputs()
    model = build_model(inputs)
    rng = np.random.default_rng(5)
    ip = model.initial_point()
    point = {k: rng.normal(0, 0.6, size=np.shape(v)) for k, v in ip.items()}
    outs = model.replace_rvs_by_values([model[n] for n in NAMES])
    fn = model.compile_fn(outs, inputs=model.value_vars, on_unused_input="ignore")
    vals = dict(zip(NAMES, fn(point), strict=True))
    dims = {n: model.named_vars_to_dims.get(n, ()) for n in NAMES}
    ds = xr.Dataset({n: (("chain", "draw", *dims[n]), np.asarray(v, dtype=float)[None, None]) for n, v in vals.items()},
                    coords={"pollster": list(model.coords["pollster"])})
    obs = ["poll_obs", "claim_obs", "signal_obs", "order_obs"]
    logp = model.compile_logp(vars=[model[o] for o in obs], sum=False, jacobian=False)
    pymc = dict(zip(obs, (np.asarray(v) for v in logp(point)), strict=True))
    tree = xr.DataTree.from_dict({"posterior": ds})
    terms = U.Terms(tree, inputs, ["A", "B"])

    poll = U.poll_loglik(ds, inputs, inputs.polls, ["A", "B"])[0, 0]
    np.testing.assert_allclose(poll, pymc["poll_obs"].sum(), atol=1e-6)
    cell, order = inputs.claims[-2], inputs.claims[-1]
    np.testing.assert_allclose(U.cell_claim_loglik(terms.lp(False), inputs, cell)[0, 0], pymc["claim_obs"].sum(),
                               atol=1e-6)
    np.testing.assert_allclose(U.cell_claim_loglik(terms.lp(True), inputs, inputs.signals[0])[0, 0],
                               pymc["signal_obs"].sum(), atol=1e-6)
    np.testing.assert_allclose(U._claim_term(ds, terms.lp(False), inputs, order)[0, 0], pymc["order_obs"].sum(),
                               atol=1e-6)
    # the plausible bugs are caught: wrong opinion, house effect dropped, wrong action
    assert abs(U.cell_claim_loglik(terms.lp(False), inputs, inputs.signals[0])[0, 0] - pymc["signal_obs"].sum()) > 1e-3
    import pytest

    # a new pollster's free wording effect is not in the draws: integrated out under Normal(0, sigma_house),
    # jointly over its polls (checked against brute-force Monte Carlo over the effect)
    from scipy.stats import binom

    new = inputs.polls[inputs.polls["pollster"] == "A"]
    got = U.poll_loglik(ds, inputs, new, [])[0, 0]
    h = np.random.default_rng(0).normal(0, float(inputs.hyper["sigma_house"]), 400_000)
    th = float(ds["public_opposition"].values[0, 0])
    p_ = 1 / (1 + np.exp(-(np.log(th / (1 - th)) + h)))
    lik = np.ones_like(h)
    for n, s in zip(new["n"], new["share_opposed"], strict=True):
        lik *= binom.pmf(round(n * s), int(n), p_)
    assert abs(got - np.log(lik.mean())) < 0.01, (got, np.log(lik.mean()))
    with pytest.raises(AssertionError):  # the effect treated as 0 (no integral) misses
        np.testing.assert_allclose(U.poll_loglik(ds.assign(house=ds["house"] * 0), inputs, new, ["A"])[0, 0],
                                   np.log(lik.mean()), atol=0.01)
    no_house = ds.assign(house=ds["house"] * 0)
    assert abs(U.poll_loglik(no_house, inputs, inputs.polls, ["A", "B"])[0, 0] - pymc["poll_obs"].sum()) > 1e-3
    wrong = dataclasses.replace(cell, actions=("a0", "a2"))
    assert abs(U.cell_claim_loglik(terms.lp(False), inputs, wrong)[0, 0] - pymc["claim_obs"].sum()) > 1e-3
    # and through the change machinery: adding the signal to a state without it is that term
    st = U.state(dataclasses.replace(inputs, signals=[]), {"f": 1})
    ch = U.diff(st, inputs, {"f": 1})
    assert [c.kind for c in ch] == ["signal"]
    np.testing.assert_allclose(terms.total(ch)[0, 0], pymc["signal_obs"].sum(), atol=1e-6)


def _point_tree(model, inputs, names, seed=3):
    """The stored variables of ``model`` at one random parameter point, as a one-draw posterior."""
    rng = np.random.default_rng(seed)
    point = {k: rng.normal(0, 0.6, size=np.shape(v)) for k, v in model.initial_point().items()}
    names = [n for n in names if n in model.named_vars]
    outs = model.replace_rvs_by_values([model[n] for n in names])
    vals = model.compile_fn(outs, inputs=model.value_vars, on_unused_input="ignore")(point)
    dims = {n: model.named_vars_to_dims.get(n, ()) for n in names}
    ds = xr.Dataset({n: (("chain", "draw", *dims[n]), np.asarray(v, dtype=float)[None, None])
                     for n, v in zip(names, vals, strict=True)})
    return point, xr.DataTree.from_dict({"posterior": ds})


def test_a_removed_latent_claim_hands_its_parameter_back_to_the_default_prior():
    """Reweighting from a posterior fitted with the article's opinion claim to inputs without it (the
    claim restates a poll that is kept) is the model's own prior ratio: PyMC's log density of the
    opinion and of the opinion effect in the model without the claims minus the model with them.
    Bugs this catches: the removed claim's term subtracted without the default prior added back
    (off by the default's log density, > 1e-3 here), or the claim left in (term 0)."""
    inputs = simulate_inputs(n_episodes=12, seed=2)
    without = dataclasses.replace(inputs, claims=[c for c in inputs.claims if c.kind != "latent"])
    m_with, m_without = build_model(inputs), build_model(without)
    point, tree = _point_tree(m_with, inputs, NAMES)
    lat = ["public_opposition", "opinion_effect"]

    def logp(m):
        f = m.compile_logp(vars=[m[v] for v in lat], sum=True, jacobian=False)
        return float(f(point))

    want = logp(m_without) - logp(m_with)
    changes = U.diff(U.state(inputs, {"f": 1}), without, {"f": 1})
    assert sorted(c.kind for c in changes) == ["claim", "claim"] and all(c.new is None for c in changes)
    got = U.Terms(tree, without, []).total(changes)[0, 0]
    np.testing.assert_allclose(got, want, atol=1e-6)
    # the bug "subtract the claim, forget the default" is far off
    only_minus = -sum(U._claim_term(tree["posterior"].to_dataset(), None, inputs, c.old)[0, 0] for c in changes)
    assert abs(only_minus - want) > 1e-3


def test_episodes_leaving_the_poll_window_are_reweighted_to_the_era_opinion():
    """A later as_of moves old episodes from the polled opinion to the era opinion (issue 16's one
    equation for past and present): the update's ``episode_opinion`` term equals the change in the
    whole history's integrated likelihood (``episode_loglik`` at each as_of, every episode), so the
    episodes that stay put cancel. Bugs this catches: the moved episodes read at the same opinion on
    both sides (term 0), the sign reversed, or an episode that did not move counted."""
    import datetime as dt

    from forecast.inputs.data import Episodes
    from forecast.model.likelihood import episode_loglik

    inputs = simulate_inputs(n_episodes=12, seed=2)
    table = inputs.episodes.table.copy()
    table.loc[table.index[:5], "date"] = dt.date(2024, 6, 1)   # inside the window of 2026-01-01, not of 2026-11-29
    table.loc[table.index[5:7], "date"] = dt.date(2025, 6, 1)  # inside both windows
    inputs = dataclasses.replace(inputs, episodes=Episodes(table, inputs.episodes.outcomes),
                                 claims=[c for c in inputs.claims if c.kind == "latent"])
    # a non-zero opinion effect on two responses, so the opinion matters
    inputs.ontology.responses.loc[["r3", "r6"], "opinion_sign"] = [1, -1]
    later = dataclasses.replace(inputs, as_of=dt.date(2026, 11, 29))
    _, tree = _point_tree(build_model(inputs), inputs, [*NAMES, "z_opinion_past", "public_opposition_past"])
    changes = U.diff(U.state(inputs, {"f": 1}), later, {"f": 1})
    assert [c.kind for c in changes] == ["episode_opinion"]
    assert list(changes[0].new[0].index) == list(table.index[:5])
    got = U.Terms(tree, later, []).total(changes)[0, 0]
    kw = dict(hyper=inputs.hyper)
    whole = (episode_loglik(tree, inputs.ontology, inputs.episodes, as_of=later.as_of, **kw).values.sum()
             - episode_loglik(tree, inputs.ontology, inputs.episodes, as_of=inputs.as_of, **kw).values.sum())
    np.testing.assert_allclose(got, whole, atol=1e-9)
    assert abs(whole) > 1e-2  # the opinions differ at this point, so a term of 0 would fail
