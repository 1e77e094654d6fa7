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


def run_checks(cfg, inputs, fitted, *, backtest: bool = True, sbc_simulations: int = 0, min_history: int = 9,
               only: list[str] | set[str] | None = None, say=None, today=None,
               history: pd.DataFrame | None = None) -> tuple[dict[str, Any], dict[str, tuple]]:
    """The checks' results (JSON-able) and, by figure stem, the arguments of the function that draws it
    (``forecast.outputs.figures.checks.DRAW``): data frames, arrays and the LOO-PIT and SBC trees. ``history``:
    the published forecasts (``reports/history.csv``), scored by the track record."""
    from forecast.analysis.checks.scores import reliability_bins

    say = say or (lambda s: None)
    todo = selected(only, sbc_simulations, backtest)
    ont = inputs.ontology
    out: dict[str, Any] = {"as_of": inputs.as_of.isoformat(), "inputs_hash": fitted.inputs_hash,
                           "n_episodes": len(inputs.episodes.table), "checks_run": todo, "timings": {},
                           "article_weight": article_weight(fitted)}
    figs: dict[str, tuple] = {}
    t = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t
        out["timings"][name] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()

    from forecast.model.likelihood import episode_loglik

    ep_ll = None
    if {"loo", "sensitivity", "claims"} & set(todo):
        ep_ll = episode_loglik(fitted.idata, ont, inputs.episodes, hyper=inputs.hyper)

    if "prior" in todo:
        from forecast.analysis.checks.prior_check import prior_check

        say("checks: prior predictive check against the article's claims")
        pc = prior_check(fitted.idata, ont, inputs.hyper, inputs.claims)
        out["prior_check"] = {"claims": _records(pc["claims"]), "orderings": _records(pc["orderings"]),
                              "effects": _records(pc["effects"]), "unclaimed_flags": _records(pc["unclaimed"]),
                              "n_cells": pc["n_cells"], "n_unclaimed": pc["n_unclaimed"]}
        figs["prior_claims"] = (pc["claims"],)
        lap("prior_check")

    if "ppc" in todo:
        from forecast.analysis.checks.ppc import ppc

        say("checks: posterior predictive counts per response and LOO-PIT")
        pp = ppc(fitted.idata, ont, inputs.episodes, seed=int(cfg.seed) % 2**31, hyper=inputs.hyper)
        out["ppc"] = {"counts": _records(pp["counts"]), "flags": pp["flags"], "n_cells": pp["n_cells"],
                      "loo_pit_ks_p": pp["loo_pit_ks_p"]}
        figs["ppc_counts"] = (pp["counts"],)
        figs["loo_pit"] = (pp["tree"],)
        lap("ppc")

    lo = None
    if "loo" in todo or "claims" in todo:
        from forecast.analysis.checks.loo import loo_episodes

        say("checks: PSIS-LOO over episodes")
        lo = loo_episodes(fitted.idata, ont, inputs.episodes, ep_ll, keep_weights=True)
    if "loo" in todo:
        from forecast.analysis.checks.loo import loo_calibration, vs_base_rate

        cal = loo_calibration(fitted.idata, ont, inputs.episodes, lo["log_weights"], inputs.hyper)
        cells = cal.pop("cells")
        out["loo"] = {**{k: v for k, v in lo.items() if k != "log_weights"},
                      "vs_base_rate_action": vs_base_rate(lo, ont, inputs.episodes), "calibration": cal}
        figs["loo_k"] = (lo["per_episode"],)
        y, p = cells["y"].to_numpy(), cells["p_loo"].to_numpy()
        figs["loo_reliability"] = (y, p, reliability_bins(y, p),
                                   "Leave-one-episode-out reliability (CORP/PAV; out of sample); numbers: cells "
                                   "per bin")
        lap("loo")

    if "sensitivity" in todo:
        from forecast.analysis.checks.sensitivity import sensitivity

        say("checks: prior sensitivity (power-scaling) for every scenario")
        names = _config.list_scenarios()
        sc = _config.scenario_profiles(cfg, ont, names)
        pred = predict(fitted.idata, ont, inputs.hyper, sc)
        sens = {}
        for n, s in sensitivity(fitted.idata, inputs, pred["p"], ep_ll=ep_ll).items():
            sens[n] = {"summary": {r: {"prior": float(s["summary"].at[r, "prior"]),
                                       "likelihood": float(s["summary"].at[r, "likelihood"]),
                                       "diagnosis": str(s["summary"].at[r, "diagnosis"])}
                                   for r in s["summary"].index},
                       "top_claims": {r: [[c, v] for c, v in v_] for r, v_ in s["top_claims"].items()},
                       "flags": s["flags"]}
            if n == cfg.scenario.name:
                figs["psense_claims"] = (s["per_claim"], n)
        out["sensitivity"] = sens
        # the assumed opinion of the episodes before the poll window: how far the published numbers move with it
        from forecast.analysis.checks.era_opinion import era_band
        from forecast.analysis.checks.era_opinion import summary_line as era_line

        era = era_band(fitted.idata, inputs, pred["p"])
        era["sentence"] = era_line(era)
        out["era_opinion"] = era
        lap("sensitivity")

    if "track" in todo:
        from forecast.analysis.checks.track import summary_line, track_record

        say("checks: track record of resolved branches")
        names = _config.list_scenarios()
        sc = _config.scenario_profiles(cfg, ont, names)
        hist = history if history is not None else pd.DataFrame(columns=["scenario", "kind", "as_of", "id", "mean"])
        tr = track_record(hist, inputs.episodes, {n: str(sc[n]["action"]) for n in names})
        for n in tr:
            tr[n]["summary"] = summary_line(tr[n])
        out["track_record"] = tr
        lap("track_record")

    if "claims" in todo:
        from forecast.analysis.checks.backtest import without_claims
        from forecast.analysis.checks.claims import loo_comparison
        from forecast.analysis.checks.loo import loo_episodes
        from forecast.model.fit import fit_config

        say("checks: PSIS-LOO with and without the article's claims (the fit without them is cached)")
        bare = without_claims(inputs)
        f0 = fit_config(cfg, bare, notify=say, update="refit")
        lo0 = loo_episodes(f0.idata, ont, bare.episodes, hyper=bare.hyper)
        out["claims_loo"] = {"inputs_hash_without": f0.inputs_hash, **loo_comparison(lo, lo0)}
        lap("claims_loo")

    if "backtest" in todo:
        from forecast.analysis.checks.backtest import backtest as run_backtest
        from forecast.analysis.checks.claims import claims_date, sentence, since_claims

        say("checks: leave-future-out back-test of the published model, without the claims and of the history "
            "alone (PSIS-LFO; refits cached)")
        bt = run_backtest(inputs, sampler_settings(cfg), int(cfg.seed), _config.paths(cfg)["cache"],
                          prior_idata=fitted.idata, min_history=min_history, say=say,
                          inputs_at=backtest_inputs_at(cfg, today))
        if bt.get("ok"):
            cells = bt.pop("cells")
            date = claims_date(inputs.claims)
            s = since_claims(cells)
            bt["since_claims"] = {**s, "claims_date": date, "sentence": sentence(s, date)}
            bt["cells"] = _records(cells.drop(columns=["episode_pos"]))
            y, p = cells["y"].to_numpy(), cells["model"].to_numpy()
            figs["reliability"] = (y, p, reliability_bins(y, p),
                                   "Back-test reliability of the published model (CORP/PAV; out of sample); "
                                   "numbers: cells per bin")
            figs["backtest"] = (bt["table"],)
        out["backtest"] = bt
        lap("backtest")

    if "sbc" in todo:
        from forecast.analysis.checks.sbc import rank_tests, run_sbc

        say(f"checks: simulation-based calibration ({sbc_simulations} simulations, simuk)")
        draws = 300
        s = run_sbc(inputs, num_simulations=sbc_simulations, draws=draws, tune=draws, seed=int(cfg.seed) % 2**31)
        out["sbc"] = {"simulations": sbc_simulations, "draws": 2 * draws, **rank_tests(s.simulations, 2 * draws)}
        figs["sbc_ecdf"] = (s.simulations,)
        lap("sbc")
    out["headline"] = headline(out)
    out["scorecard"] = scorecard(out)
    return _round(out), figs


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
