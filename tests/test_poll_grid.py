"""A new pollster's poll term sums only the grid points that count, and equals the sum over every point.

``terms._new_pollster`` integrates a new pollster's wording effect out on a grid of 2401 points, but sums only
the interval of points within 50 nats of the largest summand (found by a coarse pass, the summand being concave
in the effect), and ``terms.logsumexp`` replaces scipy's. Here both are held to the dense sum as the model's terms
computed it before (scipy's ``gammaln`` and ``logsumexp`` over the whole grid), on seeded draws of the opinion
near the poll, far on either side of it (the maximum at an end of the grid), small and large polls, two polls of
one pollster, a narrow and a wide prior, and polls of 0 % and 100 %: to 1e-12 relative (they differ by the
log-gamma constant's rounding, ~1e-13). That the term itself is the model's density is tests/test_terms.py's.

Decisive: a margin of 5 nats instead of 50 misses the dense sum by 1.6e-4 relative on the first case (the
grid step left out of the prior's mass: by 1.0); a logsumexp without the maximum's shift overflows to inf.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import gammaln
from scipy.special import logsumexp as scipy_logsumexp

from forecast.model import terms as T


def _dense(lt: np.ndarray, y, n, sigma: float) -> np.ndarray:
    grid = np.linspace(-T.POLL_GRID_SDS * sigma, T.POLL_GRID_SDS * sigma, T.POLL_GRID)
    lp = -0.5 * (grid / sigma) ** 2 - np.log(sigma * np.sqrt(2 * np.pi)) + np.log(grid[1] - grid[0])
    ll = np.zeros(lt.shape + grid.shape)
    for yi, ni in zip(y, n, strict=True):
        eta = lt[..., None] + grid
        ll = ll + (gammaln(ni + 1) - gammaln(yi + 1) - gammaln(ni - yi + 1)
                   - yi * np.logaddexp(0.0, -eta) - (ni - yi) * np.logaddexp(0.0, eta))
    return scipy_logsumexp(ll + lp, axis=-1)


def _logit_beta(rng, a, b, size):
    t = rng.beta(a, b, size)
    return np.log(t) - np.log1p(-t)


RNG = np.random.default_rng(3)
CASES = [
    ("near the poll", _logit_beta(RNG, 30, 12, (4, 500)), [1020.0], [1200.0], 0.75),
    ("far below it", RNG.normal(-3, 0.3, 600), [1020.0], [1200.0], 0.75),
    ("far above it", RNG.normal(4, 0.3, 600), [12.0], [1200.0], 0.75),
    ("a tiny poll", RNG.normal(0.5, 1, 600), [3.0], [5.0], 0.75),
    ("two polls", RNG.normal(0.8, 0.5, 600), [700.0, 300.0], [1000.0, 400.0], 0.3),
    ("a wide prior", RNG.normal(0.8, 0.5, 600), [700.0], [1000.0], 3.0),
    ("0 %", RNG.normal(0.8, 0.5, 300), [0.0], [800.0], 0.75),
    ("100 %", RNG.normal(0.8, 0.5, 300), [800.0], [800.0], 0.75),
]


@pytest.mark.parametrize("name,lt,y,n,sigma", CASES, ids=[c[0] for c in CASES])
def test_the_windowed_grid_sum_is_the_dense_one(name, lt, y, n, sigma):
    got = T._new_pollster(lt, np.array(y), np.array(n), sigma, block=128)
    want = _dense(lt, y, n, sigma)
    assert got.shape == lt.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


def test_blocks_change_the_sum_by_rounding_only():
    """A block's interval is as wide as its widest draw's: other blocks sum other padding, exactly zeros."""
    lt = CASES[0][1]
    a = T._new_pollster(lt, np.array([1020.0]), np.array([1200.0]), 0.75, block=7)
    b = T._new_pollster(lt, np.array([1020.0]), np.array([1200.0]), 0.75, block=4096)
    np.testing.assert_allclose(a, b, rtol=1e-14, atol=0)


def test_logsumexp_is_scipys():
    rng = np.random.default_rng(4)
    cases = [rng.normal(0, 30, (7, 400)), rng.normal(-900, 2, (3, 50)), np.array([[-np.inf, 0.0, 0.0]]),
             np.array([[-np.inf, -np.inf]]), np.array([[1.0, np.inf]]), np.array([[np.nan, 1.0]]),
             np.r_[rng.normal(0, 1, 20), [3.0, 3.0, 3.0]][None, :]]
    for a in cases:
        with np.errstate(all="ignore"):
            want = scipy_logsumexp(a, axis=-1)
        got = T.logsumexp(a, axis=-1)
        np.testing.assert_allclose(got, want, rtol=1e-15, atol=0)
    big = np.array([[1000.0, 1000.0]])
    assert T.logsumexp(big)[0] == pytest.approx(1000 + np.log(2), rel=1e-15)
