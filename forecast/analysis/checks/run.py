"""All checks for one configuration: the numbers (JSON-able) and the numbers to draw
(``forecast.outputs.figures.checks`` draws them).

``run_checks`` takes the shipped fit (cached) and runs, in order of cost (``only`` selects some of ``CHECKS``):
the prior predictive check against the article (``prior``), the posterior predictive checks and LOO-PIT
(``ppc``), PSIS-LOO over episodes with the leave-one-episode-out calibration and the same-action base rate
(``loo``), prior sensitivity per scenario (``sensitivity``), the track record (``track``), PSIS-LOO with and
without the article's claims (``claims``: one more fit, cached), the leave-future-out back-test of the
published model, the same without the claims and the history alone (``backtest``: refits cached by their
inputs hash) and, when asked (``sbc_simulations > 0``), SBC (``sbc``). ``headline`` and ``scorecard`` read the
result: the few numbers every report shows, and the figures a model change is measured by.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from forecast.inputs import config as _config
from forecast.model.fit import sampler_settings
from forecast.model.predict import predict

# the checks ``forecast check --only`` selects, cheapest first, and the figures each one draws
CHECKS = ("prior", "ppc", "loo", "sensitivity", "track", "claims", "backtest", "sbc")
CHECK_FIGURES = {"prior": ("prior_claims",), "ppc": ("ppc_counts", "loo_pit"), "loo": ("loo_k", "loo_reliability"),
                 "sensitivity": ("psense_claims",), "track": (), "claims": (), "backtest": ("reliability", "backtest"),
                 "sbc": ("sbc_ecdf",)}
CHECK_KEYS = {"prior": "prior_check", "ppc": "ppc", "loo": "loo", "sensitivity": "sensitivity",
              "track": "track_record", "claims": "claims_loo", "backtest": "backtest", "sbc": "sbc"}
# further results a check writes (kept with it when another run of the same posterior does not select it)
CHECK_EXTRA_KEYS = {"sensitivity": ("era_opinion",)}


def _records(df: pd.DataFrame, nd: int = 4) -> list[dict[str, Any]]:
    if df is None or len(df) == 0:
        return []
    return [{k: (round(float(v), nd) if isinstance(v, float | np.floating) else
                 bool(v) if isinstance(v, np.bool_) else int(v) if isinstance(v, np.integer) else v)
             for k, v in row.items()} for row in df.to_dict("records")]


def _round(x: Any, nd: int = 4) -> Any:
    if isinstance(x, dict):
        return {k: _round(v, nd) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_round(v, nd) for v in x]
    if isinstance(x, float | np.floating):
        return None if not np.isfinite(x) else round(float(x), nd)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def selected(only: list[str] | set[str] | None, sbc_simulations: int = 0, backtest: bool = True) -> list[str]:
    """The checks to run, in ``CHECKS`` order: ``only`` (validated) or every check but SBC (with ``sbc_simulations``
    > 0, SBC too); ``backtest=False`` drops the back-test."""
    from forecast.errors import ConfigError

    if only is None:
        out = [c for c in CHECKS if c != "sbc" or sbc_simulations > 0]
    else:
        bad = sorted(set(only) - set(CHECKS))
        if bad or not only:
            raise ConfigError("--only", f"{', '.join(bad) or 'nothing'} is not a check",
                              f"choose among {','.join(CHECKS)}")
        if "sbc" in only and sbc_simulations <= 0:
            raise ConfigError("--only sbc", "SBC needs a number of simulations", "add --sbc N (N >= 1)")
        out = [c for c in CHECKS if c in only]
    out = [c for c in out if backtest or c != "backtest"]
    if not out:
        raise ConfigError("--only", "nothing left to run (--no-backtest takes the back-test out)",
                          "drop --no-backtest or choose another check")
    return out


def backtest_inputs_at(cfg, today=None):
    """``inputs_at(as_of)`` for the back-test: data/, the priors and the evidence log loaded as of that day (each
    evidence entry from the date it became known, each claim from its date, the restatements of that day), the
    article's claims never applied before their date, whatever ``priors_before_article`` says (that would be
    hindsight in a back-test)."""
    from omegaconf import OmegaConf

    from forecast.inputs.load import load_inputs

    def at(as_of):
        c = cfg.copy()
        OmegaConf.update(c, "as_of", as_of.isoformat(), force_add=True)
        OmegaConf.update(c, "priors_before_article", "exclude", force_add=True)
        return load_inputs(c, today)

    return at


@dataclass
class _Run:
    """One ``run_checks`` call: its arguments, what the checks share (the episodes' log-likelihood, the LOO) and
    what they return (``out``, ``figs``)."""

    cfg: Any
    inputs: Any
    fitted: Any
    todo: list[str]
    say: Any
    out: dict[str, Any]
    figs: dict[str, tuple] = field(default_factory=dict)
    sbc_simulations: int = 0
    min_history: int = 9
    today: Any = None
    history: pd.DataFrame | None = None
    ep_ll: Any = None
    lo: dict[str, Any] | None = None
    ahead: Any = None  # forecast.analysis.checks.ahead.Ahead: the back-test's walks started beside the fit

    @property
    def ont(self):
        return self.inputs.ontology


def _prior(r: _Run) -> None:
    from forecast.analysis.checks.prior_check import prior_check

    r.say("checks: prior predictive check against the article's claims")
    pc = prior_check(r.fitted.idata, r.ont, r.inputs.hyper, r.inputs.claims)
    r.out["prior_check"] = {"claims": _records(pc["claims"]), "orderings": _records(pc["orderings"]),
                            "effects": _records(pc["effects"]), "unclaimed_flags": _records(pc["unclaimed"]),
                            "n_cells": pc["n_cells"], "n_unclaimed": pc["n_unclaimed"]}
    r.figs["prior_claims"] = (pc["claims"],)


def _ppc(r: _Run) -> None:
    from forecast.analysis.checks.ppc import ppc

    r.say("checks: posterior predictive counts per response and LOO-PIT")
    pp = ppc(r.fitted.idata, r.ont, r.inputs.episodes, seed=int(r.cfg.seed) % 2**31, hyper=r.inputs.hyper)
    r.out["ppc"] = {"counts": _records(pp["counts"]), "flags": pp["flags"], "n_cells": pp["n_cells"],
                    "loo_pit_ks_p": pp["loo_pit_ks_p"]}
    r.figs["ppc_counts"] = (pp["counts"],)
    r.figs["loo_pit"] = (pp["tree"],)


def _loo(r: _Run) -> None:
    from forecast.analysis.checks.loo import loo_calibration, vs_base_rate
    from forecast.analysis.checks.scores import reliability_bins

    lo = r.lo
    cal = loo_calibration(r.fitted.idata, r.ont, r.inputs.episodes, lo["log_weights"], r.inputs.hyper)
    cells = cal.pop("cells")
    r.out["loo"] = {**{k: v for k, v in lo.items() if k != "log_weights"},
                    "vs_base_rate_action": vs_base_rate(lo, r.ont, r.inputs.episodes), "calibration": cal}
    r.figs["loo_k"] = (lo["per_episode"],)
    y, p = cells["y"].to_numpy(), cells["p_loo"].to_numpy()
    r.figs["loo_reliability"] = (y, p, reliability_bins(y, p),
                                 "Leave-one-episode-out reliability (CORP/PAV; out of sample); numbers: cells per bin")


def _sensitivity(r: _Run) -> None:
    from forecast.analysis.checks.era_opinion import era_band
    from forecast.analysis.checks.era_opinion import summary_line as era_line
    from forecast.analysis.checks.sensitivity import sensitivity

    r.say("checks: prior sensitivity (power-scaling) for every scenario")
    names = _config.list_scenarios()
    pred = predict(r.fitted.idata, r.ont, r.inputs.hyper, _config.scenario_profiles(r.cfg, r.ont, names))
    sens = {}
    for n, s in sensitivity(r.fitted.idata, r.inputs, pred["p"], ep_ll=r.ep_ll).items():
        sens[n] = {"summary": {k: {"prior": float(s["summary"].at[k, "prior"]),
                                   "likelihood": float(s["summary"].at[k, "likelihood"]),
                                   "diagnosis": str(s["summary"].at[k, "diagnosis"])}
                               for k in s["summary"].index},
                   "top_claims": {k: [[c, v] for c, v in v_] for k, v_ in s["top_claims"].items()},
                   "flags": s["flags"]}
        if n == r.cfg.scenario.name:
            r.figs["psense_claims"] = (s["per_claim"], n)
    r.out["sensitivity"] = sens
    # the assumed opinion of the episodes before the poll window: how far the published numbers move with it
    era = era_band(r.fitted.idata, r.inputs, pred["p"])
    era["sentence"] = era_line(era)
    r.out["era_opinion"] = era


def _track(r: _Run) -> None:
    from forecast.analysis.checks.track import summary_line, track_record

    r.say("checks: track record of resolved branches")
    names = _config.list_scenarios()
    sc = _config.scenario_profiles(r.cfg, r.ont, names)
    hist = r.history if r.history is not None else pd.DataFrame(columns=["scenario", "kind", "as_of", "id", "mean"])
    tr = track_record(hist, r.inputs.episodes, {n: str(sc[n]["action"]) for n in names})
    for n in tr:
        tr[n]["summary"] = summary_line(tr[n])
    r.out["track_record"] = tr


def claims_fit(cfg, inputs, say=None):
    """The inputs without the article's claims and their exact fit (cached), which the claims check compares the
    posterior with: the posterior alone (``sampler.article_prior=false``: the comparison reads no article-only
    prior, and the prior of a model without claims is none of the article's)."""
    from forecast.analysis.checks.backtest import without_claims
    from forecast.inputs import config as _config
    from forecast.model.diagnostics import first_batch_targets
    from forecast.model.fit import fit, sampler_settings

    bare = without_claims(inputs)
    sampler = {**sampler_settings(cfg), "article_prior": False}
    return bare, fit(bare, sampler, int(cfg.seed), _config.paths(cfg)["cache"], notify=say, update="refit",
                     targets=first_batch_targets(cfg))


def _claims(r: _Run) -> None:
    from forecast.analysis.checks.claims import loo_comparison
    from forecast.analysis.checks.loo import loo_episodes

    r.say("checks: PSIS-LOO with and without the article's claims (the fit without them is cached)")
    bare, f0 = claims_fit(r.cfg, r.inputs, r.say)
    lo0 = loo_episodes(f0.idata, r.ont, bare.episodes, hyper=bare.hyper)
    r.out["claims_loo"] = {"inputs_hash_without": f0.inputs_hash, **loo_comparison(r.lo, lo0)}


def _backtest(r: _Run) -> None:
    from forecast.analysis.checks.backtest import backtest as run_backtest
    from forecast.analysis.checks.backtest import scored
    from forecast.analysis.checks.claims import claims_date, sentence, since_claims
    from forecast.analysis.checks.scores import reliability_bins

    walked = r.ahead.walked() if r.ahead is not None else None
    if walked is not None:  # walked by a worker beside the fit: scored here with the article-only prior
        r.say("checks: leave-future-out back-test of the published model, without the claims and of the history "
              "alone (PSIS-LFO; refits cached; walked by a worker beside the fit)")
        bt = scored(walked, r.inputs, r.fitted.idata)
    else:
        r.say("checks: leave-future-out back-test of the published model, without the claims and of the history "
              "alone (PSIS-LFO; refits cached)")
        bt = run_backtest(r.inputs, sampler_settings(r.cfg), int(r.cfg.seed), _config.paths(r.cfg)["cache"],
                          prior_idata=r.fitted.idata, min_history=r.min_history, say=r.say,
                          inputs_at=backtest_inputs_at(r.cfg, r.today))
    if bt.get("ok"):
        r.say(f"back-test: {bt['n_exact_fits']} exact fits, {bt['n_sampled_fits']} sampled by this run, "
              f"{bt['n_exact_fits'] - bt['n_sampled_fits']} from the posterior cache")
    if bt.get("ok"):
        cells = bt.pop("cells")
        date = claims_date(r.inputs.claims)
        s = since_claims(cells)
        bt["since_claims"] = {**s, "claims_date": date, "sentence": sentence(s, date)}
        bt["cells"] = _records(cells.drop(columns=["episode_pos"]))
        y, p = cells["y"].to_numpy(), cells["model"].to_numpy()
        r.figs["reliability"] = (y, p, reliability_bins(y, p),
                                 "Back-test reliability of the published model (CORP/PAV; out of sample); "
                                 "numbers: cells per bin")
        r.figs["backtest"] = (bt["table"],)
    r.out["backtest"] = bt


def _sbc(r: _Run) -> None:
    from forecast.analysis.checks.sbc import rank_tests, run_sbc

    n = r.sbc_simulations
    r.say(f"checks: simulation-based calibration ({n} simulations, simuk)")
    draws = 300
    s = run_sbc(r.inputs, num_simulations=n, draws=draws, tune=draws, seed=int(r.cfg.seed) % 2**31)
    r.out["sbc"] = {"simulations": n, "draws": 2 * draws, **rank_tests(s.simulations, 2 * draws)}
    r.figs["sbc_ecdf"] = (s.simulations,)


# each check's step, in CHECKS order, and the name of its timing
STEPS = {"prior": (_prior, "prior_check"), "ppc": (_ppc, "ppc"), "loo": (_loo, "loo"),
         "sensitivity": (_sensitivity, "sensitivity"), "track": (_track, "track_record"),
         "claims": (_claims, "claims_loo"), "backtest": (_backtest, "backtest"), "sbc": (_sbc, "sbc")}


def run_checks(cfg, inputs, fitted, *, backtest: bool = True, sbc_simulations: int = 0, min_history: int = 9,
               only: list[str] | set[str] | None = None, say=None, today=None,
               history: pd.DataFrame | None = None, ahead=None) -> tuple[dict[str, Any], dict[str, tuple]]:
    """The checks' results (JSON-able) and, by figure stem, the arguments of the function that draws it
    (``forecast.outputs.figures.checks.DRAW``): data frames, arrays and the LOO-PIT and SBC trees. ``history``:
    the published forecasts (``reports/history.csv``), scored by the track record. One step per check
    (``STEPS``); what several share (the episodes' log-likelihood, the LOO) is computed once, first. ``ahead``:
    the workers ``forecast.analysis.checks.ahead.start`` started beside the fit (the back-test's walks)."""
    from forecast.analysis.checks.loo import loo_episodes
    from forecast.model.likelihood import episode_loglik

    todo = selected(only, sbc_simulations, backtest)
    r = _Run(cfg, inputs, fitted, todo, say or (lambda s: None),
             {"as_of": inputs.as_of.isoformat(), "inputs_hash": fitted.inputs_hash,
              "n_episodes": len(inputs.episodes.table), "checks_run": todo, "timings": {},
              "article_weight": article_weight(fitted)},
             sbc_simulations=sbc_simulations, min_history=min_history, today=today, history=history, ahead=ahead)
    t = time.perf_counter()
    if {"loo", "sensitivity", "claims"} & set(todo):
        r.ep_ll = episode_loglik(fitted.idata, r.ont, inputs.episodes, hyper=inputs.hyper)
    for name in todo:
        step, timing = STEPS[name]
        if name in ("loo", "claims") and r.lo is None:
            r.say("checks: PSIS-LOO over episodes")
            r.lo = loo_episodes(fitted.idata, r.ont, inputs.episodes, r.ep_ll, keep_weights=True)
        step(r)
        r.out["timings"][timing] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()
    r.out["headline"] = headline(r.out)
    r.out["scorecard"] = scorecard(r.out)
    return _round(r.out), r.figs


def article_weight(fitted, prob: float = 0.9) -> dict[str, float] | None:
    """The learned weight of the article's claims: posterior mean and HDI (importance-weighted for a PSIS update),
    or None when the model has none (the weight fixed, or no article claim used)."""
    from forecast.model.build import CLAIM_WEIGHT
    from forecast.model.summary import weighted_hdi

    post = fitted.idata["posterior"]
    if CLAIM_WEIGHT not in post:
        return None
    x = np.asarray(post[CLAIM_WEIGHT].values, dtype=float).ravel()
    w = np.full(x.size, 1.0 / x.size) if fitted.weights is None else np.asarray(fitted.weights, float).ravel()
    w = w / w.sum()
    lo, hi = weighted_hdi(x, w, prob)
    return {"mean": float(np.sum(w * x)), "low": lo, "high": hi, "prob": prob}


def psense_counts(sensitivity: dict[str, Any]) -> dict[str, int]:
    """Published probabilities (scenario x response) flagged by power-scaling: prior-data conflict, a dominant
    prior (strong prior / weak likelihood), and how many were diagnosed."""
    diags = [str(v.get("diagnosis", "")) for s in (sensitivity or {}).values()
             for v in (s.get("summary") or {}).values()]
    return {"prior_data_conflict": sum("conflict" in d for d in diags),
            "strong_prior": sum("strong prior" in d for d in diags), "probabilities": len(diags)}


def headline(out: dict[str, Any]) -> dict[str, Any]:
    """The few numbers every scenario report shows."""
    h: dict[str, Any] = {}
    bt = out.get("backtest") or {}
    if bt.get("ok"):
        t = bt["table"]
        h["backtest"] = {"cells": bt["n_cells"], "episodes": bt["n_predicted_episodes"],
                         **{k: {"log_score": v["log_score"], "brier": v["brier"]} for k, v in t.items()}}
        h["calibration_z"] = bt["calibration"]["model"]["z"]
        h["miscalibration"] = bt["murphy"]["model"]["miscalibration"]
        sc = bt.get("since_claims") or {}
        if sc.get("sentence"):
            h["article"] = {k: sc.get(k) for k in ("sentence", "claims_date", "n_cells", "n_episodes",
                                                   "log_score_diff", "log_score_diff_se", "brier_diff",
                                                   "brier_diff_se")}
    if "ppc" in out:
        h["ppc_flags"] = out["ppc"]["flags"]
    if "loo" in out:
        lo = out["loo"]
        h["loo"] = {"elpd": lo["elpd"], "se": lo["se"], "influential": lo["influential"]}
        if "vs_base_rate_action" in lo:
            h["loo"]["vs_base_rate_action"] = {k: lo["vs_base_rate_action"][k] for k in ("elpd_diff", "se")}
        cal = (lo.get("calibration") or {}).get("all")
        if cal:
            h["loo_calibration_z"] = cal["spiegelhalter"]["z"]
    if "prior_check" in out:
        h["prior_flags"] = len(out["prior_check"]["unclaimed_flags"]) + sum(
            1 for c in out["prior_check"]["claims"] if c["flag"])
    if "sensitivity" in out:
        h["psense"] = psense_counts(out["sensitivity"])
    if (out.get("era_opinion") or {}).get("applies"):
        era = out["era_opinion"]
        h["era_opinion"] = {"sentence": era["sentence"], "band": era["band"], "max_abs_change": era["max_abs_change"]}
    if out.get("article_weight"):
        h["article_weight"] = out["article_weight"]
    if "sbc" in out:
        h["sbc_flags"] = out["sbc"]["flags"]
    return h


def scorecard(out: dict[str, Any]) -> dict[str, Any]:
    """The figures a model change is measured by (one row of a before/after table): LOO elpd over episodes and
    its difference to the same-action base rate (SE), LOO Spiegelhalter z with and without the cells that
    restate an action attribute, the LOO reliability bins, the published model's back-test on the cells since
    the claims with and without them, the whole back-test, LOO with and without the claims, and the number of
    power-scaling conflicts. Absent parts are None (not run)."""
    lo = out.get("loo") or {}
    cal = lo.get("calibration") or {}
    bt = out.get("backtest") or {}

    def z(key: str):
        c = cal.get(key)
        return c["spiegelhalter"]["z"] if c else None

    return {
        "inputs_hash": out.get("inputs_hash"),
        "loo_elpd": lo.get("elpd"), "loo_se": lo.get("se"), "loo_max_k": lo.get("max_k"),
        "loo_vs_base_rate_action": lo.get("vs_base_rate_action"),
        "loo_z": z("all"), "loo_z_without_restating": z("without_restating"),
        "loo_bins": (cal.get("all") or {}).get("reliability_bins"),
        "backtest_since_claims": {k: v for k, v in (bt.get("since_claims") or {}).items() if k != "sentence"}
        if bt.get("ok") else None,
        "backtest": {k: bt["table"][k] for k in bt["table"]} if bt.get("ok") else None,
        "backtest_cells": bt.get("n_cells"), "backtest_refits": bt.get("n_exact_fits"),
        "claims_loo": {k: (out.get("claims_loo") or {}).get(k) for k in ("elpd_diff", "se", "n_episodes")}
        if "claims_loo" in out else None,
        "psense": psense_counts(out["sensitivity"]) if "sensitivity" in out else None,
        "article_weight": out.get("article_weight"),
        "era_opinion_max_change": (out.get("era_opinion") or {}).get("max_abs_change"),
    }
