"""Issue #16's changes one at a time: issue #10's back-test and the leave-one-episode-out elpd before and
after each model change, with the product's own check code.

    cd WT && PYTHONPATH=$PWD FORECAST_HOME=$PWD nice -n 10 python bench/studies/model-changes-ablation/ablation.py \
        [--as-of 2026-11-29] [--only v0,v3] [--json results/ablation-seed1.json] [--table-only]

The variants are cumulative (conf/model/default.yaml's ablation switches): v0 has every change of issue #16
off and no rank effect (main before issue #16), v1 = v0 + change 1, ..., v5 = all of issue #16, v6 = v5 + the
rank effect (issue #10) = today's main, and v7 = v6 with the consent cells left out of the record
(this study's README, section 3). For each variant:

- the full model (article + record + polls) fitted with the configured sampler and seed (cached by its
  inputs hash under .cache/posteriors; ``update=refit``: exact draws);
- PSIS-LOO over episodes (forecast/analysis/checks/loo.py) on the variant's own record, and on the same
  cells for every variant (today's record: the cells a restatement leaves out are left out of the
  predicted episode too; weights from the episode's own cells), with the difference to the same-action
  base rate's leave-one-episode-out log score on the same cells, paired per episode;
- issue #10's back-test (forecast/analysis/checks/backtest.py: PSIS-LFO of the history-only model, from
  the 10th episode on) with the comparators (a) base rate, (b) same-action base rate, (c) the variant's
  article-only prior, (d) 0.5, scored on the cells common to every variant. A variant whose history-only
  model is the same model as an earlier variant's (same variables, same log density at 5 random points)
  reuses that back-test's model column (only comparator (c) is recomputed): changes 1 and 3 act on the
  polls and the claims, which the history-only back-test leaves out;
- the calibration bins 0.1-0.3 and 0.7-0.9 of the fitted cells and executed retaliation predicted vs
  observed (figures.py), and the same bins from the leave-one-episode-out predictions.

Results go to the JSON after each variant (a rerun skips variants already there unless --redo); the
markdown table beside it (<json stem>-table.md). An episode whose Pareto k exceeds 0.7 is refitted
without it (exact LOO). Nothing here is tuned: it reads fits.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent  # this study: its scripts import each other, its results stay here
ROOT = HERE.parents[2]
sys.path[:0] = [str(ROOT), str(HERE)]

import figures as M16  # noqa: E402

from forecast.analysis.checks.loo import base_rate_elpd, loo_base_rates, paired  # noqa: E402,F401 (one copy)

# each change with the overrides that switch it OFF (conf/model/default.yaml)
CHANGES = [
    ("1", "free per-pollster wording effects", ["model.poll_effects=sum_to_zero"]),
    ("2", "episodes at the opinion of their time", ["model.episode_opinion=reference"]),
    ("3", "each multi-action claim counted once", ["model.claims_per_action=each"]),
    ("4", "restated sources counted once", ["model.restatements=keep"]),
    ("5", "pooling scales freed (sigma_alpha_response 2, sigma_cell 1)",
     ["model.sigma_alpha_response=1.0", "model.sigma_cell=0.5"]),
    ("6", "escalation rank informs the intercepts (issue #10)", ["model.sigma_rank=0"]),
]
EXTRA = {  # variants beyond today's main: name -> (label, overrides added to v6's)
    "v7": ("v6 + the consent cells left out of the record (section 3)", ["model.attribute_cells=leave_out"]),
}
MIN_HISTORY = 9


def variants() -> dict[str, dict]:
    out = {}
    for k in range(len(CHANGES) + 1):
        out[f"v{k}"] = {"overrides": [o for _, _, off in CHANGES[k:] for o in off],
                        "label": "all changes off (main before issue #16)" if k == 0 else
                        f"v{k - 1} + change {CHANGES[k - 1][0]}: {CHANGES[k - 1][1]}"}
    for name, (label, extra) in EXTRA.items():
        out[name] = {"overrides": list(extra), "label": label}
    return out


# ---------------------------------------------------------------------- helpers
def cell_defs(ont, outcomes: pd.DataFrame) -> dict[str, tuple]:
    """name -> (y, mask of uncoded ancestors): two cells with the same name and definition are the same event."""
    from forecast.model.build import observed_cells

    _, _, mask, y, names = observed_cells(ont, outcomes)
    return {n: (int(v), tuple(float(x) for x in m)) for n, v, m in zip(names, y, mask, strict=True)}


def model_signature(model) -> dict:
    """Variables and the joint log density at 5 seeded random points: equal signatures = the same model."""
    rng = np.random.default_rng(16)
    logp = model.compile_logp()
    ip = model.initial_point()
    pts = [float(logp({k: v + rng.normal(0, 0.5, size=np.shape(v)) for k, v in ip.items()})) for _ in range(5)]
    return {"free": sorted(f"{v.name}{tuple(int(s) for s in v.shape.eval())}" for v in model.free_RVs),
            "observed": sorted(f"{v.name}{tuple(int(s) for s in v.shape.eval())}" for v in model.observed_RVs),
            "logp": [round(x, 8) for x in pts]}


def episode_log_weights(idata, ont, eps, ll):
    """PSIS log weights of each episode left out, (episode, chain, draw), and Pareto k per episode. An episode
    without a coded cell (log-likelihood 0 at every draw) leaves the posterior as it is: uniform weights, k 0."""
    import xarray as xr
    from arviz_stats import loo

    from forecast.analysis.checks.loo import episode_tree

    nonempty = [e for e in ll["episode"].values if np.any(ll.sel(episode=e).values)]
    r = loo(episode_tree(idata, ont, eps, ll.sel(episode=nonempty)), pointwise=True, var_name="episodes")
    n_draws = ll.sizes["chain"] * ll.sizes["draw"]
    lw = xr.full_like(ll, -np.log(n_draws)).transpose("episode", "chain", "draw").copy()
    lw.loc[{"episode": nonempty}] = r.log_weights.transpose("episode", "chain", "draw").values
    k = xr.zeros_like(ll["episode"], dtype=float)
    k.loc[{"episode": nonempty}] = r.pareto_k.values
    return lw, k


def loo_cell_probabilities(pcell_draws: np.ndarray, obs_ep: np.ndarray, log_weights) -> np.ndarray:
    """Each cell's leave-one-episode-out probability: its fitted probability per draw (S, n) weighted by the
    PSIS weights of its episode left out (arviz-stats log weights, (episode, chain, draw))."""
    lw = np.asarray(log_weights.values).reshape(log_weights.shape[0], -1)  # chain-major, as the draws
    lw = lw - lw.max(axis=1, keepdims=True)
    w = np.exp(lw)
    w = w / w.sum(axis=1, keepdims=True)
    return np.einsum("ns,sn->n", w[obs_ep], pcell_draws)


def loo_predictive_bins(post, d, inputs, log_weights, ploo: np.ndarray, keep: np.ndarray, n_sims: int = 4000,
                        seed: int = 16) -> list[dict]:
    """The leave-one-episode-out predictive of the number of events per bin of the LOO probabilities: each
    episode's cells replicated from a draw of its own LOO posterior (the PSIS weights of that episode left out)
    and one factor draw per episode, as figures.predictive_bins does for the fitted cells. The bins
    are set by the LOO probabilities, which do not depend on the episode's own outcomes, so the observed counts
    are a fair draw from this reference."""
    q, nodes, w = M16.node_cell_probabilities(post, d, inputs)  # (S, n, Q)
    S, n, Q = q.shape
    lw = np.asarray(log_weights.values).reshape(log_weights.shape[0], -1)
    wl = np.exp(lw - lw.max(axis=1, keepdims=True))
    wl = wl / wl.sum(axis=1, keepdims=True)
    cdf = np.cumsum(wl, axis=1)
    rng = np.random.default_rng(seed)
    edges = [0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0001]
    which = np.where(keep, np.digitize(ploo, edges) - 1, -1)
    n_ep = lw.shape[0]
    sims = np.zeros((n_sims, 6))
    for i in range(n_sims):
        s_ep = np.minimum((cdf < rng.random((n_ep, 1))).sum(axis=1), S - 1)
        node_ep = rng.choice(Q, size=n_ep, p=w)
        yr = rng.random(n) < q[s_ep[d.obs_ep], np.arange(n), node_ep[d.obs_ep]]
        for b in range(6):
            sims[i, b] = yr[which == b].sum()
    out = []
    for b in range(6):
        obs = int(d.obs_y[which == b].sum())
        out.append({"bin": f"{edges[b]:.1f}-{min(edges[b + 1], 1):.1f}", "observed": obs,
                    "episode_factor_90": [float(np.quantile(sims[:, b], 0.05)), float(np.quantile(sims[:, b], 0.95))],
                    "p_le_observed_episode": float((sims[:, b] <= obs).mean())})
    return out


# ---------------------------------------------------------------------- one variant
def attribute_coded(ont) -> list[str]:
    """Responses whose coding restates an action attribute (responses.csv coded_from: the consent cells)."""
    return [r for r in ont.response_ids if ont.responses.at[r, "coded_from"]]


def reference_records(ont, ref_outcomes: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The cell sets every variant is scored on: today's record (the cells of main's default inputs) and the
    same without the consent cells (section 3: they restate the consent attribute)."""
    no_consent = ref_outcomes.copy()
    no_consent[attribute_coded(ont)] = np.nan
    return {"today": ref_outcomes, "no_consent": no_consent}


def run_variant(name: str, spec: dict, as_of: dt.date, refs: dict[str, pd.DataFrame], bt_store: dict, say) -> dict:
    from arviz_stats import loo
    from scipy.special import logsumexp

    import forecast
    from forecast.analysis.checks.backtest import backtest, history_only, ordered
    from forecast.analysis.checks.loo import K_BAD, episode_tree, loo_episodes
    from forecast.analysis.checks.scores import scores
    from forecast.inputs import config as _config
    from forecast.inputs.data import Episodes
    from forecast.model.build import design
    from forecast.model.fit import fit, sampler_settings
    from forecast.model.likelihood import cell_probabilities, episode_loglik

    t_all = time.perf_counter()
    cfg = forecast.compose([f"as_of={as_of.isoformat()}", *spec["overrides"]])
    inputs = forecast.load_inputs(cfg, as_of)
    ont, hyper = inputs.ontology, inputs.hyper
    sampler, seed, cache = sampler_settings(cfg), int(cfg.seed), _config.paths(cfg)["cache"]
    res: dict = {"label": spec["label"], "overrides": spec["overrides"], "timings": {}}
    t = time.perf_counter()
    say(f"{name}: full fit")
    fitted = fit(inputs, sampler, seed, cache, update="refit")
    res["inputs_hash"], res["from_cache"] = fitted.inputs_hash, bool(fitted.from_cache)
    res["timings"]["fit"] = round(time.perf_counter() - t, 1)
    res["diagnostics"] = json.loads(fitted.idata.attrs.get("diagnostics_posterior", "{}"))

    # ---------------- PSIS-LOO over episodes: own record (the product's check), and on each reference record's
    # cells (weights from the episode's own cells in this variant's record; predictive density of the reference
    # cells), each against the same-action base rate's leave-one-episode-out log score on the same cells
    t = time.perf_counter()
    eps = inputs.episodes
    ll = episode_loglik(fitted.idata, ont, eps, hyper=hyper)
    lo = loo_episodes(fitted.idata, ont, eps, ll)
    base_own = base_rate_elpd(ont, eps)
    own_i = {p["episode"]: p["elpd_i"] for p in lo["per_episode"]}  # an episode without a coded cell: 0
    res["loo_own"] = {"elpd": lo["elpd"], "se": lo["se"], "p_loo": lo["p_loo"], "max_k": lo["max_k"],
                      "n_cells": len(cell_defs(ont, eps.outcomes)), "influential": lo["influential"],
                      "no_coded_cell": lo["no_coded_cell"], "base_rate_action_elpd": float(base_own.sum()),
                      "vs_base_rate_action": paired([own_i.get(str(e), 0.0) for e in eps.table.index],
                                                    base_own.values)}
    lw_full, k_full = episode_log_weights(fitted.idata, ont, eps, ll)
    res["loo"] = {}
    for key, ref_out in refs.items():
        ref_eps = Episodes(eps.table, ref_out.loc[eps.table.index])
        ll_r = episode_loglik(fitted.idata, ont, ref_eps, hyper=hyper)
        r = loo(episode_tree(fitted.idata, ont, ref_eps, ll_r), pointwise=True, var_name="episodes",
                log_weights=lw_full, pareto_k=k_full)
        elpd_i = r.elpd_i.values
        base_r = base_rate_elpd(ont, ref_eps)
        res["loo"][key] = {"elpd": float(r.elpd), "se": float(r.se), "max_k": float(np.max(k_full.values)),
                           "n_cells": len(cell_defs(ont, ref_eps.outcomes)), "n_episodes": len(eps.table),
                           "base_rate_action_elpd": float(base_r.sum()),
                           "vs_base_rate_action": paired(elpd_i, base_r.values),
                           "per_episode": {str(e): round(float(v), 3)
                                           for e, v in zip(r.elpd_i["episode"].values, elpd_i, strict=True)}}
    # an episode whose Pareto k exceeds 0.7 has an unreliable PSIS estimate: refit without it (exact LOO)
    bad = [str(e) for e, k in zip(k_full["episode"].values, k_full.values, strict=True) if k > K_BAD]
    res["loo_exact_refits"] = {}
    for e in bad:
        say(f"{name}: exact leave-out refit for {e} (Pareto k {float(k_full.sel(episode=e)):.2f})")
        rest = [i for i in eps.table.index if str(i) != e]
        f_e = fit(dataclasses.replace(inputs, episodes=Episodes(eps.table.loc[rest], eps.outcomes.loc[rest])),
                  sampler, seed, cache, update="refit")
        res["loo_exact_refits"][e] = {"pareto_k": float(k_full.sel(episode=e)), "inputs_hash": f_e.inputs_hash}
        for key, block in [("own", None), *res["loo"].items()]:
            out_e = (eps.outcomes if key == "own" else refs[key]).loc[[e]]
            ll_e = episode_loglik(f_e.idata, ont, Episodes(eps.table.loc[[e]], out_e), hyper=hyper)
            exact = float(logsumexp(ll_e.values.ravel()) - np.log(ll_e.values.size))
            res["loo_exact_refits"][e][key] = {"psis": (own_i if key == "own" else block["per_episode"]).get(e),
                                               "exact": exact}
            if key == "own":
                own_i[e] = exact
            else:
                block["per_episode"][e] = round(exact, 3)
    for key, block in [("own", None), *res["loo"].items()]:
        if not bad:
            break
        # own: the episodes loo_episodes scores (those with a coded cell); a reference record: every episode
        ids = list(own_i) if key == "own" else [str(i) for i in eps.table.index]
        vals = [own_i[i] if key == "own" else block["per_episode"][i] for i in ids]
        tgt = res["loo_own"] if key == "own" else block
        base = base_own if key == "own" else base_rate_elpd(ont, Episodes(eps.table, refs[key].loc[eps.table.index]))
        base = base.rename(index=str)
        tgt.update({"elpd": float(np.sum(vals)), "se": float(np.sqrt(len(vals) * np.var(vals, ddof=1))),
                    "vs_base_rate_action": paired(vals, base.loc[ids].values), "exact_refits": bad})
    res["timings"]["loo"] = round(time.perf_counter() - t, 1)

    # ---------------- calibration of the fitted cells (figures.py) and of the LOO predictions
    t = time.perf_counter()
    d = design(inputs)
    post = fitted.idata["posterior"].to_dataset()
    pdraws = M16.cell_probabilities(post, d, inputs)  # (S, n)
    pcell = pdraws.mean(axis=0)
    y = d.obs_y.astype(float)
    ploo = loo_cell_probabilities(pdraws, d.obs_ep, lw_full)
    consent = np.isin(np.array(d.coords["response"])[d.obs_resp], attribute_coded(ont))
    res["calibration"], res["calibration_loo"] = {}, {}
    for key, keep in (("all", np.ones(len(y), dtype=bool)), ("no_consent", ~consent)):
        cal = M16.calibration(pcell[keep], y[keep])
        pred = M16.predictive_bins(post, d, inputs, pcell, keep=keep)
        res["calibration"][key] = {"bins": cal, "predictive": pred}
        res["calibration_loo"][key] = {"bins": M16.calibration(ploo[keep], y[keep]),
                                       "predictive": loo_predictive_bins(post, d, inputs, lw_full, ploo, keep)}
    rows, total = M16.executed_retaliation(inputs, d, pcell)
    res["executed_retaliation"], res["executed_retaliation_total"] = rows, total
    res["cells"] = {"name": list(d.coords["obs"]), "y": [int(v) for v in d.obs_y],
                    "p_fit": [round(float(v), 5) for v in pcell], "p_loo": [round(float(v), 5) for v in ploo]}
    res["timings"]["calibration"] = round(time.perf_counter() - t, 1)

    # ---------------- the back-test (history-only model), reused when the history-only model is the same
    t = time.perf_counter()
    sig = model_signature(forecast.build_model(history_only(inputs, ordered(eps))))
    res["backtest_signature"] = sig
    same = next((v for v, st in bt_store.items() if st["signature"] == sig), None)
    if same is None:
        say(f"{name}: back-test (PSIS-LFO, refits cached)")
        bt = backtest(inputs, sampler, seed, cache, prior_idata=fitted.idata, min_history=MIN_HISTORY, say=say)
        cells = bt.pop("cells")[["episode", "response", "cell", "y", "model", "base_rate", "base_rate_action",
                                 "article_prior", "half"]]
        bt_store[name] = {"signature": sig, "cells": cells}
        res["backtest_reused_from"] = None
        res["backtest_lfo"] = {"elpd_lfo": bt["elpd_lfo"], "se": bt["elpd_lfo_se"], "refits": bt["refits"],
                               "pareto_k_max": max((k for k in bt["pareto_k"] if k is not None), default=None)}
    else:
        say(f"{name}: back-test model column reused from {same} (the same history-only model)")
        cells = bt_store[same]["cells"].copy()
        res["backtest_reused_from"] = same
        cp, _, names = cell_probabilities(fitted.idata, ont, ordered(eps), group="prior", hyper=hyper)
        art = pd.Series(cp.mean(("chain", "draw")).values, index=names)
        cells["article_prior"] = art.reindex(cells["cell"]).to_numpy()
        res["backtest_lfo"] = None
    cols = ["model", "base_rate", "base_rate_action", "article_prior", "half"]
    own = cell_defs(ont, eps.outcomes)
    res["backtest"] = {"own": {"n_cells": int(len(cells)), **{c: scores(cells["y"], cells[c]) for c in cols}}}
    for key, ref_out in refs.items():
        ref = cell_defs(ont, ref_out)
        sc = cells[[c in ref and own.get(c) == ref[c] for c in cells["cell"]]]
        res["backtest"][key] = {"n_cells": int(len(sc)), "n_episodes": int(sc["episode"].nunique()),
                                **{c: scores(sc["y"], sc[c]) for c in cols}}
    res["backtest_cells"] = {c: [round(float(v), 6) for v in cells[c]] for c in cols} | {
        "cell": list(cells["cell"]), "episode": list(cells["episode"]), "response": list(cells["response"]),
        "y": [int(v) for v in cells["y"]]}
    res["timings"]["backtest"] = round(time.perf_counter() - t, 1)
    res["timings"]["total"] = round(time.perf_counter() - t_all, 1)
    return res


def stored_backtests(results: dict) -> dict:
    """The back-tests already computed (their model columns), to reuse across runs of this script."""
    out = {}
    for v, r in results.items():
        if r.get("backtest_reused_from") is None and "backtest_cells" in r:
            out[v] = {"signature": r["backtest_signature"], "cells": pd.DataFrame(r["backtest_cells"])}
    return out


# ---------------------------------------------------------------------- the table
LOG_COLS = ("model", "base_rate", "base_rate_action", "article_prior", "half")


def fmt_bin(cal: dict, b: str, pred: bool = False) -> str:
    row = next((x for x in cal["bins"] if x["bin"] == b), None)
    if not row or not row["n"]:
        return "—"
    out = f"{row['n']} / {row['expected']:.1f} / {row['observed']}"
    if pred:
        p = next(x for x in cal["predictive"] if x["bin"] == b)
        out += f" (P {p['p_le_observed_episode']:.2f})"
    return out


def same_cells_scores(results: dict, names: list[str], ref: str, as_of: dt.date, extra: list[str]) -> dict:
    """The back-test scores of each named variant on the cells every one of them predicts as the same event
    (same name and definition in its record as in the reference record): {variant: {n_cells, column: scores}}."""
    import forecast
    from forecast.analysis.checks.scores import scores

    base = forecast.load_inputs(forecast.compose([f"as_of={as_of.isoformat()}", *extra]), as_of)
    refs = reference_records(base.ontology, base.episodes.outcomes)
    ref_defs = cell_defs(base.ontology, refs[ref])
    common = None
    frames = {}
    for v in names:
        inp = forecast.load_inputs(forecast.compose([f"as_of={as_of.isoformat()}", *results[v]["overrides"]]), as_of)
        own = cell_defs(inp.ontology, inp.episodes.outcomes)
        cells = pd.DataFrame(results[v]["backtest_cells"])
        ok = {c for c in cells["cell"] if c in ref_defs and own.get(c) == ref_defs[c]}
        common = ok if common is None else common & ok
        frames[v] = cells
    out = {}
    for v, cells in frames.items():
        sc = cells[cells["cell"].isin(common)]
        out[v] = {"n_cells": int(len(sc)), "n_episodes": int(sc["episode"].nunique()),
                  **{c: scores(sc["y"], sc[c]) for c in LOG_COLS}}
    return out


def step(results: dict, v: str, prev: str | None, ref: str) -> str:
    """The LOO elpd difference to the previous variant on the same cells, paired per episode."""
    if prev is None:
        return "—"
    a, b = results[v]["loo"][ref]["per_episode"], results[prev]["loo"][ref]["per_episode"]
    p = paired([a[e] for e in a], [b[e] for e in a])
    return f"{p['elpd_diff']:+.1f} ({p['se']:.1f})"


def row(v: str, r: dict, ref: str, cal_key: str, bt: dict, delta: str) -> str:
    ls = " · ".join(f"{bt[c]['log_score']:.3f}" for c in LOG_COLS)
    br = " · ".join(f"{bt[c]['brier']:.3f}" for c in LOG_COLS)
    if r.get("backtest_reused_from"):
        ls = ls.replace(" · ", " [=" + r["backtest_reused_from"] + "] · ", 1)
    lo = r["loo"][ref]
    vs = lo["vs_base_rate_action"]
    ex = r["executed_retaliation_total"]
    c, cl = r["calibration"][cal_key], r["calibration_loo"][cal_key]
    return (f"| {v} | {bt['n_cells']} | {ls} | {br} | {lo['elpd']:.1f} ({lo['se']:.1f}) | "
            f"{vs['elpd_diff']:+.1f} ({vs['se']:.1f}) | {delta} | {lo['max_k']:.2f} | {fmt_bin(c, '0.1-0.3', True)} · "
            f"{fmt_bin(cl, '0.1-0.3', True)} | {fmt_bin(c, '0.7-0.9', True)} · {fmt_bin(cl, '0.7-0.9', True)} | "
            f"{ex['predicted']:.1f} / {ex['observed']} |")


def table(results: dict, order: list[str], as_of: dt.date, extra: list[str]) -> str:
    head = ("| variant | back-test cells | back-test log score: model · (a) · (b) · (c) · (d) | Brier: model · (a) · "
            "(b) · (c) · (d) | LOO elpd (SE) | Δelpd vs (b) (SE) | Δelpd vs previous row (SE) | max k | "
            "bin 0.1-0.3 fit (P) · LOO | bin 0.7-0.9 fit (P) · LOO | exec. retaliation pred / obs |")
    lines = [head, "|" + "---|" * 11]
    main_rows = [v for v in order if v in results and v not in EXTRA]
    bts = same_cells_scores(results, main_rows, "today", as_of, extra)
    for i, v in enumerate(main_rows):
        lines.append(row(v, results[v], "today", "all", bts[v], step(results, v, main_rows[i - 1] if i else None,
                                                                       "today")))
    if "v7" in results and "v6" in results:
        lines.append("| *without the consent cells:* ||||||||||| ")
        bts = same_cells_scores(results, ["v6", "v7"], "no_consent", as_of, extra)
        for v, prev in (("v6", None), ("v7", "v6")):
            lines.append(row(v, results[v], "no_consent", "no_consent", bts[v], step(results, v, prev, "no_consent")))
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--as-of", default="2026-11-29")
    ap.add_argument("--only", default="", help="comma-separated variants (default: all)")
    ap.add_argument("--json", default=str(HERE / "results" / "ablation-seed1.json"))
    ap.add_argument("--redo", action="store_true", help="recompute variants already in the JSON")
    ap.add_argument("--table-only", action="store_true")
    ap.add_argument("--extra", nargs="*", default=[], help="overrides added to every variant (smoke tests)")
    ns = ap.parse_args(argv)
    import forecast

    as_of = dt.date.fromisoformat(ns.as_of)
    out_path = Path(ns.json)
    data = json.loads(out_path.read_text()) if out_path.is_file() else {}
    results = data.get("variants", {})
    specs = variants()
    for sp in specs.values():
        sp["overrides"] += ns.extra
    order = list(specs)
    todo = [v for v in (ns.only.split(",") if ns.only else order) if v]

    def say(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)

    if not ns.table_only:
        ref = forecast.load_inputs(forecast.compose([f"as_of={as_of.isoformat()}", *ns.extra]), as_of)
        refs = reference_records(ref.ontology, ref.episodes.outcomes)
        t0 = time.perf_counter()
        for v in order:  # in order, so that a back-test to reuse is there when needed
            if v not in todo or (v in results and not ns.redo):
                continue
            earlier = {k: r for k, r in results.items() if k != v}
            results[v] = run_variant(v, specs[v], as_of, refs, stored_backtests(earlier), say)
            data = {"as_of": as_of.isoformat(), "variants": results}
            out_path.write_text(json.dumps(data, indent=1, default=str))
            say(f"{v} done in {results[v]['timings']['total']:.0f} s")
        say(f"all done in {time.perf_counter() - t0:.0f} s")
    md = table(results, order, as_of, ns.extra)
    (out_path.parent / f"{out_path.stem}-table.md").write_text(md + "\n")
    print(md)


if __name__ == "__main__":
    main(sys.argv[1:])
