"""Pareto-smoothed importance weights: the one PSIS of the tool (Vehtari, Simpson, Gelman, Yao & Gabry,
"Pareto smoothed importance sampling", JMLR 25(72), 2024), the steps of arviz-stats' ``psislw`` in numpy.

Used wherever stored draws are reweighted to another posterior: PSIS updates of a cached posterior
(``model.reweight``), Shapley attribution, analysts' pooling and the What if panel (whose JavaScript,
``outputs/whatif_core.js``, repeats these steps and is pinned to them by ``tests/test_whatif_core.py``).

Why not call arviz-stats here: importing any of it (``arviz_stats.base``) runs the package's ``__init__``,
which imports xarray, scipy.stats and its LOO machinery: 0.9-1.6 s of a 3.5 s new-evidence run and most of
``forecast whatif`` (measured with ``python -X importtime``, bench/profiles.py), to compute what is a sort, a
30-point grid and a quantile function on a few thousand numbers (milliseconds). So ``psislw`` below takes
arviz-stats 1.3's steps one for one (``arviz_stats.base.diagnostics``: ``_psislw``, ``_get_ps_tails``,
``_ps_tail``, ``_gpdfit``, ``_gpinv``; scipy's ``logsumexp``), and tests/test_psis.py holds it equal to
``arviz_stats.base.array_stats.psislw`` (weights and k to 1e-10) over seeded log ratios of many shapes and
tails and the degenerate cases below; a new arviz-stats that changed its PSIS fails that test.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

K_MAX = 0.7  # Vehtari et al. (2024): above 0.7 the importance-sampling estimate is unreliable
_TINY = np.finfo(float).tiny
_EPS = np.finfo(float).eps


class Weights(NamedTuple):
    """Normalised weights (the log ratio's shape), the Pareto k and the weights' effective sample size."""

    w: np.ndarray
    k: float
    ess: float

    @property
    def reliable(self) -> bool:
        return bool(self.k <= K_MAX)


def psis_weights(log_ratio: np.ndarray, smooth=None) -> Weights:
    """Pareto-smoothed normalised weights of the draws for the log importance ratio ``log_ratio`` (any shape,
    every axis a draw axis), the Pareto k and the effective sample size 1 / sum w^2 (r_eff = 1). ``smooth``
    (default ``psislw``): the smoothing step, ``(log_ratio) -> (log weights, k)``; the test holding ``psislw``
    equal to arviz-stats passes the library's.

    A constant ratio gives uniform weights and k = -inf (nothing to smooth); fewer than 25 draws, a tail of
    equal ratios or a degenerate tail fit give the raw weights and k = inf (unreliable, never a pass)."""
    lr = np.asarray(log_ratio, dtype=float)
    if not np.any(lr != lr.flat[0]):
        return Weights(np.full(lr.shape, 1.0 / lr.size), -np.inf, float(lr.size))
    try:
        lw, k = (smooth or psislw)(lr)
    except ValueError:
        lw, k = lr - lr.max(), np.inf
    if not np.isfinite(k) or not np.all(np.isfinite(lw)):
        k = np.inf
        lw = np.where(np.isfinite(lw), lw, -np.inf) if np.any(np.isfinite(lw)) else lr - lr.max()
    w = np.exp(lw - lw.max())
    w = w / w.sum()
    return Weights(w, float(k), float(1.0 / np.square(w).sum()))


def psislw(log_ratio: np.ndarray, r_eff: float = 1.0) -> tuple[np.ndarray, float]:
    """(Pareto-smoothed log weights normalised to log-sum 0, in ``log_ratio``'s shape; the Pareto k) over all the
    draws of ``log_ratio``: what ``arviz_stats.base.array_stats.psislw(-log_ratio, r_eff, axis=<every axis>)``
    returns (it takes a log-likelihood and weights by its negative). Raises ValueError, as it does, when the tail
    has fewer than 5 draws (fewer than 25 draws in all) or its values are all equal."""
    a = np.asarray(log_ratio, dtype=float)
    shape = a.shape
    a = a.flatten()
    n = a.size
    tail = int(np.floor(3 * (n / r_eff) ** 0.5) if n * r_eff > 225 else np.floor(n / 5))
    if tail < 5:
        raise ValueError("n_draws_tail must be at least 5")
    a = a - np.max(a)
    ordered = np.argsort(a)  # the same (unstable) sort as arviz-stats: ties land where its own do
    tail_ids = np.arange(n - tail, n, dtype=int)
    draws_tail = a[ordered[tail_ids]]
    cutoff = a[ordered[tail_ids[0] - 1]]  # the largest value below the tail
    max_tail = np.max(draws_tail)
    if abs(max_tail - np.min(draws_tail)) < _TINY:
        raise ValueError("All tail values are the same")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        khat, sigma = _gpdfit(np.exp(draws_tail) - np.exp(cutoff))
        if np.isfinite(khat):
            smoothed = np.log(_gpinv(np.arange(0.5, tail) / tail, khat, sigma, np.exp(cutoff)))
            smoothed[smoothed > max_tail] = max_tail
            a[ordered[tail_ids]] = smoothed
        a -= _logsumexp(a)
    return a.reshape(shape), float(khat)


def _gpdfit(x: np.ndarray) -> tuple[float, float]:
    """(k, sigma) of the generalized Pareto distribution fitted to the sorted exceedances ``x``: the empirical Bayes
    estimate of Zhang & Stephens (2009) with the weakly informative prior on k of Vehtari et al. (2024) (Normal
    around 0.5, worth 10 observations), as arviz-stats' ``_gpdfit`` computes it."""
    prior_bs, prior_k = 3, 10
    n = len(x)
    m_est = 30 + int(n**0.5)
    xstar = x[int((n / 4 + 0.5) - 1)]  # the first quartile
    if xstar <= x[0]:  # far from a generalized Pareto distribution
        return np.nan, np.nan
    b = 1 - np.sqrt(m_est / (np.arange(1, m_est + 1, dtype=float) - 0.5))
    b /= prior_bs * xstar
    b += 1 / x[-1]
    k = np.mean(np.log1p(-b[:, None] * x), axis=1)
    len_scale = n * (np.log(-b / k) - k - 1)
    w_theta = np.exp(len_scale - _logsumexp(len_scale))
    keep = w_theta >= 10 * _EPS  # negligible weights dropped
    if not np.all(keep):
        w_theta, b = w_theta[keep], b[keep]
    w_theta /= w_theta.sum()
    b_post = np.sum(b * w_theta)
    kappa = np.mean(np.log1p(-b_post * x))
    sigma = -kappa / b_post
    kappa = (n * kappa + prior_k * 0.5) / (n + prior_k)
    if np.isnan(kappa):
        return np.inf, np.nan
    return kappa, sigma


def _gpinv(p: np.ndarray, kappa: float, sigma: float, mu: float) -> np.ndarray:
    """The generalized Pareto distribution's quantile function."""
    if sigma <= 0:
        return np.full_like(p, np.nan)
    if kappa == 0:
        return mu - sigma * np.log1p(-p)
    return mu + sigma * np.expm1(-kappa * np.log1p(-p)) / kappa


def logsumexp(a: np.ndarray, axis: int = -1) -> np.ndarray:
    """log(sum(exp(a))) along ``axis`` as scipy.special.logsumexp (1.18) computes it, in numpy (importing scipy
    costs more than the sums): the maxima separated out of the sum; an infinite or nan maximum gives
    log(sum(exp(a))). tests/test_psis.py and tests/test_poll_grid.py hold it equal to scipy's."""
    a = np.asarray(a, dtype=float)
    a_max = np.max(a, axis=axis, keepdims=True)
    top = a == a_max
    m = np.sum(top, axis=axis, keepdims=True, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        s = np.sum(np.exp(np.where(top, -np.inf, a) - a_max), axis=axis, keepdims=True)
        s = np.where(s == 0, s, s / m)
        out = np.log1p(s) + np.log(m) + a_max
        bad = ~np.isfinite(out)
        if bad.any():
            out = np.where(bad, np.log(np.sum(np.exp(a), axis=axis, keepdims=True)), out)
    return np.squeeze(out, axis=axis)


def _logsumexp(a: np.ndarray) -> float:
    """log(sum(exp(a))) over every element of ``a``, as a number."""
    return float(logsumexp(np.ravel(a)))


def weighted_hdi(x: np.ndarray, w: np.ndarray, prob: float) -> tuple[float, float]:
    """The narrowest interval holding ``prob`` of the weighted draws ``x`` (any shape, weights alike)."""
    x = np.asarray(x, dtype=float).ravel()
    w = np.asarray(w, dtype=float).ravel()
    o = np.argsort(x, kind="stable")  # ties in draw order: the report's page (whatif_core.js) sorts the same way
    x, c = x[o], np.cumsum(w[o])
    c = c / c[-1]
    lo_c = np.concatenate([[0.0], c[:-1]])  # mass strictly below each draw
    j = np.searchsorted(c, lo_c + prob - 1e-12, side="left")
    ok = j < len(x)
    i = np.flatnonzero(ok)
    widths = x[j[ok]] - x[i]
    b = int(np.argmin(widths))
    return float(x[i[b]]), float(x[j[ok][b]])
