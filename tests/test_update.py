"""PSIS updates of a cached posterior (forecast/model/reweight.py) against exact refits, synthetic world.

A posterior of 150 synthetic episodes (2 chains x 500 draws) is cached; the target adds 10 more
episodes. The PSIS-updated means of all 32 action x response probabilities are compared with an exact
refit of the target in units of both estimates' Monte Carlo standard errors: the refit's MCSE of the
mean (arviz, autocorrelation included) and the self-normalised importance-sampling MCSE of the PSIS
mean, sqrt(sum w_i^2 (x_i - mean)^2 / r_eff) with r_eff the base draws' ESS / draws (Vehtari et al.
2024). A fixed bound on the raw difference of two Monte Carlo estimates, one resting on ~200 effective
draws, is not a bound at all: it failed in CI (0.0446 against 0.035) while the estimates agreed within
their noise. Measured (seeds 5 and 11): Pareto k 0.34-0.41, ESS of the weights 193-198 of 1000, max |z|
over the 32 cells 1.8-2.1 against the tolerance 4.5 (a |z| above 4.5 has probability 7e-6 per cell under
a correct update).

Decisive: the plausible bug "the weights are ignored" (the base posterior's mean) gives max |z| 14-16
against the refit, more than three times the tolerance, and the test asserts in every run that it lands
beyond twice the tolerance (so a world in which the new episodes move too little to tell fails loudly
instead of passing vacuously); a flipped log ratio moves the most-moved cell the wrong way and fails the
sign check. The exact refit reuses the cached article-only prior (its draws are identical), and a strongly
contradicting signal has Pareto k > 0.7 and refits.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import xarray as xr

import forecast
from forecast.inputs.data import Episodes
from forecast.inputs.priors import parse_claim
from forecast.model import fit as F
from forecast.model import summary
from forecast.model.diagnostics import GATED, first_batch, first_batch_targets, missed_targets
from forecast.model.fit import fit

from .synthetic import simulate_inputs

SAMPLER = {"name": "nutpie", "nuts_sampler": "nutpie", "draws": 500, "tune": 500, "chains": 2, "cores": 2,
           "target_accept": 0.9}
Z_TOL = 4.5  # |PSIS - refit| in MCSEs of the difference, per cell


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


def _mean_and_mcse(f, base=None):
    """Each cell's mean and its Monte Carlo standard error (forecast.model.summary): an exact fit's MCSE of the
    mean (autocorrelation included), or a PSIS update's self-normalised importance-sampling MCSE (r_eff from the
    base draws' ESS)."""
    p = f.idata["posterior"]["p"]
    return summary.mean(p, f.weights).values, np.asarray(summary.mcse_mean(p, f.weights))


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
    (m_upd, se_upd), (m_exact, se_exact) = _mean_and_mcse(upd), _mean_and_mcse(exact)
    m_base, se_base = _mean_and_mcse(base_fit)
    z = np.abs(m_upd - m_exact) / np.hypot(se_upd, se_exact)
    z_ignored = np.abs(m_base - m_exact) / np.hypot(se_base, se_exact)  # the bug "weights ignored"
    i = np.unravel_index(np.abs(m_exact - m_base).argmax(), m_exact.shape)
    moved, psis_moved = float(m_exact[i] - m_base[i]), float(m_upd[i] - m_base[i])
    j = np.unravel_index(z.argmax(), z.shape)
    assert z.max() < Z_TOL, (f"PSIS vs refit: |z| {z.max():.2f} at cell {j} (difference {m_upd[j] - m_exact[j]:+.4f}, "
                             f"MCSEs {se_upd[j]:.4f} / {se_exact[j]:.4f}; the refit moved it "
                             f"{m_exact[j] - m_base[j]:+.4f}): the update's terms or weights are probably wrong")
    assert z_ignored.max() > 2 * Z_TOL, (f"not decisive: ignoring the weights gives |z| {z_ignored.max():.2f} only; "
                                         "the new episodes must move the posterior more")
    assert abs(moved) > 0.025 and psis_moved * moved > 0, (moved, psis_moved)


def test_large_pareto_k_refits(world, monkeypatch):
    """A signal that contradicts the posterior with great strength cannot be reached by reweighting."""
    full, _, cache, _ = world
    far = dataclasses.replace(full, signals=[_signal(full.ontology, 2, 60, strength=60)], evidence_ids=("E-sig",))
    called = {}

    def fake_fit_now(inputs, sampler, seed, h, path, progress, notify=None, targets=None):
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
    that disagree (offset 0.5 sd) miss R-hat <= 1.01; 4 x 50 draws miss bulk ESS >= 400. The gates are the
    report's (conf/report): one source, read from the configuration."""
    rng = np.random.default_rng(0)

    def tree(x):
        return xr.DataTree.from_dict({"posterior": xr.Dataset({"p": (("chain", "draw", "cell"), x)})})

    targets = first_batch_targets(forecast.compose([]))
    assert targets == {"max_rhat": 1.01, "min_ess_bulk": 400}
    good = rng.standard_normal((4, 1000, 3))
    assert missed_targets(tree(good), targets) == ""
    bad = good + np.array([0.0, 0.5, 0.0, 0.0])[:, None, None]
    assert "R-hat" in missed_targets(tree(bad), targets)
    assert "ESS" in missed_targets(tree(good[:, :50]), targets)
    assert missed_targets(tree(good[:, :50]), {**targets, "min_ess_bulk": 100}) == ""  # the gate read, not a copy
    moved = first_batch_targets(forecast.compose(["report.max_rhat=1.05", "report.min_ess_bulk=100"]))
    assert moved == {"max_rhat": 1.05, "min_ess_bulk": 100}
    assert first_batch_targets(forecast.compose(["sampler.first_draws=null"])) is None  # no first batch: no gates
    sampler = {"draws": 2000, "first_draws": 1000}
    assert first_batch(sampler, targets) == 1000 and first_batch(sampler, None) is None  # no gates: all draws
    assert first_batch({**sampler, "first_draws": 2000}, targets) is None


def test_the_first_batch_check_computes_each_diagnostic_once(monkeypatch):
    """Bug caught: the check of a first batch computed R-hat and bulk ESS of every gated quantity once per gated
    quantity (three times the work, ~0.8 s of each fit's critical path). Each is computed once, over all of them,
    with the same verdict."""
    import arviz_stats

    rng = np.random.default_rng(1)
    ds = xr.Dataset({v: (("chain", "draw", "cell"), rng.standard_normal((4, 500, 3))) for v in GATED})
    calls = {"rhat": 0, "ess": 0}

    def counting(name):
        f = getattr(arviz_stats, name)

        def counted(*a, **k):
            calls[name] += 1
            return f(*a, **k)
        return counted

    for name in calls:
        monkeypatch.setattr(arviz_stats, name, counting(name))
    assert missed_targets(xr.DataTree.from_dict({"posterior": ds}), {"max_rhat": 1.01, "min_ess_bulk": 400}) == ""
    assert calls == {"rhat": 1, "ess": 1}


def test_the_fit_diagnostics_reuse_the_first_batch_check():
    """The fit's convergence figures of draws whose first batch was checked read the check's R-hat and bulk ESS of the
    gated quantities (kept on the draws) instead of computing them again, and are the very same figures."""
    import arviz_stats

    from forecast.model.diagnostics import CHECKED, convergence

    rng = np.random.default_rng(2)
    offset = 0.05 * np.arange(4)[:, None, None]  # chains a little apart: R-hat above 1, as a real one
    post = xr.Dataset({v: (("chain", "draw", "cell"), rng.standard_normal((4, 500, 3)) + offset)
                       for v in (*GATED, "beta")})
    stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((4, 500), dtype=bool))})
    tree = xr.DataTree.from_dict({"posterior": post, "sample_stats": stats})
    missed_targets(tree, {"max_rhat": 1.5, "min_ess_bulk": 10})
    assert set(tree.attrs[CHECKED]) == set(GATED)
    again = convergence(tree, "posterior")
    seen: list[set[str]] = []
    rhat = arviz_stats.rhat

    def counted(ds, *a, **k):
        seen.append(set(ds.data_vars))
        return rhat(ds, *a, **k)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(arviz_stats, "rhat", counted)
        reused = convergence(tree, "posterior", known=tree.attrs[CHECKED])
    assert reused == again and reused["max_rhat_all_variable"] in (*GATED, "beta")
    assert seen == [{"beta"}]  # only what the check did not compute


def test_the_first_batch_gates_are_part_of_the_posterior_key():
    """A first batch stops or goes on by the report's gates, so they define the posterior: other gates, another
    inputs hash (a cache never serves draws sampled under other gates). Without a first batch they do not."""
    from forecast.model.cache import inputs_hash

    from .synthetic import simulate_inputs

    syn = simulate_inputs(20, seed=1)
    batch = {**SAMPLER, "draws": 200, "first_draws": 100}
    default = {"max_rhat": 1.01, "min_ess_bulk": 400}
    h = inputs_hash(syn, batch, 1, default)
    assert h != inputs_hash(syn, batch, 1, {**default, "min_ess_bulk": 100})
    assert h != inputs_hash(syn, batch, 1, None)  # no gates: all draws at once, another posterior
    assert inputs_hash(syn, SAMPLER, 1, default) == inputs_hash(syn, SAMPLER, 1, None)  # no first batch


@pytest.mark.parametrize("day", ["2025-06-01", "2026-01-20", "2026-12-01"])
def test_a_states_row_hashes_are_those_of_each_rows_own_lookup(day):
    """``reweight.state`` hashes each episode's row and outcomes, and each poll, in one pass over the tables. The
    hashes are stored in the posterior index (``forecast.model.posterior_index``): a different spelling of the same
    rows would make every kept posterior unreachable as an update's base. Each is the hash of the row looked up by
    its label (``.loc`` and a concatenation, as written before), for the shipped inputs at three dates (no poll, one,
    four): another column order, a column left out or the outcomes of another row each change a hash here."""
    import pandas as pd

    from forecast.model import reweight

    inputs = forecast.load_inputs(forecast.compose([f"as_of={day}"]))
    got = reweight.state(inputs, {"sampler": "test"})
    ep = inputs.episodes
    cols = ["date", "action_type", *inputs.ontology.attributes]
    assert got["episodes"] == {str(i): reweight._row_hash(pd.concat([ep.table.loc[i, cols], ep.outcomes.loc[i]]))
                               for i in ep.table.index}
    polls = inputs.polls[["date", "n", "share_opposed", "use", "pollster"]]
    assert got["polls"] == {str(i): reweight._row_hash(r) for i, r in polls.iterrows()}
    assert len(set(got["episodes"].values())) == len(ep.table)  # distinct rows, distinct hashes
