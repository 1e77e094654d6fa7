"""Posterior predictive checks on the record: per response, the observed count of coded cells that
happened against its posterior predictive distribution; LOO-PIT over every coded cell.

Replicated outcomes are drawn from each coded cell's predictive probability (its episode's factor
integrated out, ``forecast.model.likelihood.cell_probabilities``), so a response's count across
episodes is a sum of independent Bernoulli draws given the parameters. A response is flagged when its
observed count falls outside the central 90% predictive interval. LOO-PIT uses arviz-stats'
``loo_pit`` with the cell's pointwise log-likelihood (randomised for the discrete outcome)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from forecast.model.likelihood import cell_probabilities


def cell_tree(idata: xr.DataTree, ont, episodes, group: str = "posterior", seed: int = 0,
              hyper: dict | None = None) -> xr.DataTree:
    """posterior / posterior_predictive / log_likelihood / observed_data groups over the coded cells."""
    cp, y, names = cell_probabilities(idata, ont, episodes, group, hyper=hyper)
    rng = np.random.default_rng(seed)
    yrep = (rng.random(cp.shape) < cp.values).astype(float)
    p = np.clip(cp.values, 1e-12, 1 - 1e-12)
    ll = np.where(np.asarray(y) == 1, np.log(p), np.log1p(-p))
    coords = {"chain": cp["chain"].values, "draw": cp["draw"].values, "cell": names}
    dims = ("chain", "draw", "cell")
    return xr.DataTree.from_dict({
        "posterior": xr.Dataset({"cell_p": cp}),
        "posterior_predictive": xr.Dataset({"y": (dims, yrep)}, coords=coords),
        "log_likelihood": xr.Dataset({"y": (dims, ll)}, coords=coords),
        "observed_data": xr.Dataset({"y": (("cell",), np.asarray(y, dtype=float))}, coords={"cell": names}),
    })


def response_counts(tree: xr.DataTree, prob: float = 0.9) -> pd.DataFrame:
    """Per response: coded cells, observed count, predictive mean and central interval, flag."""
    yrep = tree["posterior_predictive"]["y"]
    y = tree["observed_data"]["y"]
    resp = np.array([c.split(":", 1)[1] for c in y["cell"].values])
    rows = []
    lo_q, hi_q = (1 - prob) / 2, 1 - (1 - prob) / 2
    for r in dict.fromkeys(resp):
        sel = resp == r
        rep = yrep.values[..., sel].sum(axis=-1).ravel()
        obs = float(y.values[sel].sum())
        lo, hi = np.quantile(rep, [lo_q, hi_q])
        rows.append({"response": r, "cells": int(sel.sum()), "observed": int(obs), "mean": float(rep.mean()),
                     "low": float(lo), "high": float(hi), "p_le": float((rep <= obs).mean()),
                     "flag": bool(obs < lo or obs > hi)})
    return pd.DataFrame(rows)


def loo_pit_values(tree: xr.DataTree, seed: int = 0) -> np.ndarray:
    from arviz_stats import loo_pit

    return np.asarray(loo_pit(tree, var_names=["y"], random_state=seed)["y"].values)


def ppc(idata: xr.DataTree, ont, episodes, seed: int = 0, hyper: dict | None = None) -> dict[str, Any]:
    from scipy.stats import kstest

    tree = cell_tree(idata, ont, episodes, seed=seed, hyper=hyper)
    counts = response_counts(tree)
    pit = loo_pit_values(tree, seed)
    ks = kstest(pit, "uniform")
    return {"counts": counts, "flags": list(counts.loc[counts["flag"], "response"]), "loo_pit": pit,
            "loo_pit_ks_p": float(ks.pvalue), "n_cells": int(len(pit)), "tree": tree}
