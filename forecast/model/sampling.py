"""Sampling the model: nutpie (the default) or PyMC's own NUTS, from one compilation for the posterior and
the article-only prior.

With ``sampler.first_draws`` a first batch is drawn and extended to ``sampler.draws`` only when it misses
the report's R-hat or bulk-ESS gate (``forecast.model.diagnostics``). A Ctrl-C that a sampler catches (nutpie
and PyMC return the draws they have) is noticed (``raise_if_interrupted``), never returned as a fit.
"""

from __future__ import annotations

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
    for name, on, s in runs(seed, prior_seed):
        raise_if_interrupted()  # a Ctrl-C a library caught during compilation: do not start sampling
        if notify:
            notify(f"sampling the {'posterior' if on else 'article-only prior'} "
                   f"(compiled in {timings['compile']:.0f}s)")
        t0 = time.perf_counter()
        cm = compiled.with_data(**{EVIDENCE_SWITCH: np.asarray(on)})

        def draw(n: int, cm=cm, s=s):
            try:  # the warm-up draws are not kept (nothing reads them): no copy into the trace
                tr = nutpie.sample(cm, **{**_common(sampler), "draws": int(n)}, seed=s, save_warmup=False,
                                   target_accept=sampler["target_accept"], progress_bar=progress)
            except Exception:
                raise_if_interrupted()  # nutpie caught the Ctrl-C and then failed on the partial trace
                raise
            raise_if_interrupted()  # nutpie caught the Ctrl-C and returned the draws it had
            return tr

        if first is not None:
            # a first batch; the full draws only when it misses the diagnostics' gates
            tr = draw(first)
            missed = missed_targets(tr, targets)
            timings[f"first_batch_{name}"] = time.perf_counter() - t0
            if missed:
                log.info("%s: first batch of %d draws missed %s: sampling %d", name, first, missed, sampler["draws"])
                if notify:
                    notify(f"first batch of {first} draws missed {missed}: sampling {sampler['draws']} draws")
                tr = draw(sampler["draws"])
            out[name] = tr
        else:
            out[name] = draw(sampler["draws"])
        timings[f"sampling_{name}"] = time.perf_counter() - t0
    return out, timings


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
