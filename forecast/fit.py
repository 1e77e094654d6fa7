"""Sampling, diagnostics and the posterior cache (fit once, report many).

The cache key is a hash of everything that changes the posterior: the validated inputs (data,
priors, evidence up to ``as_of``), the model's hyperparameters, the sampler settings, the seed and
the package/model versions. A cached posterior is a NetCDF file written atomically; a corrupt or
truncated one is discarded and refitted, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from . import __version__
from .data import Inputs
from .model import ALPHA, BETA, DELTA, EVIDENCE_SWITCH, KAPPA, LOADING, P, THETA, build_model

log = logging.getLogger("forecast")

STORED = ["mu_alpha", "sd_alpha_domain", "sd_alpha_response", "g", "tau_slope_domain", "tau_slope_response",
          "sd_cell", "house", ALPHA, BETA, DELTA, LOADING, THETA, KAPPA, P]


def versions() -> dict[str, str]:
    import arviz
    import pymc
    import pytensor

    out = {"forecast": __version__, "pymc": pymc.__version__, "pytensor": pytensor.__version__,
           "arviz": arviz.__version__, "xarray": xr.__version__}
    try:
        import nutpie

        out["nutpie"] = nutpie.__version__
    except ImportError:  # pragma: no cover - nutpie is a dependency
        pass
    return out


def inputs_hash(inputs: Inputs, sampler: dict[str, Any], seed: int) -> str:
    v = versions()
    payload = {"inputs": inputs.fingerprint(), "sampler": sampler, "seed": seed,
               "versions": {k: v[k] for k in ("forecast", "pymc", "pytensor", "nutpie") if k in v}}
    blob = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


@dataclass
class Fit:
    idata: xr.DataTree  # groups: posterior (article + history + evidence), prior (article only), sample_stats
    inputs_hash: str
    from_cache: bool
    timings: dict[str, float] = field(default_factory=dict)
    path: Path | None = None


def _sample(model, sampler: dict[str, Any], seed: int, progress: bool) -> tuple[dict[str, xr.DataTree], dict[str, float]]:
    """Sample the model twice from one compilation: with every source on (the posterior) and with
    the history, polls and evidence switched off (the article-only prior)."""
    import pymc as pm

    timings: dict[str, float] = {}
    var_names = [v for v in STORED if v in model.named_vars]
    kind = sampler["nuts_sampler"]
    out = {}
    common = dict(draws=sampler["draws"], tune=sampler["tune"], chains=sampler["chains"], cores=sampler["cores"])
    if kind == "nutpie":
        import nutpie

        t0 = time.perf_counter()
        compiled = nutpie.compile_pymc_model(model, var_names=var_names, backend="numba", freeze_model=False)
        timings["compile"] = time.perf_counter() - t0
        for name, on, s in (("posterior", 1.0, seed), ("prior", 0.0, seed + 1)):
            t0 = time.perf_counter()
            cm = compiled.with_data(**{EVIDENCE_SWITCH: np.asarray(on)})
            out[name] = nutpie.sample(cm, **common, seed=s, target_accept=sampler["target_accept"],
                                      progress_bar=progress)
            timings[f"sampling_{name}"] = time.perf_counter() - t0
    else:
        for name, on, s in (("posterior", 1.0, seed), ("prior", 0.0, seed + 1)):
            t0 = time.perf_counter()
            with model, warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                pm.set_data({EVIDENCE_SWITCH: on})
                out[name] = pm.sample(**common, random_seed=s, nuts_sampler=kind, var_names=var_names,
                                      target_accept=sampler["target_accept"], progressbar=progress,
                                      compute_convergence_checks=False)
            timings[f"compile+sampling_{name}"] = time.perf_counter() - t0
    return out, timings


def fit(inputs: Inputs, sampler: dict[str, Any], seed: int, cache_dir: Path | None = None,
        progress: bool = False, use_cache: bool = True) -> Fit:
    """The posterior for these inputs: from the cache when the inputs hash is there, else sampled."""
    h = inputs_hash(inputs, sampler, seed)
    path = Path(cache_dir) / "posteriors" / f"{h}.nc" if cache_dir else None
    if use_cache and path is not None and path.is_file():
        t0 = time.perf_counter()
        cached = _load(path, h)
        if cached is not None:
            log.info("posterior cache hit %s", h)
            return Fit(cached, h, True, {"load": time.perf_counter() - t0}, path)
    log.info("posterior cache miss %s: sampling (%s)", h, sampler["nuts_sampler"])
    t0 = time.perf_counter()
    model = build_model(inputs)
    timings = {"build": time.perf_counter() - t0}
    fits, t_sample = _sample(model, sampler, seed, progress)
    timings.update(t_sample)
    post, prior = fits["posterior"], fits["prior"]
    idata = xr.DataTree.from_dict({
        "posterior": post["posterior"].to_dataset(),
        "sample_stats": post["sample_stats"].to_dataset(),
        "prior": prior["posterior"].to_dataset(),
        "prior_sample_stats": prior["sample_stats"].to_dataset(),
    })
    idata.attrs.update({"inputs_hash": h, "seed": seed, "sampler": json.dumps(sampler),
                        "versions": json.dumps(versions()), "as_of": inputs.as_of.isoformat(),
                        "evidence_ids": json.dumps(list(inputs.evidence_ids)),
                        "prior_group": "posterior of the article-only model (claims, no history, polls or evidence)"})
    if path is not None:
        _save(idata, path)
    return Fit(idata, h, False, timings, path)


def _save(idata: xr.DataTree, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    os.close(fd)
    try:
        idata.to_netcdf(tmp, engine="h5netcdf")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _load(path: Path, h: str) -> xr.DataTree | None:
    try:
        with xr.open_datatree(path, engine="h5netcdf") as dt:
            idata = dt.load()
        if idata.attrs.get("inputs_hash") != h or "posterior" not in idata or P not in idata["posterior"]:
            raise ValueError("hash or content mismatch")
        return idata
    except Exception as e:  # noqa: BLE001 - any unreadable cache file is refitted, never trusted
        log.warning("posterior cache file %s is unreadable (%s): refitting", path.name, type(e).__name__)
        try:
            path.unlink()
        except OSError:
            pass
        return None


# ---------------------------------------------------------------------- diagnostics
def diagnostics(idata: xr.DataTree, thresholds: dict[str, float], group: str = "posterior") -> dict[str, Any]:
    import arviz as az

    post = idata[group].to_dataset()
    stats = idata["sample_stats" if group == "posterior" else "prior_sample_stats"].to_dataset()
    rhat = az.rhat(post)
    ess = az.ess(post[[P]], method="bulk")
    max_rhat = float(max(float(rhat[v].max()) for v in rhat.data_vars))
    min_ess = float(ess[P].min())
    div = int(stats["diverging"].sum()) if "diverging" in stats else 0
    bfmi = _bfmi(stats)
    ok = (max_rhat <= thresholds["max_rhat"] and min_ess >= thresholds["min_ess_bulk"]
          and div <= thresholds["max_divergences"] and (bfmi is None or bfmi >= thresholds["min_bfmi"]))
    return {"max_rhat": max_rhat, "min_ess_bulk": min_ess, "divergences": div, "min_bfmi": bfmi, "ok": bool(ok),
            "chains": int(post.sizes["chain"]), "draws": int(post.sizes["draw"])}


def _bfmi(stats: xr.Dataset) -> float | None:
    if "energy" not in stats:
        return None
    e = stats["energy"].values  # (chain, draw)
    num = np.square(np.diff(e, axis=1)).mean(axis=1)
    den = np.var(e, axis=1)
    return float(np.min(num / den))
