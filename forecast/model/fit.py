"""Sampling, diagnostics and the posterior cache (fit once, report many).

The cache key is a hash of everything that changes the posterior: the validated inputs (data,
priors, evidence up to ``as_of``), the model's hyperparameters, the sampler settings, the seed and
the package/model versions. A cached posterior is a NetCDF file written atomically; a corrupt or
truncated one is discarded and refitted, never trusted.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from filelock import FileLock

from forecast.inputs import config as _config
from forecast.inputs.data import Inputs
from forecast.model.build import ALPHA, BETA, DELTA, EVIDENCE_SWITCH, KAPPA, LOADING, THETA, P, build_model
from forecast.version import __version__

log = logging.getLogger("forecast")

CACHE_FORMAT = 3  # bump when what a cached posterior file holds changes
STORED = ["mu_alpha", "rank_effect", "sd_alpha_domain", "sd_alpha_response", "g", "tau_slope_domain",
          "tau_slope_response", "sd_cell", "house", ALPHA, BETA, DELTA, LOADING, THETA, KAPPA, P]


def versions() -> dict[str, str]:
    """Installed versions, read from package metadata (importing them would cost seconds)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"forecast": __version__}
    for pkg in ("pymc", "pytensor", "arviz", "xarray", "nutpie", "preliz", "hydra-core"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:  # pragma: no cover - all are dependencies
            out[pkg] = "not installed"
    return out


MODEL_SOURCES = ("model/build.py", "model/fit.py", "inputs/data.py", "inputs/priors.py", "inputs/evidence.py")


@functools.cache
def code_digest() -> str:
    """A digest of the source that defines a posterior: a change to the model's code is a new hash."""
    h = hashlib.sha256()
    for name in MODEL_SOURCES:
        h.update((Path(__file__).parents[1] / name).read_bytes())
    return h.hexdigest()[:16]


def inputs_hash(inputs: Inputs, sampler: dict[str, Any], seed: int) -> str:
    v = versions()
    payload = {"inputs": inputs.fingerprint(), "sampler": sampler, "seed": seed, "cache_format": CACHE_FORMAT,
               "code": code_digest(),
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


def _sample(model, sampler: dict[str, Any], seed: int, progress: bool,
            notify=None) -> tuple[dict[str, xr.DataTree], dict[str, float]]:
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
            if notify:
                notify(f"sampling the {'posterior' if on else 'article-only prior'} "
                       f"(compiled in {timings['compile']:.0f}s)")
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
                # fork: the default start method fails inside joblib (loky) workers
                # ("cannot pickle 'mmap.mmap' object"); fork works there and in plain processes
                extra = {"mp_ctx": "fork"} if sampler["cores"] > 1 and sys.platform.startswith("linux") else {}
                out[name] = pm.sample(**common, random_seed=s, nuts_sampler=kind, var_names=var_names,
                                      target_accept=sampler["target_accept"], progressbar=progress,
                                      compute_convergence_checks=False, **extra)
            timings[f"compile+sampling_{name}"] = time.perf_counter() - t0
    return out, timings


def fit(inputs: Inputs, sampler: dict[str, Any], seed: int, cache_dir: Path | None = None,
        progress: bool = False, use_cache: bool = True, notify=None) -> Fit:
    """The posterior for these inputs: from the cache when the inputs hash is there, else sampled."""
    h = inputs_hash(inputs, sampler, seed)
    path = Path(cache_dir) / "posteriors" / f"{h}.nc" if cache_dir else None
    if path is None:
        return _fit_now(inputs, sampler, seed, h, None, progress, notify)
    if use_cache:
        cached = _cached(path, h, inputs)
        if cached is not None:
            return cached
    # one process samples a given hash at a time; the others wait and then read its file
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path.with_suffix(".lock"))):
        if use_cache:
            cached = _cached(path, h, inputs)
            if cached is not None:
                return cached
        return _fit_now(inputs, sampler, seed, h, path, progress, notify)


def _cached(path: Path, h: str, inputs: Inputs) -> Fit | None:
    if not path.is_file():
        return None
    t0 = time.perf_counter()
    idata = _load(path, h)
    if idata is None:
        return None
    # the same posterior serves every date with the same inputs: the attributes name this request's
    # date and evidence, not those of the run that first fitted it
    idata.attrs.update({"as_of": inputs.as_of.isoformat(), "evidence_ids": json.dumps(list(inputs.evidence_ids))})
    log.info("posterior cache hit %s", h)
    return Fit(idata, h, True, {"load": time.perf_counter() - t0}, path)


def _fit_now(inputs: Inputs, sampler: dict[str, Any], seed: int, h: str, path: Path | None,
             progress: bool, notify=None) -> Fit:
    log.info("posterior cache miss %s: sampling (%s)", h, sampler["nuts_sampler"])
    if notify:
        notify(f"posterior cache miss {h}: compiling the model and sampling with {sampler['nuts_sampler']} "
               f"({sampler['chains']} chains x {sampler['draws']} draws, twice: all sources, then the article alone)")
    t0 = time.perf_counter()
    model = build_model(inputs)
    timings = {"build": time.perf_counter() - t0}
    fits, t_sample = _sample(model, sampler, seed, progress, notify)
    timings.update(t_sample)
    post, prior = fits["posterior"], fits["prior"]

    def stored(tree: xr.DataTree) -> xr.Dataset:
        ds = tree["posterior"].to_dataset()
        return ds[[v for v in STORED if v in ds]]

    idata = xr.DataTree.from_dict({
        "posterior": stored(post),
        "sample_stats": post["sample_stats"].to_dataset(),
        "prior": stored(prior),
        "prior_sample_stats": prior["sample_stats"].to_dataset(),
    })
    t0 = time.perf_counter()
    for group in ("posterior", "prior"):
        idata.attrs[f"diagnostics_{group}"] = json.dumps(convergence(idata, group))
    timings["diagnostics"] = time.perf_counter() - t0
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
    encoding = {}
    for group in ("posterior", "prior"):
        ds = idata[group].to_dataset()
        encoding[f"/{group}"] = {v: {"dtype": "float32"} for v in ds.data_vars if ds[v].dtype == np.float64}
    try:
        idata.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)  # float32 draws: half the size
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
def convergence(idata: xr.DataTree, group: str = "posterior") -> dict[str, Any]:
    """R-hat and bulk ESS of what the reports forecast (the response probabilities and the latent
    public-opinion drivers), divergences and BFMI; plus the worst R-hat over every stored parameter,
    the hierarchy's scales included (informational: a slowly mixing scale shows there first)."""
    import arviz as az

    post = idata[group].to_dataset()
    stats = idata["sample_stats" if group == "posterior" else "prior_sample_stats"].to_dataset()
    # a quantity constant across draws (e.g. the house effect of a single pollster, which sums to
    # zero) has no R-hat: it is left out rather than turning the maximum into NaN
    post = post[[v for v in post.data_vars if float(post[v].std(("chain", "draw")).max()) > 0]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rhat = az.rhat(post)
        gated = [v for v in (P, THETA, KAPPA) if v in rhat]
        ess = az.ess(post[gated], method="bulk")
    worst = max(rhat.data_vars, key=lambda v: float(np.nanmax(rhat[v])))
    return {
        "max_rhat": max(float(np.nanmax(rhat[v])) for v in gated),
        "min_ess_bulk": min(float(np.nanmin(ess[v])) for v in gated),
        "max_rhat_all": float(np.nanmax(rhat[worst])),
        "max_rhat_all_variable": worst,
        "divergences": int(stats["diverging"].sum()) if "diverging" in stats else 0,
        "min_bfmi": _bfmi(stats),
        "chains": int(post.sizes["chain"]),
        "draws": int(post.sizes["draw"]),
    }


def diagnostics(idata: xr.DataTree, thresholds: dict[str, float], group: str = "posterior") -> dict[str, Any]:
    """Convergence figures (computed once at fit time and cached) checked against the thresholds."""
    raw = idata.attrs.get(f"diagnostics_{group}")
    d = json.loads(raw) if raw else convergence(idata, group)
    d["ok"] = bool(d["max_rhat"] <= thresholds["max_rhat"] and d["min_ess_bulk"] >= thresholds["min_ess_bulk"]
                   and d["divergences"] <= thresholds["max_divergences"]
                   and (d["min_bfmi"] is None or d["min_bfmi"] >= thresholds["min_bfmi"]))
    return d


def _bfmi(stats: xr.Dataset) -> float | None:
    if "energy" not in stats:
        return None
    e = stats["energy"].values  # (chain, draw)
    num = np.square(np.diff(e, axis=1)).mean(axis=1)
    den = np.var(e, axis=1)
    return float(np.min(num / den))


def sampler_settings(cfg) -> dict[str, Any]:
    from omegaconf import OmegaConf

    return OmegaConf.to_container(cfg.sampler, resolve=True)


def fit_config(cfg, inputs: Inputs, *, progress: bool = False, use_cache: bool = True, notify=None) -> Fit:
    """``fit`` with the sampler, seed and cache folder a composed config names."""
    return fit(inputs, sampler_settings(cfg), int(cfg.seed), _config.paths(cfg)["cache"], progress, use_cache,
               notify)
