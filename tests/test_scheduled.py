"""Scheduled generation: atomic, idempotent, lock-protected, honest exit status, survives a kill."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from forecast.cli.main import main
from forecast.files import atomic_write_dir
from forecast.outputs.runs import read_runs
from forecast.usecases.scheduled import target_folder

ROOT = Path(__file__).resolve().parents[1]
FORECAST = [sys.executable, "-m", "forecast"]


def run(args, capsys):
    with pytest.raises(SystemExit) as e:
        main(args)
    return e.value.code, capsys.readouterr().err


def test_atomic_write_dir_keeps_the_previous_folder_when_filling_fails(tmp_path):
    target = tmp_path / "2026-11-01"

    def good(d):
        (d / "a.txt").write_text("v1")

    atomic_write_dir(target, good)

    def crash(d):
        (d / "a.txt").write_text("half")
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        atomic_write_dir(target, crash)
    assert (target / "a.txt").read_text() == "v1"
    assert [p.name for p in tmp_path.iterdir()] == ["2026-11-01"], "a temporary folder was left visible"


def test_target_never_overwrites_an_earlier_day(tmp_path):
    today = dt.date(2026, 11, 24)
    old = tmp_path / "2026-11-01"
    old.mkdir()
    (old / "run.json").write_text(json.dumps({"inputs_hash": "aaaa1111", "complete": True}))
    assert target_folder(tmp_path, dt.date(2026, 11, 1), today, "aaaa1111") == (old, True)
    assert target_folder(tmp_path, dt.date(2026, 11, 1), today, "bbbb2222bbbb") == (tmp_path / "2026-11-01-bbbb2222",
                                                                                       False)
    assert target_folder(tmp_path, today, today, "bbbb2222") == (tmp_path / "2026-11-24", False)


@pytest.mark.slow
def test_twice_in_a_row_is_idempotent(default_fit, tmp_path, session_cache, capsys):
    reports = tmp_path / "reports"
    args = ["scheduled", f"paths.reports={reports}", f"paths.cache={session_cache}"]
    code1, err1 = run(args, capsys)
    assert code1 == 0, err1
    folder = reports / dt.date.today().isoformat()
    assert (reports / "latest").resolve() == folder.resolve()
    stamp = {p.name: p.stat().st_mtime_ns for p in folder.rglob("*")}
    code2, err2 = run(args, capsys)
    assert code2 == 0, err2
    assert {p.name: p.stat().st_mtime_ns for p in folder.rglob("*")} == stamp, "same inputs rewrote files"
    runs = read_runs(reports)
    assert [r["status"] for r in runs] == ["ok", "unchanged"]
    index = (reports / "runs.html").read_text()  # the scheduled runs' page; index.html is the landing page
    assert index.count("<tr><td>") == 2 and "unchanged" in index
    hist = (reports / "history.csv").read_text().splitlines()
    n_rows = len(hist) - 1
    assert n_rows > 0 and n_rows % 6 == 0  # six scenarios' rows, once
    assert (reports / "logs" / "scheduled.log").read_text().count("; latest -> ") == 1


@pytest.mark.slow
def test_two_concurrent_runs_leave_one_folder_and_both_succeed(default_fit, tmp_path, session_cache):
    reports = tmp_path / "reports"
    env = {**os.environ, "FORECAST_CACHE_DIR": str(session_cache)}
    cmd = [*FORECAST, "scheduled", f"paths.reports={reports}", f"paths.cache={session_cache}"]
    procs = [subprocess.Popen(cmd, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outs]
    dated = [p for p in reports.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name[:2] == "20"]
    assert [p.name for p in dated] == [dt.date.today().isoformat()]
    assert sorted(r["status"] for r in read_runs(reports)) == ["ok", "unchanged"]
    assert (reports / "runs.html").read_text().count("<tr><td>") == 2
    assert not list(reports.glob(".*tmp*"))


@pytest.mark.slow
def test_a_kill_mid_run_leaves_latest_intact(default_fit, tmp_path, session_cache, capsys):
    reports = tmp_path / "reports"
    code, err = run(["scheduled", f"paths.reports={reports}", f"paths.cache={session_cache}"], capsys)
    assert code == 0, err
    before = (reports / "latest").resolve()
    files = {p.relative_to(before): p.read_bytes() for p in before.rglob("*") if p.is_file()}
    # a run with new inputs (another seed) must sample for a minute: kill it while it works
    env = {**os.environ, "FORECAST_CACHE_DIR": str(session_cache)}
    proc = subprocess.Popen([*FORECAST, "scheduled", f"paths.reports={reports}", f"paths.cache={session_cache}",
                             "seed=4242"], cwd=tmp_path, env=env, stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(12)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert (reports / "latest").resolve() == before
    assert {p.relative_to(before): p.read_bytes() for p in before.rglob("*") if p.is_file()} == files
    visible = [p.name for p in reports.iterdir() if not p.name.startswith(".")]
    assert sorted(visible) == sorted(["latest", "index.html", "runs.html", "runs.jsonl", "history.csv", "logs",
                                      before.name,
                                      "feed.xml", "digest.md", "digest.html"])


def test_invalid_input_exits_2_with_one_line_and_is_recorded(tmp_path, session_cache, capsys):
    reports = tmp_path / "reports"
    code, err = run(["scheduled", f"paths.reports={reports}", f"paths.cache={session_cache}",
                     "as_of=2999-01-01"], capsys)
    assert code == 2
    assert err.strip().count("\n") == 0 and "as_of: 2999-01-01 is in the future" in err


@pytest.mark.slow
def test_failed_diagnostics_exit_3_with_reports_marked_untrustworthy(tmp_path, session_cache, capsys):
    reports = tmp_path / "reports"
    code, err = run(["scheduled", f"paths.reports={reports}", f"paths.cache={session_cache}",
                     "sampler.draws=20", "sampler.tune=30", "sampler.chains=2"], capsys)
    assert code == 3, err
    folder = (reports / "latest").resolve()
    data = json.loads((folder / "one_time_raid" / "forecast.json").read_text())
    assert data["diagnostics"]["ok"] is False
    assert "WARNING" in (folder / "one_time_raid" / "report.html").read_text()
    assert read_runs(reports)[-1]["status"] == "diagnostics failed"
    assert "diagnostics failed" in (reports / "runs.html").read_text()
