"""Benchmark: this tool against a naive PyMC workflow on the same model, side by side.

Run on the project machine (2 cores) with `make bench` (or `.venv/bin/python bench/tool_vs_naive.py`). Every
configuration runs in a fresh process; configurations alternate round by round so machine drift hits
them alike. Medians over rounds; ratios against (a). Nothing here is a test: no threshold fails a
build, the table reports what was measured.

(a) naive: build the model, `pm.sample()` with defaults (PyMC 6 picks nutpie when installed: the
    sampler that ran is recorded), `az.summary` of the response probabilities; warm compile cache
(b) `forecast scenario=one_time_raid`, compile cache warm, posterior cache empty
(c) the same command again: posterior cached
(d) `forecast all_scenarios=true`, compile cache warm, posterior cache empty
(e) `forecast scenario=one_time_raid` with every cache empty (compile, posterior, matplotlib)
ESS/s: min bulk ESS of the response probabilities per second of sampling, nutpie vs PyMC's NUTS.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dated import results_path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable

NAIVE = """
import time, json, sys
t0 = time.perf_counter()
import pymc as pm, arviz as az
import forecast
cfg = forecast.compose([]); inputs = forecast.load_inputs(cfg)
model = forecast.build_model(inputs)
t1 = time.perf_counter()
with model:
    idata = pm.sample(random_seed=1, progressbar=False)
t2 = time.perf_counter()
s = az.summary(idata, var_names=["p"], ci_kind="hdi", ci_prob=0.9)
t3 = time.perf_counter()
stats = idata["sample_stats"]
sampler = stats.attrs.get("sampling_method") or ("nutpie" if "n_steps" in stats else "pymc")
print(json.dumps({"import+build": t1 - t0, "sample": t2 - t1, "summary": t3 - t2, "sampler": sampler,
                  "min_ess": float(s["ess_bulk"].min()), "max_rhat": float(s["r_hat"].max())}))
"""

ESS = """
import time, json, sys
import numpy as np, pymc as pm, arviz as az, nutpie
import forecast
from forecast.model.fit import STORED
cfg = forecast.compose([]); inputs = forecast.load_inputs(cfg)
model = forecast.build_model(inputs)
which = sys.argv[1]
if which == "nutpie":
    c = nutpie.compile_pymc_model(model, var_names=[v for v in STORED if v in model.named_vars], backend="numba")
    t = time.perf_counter()
    tr = nutpie.sample(c, draws=2000, tune=1000, chains=4, cores=2, seed=1, target_accept=0.95, progress_bar=False)
    secs = time.perf_counter() - t
else:
    with model:
        model.compile_logp(); model.compile_dlogp()
        t = time.perf_counter()
        tr = pm.sample(draws=2000, tune=1000, chains=4, cores=2, random_seed=1, nuts_sampler="pymc",
                       target_accept=0.95, progressbar=False, compute_convergence_checks=False)
        secs = tr["posterior"].attrs.get("sampling_time") or (time.perf_counter() - t)
ess = float(az.ess(tr["posterior"].to_dataset()[["p"]], method="bulk")["p"].min())
div = int(tr["sample_stats"]["diverging"].sum())
print(json.dumps({"sampler": which, "sampling_s": float(secs), "min_ess_p": ess, "ess_per_s": ess / float(secs),
                  "divergences": div}))
"""


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str, int]:
    """(seconds, output, exit status); the output is stdout followed by stderr."""
    t = time.perf_counter()
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    return time.perf_counter() - t, p.stdout + "\n" + p.stderr, p.returncode


def last_json(out: str) -> dict:
    """The JSON line a child printed (warnings on stderr come after it)."""
    for line in reversed(out.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return {"error": out[-800:]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", default=str(results_path("tool-vs-naive")))
    args = ap.parse_args()
    base_env = {**os.environ}
    work = Path(tempfile.mkdtemp(prefix="forecast-bench-"))
    reports = work / "reports"
    forecast = [PY, "-m", "forecast", f"paths.reports={reports}"]
    results: dict[str, list[float]] = {k: [] for k in "abcde"}
    detail: dict[str, object] = {}
    # warm the compile caches once (not timed)
    timed([*forecast, f"paths.cache={work / 'warm'}"], base_env)
    for rnd in range(args.rounds):
        t, out, code = timed([PY, "-c", NAIVE], base_env)
        results["a"].append(t)
        detail.setdefault("a", []).append(last_json(out) if code == 0 else out[-500:])
        cache = work / f"cache-b{rnd}"
        t, out, code = timed([*forecast, f"paths.cache={cache}", "scenario=one_time_raid"], base_env)
        results["b"].append(t)
        detail.setdefault("b_exit", []).append(code)
        t, out, code = timed([*forecast, f"paths.cache={cache}", "scenario=one_time_raid"], base_env)
        results["c"].append(t)
        detail.setdefault("c_cache_hit", []).append("cache hit" in out)
        t, out, code = timed([*forecast, f"paths.cache={work / f'cache-d{rnd}'}", "all_scenarios=true"], base_env)
        results["d"].append(t)
    cold = work / "cold"
    env = {**base_env, "PYTENSOR_FLAGS": f"base_compiledir={cold / 'pytensor'}", "MPLCONFIGDIR": str(cold / "mpl"),
           "NUMBA_CACHE_DIR": str(cold / "numba")}
    t, out, code = timed([*forecast, f"paths.cache={cold / 'cache'}", "scenario=one_time_raid"], env)
    results["e"].append(t)
    ess = {}
    for which in ("nutpie", "pymc"):
        t, out, code = timed([PY, "-c", ESS, which], base_env)
        ess[which] = last_json(out) if code == 0 else {"error": out[-800:]}
    med = {k: statistics.median(v) for k, v in results.items() if v}
    summary = {
        "rounds": args.rounds, "seconds": results, "median_s": med,
        "ratio_vs_a": {k: med[k] / med["a"] for k in med},
        "targets": {"b<=0.5a": med["b"] <= 0.5 * med["a"], "c<=5s": med["c"] <= 5.0,
                    "d<=1.3b": med["d"] <= 1.3 * med["b"]},
        "ess": ess, "detail": detail,
        "machine": {"cores": os.cpu_count(), "python": sys.version.split()[0]},
    }
    if "ess_per_s" in ess.get("nutpie", {}) and "ess_per_s" in ess.get("pymc", {}):
        summary["ess_per_s_ratio_nutpie_vs_pymc"] = ess["nutpie"]["ess_per_s"] / ess["pymc"]["ess_per_s"]
    Path(args.out).write_text(json.dumps(summary, indent=1))
    labels = {"a": "naive pm.sample() + az.summary", "b": "forecast, one scenario, compile warm",
              "c": "forecast, posterior cached", "d": "forecast, all 6 scenarios", "e": "forecast, all caches cold"}
    print("| run | median s | x (a) |\n|---|---|---|")
    for k in "abcde":
        print(f"| ({k}) {labels[k]} | {med[k]:.1f} | {med[k] / med['a']:.2f} |")
    print(json.dumps({k: v for k, v in summary.items() if k in ("targets", "ess", "ess_per_s_ratio_nutpie_vs_pymc")},
                     indent=1))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
