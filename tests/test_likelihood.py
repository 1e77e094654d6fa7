"""The numpy history likelihood (forecast/model/likelihood.py) is the model's own, factor integrated out.

Decisive: evaluated at a random parameter point and the point's episode factors, every coded cell's
numpy log-probability equals PyMC's ``y_history`` log-density of the compiled model to 1e-8. A
swapped response index, a lost chain mask (executed cell without its uncoded threat) or a wrong sign
of the loading each moves some cell by far more than that (measured by mutation: 4.2, 4.4 and 6.1 nats;
leaving out the opinion of the episode's time: 0.77). The quadrature
over the factor (24 Gauss-Hermite nodes) is checked against a dense grid integral to 1%.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import xarray as xr

from forecast.model.build import build_model, chain_index, observed_cells
from forecast.model.likelihood import episode_loglik
from forecast.model.terms import EPISODE_NODES as N_NODES
from forecast.model.terms import cell_logp_given_factor
from forecast.model.terms import eta_episodes as episode_eta

from .synthetic import simulate_inputs


def _random_point(inputs, seed=3):
    model = build_model(inputs)
    rng = np.random.default_rng(seed)
    ip = model.initial_point()
    point = {k: rng.normal(0, 0.7, size=np.shape(v)) for k, v in ip.items()}
    names = [n for n in ("alpha", "beta", "delta", "loading", "public_opposition", "opinion_effect",
                         "public_opposition_past") if n in model.named_vars]  # an era opinion only when free
    outs = model.replace_rvs_by_values([model[n] for n in names])  # else compile_fn would draw the RVs
    fn = model.compile_fn(outs, inputs=model.value_vars, on_unused_input="ignore")
    params = dict(zip(names, fn(point), strict=True))
    return model, point, params


@pytest.mark.parametrize("era", ["reference", "free"])
def test_cell_logp_matches_the_pymc_model(era):
    inputs = simulate_inputs(n_episodes=25, seed=11, hyper={"era_opinion": era})
    out = inputs.episodes.outcomes
    out.iloc[:6, out.columns.get_loc("r1")] = np.nan  # threat uncoded: its executed cell is a chain marginal
    # responses that move with public opinion; half the episodes in the poll window, half before it (era opinion)
    inputs.ontology.responses["opinion_sign"] = [1, 1, 1, -1, 0, 1, -1, 1]
    inputs.episodes.table["date"] = [dt.date(2025, 6, 1) if i % 2 else dt.date(1990, 1, 1) for i in range(25)]
    model, point, params = _random_point(inputs)
    logp = model.compile_logp(vars=[model["y_history"]], sum=False, jacobian=False)
    pymc_cells = np.asarray(logp(point)[0])
    ont = inputs.ontology
    ep, resp, mask, y, _ = observed_cells(ont, inputs.episodes.outcomes)
    acts = [ont.action_ids.index(a) for a in inputs.episodes.table["action_type"]]
    f = point["episode_factor"]
    ds = xr.Dataset({k: (tuple(f"d{k}{i}" for i in range(np.ndim(v))), np.asarray(v)) for k, v in params.items()})
    ds = ds.expand_dims(chain=1, draw=1)
    eta_all = episode_eta(ds, ont, inputs.episodes, inputs.hyper, inputs.as_of)[0, 0]
    ours = np.empty(len(y))
    for e in range(len(acts)):
        sel = ep == e
        eta = eta_all[e]
        lp = cell_logp_given_factor(eta, params["loading"], np.array([f[e]]), resp[sel], mask[sel],
                                    chain_index(ont))[0]
        ours[sel] = np.where(y[sel] == 1, lp, np.log1p(-np.exp(lp)))
    assert mask.any(), "the synthetic log must hold a cell whose threat is uncoded"
    np.testing.assert_allclose(ours, pymc_cells, atol=1e-8)


def test_factor_integral_matches_monte_carlo():
    inputs = simulate_inputs(n_episodes=6, seed=12)
    _, _, params = _random_point(inputs, seed=4)
    # one draw, one chain, as stored posterior groups are laid out
    ds = xr.Dataset({k: (("chain", "draw", *[f"d{k}{i}" for i in range(np.ndim(v))]), np.asarray(v)[None, None])
                     for k, v in params.items() if k in ("alpha", "beta", "delta", "loading")})
    tree = xr.DataTree.from_dict({"posterior": ds})
    ll = episode_loglik(tree, inputs.ontology, inputs.episodes).values[0, 0]
    ont = inputs.ontology
    ep, resp, mask, y, _ = observed_cells(ont, inputs.episodes.outcomes)
    X = ont.covariates(inputs.episodes.table)
    acts = [ont.action_ids.index(a) for a in inputs.episodes.table["action_type"]]
    # reference: a dense grid over the factor's N(0, 1) (deterministic; no Monte Carlo error)
    f = np.linspace(-9, 9, 36001)
    dens = np.exp(-0.5 * f**2) / np.sqrt(2 * np.pi) * (f[1] - f[0])
    for e in range(len(acts)):
        sel = ep == e
        eta = params["alpha"] + X[e] @ params["beta"] + params["delta"][acts[e]]
        lp = cell_logp_given_factor(eta, params["loading"], f, resp[sel], mask[sel], chain_index(ont))
        lik = (np.exp(np.where(y[sel] == 1, lp, np.log1p(-np.exp(lp))).sum(axis=-1)) * dens).sum()
        assert abs(np.exp(ll[e]) / lik - 1) < 0.01, (e, np.exp(ll[e]), lik, N_NODES)
