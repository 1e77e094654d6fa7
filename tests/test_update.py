"""PSIS updates of a cached posterior (forecast/model/update.py) against exact refits, synthetic world.

A posterior of 150 synthetic episodes (2 chains x 500 draws) is cached; the target adds 10 more
episodes. The PSIS-updated means of all 32 action x response probabilities must agree with an exact
refit of the target within 0.035 (measured when written: Pareto k 0.47, ESS of the weights 199 of
1000, max difference 0.014, while the new episodes moved the most-moved cell by 0.054: from 0.754 to
0.700, PSIS 0.714). Decisive: on the cell the refit moves most, the PSIS shift must have the same sign
and at least 40% of the refit's size, so ignoring the weights (shift 0) or flipping the sign of the log
ratio (shift of the wrong sign) fails. The exact refit reuses the cached article-only prior (its draws
are identical), and a strongly contradicting signal has Pareto k > 0.7 and refits.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import xarray as xr

from forecast.inputs.data import Episodes
from forecast.inputs.priors import parse_claim
from forecast.model import fit as F
from forecast.model.fit import fit

from .synthetic import simulate_inputs

SAMPLER = {"name": "nutpie", "nuts_sampler": "nutpie", "draws": 500, "tune": 500, "chains": 2, "cores": 2,
           "target_accept": 0.9}
TOL = 0.035


def _signal(ont, alpha, beta, strength=1.0):
    return parse_claim("E-sig", {"quote": "s", "constrains": {"kind": "cell", "actions": ["a3"], "response": "r4"},
                                 "elicit": {"family": "Beta", "alpha": alpha, "beta": beta}, "strength": strength},
                       ont, "synthetic signal", origin="evidence")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    target = simulate_inputs(n_episodes=160, seed=7)
    ep = target.episodes
    keep = ep.table.index[:150]
    full = dataclasses.replace(target, episodes=Episodes(ep.table.loc[keep], ep.outcomes.loc[keep]))
    cache = tmp_path_factory.mktemp("psis")
    base_fit = fit(full, SAMPLER, 5, cache)
    return full, target, cache, base_fit


def _mean(f):
    p = f.idata["posterior"]["p"]
    if f.weights is None:
        return p.mean(("chain", "draw")).values
    return (p * xr.DataArray(f.weights, dims=("chain", "draw"))).sum(("chain", "draw")).values


@pytest.mark.slow
def test_psis_update_agrees_with_an_exact_refit(world):
    full, target, cache, base_fit = world
    upd = fit(target, SAMPLER, 5, cache)
    assert upd.update["method"] == "psis" and upd.update["base_hash"] == base_fit.inputs_hash
    assert upd.update["pareto_k"] <= 0.7 and upd.weights is not None
    assert upd.weights.sum() == pytest.approx(1.0) and upd.update["ess_weights"] > 100
    exact = fit(target, SAMPLER, 5, cache, update="refit")
    assert exact.weights is None and exact.update["method"] == "refit"
    assert "prior_cache_hit" in exact.timings  # the article-only prior was not sampled again
    # the same draws (the cached copy is stored as float32)
    np.testing.assert_allclose(exact.idata["prior"]["alpha"].values, base_fit.idata["prior"]["alpha"].values, rtol=1e-5)
    m_upd, m_exact, m_base = _mean(upd), _mean(exact), _mean(base_fit)
    err = float(np.abs(m_upd - m_exact).max())
    i = np.unravel_index(np.abs(m_exact - m_base).argmax(), m_exact.shape)
    moved, psis_moved = float(m_exact[i] - m_base[i]), float(m_upd[i] - m_base[i])
    assert err < TOL, f"PSIS vs refit: max abs difference {err:.4f} (refit moved {moved:.3f})"
    assert abs(moved) > 0.025 and psis_moved * moved > 0 and abs(psis_moved) > 0.4 * abs(moved), (moved, psis_moved)


def test_large_pareto_k_refits(world, monkeypatch):
    """A signal that contradicts the posterior with great strength cannot be reached by reweighting."""
    full, _, cache, _ = world
    far = dataclasses.replace(full, signals=[_signal(full.ontology, 2, 60, strength=60)], evidence_ids=("E-sig",))
    called = {}

    def fake_fit_now(inputs, sampler, seed, h, path, progress, notify=None):
        called["h"] = h
        return F.Fit(xr.DataTree(), h, False)

    monkeypatch.setattr(F, "_fit_now", fake_fit_now)
    said = []
    out = fit(far, SAMPLER, 5, cache, notify=said.append)
    assert called, f"a large Pareto k must refit: {said}"
    assert out.update["method"] == "refit" and "Pareto k" in out.update["reason"], out.update
    assert any("refitting" in s for s in said), said


def test_first_batch_is_extended_only_when_a_target_is_missed():
    """The draw count follows the diagnostics: independent draws pass (4 x 1000: ESS ~4000); chains
    that disagree (offset 0.5 sd) miss R-hat <= 1.01; 4 x 50 draws miss bulk ESS >= 400."""
    rng = np.random.default_rng(0)

    def tree(x):
        return xr.DataTree.from_dict({"posterior": xr.Dataset({"p": (("chain", "draw", "cell"), x)})})

    good = rng.standard_normal((4, 1000, 3))
    assert F._missed_targets(tree(good), None) == ""
    bad = good + np.array([0.0, 0.5, 0.0, 0.0])[:, None, None]
    assert "R-hat" in F._missed_targets(tree(bad), None)
    assert "ESS" in F._missed_targets(tree(good[:, :50]), None)
