"""Issue 16: the model claims no more than its sources support.

Disagreeing polls widen the opinion; the record and the forecasts share one opinion equation; a
claim naming k action types counts once; a claim is known only from its date, and a source it
restates is counted once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest

import forecast
from forecast.inputs.data import polls_frame
from forecast.inputs.priors import parse_claim
from forecast.model.build import KAPPA, OBS_CLAIM, OBS_HIST, THETA, THETA_PAST, design
from tests.synthetic import ontology, simulate_inputs

TODAY = dt.date(2026, 11, 29)


# ---------------------------------------------------------------------- 3: each claim counted once
def _claim_curvature(actions: list[str]) -> float:
    """Second derivative of the claim term's log density when every named cell's logit moves by t."""
    base = simulate_inputs(n_episodes=20, seed=3)
    ont = ontology()
    claim = parse_claim("c", {"quote": "synthetic", "constrains": {"kind": "cell", "actions": actions,
                                                                   "response": "r3"},
                              "elicit": {"family": "Beta", "alpha": 4, "beta": 6}}, ont, "synthetic")
    # at full weight (the learned weight scales every claim's precision alike: tests/test_model_assumptions.py)
    inputs = dataclasses.replace(base, claims=[*base.claims, claim], hyper={**base.hyper, "claim_weight": "fixed"})
    model = forecast.build_model(inputs)
    logp = model.compile_logp(vars=[model[OBS_CLAIM]])
    point = model.initial_point()
    point["loading_abs_log__"] = np.full_like(point["loading_abs_log__"], -8.0)  # logit P = eta
    sd_cell = float(np.exp(point["sd_cell_log__"]))
    cols = [ont.action_ids.index(a) for a in actions]

    def at(t: float) -> float:
        p = {k: v.copy() for k, v in point.items()}
        p["w_cell"][cols, ont.response_ids.index("r3")] += t / sd_cell
        return float(logp(p))

    h = 0.05
    return -(at(h) - 2 * at(0.0) + at(-h)) / h**2


def test_listing_a_claim_under_more_action_types_does_not_sharpen_its_cells():
    """One claim about one cell vs the same claim listing three action types: the information it adds
    about the cells it names (curvature of its log density along their common logit) is the claim's
    own precision 1/sd^2 either way. Counting it once per action (the old encoding) makes the ratio 3;
    the tolerance (1 +/- 0.05) leaves room only for finite-difference error."""
    one = _claim_curvature(["a1"])
    three = _claim_curvature(["a1", "a2", "a3"])
    mu, sd = parse_claim("c", {"quote": "q", "constrains": {"kind": "cell", "actions": ["a1"], "response": "r3"},
                               "elicit": {"family": "Beta", "alpha": 4, "beta": 6}}, ontology(), "s").logit_normal()
    assert one == pytest.approx(1 / sd**2, rel=0.05)
    assert three / one == pytest.approx(1.0, abs=0.05)


# ---------------------------------------------------------------------- 2: one model for past and present
def test_the_record_is_generated_at_the_opinion_of_its_time():
    """The precedents' likelihood moves with the opinion effect where an episode's opinion differs from the
    article's reference: inside the poll window (the polled opinion). Episodes before it sit at the reference
    (no poll measures their time: tests/test_model_assumptions.py); with model.era_opinion=free (the model
    before) they sit at a free era opinion and move too. With the record fitted at the reference opinion (the
    model before that) the history term does not depend on kappa at all (change 0); here it changes by well
    over 1e-3 nats when kappa doubles."""
    def change(inputs, past: bool) -> float:
        d = design(inputs)
        assert d.ep_recent.any() and (~d.ep_recent).any()  # both eras present in today's record
        model = forecast.build_model(inputs)
        assert (THETA_PAST in model.named_vars) == past
        logp = model.compile_logp(vars=[model[OBS_HIST]])
        point = model.initial_point()
        if past:
            point["z_opinion_past"] = np.asarray(1.0)  # the past one sd above the reference opinion
        lo = float(logp(point))
        point[f"{KAPPA}_log__"] = point[f"{KAPPA}_log__"] + np.log(2.0)
        return abs(float(logp(point)) - lo)

    assert change(forecast.load_inputs(forecast.compose([]), TODAY), past=False) > 1e-3
    assert change(forecast.load_inputs(forecast.compose(["model.era_opinion=free"]), TODAY), past=True) > 1e-3


# ---------------------------------------------------------------------- 4: dates and restatements
def test_an_as_of_before_the_article_uses_no_claim_unless_asked():
    """as_of 2015: every article claim (dated 2026-01-16) is unused and the latent drivers take the
    weakly-informative defaults; priors_before_article=apply uses them and says so. Before claims carried
    a date, a 2015 back-test used all 22 claims."""
    early = forecast.load_inputs(forecast.compose(["as_of=2015-06-01"]), TODAY)
    assert early.claims and all(c.unused.startswith("dated 2026-01-16") for c in early.claims)
    d = design(early)
    assert d.theta_ab == (2.0, 2.0) and len(d.claim_mu) == 0 and len(d.order_k) == 0
    assert early.provenance["priors_before_article"] == "exclude"
    applied = forecast.load_inputs(forecast.compose(["as_of=2015-06-01", "priors_before_article=apply"]), TODAY)
    assert not any(c.unused for c in applied.claims if c.id != "C15")
    assert len(applied.provenance["claims_applied_before_their_date"]) == len(applied.claims)
    assert applied.provenance["priors_before_article"] == "apply"
    with pytest.raises(forecast.errors.ConfigError, match="priors_before_article"):
        forecast.load_inputs(forecast.compose(["priors_before_article=maybe"]), TODAY)


def test_a_restated_source_is_counted_once_and_the_kept_one_is_recorded():
    """Today: P15's threat and legal-limit cells leave the record (C33, C35 kept), the command-centres
    signal leaves (C48 kept), the refusals C05 summarises leave, C15 is unused while the poll it reports (the
    article's 80%, ARTICLE-80, from the article's day) is in. Old behaviour: every one of them counted twice."""
    now = forecast.load_inputs(forecast.compose([]), TODAY)
    out = now.episodes.outcomes
    assert np.isnan(out.at["P15", "threat_expel_agents"]) and np.isnan(out.at["P15", "legal_restrict_foreign_agents"])
    assert out.at["P15", "diplomatic_protest"] == 1.0  # the other cells stay
    assert np.isnan(out.at["P22", "diplomatic_protest"])  # summarised by C05, which is kept
    assert "E-2026-01-command-centres-offer" not in {s.id for s in now.signals}
    c15 = next(c for c in now.claims if c.id == "C15")
    assert c15.unused and "ARTICLE-80" in now.polls.index and "E-2026-02-elfinanciero-poll" in now.polls.index
    assert design(now).theta_ab == (2.0, 2.0)
    kept = {r["claim"]: r["kept"] for r in now.provenance["restated"]}
    assert kept == {"C15": "source", "C05": "claim", "C33": "claim", "C35": "claim", "C48": "claim", "C06": "claim"}
    # before El Financiero's poll was known (2026-02-04) the article's own 80% is already the poll C15 restates
    before_poll = forecast.load_inputs(forecast.compose(["as_of=2026-02-01"]), TODAY)
    assert next(c for c in before_poll.claims if c.id == "C15").unused
    assert "E-2026-02-elfinanciero-poll" not in before_poll.polls.index and "ARTICLE-80" in before_poll.polls.index


# ---------------------------------------------------------------------- 1: opinion with honest uncertainty
@pytest.mark.slow
def test_disagreeing_polls_widen_the_opinion():
    """Two polls 1.76 logits apart (Cripeso 0.39 of 2,465; El Financiero 0.788 of 1,000) under the weak
    opinion prior: the opinion's 90% interval covers at least half of the logit range between them, and
    each pollster's wording effect is estimated with the sign of its departure. With zero-sum house effects
    (the old model) the interval was 0.07 logits wide, 4% of the range."""
    base = simulate_inputs(n_episodes=30, seed=5)
    theta_claim = parse_claim("theta", {"quote": "weak", "constrains": {"kind": "latent",
                                                                      "target": "public_opposition"},
                                        "elicit": {"family": "Beta", "alpha": 2, "beta": 2}}, ontology(), "s")
    polls = polls_frame([
        {"id": "cripeso", "pollster": "Cripeso", "date": dt.date(2026, 1, 20), "n": 2465, "share_opposed": 0.39,
         "use": "likelihood", "wording": "", "source": ""},
        {"id": "elfin", "pollster": "El Financiero", "date": dt.date(2026, 1, 31), "n": 1000,
         "share_opposed": 0.788, "use": "likelihood", "wording": "", "source": ""}])
    inputs = dataclasses.replace(base, polls=polls, claims=[theta_claim, base.claims[1]])
    sampler = {"nuts_sampler": "nutpie", "draws": 500, "tune": 500, "chains": 2, "cores": 2, "target_accept": 0.9}
    fitted = forecast.model.fit.fit(inputs, sampler, seed=16)
    post = fitted.idata["posterior"].to_dataset()
    lt = np.log(post[THETA] / (1 - post[THETA])).values.ravel()
    q05, q95 = np.quantile(lt, [0.05, 0.95])
    lo, hi = np.log(0.39 / 0.61), np.log(0.788 / 0.212)
    covered = max(0.0, min(q95, hi) - max(q05, lo)) / (hi - lo)
    assert covered >= 0.5, (q05, q95, covered)
    house = post["house"].mean(("chain", "draw"))
    assert float(house.sel(pollster="Cripeso")) < -0.2 < 0.2 < float(house.sel(pollster="El Financiero"))


# ---------------------------------------------------------------------- 5: calibrated cells
@pytest.mark.slow
def test_the_hierarchy_scales_are_not_set_by_their_priors(default_fit):
    """Each pooling scale's posterior mean lies below its HalfNormal prior's 90th percentile (1.645
    sigma): the record, not the prior, sets how far responses and cells stand from the pool. With
    sigma_alpha_response = 1 the response-intercept scale's posterior mean was 1.62-1.79 (> 1.645)."""
    from forecast.inputs.config import hyper

    h = hyper(forecast.compose([]))
    post = default_fit.idata["posterior"].to_dataset()
    for var, key in (("sd_alpha_domain", "sigma_alpha_domain"), ("sd_alpha_response", "sigma_alpha_response"),
                     ("tau_slope_domain", "sigma_slope_domain"), ("tau_slope_response", "sigma_slope_response"),
                     ("sd_cell", "sigma_cell")):
        assert float(post[var].mean()) < 1.645 * h[key], (var, float(post[var].mean()), h[key])
