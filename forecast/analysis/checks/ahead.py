"""``forecast check``'s exact fits started beside the fit of its posterior, on the machine's other core.

Each fit compiles its model on one core (the other idles) and then samples on both; one after the other, the
check's eight fits (its posterior, the fit without the claims, the back-test's six) leave a core idle for most
of the run. ``start`` forks two workers (``forecast.parallel.Workers``) before the posterior is fitted:

- the back-test's walks (``backtest.walks``: their refits, each decided by the Pareto k of the last one), whose
  result the back-test step scores (``backtest.scored``) with the posterior's article-only prior;
- ahead of the walks, the fits they can be told to need before any draw (``backtest.foreseen_fits``: the first
  origin's is the walks' own first), and the fit without the claims (``run.claims_fit``), which the first worker free
  takes.

Every fit is an ordinary cached exact fit keyed by its inputs hash, and one process samples a given hash at a
time (``forecast.model.fit``'s lock): a fit the walks or the claims check reach while a worker samples it is
waited for and read from the cache, one they reach first is theirs (the worker skips a fit whose lock is held), so
nothing is sampled twice and the draws are those one process would sample. Whether a fit was sampled by this run
is told by the posterior cache's files when the run began. With one process (``FORECAST_PROCESSES=1``, no fork)
nothing starts here: the checks run one after the other as before; nor when the posterior, the fit without the claims
and the back-test's first fit are all cached (a second check with nothing new reads its fits).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from forecast.parallel import Pending, WorkerError, Workers

_JOB: dict[str, Any] = {}  # the check's context, set before the workers fork (inherited, never pickled)


def cached_posteriors(cache_dir) -> set[str]:
    """The inputs hashes of the posterior cache's fits (``posteriors/<hash>.nc``)."""
    d = Path(cache_dir) / "posteriors"
    return {p.stem for p in d.glob("*.nc")} if d.is_dir() else set()


class Ahead:
    """The workers of one ``forecast check`` and what they compute: ``walked()`` is the back-test's walks (None
    when they were not started here)."""

    def __init__(self, workers: Workers, walk: Pending | None, cached_before: set[str]):
        self.workers, self.walk, self.cached_before = workers, walk, cached_before

    def walked(self) -> dict[str, Any] | None:
        """The walks' result; None when not started here or when the worker failed (the step then walks here, and
        an error is raised there as it would be without workers)."""
        if self.walk is None:
            return None
        try:
            return self.walk.get()
        except WorkerError as e:
            _JOB.get("say", lambda s: None)(f"{e}: walking here")
            return None

    def close(self) -> None:
        self.workers.close()
        _JOB.clear()


def start(cfg, inputs, todo: list[str], *, min_history: int, today=None, say=None) -> Ahead | None:
    """Fork the workers and start the back-test's walks and the fits ahead of them (see the module's docstring),
    when the check runs the back-test or the claims check and there is more than one process; else None."""
    from forecast.inputs import config as _config

    if not ({"backtest", "claims"} & set(todo)):
        return None
    workers = Workers(2)
    if workers.inline:
        return None
    cache = _config.paths(cfg)["cache"]
    if _nothing_to_sample(cfg, inputs, todo, min_history, today, cache):
        return None
    cached = cached_posteriors(cache)
    _JOB.update(cfg=cfg, inputs=inputs, todo=list(todo), min_history=min_history, today=today,
                say=say or (lambda s: None), cached_before=cached)
    workers.start()
    walk = workers.submit("the back-test's walks", _walks) if "backtest" in todo else None
    if "backtest" in todo:
        workers.submit("the fits ahead of the back-test", _fits_ahead, "backtest")
    if "claims" in todo:  # the first worker free takes it (unless the claims check, reaching it first, fits it)
        workers.submit("the fit without the claims", _fits_ahead, "claims")
    return Ahead(workers, walk, cached)


def _nothing_to_sample(cfg, inputs, todo: list[str], min_history: int, today, cache) -> bool:
    """The posterior, the fit without the claims and the back-test's first fit are cached (a second check with
    nothing new): the run reads fits, and workers beside it would only compete with it for the cores (measured
    under load: 2.1x the one process's time)."""
    import datetime as dt

    from forecast.analysis.checks.backtest import BACKTEST_SAMPLER, VARIANTS, ordered, without_claims
    from forecast.analysis.checks.run import backtest_inputs_at
    from forecast.model.cache import inputs_hash, posterior_path
    from forecast.model.diagnostics import first_batch_targets
    from forecast.model.fit import config_hash, sampler_settings

    seed, targets = int(cfg.seed), first_batch_targets(cfg)
    hashes = [config_hash(cfg, inputs)]
    if "claims" in todo:
        hashes.append(inputs_hash(without_claims(inputs), {**sampler_settings(cfg), "article_prior": False}, seed,
                                  targets))
    eps = ordered(inputs.episodes).table
    if "backtest" in todo and len(eps) > min_history:
        first = backtest_inputs_at(cfg, today)(eps["date"].iloc[min_history] - dt.timedelta(days=1))
        hashes.append(inputs_hash(VARIANTS["model"](first), {**sampler_settings(cfg), **BACKTEST_SAMPLER}, seed))
    return all(posterior_path(cache, h).is_file() for h in hashes)


def _walks() -> dict[str, Any]:
    from forecast.analysis.checks.backtest import walks
    from forecast.analysis.checks.run import backtest_inputs_at
    from forecast.inputs import config as _config
    from forecast.model.fit import sampler_settings

    j = _JOB
    cfg = j["cfg"]
    return walks(j["inputs"], sampler_settings(cfg), int(cfg.seed), _config.paths(cfg)["cache"],
                 min_history=j["min_history"], say=j["say"], inputs_at=backtest_inputs_at(cfg, j["today"]),
                 cached_before=j["cached_before"])


def _free(path: Path) -> bool:
    """No process holds this fit's lock now (one that does is sampling it)."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(path.with_suffix(".lock")))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return False
    lock.release()
    return True


def _fits_ahead(which: str) -> list[str]:
    """``backtest``: the back-test's foreseen fits but the walks' first; ``claims``: the fit without the claims. Each
    one not cached and not being sampled by another process now. Returns the hashes sampled here. A fit that fails
    here is left to the step that needs it (which raises its error)."""
    from forecast.analysis.checks.backtest import BACKTEST_SAMPLER, foreseen_fits, origins
    from forecast.analysis.checks.run import backtest_inputs_at
    from forecast.inputs import config as _config
    from forecast.model import cache as C
    from forecast.model.fit import fit, sampler_settings

    j = _JOB
    cfg, inputs, say = j["cfg"], j["inputs"], j["say"]
    cache = _config.paths(cfg)["cache"]
    seed = int(cfg.seed)
    done: list[str] = []
    jobs: list[tuple[str, Any]] = []
    if which == "backtest" and len(inputs.episodes.table) > j["min_history"]:
        s = {**sampler_settings(cfg), **BACKTEST_SAMPLER}
        _, _, origins_ = origins(inputs, j["min_history"], backtest_inputs_at(cfg, j["today"]))
        jobs += [("backtest", t) for t in foreseen_fits(origins_, s, seed)[1:]]  # the first: the walks' own
    if which == "claims":
        jobs.append(("claims", None))
    for kind, target in jobs:
        with contextlib.suppress(Exception):  # noqa: BLE001 - ahead of time only: the step that needs it fits it
            if kind == "claims":
                from forecast.analysis.checks.backtest import without_claims
                from forecast.model.diagnostics import first_batch_targets

                bare = without_claims(inputs)
                sc = {**sampler_settings(cfg), "article_prior": False}
                h = C.inputs_hash(bare, sc, seed, first_batch_targets(cfg))
                if _ready(cache, h):
                    continue
                from forecast.analysis.checks.run import claims_fit

                f = claims_fit(cfg, inputs)[1]
                what = "the fit without the article's claims"
            else:
                h = C.inputs_hash(target, s, seed)
                if _ready(cache, h):
                    continue
                f = fit(target, s, seed, cache, update="refit")
                what = f"back-test fit as of {target.as_of} on {len(target.episodes.table)} episodes"
            if not f.from_cache:
                done.append(h)
                say(f"{what}: sampled ahead by a worker")
    return done


def _ready(cache, h: str) -> bool:
    """Cached already, or being sampled by another process (the walks, the claims check): not this worker's."""
    from forecast.model.cache import posterior_path

    path = posterior_path(cache, h)
    return path.is_file() or not _free(path)
