"""Sampling, diagnostics and the posterior cache (fit once, report many).

The cache key is a hash of everything that changes the posterior: the validated inputs (data,
priors, evidence up to ``as_of``), the model's hyperparameters, the sampler settings, the seed and
the package/model versions.

Complete or nothing: a fit is kept only when the sampler returned every configured chain and draw,
all finite, and no SIGINT/SIGTERM arrived (nutpie and PyMC catch Ctrl-C and return the draws they
have: ``raise_if_interrupted`` notices). The cache file is written under a temporary name, read back
and checked (chains x draws, finite values, the hash it claims) before it is renamed into place; a
cache file is checked again when loaded, and a bad one is moved aside (kept) and refitted, saying so.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from filelock import FileLock

from forecast.errors import IncompleteFitError, raise_if_interrupted
from forecast.files import atomic_write_with, ensure_dir, move_aside
from forecast.inputs import config as _config
from forecast.inputs.data import Inputs
from forecast.model.build import ALPHA, BETA, DELTA, EVIDENCE_SWITCH, KAPPA, LOADING, THETA, THETA_PAST, P, build_model
from forecast.version import __version__

log = logging.getLogger("forecast")

CACHE_FORMAT = 4  # bump when what a cached posterior file holds changes
STORED = ["mu_alpha", "sd_alpha_domain", "sd_alpha_response", "g", "tau_slope_domain", "tau_slope_response",
          "sd_cell", "house", ALPHA, BETA, DELTA, LOADING, THETA, THETA_PAST, KAPPA, P]


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
            raise_if_interrupted()  # a Ctrl-C a library caught during compilation: do not start sampling
            if notify:
                notify(f"sampling the {'posterior' if on else 'article-only prior'} "
                       f"(compiled in {timings['compile']:.0f}s)")
            t0 = time.perf_counter()
            cm = compiled.with_data(**{EVIDENCE_SWITCH: np.asarray(on)})
            try:
                out[name] = nutpie.sample(cm, **common, seed=s, target_accept=sampler["target_accept"],
                                          progress_bar=progress)
            except Exception:
                raise_if_interrupted()  # nutpie caught the Ctrl-C and then failed on the partial trace
                raise
            raise_if_interrupted()  # nutpie caught the Ctrl-C and returned the draws it had
            timings[f"sampling_{name}"] = time.perf_counter() - t0
    else:
        for name, on, s in (("posterior", 1.0, seed), ("prior", 0.0, seed + 1)):
            raise_if_interrupted()
            t0 = time.perf_counter()
            with model, warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                pm.set_data({EVIDENCE_SWITCH: on})
                # fork: the default start method fails inside joblib (loky) workers
                # ("cannot pickle 'mmap.mmap' object"); fork works there and in plain processes
                extra = {"mp_ctx": "fork"} if sampler["cores"] > 1 and sys.platform.startswith("linux") else {}
                try:
                    out[name] = pm.sample(**common, random_seed=s, nuts_sampler=kind, var_names=var_names,
                                          target_accept=sampler["target_accept"], progressbar=progress,
                                          compute_convergence_checks=False, **extra)
                except Exception:
                    raise_if_interrupted()
                    raise
            raise_if_interrupted()  # PyMC, too, returns a partial trace after Ctrl-C
            timings[f"compile+sampling_{name}"] = time.perf_counter() - t0
    return out, timings


def fit(inputs: Inputs, sampler: dict[str, Any], seed: int, cache_dir: Path | None = None,
        progress: bool = False, use_cache: bool = True, notify=None) -> Fit:
    """The posterior for these inputs: from the cache when the inputs hash is there, else sampled."""
    h = inputs_hash(inputs, sampler, seed)
    path = Path(cache_dir) / "posteriors" / f"{h}.nc" if cache_dir else None
    if path is None:
        return _fit_now(inputs, sampler, seed, h, None, progress, notify)
    ensure_dir(path.parent, cache_dir, heal=True)  # `.cache` a regular file: moved aside, kept, rebuilt
    if use_cache:
        cached = _cached(path, h, inputs, sampler)
        if cached is not None:
            return cached
    # one process samples a given hash at a time; the others wait and then read its file
    # (flock: works across processes on one machine and across nodes on a shared filesystem with working
    # POSIX locks; the kernel releases it when its holder dies, so a killed worker never blocks the rest)
    with FileLock(str(path.with_suffix(".lock"))):
        if use_cache:
            cached = _cached(path, h, inputs, sampler)
            if cached is not None:
                return cached
        clear_stale_writes(path)
        return _fit_now(inputs, sampler, seed, h, path, progress, notify)


def clear_stale_writes(path: Path) -> None:
    """Remove the temporary files a killed writer of this posterior left (call holding its lock: only
    the lock holder writes them, so any that exist are stale). The cache itself never holds half a file."""
    for tmp in path.parent.glob(f".{path.stem}.*.tmp"):
        log.info("removing %s left by an interrupted fit", tmp.name)
        tmp.unlink(missing_ok=True)


def _cached(path: Path, h: str, inputs: Inputs, sampler: dict[str, Any] | None = None) -> Fit | None:
    if not path.is_file() and not path.is_symlink():
        return None
    t0 = time.perf_counter()
    idata = _load(path, h, sampler)
    if idata is None:
        return None
    # the same posterior serves every date with the same inputs: the attributes name this request's
    # date and evidence, not those of the run that first fitted it
    idata.attrs.update({"as_of": inputs.as_of.isoformat(), "evidence_ids": json.dumps(list(inputs.evidence_ids))})
    log.info("posterior cache hit %s", h)
    return Fit(idata, h, True, {"load": time.perf_counter() - t0}, path)


def _fit_now(inputs: Inputs, sampler: dict[str, Any], seed: int, h: str, path: Path | None,
             progress: bool, notify=None) -> Fit:
    try:
        return _fit_now_inner(inputs, sampler, seed, h, path, progress, notify)
    except Exception:
        raise_if_interrupted()  # a library failing on the way out of a Ctrl-C (numba's compile cache, nutpie's
        raise  # trace of a tuning that never drew) is an interruption, not an internal error


def _fit_now_inner(inputs: Inputs, sampler: dict[str, Any], seed: int, h: str, path: Path | None,
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
    for group, tree in fits.items():
        problem = check_draws(tree["posterior"].to_dataset() if "posterior" in tree else None, sampler, group)
        if problem:
            raise_if_interrupted()
            raise IncompleteFitError(f"the sampler returned an incomplete {group} ({problem}); nothing was cached "
                                     "or published: rerun (and report it if it repeats)")

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
    raise_if_interrupted()
    idata.attrs.update({"inputs_hash": h, "seed": seed, "sampler": json.dumps(sampler),
                        "versions": json.dumps(versions()), "as_of": inputs.as_of.isoformat(),
                        "evidence_ids": json.dumps(list(inputs.evidence_ids)),
                        "prior_group": "posterior of the article-only model (claims, no history, polls or evidence)"})
    if path is not None:
        _save(idata, path, sampler)
    return Fit(idata, h, False, timings, path)


def check_draws(ds: xr.Dataset | None, sampler: dict[str, Any], group: str = "posterior") -> str | None:
    """What is wrong with a group of draws (None when complete): the configured chains x draws of
    every stored variable, all finite."""
    if ds is None or P not in ds:
        return f"no {group} draws of {P!r}"
    want = (int(sampler["chains"]), int(sampler["draws"]))
    got = (int(ds.sizes.get("chain", 0)), int(ds.sizes.get("draw", 0)))
    if got != want:
        return f"{got[0]} chains x {got[1]} draws instead of the configured {want[0]} x {want[1]}"
    for v in ds.data_vars:
        if v in STORED and np.issubdtype(ds[v].dtype, np.number) and not np.isfinite(ds[v].values).all():
            return f"non-finite values in {v}"
    return None


def check_posterior(idata: xr.DataTree, h: str, sampler: dict[str, Any] | None = None) -> str | None:
    """What is wrong with a fitted or cached posterior (None when it is what hash ``h`` promises)."""
    if idata.attrs.get("inputs_hash") != h:
        return f"it claims inputs hash {idata.attrs.get('inputs_hash')!r}, not {h!r}"
    if sampler is None:
        try:
            sampler = json.loads(idata.attrs.get("sampler", ""))
        except ValueError:
            return "no sampler settings"
    for group in ("posterior", "prior"):
        problem = check_draws(idata[group].to_dataset() if group in idata else None, sampler, group)
        if problem:
            return f"{group}: {problem}"
    return None


def _save(idata: xr.DataTree, path: Path, sampler: dict[str, Any] | None = None) -> None:
    """Write the cache file under a temporary name, read it back and check it, then rename it into place."""
    encoding = {}
    for group in ("posterior", "prior"):
        ds = idata[group].to_dataset()
        encoding[f"/{group}"] = {v: {"dtype": "float32"} for v in ds.data_vars if ds[v].dtype == np.float64}
    h = str(idata.attrs.get("inputs_hash"))
    problem = check_posterior(idata, h, sampler)
    if problem:
        raise IncompleteFitError(f"posterior {h} not cached: {problem}")

    def write(tmp: Path) -> None:
        idata.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)  # float32 draws: half the size

    def check(tmp: Path) -> None:
        raise_if_interrupted()
        if _read(tmp, h, sampler)[0] is None:
            raise IncompleteFitError(f"posterior {h} not cached: the file written does not read back complete")

    atomic_write_with(path, write, path.parent, check=check)


def _read(path: Path, h: str, sampler: dict[str, Any] | None) -> tuple[xr.DataTree | None, str | None]:
    try:
        with xr.open_datatree(path, engine="h5netcdf") as dt:
            idata = dt.load()
    except Exception as e:  # noqa: BLE001 - any unreadable cache file is refitted, never trusted
        return None, f"unreadable: {type(e).__name__}"
    problem = check_posterior(idata, h, sampler)
    return (None, problem) if problem else (idata, None)


def _load(path: Path, h: str, sampler: dict[str, Any] | None = None) -> xr.DataTree | None:
    """A cached posterior, checked; a bad file is moved aside (kept, for a person to look at) and refitted."""
    if path.is_symlink():
        idata, problem = None, "a symbolic link the tool did not make"
    else:
        idata, problem = _read(path, h, sampler)
    if idata is not None:
        return idata
    move_aside(path, f"(posterior cache) is not a complete posterior ({problem})", "refitting")
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
    """The smallest per-chain energy BFMI (ArviZ's ``bfmi``)."""
    import arviz as az

    if "energy" not in stats:
        return None
    out = az.bfmi(xr.DataTree.from_dict({"sample_stats": stats[["energy"]]}))
    return float(np.min(out["energy"].values))


def sampler_settings(cfg) -> dict[str, Any]:
    from omegaconf import OmegaConf

    return OmegaConf.to_container(cfg.sampler, resolve=True)


def fit_config(cfg, inputs: Inputs, *, progress: bool = False, use_cache: bool = True, notify=None) -> Fit:
    """``fit`` with the sampler, seed and cache folder a composed config names."""
    return fit(inputs, sampler_settings(cfg), int(cfg.seed), _config.paths(cfg)["cache"], progress, use_cache,
               notify)
