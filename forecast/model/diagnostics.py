"""Convergence diagnostics of a fit, and the gates they are held to.

The gates (R-hat, bulk ESS, divergences, BFMI) are set in one place, ``conf/report`` (``report.max_rhat``,
``report.min_ess_bulk``, ``report.max_divergences``, ``report.min_bfmi``): a report that misses one is marked
untrustworthy, and a first batch of draws (``sampler.first_draws``) that misses the R-hat or bulk-ESS gate is
extended to the configured draws (``forecast.model.sampling``). Gated quantities are what the reports forecast:
the response probabilities and the latent public opinion and its effect.

ESS, R-hat, MCSE and BFMI come from arviz-stats (``import arviz_stats as az``): ``arviz`` re-exports these very
functions, and importing it also loads arviz-plots and its plotting stack (about 2 s a process).
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np
import xarray as xr

from forecast.model.build import KAPPA, THETA, P

GATED = (P, THETA, KAPPA)
GATE_KEYS = ("max_rhat", "min_ess_bulk", "max_divergences", "min_bfmi")


def gates(cfg) -> dict[str, Any]:
    """The diagnostics' gates a configuration sets (``conf/report``)."""
    return {k: cfg.report[k] for k in GATE_KEYS}


def first_batch_targets(cfg) -> dict[str, float] | None:
    """The gates a first batch of draws must meet (R-hat and bulk ESS of the gated quantities), else all the
    configured draws are sampled; None when the configured sampler draws no first batch."""
    if first_batch(cfg.sampler, {}) is None:
        return None
    return {"max_rhat": float(cfg.report.max_rhat), "min_ess_bulk": float(cfg.report.min_ess_bulk)}


def first_batch(sampler: dict[str, Any], targets: dict[str, float] | None) -> int | None:
    """The draws of a first batch (``sampler.first_draws``), or None (all draws at once): a first batch needs
    the gates it is held to."""
    first = sampler.get("first_draws")
    return int(first) if first and targets is not None and first < sampler["draws"] else None


CHECKED = "forecast_first_batch_check"  # the check's figures, kept on the draws they describe (``convergence``)


def missed_targets(tree: xr.DataTree, targets: dict[str, float]) -> str:
    """'' when the gated quantities of ``tree``'s posterior meet R-hat <= ``max_rhat`` and bulk ESS >=
    ``min_ess_bulk``; else which target they missed. Each quantity's worst R-hat and bulk ESS are kept in the tree's
    attributes (``CHECKED``): the fit's ``convergence`` of these very draws reads them, not computing them again."""
    import arviz_stats as az

    ds = tree["posterior"].to_dataset()
    ds = ds[[v for v in GATED if v in ds]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        # each computed once for every gated quantity (inside the generators they were computed once per quantity:
        # three times the work, on the critical path of every fit, between its sampling and its report)
        r, e = az.rhat(ds), az.ess(ds, method="bulk")
        figures = {v: (float(np.nanmax(r[v])), float(np.nanmin(e[v]))) for v in ds.data_vars}
    tree.attrs[CHECKED] = figures
    rhat = max(f[0] for f in figures.values())
    ess = min(f[1] for f in figures.values())
    out = []
    if not rhat <= targets["max_rhat"]:
        out.append(f"R-hat {rhat:.3f} > {targets['max_rhat']:g}")
    if not ess >= targets["min_ess_bulk"]:
        out.append(f"bulk ESS {ess:.0f} < {targets['min_ess_bulk']:g}")
    return ", ".join(out)


def convergence(idata: xr.DataTree, group: str = "posterior",
                known: dict[str, tuple[float, float]] | None = None) -> dict[str, Any]:
    """R-hat and bulk ESS of what the reports forecast (the response probabilities and the latent
    public-opinion drivers), divergences and BFMI; plus the worst R-hat over every stored parameter,
    the hierarchy's scales included (informational: a slowly mixing scale shows there first). ``known``: the worst
    R-hat and bulk ESS of gated quantities of these very draws (the first batch's check, ``CHECKED``), not computed
    again."""
    import arviz_stats as az

    post = idata[group].to_dataset()
    stats = idata["sample_stats" if group == "posterior" else "prior_sample_stats"].to_dataset()
    # a quantity constant across draws (e.g. the house effect of a single pollster, which sums to
    # zero) has no R-hat: it is left out rather than turning the maximum into NaN
    post = post[[v for v in post.data_vars if float(post[v].std(("chain", "draw")).max()) > 0]]
    known = {v: f for v, f in (known or {}).items() if v in post and v in GATED}
    gated = [v for v in GATED if v in post]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rest = [v for v in post.data_vars if v not in known]
        rhat = az.rhat(post[rest]) if rest else None
        fresh = [v for v in gated if v not in known]
        ess = az.ess(post[fresh], method="bulk") if fresh else None
    worst_rhat = {v: known[v][0] if v in known else float(np.nanmax(rhat[v])) for v in post.data_vars}
    min_ess = {v: known[v][1] if v in known else float(np.nanmin(ess[v])) for v in gated}
    worst = max(post.data_vars, key=lambda v: worst_rhat[v])
    return {
        "max_rhat": max(worst_rhat[v] for v in gated),
        "min_ess_bulk": min(min_ess[v] for v in gated),
        "max_rhat_all": worst_rhat[worst],
        "max_rhat_all_variable": worst,
        "divergences": int(stats["diverging"].sum()) if "diverging" in stats else 0,
        "min_bfmi": _bfmi(stats),
        "chains": int(post.sizes["chain"]),
        "draws": int(post.sizes["draw"]),
    }


def diagnostics(idata: xr.DataTree, thresholds: dict[str, float], group: str = "posterior") -> dict[str, Any]:
    """Convergence figures (computed once at fit time and cached) checked against the gates."""
    raw = idata.attrs.get(f"diagnostics_{group}")
    d = json.loads(raw) if raw else convergence(idata, group)
    d["ok"] = bool(d["max_rhat"] <= thresholds["max_rhat"] and d["min_ess_bulk"] >= thresholds["min_ess_bulk"]
                   and d["divergences"] <= thresholds["max_divergences"]
                   and (d["min_bfmi"] is None or d["min_bfmi"] >= thresholds["min_bfmi"]))
    return d


def _bfmi(stats: xr.Dataset) -> float | None:
    """The smallest per-chain energy BFMI (ArviZ's ``bfmi``)."""
    import arviz_stats as az

    if "energy" not in stats:
        return None
    out = az.bfmi(xr.DataTree.from_dict({"sample_stats": stats[["energy"]]}))
    return float(np.min(out["energy"].values))
