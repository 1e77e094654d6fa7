"""How far the published probabilities rest on the opinion assumed for episodes before the poll window.

The model fits episodes older than the poll window at the article's reference opinion (no poll measures the
opinion of 1914-2024: ``model.era_opinion=reference``). This check moves that opinion to each end of a band and
reweights the posterior's draws by the ratio of those episodes' likelihoods at the new opinion and at the
reference (Pareto-smoothed importance sampling, ``forecast.model.psis``; the other terms do not change), then
reports how far each published probability moves. The band is the 90% range of the era opinion's former prior,
logit-normal around the reference with sd ``model.sigma_opinion_past`` (0.44-0.95 at the defaults). Only episodes
the polls are about (``opinion_levels``) carry the opinion at all.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from forecast.inputs.data import Episodes
from forecast.inputs.schema import switch
from forecast.model import terms as T
from forecast.model.build import LOADING
from forecast.model.psis import psis_weights

Z90 = 1.6448536269514722


def era_band(idata: xr.DataTree, inputs, p: xr.DataArray) -> dict[str, Any]:
    """``p``: the published probabilities per draw (chain, draw, scenario, response). Returns the band, and per
    end of it the Pareto k, the effective draws and the largest move of a published probability (with where)."""
    h = inputs.hyper
    if switch(h, "era_opinion") != "reference" or switch(h, "episode_opinion") == "reference":
        return {"applies": False, "why": "the episodes before the poll window are not fitted at the reference opinion"}
    eps = inputs.episodes
    old = ~T.in_window(eps.table["date"], inputs.as_of, h)
    scope = T.opinion_scope(inputs.ontology, eps.table, h).astype(bool)
    sel = old & scope & eps.outcomes.notna().any(axis=1).to_numpy()
    if not sel.any():
        return {"applies": False, "why": "no episode before the poll window carries the opinion"}
    sub = Episodes(eps.table[sel], eps.outcomes[sel])
    ds = idata["posterior"].to_dataset()
    ont = inputs.ontology
    ref = float(T.logit_reference(h))
    sd = float(h.get("sigma_opinion_past", 1.0))
    at_ref = T.episode_loglik_eta(T.eta_episodes(ds, ont, sub, h, inputs.as_of), ds[LOADING].values, ont,
                                  sub.outcomes).sum(axis=-1)
    base = p.mean(("chain", "draw"))
    ends = []
    for z in (-Z90, Z90):
        past = ref + z * sd
        ll = T.episode_loglik_eta(T.eta_episodes(ds, ont, sub, h, inputs.as_of, past=past), ds[LOADING].values, ont,
                                  sub.outcomes).sum(axis=-1)
        w = psis_weights(ll - at_ref)
        end = {"opinion": float(1 / (1 + np.exp(-past))), "pareto_k": w.k, "ess": w.ess, "reliable": w.reliable}
        if w.k == np.inf:
            # k = inf: a log ratio not finite (NaN in a draw) or a tail no Pareto fits; the weights then drop those
            # draws and the reweighted probabilities are no estimate at all: no move is reported from them (a finite
            # k > 0.7 is an estimate the sentence marks unreliable; a constant ratio's k = -inf, uniform weights)
            ends.append({**end, "max_abs_change": None, "where": None, "where_label": None, "change": None})
            continue
        moved = (p * xr.DataArray(w.w, dims=("chain", "draw"))).sum(("chain", "draw")) - base
        flat = moved.stack(cell=("scenario", "response"))
        i = int(np.argmax(np.abs(flat.values)))
        ends.append({**end, "max_abs_change": float(np.abs(flat.values[i])),
                     "where": [str(flat["scenario"].values[i]), str(flat["response"].values[i])],
                     "where_label": str(ont.responses["label"].get(str(flat["response"].values[i]),
                                                                 flat["response"].values[i])),
                     "change": {str(s): {str(r): round(float(moved.sel(scenario=s, response=r)), 4)
                                         for r in moved["response"].values} for s in moved["scenario"].values}})
    return {"applies": True, "reference": float(h["opinion_reference"]), "episodes": [str(e) for e in sub.table.index],
            "band": [ends[0]["opinion"], ends[1]["opinion"]], "ends": ends,
            "max_abs_change": max((e["max_abs_change"] for e in ends if e["max_abs_change"] is not None),
                                  default=None)}


def summary_line(r: dict[str, Any]) -> str:
    """One sentence for the checks and the reports."""
    if not r.get("applies"):
        return ""
    lo, hi = r["ends"]
    unreliable = [e for e in r["ends"] if not e["reliable"] and e["max_abs_change"] is not None]
    note = (f" (the reweighting is unreliable at {', '.join(f'{e['opinion']:.0%}' for e in unreliable)}: Pareto k "
            f"above 0.7)" if unreliable else "")

    def move(e: dict[str, Any]) -> str:  # the response by its label, in the scenario named by its id
        if e["max_abs_change"] is None:
            return "by an amount the reweighting cannot tell (its log ratio is not finite: Pareto k infinite)"
        return (f"by at most {e['max_abs_change']:.3f} ({e.get('where_label') or e['where'][1]}, scenario "
                f"{e['where'][0]})")

    return (f"The {len(r['episodes'])} episode(s) before the poll window that the polls are about are fitted at the "
            f"article's {r['reference']:.0%} opposed, an assumption: at {lo['opinion']:.0%} instead a published "
            f"probability would move {move(lo)}, at {hi['opinion']:.0%} {move(hi)}{note}.")
