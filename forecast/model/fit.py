"""Fitting: the posterior for a configuration, from the cache, a PSIS update of a cached posterior, or sampled.

``fit`` decides: a cache hit (``forecast.model.cache``); else, with ``update=auto``, a PSIS update of the
nearest cached ancestor when its Pareto k <= 0.7 (``forecast.model.reweight``); else it samples
(``forecast.model.sampling``), checks the draws, computes their diagnostics (``forecast.model.diagnostics``)
and caches them, the article-only prior under its own key.

Complete or nothing: a fit is kept only when the sampler returned every configured chain and draw,
all finite, and no SIGINT/SIGTERM arrived (nutpie and PyMC catch Ctrl-C and return the draws they
have: ``raise_if_interrupted`` notices).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from filelock import FileLock

from forecast.errors import IncompleteFitError, raise_if_interrupted
from forecast.files import ensure_dir
from forecast.inputs import config as _config
from forecast.inputs.data import Inputs
from forecast.model import cache
from forecast.model.build import THETA, build_model
from forecast.model.cache import PRIOR_STORED, STORED, family, inputs_hash, prior_hash, versions
from forecast.model.diagnostics import CHECKED, convergence, first_batch_targets
from forecast.model.sampling import sample as _sample

log = logging.getLogger("forecast")

__all__ = ["Fit", "config_hash", "fit", "fit_config", "inputs_hash", "posterior_family", "sampler_settings"]


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
    log_ratio: np.ndarray | None = None  # a PSIS update's log importance ratio (chain, draw), before smoothing


def fit(inputs: Inputs, sampler: dict[str, Any], seed: int, cache_dir: Path | None = None,
        progress: bool = False, use_cache: bool = True, notify=None, update: str = "auto",
        targets: dict[str, float] | None = None) -> Fit:
    """The posterior for these inputs: from the cache when the inputs hash is there; else, with
    ``update="auto"``, a PSIS update of the nearest cached ancestor when its Pareto k <= 0.7
    (``forecast.model.reweight``); else sampled (``update="refit"`` always samples on a cache miss).
    ``targets``: the gates a first batch of draws must meet (``diagnostics.first_batch_targets``); without
    them the sampler draws all ``sampler.draws`` at once."""
    if update not in ("auto", "refit"):
        from forecast.errors import ConfigError

        raise ConfigError("update", f"{update!r} is not auto or refit", "use update=auto or update=refit")
    h = inputs_hash(inputs, sampler, seed, targets)
    path = cache.posterior_path(cache_dir, h) if cache_dir else None
    if path is None:
        return _fit_now(inputs, sampler, seed, h, None, progress, notify, targets)
    ensure_dir(path.parent, cache_dir, heal=True)  # `.cache` a regular file: moved aside, kept, rebuilt
    if use_cache:
        cached = _cached(path, h, inputs, sampler)
        if cached is not None:
            return cached
    why = None
    if use_cache and update == "auto":
        kept = _kept_update(Path(cache_dir), h, inputs, notify)
        if kept is not None:
            return kept
        try:
            upd, why = _psis_update(inputs, family(sampler, seed, targets), Path(cache_dir), h, notify)
        except Exception as e:  # noqa: BLE001 - an update that cannot be computed is a refit, never an error
            log.warning("PSIS update failed (%s: %s): refitting", type(e).__name__, e)
            upd, why = None, f"PSIS update failed ({type(e).__name__}): refit"
        if upd is not None:
            cache.save_update(Path(cache_dir), h, {"w": upd.weights, "wp": upd.prior_weights, "lr": upd.log_ratio},
                              upd.update)
            return upd
    # one process samples a given hash at a time; the others wait and then read its file
    # (flock: works across processes on one machine and across nodes on a shared filesystem with working
    # POSIX locks; the kernel releases it when its holder dies, so a killed worker never blocks the rest)
    with FileLock(str(path.with_suffix(".lock"))):
        if use_cache:
            cached = _cached(path, h, inputs, sampler)
            if cached is not None:
                return cached
        cache.clear_stale_writes(path)
        out = _fit_now(inputs, sampler, seed, h, path, progress, notify, targets)
    out.update = {"method": "refit", "reason": why or ("update=refit" if update == "refit" else
                                                         "no cached posterior to reweight from")}
    return out


def _psis_update(inputs: Inputs, fam: dict[str, Any], cache_dir: Path, h: str,
                 notify=None) -> tuple[Fit | None, str | None]:
    """Reweight the nearest cached ancestor (PSIS; Vehtari et al. 2024, Bürkner, Gabry & Vehtari
    2020): the Fit when every Pareto k <= 0.7, else (None, the reason to refit)."""
    from forecast.model import reweight as U
    from forecast.model.posterior_index import ancestors
    from forecast.model.psis import K_MAX, psis_weights

    t0 = time.perf_counter()
    cands = ancestors(cache_dir, inputs, fam)
    if not cands:
        return None, None
    n, bh, changes, st = cands[0]
    base = cache.load(cache.posterior_path(cache_dir, bh), bh)
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
    seconds = round(time.perf_counter() - t0, 2)
    what = ", ".join(prov["changes"]) or "nothing"
    if ks and max(ks) > K_MAX:
        reason = (f"PSIS update from {bh} ({what}) has Pareto k {max(ks):.2f} > {K_MAX}: refitting")
        log.info(reason)
        if notify:
            notify(reason)
        return None, reason
    out = _update_fit(base, h, inputs, w, wp, prov, lr, {"psis_update": seconds})
    _say_update(prov, notify)
    return out, None


def _update_fit(base: xr.DataTree, h: str, inputs: Inputs, w: np.ndarray, wp: np.ndarray | None,
                prov: dict[str, Any], lr: np.ndarray, timings: dict[str, float] | None = None) -> Fit:
    base.attrs.update({"as_of": inputs.as_of.isoformat(), "evidence_ids": json.dumps(list(inputs.evidence_ids)),
                       "update": json.dumps(prov)})
    # the provenance holds what the update is, not how long it took (a timing there made two runs' reports and
    # posterior files differ by the clock alone); the time is the fit's timings
    return Fit(base, h, False, timings or {}, None, w, wp, prov, lr)


def _say_update(prov: dict[str, Any], notify=None, kept: bool = False) -> None:
    what = ", ".join(prov["changes"]) or "nothing"
    msg = (f"PSIS update of cached posterior {prov['base_hash']} by {what}: Pareto k {prov['pareto_k']}"
           + (f" (prior {prov['prior_pareto_k']})" if "prior_pareto_k" in prov else "")
           + f" <= {prov['k_max']}, ESS of the weights {prov['ess_weights']:.0f} of {prov['draws']} draws "
           + ("(kept from the run that computed it; " if kept else "(")
           + "no refit; update=refit forces one)")
    log.info(msg)
    if notify:
        notify(msg)


def _kept_update(cache_dir: Path, h: str, inputs: Inputs, notify=None) -> Fit | None:
    """The PSIS update to hash ``h`` an earlier run computed and kept (``cache.save_update``), on the same base
    posterior file and by the same reweighting code: the same weights, without recomputing them."""
    t0 = time.perf_counter()
    hit = cache.load_update(cache_dir, h)
    if hit is None:
        return None
    data, prov = hit
    base = cache.load(cache.posterior_path(cache_dir, prov["base_hash"]), prov["base_hash"])
    if base is None or base["posterior"].to_dataset()[THETA].shape != data["w"].shape:
        return None
    _say_update(prov, notify, kept=True)
    return _update_fit(base, h, inputs, data["w"], data.get("wp"), prov, data["lr"],
                       {"psis_update_kept": time.perf_counter() - t0})


def _cached(path: Path, h: str, inputs: Inputs, sampler: dict[str, Any] | None = None) -> Fit | None:
    hit = cache.load_hit(path, h, inputs, sampler)
    return None if hit is None else Fit(hit[0], h, True, {"load": hit[1]}, path)


def _fit_now(inputs: Inputs, sampler: dict[str, Any], seed: int, h: str, path: Path | None,
             progress: bool, notify=None, targets: dict[str, float] | None = None) -> Fit:
    try:
        return _fit_now_inner(inputs, sampler, seed, h, path, progress, notify, targets)
    except Exception:
        raise_if_interrupted()  # a library failing on the way out of a Ctrl-C (numba's compile cache, nutpie's
        raise  # trace of a tuning that never drew) is an interruption, not an internal error


def _fit_now_inner(inputs: Inputs, sampler: dict[str, Any], seed: int, h: str, path: Path | None,
                   progress: bool, notify=None, targets: dict[str, float] | None = None) -> Fit:
    log.info("posterior cache miss %s: sampling (%s)", h, sampler["nuts_sampler"])
    if notify:
        notify(f"posterior cache miss {h}: compiling the model and sampling with {sampler['nuts_sampler']} "
               f"({sampler['chains']} chains x {sampler['draws']} draws; the article-only prior too unless cached)")
    t0 = time.perf_counter()
    model = build_model(inputs)
    timings = {"build": time.perf_counter() - t0}
    with_prior = cache.with_prior(sampler)
    ph = prior_hash(inputs, sampler, targets)
    prior_file = cache.prior_path(path.parent.parent, ph) if path is not None and with_prior else None
    prior_tree = cache.load_prior(prior_file, ph) if prior_file is not None else None
    # the prior's seed follows its own key, not the data fit's seed: one prior for every posterior
    fits, t_sample = _sample(model, sampler, seed, progress, notify,
                             prior_seed=None if prior_tree is not None or not with_prior else int(ph[:8], 16) % 2**31,
                             targets=targets)
    timings.update(t_sample)
    for group, tree in fits.items():
        problem = cache.check_draws(tree["posterior"].to_dataset() if "posterior" in tree else None, sampler, group)
        if problem:
            raise_if_interrupted()
            raise IncompleteFitError(f"the sampler returned an incomplete {group} ({problem}); nothing was cached "
                                     "or published: rerun (and report it if it repeats)")
    t0 = time.perf_counter()
    if not with_prior:  # sampler.article_prior=false (the back-test's fits): the posterior alone
        pass
    elif prior_tree is None:
        prior_tree = _prior_tree(fits["prior"], ph)
        if prior_file is not None:
            cache.save(prior_tree, prior_file, sampler, groups=("prior",))
    else:
        log.info("article-only prior cache hit %s", ph)
        if notify:
            notify(f"article-only prior cache hit {ph} (not resampled)")
        timings["prior_cache_hit"] = 0.0
    idata = _posterior_tree(fits["posterior"], prior_tree)
    timings["diagnostics"] = time.perf_counter() - t0
    raise_if_interrupted()
    idata.attrs.update({"inputs_hash": h, "seed": seed, "sampler": json.dumps(sampler),
                        "versions": json.dumps(versions()), "as_of": inputs.as_of.isoformat(),
                        "evidence_ids": json.dumps(list(inputs.evidence_ids)),
                        "prior_group": "posterior of the article-only model (claims, no history, polls or evidence)"})
    if path is not None:
        cache.save(idata, path, sampler)
        from forecast.model.posterior_index import record
        from forecast.model.reweight import state

        record(path.parent.parent, h, state(inputs, family(sampler, seed, targets)))
    return Fit(cache.as_stored(idata), h, False, timings, path)


def _stored(tree: xr.DataTree, names: list[str]) -> xr.Dataset:
    ds = tree["posterior"].to_dataset()
    return ds[[v for v in names if v in ds]]


def _prior_tree(sampled: xr.DataTree, ph: str) -> xr.DataTree:
    """The article-only prior as its cache file holds it: the stored variables, sample stats, diagnostics."""
    tree = xr.DataTree.from_dict({"prior": _stored(sampled, PRIOR_STORED),
                                  "prior_sample_stats": sampled["sample_stats"].to_dataset()})
    diag = convergence(tree, "prior", known=sampled.attrs.get(CHECKED))  # the first batch's check: not again
    tree.attrs.update({"prior_hash": ph, "diagnostics_prior": json.dumps(diag)})
    return tree


def _posterior_tree(sampled: xr.DataTree, prior_tree: xr.DataTree | None) -> xr.DataTree:
    """The posterior with the article-only prior beside it (None: sampler.article_prior=false) and both fits'
    diagnostics."""
    groups = {"posterior": _stored(sampled, STORED), "sample_stats": sampled["sample_stats"].to_dataset()}
    if prior_tree is not None:
        groups.update(prior=prior_tree["prior"].to_dataset(),
                      prior_sample_stats=prior_tree["prior_sample_stats"].to_dataset())
    idata = xr.DataTree.from_dict(groups)
    idata.attrs["diagnostics_posterior"] = json.dumps(convergence(idata, "posterior", known=sampled.attrs.get(CHECKED)))
    if prior_tree is not None:
        idata.attrs["diagnostics_prior"] = prior_tree.attrs["diagnostics_prior"]
        idata.attrs["prior_hash"] = prior_tree.attrs["prior_hash"]
    return idata


def sampler_settings(cfg) -> dict[str, Any]:
    from omegaconf import OmegaConf

    return OmegaConf.to_container(cfg.sampler, resolve=True)


def posterior_family(cfg) -> dict[str, Any]:
    """What besides the inputs defines the posterior a configuration fits (``cache.family``): the cache index
    reweights only between posteriors of one family."""
    return family(sampler_settings(cfg), int(cfg.seed), first_batch_targets(cfg))


def config_hash(cfg, inputs: Inputs) -> str:
    """The inputs hash ``fit_config`` gives these inputs under this configuration."""
    return inputs_hash(inputs, sampler_settings(cfg), int(cfg.seed), first_batch_targets(cfg))


def fit_config(cfg, inputs: Inputs, *, progress: bool = False, use_cache: bool = True, notify=None,
               update: str | None = None) -> Fit:
    """``fit`` with the sampler, seed, cache folder, update mode (``update=auto|refit``) and the gates a first
    batch of draws is held to (``conf/report``) that a config names."""
    return fit(inputs, sampler_settings(cfg), int(cfg.seed), _config.paths(cfg)["cache"], progress, use_cache,
               notify, update or str(cfg.get("update") or "auto"), first_batch_targets(cfg))
