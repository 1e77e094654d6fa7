"""The What if panel's numeric core (forecast/outputs/whatif_core.js) against golden vectors of the Python terms, in
an embedded V8 (mini-racer, from the package index): no browser, so every machine runs it in the quick tier.

On seeded draws of the real ontology (tests/whatif_draws.py, the report's own Draws) and of the synthetic one
(a response that requires another, so the episode term's chain is exercised), the JavaScript computes, from the
very float32 numbers Python reads, each item's log-likelihood per draw, the Pareto-smoothed weights and k, the
weighted HDI, the maximum-entropy Beta, and the whole answer; each must equal what forecast/model/terms.py,
psis.py, summary.py and forecast/analysis/whatif compute, to 1e-9 (relative; 1e-6 absolute for log-likelihoods,
see LL_ATOL) or 1e-10. The
cases: a poll by a KNOWN pollster (its stored wording effect) and by a NEW one (its effect integrated out), an
episode with an executed response and its threat, a judgement, and the ablation settings the page follows
(zero-sum wording effects, episodes at the reference opinion, cells left out). A change of one term's formula on
either side (e.g. the poll's) fails here; the Python side is pinned to PyMC by tests/test_terms.py.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from forecast.analysis import whatif as W
from forecast.inputs.schema import switch
from forecast.model import summary
from forecast.model.psis import psis_weights

from .synthetic import simulate_inputs
from .whatif_draws import draws_from_fit, fake_fit, synthetic_draws, with_opinion_signs

racer = pytest.importorskip("py_mini_racer", reason="mini-racer is in the test extra (pip install -e .[test])")
# log-likelihoods agree to 1e-9 (relative) but for the poll's binomial coefficient: its log-gamma (Lanczos in the
# page, scipy's in Python) differs by up to 5e-8 for n in the thousands, a constant that cancels in the weights
LL_ATOL = 1e-6
CORE = Path(__file__).resolve().parents[1] / "forecast" / "outputs" / "whatif_core.js"
HARNESS = """
var D = null;
function setDraws(d) {
  Object.keys(d.A).forEach(function (k) { d.A[k] = Float64Array.from(d.A[k]); });
  D = ForecastWhatIfCore.withShape(d);
  return D.S;
}
function loglik(it) {
  try { return Array.from(ForecastWhatIfCore.itemLoglik(D, it)); }
  catch (e) {
    if (e instanceof ForecastWhatIfCore.CoreError) { return {error: e.code}; }
    throw e;
  }
}
function psis(lr) {
  var r = ForecastWhatIfCore.psisWeights(Float64Array.from(lr));
  return [Array.from(r.w), r.k, r.ess];
}
function hdi(x, w, prob) { return ForecastWhatIfCore.weightedHdi(Float64Array.from(x), Float64Array.from(w), prob); }
function beta(lo, hi, mass) { return ForecastWhatIfCore.maxentBeta(lo, hi, mass); }
function answer(lls) { return ForecastWhatIfCore.answer(D, lls.map(function (l) { return Float64Array.from(l); })); }
"""


@pytest.fixture(scope="module")
def js():
    ctx = racer.MiniRacer()
    ctx.eval(CORE.read_text(encoding="utf-8"))
    ctx.eval(HARNESS)
    return ctx


def _load(js, d: W.Draws) -> None:
    """The draws as the page holds them: the payload's names and constants, each array's float32 values."""
    meta = W.payload(d)
    meta.pop("arrays")
    meta["A"] = {k: np.asarray(getattr(d, k), dtype=np.float64).ravel().tolist() for k in W.ARRAYS
                 if getattr(d, k) is not None}
    assert js.call("setDraws", json.loads(json.dumps(meta))) == d.size


def _js_item(d: W.Draws, it, inputs) -> dict:
    """The item as the page's form validates it (the judgement's Beta from the page's own solver)."""
    it = W.check_items([it], d, inputs)[0]
    if it.kind == "poll":
        return {"kind": "poll", "share": it.share, "n": it.n, "pollster": it.pollster}
    if it.kind == "episode":
        return {"kind": "episode", "action": it.action, "responses": dict(it.responses)}
    a, b = W.maxent_beta(it.lower, it.upper, it.mass)
    return {"kind": "judgement", "action": it.action, "response": it.response, "alpha": a, "beta": b}


def _agree(js, d, it, inputs) -> np.ndarray:
    want = W.item_loglik(d, W.check_items([it], d, inputs)[0], inputs)
    got = np.asarray(js.call("loglik", _js_item(d, it, inputs)))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=LL_ATOL, err_msg=f"{it}: JavaScript vs Python")
    return want


@pytest.fixture(scope="module")
def real(cfg, inputs):
    inputs = with_opinion_signs(inputs, {inputs.ontology.response_ids[0]: 1})
    fitted = fake_fit(inputs, chains=2, draws=300, seed=21, kappa=1.2)
    d = draws_from_fit(cfg, inputs, fitted, inputs.ontology.action_ids[1], n_draws=400)
    return d, inputs


def test_the_poll_term_known_and_new_pollster(js, real):
    d, inputs = real
    _load(js, d)
    assert d.pollsters, "the draws must know a pollster"
    known = _agree(js, d, W.Poll(0.81, 1200, d.pollsters[0]), inputs)
    new = _agree(js, d, W.Poll(0.81, 1200), inputs)
    assert np.abs(known - new).max() > 0.1  # the two branches differ: a port of one for the other fails


def test_the_episode_and_judgement_terms(js, real):
    d, inputs = real
    _load(js, d)
    ont = inputs.ontology
    executed = next(r for r in ont.response_ids if ont.ancestors(r))
    other = next(r for r in ont.response_ids if not ont.ancestors(r) and r != ont.ancestors(executed)[0])
    _agree(js, d, W.Episode(d.actions[2], ((executed, 1), (other, 0))), inputs)
    _agree(js, d, W.Judgement(d.actions[3], other, 0.2, 0.45, 0.8), inputs)


def test_psis_hdi_and_the_beta_solver(js, real):
    d, _ = real
    rng = np.random.default_rng(4)
    for lr in (rng.normal(0, 1.5, 400), 4.0 * (d.theta.astype(float) - 0.7), np.zeros(400),
               rng.standard_t(2, 400) * 3):
        w, k, ess = js.call("psis", lr.tolist())
        want = psis_weights(lr)
        np.testing.assert_allclose(w, want.w, rtol=1e-10, atol=1e-14)
        assert (k is None and not np.isfinite(want.k)) or k == pytest.approx(want.k, rel=1e-10, abs=1e-12)
        assert ess == pytest.approx(want.ess, rel=1e-10)
        x = d.p[:, 0].astype(float)
        lo, hi = js.call("hdi", x.tolist(), want.w.tolist(), 0.9)
        assert (lo, hi) == summary.weighted_hdi(x, want.w, 0.9)
    # the entropy is flat at its maximum: the two searches (scipy's betainc and digamma, the page's own) stop
    # within 1e-7 (relative) of each other, far below a misencoded range (the wrong mass moves them by 10%)
    for lo, hi, mass in ((0.1, 0.3, 0.8), (0.45, 0.75, 0.9), (0.02, 0.06, 0.5)):
        got = js.call("beta", lo, hi, mass)
        np.testing.assert_allclose(got, W.maxent_beta(lo, hi, mass), rtol=1e-6)
        assert np.abs(np.asarray(got) / W.maxent_beta(lo, hi, mass + 0.05) - 1).max() > 0.05


def test_the_whole_answer_with_a_base_update(js, real):
    d, inputs = real
    d = dataclasses.replace(d, base_log_ratio=(3.0 * (d.theta.astype(float) - 0.75)).astype(np.float32))
    _load(js, d)
    items = [W.Poll(0.7, 600, d.pollsters[-1]), W.Judgement(d.actions[0], d.responses[1], 0.3, 0.6)]
    res = W.reweight(d, items, inputs)
    lls = [W.item_loglik(d, it, inputs).tolist() for it in W.check_items(items, d, inputs)]
    out = js.call("answer", lls)
    rows = res.table.set_index(["kind", "id"])
    assert len(out["rows"]) == len(rows)
    for r in out["rows"]:
        for f in ("before_mean", "before_low", "before_high", "after_mean", "after_low", "after_high"):
            assert r[f] == pytest.approx(rows.at[(r["kind"], r["id"]), f], rel=1e-10, abs=1e-12), (r["id"], f)
    assert out["pareto_k"] == pytest.approx(res.pareto_k, rel=1e-10)
    assert out["ess"] == pytest.approx(res.ess, rel=1e-10)
    assert out["before_pareto_k"] == pytest.approx(res.before_pareto_k, rel=1e-10)


@pytest.mark.parametrize("hyper", [{"poll_effects": "sum_to_zero"}, {"episode_opinion": "reference"},
                                   {"attribute_cells": "observe"}])
def test_the_ablation_settings_the_page_follows(js, cfg, hyper):
    """The synthetic ontology (r2 requires r1; r5 restates an attribute): each setting as the Python terms."""
    inputs = simulate_inputs(n_episodes=5, seed=3, hyper=hyper)
    inputs.ontology.responses["coded_from"] = ""
    inputs.ontology.responses.loc["r5", "coded_from"] = "consent"
    inputs = with_opinion_signs(inputs, {"r0": 1, "r2": -1, "r5": 1})
    fitted = fake_fit(inputs, chains=1, draws=300, seed=5, pollsters=["A", "B"], kappa=1.5)
    d = draws_from_fit(cfg, inputs, fitted, "a2", n_draws=300)
    assert d.consts["house_zero_sum"] == (switch(hyper, "poll_effects") == "sum_to_zero")
    _load(js, d)
    ep = W.Episode("a1", (("r2", 1), ("r5", 1), ("r3", 0)))
    got = _agree(js, d, ep, inputs)
    _agree(js, d, W.Poll(0.6, 300, "B"), inputs)
    if switch(hyper, "poll_effects") == "sum_to_zero":
        assert js.call("loglik", {"kind": "poll", "share": 0.6, "n": 300, "pollster": None}) == {
            "error": "new_pollster_zero_sum"}
        with pytest.raises(Exception, match="sum_to_zero"):
            W.item_loglik(d, W.Poll(0.6, 300), inputs)
    shipped = dataclasses.replace(inputs, hyper={k: v for k, v in inputs.hyper.items() if k not in hyper})
    if "episode_opinion" in hyper or "attribute_cells" in hyper:  # the setting matters at these draws
        base = draws_from_fit(cfg, shipped, fitted, "a2", n_draws=300)
        assert np.abs(W.item_loglik(base, W.check_items([ep], base, shipped)[0], shipped) - got).max() > 1e-3


def test_the_page_inlines_the_core_then_the_panel():
    from forecast.outputs.render import whatif_script

    script = whatif_script()
    core = CORE.read_text(encoding="utf-8")
    assert script.startswith(core) and "ForecastWhatIfCore" in script[len(core):]
    assert "document" not in core and "performance" not in core, "the core must run without a DOM"


def test_synthetic_draws_need_no_fit():
    """The closed-form tests' draws (tests/whatif_draws.py) load in the core as the page's do."""
    syn = simulate_inputs(n_episodes=12, seed=3)
    d = synthetic_draws(syn, S=300)
    ctx = racer.MiniRacer()
    ctx.eval(CORE.read_text(encoding="utf-8"))
    ctx.eval(HARNESS)
    _load(ctx, d)
    _agree(ctx, d, W.Poll(0.7, 100, "A"), syn)
