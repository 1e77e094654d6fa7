"""The one summary of draws (forecast/model/summary.py): weighted and unweighted means, HDIs and Monte Carlo errors.

Seeded and decisive: the importance-sampling MCSE is checked against the spread of the weighted mean over 800
independent replicates (a known proposal and target), where it is within 8% while the formula the report used
before (the weighted sd over the square root of the weights' ESS) is 19% short; with equal weights on
autocorrelated chains it is arviz's MCSE. The weighted HDI is the narrowest interval and follows the weights.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from forecast.model import summary


def _da(x: np.ndarray) -> xr.DataArray:
    return xr.DataArray(x, dims=("chain", "draw", "cell")[: x.ndim])


def test_the_importance_weighted_mcse_is_the_spread_of_the_weighted_mean():
    """Draws from N(0, 1) weighted to N(0, 1.15^2): the weighted mean's standard deviation over replicates is what
    the self-normalised importance-sampling MCSE estimates (r_eff 1: independent draws)."""
    rng = np.random.default_rng(1)
    means, new, old = [], [], []
    for _ in range(800):
        x = rng.standard_normal((1, 1000))
        lw = 0.5 * x**2 * (1 - 1 / 1.15**2)
        w = np.exp(lw - lw.max())
        w /= w.sum()
        da = _da(x)
        m = float(summary.mean(da, w))
        means.append(m)
        new.append(float(summary.mcse_mean(da, w, ess_mean=xr.DataArray(float(x.size)))))
        old.append(float(summary.sd(da, w)) * np.sqrt(np.sum(w**2)))  # the report's formula before
    truth = np.std(means)
    assert abs(np.mean(new) / truth - 1) < 0.08, (np.mean(new), truth)
    assert np.mean(old) / truth < 0.88, "the test must tell the two formulas apart"


def test_equal_weights_give_arviz_mcse_on_autocorrelated_chains():
    """AR(1) chains (rho 0.8): with uniform weights the importance formula, with r_eff from arviz's ESS for the
    mean, is arviz's MCSE of the mean (sd / sqrt(ESS)); ignoring r_eff would understate it by ~3x."""
    import arviz as az

    rng = np.random.default_rng(2)
    x = np.zeros((4, 1000))
    for t in range(1, 1000):
        x[:, t] = 0.8 * x[:, t - 1] + rng.standard_normal(4) * 0.6
    da = _da(x)
    w = np.full(x.shape, 1 / x.size)
    got = float(summary.mcse_mean(da, w))
    want = float(az.mcse(da, method="mean"))
    assert got == pytest.approx(want, rel=2e-3)
    assert float(summary.mcse_mean(da, w, ess_mean=xr.DataArray(float(x.size)))) < want / 2


def test_the_weighted_hdi_is_the_narrowest_and_follows_the_weights():
    """Equal weights give arviz's HDI up to one draw; doubling the weight of the upper half moves the 90% interval
    up; a point mass is its own interval."""
    import arviz as az

    x = np.random.default_rng(3).standard_normal((2, 2000))
    w = np.full(x.shape, 1 / x.size)
    lo, hi = summary.weighted_hdi(x, w, 0.9)
    lo0, hi0 = (float(v) for v in az.hdi(x.ravel(), prob=0.9))
    s = np.sort(x.ravel())
    assert abs(np.searchsorted(s, lo) - np.searchsorted(s, lo0)) <= 1
    assert abs(np.searchsorted(s, hi) - np.searchsorted(s, hi0)) <= 1
    w2 = np.where(x > 0, 2.0, 1.0)
    w2 /= w2.sum()
    lo2, hi2 = summary.weighted_hdi(x, w2, 0.9)
    assert lo2 > lo + 0.05 and hi2 > hi + 0.05
    # the narrowest: no other interval of at least 90% of the weight is narrower
    o = np.argsort(x.ravel())
    xs, c = x.ravel()[o], np.cumsum(w2.ravel()[o])
    widths = [xs[np.searchsorted(c, c[i] - w2.ravel()[o][i] + 0.9 - 1e-12)] - xs[i]
              for i in range(len(xs)) if c[i] - w2.ravel()[o][i] + 0.9 <= c[-1]]
    assert hi2 - lo2 == pytest.approx(min(widths))
    one = np.zeros(x.size)
    one[17] = 1.0
    assert summary.weighted_hdi(x, one, 0.9) == (x.ravel()[17], x.ravel()[17])


def test_summarize_unweighted_is_arviz_and_weighted_is_the_weighted_statistics():
    import arviz as az

    rng = np.random.default_rng(4)
    p = 1 / (1 + np.exp(-rng.normal(0, 1, (2, 500, 3))))
    da = xr.DataArray(p, dims=("chain", "draw", "response"), coords={"response": ["a", "b", "c"]})
    t = summary.summarize(da, 0.9, "response")
    h = az.hdi(da, prob=0.9)
    np.testing.assert_array_equal(t["hdi_low"], h.sel(ci_bound="lower").values)
    np.testing.assert_array_equal(t["mean"], da.mean(("chain", "draw")).values)
    np.testing.assert_array_equal(t["mcse_mean"], az.mcse(da, method="mean").values)
    w = rng.gamma(2.0, size=(2, 500))
    w /= w.sum()
    tw = summary.summarize(da, 0.9, "response", weights=w)
    np.testing.assert_allclose(tw["mean"], np.einsum("cd,cdr->r", w, p))
    np.testing.assert_allclose(tw["p_gt_half"], np.einsum("cd,cdr->r", w, (p > 0.5).astype(float)))
    assert tw.loc["a", "hdi_low"] == summary.weighted_hdi(p[..., 0], w, 0.9)[0]
    np.testing.assert_array_equal(tw["r_hat"], t["r_hat"])  # the draws' own, unweighted


def test_the_diagnostics_taken_from_arviz_stats_are_arviz_own():
    """model/summary.py and model/diagnostics.py import ESS, R-hat, MCSE and BFMI from arviz-stats, not arviz (whose
    import also loads arviz-plots): the same function objects, so the figures cannot differ. An ArviZ release that
    stops re-exporting them, or wraps them, fails here."""
    import arviz
    import arviz_stats

    for name in ("ess", "rhat", "mcse", "bfmi", "hdi"):
        assert getattr(arviz, name) is getattr(arviz_stats, name), name
