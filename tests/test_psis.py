"""forecast.model.psis computes arviz-stats' PSIS without importing it: held equal to the library here.

``psislw`` repeats arviz-stats 1.3's steps (tail length, generalized Pareto fit with its prior, smoothing by the
fitted quantiles, truncation at the largest raw weight, normalisation) in numpy, so the PSIS path and
``forecast whatif`` need not import arviz-stats (seconds). Each case below compares it with
``arviz_stats.base.array_stats.psislw`` on the same log ratios: log weights and k to 1e-10 (on this machine
they agree bit for bit), and ``psis_weights`` (the weights, k and ESS every caller uses) with the library underneath
against the numpy one. The log ratios are seeded and span the shapes and tails the tool meets (one chain or four,
25 draws to 8000, light to very heavy tails, ties, -inf terms) and the degenerate cases ``psis_weights`` handles
(a constant ratio, fewer than 25 draws, a tail of equal values, a tail fit that fails).

Decisive: plausible slips move k or the weights far past these tolerances (measured on a 4000-draw N(0, 1.5^2)
log ratio, k 0.28, and two heavy-tailed ones): the prior on k left out (prior_k 0) moves k by 0.011; a tail of
2 sqrt(S) draws instead of 3 sqrt(S) by 0.06; the first quartile read one place off by 1.4e-4; no truncation at
the largest raw weight moves the largest weight of a heavy-tailed case by 0.7 of itself.
"""

from __future__ import annotations

import numpy as np
import pytest

from forecast.model import psis as P


def _lib_psislw(lr: np.ndarray):
    from arviz_stats.base import array_stats

    return array_stats.psislw(-lr, r_eff=1.0, axis=tuple(range(-lr.ndim, 0)))


def _cases():
    rng = np.random.default_rng(20261207)
    out = []
    for shape in [(4000,), (4, 1000), (2, 2000), (4, 2000), (25,), (26,), (225,), (226,), (1, 300), (3, 7, 50)]:
        n = int(np.prod(shape))
        out += [(f"normal sd {s} {shape}", rng.normal(0, s, shape)) for s in (0.05, 0.5, 1.5, 4.0)]
        out.append((f"student-t 2 {shape}", rng.standard_t(2, shape)))
        out.append((f"log pareto 0.9 {shape}", np.log(rng.pareto(1 / 0.9, n) + 1).reshape(shape)))
        out.append((f"log pareto 0.4 {shape}", 0.4 * rng.exponential(1, shape)))
        out.append((f"skewed, left tail {shape}", -rng.gamma(0.5, 3, shape)))
        out.append((f"rounded (ties) {shape}", np.round(rng.normal(0, 1, shape), 1)))
    lr = rng.normal(0, 1, (4, 1000))
    lr[0, :7] = -np.inf  # a draw the new term rules out
    out.append(("some -inf", lr))
    out.append(("a large offset", rng.normal(-700, 2, 4000)))
    return out


CASES = _cases()
DEGENERATE = [
    ("constant", np.full((4, 1000), -3.2)),
    ("24 draws", np.random.default_rng(1).normal(0, 1, 24)),
    ("5 draws", np.array([0.1, 0.3, -0.2, 0.0, 0.4])),
    ("equal tail", np.r_[np.random.default_rng(2).normal(0, 1, 3800), np.full(200, 9.0)]),
    ("tail fit fails (first quartile at the cutoff)", np.r_[np.linspace(-3, 0, 3790), np.zeros(150),
                                                             np.linspace(0.1, 2, 60)]),
    ("one draw holds all the weight", np.r_[np.full(3999, -np.inf), 0.0]),
    ("a nan", np.r_[np.random.default_rng(3).normal(0, 1, 999), np.nan]),
]


@pytest.mark.parametrize("name,lr", CASES, ids=[c[0] for c in CASES])
def test_psislw_equals_arviz_stats(name, lr):
    lw, k = P.psislw(lr)
    want_lw, want_k = _lib_psislw(lr)
    assert lw.shape == lr.shape
    assert np.isfinite(k) == np.isfinite(want_k), (k, want_k)
    if np.isfinite(want_k):
        assert abs(k - want_k) <= 1e-10, (k, want_k)
    fin = np.isfinite(want_lw)
    assert np.array_equal(fin, np.isfinite(lw)), "a different draw ruled out"
    np.testing.assert_allclose(lw[fin], want_lw[fin], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name,lr", CASES + DEGENERATE, ids=[c[0] for c in CASES + DEGENERATE])
def test_psis_weights_equal_those_on_arviz_stats(name, lr):
    with np.errstate(all="ignore"):
        want = P.psis_weights(lr, smooth=_lib_psislw)
    got = P.psis_weights(lr)
    assert got.w.shape == lr.shape
    np.testing.assert_allclose(got.w, want.w, rtol=1e-9, atol=1e-14)
    assert (got.k == want.k) or abs(got.k - want.k) <= 1e-10, (got.k, want.k)
    np.testing.assert_allclose(got.ess, want.ess, rtol=1e-8)  # nan == nan: a nan ratio is k = inf either way
    assert got.reliable == want.reliable


def test_the_degenerate_cases_are_what_they_say():
    """Each degenerate case reaches the branch it names (else the comparison above proves less than it says)."""
    d = dict(DEGENERATE)
    assert P.psis_weights(d["constant"]).k == -np.inf
    for name in ("24 draws", "5 draws", "equal tail"):
        with pytest.raises(ValueError):
            P.psislw(d[name])
        assert P.psis_weights(d[name]).k == np.inf
    assert np.isnan(P._gpdfit(np.r_[np.zeros(50), np.linspace(0.1, 1, 150)])[0])
    assert not np.isfinite(P.psislw(d["tail fit fails (first quartile at the cutoff)"])[1])
    assert P.psis_weights(d["one draw holds all the weight"]).ess == pytest.approx(1.0)
    with np.errstate(all="ignore"):
        assert P.psis_weights(d["a nan"]).k == np.inf


def test_logsumexp_is_scipys():
    from scipy.special import logsumexp

    rng = np.random.default_rng(5)
    for a in (rng.normal(0, 30, 500), np.r_[rng.normal(0, 1, 50), [4.0, 4.0]], np.array([-np.inf, 0.0]),
              np.array([-np.inf, -np.inf]), np.array([1.0, np.inf]), np.array([np.nan, 1.0]), rng.normal(-800, 1, 9)):
        want = logsumexp(a)
        got = P._logsumexp(a)
        assert (np.isnan(want) and np.isnan(got)) or got == pytest.approx(want, rel=1e-15, abs=1e-300), (a, got, want)
