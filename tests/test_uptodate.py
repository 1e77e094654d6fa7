"""A preview whose reports are on disk as a run would make them is not made again (``forecast.outputs.uptodate``).

The model is replaced by the synthetic report of ``tests/publish_fakes.py`` (the writer's door, the records, the
landing page and the check are the real code). Each test makes a report, changes one thing the report depends on
(or nothing), and runs the same command again: with nothing changed the run says "up to date", prints what the
first run printed and writes nothing (every file's bytes and modification time are compared); with one byte of an
input, a setting, the day, the code, the published briefs, the cached posterior or the folder itself changed, the
full run makes the report again, and the run after that is up to date again (the rebuilt folder is served). The
slow test with the real model is in ``tests/test_imports.py`` (no numerical library on the up-to-date path).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from forecast.cli.main import main
from forecast.outputs import uptodate

from . import publish_fakes

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = "one_time_raid"


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A project home of its own (its conf/ and data/ are changed by the tests) with the synthetic run."""
    home = tmp_path / "home"
    for sub in ("conf", "data"):
        shutil.copytree(ROOT / sub, home / sub)
    monkeypatch.setenv("FORECAST_HOME", str(home))
    monkeypatch.setenv("FAKE_HASH", "fa4e0000aaaa1111")
    for k in ("FAKE_KILL_AT", "FAKE_SIGNAL", "FAKE_DELAY", "FAKE_MARK"):
        monkeypatch.delenv(k, raising=False)
    publish_fakes.install(monkeypatch)
    return home


def run(home: Path, capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as e:
        main([f"paths.reports={home / 'reports'}", f"paths.cache={home / 'cache'}", f"scenario={SCENARIO}", *args])
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def state(reports: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under the reports folder: its bytes and modification time."""
    return {str(p.relative_to(reports)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(reports.rglob("*")) if p.is_file()}


def made(home: Path) -> str:
    """The time the scenario's report was made (a rebuilt report has a new one)."""
    return json.loads((home / "reports" / SCENARIO / "forecast.json").read_text())["generated_at"]


def test_the_same_preview_again_writes_nothing_and_says_what_the_first_said(home, capsys):
    code, out1, err1 = run(home, capsys)
    assert code == 0, err1
    assert "up to date" not in err1
    before = state(home / "reports")
    assert {f"{SCENARIO}/.run.json", ".landing.json", "index.html"} <= set(before)
    code, out2, err2 = run(home, capsys)
    assert code == 0, err2
    assert state(home / "reports") == before  # nothing written: same bytes, same times
    lines = err2.strip().splitlines()
    assert lines[0].startswith(f"forecast: up to date: {home / 'reports' / SCENARIO} (made ")
    assert "force=true" in lines[0]
    assert "forecast: preview: not published" in err2  # the notice the first run gave, repeated
    assert f"forecast: report: {home / 'reports' / SCENARIO / 'report.html'}" in lines
    assert out2 == out1 and out1.strip()  # what moved, as the first run printed it
    assert "loading inputs" not in err2


def _append(path: Path) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("\n# one more line\n")


CHANGES = {  # what is changed between the first run and the second -> what the second run says
    "evidence": (lambda h, mp: _append(h / "data" / "evidence" / "E-2026-01-cripeso-poll.yaml"), "an input file"),
    "conf": (lambda h, mp: _append(h / "conf" / "model" / "default.yaml"), "an input file"),
    "question": (lambda h, mp: _append(h / "data" / "question.yaml"), "an input file"),
    "new day": (lambda h, mp: mp.setattr(uptodate, "_today", lambda: dt.date.today() + dt.timedelta(days=1)),
                "another day"),
    "code": (lambda h, mp: mp.setattr(uptodate, "code_digest", lambda: "another version"), "the code"),
    "history": (lambda h, mp: _append(h / "reports" / "history_replay.csv"), "the published briefs"),
    "damaged file": (lambda h, mp: (h / "reports" / SCENARIO / "forecast.json").write_text("{\"cut"), "damaged"),
    "extra file": (lambda h, mp: (h / "reports" / SCENARIO / "notes.txt").write_text("x"), "not those recorded"),
    "no record": (lambda h, mp: (h / "reports" / SCENARIO / ".run.json").write_text("[]"), None),
    "landing page": (lambda h, mp: _append(h / "reports" / "index.html"), None),
    "journal": (lambda h, mp: (h / "reports" / ".publication-journal.json").write_text(
        json.dumps({"version": 1, "id": "x", "what": "t", "steps": []})), None),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_any_change_makes_the_report_again_and_then_it_is_up_to_date(change, home, capsys, monkeypatch):
    """Each class of what a report depends on, changed by one byte (or one day): the full run makes the report
    again (a new generation time, the folder intact and recorded), and the next run serves the new folder."""
    (home / "reports").mkdir()
    (home / "reports" / "history_replay.csv").write_text("as_of,scenario,response,mean\n")  # a file it reads
    assert run(home, capsys)[0] == 0
    first = made(home) if (home / "reports" / SCENARIO / "forecast.json").is_file() else None
    do, says = CHANGES[change]
    do(home, monkeypatch)
    code, _, err = run(home, capsys)
    assert code == 0, err
    assert "up to date" not in err, err
    if says is not None:
        assert f"making {SCENARIO}'s report again: " in err and says in err, err
    assert made(home) != first
    keys = uptodate.Keys(_cfg(home), [SCENARIO])
    assert uptodate._stale(home / "reports" / SCENARIO, keys.key(SCENARIO), home / "cache") is None
    code, _, err = run(home, capsys)
    assert code == 0 and "up to date" in err, err


def _cfg(home: Path):
    import forecast

    return forecast.compose([f"paths.reports={home / 'reports'}", f"paths.cache={home / 'cache'}",
                             f"scenario={SCENARIO}"])


def test_a_template_changed_by_one_byte_makes_the_report_again(home, capsys, tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "report.css").write_text("body { color: black; }\n")
    assert run(home, capsys, f"report.templates={templates}")[0] == 0
    assert "up to date" in run(home, capsys, f"report.templates={templates}")[2]
    (templates / "report.css").write_text("body { color: black; }\n ")
    code, _, err = run(home, capsys, f"report.templates={templates}")
    assert code == 0 and "up to date" not in err and "an input file changed" in err, err


@pytest.mark.parametrize("setting", ["as_of=2026-11-20", "report.hdi_prob=0.8", "scenario.title=Another title",
                                     "seed=7"])
def test_another_setting_makes_the_report_again(setting, home, capsys):
    assert run(home, capsys)[0] == 0
    code, _, err = run(home, capsys, setting)
    assert code == 0 and "up to date" not in err and "the settings changed" in err, err


def test_the_report_of_every_scenario_is_the_one_of_its_own_scenario(home, capsys):
    """``forecast all_scenarios=true`` (what make reports runs) makes the report ``forecast scenario=X`` would: the
    single-scenario run after it is up to date (its record names the command that made it)."""
    with pytest.raises(SystemExit):
        main([f"paths.reports={home / 'reports'}", f"paths.cache={home / 'cache'}", "all_scenarios=true"])
    capsys.readouterr()
    before = state(home / "reports")
    code, _, err = run(home, capsys)
    assert code == 0 and "up to date" in err, err
    assert state(home / "reports") == before


def test_force_always_makes_the_report(home, capsys):
    assert run(home, capsys)[0] == 0
    first = made(home)
    code, _, err = run(home, capsys, "force=true")
    assert code == 0 and "up to date" not in err, err
    assert made(home) != first
    assert "up to date" in run(home, capsys)[2]  # force is not part of what the report is made from


def test_publish_never_takes_the_shortcut_and_the_next_preview_is_made_again(home, capsys):
    from forecast.outputs.history import read_history

    assert run(home, capsys)[0] == 0
    code, _, err = run(home, capsys, "publish=true")
    assert code == 0 and "up to date" not in err, err
    rows = len(read_history(home / "reports" / "history.csv"))
    assert rows > 0  # its history rows were appended
    code, _, err = run(home, capsys, "publish=true")
    assert code == 0 and "up to date" not in err, err
    assert len(read_history(home / "reports" / "history.csv")) == 2 * rows
    # a new published brief: the next preview is compared with it and replaces its folder, which changes the
    # published state the key reads (whether the scenario's folder is a published brief): both are made, the
    # third is served
    for _ in range(2):
        code, _, err = run(home, capsys)
        assert code == 0 and "up to date" not in err, err
    code, _, err = run(home, capsys)
    assert code == 0 and "up to date" in err, err


def test_analysts_always_make_the_report(home, capsys):
    """The analysts' section starts from the folder's previous report: such a run is never served."""
    assert run(home, capsys, "analysts=[example-hawk]")[0] == 0
    code, _, err = run(home, capsys, "analysts=[example-hawk]")
    assert code == 0 and "up to date" not in err, err


def test_the_posterior_it_came_from_must_still_be_cached(home, capsys, monkeypatch):
    """A report records the cache files of its posterior: the exact posterior gone (a cleared cache) makes it
    again; a report from a PSIS update is made again once an exact fit of its inputs is cached."""
    import forecast.usecases.reports as uc
    from forecast.model.cache import posterior_path, update_path

    cache = home / "cache"
    exact = posterior_path(cache, "fa4e0000aaaa1111")
    exact.parent.mkdir(parents=True)
    exact.write_bytes(b"posterior")
    assert run(home, capsys)[0] == 0
    assert "up to date" in run(home, capsys)[2]
    exact.unlink()
    code, _, err = run(home, capsys)
    assert code == 0 and "the cached posterior it came from is gone" in err, err
    assert "up to date" in run(home, capsys)[2]  # (the synthetic fit says "cache hit" without a file)

    base, kept = posterior_path(cache, "b" * 20), update_path(cache, "fa4e0000aaaa1111")
    kept.parent.mkdir(parents=True)
    base.write_bytes(b"base")
    kept.write_bytes(b"weights")
    monkeypatch.setattr(uc, "fit_config", lambda *a, **k: SimpleNamespace(
        from_cache=False, inputs_hash="fa4e0000aaaa1111", weights=[1.0], timings={},
        update={"method": "psis", "base_hash": "b" * 20, "pareto_k": 0.1, "ess_weights": 100.0}))
    code, _, err = run(home, capsys, "force=true")
    assert code == 0 and "up to date" not in err and "PSIS update of bbbb" in err, err
    code, _, err = run(home, capsys)
    assert code == 0 and "up to date" in err and "PSIS update of bbbb" in err, err  # said again, as recorded
    exact.write_bytes(b"an exact fit")
    code, _, err = run(home, capsys)
    assert code == 0 and "an exact posterior of its inputs is cached now" in err, err


def test_a_report_whose_diagnostics_failed_is_never_served(home, capsys, monkeypatch):
    rec_path = home / "reports" / SCENARIO / ".run.json"
    assert run(home, capsys)[0] == 0
    rec = json.loads(rec_path.read_text())
    rec_path.write_text(json.dumps({**rec, "ok": False}))
    code, _, err = run(home, capsys)
    assert code == 0 and "its diagnostics failed" in err, err


def test_the_up_to_date_path_imports_no_numerical_library(home, tmp_path):
    """In a fresh process (the synthetic run makes the report first): the up-to-date run composes the config and
    hashes files, and loads none of the numerical libraries, numpy and Jinja included (``tests/test_imports.py``
    checks the same after the real model's runs)."""
    from .test_imports import NUMERICAL, heavy, loaded_by

    args = [f"paths.reports={home / 'reports'}", f"paths.cache={home / 'cache'}", f"scenario={SCENARIO}"]
    code = (f"import sys\nsys.path.insert(0, {str(ROOT)!r})\nfrom tests import publish_fakes\npublish_fakes.install()\n"
            f"from forecast.cli.main import main\nmain({args!r})")
    status, mods, err = loaded_by(code, tmp_path)
    assert status == 0 and "up to date" not in err, err
    # no synthetic run this time (installing it imports the run's modules): a run that is not served stops at once
    served = ("import sys\nimport forecast.api as api\napi.run = lambda *a, **k: sys.exit(99)\n"
              f"from forecast.cli.main import main\nmain({args!r})")
    status, mods, err = loaded_by(served, tmp_path)
    assert status == 0 and "up to date" in err, err
    assert heavy(mods, (*NUMERICAL, "numpy", "jinja2")) == [], err
    assert "forecast.outputs.uptodate" in mods  # the audit sees the check that ran


def test_a_copied_project_home_is_still_up_to_date(home, capsys, tmp_path, monkeypatch):
    """The records name files relative to the project's folders: a home copied with its files' times (or moved) is
    the same project, its reports up to date where they are now (its folders configured relative to the home)."""
    def here(where: Path) -> tuple[int, str]:
        monkeypatch.setenv("FORECAST_HOME", str(where))
        with pytest.raises(SystemExit) as e:
            main(["paths.reports=reports", "paths.cache=cache", f"scenario={SCENARIO}"])
        return e.value.code, capsys.readouterr().err

    assert here(home)[0] == 0
    assert "up to date" in here(home)[1]
    copy = tmp_path / "copy"
    shutil.copytree(home, copy, symlinks=True)
    code, err = here(copy)
    assert code == 0 and f"up to date: {copy / 'reports' / SCENARIO} (made" in err, err
    assert f"report: {copy / 'reports' / SCENARIO / 'report.html'}" in err


def test_the_landing_page_is_named_as_the_landing_module_names_it():
    """``uptodate`` spells the landing page's name itself (importing ``landing`` would load the renderer)."""
    from forecast.outputs import landing

    assert uptodate.LANDING == landing.LANDING


def test_a_forced_report_records_the_command_without_force():
    """force=true decides whether a report is made, not what it holds: the report (and its figures' footers, kept
    by content) record the command without it, so a forced report is the one the plain command makes."""
    from forecast.analysis.report_draws import command_line

    assert command_line(["scenario=air_strikes", "force=true"]) == "forecast scenario=air_strikes"
    assert command_line(["+force=true", "seed=3"]) == "forecast seed=3"
    assert command_line(["report.force_x=1"]) == "forecast report.force_x=1"


def test_the_code_digest_does_not_depend_on_the_current_folder(tmp_path):
    """The code's digest (the "code" part of every up-to-date key, and of the kept What if draws') is one per
    installed code, whichever folder a process starts in: ``python -c`` and ``python -m`` put the current folder on
    ``sys.path``, and a digest that listed its ``*.egg-info`` (a checkout's build artifact) differed between a report
    run in the checkout and a what-if elsewhere, which then called the kept draws stale (it failed CI so)."""
    import os
    import subprocess
    import sys

    here, there = tmp_path / "checkout", tmp_path / "elsewhere"
    (here / "forecast.egg-info").mkdir(parents=True)
    (here / "other-1.0.dist-info").mkdir()
    there.mkdir()
    code = "from forecast.outputs.uptodate import code_digest; print(code_digest())"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    digests = {subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
                              check=True).stdout.strip() for cwd in (here, there)}
    assert len(digests) == 1 and len(digests.pop()) == 64
