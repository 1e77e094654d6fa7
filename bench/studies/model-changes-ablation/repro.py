"""Same inputs, same seed, cold vs warm compile cache: do the draws agree, and by how much do the
published means differ? Run three times with one PYTENSOR base_compiledir (the first run is cold):

    D=$(mktemp -d); for i in 1 2 3; do PYTENSOR_FLAGS=base_compiledir=$D PYTHONPATH=. FORECAST_HOME=. \\
        python bench/studies/model-changes-ablation/repro.py /tmp/repro_$i.npz; done
    python bench/studies/model-changes-ablation/repro.py --compare /tmp/repro_1.npz /tmp/repro_2.npz /tmp/repro_3.npz

Samples the posterior only (nutpie, the default sampler settings and seed), no posterior cache.
"""

from __future__ import annotations

import sys

import numpy as np


def run(out: str) -> None:
    import nutpie

    import forecast
    from forecast.model.build import P, build_model
    from forecast.model.fit import sampler_settings

    cfg = forecast.compose([])
    inputs = forecast.load_inputs(cfg)
    s = sampler_settings(cfg)
    model = build_model(inputs)
    compiled = nutpie.compile_pymc_model(model, var_names=[P], backend="numba", freeze_model=False)
    tr = nutpie.sample(compiled, draws=s["draws"], tune=s["tune"], chains=s["chains"], cores=s["cores"],
                       seed=int(cfg.seed), target_accept=s["target_accept"], progress_bar=False)
    p = tr["posterior"][P].values
    np.savez(out, p=p)


def compare(files: list[str]) -> None:
    ps = [np.load(f)["p"] for f in files]
    m = [p.mean(axis=(0, 1)) for p in ps]
    # Monte Carlo standard error of each mean (ESS-based, arviz) in the first run
    import arviz as az
    import xarray as xr

    da = xr.DataArray(ps[0], dims=("chain", "draw", "action", "response"))
    mcse = az.mcse(xr.Dataset({"p": da}))["p"].values
    for i in range(1, len(ps)):
        same = bool(np.array_equal(ps[0], ps[i]))
        d = np.abs(m[i] - m[0])
        print(f"run 1 vs run {i + 1}: draws identical={same}, max |diff of means|={d.max():.4f}, "
              f"median={np.median(d):.4f}, max diff/MCSE={np.max(d / mcse):.2f}, median MCSE={np.median(mcse):.4f}")


if __name__ == "__main__":
    if sys.argv[1] == "--compare":
        compare(sys.argv[2:])
    else:
        run(sys.argv[1])
