"""Summaries of posterior draws, equally or importance-weighted: the one place the tool computes a mean,
an interval, the quartiles, P(> 0.5) and a Monte Carlo standard error.

- ``mean``: the (weighted) mean over chain and draw.
- ``hdi``: the highest-density interval, the narrowest holding ``prob`` of the draws; the report's intervals
  are HDIs. Equal weights: arviz-stats' ``hdi`` (it holds floor(prob * n) + 1 draws); importance weights:
  the narrowest interval whose weights sum to at least ``prob`` (``weighted_hdi``; ties in draw order, as
  the report page's JavaScript sorts).
- ``p_above``: P(x > threshold).
- ``quantiles``: the (weighted) quantiles, e.g. each response's median and quartiles, the report's ranges (the median
  is inside every interval of mass 0.9 or more, the report's HDI included; the quartiles nest inside it too).
- ``mcse_mean``: the Monte Carlo standard error of the mean: arviz's for equal weights (autocorrelation
  included), and for importance weights the self-normalised importance-sampling error
  sqrt(sum w_i^2 (x_i - mean)^2 / r_eff), r_eff the underlying draws' relative effective sample size for the
  mean, as PSIS-LOO does (Vehtari et al., JMLR 2024). With equal weights the two agree.
- ``summarize``: all of them (and the draws' bulk ESS and R-hat) per label of one dimension: the report's
  and the API's tables.

ESS, R-hat, MCSE and BFMI come from arviz-stats (``import arviz_stats as az``): ``arviz`` re-exports these very
functions, and importing it also loads arviz-plots and its plotting stack (about 2 s a process).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from forecast.model.psis import weighted_hdi  # noqa: F401 - numpy only, there: the what-if's kept path imports it

SAMPLE = ("chain", "draw")


def _w(weights) -> xr.DataArray | None:
    return None if weights is None else xr.DataArray(np.asarray(weights, dtype=float), dims=SAMPLE)


def mean(da: xr.DataArray, weights=None) -> xr.DataArray:
    """The mean over chain and draw (importance-weighted with normalised ``weights`` (chain, draw))."""
    w = _w(weights)
    return da.mean(SAMPLE) if w is None else (da * w).sum(SAMPLE)


def hdi(da: xr.DataArray, prob: float, weights=None) -> tuple[xr.DataArray, xr.DataArray]:
    """The HDI's lower and upper bounds over chain and draw, per remaining label."""
    if weights is None:
        import arviz_stats  # noqa: F401 - registers the .azstats accessor

        h = da.azstats.hdi(prob=prob, dim=list(SAMPLE))
        return h.sel(ci_bound="lower", drop=True), h.sel(ci_bound="upper", drop=True)
    w = np.asarray(weights, dtype=float).ravel()
    flat = da.stack(sample=SAMPLE).transpose(..., "sample")
    other = [d for d in flat.dims if d != "sample"]
    bounds = np.apply_along_axis(lambda x: np.array(weighted_hdi(x, w, prob)), -1, flat.values)
    coords = {d: flat[d] for d in other}
    return (xr.DataArray(bounds[..., 0], dims=other, coords=coords),
            xr.DataArray(bounds[..., 1], dims=other, coords=coords))


QUARTILES = (0.25, 0.5, 0.75)  # a summary's quartiles: the middle half of the plausible values and its median


def weighted_quantile(x: np.ndarray, w: np.ndarray, probs) -> np.ndarray:
    """Quantiles of the weighted draws ``x``: the inverse of the weighted empirical CDF, each draw's weight centred
    on it (with equal weights, numpy's default "linear" quantiles up to the (n-1)/n scaling of the ends)."""
    x = np.asarray(x, dtype=float).ravel()
    w = np.asarray(w, dtype=float).ravel()
    o = np.argsort(x, kind="stable")
    x, w = x[o], w[o] / w.sum()
    c = np.cumsum(w) - w / 2  # each draw's weight centred on it
    return np.interp(np.asarray(probs, dtype=float), c, x)


def quantiles(da: xr.DataArray, probs, weights=None) -> xr.DataArray:
    """Quantiles over chain and draw per remaining label (dimension ``quantile``), importance-weighted with
    ``weights``."""
    probs = np.atleast_1d(np.asarray(probs, dtype=float))
    flat = da.stack(sample=SAMPLE).transpose(..., "sample")
    other = [d for d in flat.dims if d != "sample"]
    if weights is None:
        vals = np.moveaxis(np.quantile(flat.values, probs, axis=-1), 0, -1)
    else:
        w = np.asarray(weights, dtype=float).ravel()
        vals = np.apply_along_axis(lambda x: weighted_quantile(x, w, probs), -1, flat.values)
    return xr.DataArray(vals, dims=[*other, "quantile"], coords={**{d: flat[d] for d in other}, "quantile": probs})


def p_above(da: xr.DataArray, threshold: float = 0.5, weights=None) -> xr.DataArray:
    return mean((da > threshold).astype(float), weights)


def sd(da: xr.DataArray, weights=None) -> xr.DataArray:
    w = _w(weights)
    return da.std(SAMPLE) if w is None else np.sqrt((((da - mean(da, weights)) ** 2) * w).sum(SAMPLE))


def mcse_mean(da: xr.DataArray, weights=None, ess_mean: xr.DataArray | None = None) -> xr.DataArray:
    """The Monte Carlo standard error of the (weighted) mean. ``ess_mean``: the draws' effective sample size
    for the mean (arviz's, computed when not given)."""
    w = _w(weights)
    if w is None or ess_mean is None:  # arviz only when its figures are needed (importing it: seconds)
        import arviz_stats as az

        if w is None:
            return az.mcse(da, method="mean")
        ess_mean = az.ess(da, method="mean")
    r_eff = np.minimum(np.asarray(ess_mean, dtype=float) / w.size, 1.0)
    return np.sqrt(((w**2) * (da - mean(da, weights)) ** 2).sum(SAMPLE) / r_eff)


def draw_stats(da: xr.DataArray, dim: str) -> dict[str, np.ndarray]:
    """What a summary needs of the draws themselves, whatever their weights, per ``dim`` label of ``da`` (chain,
    draw, dim): bulk ESS, R-hat and the ESS for the mean (arviz). A PSIS update reweights draws whose figures
    these are, so they can be computed once per set of draws."""
    import arviz_stats as az

    da = da.transpose("chain", "draw", dim)
    return {"ess_bulk": np.asarray(az.ess(da, method="bulk"), dtype=float),
            "r_hat": np.asarray(az.rhat(da), dtype=float),
            "ess_mean": np.asarray(az.ess(da, method="mean"), dtype=float)}


def summarize(da: xr.DataArray, prob: float, dim: str, *, weights=None, convergence: bool = True,
              draws: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """mean, sd, HDI, the quartiles (``q25``, ``median``, ``q75``), P(> 0.5), the MCSE of the mean and (``convergence``)
    the draws' bulk ESS and R-hat per ``dim`` label of ``da`` (chain, draw, dim). With ``weights`` (a PSIS update) every
    statistic but ESS and R-hat (those of the underlying draws) is importance-weighted. ``draws``: the draws' own
    figures (``draw_stats``), when the caller has them: then importance-weighted statistics need no arviz."""
    da = da.transpose("chain", "draw", dim)
    nan = np.full(da.sizes[dim], np.nan)
    if draws is None and convergence:
        draws = draw_stats(da, dim)
    lo, hi = hdi(da, prob, weights)
    if weights is None:
        import arviz_stats as az

        mcse = np.asarray(az.mcse(da, method="mean"))
    elif draws is not None:
        mcse = np.asarray(mcse_mean(da, weights, xr.DataArray(draws["ess_mean"], dims=[dim])))
    else:
        mcse = np.asarray(mcse_mean(da, weights))
    q = quantiles(da, QUARTILES, weights).transpose(dim, "quantile").to_numpy()
    return pd.DataFrame({
        "mean": mean(da, weights).to_numpy(), "sd": sd(da, weights).to_numpy(),
        "hdi_low": lo.to_numpy(), "hdi_high": hi.to_numpy(),
        "q25": q[:, 0], "median": q[:, 1], "q75": q[:, 2],
        "p_gt_half": p_above(da, 0.5, weights).to_numpy(),
        "mcse_mean": mcse,
        "ess_bulk": draws["ess_bulk"] if convergence else nan,
        "r_hat": draws["r_hat"] if convergence else nan,
    }, index=list(da[dim].values))
