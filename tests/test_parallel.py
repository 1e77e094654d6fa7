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
