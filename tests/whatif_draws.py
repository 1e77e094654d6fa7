"""Posterior draws for the what-if tests without MCMC: seeded random parameters of the real or the synthetic
ontology, turned into the report's ``Draws`` by the code the report uses (``build_draws``)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import xarray as xr

from forecast.analysis import whatif as W
from forecast.inputs.data import STANCES, episodes_from_records
from forecast.model.build import ALPHA, BETA, DELTA, KAPPA, LOADING, THETA
from forecast.model.fit import Fit
from forecast.model.predict import predict


def fake_fit(inputs, *, chains: int = 4, draws: int = 1000, seed: int = 0, pollsters: list[str] | None = None,
             kappa: float | None = None) -> Fit:
    """A posterior of plausible random parameters (not a fit): every variable the what-if reads, chains x draws;
    ``kappa``: a fixed opinion effect."""
    ont = inputs.ontology
    rng = np.random.default_rng(seed)
    R, A, K = len(ont.response_ids), len(ont.action_ids), len(ont.covariate_names)
    pollsters = sorted(set(inputs.polls["pollster"])) if pollsters is None else pollsters
    shape = (chains, draws)
    stance = np.array([STANCES[s] for s in ont.responses["stance"]], dtype=float)
    centre = rng.normal(-0.3, 1.0, R)
    ds = xr.Dataset(
        {ALPHA: (("chain", "draw", "response"), centre + rng.normal(0, 0.5, shape + (R,))),
         BETA: (("chain", "draw", "covariate", "response"), rng.normal(0, 0.3, shape + (K, R))),
         DELTA: (("chain", "draw", "action", "response"), rng.normal(0, 0.5, shape + (A, R))),
         LOADING: (("chain", "draw", "response"), stance * np.abs(rng.normal(0, 0.6, shape + (R,)))),
         THETA: (("chain", "draw"), rng.beta(14, 6, shape)),
         KAPPA: (("chain", "draw"), np.abs(rng.normal(0, 0.6, shape)) if kappa is None else np.full(shape, kappa)),
         "house": (("chain", "draw", "pollster"), rng.normal(0, 0.3, shape + (len(pollsters),)))},
        coords={"chain": np.arange(chains), "draw": np.arange(draws), "response": ont.response_ids,
                "covariate": ont.covariate_names, "action": ont.action_ids, "pollster": pollsters})
    idata = xr.DataTree.from_dict({"posterior": ds})
    return Fit(idata, "fake-posterior", False, update={"method": "fit"})


def draws_from_fit(cfg, inputs, fitted: Fit, scenario: str, *, n_draws: int = 2000,
                   command: str = "forecast") -> W.Draws:
    """The report's Draws for ``scenario`` (any action of the ontology, at its own attributes)."""
    ont = inputs.ontology
    sc = {"name": scenario, "title": f"Scenario {scenario}", "action": scenario,
          "profile": {k: ont.actions.at[scenario, k] for k in ont.attributes}}
    pred = predict(fitted.idata, ont, inputs.hyper, {scenario: sc})
    return W.build_draws(cfg, inputs, fitted, sc, pred, n_draws=n_draws, command=command, log_ratio=None)


def synthetic_draws(inputs, *, S: int = 2000, seed: int = 0, theta=None, eta=None, loading=None, house=None,
                    p=None, pollsters=("A",), base_log_ratio=None, as_of=dt.date(2026, 1, 1)) -> W.Draws:
    """Draws with chosen values (float32, as embedded) on the synthetic ontology, for answers known in closed form."""
    ont = inputs.ontology
    rng = np.random.default_rng(seed)
    R, A = len(ont.response_ids), len(ont.action_ids)
    theta = rng.beta(8, 2, S) if theta is None else theta
    eta = rng.normal(0, 1, (S, A, R)) if eta is None else eta
    loading = np.zeros((S, R)) if loading is None else loading
    house = np.zeros((S, len(pollsters))) if house is None else house
    p = 1 / (1 + np.exp(-eta[:, 0, :])) if p is None else p

    def f32(a):
        return None if a is None else np.ascontiguousarray(a, dtype=np.float32)

    return W.Draws(scenario="s", title="S", as_of=as_of, inputs_hash="h", command="forecast scenario=s", hdi_prob=0.9,
                   responses=list(ont.response_ids), labels=list(ont.responses["label"]), composites=[],
                   composite_labels=[], actions=list(ont.action_ids), action_labels=list(ont.actions["label"]),
                   pollsters=list(pollsters), total_draws=S, p=f32(p), pc=np.zeros((S, 0), np.float32),
                   theta=f32(theta), house=f32(house), eta=f32(eta), loading=f32(loading),
                   base_log_ratio=f32(base_log_ratio), update={}, consts=W.constants(inputs))


def episode_change(inputs, action: str, coded: dict[str, int], date: dt.date):
    """An evidence episode as the PSIS update machinery receives it (forecast.model.reweight.Change)."""
    from forecast.model.reweight import Change

    ont = inputs.ontology
    table = {"id": "E-x", "date": date, "action_type": action, **{k: ont.actions.at[action, k] for k in ont.attributes},
             "title": "", "sources": "", "verified": "evidence", "origin": "evidence"}
    ep = episodes_from_records([table], [{"id": "E-x", **{r: float(v) for r, v in coded.items()}}], ont)
    return Change("E-x", "episode", (ep.table, ep.outcomes))


def with_opinion_signs(inputs, signs: dict[str, int]):
    """The inputs with some responses' opinion sign set (so current and reference opinion differ)."""
    ont = inputs.ontology
    responses = ont.responses.copy()
    for r, s in signs.items():
        responses.loc[r, "opinion_sign"] = s
    return dataclasses.replace(inputs, ontology=dataclasses.replace(ont, responses=responses))
