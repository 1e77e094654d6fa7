"""Sampler settings judged by the statistics, at several seeds: divergences, R-hat, bulk ESS and BFMI of the gated
quantities (``forecast.model.diagnostics``: what the report's gates and the first-batch logic read), bulk ESS and
Monte Carlo standard errors of the published probabilities, and the sampling's wall and CPU seconds.

Each setting (``--settings NAME:KEY=VALUE,...``; ``for=posterior`` or ``for=prior`` says which fit it samples: the
posterior with every source on, or the article-only prior with the data switched off) samples the shipped model
once per seed from one compilation, with the arguments ``forecast.model.sampling`` passes nutpie, ``draws`` being
the first batch (``sampler.first_draws``): the fit keeps those draws when they meet the gates, so the first batch
is what a setting must get right. Within a seed the settings run in rotated order, so machine drift hits them
alike. For each posterior setting against the first one (the reference): the max |z| of the 17 published means
(the configured scenario's response probabilities, computed as the report computes them), z being the difference
over the two runs' Monte Carlo standard errors combined, and the ratio of the MCSEs.

    .venv/bin/python bench/sampler_gates.py [--seeds 1 2 3] [--settings ...] [--overrides as_of=2026-01-16]

Writes bench/results/<date>-sampler-gates<suffix>.json. Not a test: nothing fails on a threshold; read the gates.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import warnings
from pathlib import Path

from dated import write_results

ROOT = Path(__file__).resolve().parents[1]

DEFAULT = [
    "current:for=posterior,target_accept=0.95,tune=1000,save_warmup=1",
    "new:for=posterior,target_accept=0.9,tune=400,save_warmup=0",
    "prior-current:for=prior,target_accept=0.95,tune=1000,save_warmup=1",
    "prior-new:for=prior,target_accept=0.95,tune=400,save_warmup=0",
    "prior-0.9:for=prior,target_accept=0.9,tune=400,save_warmup=0",
]


def parse(spec: str) -> tuple[str, dict]:
    name, _, kvs = spec.partition(":")
    out: dict = {}
    for kv in filter(None, kvs.split(",")):
        k, v = kv.split("=")
        out[k] = v if k == "for" else float(v) if "." in v else int(v)
    return name, out


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--settings", nargs="+", default=DEFAULT)
    ap.add_argument("--overrides", nargs="*", default=[],
                    help="Hydra overrides of the inputs, e.g. as_of=2026-01-16 (the replay's fitted date)")
    ap.add_argument("--suffix", default="")
    args = ap.parse_args()

    import arviz as az
    import numpy as np
    import nutpie

    import forecast
    from forecast.inputs import config as C
    from forecast.model.build import EVIDENCE_SWITCH, build_model
    from forecast.model.cache import STORED
    from forecast.model.diagnostics import convergence, first_batch_targets, missed_targets
    from forecast.model.fit import sampler_settings
    from forecast.model.predict import predict

    cfg = forecast.compose(list(args.overrides))
    inputs = forecast.load_inputs(cfg)
    base = sampler_settings(cfg)
    targets = first_batch_targets(cfg)
    scen = C.scenario_profiles(cfg, inputs.ontology, None)
    model = build_model(inputs)
    t0, c0 = time.perf_counter(), time.process_time()
    var_names = [v for v in STORED if v in model.named_vars]
    compiled = nutpie.compile_pymc_model(model, var_names=var_names, backend="numba", freeze_model=False)
    compile_s = {"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0}
    settings = [parse(s) for s in args.settings]
    runs = []
    for i, seed in enumerate(args.seeds):
        order = settings[i % len(settings):] + settings[:i % len(settings)]
        for name, st in order:
            prior = st["for"] == "prior"
            cm = compiled.with_data(**{EVIDENCE_SWITCH: np.asarray(0.0 if prior else 1.0)})
            draws = int(st.get("draws", base.get("first_draws") or base["draws"]))
            before = load()
            t, c = time.perf_counter(), time.process_time()
            tr = nutpie.sample(cm, draws=draws, tune=int(st.get("tune", base["tune"])), chains=int(base["chains"]),
                               cores=int(base["cores"]), seed=(1000 if prior else 0) + seed,
                               target_accept=float(st.get("target_accept", base["target_accept"])),
                               save_warmup=bool(st.get("save_warmup", 1)), progress_bar=False)
            wall, cpu = time.perf_counter() - t, time.process_time() - c
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                d = convergence(tr)
                missed = missed_targets(tr, targets)
            out = {"setting": name, "for": st["for"], "seed": seed, "settings": st, "wall_s": round(wall, 2),
                   "cpu_s": round(cpu, 2), "load_before": before, "load_after": load(),
                   "first_batch_missed": missed, **{k: d[k] for k in ("max_rhat", "min_ess_bulk", "max_rhat_all",
                                                                       "max_rhat_all_variable", "divergences",
                                                                       "min_bfmi")}}
            steps = tr["sample_stats"]["n_steps"].values if "n_steps" in tr["sample_stats"] else None
            if steps is not None:
                out["mean_leapfrog_steps"] = round(float(steps.mean()), 1)
            if not prior:
                p = predict(tr, inputs.ontology, inputs.hyper, scen)["p"].isel(scenario=0)
                ds = p.transpose("chain", "draw", "response").to_dataset(name="p")
                bulk = az.ess(ds, method="bulk")["p"].values
                out.update(mean=p.mean(("chain", "draw")).values.tolist(),
                           mcse=az.mcse(ds, method="mean")["p"].values.tolist(), ess_bulk_p=bulk.tolist(),
                           ess_bulk_p_min=float(bulk.min()), ess_bulk_p_min_per_cpu_s=float(bulk.min() / cpu),
                           rhat_p_max=float(az.rhat(ds)["p"].values.max()))
            runs.append(out)
            print(f"seed {seed} {name}: wall {wall:.1f} s, cpu {cpu:.1f} s, div {d['divergences']}, "
                  f"R-hat {d['max_rhat']:.4f}, min bulk ESS {d['min_ess_bulk']:.0f}, "
                  f"first batch {'missed ' + missed if missed else 'kept'}, load {before[0]}", flush=True)
            del tr
    summary = {}
    ref = settings[0][0]
    for name, st in settings:
        rs = [r for r in runs if r["setting"] == name]
        s = {"for": st["for"], "settings": st, "seeds": [r["seed"] for r in rs],
             "divergences": [r["divergences"] for r in rs], "max_rhat": max(r["max_rhat"] for r in rs),
             "min_ess_bulk": min(r["min_ess_bulk"] for r in rs),
             "first_batch_missed": [r["first_batch_missed"] for r in rs],
             "cpu_s_median": round(statistics.median(r["cpu_s"] for r in rs), 2),
             "wall_s_median": round(statistics.median(r["wall_s"] for r in rs), 2),
             "min_bfmi": min(r["min_bfmi"] for r in rs if r["min_bfmi"] is not None)}
        if "mean_leapfrog_steps" in rs[0]:
            s["mean_leapfrog_steps"] = [r["mean_leapfrog_steps"] for r in rs]
        if st["for"] == "posterior":
            s["ess_bulk_p_min"] = [round(r["ess_bulk_p_min"]) for r in rs]
            s["ess_bulk_p_min_per_cpu_s_median"] = round(statistics.median(r["ess_bulk_p_min_per_cpu_s"]
                                                                           for r in rs), 2)
            if name != ref:
                zs, ratios = [], []
                for r in rs:
                    a = next(x for x in runs if x["setting"] == ref and x["seed"] == r["seed"])
                    zs.append(max(abs(x - y) / (sa ** 2 + sb ** 2) ** 0.5 for x, y, sa, sb in
                                  zip(r["mean"], a["mean"], r["mcse"], a["mcse"], strict=True)))
                    ratios += [x / y for x, y in zip(r["mcse"], a["mcse"], strict=True)]
                s[f"max_abs_z_of_means_vs_{ref}"] = [round(z, 2) for z in zs]
                s[f"mcse_ratio_vs_{ref}"] = {"median": round(statistics.median(ratios), 3),
                                             "max": round(max(ratios), 3)}
        summary[name] = s
    path = write_results("sampler-gates", args.suffix, {
        "overrides": args.overrides, "as_of": inputs.as_of.isoformat(), "gates": targets,
        "report_gates": {k: cfg.report[k] for k in ("max_rhat", "min_ess_bulk", "max_divergences", "min_bfmi")},
        "compile": compile_s, "summary": summary}, runs)
    print(json.dumps(summary, indent=1))
    print(path)


if __name__ == "__main__":
    main()
