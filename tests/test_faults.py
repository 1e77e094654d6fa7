"""Faults from outside the inputs: interruptions, links, damaged derived files, full disks, the Unix environment.

Issue #15 items 1, 2, 3, 7 and #9 items 2, 5: one test (or one parametrised test) per kind of fault. Nothing here
fits the real model: the sampler is replaced by a fake that returns draws of the size it is told to (or
mimics nutpie catching Ctrl-C and returning the draws it has), and the subprocesses run commands that do not fit
(`scenarios`, `evidence`, `history`). One slow test interrupts a real nutpie fit of the small synthetic model.

Sections: 1 complete or nothing · 2 one door for every write · 3 derived files heal, source files stop ·
4 resource limits and the Unix environment.
"""

from __future__ import annotations

import errno
import json
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from filelock import FileLock

import forecast.model.fit as fitmod
import forecast.usecases.scheduled
from forecast.cli.main import _install_signals, main
from forecast.errors import (
    EXIT_IOERR,
    IncompleteFitError,
    InputError,
    Interrupted,
    WriteError,
    clear_signals,
    note_signal,
)
from forecast.files import (
    append_text,
    atomic_write_dir,
    atomic_write_file,
    check_folder,
    ensure_dir,
    replace_link,
)
from forecast.model import cache as cachemod
from forecast.model.build import KAPPA, THETA, P
from forecast.outputs.contract import OWNED_MARKERS, WrittenReport, report_dir
from forecast.outputs.history import HISTORY_COLUMNS, append_history, check_history, read_history
from forecast.outputs.runs import RUNS, read_runs, record_run

from .conftest import ROOT
from .synthetic import simulate_inputs

FORECAST = [sys.executable, "-m", "forecast"]
SAMPLER = {"nuts_sampler": "nutpie", "draws": 40, "tune": 40, "chains": 2, "cores": 1, "target_accept": 0.9}
POLL_FLAGS = ["--id", "E-faults", "--date-known", "2026-11-01", "--source", "s", "--summary", "x", "--pollster", "p",
              "--date", "2026-10-30", "--n", "900", "--share-opposed", "0.8"]


# ====================================================================== helpers and fixtures
@pytest.fixture(autouse=True)
def _no_signal_left():
    """Each test starts and ends with no recorded signal (they are process-wide)."""
    clear_signals()
    yield
    clear_signals()


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A throwaway project (conf/ + data/) as $FORECAST_HOME, reports and cache inside it."""
    from hydra.core.global_hydra import GlobalHydra

    root = tmp_path / "home"
    (root / ".cache").mkdir(parents=True)
    shutil.copytree(ROOT / "conf", root / "conf")
    shutil.copytree(ROOT / "data", root / "data")
    monkeypatch.setenv("FORECAST_HOME", str(root))
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    GlobalHydra.instance().clear()
    yield root
    GlobalHydra.instance().clear()




def run_cli(argv: list[str], capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return exc.value.code, capsys.readouterr().err


def one_error_line(err: str) -> str:
    """stderr holds exactly one `forecast: error:` line, last, and no traceback."""
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("forecast: error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], err
    return errors[0]


def fake_trees(chains: int, draws: int, seed: int = 0, nan: bool = False) -> dict[str, xr.DataTree]:
    """What a sampler returns: posterior draws of P, THETA, KAPPA and sample stats, of the given size."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.1, 0.9, (chains, draws, 2, 3))
    if nan:
        p[0, -1, 0, 0] = np.nan
    post = xr.Dataset({P: (("chain", "draw", "action", "response"), p),
                       THETA: (("chain", "draw"), rng.uniform(0.5, 0.9, (chains, draws))),
                       KAPPA: (("chain", "draw"), rng.uniform(0.1, 0.5, (chains, draws)))},
                      coords={"chain": np.arange(chains), "draw": np.arange(draws)})
    stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((chains, draws), bool)),
                        "energy": (("chain", "draw"), rng.normal(size=(chains, draws)))},
                       coords={"chain": np.arange(chains), "draw": np.arange(draws)})
    tree = xr.DataTree.from_dict({"posterior": post, "sample_stats": stats})
    return {"posterior": tree, "prior": tree}


@pytest.fixture
def fake_sampler(monkeypatch):
    """Replace model building and sampling; ``calls`` counts the fits, ``mode`` picks what the sampler does."""
    state = {"calls": 0, "mode": "complete"}

    def sample(model, sampler, seed, progress, notify=None, prior_seed=None, targets=None):
        state["calls"] += 1
        c, d = sampler["chains"], sampler["draws"]
        mode = state["mode"]
        if mode == "truncated":  # nutpie after a Ctrl-C it swallowed: the draws it had
            return fake_trees(c, d // 3, seed), {}
        if mode == "nan":
            return fake_trees(c, d, seed, nan=True), {}
        if mode == "swallowed-sigint":  # exactly nutpie's `except KeyboardInterrupt: return abort()`
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(5)
            except KeyboardInterrupt:
                return fake_trees(c, d // 2, seed), {}
            raise AssertionError("the signal handler did not raise")
        return fake_trees(c, d, seed), {}

    monkeypatch.setattr(fitmod, "build_model", lambda inputs: None)
    monkeypatch.setattr(fitmod, "_sample", sample)
    return state


@pytest.fixture(scope="module")
def syn():
    return simulate_inputs(60, seed=3)


def cache_files(cache: Path) -> list[str]:
    d = cache / "posteriors"
    return sorted(p.name for p in d.iterdir() if not p.name.endswith(".lock")) if d.is_dir() else []


# ====================================================================== 1 complete or nothing
@pytest.mark.parametrize("mode", ["truncated", "nan"])
def test_an_incomplete_fit_is_never_cached(tmp_path, fake_sampler, syn, mode):
    """Bug caught: partial draws (nutpie after Ctrl-C) or non-finite ones cached under the full inputs hash and
    served to every later run with the same inputs."""
    fake_sampler["mode"] = mode
    with pytest.raises(IncompleteFitError, match="incomplete posterior" if mode == "truncated" else "non-finite"):
        fitmod.fit(syn, SAMPLER, 1, tmp_path / "cache")
    assert cache_files(tmp_path / "cache") == []


def test_a_swallowed_sigint_ends_the_fit_as_interrupted_and_caches_nothing(tmp_path, fake_sampler, syn):
    """Bug caught: the sampler catches the KeyboardInterrupt and returns what it has; without the signal record the
    run carries on and publishes. With the CLI's handler installed the fit ends with Interrupted (exit 130)."""
    fake_sampler["mode"] = "swallowed-sigint"
    old = _install_signals()
    try:
        with pytest.raises(Interrupted) as e:
            fitmod.fit(syn, SAMPLER, 1, tmp_path / "cache")
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    assert e.value.exit_code == 130
    assert cache_files(tmp_path / "cache") == []


def test_a_signal_noted_during_sampling_stops_a_complete_looking_fit(tmp_path, fake_sampler, syn):
    """Bug caught: a sampler that returned the configured number of draws after Ctrl-C (e.g. stopped between the two
    fits) is trusted. A signal seen at any phase stops it, with SIGTERM's status."""
    note_signal(signal.SIGTERM)
    with pytest.raises(Interrupted) as e:
        fitmod.fit(syn, SAMPLER, 1, tmp_path / "cache")
    assert e.value.exit_code == 143 and cache_files(tmp_path / "cache") == []


@pytest.mark.parametrize("damage", ["garbage", "truncated-draws", "other-hash", "empty"])
def test_a_bad_cache_file_is_moved_aside_kept_and_refitted(tmp_path, fake_sampler, syn, capsys, damage):
    """Bug caught: a damaged or incomplete cache entry trusted (or deleted, losing the evidence of what went wrong).
    It is moved aside, kept, the fit reruns and says so, and the new entry is complete."""
    cache = tmp_path / "cache"
    h = fitmod.inputs_hash(syn, SAMPLER, 1)
    path = cache / "posteriors" / f"{h}.nc"
    path.parent.mkdir(parents=True)
    if damage in ("garbage", "empty"):
        path.write_bytes(b"\x89HDF\r\n" + b"x" * 100 if damage == "garbage" else b"")
    else:  # a well-formed file that is not what the hash promises
        fake_sampler["mode"] = "complete"
        other = fitmod.fit(syn, {**SAMPLER, "draws": 12} if damage == "truncated-draws" else SAMPLER, 2, cache)
        os.replace(other.path, path)
    before = path.read_bytes()
    fake_sampler["mode"] = "complete"
    calls = fake_sampler["calls"]
    fitted = fitmod.fit(syn, SAMPLER, 1, cache)
    assert fake_sampler["calls"] == calls + 1 and not fitted.from_cache
    aside = list(path.parent.glob(f"{h}.nc.bad-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == before, "the bad file was not kept as it was"
    err = capsys.readouterr().err
    assert "moved aside" in err and "refitting" in err and err.count("\n") == 1, err
    assert cachemod.read(path, h, SAMPLER)[1] is None
    again = fitmod.fit(syn, SAMPLER, 1, cache)
    assert again.from_cache and fake_sampler["calls"] == calls + 1


def test_the_cache_file_is_checked_before_it_is_renamed_into_place(tmp_path, fake_sampler, syn, monkeypatch):
    """Bug caught: a file that did not read back complete (cut by a full disk, an interrupt during the write) renamed
    into place anyway. Nothing, not even the temporary file, is left."""
    monkeypatch.setattr(cachemod, "read", lambda *a, **k: (None, "cut short"))
    with pytest.raises(IncompleteFitError, match="does not read back complete"):
        fitmod.fit(syn, SAMPLER, 1, tmp_path / "cache")
    assert cache_files(tmp_path / "cache") == []
    assert not [p for p in (tmp_path / "cache" / "posteriors").iterdir() if p.name.startswith(".")]


def test_sigint_while_nutpie_samples_exits_130_and_publishes_nothing(home, fake_sampler, capsys):
    """Bug caught (the issue's first example): Ctrl-C while nutpie samples is swallowed and the run writes reports
    and a cache entry from the partial draws. End to end through the CLI: exit 130, no report, no cache entry."""
    fake_sampler["mode"] = "swallowed-sigint"
    code, err = run_cli(["sampler.draws=40", "sampler.tune=40", "sampler.chains=2"], capsys)
    assert code == 130, err
    assert "interrupted (SIGINT)" in err.splitlines()[-1] and "Traceback" not in err
    assert cache_files(home / ".cache") == []
    assert not (home / "reports").exists() or not any((home / "reports").iterdir())


def test_sigterm_on_scheduled_is_recorded_and_releases_the_lock(home, monkeypatch, capsys, restore_forecast_logger):
    """Bug caught: SIGTERM on `forecast scheduled` kills it with no record in runs.jsonl, or leaves the lock held.
    A real SIGTERM arrives while the run works: exit 143, a run recorded as interrupted, the lock free."""

    def fit_then_terminated(*_a, **_k):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
        raise AssertionError("SIGTERM did not interrupt")

    monkeypatch.setattr(forecast.usecases.scheduled, "fit_config", fit_then_terminated)
    code, err = run_cli(["scheduled", "--wait", "0"], capsys)
    assert code == 143, err
    runs = read_runs(home / "reports")
    assert [r["status"] for r in runs] == ["interrupted"] and "SIGTERM" in runs[0]["reason"]
    FileLock(str(home / ".cache" / "locks" / "scheduled.lock")).acquire(timeout=0)  # raises if still held
    assert "interrupted" in (home / "reports" / "runs.html").read_text()


def test_sigterm_while_a_report_folder_is_written_keeps_the_previous_one(tmp_path):
    """Bug caught: an interrupt during report writing leaves a half folder visible or the old one gone. A real
    SIGTERM inside ``fill``: Interrupted (143), the previous folder byte for byte, no temporary folder left."""
    target = tmp_path / "one_time_raid"
    atomic_write_dir(target, lambda d: (d / "forecast.json").write_text("v1"), owned=OWNED_MARKERS)

    def fill(d: Path) -> None:
        (d / "forecast.json").write_text("half")
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)

    old = _install_signals()
    try:
        with pytest.raises(Interrupted):
            atomic_write_dir(target, fill, owned=OWNED_MARKERS)
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    assert (target / "forecast.json").read_text() == "v1"
    assert [p.name for p in tmp_path.iterdir()] == ["one_time_raid"]


@pytest.mark.slow
def test_sigint_during_a_real_nutpie_fit_caches_nothing(tmp_path):
    """Bug caught: nutpie swallows Ctrl-C and returns partial draws, cached under the full hash. A real nutpie fit of
    the small synthetic model is sent SIGINT once sampling has begun (bench/interrupt_safety.py does it at ten random
    moments): exit 130, no posterior file, no temporary file."""
    sys.path.insert(0, str(ROOT / "bench"))
    import interrupt_safety as interrupt

    sampler = {**interrupt.SAMPLER, "draws": 400, "tune": 300}
    cache = tmp_path / "cache"
    p = interrupt.child(cache, {**os.environ, "PYTHONPATH": str(ROOT)}, sampler)
    seen = []
    for line in p.stderr:
        seen.append(line)
        if "sampling the posterior" in line:
            time.sleep(0.5)
            p.send_signal(signal.SIGINT)
            break
    rest = p.communicate(timeout=300)[1]
    assert any("sampling the posterior" in s for s in seen), "".join(seen) + rest
    assert p.returncode == 130, "".join(seen) + rest
    assert interrupt.check(cache, p.returncode, 130, sampler) is None


# ====================================================================== 2 one door for every write
def _history_row(scenario: str = "one_time_raid") -> str:
    return f"2026-11-01T00:00:00,{scenario},2026-11-01,response,r,0.5,0.4,0.6,0.9,abc,{scenario}\n"


def _report(folder: Path, scenario: str = "one_time_raid") -> WrittenReport:
    data = {"schema_version": 1, "generated_at": "2026-11-01T00:00:00", "scenario": scenario, "as_of": "2026-11-01",
            "inputs_hash": "abc", "responses": [{"response": "r", "mean": 0.5, "hdi_low": 0.4, "hdi_high": 0.6,
                                                 "hdi_prob": 0.9}], "composites": []}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "forecast.json").write_text(json.dumps(data))
    return WrittenReport(folder, data)


@pytest.mark.parametrize("name", ["history.csv", RUNS])
def test_an_append_target_that_is_a_link_is_refused_naming_the_link(tmp_path, name):
    """Bug caught: reports/history.csv or runs.jsonl a symbolic link to a file elsewhere, and the tool appends to
    that file. Refused with one line naming the link; the file elsewhere is unchanged."""
    reports, outside = tmp_path / "reports", tmp_path / "elsewhere.txt"
    reports.mkdir()
    outside.write_text("someone else's file\n")
    (reports / name).symlink_to(outside)
    with pytest.raises(InputError) as e:
        if name == RUNS:
            record_run(reports, {"status": "ok"})
        else:
            append_history(reports, tmp_path / "cache", [_report(reports / "one_time_raid")])
    assert f"symbolic link {reports / name}" in str(e.value) and "\n" not in str(e.value)
    assert outside.read_text() == "someone else's file\n"


def test_a_scenario_folder_linked_to_a_scheduled_day_is_refused(tmp_path):
    """Bug caught: reports/<scenario> a link to today's scheduled folder, and a run replaces the whole day."""
    reports = tmp_path / "reports"
    day = _report(reports / "2026-11-29" / "one_time_raid").path.parent
    (day / "run.json").write_text("{}")
    (reports / "one_time_raid").symlink_to("2026-11-29")
    before = sorted(p.name for p in day.rglob("*"))
    with pytest.raises(InputError, match=r"symbolic link .*one_time_raid"):
        report_dir(reports, "one_time_raid")
    assert sorted(p.name for p in day.rglob("*")) == before


def test_a_folder_the_tool_did_not_write_is_never_replaced_or_deleted(tmp_path):
    """Bug caught: a report run replaces (and deletes) a user's folder that happens to carry a scenario's name."""
    mine = tmp_path / "reports" / "one_time_raid"
    mine.mkdir(parents=True)
    (mine / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not written by forecast"):
        atomic_write_dir(mine, lambda d: (d / "forecast.json").write_text("{}"), owned=OWNED_MARKERS)
    assert (mine / "notes.txt").read_text() == "mine"
    (tmp_path / "reports" / "latest").mkdir()
    with pytest.raises(InputError, match="not the link the tool maintains"):
        replace_link(tmp_path / "reports" / "latest", "one_time_raid", tmp_path / "reports")
    assert (tmp_path / "reports" / "latest").is_dir()


@pytest.mark.parametrize("override", ["paths.reports=/", "paths.cache=/etc", "paths.reports=/usr/share/x",
                                      "hydra.run.dir=/", "paths.data=/proc"])
def test_the_root_or_a_system_folder_is_never_a_configured_folder(home, capsys, override):
    """Bug caught: `paths.reports=/` accepted (a run would write index.html and history.csv into the root)."""
    code, err = run_cli([override], capsys)
    assert code == 2
    line = one_error_line(err)
    assert override.split("=")[0] in line and ("system folder" in line or "filesystem root" in line)
    assert check_folder(home / "reports") == home / "reports"  # an ordinary folder anywhere is fine


def _append_many(path: str, tag: str, n: int) -> None:
    for i in range(n):
        append_text(path, f"{tag},{i},{'x' * 50}\n", lock=path + ".lock")


def test_concurrent_appends_never_interleave(tmp_path):
    """Bug caught: two processes appending at once (two runs publishing) interleave half lines. Three processes x
    150 records: every record whole and present once."""
    path = tmp_path / "log.csv"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_append_many, args=(str(path), t, 150)) for t in "abc"]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    lines = path.read_text().splitlines()
    assert len(lines) == 450 and all(re.fullmatch(r"[abc],\d+,x{50}", ln) for ln in lines)
    assert len(set(lines)) == 450


def _publish_many(folder: str, tag: str, n: int) -> None:
    for i in range(n):
        atomic_write_dir(Path(folder), lambda d, i=i: (d / "forecast.json").write_text(f"{tag}{i:03d}" * 500),
                         owned=OWNED_MARKERS)


def test_two_runs_publishing_the_same_report_folder_at_once(tmp_path):
    """Bug caught (#9: two concurrent runs of the same scenario): the second run finds the folder gone between its
    check and its rename and fails, or a half folder is visible. Three processes x 150 publications: all succeed and
    the folder always holds one whole report."""
    folder = tmp_path / "reports" / "one_time_raid"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_publish_many, args=(str(folder), t, 150)) for t in "abc"]
    for p in procs:
        p.start()
    seen = set()
    while any(p.is_alive() for p in procs):
        try:
            seen.add(len((folder / "forecast.json").read_text()))
        except FileNotFoundError:
            pass  # before the first publication, or a reader landing between the two renames
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert seen == {2000} and len((folder / "forecast.json").read_text()) == 2000
    assert sorted(p.name for p in folder.parent.iterdir()) == ["one_time_raid"]


def test_a_full_disk_mid_append_leaves_no_half_record(tmp_path, monkeypatch):
    """Bug caught: ENOSPC after part of a record was written leaves a torn line that every later read trips on.
    The append is cut back to the previous length and reported in one line with exit status 74."""
    path = tmp_path / "history.csv"
    path.write_text(",".join(HISTORY_COLUMNS) + "\n" + _history_row())
    before = path.read_bytes()
    real_write = os.write

    def write_half_then_fail(fd, data):
        if len(data) > 20:
            real_write(fd, bytes(data[:10]))
            return 10
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", write_half_then_fail)
    with pytest.raises(WriteError) as e:
        append_text(path, _history_row("air_strikes") * 3)
    monkeypatch.undo()
    assert e.value.exit_code == EXIT_IOERR == 74
    assert str(path) in str(e.value) and "ENOSPC" in str(e.value) and "\n" not in str(e.value)
    assert path.read_bytes() == before


@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EFBIG, errno.EROFS, errno.EACCES])
def test_a_failed_replace_is_one_line_exit_74_and_the_old_file_stays(tmp_path, monkeypatch, err):
    """Bug caught: a write error (disk full, size limit, read-only or forbidden folder; root cannot be denied by
    chmod, so it is injected) ends as an internal error or leaves the target or a temporary file damaged."""
    target = tmp_path / "index.html"
    target.write_text("previous")
    real_replace = os.replace

    def failing(src, dst):
        if Path(dst) == target:
            raise OSError(err, os.strerror(err))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(WriteError) as e:
        atomic_write_file(target, "new")
    monkeypatch.undo()
    assert e.value.exit_code == 74 and str(target) in str(e.value) and errno.errorcode[err] in str(e.value)
    assert target.read_text() == "previous" and [p.name for p in tmp_path.iterdir()] == ["index.html"]


def test_a_job_log_hydra_cannot_open_is_one_line_exit_74(home, tmp_path, capsys):
    """Bug caught: Hydra opens its job log itself and, when it cannot (a read-only cache, a folder in the file's
    place), the run ends with Hydra's traceback and exit 2. Opened through the door first: one line, exit 74."""
    (tmp_path / "cache" / "logs" / "forecast.log").mkdir(parents=True)
    code, err = run_cli([f"paths.cache={tmp_path / 'cache'}"], capsys)
    assert code == 74 and "forecast.log" in one_error_line(err) and "EISDIR" in err


# ====================================================================== 3 derived files heal, source files stop
def _torn_histories():
    good = ",".join(HISTORY_COLUMNS) + "\n" + _history_row()
    last = _history_row("air_strikes")
    return good, [good + last[:k] for k in range(1, len(last))]


def test_a_torn_history_is_refused_at_every_byte_of_its_last_record(tmp_path):
    """Bug caught (#9): a half line at the end of history.csv is appended after, and its rows swallowed into the
    broken field. At every cut of the last record the file is refused with its name and the line, never grown."""
    good, torn = _torn_histories()
    reports = tmp_path / "reports"
    report = _report(tmp_path / "out" / "one_time_raid")
    reports.mkdir()
    path = reports / "history.csv"
    for text in torn:
        path.write_text(text)
        with pytest.raises(InputError) as e:
            append_history(reports, tmp_path / "cache", [report])
        assert f"{path}, line 3" in str(e.value) and "\n" not in str(e.value)
        assert path.read_text() == text
    path.write_text(good)
    append_history(reports, tmp_path / "cache", [report])
    assert check_history(path) == 2 and len(read_history(path)) == 2


def test_a_damaged_history_stops_only_the_commands_that_need_it(home, capsys):
    """Bug caught: `forecast history` on a damaged history.csv ends in an internal ParserError (exit 70); or the
    damage blocks commands that never read it. `history` refuses in one line; `evidence check`, `evidence list` and
    `scenarios` work."""
    (home / "reports").mkdir()
    (home / "reports" / "history.csv").write_text(_torn_histories()[1][5])
    code, err = run_cli(["history"], capsys)
    assert code == 2 and "history.csv, line 3" in one_error_line(err)
    for argv in (["evidence", "check"], ["evidence", "list"], ["scenarios"]):
        code, err = run_cli(argv, capsys)
        assert code == 0, (argv, err)


def test_a_damaged_runs_log_tail_is_kept_and_the_new_record_starts_a_line(tmp_path, capsys):
    """Bug caught: a record appended after a line cut by a crash is glued to it and lost. runs.jsonl is the index's
    log: the cut line stays (skipped when read), the new record is whole, a one-line warning names file and line."""
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / RUNS).write_text('{"status": "ok", "folder": "2026-11-01"}\n{"status": "o')
    record_run(reports, {"status": "ok", "folder": "2026-11-02"})
    assert [r["folder"] for r in read_runs(reports)] == ["2026-11-01", "2026-11-02"]
    err = capsys.readouterr().err
    assert f"{reports / RUNS}, line 2" in err and err.count("\n") == 1


@pytest.mark.parametrize(("name", "content"), [("history_replay.csv", ""), ("history_replay.csv", "as_of,x\n1,2\n"),
                                               ("history_replay.csv", 'as_of,scenario\n"2026'),
                                               ("history_replay.json", "[]"), ("history_replay.json", "{")])
def test_a_damaged_replay_is_moved_aside_and_the_report_goes_on(tmp_path, capsys, name, content):
    """Bug caught: an empty or damaged history_replay.csv/.json makes every report run fail until a person deletes
    it. It is moved aside (kept) with a one-line warning and the report is written without the replay section."""
    from forecast.analysis.replay import load_replay, replay_section

    reports = tmp_path / "reports"
    reports.mkdir()
    good_csv = "as_of,scenario,response,mean,inputs_hash,evidence_ids\n2026-01-16,one_time_raid,r,0.5,abc,\n"
    (reports / "history_replay.csv").write_text(good_csv)
    (reports / "history_replay.json").write_text("{}")
    (reports / name).write_text(content)
    df = load_replay(reports)
    err = capsys.readouterr().err
    assert "moved aside" in err and err.count("\n") == 1, err
    assert len(list(reports.glob(f"{name}.bad-*"))) == 1 and not (reports / name).exists()
    assert (df is None) == name.endswith(".csv")
    if df is not None:
        assert df.attrs["arrivals"] == {}
    replay_section(reports, "one_time_raid")  # no longer fails


@pytest.mark.parametrize("content", ["[]", "{", '{"k": 1}', ""])
def test_a_damaged_elicitation_cache_is_rebuilt(tmp_path, monkeypatch, capsys, content):
    """Bug caught: an elicitation cache holding `[]` makes every command fail (a list has no keys to set)."""
    from forecast.inputs import priors

    monkeypatch.setenv("FORECAST_CACHE_DIR", str(tmp_path))
    (tmp_path / "elicit.json").write_text(content)
    out = priors.elicit("HalfNormal", 0.1, 1.0, 0.9)
    assert out["family"] == "HalfNormal" and out["sigma"] > 0
    assert list(json.loads((tmp_path / "elicit.json").read_text()).values())[0]["family"] == "HalfNormal"
    assert [p.read_text() for p in tmp_path.glob("elicit.json.bad-*")] == [content]
    assert "moved aside" in capsys.readouterr().err


def test_a_cache_folder_that_is_a_file_is_moved_aside(home, tmp_path, capsys, fake_sampler, syn):
    """Bug caught: `.cache` being a regular file makes every command fail (Hydra's run dir, the fit's cache)."""
    cache = home / ".cache"
    shutil.rmtree(cache)
    cache.write_text("not a folder")
    code, err = run_cli(["scenarios"], capsys)
    assert code == 0
    fitted = fitmod.fit(syn, SAMPLER, 1, cache)
    assert cache.is_dir() and fitted.path.is_file()
    aside = list(home.glob(".cache.bad-*"))
    assert len(aside) == 1 and aside[0].read_text() == "not a folder"
    assert "moved aside" in capsys.readouterr().err
    reports_file = tmp_path / "reports-file"
    reports_file.write_text("x")
    with pytest.raises(WriteError, match="is a file, not a folder"):  # the reports folder is not derived: stop
        ensure_dir(reports_file / "sub", reports_file)


@pytest.mark.parametrize("name", ["E-x.yml", "E-x.json", ".#E-2026-01-cripeso-poll.yaml", "E-x.yaml~",
                                  ".E-x.yaml.swp", "E-x.YAML", "notes.txt"])
def test_every_file_in_the_evidence_folder_is_read_or_refused_by_name(home, capsys, name):
    """Bug caught: an entry saved as .yml/.json skipped without a word, and an editor's lock file producing an error
    naming the wrong file."""
    (home / "data" / "evidence" / name).write_text("id: E-x\n")
    code, err = run_cli(["evidence", "check"], capsys)
    assert code == 2
    line = one_error_line(err)
    assert name in line, line


# ====================================================================== 4 resource limits and the environment
def _sub(args: list[str], home: Path, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "FORECAST_HOME": str(home), "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=120, **kw)


def test_a_file_size_limit_is_one_line_exit_74_not_a_kill(home):
    """Bug caught: with `ulimit -f` small the process is killed by SIGXFSZ (or crashes) mid-write. SIGXFSZ is
    ignored: exit 74, one line, no entry and no temporary file left."""
    import resource

    ev = home / "data" / "evidence"
    before = sorted(os.listdir(ev))
    p = _sub([*FORECAST, "evidence", "add", "poll", *POLL_FLAGS], home,
             preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY)))
    assert p.returncode == 74, p.stderr
    assert "EFBIG" in one_error_line(p.stderr) and "E-faults.yaml" in p.stderr
    assert sorted(os.listdir(ev)) == before


def test_a_closed_stderr_is_not_an_error(home):
    """Bug caught: with stderr closed (`2>&-`) progress and errors go to stdout or fail as internal errors. The
    output on stdout is exactly the scenario list."""
    closed = _sub(["/bin/sh", "-c", f"exec {sys.executable} -m forecast scenarios 2>&-"], home)
    assert closed.returncode == 0 and closed.stdout.count("\n") == 6, closed


def test_a_vanished_working_folder_is_not_an_error(home, tmp_path):
    """Bug caught: a working folder deleted under the process ends in an internal error (FileNotFoundError from
    getcwd). Paths never depend on it: the command works, with a one-line warning."""
    gone = tmp_path / "gone"
    gone.mkdir()
    p = _sub(["/bin/sh", "-c", f"cd {gone} && rmdir {gone} && exec {sys.executable} -m forecast scenarios"], home)
    assert p.returncode == 0 and p.stdout.count("\n") == 6, p.stderr
    assert p.stderr.count("\n") == 1 and "working folder no longer exists" in p.stderr


def test_a_broken_pipe_ends_quietly_with_141(home):
    """Bug caught: a closed stdout (`forecast ... | head -1`) reported as an internal error (exit 70) with a message.
    The reader (`true`) is gone before the tool prints: it ends quietly with 128 + SIGPIPE, as Unix tools do."""
    p = _sub(["/bin/bash", "-c", f"set -o pipefail; {sys.executable} -m forecast --help | true"], home)
    assert p.returncode == 141 and p.stderr == "", p.stderr


@pytest.mark.parametrize("wait", ["-1", "nan", "-inf", "inf"])
def test_a_negative_or_nan_wait_is_refused(home, capsys, wait):
    """Bug caught: `forecast scheduled --wait -1` or `nan` accepted (one hangs)."""
    code, err = run_cli(["scheduled", "--wait", wait], capsys)
    assert code == 2 and "--wait" in one_error_line(err)
