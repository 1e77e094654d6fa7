"""PSIS-LOO over episodes: all coded cells of one episode left out together (arviz-stats ``loo`` on
the per-episode log-likelihood with the episode's factor integrated out). Pareto k > 0.7 names an
influential episode whose leave-out estimate is unreliable. An episode without a coded cell in the
likelihood is left out (its elpd is 0) and listed."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from forecast.model.likelihood import episode_loglik

K_BAD = 0.7


def episode_tree(idata: xr.DataTree, ont, episodes, ll: xr.DataArray | None = None,
                 hyper: dict | None = None) -> xr.DataTree:
    ll = episode_loglik(idata, ont, episodes, hyper=hyper) if ll is None else ll
    post = idata["posterior"].to_dataset()
    return xr.DataTree.from_dict({"posterior": post, "log_likelihood": xr.Dataset({"episodes": ll})})


def loo_episodes(idata: xr.DataTree, ont, episodes, ll: xr.DataArray | None = None,
                 hyper: dict | None = None) -> dict[str, Any]:
    import warnings

    from arviz_stats import loo

    ll = episode_loglik(idata, ont, episodes, hyper=hyper) if ll is None else ll
    # an episode with no coded cell in the likelihood (its log-likelihood is 0 at every draw) predicts nothing:
    # its elpd is 0 and its importance weights are flat, which PSIS cannot smooth ("all tail values are the same")
    empty = [str(e) for e in ll["episode"].values if not np.any(ll.sel(episode=e).values)]
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
    return {"elpd": float(res.elpd), "se": float(res.se), "p_loo": float(res.p), "n": len(ids),
            "per_episode": per, "influential": [p["episode"] for p in per if p["pareto_k"] > K_BAD],
            "max_k": float(np.max(k)) if len(k) else None, "no_coded_cell": empty}
