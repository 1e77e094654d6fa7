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
    """``fn(item)`` for each item, in order, with ``processes`` processes: this one runs every n-th item as
    ``here(item)`` (default ``fn``) while forked workers run the others as ``fn(item)`` (so the libraries a piece
    imports are imported by one worker fewer), all of them here when there is one process. ``alone``: a single
    item still runs in a worker (what it allocates, a compiled model say, is returned to the system when the
    worker exits) unless ``FORECAST_PROCESSES=1``. What ``fn`` returns crosses a pipe: it must pickle. Close the
    iterator (``contextlib.closing``) to stop early: the workers still running are terminated."""
    items = list(items)
    here = here or fn
    n = processes(len(items))
    by_worker_alone = alone and len(items) == 1 and processes(2) > 1
    if (n == 1 and not by_worker_alone) or not sys.platform.startswith("linux") or _WORK:  # no nesting
        for item in items:
            yield here(item)
        return
    import multiprocessing as mp

    mine = set() if by_worker_alone else set(range(0, len(items), n))  # this process's share: every n-th item
    _WORK[:] = [fn]
    pool = mp.get_context("fork").Pool(max(1, n - 1) if not by_worker_alone else 1, initializer=_init)
    try:
        pending = {i: pool.apply_async(_call, (item,)) for i, item in enumerate(items) if i not in mine}
        pool.close()
        for i, item in enumerate(items):
            if i in mine:
                yield here(item)
                continue
            res = pending[i]
            while not res.ready():
                res.wait(0.2)
                raise_if_interrupted()  # a stop signal some library swallowed
            yield res.get()
        pool.join()
    finally:
        pool.terminate()  # an error, a signal or an early close: the workers still running are not waited for
        _WORK.clear()
