"""What sets the width of the intervals, on the study's fits: forecast/analysis/intervals.py per response for three
scenarios (v0 and v6), and, for embedded agents -> negotiate a framework, each covariate's contribution x_k *
beta[k, r] to its linear predictor (posterior mean) in every variant.

    cd WT && FORECAST_HOME=$PWD .venv/bin/python bench/studies/article-weight/drivers.py \
        [--json bench/studies/article-weight/results/2026-12-06-study.json]

Reads the posteriors ``study.py`` cached (by the inputs hash its JSON records); writes DATE-interval-drivers.json
beside the results.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
from pathlib import Path

import pandas as pd
import xarray as xr

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path[:0] = [str(ROOT), str(HERE)]

from study import base_home, load  # noqa: E402

SCENARIOS = ("embedded_agents", "one_time_raid", "joint_raids_coerced")


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", default=str(HERE / "results" / "2026-12-06-study.json"))
    ns = ap.parse_args(argv)
    from forecast.analysis.intervals import drivers
    from forecast.model.predict import predict

    path = Path(ns.json)
    res = json.loads(path.read_text())
    as_of = dt.date.fromisoformat(res["as_of"])
    out: dict = {"as_of": res["as_of"], "drivers": {}, "negotiate_after_embedded_slopes": {}}
    with tempfile.TemporaryDirectory() as tmp:
        homes = base_home(Path(tmp))
        for v, r in res["variants"].items():
            _, inputs = load(v, as_of, homes)
            ont = inputs.ontology
            idata = xr.open_datatree(ROOT / ".cache" / "posteriors" / f"{r['inputs_hash']}.nc")
            ds = idata["posterior"].to_dataset()
            a, j = "embedded_agents", ont.response_ids.index("negotiate_framework")
            X = ont.covariates(pd.DataFrame.from_records([ont.profile(a)], columns=list(ont.attributes)))[0]
            b = ds["beta"].values[..., j].reshape(-1, len(X))
            out["negotiate_after_embedded_slopes"][v] = {
                "intercept": round(float(ds["alpha"].values[..., j].mean()), 3),
                **{k: round(float(c), 3) for k, c, x in zip(ont.covariate_names, (b * X).mean(0), X, strict=True) if x}}
            if v not in ("v0", "v6"):
                continue
            for sc in SCENARIOS:
                spec = {sc: {"action": sc, "profile": ont.profile(sc)}}
                dims = ("chain", "draw", "response")
                pp = predict(idata, ont, inputs.hyper, spec)["p"].sel(scenario=sc).transpose(*dims)
                pr = predict(idata, ont, inputs.hyper, spec, group="prior")["p"].sel(scenario=sc).transpose(*dims)
                rows = drivers(ds, inputs, sc, ont.profile(sc), pp.values, pr.values)
                for row, m in zip(rows, pp.mean(("chain", "draw")).values, strict=True):
                    row["p_mean"] = float(m)
                out["drivers"].setdefault(v, {})[sc] = rows
    dest = path.parent / f"{path.stem.replace('-study', '')}-interval-drivers.json"
    dest.write_text(json.dumps(out, indent=1, default=float))
    print(json.dumps(out["negotiate_after_embedded_slopes"], indent=1))
    for v in out["drivers"]:
        for sc, rows in out["drivers"][v].items():
            print(v, sc)
            for row in rows:
                print(f"  {row['response'][:26]:26} cells {row['cells']} ({row['events']}) of {row['cells_all']:2}  "
                      f"eta {row['eta_mean']:6.2f}  sd {row['sd_prior']:.2f}->{row['sd_post']:.2f}  "
                      f"record {row['record_share']:+.2f}  {row['parts']}  p {row['p_mean']:.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
