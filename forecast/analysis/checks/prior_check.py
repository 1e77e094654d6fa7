"""Prior predictive check against the article: does the article-only fit honour what the article says?

The article-only fit (``idata["prior"]``: hyperpriors and the article's claims, no history, polls or
evidence) is evaluated at the article's reference opinion, the scale the claims speak on. For every
cell claim: the implied distribution of P(response | action) next to the claim's elicited Beta (its
90% central interval); flagged when the prior's mean lies outside that interval. For every ordering
claim: the prior probability that each step holds. For every effect claim: the shared slope ``g``
against its elicited Normal. For every cell no claim speaks about (neither a cell nor an ordering
claim): flagged when the prior mean is > 0.5 or < 0.02, with the parts of the linear predictor
(intercept, covariates x slopes, cell deviation) so the reader sees which part of the model drives it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy.stats import beta as beta_dist
from scipy.stats import norm

from forecast.model import terms as T
from forecast.model.build import LOADING

HIGH, LOW = 0.5, 0.02


def reference_parts(ds: xr.Dataset, ont, hyper) -> dict[str, np.ndarray]:
    """Linear-predictor parts and P(r | a) at the reference opinion: arrays (chain, draw, A, R)."""
    parts = T.linear_predictor(ds, ont.covariates(ont.actions), np.arange(len(ont.action_ids)))
    p = T.p_marginal(sum(parts.values()), ds[LOADING].values, ont, hyper)
    return {"p": p, **parts}


def prior_check(idata: xr.DataTree, ont, hyper, claims: list, group: str = "prior") -> dict[str, Any]:
    ds = idata[group].to_dataset()
    parts = reference_parts(ds, ont, hyper)
    p = parts["p"]
    acts, resps = ont.action_ids, ont.response_ids
    claim_rows, order_rows, effect_rows = [], [], []
    spoken = set()
    for c in claims:
        if c.kind == "cell":
            a_, b_ = c.dist["alpha"], c.dist["beta"]
            lo, hi = beta_dist.ppf([0.05, 0.95], a_, b_)
            for a in c.actions:
                spoken.add((a, c.response))
                draws = p[:, :, acts.index(a), resps.index(c.response)].ravel()
                m = float(draws.mean())
                q5, q95 = np.quantile(draws, [0.05, 0.95])
                claim_rows.append({"claim": c.name, "id": c.id, "action": a, "response": c.response,
                                   "elicited_mean": a_ / (a_ + b_), "elicited_low": float(lo),
                                   "elicited_high": float(hi),
                                   "prior_mean": m, "prior_low": float(q5), "prior_high": float(q95),
                                   "flag": bool(m < lo or m > hi)})
        elif c.kind == "ordering":
            for (a1, r1), (a2, r2) in zip(c.cells[:-1], c.cells[1:], strict=True):
                spoken |= {(a1, r1), (a2, r2)}
                hi_p = p[:, :, acts.index(a2), resps.index(r2)]
                holds = float((hi_p > p[:, :, acts.index(a1), resps.index(r1)]).mean())
                order_rows.append({"claim": c.name, "id": c.id, "lower": f"{a1}:{r1}", "higher": f"{a2}:{r2}",
                                   "p_holds": holds, "flag": bool(holds < 0.5)})
        elif c.kind == "effect" and "g" in ds:
            k = ont.covariate_names.index(c.covariate)
            g = ds["g"].values[..., k].ravel()
            mu, sd = c.dist["mu"], c.dist["sigma"]
            lo, hi = norm.ppf([0.05, 0.95], mu, sd)
            effect_rows.append({"claim": c.name, "id": c.id, "covariate": c.covariate, "elicited_low": float(lo),
                                "elicited_high": float(hi), "prior_mean": float(g.mean()),
                                "flag": bool(not lo <= g.mean() <= hi)})
    unclaimed = []
    mean_p = p.mean(axis=(0, 1))
    for i, a in enumerate(acts):
        for j, r in enumerate(resps):
            if (a, r) in spoken:
                continue
            m = float(mean_p[i, j])
            if m > HIGH or m < LOW:
                comp = {k: float(parts[k][:, :, i, j].mean()) for k in ("alpha", "xbeta", "delta")}
                driver = max(comp, key=lambda k: abs(comp[k]))
                unclaimed.append({"action": a, "response": r, "prior_mean": m, **comp,
                                  "driver": {"alpha": "the response's intercept (pooled within its domain)",
                                             "xbeta": "the action's covariates times the slopes",
                                             "delta": "the action x response cell deviation"}[driver],
                                  "escalation_rank": int(ont.responses.at[r, "escalation_rank"])
                                  if "escalation_rank" in ont.responses else None,
                                  "domain": str(ont.responses.at[r, "domain"])})
    return {"claims": pd.DataFrame(claim_rows), "orderings": pd.DataFrame(order_rows),
            "effects": pd.DataFrame(effect_rows), "unclaimed": pd.DataFrame(unclaimed),
            "n_cells": len(acts) * len(resps), "n_unclaimed": len(acts) * len(resps) - len(spoken)}
