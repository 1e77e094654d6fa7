"""Pareto-smoothed importance weights: the one PSIS of the tool (Vehtari, Simpson, Gelman, Yao & Gabry,
"Pareto smoothed importance sampling", JMLR 25(72), 2024), on arviz-stats' ``psislw``.

Used wherever stored draws are reweighted to another posterior: PSIS updates of a cached posterior
(``model.reweight``), Shapley attribution, analysts' pooling and the What if panel (whose JavaScript,
``outputs/whatif_core.js``, repeats these steps and is pinned to them by ``tests/test_whatif_core.py``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

K_MAX = 0.7  # Vehtari et al. (2024): above 0.7 the importance-sampling estimate is unreliable


class Weights(NamedTuple):
    """Normalised weights (the log ratio's shape), the Pareto k and the weights' effective sample size."""

    w: np.ndarray
    k: float
    ess: float

    @property
    def reliable(self) -> bool:
        return bool(self.k <= K_MAX)


def psis_weights(log_ratio: np.ndarray) -> Weights:
    """Pareto-smoothed normalised weights of the draws for the log importance ratio ``log_ratio`` (any shape,
    every axis a draw axis), the Pareto k and the effective sample size 1 / sum w^2 (r_eff = 1).

    A constant ratio gives uniform weights and k = -inf (nothing to smooth); fewer than 25 draws, a tail of
    equal ratios or a degenerate tail fit give the raw weights and k = inf (unreliable, never a pass)."""
    from arviz_stats.base import array_stats

    lr = np.asarray(log_ratio, dtype=float)
    if not np.any(lr != lr.flat[0]):
        return Weights(np.full(lr.shape, 1.0 / lr.size), -np.inf, float(lr.size))
    # arviz-stats' psislw takes a log-likelihood and weights by its negative (leave-one-out)
    try:
        lw, k = array_stats.psislw(-lr, r_eff=1.0, axis=tuple(range(-lr.ndim, 0)))
    except ValueError:
        lw, k = lr - lr.max(), np.inf
    if not np.isfinite(k) or not np.all(np.isfinite(lw)):
        k = np.inf
        lw = np.where(np.isfinite(lw), lw, -np.inf) if np.any(np.isfinite(lw)) else lr - lr.max()
    w = np.exp(lw - lw.max())
    w = w / w.sum()
    return Weights(w, float(k), float(1.0 / np.square(w).sum()))
