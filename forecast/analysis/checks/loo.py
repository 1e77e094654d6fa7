"""PSIS-LOO over episodes: all coded cells of one episode left out together (arviz-stats ``loo`` on
the per-episode log-likelihood with the episode's factor integrated out). Pareto k > 0.7 names an
influential episode whose leave-out estimate is unreliable. An episode without a coded cell in the
likelihood is left out (its elpd is 0) and listed.

From the same importance weights: each coded cell's leave-one-episode-out predictive probability (the
posterior without the cell's episode, so the cell's own outcome has not moved it), whose reliability bins
(CORP/PAV) and Spiegelhalter z are the out-of-sample calibration of the published model; and the elpd of the
same-action base rate left out the same way, paired per episode with the model's."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from forecast.model.likelihood import cell_probabilities, episode_loglik

K_BAD = 0.7


def episode_tree(idata: xr.DataTree, ont, episodes, ll: xr.DataArray | None = None,
                 hyper: dict | None = None) -> xr.DataTree:
    ll = episode_loglik(idata, ont, episodes, hyper=hyper) if ll is None else ll
    post = idata["posterior"].to_dataset()
    return xr.DataTree.from_dict({"posterior": post, "log_likelihood": xr.Dataset({"episodes": ll})})


def loo_episodes(idata: xr.DataTree, ont, episodes, ll: xr.DataArray | None = None,
                 hyper: dict | None = None, keep_weights: bool = False) -> dict[str, Any]:
    """elpd, SE, p_loo, Pareto k per episode. ``keep_weights``: also the PSIS log weights of each episode left
    out (``"log_weights"``: (episode, chain, draw), uniform for an episode without a coded cell)."""
    import warnings

    from arviz_stats import loo

    ll = episode_loglik(idata, ont, episodes, hyper=hyper) if ll is None else ll
    # an episode with no coded cell in the likelihood (its log-likelihood is 0 at every draw) predicts nothing:
    # its elpd is 0 and its importance weights are flat, which PSIS cannot smooth ("all tail values are the same")
    empty = [str(e) for e in ll["episode"].values if not np.any(ll.sel(episode=e).values)]
    full = ll
    if empty:
        ll = ll.sel(episode=[e for e in ll["episode"].values if str(e) not in empty])
    tree = episode_tree(idata, ont, episodes, ll, hyper)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        res = loo(tree, pointwise=True, var_name="episodes")
    k = res.pareto_k.values
    ids = list(res.pareto_k["episode"].values)
    per = [{"episode": str(e), "elpd_i": float(v), "pareto_k": float(kk)}
           for e, v, kk in zip(ids, res.elpd_i.values, k, strict=True)]
    out = {"elpd": float(res.elpd), "se": float(res.se), "p_loo": float(res.p), "n": len(ids),
           "per_episode": per, "influential": [p["episode"] for p in per if p["pareto_k"] > K_BAD],
           "max_k": float(np.max(k)) if len(k) else None, "no_coded_cell": empty}
    if keep_weights:
        n_draws = full.sizes["chain"] * full.sizes["draw"]
        lw = xr.full_like(full, -np.log(n_draws)).transpose("episode", "chain", "draw").copy()
        lw.loc[{"episode": ids}] = res.log_weights.transpose("episode", "chain", "draw").values
        out["log_weights"] = lw
    return out


def loo_cell_probabilities(idata: xr.DataTree, ont, episodes, log_weights: xr.DataArray,
                           hyper: dict | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Each coded cell's leave-one-episode-out predictive probability: its probability per draw (the episode's
    factor integrated out) weighted by the PSIS weights of its episode left out. Returns (p, y, cell names)."""
    cp, y, names = cell_probabilities(idata, ont, episodes, hyper=hyper)
    ep_of = [n.split(":", 1)[0] for n in names]
    lw = log_weights.sel(episode=ep_of).transpose("episode", "chain", "draw").values  # (cell, chain, draw)
    lw = lw - lw.max(axis=(1, 2), keepdims=True)
    w = np.exp(lw)
    w = w / w.sum(axis=(1, 2), keepdims=True)
    return np.einsum("ncd,cdn->n", w, cp.values), np.asarray(y, dtype=float), list(names)


def loo_base_rates(cells: pd.DataFrame) -> np.ndarray:
    """The same-action base rate (the back-test's comparator b) of every cell from all OTHER episodes (leave one
    episode out): Laplace (k + 1) / (n + 2) over cells of the same response and kind (conditional on a coded
    threat or not) in episodes of the same action type, else over all other episodes (comparator a)."""
    out = np.empty(len(cells))
    for i, row in enumerate(cells.itertuples()):
        other = cells[(cells["episode_pos"] != row.episode_pos) & (cells["response"] == row.response)
                      & (cells["conditional"] == row.conditional)]
        same = other[other["action_type"] == row.action_type]
        use = same if len(same) else other
        out[i] = (use["y"].sum() + 1) / (len(use) + 2)
    return out


def base_rate_elpd(ont, episodes) -> pd.Series:
    """Per episode: the sum over its coded cells of log p(y) under the leave-one-episode-out same-action base rate."""
    from forecast.analysis.checks.backtest import cell_table

    cells = cell_table(ont, episodes)
    p = loo_base_rates(cells)
    lp = np.where(cells["y"] == 1, np.log(p), np.log1p(-p))
    s = pd.Series(lp, index=cells.index).groupby(cells["episode"]).sum()
    s.index = s.index.astype(str)
    return s.reindex([str(i) for i in episodes.table.index]).fillna(0.0)


def paired(a, b) -> dict[str, float]:
    """sum(a - b) over paired units (episodes) with its standard error sqrt(n var(a - b)) (Vehtari, Gelman &
    Gabry 2017, the SE of an elpd difference)."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    return {"elpd_diff": float(d.sum()), "se": float(np.sqrt(len(d) * d.var(ddof=1))) if len(d) > 1 else None,
            "n_episodes": int(len(d))}


def vs_base_rate(lo: dict[str, Any], ont, episodes) -> dict[str, Any]:
    """The model's LOO elpd minus the leave-one-episode-out same-action base rate's, paired per episode (the
    episodes ``loo_episodes`` scored)."""
    base = base_rate_elpd(ont, episodes)
    ids = [p["episode"] for p in lo["per_episode"]]
    out = paired([p["elpd_i"] for p in lo["per_episode"]], base.loc[ids].values)
    return {**out, "base_rate_action_elpd": float(base.loc[ids].sum())}


def loo_calibration(idata: xr.DataTree, ont, episodes, log_weights: xr.DataArray,
                    hyper: dict | None = None) -> dict[str, Any]:
    """Out-of-sample calibration of the coded cells: reliability bins (CORP/PAV, with counts), Murphy
    decomposition and Spiegelhalter z of the leave-one-episode-out probabilities, on every cell and without the
    cells of a response whose coding restates an action attribute (responses.csv ``coded_from``)."""
    from forecast.analysis.checks.scores import murphy, reliability_bins, spiegelhalter

    p, y, names = loo_cell_probabilities(idata, ont, episodes, log_weights, hyper)
    coded = {r for r in ont.response_ids if "coded_from" in ont.responses and ont.responses.at[r, "coded_from"]}
    restating = np.array([n.split(":", 1)[1] in coded for n in names], dtype=bool)
    out: dict[str, Any] = {"restating_responses": sorted(coded)}
    for key, keep in (("all", np.ones(len(y), dtype=bool)), ("without_restating", ~restating)):
        if not keep.any():
            out[key] = None
            continue
        out[key] = {"n_cells": int(keep.sum()), "spiegelhalter": spiegelhalter(y[keep], p[keep]),
                    "murphy": murphy(y[keep], p[keep]), "reliability_bins": reliability_bins(y[keep], p[keep])}
    out["cells"] = pd.DataFrame({"cell": names, "y": y, "p_loo": p, "restating": restating})
    return out
