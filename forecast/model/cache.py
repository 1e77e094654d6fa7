"""The posterior cache: keys, files and their checks.

The key (``inputs_hash``) is a hash of everything that changes the posterior: the validated inputs (data,
priors, evidence up to ``as_of``), the model's hyperparameters, the sampler settings (and the gates a first
batch of draws is held to), the seed, and the code and package versions (``family``). The article-only prior
has its own key (``prior_hash``): it depends on neither the data nor the seed.

A cache file is written under a temporary name, read back and checked (chains x draws, finite values, the
hash it claims) before it is renamed into place (``save``); it is checked again when loaded (``load``), and a
bad one is moved aside (kept, for a person to look at) and refitted, saying so.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from forecast.errors import IncompleteFitError, raise_if_interrupted
from forecast.files import atomic_write_with, move_aside
from forecast.inputs.data import Inputs
from forecast.model import arrays
from forecast.model.build import ALPHA, BETA, CLAIM_WEIGHT, DELTA, KAPPA, LOADING, THETA, THETA_PAST, P
from forecast.model.diagnostics import first_batch
from forecast.version import __version__

log = logging.getLogger("forecast")

CACHE_FORMAT = 5  # bump when what a cached posterior file holds changes
STORED = ["mu_alpha", "rank_effect", "sd_alpha_domain", "sd_alpha_response", "g", "tau_slope_domain",
          "tau_slope_response", "sd_cell", "house", ALPHA, BETA, DELTA, LOADING, THETA, THETA_PAST, KAPPA,
          CLAIM_WEIGHT, P]
PRIOR_STORED = [v for v in STORED if v != "house"]  # house effects: per pollster, data-dependent coords
# the source that defines a posterior: a change to any of it is a new hash
MODEL_SOURCES = ("model/build.py", "model/sampling.py", "model/diagnostics.py", "model/cache.py", "model/fit.py",
                 "inputs/data.py", "inputs/priors.py", "inputs/evidence.py")


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


@functools.cache
def code_digest() -> str:
    """A digest of the source that defines a posterior: a change to the model's code is a new hash."""
    h = hashlib.sha256()
    for name in MODEL_SOURCES:
        h.update((Path(__file__).parents[1] / name).read_bytes())
    return h.hexdigest()[:16]


def family(sampler: dict[str, Any], seed: int | None, targets: dict[str, float] | None = None) -> dict[str, Any]:
    """What besides the inputs defines a posterior: sampler, seed, cache format, code and versions, and the
    gates a first batch of draws must meet (``targets``, when the sampler draws a first batch)."""
    v = versions()
    out = {"sampler": sampler, "cache_format": CACHE_FORMAT, "code": code_digest(),
           "versions": {k: v[k] for k in ("forecast", "pymc", "pytensor", "nutpie") if k in v}}
    if seed is not None:
        out["seed"] = seed
    if first_batch(sampler, targets) is not None:
        out["first_batch_targets"] = targets
    return out


def inputs_hash(inputs: Inputs, sampler: dict[str, Any], seed: int, targets: dict[str, float] | None = None) -> str:
    payload = {"inputs": inputs.fingerprint(), **family(sampler, seed, targets)}
    blob = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


def prior_hash(inputs: Inputs, sampler: dict[str, Any], targets: dict[str, float] | None = None) -> str:
    """The article-only prior's key: ontology, claims, hyperparameters, sampler, code and versions.

    With the data switched off the history, poll and signal terms are constants, so the article-only
    posterior of the shared parameters does not depend on the episodes, polls, evidence, dates or the
    data fit's seed: one prior fit serves every posterior that shares this key."""
    fp = inputs.fingerprint()
    payload = {**{k: fp[k] for k in ("attributes", "actions", "responses", "claims", "hyper")},
               **family(sampler, None, targets), "prior": 1}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:20]


def with_prior(sampler: dict[str, Any]) -> bool:
    """Whether a fit samples the article-only prior beside its posterior: ``sampler.article_prior`` (default true;
    the back-test's fits set it false: they read their posterior alone, and sampling the prior of every fold
    was half of each refit's sampling). It is part of the sampler's settings, so of the posterior's key."""
    return bool(sampler.get("article_prior", True))


def posterior_path(cache_dir: Path, h: str) -> Path:
    return Path(cache_dir) / "posteriors" / f"{h}.nc"


def prior_path(cache_dir: Path, ph: str) -> Path:
    return Path(cache_dir) / "priors" / f"{ph}.nc"


def clear_stale_writes(path: Path) -> None:
    """Remove the temporary files a killed writer of this posterior left (call holding its lock: only
    the lock holder writes them, so any that exist are stale). The cache itself never holds half a file."""
    for tmp in path.parent.glob(f".{path.stem}.*.tmp"):
        log.info("removing %s left by an interrupted fit", tmp.name)
        tmp.unlink(missing_ok=True)


def as_stored(idata: xr.DataTree) -> xr.DataTree:
    """The draws as the cache file holds them (float32): the report written right after a fit and every
    later report from the cached posterior then compute from the same numbers, to the last bit."""
    groups = {}
    for name, node in idata.children.items():
        ds = node.to_dataset()
        if name in ("posterior", "prior"):  # the groups ``save`` encodes as float32
            ds = ds.assign({v: ds[v].astype(np.float32) for v in ds.data_vars if ds[v].dtype == np.float64})
        groups[name] = ds
    out = xr.DataTree.from_dict(groups)
    out.attrs.update(idata.attrs)
    return out


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
        if group == "prior" and not with_prior(sampler):
            continue
        problem = check_draws(idata[group].to_dataset() if group in idata else None, sampler, group)
        if problem:
            return f"{group}: {problem}"
    return None


def save(idata: xr.DataTree, path: Path, sampler: dict[str, Any] | None = None,
         groups: tuple[str, ...] = ("posterior", "prior")) -> None:
    """Write the cache file under a temporary name, read it back and check it, then rename it into place
    (the article-only prior's own file: ``groups=("prior",)``, checked against its ``prior_hash``)."""
    encoding = {}
    for group in groups:
        if group not in idata:  # the prior of a fit without it (check_posterior below says whether it may lack it)
            continue
        ds = idata[group].to_dataset()
        encoding[f"/{group}"] = {v: {"dtype": "float32"} for v in ds.data_vars if ds[v].dtype == np.float64}
    key = "inputs_hash" if "posterior" in groups else "prior_hash"
    h = str(idata.attrs.get(key))
    problem = check_posterior(idata, h, sampler, groups, key)
    if problem:
        raise IncompleteFitError(f"posterior {h} not cached: {problem}")

    def write(tmp: Path) -> None:
        idata.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)  # float32 draws: half the size

    back = []

    def check(tmp: Path) -> None:
        raise_if_interrupted()
        tree = read(tmp, h, sampler, groups, key, fast=False)[0]
        if tree is None:
            raise IncompleteFitError(f"posterior {h} not cached: the file written does not read back complete")
        back.append(tree)

    atomic_write_with(path, write, path.parent, check=check)
    if key == "inputs_hash":  # the same arrays as read back, for the cached path (``forecast.model.arrays``)
        arrays.write(back[0], path, path.parent)


def read(path: Path, h: str, sampler: dict[str, Any] | None, groups: tuple[str, ...] = ("posterior", "prior"),
         key: str = "inputs_hash", fast: bool = True) -> tuple[xr.DataTree | None, str | None]:
    """(the file's posterior, None) when it is complete and what ``h`` promises, else (None, what is wrong).

    A posterior is read from its arrays file when that is there and made from this very file (``fast``:
    ``forecast.model.arrays``, milliseconds), else from the NetCDF file, and its arrays file is then written
    for the next read. Either way it is checked the same way."""
    with_arrays = fast and key == "inputs_hash"
    idata = arrays.read(path) if with_arrays else None
    if idata is not None and check_posterior(idata, h, sampler, groups, key) is None:
        return idata, None
    try:
        with xr.open_datatree(path, engine="h5netcdf") as dt:
            idata = dt.load()
    except Exception as e:  # noqa: BLE001 - any unreadable cache file is refitted, never trusted
        return None, f"unreadable: {type(e).__name__}"
    problem = check_posterior(idata, h, sampler, groups, key)
    if problem:
        return None, problem
    if with_arrays:
        arrays.write(idata, path, path.parent)
    return idata, None


def load(path: Path, h: str, sampler: dict[str, Any] | None = None) -> xr.DataTree | None:
    """A cached posterior, checked; a bad file is moved aside (kept, for a person to look at) and refitted."""
    if path.is_symlink():
        idata, problem = None, "a symbolic link the tool did not make"
    else:
        idata, problem = read(path, h, sampler)
    if idata is not None:
        return idata
    move_aside(path, f"(posterior cache) is not a complete posterior ({problem})", "refitting")
    return None


def load_hit(path: Path, h: str, inputs: Inputs, sampler: dict[str, Any] | None = None):
    """(the cached posterior, seconds to load it) on a cache hit, else None. The same posterior serves every
    date with the same inputs: its attributes name this request's date and evidence, not those of the run
    that first fitted it."""
    if not path.is_file() and not path.is_symlink():
        return None
    t0 = time.perf_counter()
    idata = load(path, h, sampler)
    if idata is None:
        return None
    idata.attrs.update({"as_of": inputs.as_of.isoformat(), "evidence_ids": json.dumps(list(inputs.evidence_ids))})
    log.info("posterior cache hit %s", h)
    return idata, time.perf_counter() - t0


def load_prior(path: Path, ph: str) -> xr.DataTree | None:
    """The cached article-only prior of key ``ph``, or None (missing; an unreadable file is removed)."""
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


# ---------------------------------------------------------------------- PSIS updates, kept
# the code a PSIS update's weights come from: a change to it recomputes every kept update
UPDATE_SOURCES = ("model/reweight.py", "model/terms.py", "model/psis.py", "model/posterior_index.py", "model/fit.py")
UPDATE_FORMAT = 1


def update_path(cache_dir: Path, h: str) -> Path:
    return Path(cache_dir) / "posteriors" / "updates" / f"{h}.npz"


@functools.cache
def update_digest() -> str:
    """What a kept update depends on besides its two posteriors: the reweighting code and arviz-stats' PSIS."""
    from forecast.memo import version as dist_version

    h = hashlib.sha256()
    for name in UPDATE_SOURCES:
        h.update((Path(__file__).parents[1] / name).read_bytes())
    h.update(str(dist_version("arviz-stats")).encode())
    return h.hexdigest()[:16]


def save_update(cache_dir: Path, h: str, arrays_: dict[str, np.ndarray | None], prov: dict[str, Any]) -> None:
    """Keep a PSIS update of posterior ``prov["base_hash"]`` to the inputs of hash ``h``: its normalised weights
    (``w``, and ``wp`` of the article-only prior when a claim changed), its log ratio (``lr``, for the What if
    panel) and its provenance. A later run with the same inputs loads them instead of recomputing: the inputs
    hash names the target state, the base hash the draws, and the base file's size and time the very file."""
    from forecast.files import atomic_write_file

    base = posterior_path(cache_dir, prov["base_hash"])
    meta = {"format": UPDATE_FORMAT, "hash": h, "code": update_digest(), "prov": prov,
            "base_file": [base.stat().st_size, base.stat().st_mtime_ns]}
    buf = io.BytesIO()
    data = {k: np.asarray(v, dtype=float) for k, v in arrays_.items() if v is not None}
    np.savez(buf, allow_pickle=False, __meta__=np.frombuffer(json.dumps(meta, default=str).encode(), np.uint8),
             **data)
    try:
        atomic_write_file(update_path(cache_dir, h), buf.getvalue(), Path(cache_dir))
    except OSError as e:  # a full or read-only cache costs speed, never the run
        log.warning("could not keep the PSIS update of %s: %s", h, e)


def load_update(cache_dir: Path, h: str) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
    """A kept PSIS update to hash ``h`` (its arrays and provenance), or None: missing, damaged, made by other
    reweighting code, or its base posterior file is gone or was replaced."""
    path = update_path(cache_dir, h)
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(bytes(z["__meta__"]).decode())
            data = {k: z[k] for k in z.files if k != "__meta__"}
        base = posterior_path(cache_dir, meta["prov"]["base_hash"])
        st = base.stat()
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, EOFError) as e:
        log.info("kept PSIS update %s unreadable (%s): recomputing", path.name, e)
        return None
    if (meta.get("format") != UPDATE_FORMAT or meta.get("hash") != h or meta.get("code") != update_digest()
            or meta.get("base_file") != [st.st_size, st.st_mtime_ns] or "w" not in data or "lr" not in data):
        return None
    return data, meta["prov"]
