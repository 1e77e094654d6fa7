"""Does the default configuration still build the same model from the same inputs?

    PYTHONPATH=. FORECAST_HOME=. python bench/studies/model-changes-ablation/defaults_check.py OUT.json \
        [--as-of 2026-11-29]

Writes, for the default configuration (and the configured overrides given after ``--``): the inputs'
fingerprint digest, the inputs hash, the code digest, the hash recomputed with another code digest
(``--code-digest``), the model's variables, and its joint log density and gradient at 5 random points
(seeded). Run it on two checkouts and compare the files: equal fingerprints and equal log densities at
every point mean the same model of the same inputs (the inputs hash then differs only by the code digest,
which covers the model's source files and so changes with any edit to them).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--as-of", default="2026-11-29")
    ap.add_argument("--code-digest", default=None, help="recompute the inputs hash with this code digest")
    ap.add_argument("overrides", nargs="*")
    ns = ap.parse_args()
    import forecast
    from forecast.model import cache as C
    from forecast.model import fit as F
    from forecast.model.diagnostics import first_batch_targets

    today = dt.date.fromisoformat(ns.as_of)
    cfg = forecast.compose([f"as_of={ns.as_of}", *ns.overrides])
    inputs = forecast.load_inputs(cfg, today)
    sampler = F.sampler_settings(cfg)
    targets = first_batch_targets(cfg)
    fp = json.dumps(inputs.fingerprint(), sort_keys=True, default=str)
    out = {"fingerprint_sha256": hashlib.sha256(fp.encode()).hexdigest(), "hyper": inputs.hyper,
           "inputs_hash": F.config_hash(cfg, inputs), "prior_hash": C.prior_hash(inputs, sampler, targets),
           "code_digest": C.code_digest(), "provenance": inputs.provenance}
    if ns.code_digest:
        C.code_digest.cache_clear()
        orig = C.code_digest
        C.code_digest = lambda: ns.code_digest  # noqa: E731 - only for this recomputation
        out["inputs_hash_with_given_code_digest"] = F.config_hash(cfg, inputs)
        out["prior_hash_with_given_code_digest"] = C.prior_hash(inputs, sampler, targets)
        C.code_digest = orig
    model = forecast.build_model(inputs)
    out["free_rvs"] = sorted(f"{v.name}{tuple(v.shape.eval())}" for v in model.free_RVs)
    out["observed"] = sorted(f"{v.name}{tuple(v.shape.eval())}" for v in model.observed_RVs)
    out["deterministics"] = sorted(v.name for v in model.deterministics)
    logp = model.compile_logp()
    dlogp = model.compile_dlogp()
    rng = np.random.default_rng(16)
    ip = model.initial_point()
    pts = []
    for _ in range(5):
        p = {k: v + rng.normal(0, 0.5, size=np.shape(v)) for k, v in ip.items()}
        pts.append({"logp": float(logp(p)), "dlogp_sha256": hashlib.sha256(
            np.round(np.asarray(dlogp(p), dtype=float), 9).tobytes()).hexdigest()[:16]})
    out["points"] = pts
    with open(ns.out, "w") as fh:
        json.dump(out, fh, indent=1, sort_keys=True, default=str)
    print(json.dumps(out, indent=1, sort_keys=True, default=str))


if __name__ == "__main__":
    main()
