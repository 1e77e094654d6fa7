"""Independent pieces of one run side by side on the machine's cores: forked worker processes.

A run's independent pieces (each scenario's report, each replay date's PSIS update) are pure functions of what
the run already holds in memory (the posterior, the inputs, the settings). ``fork_map`` hands them to forked
workers (Linux's fork: a worker inherits what is loaded instead of importing and reading it again) and yields
the results in the items' order, so the caller writes exactly what one process would, in the same order. One
item, one core, ``FORECAST_PROCESSES=1`` or no fork on the platform: everything runs in this process.

``Workers`` is the other shape: pieces handed to forked workers one by one as the run finds them (a report's figures
whose numbers moved), each returning at once a ``Pending`` result that the run collects when it needs it, while it
goes on with its own work (the attribution of what moved, the posterior file) instead of waiting.

A stop signal (SIGINT, SIGTERM, SIGHUP) is the parent's to handle: workers ignore SIGINT (a Ctrl-C reaches the
whole process group) and die on SIGTERM, which the parent sends them (``Pool.terminate``) whenever it stops
early, by an error or a signal; a worker whose parent dies (SIGKILL) gets SIGTERM from the kernel.
"""

from __future__ import annotations

import contextlib
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


def _init(warm: Callable[[], None] | None = None) -> None:
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
    _die_with_parent()
    if warm is not None:
        warm()


def _die_with_parent() -> None:
    """Linux: this worker gets SIGTERM when the process that forked it dies (a SIGKILL leaves it no time to
    terminate its workers), instead of waiting for work forever."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux's libc
        pass


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


def forked(what: str, fn: Callable[[], Any]) -> Pending:
    """``fn()`` in a process forked now, while this one goes on: the child inherits what this process holds (nothing is
    pickled but the result, which crosses a socket), so a piece of the run's own work (encoding ``posterior.nc``) uses
    the core the run leaves idle. ``Pending.get()`` waits for it, raising ``WorkerError`` (naming ``what``) when it
    failed. With one process, no fork, or while ``fork_map`` runs (its pieces fill the cores already), ``fn`` runs here
    at the first ``get()``. The child dies with this process and is reaped when it exits (a thread waits for it),
    whether or not its result is asked for."""
    if processes(2) == 1 or not sys.platform.startswith("linux") or _WORK:
        return Pending(what, later=fn)
    import socket
    import threading
    from multiprocessing.connection import Connection

    mine, theirs = socket.socketpair()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 0
        try:
            mine.close()
            _init()
            conn = Connection(theirs.detach())
            try:
                out = (True, fn())
            except Exception as e:  # noqa: BLE001 - the piece's error, sent to the run that raises it
                out = (False, f"{type(e).__name__}: {e}")
            conn.send(out)
        except BaseException:  # noqa: BLE001 - a child never returns into the run's code
            code = 1
        finally:
            os._exit(code)
    theirs.close()
    threading.Thread(target=_waited, args=(pid,), name=f"forecast-reap-{pid}", daemon=True).start()
    conn = Connection(mine.detach())

    def result() -> Any:
        try:
            while not conn.poll(0.2):
                raise_if_interrupted()  # a stop signal
            ok, value = conn.recv()
        except (EOFError, OSError):
            ok, value = False, "the process ended before finishing it"
        finally:
            conn.close()
        if not ok:
            raise WorkerError(f"{what} failed in a forked process: {value}")
        return value

    return Pending(what, later=result)


class WorkerError(RuntimeError):
    """A piece failed in a worker process: its error, named by what the piece was."""


class Pending:
    """A result: computed here already, by a worker (``Workers.submit``), or here when first asked for (``later``: a
    function of no arguments, run by the first ``get()``, typically while workers draw). ``get()`` returns it,
    waiting for the worker while checking for stop signals, and raises ``WorkerError`` (naming ``what``) when the
    piece failed in a worker."""

    def __init__(self, what: str, value: Any = None, workers: Workers | None = None, job: int = -1,
                 later: Callable[[], Any] | None = None):
        self.what, self._value, self._workers, self._job, self._later = what, value, workers, job, later
        self._error: str | None = None

    def get(self) -> Any:
        if self._later is not None:
            self._value, self._later = self._later(), None
        if self._workers is not None:
            ok, value = self._workers._wait(self._job)
            self._workers = None
            if ok:
                self._value = value
            else:
                self._error = f"{self.what} failed in a worker process: {value}"
        if self._error is not None:
            raise WorkerError(self._error)
        return self._value


class Workers:
    """Up to ``n`` forked workers (``processes``: one per core, ``FORECAST_PROCESSES``) for pieces handed over one by
    one: ``submit(what, fn, *args)`` returns a ``Pending`` at once and the piece runs in a worker while this process
    goes on. ``start()`` forks them (the first ``submit`` does, if nothing did before): the first worker runs
    ``warm()`` (the imports its pieces need), then forks the others, which inherit what it imported; so the imports
    are paid once, in a worker, beside this process's own work. ``fn`` must be a module-level function (it is pickled
    by name); its arguments and result must pickle. The results are read as they come (a thread of this process), so a
    worker never waits for this process to collect one. With one process, no fork on the platform, or inside a
    ``fork_map`` worker, a piece runs here when it is submitted. Close it (``contextlib.closing``): idle workers exit;
    an error or a stop signal terminates the ones still running."""

    def __init__(self, n: int = MAX_PROCESSES, warm: Callable[[], None] | None = None):
        self._n, self._warm = processes(n), warm
        self._conns: list[Any] = []
        self._pid = 0
        self._pids: dict[int, int] = {}  # each worker's process id, by its connection's index
        self._results: dict[int, tuple[bool, Any]] = {}
        self._where: dict[int, int] = {}  # each piece's worker, until its result is in
        self._gone: set[int] = set()  # the workers that ended
        self._keyed: dict[str, Pending] = {}
        self._load: list[int] = []
        self._queue: list[tuple[int, Callable[..., Any], tuple[Any, ...]]] = []  # pieces not handed to a worker yet
        self._jobs = 0
        self._cv: Any = None

    @property
    def inline(self) -> bool:
        """Pieces run here: one process, no fork, or inside a ``fork_map`` worker."""
        return self._n == 1 or not sys.platform.startswith("linux") or bool(_WORK)

    def start(self) -> None:
        """Fork the workers now (before this process's own work, so their warming overlaps it)."""
        if self._conns or self.inline:
            return
        import socket
        import threading
        from multiprocessing.connection import Connection

        pairs = [socket.socketpair() for _ in range(self._n)]
        pid = os.fork()
        if pid == 0:  # the first worker: never returns
            _first_worker([b for _, b in pairs], [a for a, _ in pairs], self._warm)
        self._pid = pid
        for _, b in pairs:
            b.close()
        self._conns = [Connection(a.detach()) for a, _ in pairs]
        self._load = [0] * len(self._conns)
        self._cv = threading.Condition()
        threading.Thread(target=self._collect, args=(list(self._conns),), name="forecast-workers", daemon=True).start()

    def submit(self, what: str, fn: Callable[..., Any], *args: Any, key: str | None = None) -> Pending:
        """``fn(*args)`` in the first worker free (in the order submitted); ``what`` names it in an error. ``key``:
        a piece submitted again under the same key is not run again (it returns the first one's result)."""
        if key is not None and key in self._keyed:
            return self._keyed[key]
        if self.inline:
            raise_if_interrupted()
            out = Pending(what, value=fn(*args))
        else:
            out = self._handed(what, fn, args)
        if key is not None:
            self._keyed[key] = out
        return out

    def _handed(self, what: str, fn: Callable[..., Any], args: tuple[Any, ...]) -> Pending:
        self.start()
        with self._cv:
            job = self._jobs
            self._jobs += 1
            self._queue.append((job, fn, args))
            self._dispatch()
        return Pending(what, workers=self, job=job)

    def _dispatch(self) -> None:
        """Hand the next pieces to the workers that are free (one piece each at a time: the pieces spread by their
        time, not their number); holding ``_cv``."""
        for i, conn in enumerate(self._conns):
            if not self._queue:
                return
            if self._load[i] or i in self._gone:
                continue
            job, fn, args = self._queue.pop(0)
            self._load[i] += 1
            self._where[job] = i
            try:
                conn.send((job, fn, args))
            except (OSError, ValueError) as e:  # the worker is gone
                self._load[i] -= 1
                del self._where[job]
                self._results[job] = (False, f"could not hand it over ({e})")

    def _collect(self, conns: list[Any]) -> None:
        """The results as they come, from every worker (a thread): a worker that ended fails its pieces."""
        from multiprocessing.connection import wait

        live = list(conns)
        try:
            while live:
                for c in wait(live):
                    try:
                        job, ok, value = c.recv()
                    except (EOFError, OSError):
                        live.remove(c)
                        self._ended(conns.index(c))
                        continue
                    if job is None:  # a worker's process id, first
                        self._pids[conns.index(c)] = value
                        continue
                    with self._cv:
                        self._results[job] = (ok, value)
                        self._load[self._where.pop(job)] -= 1
                        self._dispatch()
                        self._cv.notify_all()
        except (OSError, ValueError):  # closed under it: the run has ended the workers
            for i in range(len(conns)):
                self._ended(i)

    def _ended(self, i: int) -> None:
        with self._cv:
            self._gone.add(i)
            for job in [j for j, w in self._where.items() if w == i]:
                del self._where[job]
                self._results[job] = (False, "the worker process ended before finishing it")
            if len(self._gone) == len(self._load):  # no worker left for the pieces not handed over
                for job, _, _ in self._queue:
                    self._results[job] = (False, "the worker processes ended before it started")
                self._queue.clear()
            self._cv.notify_all()

    def _wait(self, job: int) -> tuple[bool, Any]:
        with self._cv:
            while job not in self._results:
                self._cv.wait(0.2)
                raise_if_interrupted()  # a stop signal
            return self._results.pop(job)

    def close(self) -> None:
        """End the workers: idle ones stop when told; a piece still running is not waited for (an error, a stop
        signal): its worker is terminated."""
        if not self._conns:
            return
        import signal

        # a piece running or waiting (an error, a stop signal), or a worker still warming (its imports: a run that had
        # nothing to hand over does not wait for them)
        if any(self._load) or self._queue or len(self._pids) < len(self._conns):
            for pid in [self._pid, *self._pids.values()]:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGTERM)
        for c in self._conns:
            with contextlib.suppress(OSError, ValueError):
                c.send(None)  # the end of its work (a process forked from this one may hold this end open)
            c.close()
        self._conns = []
        _reap(self._pid)  # its CPU time (and its own worker's) is this run's
        self._pid = 0


def _waited(pid: int) -> None:
    """Wait for a child to exit (so it leaves no zombie behind)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _reap(pid: int, timeout: float = 10.0) -> None:
    """Wait for a worker to exit (killed after ``timeout`` seconds: it never outlives its run)."""
    import signal
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if done:
            return
        if time.monotonic() > deadline:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            deadline = float("inf")
        time.sleep(0.01)


def _first_worker(mine: list[Any], theirs: list[Any], warm: Callable[[], None] | None) -> None:
    """The first worker: warm, fork the others (each serves one connection), serve the first; exit, never return."""
    code = 0
    try:
        for s in theirs:
            s.close()
        parent = os.getppid()
        _init(warm)
        if os.getppid() != parent:  # the run ended while this worker was starting
            os._exit(0)
        from multiprocessing.connection import Connection

        conns = [Connection(s.detach()) for s in mine]
        kids = []
        for k, c in enumerate(conns[1:], start=1):
            pid = os.fork()
            if pid == 0:
                try:
                    for j, other in enumerate(conns):
                        if j != k:
                            other.close()
                    _die_with_parent()
                    _serve(c)
                finally:
                    os._exit(0)
            kids.append(pid)
        for c in conns[1:]:
            c.close()
        _serve(conns[0])
        for pid in kids:
            os.waitpid(pid, 0)
    except BaseException:  # noqa: BLE001 - a worker never returns into the run's code
        code = 1
    finally:
        os._exit(code)


def _serve(conn: Any) -> None:
    """Run the pieces sent on ``conn`` and send back each result (or its error, as text), until the other end
    closes."""
    conn.send((None, True, os.getpid()))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:  # the run is done with its workers
            return
        job, fn, args = msg
        try:
            out = (job, True, fn(*args))
        except Exception as e:  # noqa: BLE001 - the piece's error, sent to the run that raises it
            out = (job, False, f"{type(e).__name__}: {e}")
        try:
            conn.send(out)
        except (OSError, ValueError):
            return
        except Exception as e:  # noqa: BLE001 - a result that does not pickle
            conn.send((job, False, f"{type(e).__name__}: {e}"))
