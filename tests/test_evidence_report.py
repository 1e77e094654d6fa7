"""New evidence to a report: a figure to draw (the replay's history, when it is not kept) is drawn by forked workers
(``forecast.parallel.Workers``) while the run reweights the posterior, attributes what moved and writes the posterior
file; the report's own ranges are drawn by its page. The publication stays one transaction: a figure that fails in a
worker fails the run with a line naming the figure, and a stop signal while the workers draw ends the run with the
signal's status; either way the earlier report stays as it was and no worker outlives the run.

The figure is broken (or made slow) by a driver that replaces ``forecast.outputs.figures.history.files`` before the
command runs: the workers are forked from that process, so they draw with the replacement. Each test writes a replay
table of its own (``history_replay.csv``) after its earlier report: a history figure no run has drawn.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

DRIVER = """
import os, sys, time
from forecast.outputs.figures import history as H
def files(*args):
    open(os.environ["FIG_MARK"] + "." + str(os.getpid()), "w").close()
    if os.environ["FIG_FAULT"] == "raise":
        raise ValueError("a broken history figure")
    time.sleep(120)
H.files = files
from forecast.cli.main import main
main(sys.argv[1:])
"""


def _poll(share: str, name: str) -> list[str]:
    return ["poll", "--id", f"E-2026-12-worker-{name}", "--date-known", "2026-11-20", "--source",
            "https://example.org/p", "--summary", "A test poll", "--pollster", "El Financiero", "--date", "2026-11-18",
            "--n", "1000", "--share-opposed", share]


def _replay(reports: Path, mean: str) -> None:
    """A replay table of one_time_raid (two dates, two responses; ``mean``: a number of the test's own), so the next
    run has a history figure to draw that no other run drew."""
    rows = [("2026-02-10", "consular_protest", mean), ("2026-02-22", "consular_protest", "0.5"),
            ("2026-02-10", "cooperate_quietly", "0.3"), ("2026-02-22", "cooperate_quietly", "0.35")]
    (reports / "history_replay.csv").write_text("as_of,scenario,response,mean\n" + "".join(
        f"{d},one_time_raid,{r},{m}\n" for d, r, m in rows), encoding="utf-8")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _state(reports: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in reports.rglob("*") if p.is_file()}


@pytest.fixture
def home(request, default_fit, session_cache, project_home, tmp_path):
    """An earlier report written (from the session's cached posterior), then a new poll added (one of its own per
    test) and a replay table of its own: the next run reweights the posterior while its workers draw the history
    figure, which no other test drew (not served from the memo)."""
    from forecast.cli.main import main

    reports, data = tmp_path / "reports", tmp_path / "data"
    shutil.copytree(project_home / "data", data)
    args = [f"paths.cache={session_cache}", f"paths.reports={reports}", f"paths.data={data}", "scenario=one_time_raid"]
    env = {**os.environ, "FORECAST_HOME": str(project_home)}
    proc = subprocess.run([sys.executable, "-m", "forecast", *args], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    with pytest.raises(SystemExit) as e:
        main(["evidence", "add", "--data-dir", str(data), *_poll(request.param[1], request.param[0])])
    assert e.value.code == 0
    _replay(reports, request.param[1])
    return args, env, reports


def _start(args, env, reports, fault: str, tmp_path: Path) -> tuple[subprocess.Popen, str]:
    mark = str(tmp_path / "drawing")
    cmd = [sys.executable, "-c", DRIVER, *args]
    proc = subprocess.Popen(cmd, env={**env, "FIG_FAULT": fault, "FIG_MARK": mark}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    return proc, mark


def _workers_gone(tmp_path: Path) -> list[int]:
    pids = [int(p.name.rsplit(".", 1)[1]) for p in tmp_path.glob("drawing.*")]
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(p) for p in pids), "a drawing worker outlived its run"
    return pids


@pytest.mark.parametrize("home", [("fault", "0.781")], indirect=True)
def test_a_figure_failing_in_a_worker_fails_the_run_and_keeps_the_earlier_report(home, tmp_path):
    args, env, reports = home
    before = _state(reports)
    proc, _ = _start(args, env, reports, "raise", tmp_path)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode != 0, err
    assert "posterior: PSIS update of" in err, err  # reweighted, not refitted (a PSIS update with a Pareto k
    # above 0.7 refits, and says "PSIS update ... refitting")
    lines = [ln for ln in err.splitlines() if "drawing the history figure failed in a worker process" in ln]
    assert lines and "ValueError: a broken history figure" in lines[0], err
    assert _state(reports) == before  # nothing of the failed run is visible, the earlier report intact
    pids = _workers_gone(tmp_path)
    assert pids and os.getpid() not in pids and proc.pid not in pids  # drawn in a worker, not in the run's process


@pytest.mark.parametrize("home", [("stop", "0.783")], indirect=True)
def test_a_stop_signal_while_the_workers_draw_ends_the_run_cleanly(home, tmp_path):
    args, env, reports = home
    before = _state(reports)
    proc, mark = _start(args, env, reports, "sleep", tmp_path)
    deadline = time.monotonic() + 600
    while not list(tmp_path.glob("drawing.*")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()[1]
    time.sleep(0.5)  # the run goes on with its own work while the figure is drawn
    proc.send_signal(signal.SIGTERM)
    t0 = time.monotonic()
    out, err = proc.communicate(timeout=60)
    assert time.monotonic() - t0 < 20, "the run waited for the figure"
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert _state(reports) == before
    _workers_gone(tmp_path)



AHEAD = """
import os, sys, time
log = open(os.environ["AHEAD_LOG"], "a")
log.write(f"run {os.getpid()}\\n"); log.flush()
import forecast.inputs.load as L
import forecast.outputs.figures as F
import forecast.parallel as P
from forecast.outputs.figures import history as H
start, load, warm, files = P.Workers.start, L.load_inputs, F.warm, H.files
def started(self):
    before = self._pid
    start(self)
    if self._pid != before:
        log.write(f"start {self._pid}\\n"); log.flush()
def loaded(*a, **k):
    log.write("inputs\\n"); log.flush()
    return load(*a, **k)
def warmed():
    if os.environ.get("SLOW_WARM"):
        time.sleep(120)
    warm()
def drawn(*a):
    log.write(f"drew history {os.getpid()}\\n"); log.flush()
    return files(*a)
P.Workers.start, L.load_inputs, F.warm, H.files = started, loaded, warmed, drawn
from forecast.cli.main import main
main(sys.argv[1:])
"""


def test_the_drawing_workers_are_forked_first_and_a_run_with_nothing_to_draw_does_not_wait_for_them(
        default_fit, session_cache, project_home, tmp_path):
    """A plain run forks its drawing workers before it loads its inputs (their imports overlap its own) and draws
    the history figure with them, not with a second set. The same preview again is up to date: served, nothing
    forked. Made again (``force=true``) from the posterior now kept, it has nothing to draw (its figure is kept): the
    workers, still importing (a ``warm`` made to take two minutes), are ended at once, so the run does not wait for
    them, and none outlives it. Then a second poll: the update is computed again, but the history figure is kept and
    the page draws the rest, so the workers are ended as soon as the run knows it. (Decisive: closing idle workers by
    telling them to stop would wait for their imports, then ``_reap``'s 10 s before killing them; keeping the workers
    of every computed posterior, as before the page drew the report's ranges, waits two minutes in the last run.)"""
    from forecast.cli.main import main

    reports, data = tmp_path / "reports", tmp_path / "data"  # a poll of its own: the session's posterior reweighted
    shutil.copytree(project_home / "data", data)
    with pytest.raises(SystemExit) as e:
        main(["evidence", "add", "--data-dir", str(data), *_poll("0.785", "ahead")])
    assert e.value.code == 0
    args = [f"paths.cache={session_cache}", f"paths.reports={reports}", f"paths.data={data}", "scenario=one_time_raid"]
    env = {**os.environ, "FORECAST_HOME": str(project_home)}
    reports.mkdir()
    _replay(reports, "0.785")

    def run(*extra: str, slow: bool = False) -> tuple[int, list[str], float, str]:
        log = tmp_path / "ahead.log"
        log.unlink(missing_ok=True)
        t0 = time.monotonic()
        proc = subprocess.run([sys.executable, "-c", AHEAD, *args, *extra],
                              env={**env, "AHEAD_LOG": str(log), **({"SLOW_WARM": "1"} if slow else {})},
                              capture_output=True, text=True, timeout=600)
        took = time.monotonic() - t0
        assert proc.returncode == 0, proc.stderr
        first, *lines = log.read_text().splitlines()
        return int(first.split()[1]), lines, took, proc.stderr

    pid, lines, _, err = run()
    assert "posterior: PSIS update of" in err, err  # reweighted, not refitted (a PSIS update with a Pareto k
    # above 0.7 refits, and says "PSIS update ... refitting")
    assert lines[0].startswith("start ") and lines[1] == "inputs", lines
    assert sum(ln.startswith("start ") for ln in lines) == 1, lines  # one set of workers: the one forked first
    drew = {ln.split()[1]: int(ln.split()[2]) for ln in lines if ln.startswith("drew ")}
    assert set(drew) == {"history"}, lines
    assert pid not in drew.values()  # drawn by the workers, not by the run's own process

    _, lines, _, err = run(slow=True)
    assert "up to date" in err and lines == [], (err, lines)

    _, lines, took, err = run("force=true", slow=True)
    assert lines[0].startswith("start ") and lines[1] == "inputs" and not any("drew" in ln for ln in lines), lines
    assert took < 8, f"the run waited {took:.1f} s for drawing workers it did not need"
    assert not _alive(int(lines[0].split()[1])), "a drawing worker outlived its run"

    with pytest.raises(SystemExit) as e:
        main(["evidence", "add", "--data-dir", str(data), *_poll("0.786", "ahead-2")])
    assert e.value.code == 0
    _, lines, took, err = run(slow=True)
    assert "posterior: PSIS update of" in err and "kept from the run that computed it" not in err, err
    assert lines[0].startswith("start ") and lines[1] == "inputs" and not any("drew" in ln for ln in lines), lines
    assert took < 15, f"the run waited {took:.1f} s for drawing workers it did not need"
    assert not _alive(int(lines[0].split()[1])), "a drawing worker outlived its run"
