"""All checks for one configuration: the numbers (JSON-able) and the numbers to draw
(``forecast.outputs.figures.checks`` draws them).

``run_checks`` takes the shipped fit (cached) and runs, in order of cost: the prior predictive check
against the article, the posterior predictive checks and LOO-PIT, PSIS-LOO over episodes, prior
sensitivity per scenario, the track record, the leave-future-out back-test (refits cached by their
inputs hash) and, when asked (``sbc_simulations > 0``), SBC.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from forecast.inputs import config as _config
from forecast.model.fit import sampler_settings
from forecast.model.predict import predict


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


def run_checks(cfg, inputs, fitted, *, backtest: bool = True, sbc_simulations: int = 0, min_history: int = 9,
               say=None) -> tuple[dict[str, Any], dict[str, tuple]]:
    """The checks' results (JSON-able) and, by figure stem, the arguments of the function that draws it
    (``forecast.outputs.figures.checks.DRAW``): data frames, arrays and the LOO-PIT and SBC trees."""
    from forecast.analysis.checks.loo import loo_episodes
    from forecast.analysis.checks.ppc import ppc
    from forecast.analysis.checks.prior_check import prior_check
    from forecast.analysis.checks.sensitivity import sensitivity
    from forecast.analysis.checks.track import summary_line, track_record

    say = say or (lambda s: None)
    ont = inputs.ontology
    out: dict[str, Any] = {"as_of": inputs.as_of.isoformat(), "inputs_hash": fitted.inputs_hash,
                           "n_episodes": len(inputs.episodes.table), "timings": {}}
    figs: dict[str, tuple] = {}
    t = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t
        out["timings"][name] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()

    say("checks: prior predictive check against the article's claims")
    pc = prior_check(fitted.idata, ont, inputs.hyper, inputs.claims)
    out["prior_check"] = {"claims": _records(pc["claims"]), "orderings": _records(pc["orderings"]),
                          "effects": _records(pc["effects"]), "unclaimed_flags": _records(pc["unclaimed"]),
                          "n_cells": pc["n_cells"], "n_unclaimed": pc["n_unclaimed"]}
    figs["prior_claims"] = (pc["claims"],)
    lap("prior_check")

    say("checks: posterior predictive counts per response and LOO-PIT")
    pp = ppc(fitted.idata, ont, inputs.episodes, seed=int(cfg.seed) % 2**31, hyper=inputs.hyper)
    out["ppc"] = {"counts": _records(pp["counts"]), "flags": pp["flags"], "n_cells": pp["n_cells"],
                  "loo_pit_ks_p": pp["loo_pit_ks_p"]}
    figs["ppc_counts"] = (pp["counts"],)
    figs["loo_pit"] = (pp["tree"],)
    lap("ppc")

    say("checks: PSIS-LOO over episodes")
    from forecast.model.likelihood import episode_loglik

    ep_ll = episode_loglik(fitted.idata, ont, inputs.episodes, hyper=inputs.hyper)
    lo = loo_episodes(fitted.idata, ont, inputs.episodes, ep_ll)
    out["loo"] = lo
    figs["loo_k"] = (lo["per_episode"],)
    lap("loo")

    say("checks: prior sensitivity (power-scaling) for every scenario")
    names = _config.list_scenarios()
    sc = _config.scenario_profiles(cfg, ont, names)
    pred = predict(fitted.idata, ont, inputs.hyper, sc)
    sens = {}
    for n, s in sensitivity(fitted.idata, inputs, pred["p"], ep_ll=ep_ll).items():
        sens[n] = {"summary": {r: {"prior": float(s["summary"].at[r, "prior"]),
                                   "likelihood": float(s["summary"].at[r, "likelihood"]),
                                   "diagnosis": str(s["summary"].at[r, "diagnosis"])} for r in s["summary"].index},
                   "top_claims": {r: [[c, v] for c, v in v_] for r, v_ in s["top_claims"].items()},
                   "flags": s["flags"]}
        if n == cfg.scenario.name:
            figs["psense_claims"] = (s["per_claim"], n)
    out["sensitivity"] = sens
    lap("sensitivity")

    say("checks: track record of resolved branches")
    hpath = _config.paths(cfg)["reports"] / "history.csv"  # written by forecast.outputs.history (a layer above)
    hist = pd.read_csv(hpath) if hpath.is_file() else pd.DataFrame(columns=["scenario", "kind", "as_of", "id", "mean"])
    tr = track_record(hist, inputs.episodes, {n: str(sc[n]["action"]) for n in names})
    for n in tr:
        tr[n]["summary"] = summary_line(tr[n])
    out["track_record"] = tr
    lap("track_record")

    if backtest:
        from forecast.analysis.checks.backtest import backtest as run_backtest
        from forecast.analysis.checks.scores import reliability_bins

        say("checks: leave-future-out back-test (PSIS-LFO; refits cached)")
        bt = run_backtest(inputs, sampler_settings(cfg), int(cfg.seed), _config.paths(cfg)["cache"],
                          prior_idata=fitted.idata, min_history=min_history, say=say)
        if bt.get("ok"):
            cells = bt.pop("cells")
            bt["cells"] = _records(cells.drop(columns=["episode_pos"]))
            y, p = cells["y"].to_numpy(), cells["model"].to_numpy()
            figs["reliability"] = (y, p, reliability_bins(y, p))
            figs["backtest"] = (bt["table"],)
        out["backtest"] = bt
        lap("backtest")

    if sbc_simulations:
        from forecast.analysis.checks.sbc import rank_tests, run_sbc

        say(f"checks: simulation-based calibration ({sbc_simulations} simulations, simuk)")
        draws = 300
        s = run_sbc(inputs, num_simulations=sbc_simulations, draws=draws, tune=draws, seed=int(cfg.seed) % 2**31)
        out["sbc"] = {"simulations": sbc_simulations, "draws": 2 * draws, **rank_tests(s.simulations, 2 * draws)}
        figs["sbc_ecdf"] = (s.simulations,)
        lap("sbc")
    out["headline"] = headline(out)
    return _round(out), figs


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
    h["ppc_flags"] = out["ppc"]["flags"]
    h["loo"] = {"elpd": out["loo"]["elpd"], "se": out["loo"]["se"], "influential": out["loo"]["influential"]}
    h["prior_flags"] = len(out["prior_check"]["unclaimed_flags"]) + sum(
        1 for c in out["prior_check"]["claims"] if c["flag"])
    if "sbc" in out:
        h["sbc_flags"] = out["sbc"]["flags"]
    return h
