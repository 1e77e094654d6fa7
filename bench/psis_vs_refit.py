"""PSIS update vs exact refit, every shipped evidence entry added one at a time (the real model).

    .venv/bin/python bench/psis_vs_refit.py [--scenario one_time_raid] [--out bench/results/DATE-psis-vs-refit.json]

Fits the evidence-free state once (cached), then for each entry of data/evidence/: the PSIS update of
that posterior by the entry (``update=auto``) and an exact refit of the same inputs (``update=refit``),
and reports the Pareto k, the ESS of the weights, the seconds of each path and the maximum absolute
difference of the scenario's response-probability means (target: <= 0.01 where k <= 0.7). The
Monte Carlo noise of two independent exact fits is reported beside it (refit with another seed).
Not a test: a real fit costs a minute.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dated import results_path  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", default="one_time_raid")
    ap.add_argument("--out", default=str(results_path("psis-vs-refit")))
    ap.add_argument("--only", nargs="*", help="evidence ids (default: all)")
    args = ap.parse_args()
    import forecast
    from forecast.inputs.load import load_inputs
    from forecast.model.fit import fit_config
    from forecast.model.predict import predict
    from forecast.model.summary import mean as weighted_mean

    cache = Path(tempfile.mkdtemp(prefix="forecast-psis-"))
    cfg = forecast.compose([f"paths.cache={cache}", f"scenario={args.scenario}"])
    full = forecast.load_inputs(cfg)
    from forecast.api import scenarios

    sc = scenarios(cfg, full)
    ids = args.only or list(full.evidence_ids)

    def means(f, inp):
        pred = predict(f.idata, inp.ontology, inp.hyper, sc)
        return weighted_mean(pred["p"], f.weights).to_pandas().loc[args.scenario]

    t = time.perf_counter()
    base_in = load_inputs(cfg, evidence_only=set())
    base = fit_config(cfg, base_in)
    rows = [{"entry": "(base: no evidence)", "fit_s": round(time.perf_counter() - t, 1), "hash": base.inputs_hash}]
    print(json.dumps(rows[-1]), flush=True)
    for e in ids:
        inp = load_inputs(cfg, evidence_only={e})
        t = time.perf_counter()
        upd = fit_config(cfg, inp, update="auto")
        t_upd = time.perf_counter() - t
        t = time.perf_counter()
        ex = fit_config(cfg, inp, update="refit")
        t_ex = time.perf_counter() - t
        m_upd, m_ex, m_base = means(upd, inp), means(ex, inp), means(base, base_in)
        u = upd.update or {}
        rows.append({"entry": e, "method": u.get("method"), "pareto_k": u.get("pareto_k"),
                     "ess_weights": u.get("ess_weights"), "update_s": round(t_upd, 2), "refit_s": round(t_ex, 1),
                     "max_abs_diff_psis_vs_refit": round(float((m_upd - m_ex).abs().max()), 4),
                     "max_abs_move_base_vs_refit": round(float((m_base - m_ex).abs().max()), 4),
                     "worst_response": str((m_upd - m_ex).abs().idxmax())})
        print(json.dumps(rows[-1]), flush=True)
    # Monte Carlo noise between two exact fits of the same inputs (another seed)
    cfg2 = forecast.compose([f"paths.cache={cache}", f"scenario={args.scenario}", f"seed={int(cfg.seed) + 7}"])
    other = fit_config(cfg2, base_in, update="refit")
    noise = float((means(other, base_in) - means(base, base_in)).abs().max())
    rows.append({"entry": "(noise: two exact fits, seeds differ)", "max_abs_diff": round(noise, 4)})
    print(json.dumps(rows[-1]), flush=True)
    Path(args.out).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
