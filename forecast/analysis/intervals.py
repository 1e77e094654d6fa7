"""What sets the width of each response's interval in a scenario: the data behind it and the model's parts.

Per response, from the stored draws (no refit):

- ``cells``/``events``: the coded cells of the record (after restatements and left-out cells) for the scenario's
  action type, and how many of them happened; ``cells_all``: for the response over every action type;
- ``sd_prior``/``sd_post``: the sd of logit P(r | scenario) under the article-only prior (claims and hierarchy)
  and the posterior (with the record, polls and evidence); ``record_share`` = 1 - Var_post / Var_prior, the
  part of the article-only prior's variance the record removed (negative: the record widened it);
- ``parts``: the posterior variance of the linear predictor eta = alpha[r] + x . beta[:, r] + delta[a, r] +
  opinion shift split by part, Cov(part, eta) / Var(eta): ``intercept`` (pooled over actions), ``slopes``
  (shared with every action through the attributes), ``cell`` (this action type alone) and ``opinion``.

A narrow interval on few coded cells is then visibly borrowed: from the slopes (other actions) or the intercept
(other responses), or pushed against 0 or 1 by a large |eta| (``eta_mean``: the sigmoid flattens there).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from forecast.model import terms as T
from forecast.model.build import observed_cells

PARTS = ("intercept", "slopes", "cell", "opinion")


def _wvar(x: np.ndarray, w: np.ndarray) -> float:
    m = float(np.sum(w * x))
    return float(np.sum(w * (x - m) ** 2))


def _wcov(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    return float(np.sum(w * (x - np.sum(w * x)) * (y - np.sum(w * y))))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return np.log(p) - np.log1p(-p)


def drivers(ds: xr.Dataset, inputs, action: str, profile: dict[str, Any], p_post: np.ndarray,
            p_prior: np.ndarray | None, weights: np.ndarray | None = None,
            prior_weights: np.ndarray | None = None) -> list[dict[str, Any]]:
    """One row per response (ontology order). ``ds``: the posterior draws; ``p_post``/``p_prior``: P(r | scenario)
    per draw (chain, draw, R) of the posterior and of the article-only prior; ``weights``: PSIS weights of the
    posterior's draws (None: equal)."""
    ont, hyper = inputs.ontology, inputs.hyper
    R = len(ont.response_ids)
    w = np.full(p_post.shape[0] * p_post.shape[1], 1.0 / (p_post.shape[0] * p_post.shape[1])) if weights is None \
        else np.asarray(weights, dtype=float).ravel() / np.sum(weights)
    X = ont.covariates(pd.DataFrame.from_records([profile], columns=list(ont.attributes)))
    parts = T.linear_predictor(ds, X, [ont.action_ids.index(action)])
    alpha, slopes, cell = (parts[k].reshape(-1, R) for k in ("alpha", "xbeta", "delta"))
    eta = T.eta_profiles(ds, ont, hyper, [profile], [action]).reshape(-1, R)
    opinion = eta - alpha - slopes - cell
    lpost = _logit(np.asarray(p_post).reshape(-1, R))
    lprior = None if p_prior is None else _logit(np.asarray(p_prior).reshape(-1, R))
    wp = None
    if lprior is not None:
        wp = (np.full(lprior.shape[0], 1.0 / lprior.shape[0]) if prior_weights is None
              else np.asarray(prior_weights, dtype=float).ravel() / np.sum(prior_weights))
    ep, resp, _, y, _ = observed_cells(ont, inputs.episodes.outcomes)
    same = (inputs.episodes.table["action_type"].to_numpy() == action)[ep] if len(ep) else np.zeros(0, dtype=bool)
    rows = []
    for j, r in enumerate(ont.response_ids):
        var_eta = _wvar(eta[:, j], w)
        parts = {name: (_wcov(x[:, j], eta[:, j], w) / var_eta if var_eta > 0 else 0.0)
                 for name, x in zip(PARTS, (alpha, slopes, cell, opinion), strict=True)}
        v_post = _wvar(lpost[:, j], w)
        v_prior = _wvar(lprior[:, j], wp) if lprior is not None else None
        rows.append({
            "response": r, "cells": int(np.sum(same & (resp == j))), "events": int(np.sum(y[same & (resp == j)])),
            "cells_all": int(np.sum(resp == j)), "eta_mean": float(np.sum(w * eta[:, j])),
            "sd_post": float(np.sqrt(v_post)), "sd_prior": None if v_prior is None else float(np.sqrt(v_prior)),
            "record_share": None if not v_prior else float(1.0 - v_post / v_prior),
            "parts": {k: round(float(v), 3) for k, v in parts.items()},
        })
    return rows
