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
from forecast.model.build import (
    ALPHA,
    BETA,
    CLAIM_WEIGHT,
    DELTA,
    EVIDENCE_SWITCH,
    KAPPA,
    LOADING,
    THETA,
    THETA_PAST,
    P,
    build_model,
)
from forecast.version import __version__

log = logging.getLogger("forecast")

CACHE_FORMAT = 5  # bump when what a cached posterior file holds changes
STORED = ["mu_alpha", "rank_effect", "sd_alpha_domain", "sd_alpha_response", "g", "tau_slope_domain",
          "tau_slope_response", "sd_cell", "house", ALPHA, BETA, DELTA, LOADING, THETA, THETA_PAST, KAPPA,
          CLAIM_WEIGHT, P]


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


def posterior_family(sampler: dict[str, Any], seed: int | None) -> dict[str, Any]:
    """What besides the inputs defines a posterior: sampler, seed, cache format, code and versions."""
    v = versions()
    out = {"sampler": sampler, "cache_format": CACHE_FORMAT, "code": code_digest(),
           "versions": {k: v[k] for k in ("forecast", "pymc", "pytensor", "nutpie") if k in v}}
    if seed is not None:
        out["seed"] = seed
    return out


def inputs_hash(inputs: Inputs, sampler: dict[str, Any], seed: int) -> str:
    payload = {"inputs": inputs.fingerprint(), **posterior_family(sampler, seed)}
    blob = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


def prior_hash(inputs: Inputs, sampler: dict[str, Any]) -> str:
    """The article-only prior's key: ontology, claims, hyperparameters, sampler, code and versions.

    With the data switched off the history, poll and signal terms are constants, so the article-only
    posterior of the shared parameters does not depend on the episodes, polls, evidence, dates or the
    data fit's seed: one prior fit serves every posterior that shares this key."""
    fp = inputs.fingerprint()
    payload = {**{k: fp[k] for k in ("attributes", "actions", "responses", "claims", "hyper")},
               **posterior_family(sampler, None), "prior": 1}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:20]


PRIOR_STORED = [v for v in STORED if v != "house"]  # house effects: per pollster, data-dependent coords


@dataclass
class Fit:
    idata: xr.DataTree  # groups: posterior (article + history + evidence), prior (article only), sample_stats
    inputs_hash: str
    from_cache: bool
    timings: dict[str, float] = field(default_factory=dict)
    path: Path | None = None
    # a PSIS update (forecast.model.reweight): normalised importance weights (chain, draw) of the
    # posterior draws and (when a claim changed) of the article-only prior's, and the provenance
    weights: np.ndarray | None = None
    prior_weights: np.ndarray | None = None
    update: dict[str, Any] | None = None


def _sample(model, sampler: dict[str, Any], seed: int, progress: bool,
            notify=None, prior_seed: int | None = None) -> tuple[dict[str, xr.DataTree], dict[str, float]]:
    """Sample the model from one compilation: with every source on (the posterior) and, when
    ``prior_seed`` is given, with the history, polls and evidence switched off (the article-only prior)."""
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
        for name, on, s in _runs(seed, prior_seed):
            raise_if_interrupted()  # a Ctrl-C a library caught during compilation: do not start sampling
            if notify:
                notify(f"sampling the {'posterior' if on else 'article-only prior'} "
                       f"(compiled in {timings['compile']:.0f}s)")
            t0 = time.perf_counter()
            cm = compiled.with_data(**{EVIDENCE_SWITCH: np.asarray(on)})
            def draw(n: int, cm=cm, s=s):
                try:
                    tr = nutpie.sample(cm, **{**common, "draws": int(n)}, seed=s,
                                       target_accept=sampler["target_accept"], progress_bar=progress)
                except Exception:
                    raise_if_interrupted()  # nutpie caught the Ctrl-C and then failed on the partial trace
                    raise
                raise_if_interrupted()  # nutpie caught the Ctrl-C and returned the draws it had
                return tr

            first = sampler.get("first_draws")
            if first and first < sampler["draws"]:
                # a first batch; the full draws only when it misses the diagnostics' targets
                tr = draw(first)
                missed = _missed_targets(tr, model)
                timings[f"first_batch_{name}"] = time.perf_counter() - t0
                if missed:
                    log.info("%s: first batch of %d draws missed %s: sampling %d", name, first, missed,
                             sampler["draws"])
                    if notify:
                        notify(f"first batch of {first} draws missed {missed}: sampling {sampler['draws']} draws")
                    tr = draw(sampler["draws"])
                out[name] = tr
            else:
                out[name] = draw(sampler["draws"])
            timings[f"sampling_{name}"] = time.perf_counter() - t0
    else:
        for name, on, s in _runs(seed, prior_seed):
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


TARGET_RHAT, TARGET_ESS = 1.01, 400  # conf/report/default.yaml's gates on the reported quantities


def _missed_targets(tree: xr.DataTree, model) -> str:
    """'' when the reported quantities (response probabilities, public opinion and its effect) meet
    R-hat <= 1.01 and bulk ESS >= 400; else which target they missed."""
    import arviz as az

    ds = tree["posterior"].to_dataset()
    ds = ds[[v for v in (P, THETA, KAPPA) if v in ds]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rhat = max(float(np.nanmax(az.rhat(ds)[v])) for v in ds.data_vars)
        ess = min(float(np.nanmin(az.ess(ds, method="bulk")[v])) for v in ds.data_vars)
    out = []
    if not rhat <= TARGET_RHAT:
        out.append(f"R-hat {rhat:.3f} > {TARGET_RHAT}")
    if not ess >= TARGET_ESS:
        out.append(f"bulk ESS {ess:.0f} < {TARGET_ESS}")
    return ", ".join(out)


def _runs(seed: int, prior_seed: int | None) -> list[tuple[str, float, int]]:
    out = [("posterior", 1.0, seed)]
    return out + ([("prior", 0.0, prior_seed)] if prior_seed is not None else [])


def fit(inputs: Inputs, sampler: dict[str, Any], seed: int, cache_dir: Path | None = None,
        progress: bool = False, use_cache: bool = True, notify=None, update: str = "auto") -> Fit:
    """The posterior for these inputs: from the cache when the inputs hash is there; else, with
    ``update="auto"``, a PSIS update of the nearest cached ancestor when its Pareto k <= 0.7
    (``forecast.model.reweight``); else sampled (``update="refit"`` always samples on a cache miss)."""
    if update not in ("auto", "refit"):
        from forecast.errors import ConfigError

        raise ConfigError("update", f"{update!r} is not auto or refit", "use update=auto or update=refit")
    h = inputs_hash(inputs, sampler, seed)
    path = Path(cache_dir) / "posteriors" / f"{h}.nc" if cache_dir else None
    if path is None:
        return _fit_now(inputs, sampler, seed, h, None, progress, notify)
    ensure_dir(path.parent, cache_dir, heal=True)  # `.cache` a regular file: moved aside, kept, rebuilt
    if use_cache:
        cached = _cached(path, h, inputs, sampler)
        if cached is not None:
            return cached
    why = None
    if use_cache and update == "auto":
        try:
            upd, why = _psis_update(inputs, sampler, seed, Path(cache_dir), h, notify)
        except Exception as e:  # noqa: BLE001 - an update that cannot be computed is a refit, never an error
            log.warning("PSIS update failed (%s: %s): refitting", type(e).__name__, e)
            upd, why = None, f"PSIS update failed ({type(e).__name__}): refit"
        if upd is not None:
            return upd
    # one process samples a given hash at a time; the others wait and then read its file
    # (flock: works across processes on one machine and across nodes on a shared filesystem with working
    # POSIX locks; the kernel releases it when its holder dies, so a killed worker never blocks the rest)
    with FileLock(str(path.with_suffix(".lock"))):
        if use_cache:
            cached = _cached(path, h, inputs, sampler)
            if cached is not None:
                return cached
        clear_stale_writes(path)
        out = _fit_now(inputs, sampler, seed, h, path, progress, notify)
    out.update = {"method": "refit", "reason": why or ("update=refit" if update == "refit" else
                                                         "no cached posterior to reweight from")}
    return out


def _psis_update(inputs: Inputs, sampler: dict[str, Any], seed: int, cache_dir: Path, h: str,
                 notify=None) -> tuple[Fit | None, str | None]:
    """Reweight the nearest cached ancestor (PSIS; Vehtari et al. 2024, Bürkner, Gabry & Vehtari
    2020): the Fit when every Pareto k <= 0.7, else (None, the reason to refit)."""
    from forecast.model import reweight as U
    from forecast.model.posterior_index import ancestors
    from forecast.model.psis import K_MAX, psis_weights

    t0 = time.perf_counter()
    cands = ancestors(cache_dir, inputs, posterior_family(sampler, seed))
    if not cands:
        return None, None
    n, bh, changes, st = cands[0]
    base = _load(cache_dir / "posteriors" / f"{bh}.nc", bh)
    if base is None:
        return None, None
    post = U.LogRatios(base, inputs, st.get("pollsters", []))
    try:
        lr = post.total(changes)
    except U.NotReweightable as e:
        reason = f"not a reweighting of {bh} ({e}): refitting"
        if notify:
            notify(reason)
        return None, reason
    w, k, ess = psis_weights(lr)
    prov: dict[str, Any] = {"method": "psis", "base_hash": bh, "pareto_k": round(k, 3) if np.isfinite(k) else None,
                            "ess_weights": round(ess, 1), "draws": int(w.size), "k_max": K_MAX,
                            "changes": [f"{c.kind} {c.label}" for c in changes]}
    wp = None
    if any(c.kind == "claim" for c in changes):
        prior = U.LogRatios(base, inputs, [], group="prior")
        wp, kp, essp = psis_weights(prior.total(changes, claims_only=True))
        prov.update(prior_pareto_k=round(kp, 3) if np.isfinite(kp) else None, prior_ess_weights=round(essp, 1))
    # a non-finite k (weights collapsed on one draw: ESS 1) is the worst case, never a pass
    ks = [prov["pareto_k"]] + ([prov["prior_pareto_k"]] if "prior_pareto_k" in prov else [])
    ks = [np.inf if x is None else x for x in ks]
    prov["seconds"] = round(time.perf_counter() - t0, 2)
    what = ", ".join(prov["changes"]) or "nothing"
    if ks and max(ks) > K_MAX:
        reason = (f"PSIS update from {bh} ({what}) has Pareto k {max(ks):.2f} > {K_MAX}: refitting")
        log.info(reason)
        if notify:
            notify(reason)
        return None, reason
    base.attrs.update({"as_of": inputs.as_of.isoformat(), "evidence_ids": json.dumps(list(inputs.evidence_ids)),
                       "update": json.dumps(prov)})
    msg = (f"PSIS update of cached posterior {bh} by {what}: Pareto k {prov['pareto_k']}"
           + (f" (prior {prov['prior_pareto_k']})" if "prior_pareto_k" in prov else "")
           + f" <= {K_MAX}, ESS of the weights {ess:.0f} of {w.size} draws (no refit; update=refit forces one)")
    log.info(msg)
    if notify:
        notify(msg)
    return Fit(base, h, False, {"psis_update": prov["seconds"]}, None, w, wp, prov), None


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
               f"({sampler['chains']} chains x {sampler['draws']} draws; the article-only prior too unless cached)")
    t0 = time.perf_counter()
    model = build_model(inputs)
    timings = {"build": time.perf_counter() - t0}
    ph = prior_hash(inputs, sampler)
    prior_path = path.parent.parent / "priors" / f"{ph}.nc" if path is not None else None
    prior_tree = _load_prior(prior_path, ph) if prior_path is not None else None
    # the prior's seed follows its own key, not the data fit's seed: one prior for every posterior
    fits, t_sample = _sample(model, sampler, seed, progress, notify,
                             prior_seed=None if prior_tree is not None else int(ph[:8], 16) % 2**31)
    timings.update(t_sample)
    post = fits["posterior"]
    for group, tree in fits.items():
        problem = check_draws(tree["posterior"].to_dataset() if "posterior" in tree else None, sampler, group)
        if problem:
            raise_if_interrupted()
            raise IncompleteFitError(f"the sampler returned an incomplete {group} ({problem}); nothing was cached "
                                     "or published: rerun (and report it if it repeats)")

    def stored(tree: xr.DataTree, names: list[str]) -> xr.Dataset:
        ds = tree["posterior"].to_dataset()
        return ds[[v for v in names if v in ds]]

    t0 = time.perf_counter()
    if prior_tree is None:
        prior_tree = xr.DataTree.from_dict({"prior": stored(fits["prior"], PRIOR_STORED),
                                            "prior_sample_stats": fits["prior"]["sample_stats"].to_dataset()})
        prior_tree.attrs.update({"prior_hash": ph,
                                 "diagnostics_prior": json.dumps(convergence(prior_tree, "prior"))})
        if prior_path is not None:
            _save(prior_tree, prior_path, sampler, groups=("prior",))
    else:
        log.info("article-only prior cache hit %s", ph)
        if notify:
            notify(f"article-only prior cache hit {ph} (not resampled)")
        timings["prior_cache_hit"] = 0.0
    idata = xr.DataTree.from_dict({
        "posterior": stored(post, STORED),
        "sample_stats": post["sample_stats"].to_dataset(),
        "prior": prior_tree["prior"].to_dataset(),
        "prior_sample_stats": prior_tree["prior_sample_stats"].to_dataset(),
    })
    idata.attrs["diagnostics_posterior"] = json.dumps(convergence(idata, "posterior"))
    idata.attrs["diagnostics_prior"] = prior_tree.attrs["diagnostics_prior"]
    idata.attrs["prior_hash"] = ph
    timings["diagnostics"] = time.perf_counter() - t0
    raise_if_interrupted()
    idata.attrs.update({"inputs_hash": h, "seed": seed, "sampler": json.dumps(sampler),
                        "versions": json.dumps(versions()), "as_of": inputs.as_of.isoformat(),
                        "evidence_ids": json.dumps(list(inputs.evidence_ids)),
                        "prior_group": "posterior of the article-only model (claims, no history, polls or evidence)"})
    if path is not None:
        _save(idata, path, sampler)
        from forecast.model.posterior_index import record
        from forecast.model.reweight import state

        record(path.parent.parent, h, state(inputs, posterior_family(sampler, seed)))
    return Fit(as_stored(idata), h, False, timings, path)


def as_stored(idata: xr.DataTree) -> xr.DataTree:
    """The draws as the cache file holds them (float32): the report written right after a fit and every
    later report from the cached posterior then compute from the same numbers, to the last bit."""
    groups = {}
    for name, node in idata.children.items():
        ds = node.to_dataset()
        if name in ("posterior", "prior"):  # the groups ``_save`` encodes as float32
            ds = ds.assign({v: ds[v].astype(np.float32) for v in ds.data_vars if ds[v].dtype == np.float64})
        groups[name] = ds
    out = xr.DataTree.from_dict(groups)
    out.attrs.update(idata.attrs)
    return out


def _load_prior(path: Path, ph: str) -> xr.DataTree | None:
    if not path.is_file():
        return None
    try:
        with xr.open_datatree(path, engine="h5netcdf") as dt:
            tree = dt.load()
        if tree.attrs.get("prior_hash") != ph or "prior" not in tree or "diagnostics_prior" not in tree.attrs:
            raise ValueError("hash or content mismatch")
        return tree
    except Exception as e:  # noqa: BLE001 - any unreadable cache file is resampled, never trusted
        log.warning("prior cache file %s is unreadable (%s): resampling", path.name, type(e).__name__)
        try:
            path.unlink()
        except OSError:
            pass
        return None


def check_draws(ds: xr.Dataset | None, sampler: dict[str, Any], group: str = "posterior") -> str | None:
    """What is wrong with a group of draws (None when complete): the configured chains x draws of
    every stored variable, all finite."""
    if ds is None or P not in ds:
        return f"no {group} draws of {P!r}"
    want = (int(sampler["chains"]), int(sampler["draws"]))
    got = (int(ds.sizes.get("chain", 0)), int(ds.sizes.get("draw", 0)))
    first = sampler.get("first_draws")  # a first batch that met the diagnostics' targets is complete too
    if got != want and not (first and got == (want[0], int(first))):
        return f"{got[0]} chains x {got[1]} draws instead of the configured {want[0]} x {want[1]}"
    for v in ds.data_vars:
        if v in STORED and np.issubdtype(ds[v].dtype, np.number) and not np.isfinite(ds[v].values).all():
            return f"non-finite values in {v}"
    return None


def check_posterior(idata: xr.DataTree, h: str, sampler: dict[str, Any] | None = None,
                    groups: tuple[str, ...] = ("posterior", "prior"), key: str = "inputs_hash") -> str | None:
    """What is wrong with a fitted or cached posterior (None when it is what hash ``h`` promises); the
    article-only prior's own cache file is checked on its ``groups`` and its ``key`` (``prior_hash``)."""
    if idata.attrs.get(key) != h:
        return f"it claims {key} {idata.attrs.get(key)!r}, not {h!r}"
    if sampler is None:
        try:
            sampler = json.loads(idata.attrs.get("sampler", ""))
        except ValueError:
            return "no sampler settings"
    for group in groups:
        problem = check_draws(idata[group].to_dataset() if group in idata else None, sampler, group)
        if problem:
            return f"{group}: {problem}"
    return None


def _save(idata: xr.DataTree, path: Path, sampler: dict[str, Any] | None = None,
          groups: tuple[str, ...] = ("posterior", "prior")) -> None:
    """Write the cache file under a temporary name, read it back and check it, then rename it into place
    (the article-only prior's own file: ``groups=("prior",)``, checked against its ``prior_hash``)."""
    encoding = {}
    for group in groups:
        ds = idata[group].to_dataset()
        encoding[f"/{group}"] = {v: {"dtype": "float32"} for v in ds.data_vars if ds[v].dtype == np.float64}
    key = "inputs_hash" if "posterior" in groups else "prior_hash"
    h = str(idata.attrs.get(key))
    problem = check_posterior(idata, h, sampler, groups, key)
    if problem:
        raise IncompleteFitError(f"posterior {h} not cached: {problem}")

    def write(tmp: Path) -> None:
        idata.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)  # float32 draws: half the size

    def check(tmp: Path) -> None:
        raise_if_interrupted()
        if _read(tmp, h, sampler, groups, key)[0] is None:
            raise IncompleteFitError(f"posterior {h} not cached: the file written does not read back complete")

    atomic_write_with(path, write, path.parent, check=check)


def _read(path: Path, h: str, sampler: dict[str, Any] | None, groups: tuple[str, ...] = ("posterior", "prior"),
          key: str = "inputs_hash") -> tuple[xr.DataTree | None, str | None]:
    try:
        with xr.open_datatree(path, engine="h5netcdf") as dt:
            idata = dt.load()
    except Exception as e:  # noqa: BLE001 - any unreadable cache file is refitted, never trusted
        return None, f"unreadable: {type(e).__name__}"
    problem = check_posterior(idata, h, sampler, groups, key)
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


def fit_config(cfg, inputs: Inputs, *, progress: bool = False, use_cache: bool = True, notify=None,
               update: str | None = None) -> Fit:
    """``fit`` with the sampler, seed, cache folder and update mode (``update=auto|refit``) a config names."""
    return fit(inputs, sampler_settings(cfg), int(cfg.seed), _config.paths(cfg)["cache"], progress, use_cache,
               notify, update or str(cfg.get("update") or "auto"))
