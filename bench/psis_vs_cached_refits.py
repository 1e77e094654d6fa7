"""PSIS vs refit from the posteriors bench/psis_vs_refit.py cached: no sampling, the current update code.

    .venv/bin/python bench/psis_vs_cached_refits.py CACHE_DIR [--scenario one_time_raid]

For every cached posterior whose inputs hold exactly one evidence entry, reweights the cached
evidence-free posterior by that entry with forecast.model.reweight (as ``update=auto`` would) and
compares the scenario's response-probability means with the cached exact refit. Used when the update
code changed after the refits were sampled (the refits do not depend on it).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dated import results_path  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("cache")
    ap.add_argument("--scenario", default="one_time_raid")
    ap.add_argument("--out", default=str(results_path("psis-vs-cached-refits")))
    args = ap.parse_args()
    import xarray as xr

    import forecast
    from forecast.api import scenarios
    from forecast.inputs.load import load_inputs
    from forecast.model import reweight as U
    from forecast.model.predict import predict
    from forecast.model.psis import K_MAX, psis_weights

    cache = Path(args.cache)
    cfg = forecast.compose([f"paths.cache={cache}", f"scenario={args.scenario}"])
    sc = scenarios(cfg, forecast.load_inputs(cfg))
    states = [json.loads(p.read_text()) for p in (cache / "posteriors" / "index").glob("*.json")]
    base = next(s for s in states if not s["evidence_ids"])

    def load(h):
        with xr.open_datatree(cache / "posteriors" / f"{h}.nc", engine="h5netcdf") as dt:
            return dt.load()

    bidata = load(base["hash"])
    base_in = load_inputs(cfg, evidence_only=set())

    def means(idata, inp, w=None):
        return U.weighted_mean(predict(idata, inp.ontology, inp.hyper, sc)["p"], w).to_pandas().loc[args.scenario]

    m_base = means(bidata, base_in)
    rows = []
    for st in sorted((s for s in states if len(s["evidence_ids"]) == 1), key=lambda s: s["evidence_ids"][0]):
        e = st["evidence_ids"][0]
        inp = load_inputs(cfg, evidence_only={e})
        fam = {"posthoc": 1}
        b = U.state(base_in, fam)  # recomputed: the index was written before a fix of the row hashing
        t = time.perf_counter()
        try:
            ch = U.diff(b, inp, fam)
            lr = U.LogRatios(bidata, inp, base.get("pollsters", [])).total(ch)
        except U.NotReweightable as err:
            rows.append({"entry": e, "method": "refit", "reason": str(err)})
            print(json.dumps(rows[-1]), flush=True)
            continue
        w, k, ess = psis_weights(lr)
        secs = time.perf_counter() - t
        m_upd, m_ex = means(bidata, inp, w), means(load(st["hash"]), inp)
        rows.append({"entry": e, "method": "psis" if k <= K_MAX else "refit (k > 0.7)", "pareto_k": round(k, 3),
                     "ess_weights": round(ess, 1), "reweight_s": round(secs, 2),
                     "max_abs_diff_psis_vs_refit": round(float((m_upd - m_ex).abs().max()), 4),
                     "max_abs_move_base_vs_refit": round(float((m_base - m_ex).abs().max()), 4),
                     "worst_response": str((m_upd - m_ex).abs().idxmax())})
        print(json.dumps(rows[-1]), flush=True)
    Path(args.out).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
