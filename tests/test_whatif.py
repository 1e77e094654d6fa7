"""The what-if path (forecast/analysis/whatif/, `forecast whatif`): hypothetical evidence reweights the report's
draws. No MCMC: seeded draws whose answer is known in closed form, and seeded random parameters of the real
ontology pushed through the report's own code. The page's JavaScript is checked against this path in
tests/test_whatif_browser.py."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import shlex

import numpy as np
import pandas as pd
import pytest
from numpy.polynomial.hermite_e import hermegauss
from scipy.special import betainc, expit

from forecast.analysis import whatif as W
from forecast.analysis.whatif import beta as B
from forecast.errors import InputError
from forecast.model import terms as T
from forecast.model.psis import psis_weights
from forecast.model.reweight import LogRatios

from .synthetic import simulate_inputs
from .whatif_draws import draws_from_fit, episode_change, fake_fit, synthetic_draws, with_opinion_signs


@pytest.fixture(scope="module")
def syn():
    return simulate_inputs(n_episodes=12, seed=3)


def _row(res: W.Result, rid: str, kind: str = "response") -> dict:
    t = res.table
    return t[(t["id"] == rid) & (t["kind"] == kind)].iloc[0].to_dict()


def _is_se(x: np.ndarray, w: np.ndarray) -> float:
    """Monte Carlo standard error of a self-normalised importance-sampling mean."""
    m = float(w @ x)
    return float(np.sqrt(np.sum(w ** 2 * (x - m) ** 2)))


# ---------------------------------------------------------------------- answers known in closed form
def test_a_poll_moves_the_opinion_as_the_conjugate_posterior(syn):
    """theta ~ Beta(8, 2) draws and a poll by a pollster with zero wording effect, 12 of 20 opposed: the
    reweighted mean of theta is the Beta(20, 10) mean 2/3. Catches a poll read as the share in favour (0.53), a
    lost sample size, a sign error in the binomial term; and a known pollster's stored wording effect ignored."""
    theta = np.random.default_rng(1).beta(8, 2, 4000)
    d = synthetic_draws(syn, S=4000, theta=theta, house=np.zeros((4000, 1)))
    res = W.reweight(d, [W.Poll(0.6, 20, "A")], syn)
    th = _row(res, "public_opposition", "opinion")
    poll = pd.DataFrame([{"pollster": "A", "n": 20, "share_opposed": 0.6}])
    # the same weights, to size the MC error
    w = psis_weights(T.poll_loglik(d.theta.astype(float), d.house.astype(float), ["A"], poll, syn.hyper)).w
    se = _is_se(d.theta.astype(float), w)
    assert abs(th["before_mean"] - 0.8) < 0.01
    assert abs(th["after_mean"] - 2 / 3) < 4 * se + 1e-3, (th["after_mean"], se, "the poll term is wrong")
    assert th["after_high"] < th["before_high"]
    assert res.reliable and res.pareto_k < 0.7
    # the same poll by a pollster whose stored wording effect is +1 logit: it reads opinion 1 logit too high
    d_house = synthetic_draws(syn, S=4000, theta=theta, house=np.ones((4000, 1)))
    shifted = _row(W.reweight(d_house, [W.Poll(0.6, 20, "A")], syn), "public_opposition", "opinion")
    assert shifted["after_mean"] < th["after_mean"] - 0.05, "a known pollster's wording effect was ignored"
    # a new pollster: its wording effect integrated out, so the same poll moves the opinion less
    new = _row(W.reweight(d, [W.Poll(0.6, 20)], syn), "public_opposition", "opinion")
    assert th["after_mean"] < new["after_mean"] < 0.8 - 0.01


def test_a_judgement_moves_its_cell_as_the_normal_posterior(syn):
    """With no episode factor (loadings 0) logit P(r | a) is the linear predictor; draws of it ~ N(0, 1) and the
    judgement's pseudo-observation N(mu | eta, sd) give the Normal posterior mean (mu / sd^2) / (1 + 1 / sd^2).
    Catches a judgement read on another cell, a wrong scale (sd vs sd^2) or a misencoded range."""
    rng = np.random.default_rng(2)
    S, a, r = 4000, 2, 3  # a2, r3 (no required response)
    eta = rng.normal(0, 0.3, (S, 4, 8))
    eta[:, a, r] = rng.normal(0, 1, S)
    p = np.zeros((S, 8))
    p[:, r] = eta[:, a, r]  # the summarised column holds the cell's logit, to read its weighted mean
    d = synthetic_draws(syn, S=S, eta=eta, p=p)
    item = W.Judgement("a2", "r3", 0.6, 0.8, 0.8)
    mu, sd = W.judgement_claim(item, syn).logit_normal()
    x = d.eta[:, a, r].astype(float)
    prec = 1 / x.var() + 1 / sd ** 2
    expected = (x.mean() / x.var() + mu / sd ** 2) / prec
    res = W.reweight(d, [item], syn)
    got = _row(res, "r3")["after_mean"]
    ll = -0.5 * ((mu - x) / sd) ** 2
    se = _is_se(x, psis_weights(ll)[0])
    assert abs(got - expected) < 4 * se + 0.01, (got, expected, se)
    assert abs(_row(res, "r3")["before_mean"]) < 0.05 and expected > 0.5


def test_an_episode_weighs_each_draw_by_its_coded_cells(syn):
    """One coded cell y = 1 and no episode factor: each draw weighs sigmoid(eta), so E[eta | y] is the ratio of
    two Gauss-Hermite integrals. Catches an episode read on another action, y inverted, the factor mishandled."""
    rng = np.random.default_rng(3)
    S, a, r = 4000, 1, 0
    eta = rng.normal(0, 0.3, (S, 4, 8))
    eta[:, a, r] = rng.normal(0, 1, S)
    p = np.zeros((S, 8))
    p[:, r] = eta[:, a, r]
    d = synthetic_draws(syn, S=S, eta=eta, p=p)
    x, wq = hermegauss(80)
    expected = float(np.sum(wq * x * expit(x)) / np.sum(wq * expit(x)))  # about 0.41
    res = W.reweight(d, [W.Episode("a1", (("r0", 1),))], syn)
    got = _row(res, "r0")["after_mean"]
    se = _is_se(d.eta[:, a, r].astype(float), psis_weights(np.log(expit(d.eta[:, a, r].astype(float))))[0])
    assert abs(got - expected) < 4 * se + 0.005, (got, expected, se)
    zero = _row(W.reweight(d, [W.Episode("a1", (("r0", 0),))], syn), "r0")["after_mean"]
    assert abs(zero + expected) < 4 * se + 0.005, "y = 0 must pull the cell down as much as y = 1 pulls it up"


def test_an_executed_response_implies_its_threat_and_contradictions_are_refused(syn):
    """As the evidence loader: r2 (requires r1) coded 1 adds r1 = 1; r1 = 0 with r2 = 1 is one line naming r1."""
    d = synthetic_draws(syn, S=100)
    ep = W.check_items([W.Episode("a1", (("r2", 1),))], d, syn)[0]
    assert dict(ep.responses) == {"r1": 1, "r2": 1}
    with pytest.raises(InputError, match=r"r1: coded 0 but r2 \(which requires it\) is coded 1; code r1=1"):
        W.check_items([W.Episode("a1", (("r1", 0), ("r2", 1)))], d, syn)


# ---------------------------------------------------------------------- the same terms as the PSIS update
def test_the_what_if_terms_are_the_psis_updates_terms(syn):
    """For the same evidence, on the same parameters, the what-if's log-likelihood (from the report's float32
    eta at the current opinion) equals the update machinery's (episode_loglik at the episode's own opinion,
    poll_loglik, the signal term) to float32 rounding. Catches an episode or judgement at the reference opinion
    instead of the current one (opinion signs and effects are large here), a wrong action, thinning that
    misaligns the arrays."""
    import forecast

    inputs = with_opinion_signs(syn, {"r0": 1, "r3": -1, "r5": 1})
    fitted = fake_fit(inputs, chains=2, draws=300, seed=4, pollsters=["A", "B"], kappa=1.5)

    cfg = forecast.compose(["report.whatif_draws=400"])
    d = draws_from_fit(cfg, inputs, fitted, "a2", n_draws=400)
    assert d.size == 400 and d.total_draws == 600
    idx = W.thin_index(600, 400)
    terms = LogRatios(fitted.idata, inputs, ["A", "B"])
    ep = W.Episode("a2", (("r0", 1), ("r3", 0), ("r5", 1)))
    got = W.item_loglik(d, ep, inputs)
    want = terms.one(episode_change(inputs, "a2", dict(ep.responses), inputs.as_of)).ravel()[idx]
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)
    item = W.Judgement("a3", "r0", 0.3, 0.6, 0.8)
    claim = W.judgement_claim(item, inputs)
    want = T.cell_claim_loglik(terms.lp(True), inputs.ontology, inputs.hyper, claim).ravel()[idx]
    np.testing.assert_allclose(W.item_loglik(d, item, inputs), want, rtol=2e-5, atol=2e-5)
    ref = T.cell_claim_loglik(terms.lp(False), inputs.ontology, inputs.hyper, claim).ravel()[idx]
    assert np.max(np.abs(ref - want)) > 1e-2, "the test cannot tell current from reference opinion"
    for poll in (W.Poll(0.7, 900, "B"), W.Poll(0.7, 900)):
        name = poll.pollster or "someone new"
        ds = fitted.idata["posterior"].to_dataset()
        want = T.poll_loglik(ds["public_opposition"].values, *T.stored_house(ds),
                             pd.DataFrame([{"pollster": name, "n": 900, "share_opposed": 0.7}]), inputs.hyper).ravel()
        np.testing.assert_allclose(W.item_loglik(d, poll, inputs), want[idx], rtol=2e-5, atol=2e-5)


def test_the_reports_own_update_and_the_what_if_are_smoothed_together(syn):
    """A report whose posterior is a PSIS update: 'before' is that update on these draws, 'after' one PSIS of
    the summed log ratios. Catches the what-if weights applied to the unweighted draws, or smoothed twice."""
    rng = np.random.default_rng(5)
    S = 2000
    theta = rng.beta(8, 2, S)
    base = 3.0 * (theta - 0.8)
    d = synthetic_draws(syn, S=S, theta=theta, base_log_ratio=base)
    none = W.reweight(d, [], syn)
    th = _row(none, "public_opposition", "opinion")
    w0, k0, _ = psis_weights(d.base_log_ratio.astype(float))
    assert th["before_mean"] == pytest.approx(float(w0 @ d.theta.astype(float)), abs=1e-12)
    assert th["after_mean"] == th["before_mean"] and none.pareto_k == k0
    poll = W.Poll(0.75, 500, "A")
    res = W.reweight(d, [poll], syn)
    w, k, _ = psis_weights(d.base_log_ratio.astype(float) + W.item_loglik(d, poll, syn))
    assert _row(res, "public_opposition", "opinion")["after_mean"] == pytest.approx(float(w @ d.theta.astype(float)),
                                                                                    abs=1e-12)
    assert res.pareto_k == pytest.approx(k)


# ---------------------------------------------------------------------- unreliable answers and their commands
def test_huge_k_is_flagged_and_the_printed_commands_run(inputs, data_copy, capsys):
    """A poll far outside the draws (99% of 100000) gives k > 0.7: the result says unreliable and its commands
    are the CLI's real syntax: they add valid entries to a copy of the evidence log (read back by the loader),
    and the refit command composes. Catches a command the CLI would refuse (a wrong flag, an unquoted name, an
    entry dated after the report)."""
    import forecast
    from forecast.cli.main import main
    from forecast.inputs.config import validate
    from forecast.inputs.evidence import load_evidence

    cfg = forecast.compose([])
    d = draws_from_fit(cfg, inputs, fake_fit(inputs, chains=2, draws=500, seed=6), "one_time_raid",
                       command="forecast scenario=repeated_raids as_of=" + inputs.as_of.isoformat())
    items = [W.Poll(0.99, 100_000), W.Episode("one_time_raid", (("expel_agents", 1), ("diplomatic_protest", 0))),
             W.Judgement("one_time_raid", "legal_action_or_demand_return", 0.45, 0.75, 0.8),
             W.Poll(0.8, 1000, sorted(set(inputs.polls["pollster"]))[0])]
    res = W.reweight(d, items, inputs)
    assert res.pareto_k > 0.7 and not res.reliable
    assert len(res.commands) == 5 and res.commands[-1].endswith("scenario=one_time_raid update=refit")
    for cmd in res.commands[:-1]:
        argv = shlex.split(cmd)
        assert argv[:3] == ["forecast", "evidence", "add"], cmd
        with pytest.raises(SystemExit) as e:
            main(["evidence", "add", "--data-dir", str(data_copy), *argv[3:]])
        assert e.value.code == 0, capsys.readouterr().err
    log = load_evidence(data_copy / "evidence", inputs.ontology, dt.date.today())
    added = [e for e in log.entries if e.id.startswith("E-WHATIF-")]
    assert [e.kind for e in added] == ["poll", "episode", "signal", "poll"]
    assert all(e.date_known == inputs.as_of for e in added)
    refit = shlex.split(res.commands[-1])
    assert refit[0] == "forecast" and "as_of=" + inputs.as_of.isoformat() in refit
    validate(forecast.compose(refit[1:]))


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize(("kind", "text", "message"), [
    ("poll", "share=1.3,n=1000", r"--poll 'share=1.3,n=1000', share: 1.3 is outside \[0, 1\]; give the share"),
    ("poll", "share=0.85,n=0", r", n: 0 is outside \[1, 10000000\]; give the number of respondents"),
    ("poll", "share=0.85,n=10.5", r", n: 10.5 is not a whole number"),
    ("poll", "share0.85", r"'share0.85' is not NAME=VALUE; write NAME=VALUE pairs separated by commas"),
    ("poll", "share=0.85", r"no n=; add it"),
    ("poll", "share=0.85,n=100,size=3", r"unknown name 'size'; use only share, n, pollster"),
    ("poll", "share=abc,n=100", r"share: 'abc' is not a number"),
    ("episode", "action=one_time_raid", r"no response coded; code at least one response"),
    ("episode", "action=one_time_raid,expel_agents=2", r"expel_agents: 2 is outside \[0, 1\]; code 1"),
    ("judgement", "action=a,response=r,lower=0.8,upper=0.3", r"lower/upper: \[0.8, 0.3\] is not a range strictly"),
    ("judgement", "action=a,response=r,lower=0.1,upper=0.3,mass=0.3", r"mass: 0.3 is outside \[0.5, 0.99\]"),
])
def test_bad_items_are_one_line_naming_the_field_and_the_fix(kind, text, message):
    """Each malformed item is refused before anything loads, in one line naming the field, with the fix."""
    with pytest.raises(InputError, match=message) as e:
        W.parse_item(kind, text)
    assert "\n" not in str(e.value) and "; " in str(e.value)


def test_unknown_names_are_refused_with_the_known_ones(syn):
    """An action, response or pollster the posterior does not have: one line, with what to use instead (every valid
    id, and the one meant when it is close: before, a response was refused with "use the response ids of
    data/ontology/responses.csv" and no id)."""
    d = synthetic_draws(syn, S=50, pollsters=("A",))
    rs = ", ".join(d.responses)
    for item, msg in ((W.Episode("zz", (("r0", 1),)), r"action: 'zz' is not an action type; use one of the action "
                                                      r"types \(forecast actions lists them\): a0, a1"),
                      (W.Episode("a0", (("zz", 1),)), rf"zz: 'zz' is not a response; use one of the responses "
                                                      rf"\(forecast responses lists them\): {rs}$"),
                      (W.Episode("a0", (("r", 1),)), r"did you mean 'r0'\? use one of the responses"),
                      (W.Judgement("a0", "zz", 0.1, 0.2), r"response: 'zz' is not a response; use one of"),
                      (W.Poll(0.5, 10, "Nobody"), r"pollster: 'Nobody' is not a pollster of this posterior \(known: "
                                                  r"A\); name one of them, or leave pollster out")):
        with pytest.raises(InputError, match=msg):
            W.check_items([item], d, syn)


def test_forecast_whatif_refuses_bad_input_before_loading_anything(capsys, monkeypatch):
    """`forecast whatif --poll share=1.3,...` is exit 2 with one line, and never loads inputs or fits."""
    from forecast import api
    from forecast.cli.main import main

    monkeypatch.setattr(api, "load_inputs", lambda cfg: pytest.fail("loaded inputs for a bad item"))
    for argv in (["whatif", "--poll", "share=1.3,n=1000"], ["whatif", "--episode", "expel_agents=1"],
                 ["whatif", "scenario=one_time_raid"], ["whatif", "--poll"]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        err = capsys.readouterr().err
        assert e.value.code == 2, err
        assert len(err.strip().splitlines()) == 1 and err.startswith("forecast: error: "), err


# ---------------------------------------------------------------------- the judgement's encoding
@pytest.mark.parametrize(("lower", "upper", "mass"), [(0.45, 0.75, 0.8), (0.05, 0.15, 0.8), (0.01, 0.1, 0.9)])
def test_maxent_beta_is_the_constrained_maximum_and_close_to_preliz(lower, upper, mass):
    """The judgement's Beta holds `mass` in [lower, upper] to 1e-9 and no nearby Beta that does has more entropy;
    PreliZ's maxent (what `forecast evidence add signal` uses) is within its optimiser's tolerance of it.
    Catches a search that stops early or meets the constraint only roughly."""
    from forecast.inputs.priors import elicit

    a, b = W.maxent_beta(lower, upper, mass)
    assert abs(betainc(a, b, upper) - betainc(a, b, lower) - mass) < 1e-9
    mu = a / (a + b)
    h = B._entropy_at(mu, lower, upper, mass)
    for dm in (-1e-3, 1e-3, -1e-2, 1e-2):
        assert B._entropy_at(mu + dm, lower, upper, mass) <= h + 1e-12
    pz = elicit("Beta", lower, upper, mass)
    assert a == pytest.approx(pz["alpha"], rel=2e-3) and b == pytest.approx(pz["beta"], rel=2e-3)


# ---------------------------------------------------------------------- what the page embeds
def test_thinning_and_the_payload_round_trip(syn):
    """Every k-th draw, chains in order; the page's payload decodes to the very float32 arrays Python uses."""
    assert np.array_equal(W.thin_index(8000, 2000), np.arange(0, 8000, 4))
    assert np.array_equal(W.thin_index(1000, 2000), np.arange(1000))
    assert np.array_equal(W.thin_index(3000, 2000), (np.arange(2000) * 3000) // 2000)
    d = synthetic_draws(syn, S=300, base_log_ratio=np.linspace(-1, 1, 300))
    back = W.from_payload(json.loads(json.dumps(W.payload(d))))
    assert d.eta_reference is None and back.eta_reference is None  # only under model.episode_opinion=reference
    for k in W.ARRAYS:
        if k == "eta_reference":
            continue
        assert np.array_equal(getattr(back, k), getattr(d, k)) and getattr(back, k).dtype == np.float32


def test_the_panel_in_the_page_is_escaped_and_allowed_by_hash_only(syn):
    """A hostile label cannot leave the data block; the one script runs because the page's Content-Security-Policy
    names its hash, and nothing may be fetched. Catches a label pasted raw into the page, a stale hash."""
    from pathlib import Path

    from forecast.outputs.render import render_html, render_markdown, whatif_script

    data = json.loads((Path(__file__).parent / "fixtures" / "forecast_example.json").read_text(encoding="utf-8"))
    d = synthetic_draws(syn, S=50)
    d.labels[0] = '</script><script>alert(1)</script><!-- & "x"'
    data["whatif"] = W.summary(d)
    page = render_html(data, {}, whatif=W.payload(d))
    block = re.search(r'<script type="application/json" id="whatif-data">(.*?)</script>', page, re.S).group(1)
    assert "<" not in block and ">" not in block and "&" not in block
    assert json.loads(block)["labels"][0] == d.labels[0]
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert scripts == [whatif_script()]
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    assert f"script-src 'sha256-{digest}'" in csp and "default-src 'none'" in csp
    assert "Hypothetical." in page and "What if" in page
    md = render_markdown(data, {})
    assert "forecast whatif scenario=s --poll share=0.85,n=1000" in md
    # without the panel's data: no script at all, as before
    del data["whatif"]
    assert "<script" not in render_html(data, {}) and "script-src" not in render_html(data, {})


def test_whatif_js_ships_as_package_data():
    """whatif_core.js and whatif.js are inlined from the installed package: pyproject must ship them."""
    import fnmatch
    import tomllib
    from pathlib import Path

    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["forecast.outputs"]
    for name in ("whatif_core.js", "whatif.js"):
        assert any(fnmatch.fnmatch(name, p) for p in patterns), name
