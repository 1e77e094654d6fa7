"""Sampling the model: nutpie (the default) or PyMC's own NUTS, from one compilation for the posterior and
the article-only prior.

With ``sampler.first_draws`` a first batch is drawn and extended to ``sampler.draws`` only when it misses
the report's R-hat or bulk-ESS gate (``forecast.model.diagnostics``). A Ctrl-C that a sampler catches (nutpie
and PyMC return the draws they have) is noticed (``raise_if_interrupted``), never returned as a fit.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
import warnings
from typing import Any

import numpy as np
import xarray as xr

from forecast.errors import raise_if_interrupted
from forecast.model.build import EVIDENCE_SWITCH
from forecast.model.cache import STORED
from forecast.model.diagnostics import first_batch, missed_targets

log = logging.getLogger("forecast")


def runs(seed: int, prior_seed: int | None) -> list[tuple[str, float, int]]:
    """(name, evidence switch, seed) of each sampling: the posterior, and the article-only prior when asked."""
    out = [("posterior", 1.0, seed)]
    return out + ([("prior", 0.0, prior_seed)] if prior_seed is not None else [])


def sample(model, sampler: dict[str, Any], seed: int, progress: bool, notify=None, prior_seed: int | None = None,
           targets: dict[str, float] | None = None) -> tuple[dict[str, xr.DataTree], dict[str, float]]:
    """Sample the model from one compilation: with every source on (the posterior) and, when ``prior_seed``
    is given, with the history, polls and evidence switched off (the article-only prior). ``targets``: the
    gates a first batch must meet (``diagnostics.first_batch_targets``)."""
    if sampler["nuts_sampler"] == "nutpie":
        return _sample_nutpie(model, sampler, seed, progress, notify, prior_seed, targets)
    return _sample_pymc(model, sampler, seed, progress, prior_seed)


def _common(sampler: dict[str, Any]) -> dict[str, Any]:
    return dict(draws=sampler["draws"], tune=sampler["tune"], chains=sampler["chains"], cores=sampler["cores"])


def _sample_nutpie(model, sampler, seed, progress, notify, prior_seed, targets):
    import nutpie

    timings: dict[str, float] = {}
    out = {}
    var_names = [v for v in STORED if v in model.named_vars]
    t0 = time.perf_counter()
    compiled = nutpie.compile_pymc_model(model, var_names=var_names, backend="numba", freeze_model=False)
    timings["compile"] = time.perf_counter() - t0
    first = first_batch(sampler, targets)
    todo = runs(seed, prior_seed)
    raise_if_interrupted()  # a Ctrl-C a library caught during compilation: do not start sampling
    # the posterior and the article-only prior side by side, each on its share of the cores, when there is a core for
    # each: a chain's draws follow from its seed alone, not from the thread that runs it, so they are the draws of one
    # sampling after the other, but neither waits for the other's last chain, and the check of one's first batch runs
    # while the other samples. With fewer cores than samplings, one after the other on all of them.
    side = len(todo) > 1 and int(sampler["cores"]) >= len(todo)
    cores = int(sampler["cores"]) // len(todo) if side else int(sampler["cores"])
    if notify:
        what = " and ".join("the posterior" if on else "the article-only prior" for _, on, _ in todo)
        notify(f"sampling {what}{' side by side' if side else ''} (compiled in {timings['compile']:.0f}s)")

    def start(on: float, s: int, n: int, c: int):
        cm = compiled.with_data(**{EVIDENCE_SWITCH: np.asarray(on)})
        # the warm-up draws are not kept (nothing reads them): no copy into the trace
        return nutpie.sample(cm, **{**_common(sampler), "draws": int(n), "cores": c}, seed=s, save_warmup=False,
                             target_accept=sampler["target_accept"], progress_bar=progress, blocking=False)

    t0 = time.perf_counter()
    n = first if first is not None else sampler["draws"]
    running = [(name, on, s, start(on, s, n, cores) if side else None) for name, on, s in todo]
    missed: dict[str, str] = {}
    try:
        for i, (name, on, s, bg) in enumerate(running):
            tr = _wait(bg if bg is not None else start(on, s, n, cores))
            running[i] = (name, on, s, None)
            if first is not None:  # a first batch; the full draws only when it misses the diagnostics' gates
                missed[name] = missed_targets(tr, targets)
                timings[f"first_batch_{name}"] = time.perf_counter() - t0
            out[name] = tr
            timings[f"sampling_{name}"] = time.perf_counter() - t0
    finally:
        for _, _, _, bg in running:  # an error or a stop signal: the samplings still running end
            if bg is not None:
                _cancel(bg)
    for name, on, s in todo:
        if missed.get(name):
            t1 = time.perf_counter()
            log.info("%s: first batch of %d draws missed %s: sampling %d", name, first, missed[name], sampler["draws"])
            if notify:
                notify(f"first batch of {first} draws missed {missed[name]}: sampling {sampler['draws']} draws")
            out[name] = _wait(start(on, s, sampler["draws"], int(sampler["cores"])))
            timings[f"sampling_{name}"] += time.perf_counter() - t1
    return out, timings


def _wait(bg):
    """The trace of a nutpie sampling started in the background, as ``nutpie.sample`` returns it when it blocks (a
    Ctrl-C aborts it: the draws it has); a stop signal nutpie caught is raised here (``raise_if_interrupted``)."""
    try:
        try:
            tr = bg.wait()
        except KeyboardInterrupt:
            tr = bg.abort()
        except BaseException:
            _cancel(bg)
            raise
    except Exception:
        raise_if_interrupted()  # nutpie caught the Ctrl-C and then failed on the partial trace
        raise
    raise_if_interrupted()  # nutpie caught the Ctrl-C and returned the draws it had
    return tr


def _cancel(bg) -> None:
    with contextlib.suppress(Exception):
        bg.cancel()


def _sample_pymc(model, sampler, seed, progress, prior_seed):
    import pymc as pm

    timings: dict[str, float] = {}
    out = {}
    var_names = [v for v in STORED if v in model.named_vars]
    for name, on, s in runs(seed, prior_seed):
        raise_if_interrupted()
        t0 = time.perf_counter()
        with model, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            pm.set_data({EVIDENCE_SWITCH: on})
            # fork: the default start method fails inside joblib (loky) workers
            # ("cannot pickle 'mmap.mmap' object"); fork works there and in plain processes
            extra = {"mp_ctx": "fork"} if sampler["cores"] > 1 and sys.platform.startswith("linux") else {}
            try:
                out[name] = pm.sample(**_common(sampler), random_seed=s, nuts_sampler=sampler["nuts_sampler"],
                                      var_names=var_names, target_accept=sampler["target_accept"],
                                      progressbar=progress, compute_convergence_checks=False, **extra)
            except Exception:
                raise_if_interrupted()
                raise
        raise_if_interrupted()  # PyMC, too, returns a partial trace after Ctrl-C
        timings[f"compile+sampling_{name}"] = time.perf_counter() - t0
    return out, timings
