"""PSIS-LOO over episodes: all coded cells of one episode left out together (arviz-stats ``loo`` on
the per-episode log-likelihood with the episode's factor integrated out). Pareto k > 0.7 names an
influential episode whose leave-out estimate is unreliable."""

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
            "max_k": float(np.max(k)) if len(k) else None}
