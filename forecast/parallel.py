"""Independent pieces of one run side by side on the machine's cores: forked worker processes.

A run's independent pieces (each scenario's report, each replay date's PSIS update) are pure functions of what
the run already holds in memory (the posterior, the inputs, the settings). ``fork_map`` hands them to forked
workers (Linux's fork: a worker inherits what is loaded instead of importing and reading it again) and yields
the results in the items' order, so the caller writes exactly what one process would, in the same order. One
item, one core, ``FORECAST_PROCESSES=1`` or no fork on the platform: everything runs in this process.

A stop signal (SIGINT, SIGTERM, SIGHUP) is the parent's to handle: workers ignore SIGINT (a Ctrl-C reaches the
whole process group) and die on SIGTERM, which the parent sends them (``Pool.terminate``) whenever it stops
early, by an error or a signal.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from forecast.errors import raise_if_interrupted

MAX_PROCESSES = 2  # the machine the defaults are measured on has 2 cores; more workers than cores only wait
_WORK: list[Callable[[Any], Any]] = []  # the function a forked worker runs (inherited, never pickled)


def processes(n_items: int) -> int:
    """How many processes run ``n_items`` pieces: at most one per core, per item and ``MAX_PROCESSES``
    (``FORECAST_PROCESSES`` sets that ceiling; 1 runs every piece in this process)."""
    try:
        ceiling = int(os.environ.get("FORECAST_PROCESSES", MAX_PROCESSES))
    except ValueError:
        ceiling = MAX_PROCESSES
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(n_items, cores, ceiling))


def _init() -> None:
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_DFL)


def _call(item: Any) -> Any:
    return _WORK[0](item)


def fork_map(fn: Callable[[Any], Any], items: Iterable[Any], here: Callable[[Any], Any] | None = None,
             alone: bool = False) -> Iterator[Any]:
    """``fn(item)`` for each item, in order, in forked workers (``processes``); in this process ``here(item)``
    (default ``fn``) when there is one worker or none. ``alone``: a single worker is still a worker (what the
    piece allocates, a compiled model say, is returned to the system when it exits) unless
    ``FORECAST_PROCESSES=1``. ``fn`` and its results cross a pipe: its results must pickle. Close the
    iterator (``contextlib.closing``) to stop early: the workers still running are terminated."""
    items = list(items)
    n = processes(len(items))
    single = n == 1 and not (alone and items and processes(2) > 1)
    if single or not sys.platform.startswith("linux") or _WORK:  # no nesting: a worker runs its pieces itself
        for item in items:
            yield (here or fn)(item)
        return
    import multiprocessing as mp

    _WORK[:] = [fn]
    pool = mp.get_context("fork").Pool(n, initializer=_init)
    try:
        pending = [pool.apply_async(_call, (item,)) for item in items]
        pool.close()
        for res in pending:
            while not res.ready():
                res.wait(0.2)
                raise_if_interrupted()  # a stop signal some library swallowed
            yield res.get()
        pool.join()
    finally:
        pool.terminate()  # an error, a signal or an early close: the workers still building are not waited for
        _WORK.clear()
