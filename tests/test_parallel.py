"""forecast.parallel.fork_map: independent pieces of a run side by side in forked workers, results in order,
the same as one process; an error or an early stop leaves no worker behind."""

from __future__ import annotations

import os
import time
from contextlib import closing

import pytest

from forecast import parallel
from forecast.parallel import fork_map, processes

MULTI = processes(2) > 1 and os.uname().sysname == "Linux"


def _pid_square(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


def test_results_come_in_order_and_equal_one_process(monkeypatch):
    items = [5, 3, 8, 1, 9, 2]
    forked = list(fork_map(_pid_square, items))
    monkeypatch.setenv("FORECAST_PROCESSES", "1")
    here = list(fork_map(_pid_square, items))
    assert [r for r, _ in forked] == [r for r, _ in here] == [x * x for x in items]
    assert {p for _, p in here} == {os.getpid()}  # FORECAST_PROCESSES=1: nothing forked
    if MULTI:  # this process runs every other item, one forked worker the rest
        assert [p == os.getpid() for _, p in forked] == [True, False] * 3
        assert len({p for _, p in forked}) == 2


def test_one_item_runs_here_unless_alone(monkeypatch):
    assert list(fork_map(_pid_square, [4])) == [(16, os.getpid())]
    ((r, pid),) = fork_map(_pid_square, [4], alone=True)
    assert r == 16 and (pid != os.getpid()) == MULTI
    monkeypatch.setenv("FORECAST_PROCESSES", "1")
    assert list(fork_map(_pid_square, [4], alone=True)) == [(16, os.getpid())]


def _fail_on_three(x: int) -> int:
    if x == 3:
        raise ValueError("piece 3 failed")
    return x


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is dead
        return f.read().split(")")[-1].split()[0] != "Z"


@pytest.mark.skipif(not MULTI, reason="needs fork and 2 cores")
def test_an_error_in_a_worker_is_raised_here_and_no_worker_is_left():
    with pytest.raises(ValueError, match="piece 3 failed"):
        list(fork_map(_fail_on_three, [1, 2, 3, 4]))
    assert parallel._WORK == []


def _sleep_then_pid(x: int) -> int:
    time.sleep(30 if x == 3 else 0.05)
    return os.getpid()


@pytest.mark.skipif(not MULTI, reason="needs fork and 2 cores")
def test_stopping_early_terminates_the_workers_still_running():
    import multiprocessing

    with closing(fork_map(_sleep_then_pid, [0, 1, 2, 3])) as results:
        assert next(results) == os.getpid()  # item 0: this process's share
        worker = next(results)  # item 1, from the worker, which then sleeps on item 3
        assert worker in [p.pid for p in multiprocessing.active_children()]
    # the caller stopped (an error, a signal) with a piece still running: its worker is terminated, not waited for
    deadline = time.monotonic() + 10
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(worker), "a worker outlived its run"


# ---------------------------------------------------------------------- Workers: pieces handed over one by one
_WARMED: list[int] = []


def _warm() -> None:
    _WARMED.append(os.getpid())  # a worker forked after this inherits it


def _warmed_by(x: int) -> tuple[int, int, list[int]]:
    return x * x, os.getpid(), list(_WARMED)


def _sleep(x: float) -> int:
    time.sleep(x)
    return os.getpid()


def test_workers_return_each_piece_and_warm_once(monkeypatch):
    """Results come back per piece, from two workers; ``warm`` runs once, in the first, and the second inherits what
    it did (it was forked after): the imports a figure needs are paid once. One process: everything here."""
    from forecast.parallel import Workers

    with closing(Workers(warm=_warm)) as w:
        pending = [w.submit(f"piece {i}", _warmed_by, i) for i in range(6)]
        got = [p.get() for p in pending]
    assert [r for r, _, _ in got] == [i * i for i in range(6)]
    if MULTI:
        pids = {pid for _, pid, _ in got}
        assert len(pids) == 2 and os.getpid() not in pids
        warmed = {tuple(wm) for _, _, wm in got}
        assert len(warmed) == 1 and len(next(iter(warmed))) == 1 and next(iter(warmed))[0] in pids
    assert _WARMED == []  # never here
    monkeypatch.setenv("FORECAST_PROCESSES", "1")
    with closing(Workers(warm=_warm)) as w:
        assert w.submit("here", _warmed_by, 3).get() == (9, os.getpid(), [])


@pytest.mark.skipif(not MULTI, reason="needs fork and 2 cores")
def test_a_pieces_error_is_raised_here_naming_the_piece_and_the_workers_go_on():
    from forecast.parallel import WorkerError, Workers

    with closing(Workers()) as w:
        with pytest.raises(WorkerError, match="drawing the forest figure failed in a worker process: ValueError: "
                                              "piece 3 failed"):
            w.submit("drawing the forest figure", _fail_on_three, 3).get()
        assert w.submit("the next piece", _fail_on_three, 4).get() == 4


@pytest.mark.skipif(not MULTI, reason="needs fork and 2 cores")
def test_a_worker_that_dies_fails_its_pieces_instead_of_hanging():
    import signal

    from forecast.parallel import WorkerError, Workers

    with closing(Workers()) as w:
        slow = w.submit("a long piece", _sleep, 30)
        time.sleep(0.3)
        pid = w._pids[w._where[slow._job]]
        os.kill(pid, signal.SIGKILL)
        t0 = time.monotonic()
        with pytest.raises(WorkerError, match="a long piece failed in a worker process: the worker process ended"):
            slow.get()
        assert time.monotonic() - t0 < 10


@pytest.mark.skipif(not MULTI, reason="needs fork and 2 cores")
def test_closing_with_a_piece_running_terminates_every_worker():
    """An error or a stop signal in the run closes its workers with a figure still being drawn: none outlives it."""
    from forecast.parallel import Workers

    w = Workers()
    w.submit("a long piece", _sleep, 30)
    w.submit("another", _sleep, 30)
    time.sleep(0.3)
    pids = list(w._pids.values())
    assert len(pids) == 2 and all(_alive(p) for p in pids)
    t0 = time.monotonic()
    w.close()
    assert time.monotonic() - t0 < 5
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(p) for p in pids), "a worker outlived its run"


@pytest.mark.skipif(not MULTI, reason="needs fork and 2 cores")
def test_a_stop_signal_while_waiting_for_a_worker_is_raised():
    from forecast.errors import Interrupted, clear_signals, note_signal
    from forecast.parallel import Workers

    with closing(Workers()) as w:
        slow = w.submit("a long piece", _sleep, 30)
        note_signal(15)
        try:
            t0 = time.monotonic()
            with pytest.raises(Interrupted):
                slow.get()
            assert time.monotonic() - t0 < 5
        finally:
            clear_signals()


def _token(_: int) -> bytes:
    return os.urandom(8)


@pytest.mark.parametrize("procs", ["2", "1"])
def test_a_piece_submitted_again_under_its_key_is_not_run_again(monkeypatch, procs):
    """The history figure handed over before the update and asked for again by the report's writer is drawn once:
    the same key gives the first piece's result (a piece run twice would give another random token)."""
    from forecast.parallel import Workers

    monkeypatch.setenv("FORECAST_PROCESSES", procs)
    with closing(Workers()) as w:
        first = w.submit("a piece", _token, 1, key="k")
        again = w.submit("the same piece", _token, 1, key="k")
        other = w.submit("another piece", _token, 1, key="j")
        assert again is first
        assert first.get() == again.get() != other.get()


def _slow_warm() -> None:
    time.sleep(120)


@pytest.mark.skipif(not MULTI, reason="needs fork and 2 cores")
def test_closing_workers_still_warming_ends_them_without_waiting():
    """Workers forked ahead of a run that turns out to have nothing to draw are closed while still importing: they
    are ended at once, not told to stop after their imports (then waited for up to ``_reap``'s 10 s and killed)."""
    from forecast.parallel import Workers

    w = Workers(warm=_slow_warm)
    w.start()
    pid = w._pid
    time.sleep(0.3)
    assert _alive(pid)
    t0 = time.monotonic()
    w.close()
    assert time.monotonic() - t0 < 5
    assert not _alive(pid)


def test_a_piece_computed_later_runs_here_once_when_first_asked_for():
    from forecast.parallel import Pending

    calls = []
    p = Pending("posterior.nc", later=lambda: calls.append(os.getpid()) or b"bytes")
    assert calls == []  # nothing computed until asked for
    assert p.get() == b"bytes" and p.get() == b"bytes"
    assert calls == [os.getpid()]


def test_a_forked_piece_runs_beside_this_process_on_what_it_holds(monkeypatch):
    """``forked``: ``fn`` runs in a process forked at once (its pid is not this one's), on what this process holds
    without pickling it (a closure over a lock, which does not pickle), while this process goes on; its result is
    read when asked for, and the child is reaped (no zombie left). One process: the same result, computed here at
    the first ``get()``."""
    import threading

    from forecast.parallel import forked

    lock, started = threading.Lock(), time.monotonic()
    piece = forked("a piece", lambda: (os.getpid(), lock.locked(), time.sleep(0.5), time.monotonic())[::3])
    here = time.monotonic()
    assert here - started < 0.4  # not waited for
    pid, finished = piece.get()
    assert finished - started >= 0.5 and piece.get() == (pid, finished)
    assert (pid != os.getpid()) == MULTI
    if MULTI:  # reaped: not even a zombie is left (``_alive`` counts a zombie as dead; this does not)
        deadline = time.monotonic() + 5
        while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not os.path.exists(f"/proc/{pid}"), "the forked process was not reaped"
    monkeypatch.setenv("FORECAST_PROCESSES", "1")
    calls = []
    piece = forked("a piece", lambda: calls.append(os.getpid()) or os.getpid())
    assert calls == [] and piece.get() == os.getpid() and calls == [os.getpid()]


@pytest.mark.skipif(not MULTI, reason="needs fork and 2 cores")
def test_a_forked_pieces_error_is_raised_here_naming_it():
    from forecast.parallel import WorkerError, forked

    piece = forked("encoding posterior.nc", lambda: 1 / 0)
    with pytest.raises(WorkerError, match="encoding posterior.nc failed in a forked process: ZeroDivisionError"):
        piece.get()
