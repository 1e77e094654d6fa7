"""ESS per second of the published probabilities: our ``fit`` against the plain workflow on the same model.

Published probabilities: the 17 response probabilities of the configured scenario, computed from the draws as
the report computes them (``forecast.model.predict.predict``), not the raw parameters. For each run, in a fresh
process, bulk and tail ESS of those 17 (minimum and median), their means and Monte Carlo standard errors, and
the wall time. Sides, alternated round by round so that machine drift hits them alike:

- ``plain``: ``forecast.build_model`` of the default configuration, ``pm.sample()`` with its defaults (seeded),
  then ``az.summary`` of the draws (what a plain workflow prints). Wall: build + sample + summary.
- ``fit``: ``forecast.model.fit.fit`` of the same inputs with the configured sampler and gates (first batch
  logic included) into an empty posterior cache. Two walls: ``wall_s`` (build, compile, posterior) and
  ``wall_with_prior_s`` (plus the article-only prior, which one fit per set of claims samples and every later
  posterior of those claims reuses from the cache).
- ``fit:KEY=VALUE,...``: the same with sampler settings overridden (e.g. ``fit:first_draws=500``).

    .venv/bin/python bench/sampler_ess.py [--rounds 3] [--sides plain fit fit:first_draws=500] [--suffix ...]

Writes bench/results/<date>-sampler-ess<suffix>.json (medians per side; the max |z| of each side's 17 means
against the first ``fit`` side's, in units of the two Monte Carlo standard errors). Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from dated import write_results

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time, tempfile
from pathlib import Path
t_start = time.perf_counter()
import numpy as np
import arviz as az
import forecast
from forecast.model.fit import fit, sampler_settings
from forecast.model.diagnostics import first_batch_targets, convergence
from forecast.model.predict import predict
from forecast.inputs import config as C

side, seed = sys.argv[1], int(sys.argv[2])
cfg = forecast.compose([])
inputs = forecast.load_inputs(cfg)
scen = C.scenario_profiles(cfg, inputs.ontology, None)
out = {"side": side}
t0 = time.perf_counter()
if side == "plain":
    import pymc as pm
    model = forecast.build_model(inputs)
    with model:
        idata = pm.sample(random_seed=seed, progressbar=False)
    s = az.summary(idata)
    out["wall_s"] = time.perf_counter() - t0
    st = idata["sample_stats"]
    out["sampler"] = st.attrs.get("sampling_method") or ("nutpie" if "n_steps" in st else "pymc")
    out["divergences"] = int(st["diverging"].sum())
    post = idata["posterior"].to_dataset()
    out["chains"], out["draws"] = int(post.sizes["chain"]), int(post.sizes["draw"])
    out["max_rhat_all"] = float(s["r_hat"].max())
else:
    sampler = sampler_settings(cfg)
    for kv in filter(None, side.partition(":")[2].split(",")):
        k, v = kv.split("=")
        sampler[k] = None if v == "null" else float(v) if "." in v else int(v)
    f = fit(inputs, sampler, int(cfg.seed), Path(tempfile.mkdtemp()), update="refit",
            targets=first_batch_targets(cfg))
    out["wall_with_prior_s"] = time.perf_counter() - t0
    tm = f.timings
    out["timings"] = {k: round(v, 2) for k, v in tm.items()}
    out["wall_s"] = tm.get("build", 0) + tm.get("compile", 0) + tm.get("sampling_posterior", 0)
    idata = f.idata
    d = convergence(idata)
    out.update(divergences=d["divergences"], chains=d["chains"], draws=d["draws"], gates=d,
               first_batch_missed=bool(sampler.get("first_draws")) and d["draws"] > int(sampler["first_draws"]))
    out["sampler"] = sampler["nuts_sampler"]
    out["sampler_settings"] = sampler
pred = predict(idata, inputs.ontology, inputs.hyper, scen)["p"].isel(scenario=0)
p = pred.transpose("chain", "draw", "response")
ds = p.to_dataset(name="p")
bulk = az.ess(ds, method="bulk")["p"].values
tail = az.ess(ds, method="tail")["p"].values
mcse = az.mcse(ds, method="mean")["p"].values
rhat = az.rhat(ds)["p"].values
out.update(responses=[str(r) for r in p["response"].values], mean=p.mean(("chain", "draw")).values.tolist(),
           mcse=mcse.tolist(), ess_bulk=bulk.tolist(), ess_tail=tail.tolist(),
           ess_bulk_min=float(bulk.min()), ess_bulk_median=float(np.median(bulk)),
           ess_tail_min=float(tail.min()), ess_tail_median=float(np.median(tail)), rhat_max_p=float(rhat.max()))
for k in ("bulk", "tail"):
    for s in ("min", "median"):
        out[f"ess_{k}_{s}_per_s"] = out[f"ess_{k}_{s}"] / out["wall_s"]
out["process_s"] = time.perf_counter() - t_start
print("RESULT " + json.dumps(out))
"""


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def run(side: str, seed: int) -> dict:
    before = load()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", CHILD, side, str(seed)], cwd=ROOT, env=env, capture_output=True,
                       text=True)
    if p.returncode:
        raise SystemExit(f"{side} failed:\n{p.stderr[-3000:]}")
    line = [x for x in p.stdout.splitlines() if x.startswith("RESULT ")][-1]
    out = json.loads(line[len("RESULT "):])
    out.update(load_before=before, load_after=load(), subprocess_s=time.perf_counter() - t)
    return out


def max_z(a: dict, b: dict) -> float:
    return max(abs(x - y) / (sa ** 2 + sb ** 2) ** 0.5
               for x, y, sa, sb in zip(a["mean"], b["mean"], a["mcse"], b["mcse"], strict=True))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--sides", nargs="+", default=["plain", "fit"])
    ap.add_argument("--seed", type=int, default=1, help="the plain workflow's random_seed")
    ap.add_argument("--suffix", default="")
    args = ap.parse_args()
    runs: list[dict] = []
    for r in range(args.rounds):
        for side in args.sides:
            out = run(side, args.seed)
            out["round"] = r
            runs.append(out)
            print(f"round {r} {side}: wall {out['wall_s']:.1f} s, min bulk ESS {out['ess_bulk_min']:.0f}, "
                  f"min tail ESS {out['ess_tail_min']:.0f}, load {out['load_before'][0]}", flush=True)
    keys = ["wall_s", "wall_with_prior_s", "process_s", "ess_bulk_min", "ess_bulk_median", "ess_tail_min",
            "ess_tail_median", "ess_bulk_min_per_s", "ess_bulk_median_per_s", "ess_tail_min_per_s",
            "ess_tail_median_per_s"]
    med = {}
    for side in args.sides:
        rs = [x for x in runs if x["side"] == side]
        med[side] = {k: round(statistics.median([x[k] for x in rs]), 3) for k in keys if k in rs[0]}
        med[side].update(n=len(rs), sampler=rs[0]["sampler"], chains=rs[0]["chains"], draws=rs[0]["draws"],
                         divergences=[x["divergences"] for x in rs])
    ref = next((s for s in args.sides if s == "fit"), None)
    if ref:
        a = next(x for x in runs if x["side"] == ref)
        for side in args.sides:
            if side != ref:
                b = next(x for x in runs if x["side"] == side)
                med[side]["max_abs_z_of_means_vs_fit"] = round(max_z(a, b), 2)
    if "plain" in med:
        for side in args.sides:
            if side != "plain":
                med[side]["vs_plain"] = {k: round(med[side][k] / med["plain"][k], 3)
                                         for k in keys if k.endswith("per_s") or k == "wall_s"}
    path = write_results("sampler-ess", args.suffix,
                         {"rounds": args.rounds, "sides": args.sides, "medians": med}, runs)
    print(json.dumps(med, indent=1))
    print(path)


if __name__ == "__main__":
    main()
