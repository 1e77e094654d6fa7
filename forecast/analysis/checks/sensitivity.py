"""Prior sensitivity by power-scaling (Kallioinen et al. 2024; arviz-stats ``psense_summary``).

The article's claims enter the model as pseudo-observations (``claim_obs``, ``order_obs``) and proper
priors (effect slopes, the latent opinion drivers). Here they are the "prior": each claim's
log-density term is recomputed on the stored posterior draws (the model's own formulas: Normal on
the cell's logit at the reference opinion, Bernoulli(sigmoid(k * diff)) per ordering step, the
Normal/Beta/HalfNormal of effect and latent claims). The hierarchy's weakly-informative hyperpriors
are not power-scaled (their non-centred parameters are not stored). The "likelihood" is the history
(each episode's log-likelihood, its factor integrated out) and the polls.

Per response probability of a scenario: prior and likelihood sensitivity and arviz-stats' diagnosis
("potential strong prior / weak likelihood", "potential prior-data conflict", or none); then each
claim's term power-scaled on its own, and the three claims each response depends on most.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from forecast.model import terms as T
from forecast.model.build import THETA
from forecast.model.likelihood import episode_loglik


def claim_terms(ds: xr.Dataset, ont, hyper, claims: list) -> dict[str, np.ndarray]:
    """Each used claim's log-density term per draw, by the model's own terms: {claim name: (chain, draw)}."""
    T.require_supported(hyper)
    lp = T.logit_p_actions(ds, ont, hyper, current_opinion=False)
    return {c.name: T.claim_loglik(ds, lp, ont, hyper, c) for c in claims if not getattr(c, "unused", None)}


def sensitivity_tree(idata: xr.DataTree, inputs, p_scenario: xr.DataArray,
                     ep_ll: xr.DataArray | None = None) -> tuple[xr.DataTree, list[str]]:
    ds = idata["posterior"].to_dataset()
    terms = claim_terms(ds, inputs.ontology, inputs.hyper, inputs.claims)
    dims = ("chain", "draw")
    coords = {"chain": ds["chain"].values, "draw": ds["draw"].values}
    log_prior = xr.Dataset({k: (dims, np.asarray(v, dtype=float)) for k, v in terms.items()}, coords=coords)
    if ep_ll is None:
        ep_ll = episode_loglik(idata, inputs.ontology, inputs.episodes, hyper=inputs.hyper)
    like = {"history": ep_ll.sum("episode")}
    polls = inputs.polls[inputs.polls["use"] == "likelihood"] if len(inputs.polls) else inputs.polls
    if len(polls) and THETA in ds:
        house, pollsters = T.stored_house(ds)
        total = T.poll_loglik(ds[THETA].values, house, pollsters, polls, inputs.hyper)
        like["polls"] = xr.DataArray(total, dims=dims, coords=coords)
    log_lik = xr.Dataset(like)
    post = xr.Dataset({"p": p_scenario})
    tree = xr.DataTree.from_dict({"posterior": post, "log_prior": log_prior, "log_likelihood": log_lik})
    return tree, list(terms)


def sensitivity(idata: xr.DataTree, inputs, p: xr.DataArray, top: int = 3,
                ep_ll: xr.DataArray | None = None) -> dict[str, Any]:
    """``p``: (chain, draw, scenario, response). Returns per scenario: the psense summary (DataFrame by
    response), each claim's own sensitivity (response x claim) and the ``top`` claims per response."""
    import logging

    from arviz_stats import psense, psense_summary

    logging.getLogger("arviz_stats").setLevel(logging.ERROR)
    tree, names = sensitivity_tree(idata, inputs, p, ep_ll)
    summ = psense_summary(tree, var_names=["p"])
    per_claim = {n: psense(tree, var_names=["p"], group="prior", group_var_names=[n])["p"] for n in names}
    out = {}
    for scen in p["scenario"].values:
        rows = {}
        for r in p["response"].values:
            key = f"p[{scen}, {r}]"
            rows[str(r)] = summ.loc[key]
        sdf = pd.DataFrame(rows).T
        claims_df = pd.DataFrame({n: pd.Series(v.sel(scenario=scen).values,
                                               index=[str(x) for x in v["response"].values])
                                  for n, v in per_claim.items()})
        tops = {r: [(c, float(claims_df.at[r, c])) for c in claims_df.loc[r].sort_values(ascending=False).index[:top]]
                for r in claims_df.index}
        out[str(scen)] = {"summary": sdf, "per_claim": claims_df, "top_claims": tops,
                          "flags": {r: sdf.at[r, "diagnosis"] for r in sdf.index if sdf.at[r, "diagnosis"] != "✓"}}
    return out
