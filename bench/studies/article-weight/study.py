"""Issue 24's model changes one at a time: does the article earn its place, and what does each change do?

    cd WT && FORECAST_HOME=$PWD nice -n 10 .venv/bin/python bench/studies/article-weight/study.py \
        [--as-of 2026-11-29] [--only v0,v3] [--json bench/studies/article-weight/results/DATE-study.json] [--table-only]

The variants are cumulative, in the order the changes were made (each with the reason stated in
README.md beside this script, none chosen by these scores):

- v0  main before issue 24 (8dcef99): its data/ and conf/priors/article.yaml, every new switch at its old value;
- v1  + each sentence once: C48-effect, C30-order and C39-order gone; the article's 80% a poll (ARTICLE-80),
        C15 a restatement of it (today's data/ and article.yaml);
- v2  + the consent cells left out of the record (model.attribute_cells=leave_out);
- v3  + the era opinion fixed at the reference (model.era_opinion=reference);
- v4  + the opinion moves only responses to military action (model.opinion_scope=scoped);
- v5  + the learned weight on the article's claims (model.claim_weight=learned);
- v6  + negotiating new rules a neutral response (data/ontology/responses.csv) = today's defaults.

For each variant, with the product's own code (the model's terms on stored draws are pinned to PyMC's log
density for every setting of the switches by tests/test_terms.py):

- the full model fitted (``update=refit``: exact draws; cached by inputs hash under .cache/posteriors);
- PSIS-LOO over episodes on the variant's own record and on the cells every variant shares (the record without
  the consent cells: weights from the episode's own cells, predictive of the shared ones), each against the
  same-action base rate's leave-one-episode-out log score on the same cells, paired per episode; an episode
  with Pareto k > 0.7 is refitted without it (exact);
- Spiegelhalter's z and the PAV reliability bins of the leave-one-episode-out cell probabilities (the cell's
  fitted probability per draw, weighted by its episode's PSIS leave-out weights);
- every scenario's published probabilities (mean, 90% HDI);
- power-scaling sensitivity (forecast/analysis/checks/sensitivity.py: the article's claims as the prior, the
  history and polls as the likelihood) for every scenario: the count of flagged probabilities by diagnosis,
  and each prior-data conflict with the claim it depends on most;
- the learned weight's posterior (mean, 90% equal-tailed interval) where the model has one.

Results go to the JSON after each variant (a rerun skips variants already there unless --redo); the table
beside it (``results/DATE-study-table.md``). Nothing here is tuned: it reads fits.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent  # this study: its scripts import each other, its results stay in results/
ROOT = HERE.parents[2]
sys.path[:0] = [str(ROOT), str(HERE), str(HERE.parent / "model-changes-ablation")]
BASE = "8dcef99"  # main before issue 24

from ablation import base_rate_elpd, episode_log_weights, paired  # noqa: E402

OLD = ["model.attribute_cells=observe", "model.era_opinion=free", "model.opinion_scope=all",
       "model.claim_weight=fixed"]
# data: "base" = main's data/ and claims before issue 24; "acc" = today's, with negotiate_framework's stance as
# main had it (accommodating); "new" = today's
VARIANTS = {
    "v0": ("main before issue 24", "base", OLD),
    "v1": ("v0 + each sentence once (C48-effect, C30-order, C39-order gone; the article's 80% a poll)", "acc", OLD),
    "v2": ("v1 + the consent cells left out of the record", "acc", OLD[1:]),
    "v3": ("v2 + the era opinion fixed at the reference", "acc", OLD[2:]),
    "v4": ("v3 + the opinion moves only responses to military action", "acc", OLD[3:]),
    "v5": ("v4 + a learned weight on the article's claims", "acc", []),
    "v6": ("v5 + negotiating new rules a neutral response (today's defaults)", "new", []),
}


def base_home(tmp: Path) -> dict[str, Path]:
    """The data/ folders and claims of the variants: main's before issue 24 ("base"), today's with negotiate_framework
    accommodating ("acc")."""
    import shutil

    out = tmp / "base"
    out.mkdir(exist_ok=True)
    tar = subprocess.run(["git", "-C", str(ROOT), "archive", BASE, "data", "conf/priors/article.yaml"],
                         check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=tar, check=True)
    acc = tmp / "acc"
    shutil.copytree(ROOT / "data", acc / "data")
    f = acc / "data" / "ontology" / "responses.csv"
    text = f.read_bytes()
    old = b"negotiate_framework,Negotiate new rules or a cooperation framework,diplomatic,neutral,"
    assert old in text
    f.write_bytes(text.replace(old, old.replace(b"neutral", b"accommodating")))
    return {"base": out, "acc": acc}


EXTRA: list[str] = []  # --extra: overrides added to every variant (screening with fewer draws)


def load(variant: str, as_of: dt.date, homes: dict[str, Path]):
    import yaml

    import forecast

    _, source, overrides = VARIANTS[variant]
    home = homes.get(source)
    extra = [f"paths.data={home / 'data'}"] if home else []
    cfg = forecast.compose([f"as_of={as_of.isoformat()}", *extra, *overrides, *EXTRA])
    priors = None
    if source == "base":
        priors = yaml.safe_load((home / "conf" / "priors" / "article.yaml").read_text())
    return cfg, forecast.load_inputs(cfg, as_of, priors=priors)


def no_consent(ont, outcomes: pd.DataFrame) -> pd.DataFrame:
    out = outcomes.copy()
    out[[r for r in ont.response_ids if ont.responses.at[r, "coded_from"]]] = np.nan
    return out


def hdi(x: np.ndarray, prob: float = 0.9) -> tuple[float, float]:
    x = np.sort(np.asarray(x).ravel())
    n = len(x)
    k = int(np.floor(prob * n))
    i = int(np.argmin(x[k:] - x[: n - k]))
    return float(x[i]), float(x[i + k])


def loo_block(fitted, inputs, outcomes: pd.DataFrame, lw, k, exact: dict) -> dict:
    """LOO over episodes of the cells in ``outcomes`` (weights ``lw`` from each episode's own cells), with the
    exact leave-out refits in ``exact`` (episode -> Fit) replacing the PSIS estimate of those episodes."""
    from arviz_stats import loo
    from scipy.special import logsumexp

    from forecast.analysis.checks.loo import episode_tree
    from forecast.analysis.checks.scores import reliability_bins, spiegelhalter
    from forecast.inputs.data import Episodes
    from forecast.model.likelihood import cell_probabilities, episode_loglik

    ont, eps = inputs.ontology, inputs.episodes
    ref = Episodes(eps.table, outcomes.loc[eps.table.index])
    ll = episode_loglik(fitted.idata, ont, ref, hyper=inputs.hyper)
    nonempty = [e for e in ll["episode"].values if np.any(ll.sel(episode=e).values)]
    r = loo(episode_tree(fitted.idata, ont, ref, ll.sel(episode=nonempty)), pointwise=True, var_name="episodes",
            log_weights=lw.sel(episode=nonempty), pareto_k=k.sel(episode=nonempty))
    per = {str(e): float(v) for e, v in zip(r.elpd_i["episode"].values, r.elpd_i.values, strict=True)}
    # LOO cell probabilities: each cell's probability per draw, weighted by its episode's leave-out weights
    cp, y, names = cell_probabilities(fitted.idata, ont, ref, hyper=inputs.hyper)
    w = np.exp(lw.values.reshape(lw.shape[0], -1) - lw.values.reshape(lw.shape[0], -1).max(axis=1, keepdims=True))
    w = w / w.sum(axis=1, keepdims=True)
    ep_of = [str(n).split(":")[0] for n in names]
    pos = {str(e): i for i, e in enumerate(lw["episode"].values)}
    cpv = cp.values.reshape(-1, cp.shape[-1])
    ploo = np.array([w[pos[e]] @ cpv[:, j] for j, e in enumerate(ep_of)])
    for e, f_e in exact.items():
        ll_e = episode_loglik(f_e.idata, ont, Episodes(eps.table.loc[[e]], outcomes.loc[[e]]), hyper=inputs.hyper)
        if e in per:
            per[e] = float(logsumexp(ll_e.values.ravel()) - np.log(ll_e.values.size))
        cp_e, _, names_e = cell_probabilities(f_e.idata, ont, Episodes(eps.table.loc[[e]], outcomes.loc[[e]]),
                                              hyper=inputs.hyper)
        pe = cp_e.mean(("chain", "draw")).values
        for j, n in enumerate(names_e):
            ploo[names.index(n)] = pe[j]
    base = base_rate_elpd(ont, ref).rename(index=str)
    ids = list(per)
    vals = np.array([per[i] for i in ids])
    return {"elpd": float(vals.sum()), "se": float(np.sqrt(len(vals) * vals.var(ddof=1))), "n_episodes": len(ids),
            "n_cells": int(len(y)), "vs_base_rate_action": paired(vals, base.loc[ids].values),
            "per_episode": {i: round(per[i], 4) for i in ids},
            "spiegelhalter": spiegelhalter(y, ploo), "bins": reliability_bins(y, ploo),
            "cells": {"name": list(names), "y": [int(v) for v in y], "p_loo": [round(float(v), 5) for v in ploo]}}


def run_variant(name: str, as_of: dt.date, home: dict[str, Path], say) -> dict:
    from forecast.analysis.checks.loo import K_BAD, loo_episodes
    from forecast.analysis.checks.sensitivity import sensitivity
    from forecast.inputs import config as _config
    from forecast.inputs.data import Episodes
    from forecast.model.build import CLAIM_WEIGHT, KAPPA, THETA
    from forecast.model.fit import fit, sampler_settings
    from forecast.model.likelihood import episode_loglik
    from forecast.model.predict import predict

    t_all = time.perf_counter()
    label, _, overrides = VARIANTS[name]
    cfg, inputs = load(name, as_of, home)
    res: dict = {"label": label, "overrides": overrides, "timings": {}}
    ont, hyper, eps = inputs.ontology, inputs.hyper, inputs.episodes
    sampler, seed, cache = sampler_settings(cfg), int(cfg.seed), _config.paths(cfg)["cache"]
    t = time.perf_counter()
    say(f"{name}: fit")
    fitted = fit(inputs, sampler, seed, cache, update="refit")
    res["inputs_hash"] = fitted.inputs_hash
    res["timings"]["fit"] = round(time.perf_counter() - t, 1)
    res["diagnostics"] = json.loads(fitted.idata.attrs.get("diagnostics_posterior", "{}"))
    post = fitted.idata["posterior"]
    for v in (CLAIM_WEIGHT, THETA, KAPPA):
        if v in post:
            x = post[v].values.ravel()
            res[v] = {"mean": float(x.mean()), "q05": float(np.quantile(x, 0.05)), "q95": float(np.quantile(x, 0.95)),
                      "sd": float(x.std())}
        if v in fitted.idata["prior"]:
            x = fitted.idata["prior"][v].values.ravel()
            res.setdefault("prior", {})[v] = {"mean": float(x.mean()), "q05": float(np.quantile(x, 0.05)),
                                             "q95": float(np.quantile(x, 0.95))}

    # ---------------- LOO over episodes: own record and the shared (no consent) cells, exact refits for k > 0.7
    t = time.perf_counter()
    ll = episode_loglik(fitted.idata, ont, eps, hyper=hyper)
    lo = loo_episodes(fitted.idata, ont, eps, ll)
    lw, k = episode_log_weights(fitted.idata, ont, eps, ll)
    bad = [str(e) for e, kk in zip(k["episode"].values, k.values, strict=True) if kk > K_BAD]
    exact = {}
    for e in bad:
        say(f"{name}: exact leave-out refit for {e} (Pareto k {float(k.sel(episode=e)):.2f})")
        rest = [i for i in eps.table.index if str(i) != e]
        exact[e] = fit(dataclasses.replace(inputs, episodes=Episodes(eps.table.loc[rest], eps.outcomes.loc[rest])),
                       sampler, seed, cache, update="refit")
    res["loo_pareto"] = {"max_k": lo["max_k"], "influential": lo["influential"], "p_loo": lo["p_loo"],
                         "no_coded_cell": lo["no_coded_cell"], "exact_refits": bad,
                         "k": {str(e): round(float(v), 3) for e, v in zip(k["episode"].values, k.values, strict=True)}}
    res["loo"] = {"own": loo_block(fitted, inputs, eps.outcomes, lw, k, exact),
                  "shared": loo_block(fitted, inputs, no_consent(ont, eps.outcomes), lw, k, exact)}
    res["timings"]["loo"] = round(time.perf_counter() - t, 1)

    # ---------------- published probabilities and power-scaling, every scenario
    t = time.perf_counter()
    names = _config.list_scenarios()
    sc = _config.scenario_profiles(cfg, ont, names)
    pred = predict(fitted.idata, ont, hyper, sc)
    p = pred["p"]
    res["published"] = {str(s): {str(r): [round(float(p.sel(scenario=s, response=r).mean()), 4),
                                          *[round(v, 4) for v in hdi(p.sel(scenario=s, response=r).values)]]
                                 for r in p["response"].values} for s in p["scenario"].values}
    sens = sensitivity(fitted.idata, inputs, p, ep_ll=ll)
    flags, conflicts = {}, []
    for s, block in sens.items():
        for r, diag in block["flags"].items():
            flags[diag] = flags.get(diag, 0) + 1
            top = block["top_claims"][r][0]
            conflicts.append({"scenario": s, "response": r, "diagnosis": diag,
                              "prior": round(float(block["summary"].at[r, "prior"]), 4),
                              "likelihood": round(float(block["summary"].at[r, "likelihood"]), 4),
                              "top_claim": top[0], "top_claim_sensitivity": round(top[1], 4)})
    res["power_scaling"] = {"n_probabilities": int(p.sizes["scenario"] * p.sizes["response"]), "flags": flags,
                            "flagged": conflicts}
    res["timings"]["published_and_sensitivity"] = round(time.perf_counter() - t, 1)
    res["timings"]["total"] = round(time.perf_counter() - t_all, 1)
    return res


# ---------------------------------------------------------------------- the table
def step(results: dict, v: str, prev: str | None, key: str) -> str:
    if prev is None:
        return "—"
    a, b = results[v]["loo"][key]["per_episode"], results[prev]["loo"][key]["per_episode"]
    common = [e for e in a if e in b]
    p = paired([a[e] for e in common], [b[e] for e in common])
    return f"{p['elpd_diff']:+.1f} ({p['se']:.1f})"


def table(results: dict) -> str:
    head = ("| variant | LOO elpd, shared cells (SE) | Δ vs same-action base rate (SE) | Δ vs previous row (SE) | "
            "Spiegelhalter z (LOO) | own record: cells, elpd, Δ vs base rate, z | max k | learned weight "
            "(mean, 90%) | power-scaling flags (conflict / strong prior) of N | published-model back-test |")
    lines = [head, "|" + "---|" * 10]
    order = [v for v in VARIANTS if v in results]
    for i, v in enumerate(order):
        r = results[v]
        sh, own = r["loo"]["shared"], r["loo"]["own"]
        w = r.get("article_weight")
        ws = f"{w['mean']:.2f} [{w['q05']:.2f}, {w['q95']:.2f}]" if w else "1 (fixed)"
        fl = r["power_scaling"]["flags"]
        conflict = sum(n for d, n in fl.items() if "conflict" in d)
        strong = sum(n for d, n in fl.items() if "strong prior" in d)
        lines.append(
            f"| {v} | {sh['elpd']:.1f} ({sh['se']:.1f}) | {sh['vs_base_rate_action']['elpd_diff']:+.1f} "
            f"({sh['vs_base_rate_action']['se']:.1f}) | {step(results, v, order[i - 1] if i else None, 'shared')} | "
            f"{sh['spiegelhalter']['z']:+.2f} | {own['n_cells']}, {own['elpd']:.1f}, "
            f"{own['vs_base_rate_action']['elpd_diff']:+.1f} ({own['vs_base_rate_action']['se']:.1f}), "
            f"{own['spiegelhalter']['z']:+.2f} | {r['loo_pareto']['max_k']:.2f} | {ws} | {conflict} / {strong} of "
            f"{r['power_scaling']['n_probabilities']} | not yet (needs branch score) |")
    lines.append("")
    lines.append("Shared cells: the record without the consent cells (every variant predicts them as the same "
                 "event); LOO weights from each episode's own cells. " + "; ".join(
                     f"{v}: {VARIANTS[v][0]}" for v in order))
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--as-of", default="2026-11-29")
    ap.add_argument("--only", default="")
    ap.add_argument("--json", default=str(HERE / "results" / f"{dt.date.today().isoformat()}-study.json"))
    ap.add_argument("--redo", action="store_true")
    ap.add_argument("--table-only", action="store_true")
    ap.add_argument("--extra", nargs="*", default=[], help="overrides added to every variant (screening)")
    ns = ap.parse_args(argv)
    EXTRA.extend(ns.extra)
    as_of = dt.date.fromisoformat(ns.as_of)
    out_path = Path(ns.json)
    data = json.loads(out_path.read_text()) if out_path.is_file() else {}
    results = data.get("variants", {})
    todo = [v for v in (ns.only.split(",") if ns.only else VARIANTS) if v]

    def say(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)

    if not ns.table_only:
        with tempfile.TemporaryDirectory() as tmp:
            home = base_home(Path(tmp))
            for v in VARIANTS:
                if v not in todo or (v in results and not ns.redo):
                    continue
                results[v] = run_variant(v, as_of, home, say)
                out_path.write_text(json.dumps({"as_of": as_of.isoformat(), "variants": results}, indent=1,
                                               default=str))
                say(f"{v} done in {results[v]['timings']['total']:.0f} s")
    md = table(results)
    (out_path.parent / f"{out_path.stem}-table.md").write_text(md + "\n")
    print(md)


if __name__ == "__main__":
    main(sys.argv[1:])
