"""Publishing is one transaction, and only a publication publishes: the examples of the hostile round, each from a
state a publication leaves, each failing on the former code (which renamed the report folders into place first and
appended the history after; and appended the history on every run).

The model is replaced by a synthetic report (``tests/publish_fakes.py``): what is tested is everything after the
writer, the real code. Each test checks what is on disk afterwards: the old state or the new one, whole.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import shutil
import signal
from pathlib import Path

import pytest

from forecast.cli.main import main
from forecast.outputs.history import check_history, read_history
from forecast.outputs.published import last_published
from forecast.outputs.runs import read_runs

from . import publish_fakes

ROWS = 17 + 4  # the example report's responses and composites: one history row each


@pytest.fixture
def fake(monkeypatch, tmp_path):
    publish_fakes.install(monkeypatch)
    monkeypatch.setenv("FAKE_HASH", "fa4e0000aaaa1111")
    for k in ("FAKE_KILL_AT", "FAKE_SIGNAL", "FAKE_DELAY", "FAKE_MARK"):
        monkeypatch.delenv(k, raising=False)
    return tmp_path


def run(tmp_path: Path, *args: str, capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as e:
        main([*args[:1], f"paths.reports={tmp_path / 'reports'}", f"paths.cache={tmp_path / 'cache'}", *args[1:]]
             if args and args[0] == "scheduled" else
             [f"paths.reports={tmp_path / 'reports'}", f"paths.cache={tmp_path / 'cache'}", *args])
    return e.value.code, capsys.readouterr().err


def state(reports: Path) -> dict[str, bytes | str]:
    """Every file under the reports folder (links by their target), the run log and the logs aside (a failed run
    is recorded there: that is its record, not a publication)."""
    out: dict[str, bytes | str] = {}
    for p in sorted(reports.rglob("*")):
        rel = str(p.relative_to(reports))
        if rel.startswith("logs") or rel in ("runs.jsonl", "runs.html", "index.html"):
            continue
        if p.is_symlink():
            out[rel] = "-> " + os.readlink(p)
        elif p.is_file():
            out[rel] = p.read_bytes()
    return out


def rows(reports: Path) -> int:
    return check_history(reports / "history.csv")


# ---------------------------------------------------------------------- publish vs preview
def test_two_previews_after_a_published_brief_add_no_history_row(fake, capsys):
    """Before: every plain `forecast` run appended its rows (four 'publications' of one scenario in 8 minutes);
    now a run publishes only with publish=true, and a preview says so and leaves the published brief readable."""
    reports = fake / "reports"
    code, err = run(fake, "publish=true", capsys=capsys)
    assert code == 0 and "published: 1 report(s)" in err, err
    assert rows(reports) == ROWS and (reports / "index.html").is_file()
    first = json.loads((reports / "one_time_raid" / "forecast.json").read_text())
    history = (reports / "history.csv").read_bytes()
    for _ in range(2):
        code, err = run(fake, capsys=capsys)
        assert code == 0 and "preview: not published" in err, err
        assert (reports / "history.csv").read_bytes() == history
    preview = json.loads((reports / "one_time_raid" / "forecast.json").read_text())
    assert preview["fake_published"] is False and preview["generated_at"] != first["generated_at"]
    got = last_published(reports, "one_time_raid")  # the folder holds a preview now: the archive keeps the brief
    assert got["generated_at"] == first["generated_at"] and got["published_folder"].startswith("published/")


# ---------------------------------------------------------------------- every target checked before the first rename
def _history_link(reports: Path, outside: Path) -> None:
    outside.write_bytes((reports / "history.csv").read_bytes())
    (reports / "history.csv").unlink()
    (reports / "history.csv").symlink_to(outside)


def _history_folder(reports: Path, outside: Path) -> None:
    (reports / "history.csv").unlink()
    (reports / "history.csv").mkdir()


def _locks_a_file(reports: Path, outside: Path) -> None:
    cache = reports.parent / "cache"
    shutil.rmtree(cache / "locks", ignore_errors=True)
    cache.mkdir(exist_ok=True)
    (cache / "locks").write_text("not a folder")


@pytest.mark.parametrize(("damage", "codes"), [(_history_link, {2}), (_history_folder, {74}),
                                               (_locks_a_file, {0, 74})])
def test_a_bad_destination_is_refused_before_any_report_is_replaced(fake, capsys, damage, codes):
    """Before: history.csv a link to a file outside the project (exit 2) or a folder (exit 74), or .cache/locks a
    file (exit 74), were found only after reports/one_time_raid/ had been replaced: a published report with no
    history row. Now the run is refused with everything as it was, or (the locks folder is not needed by a
    publication) publishes everything."""
    reports = fake / "reports"
    code, err = run(fake, "publish=true", capsys=capsys)
    assert code == 0, err
    outside = fake / "outside.csv"
    damage(reports, outside)
    before, outside_before = state(reports), outside.read_bytes() if outside.is_file() else None
    code, err = run(fake, "publish=true", capsys=capsys)
    assert code in codes, err
    if code:
        assert state(reports) == before, "a refused run changed what is published"
        assert "nothing was published" in err.strip().splitlines()[-1], err
        assert (outside.read_bytes() if outside.is_file() else None) == outside_before
    else:
        assert rows(reports) == 2 * ROWS


def test_a_file_size_limit_is_found_before_anything_is_published(fake, capsys):
    """Before: `ulimit -f` below what the history append needs ended with exit 74 after the report folder was
    replaced. Now the limit is found first (or the folder's own files hit it while staged): exit 74, nothing
    changed."""
    reports = fake / "reports"
    assert run(fake, "publish=true", capsys=capsys)[0] == 0
    before = state(reports)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    old = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        resource.setrlimit(resource.RLIMIT_FSIZE, ((reports / "history.csv").stat().st_size + 100, hard))
        code, err = run(fake, "publish=true", capsys=capsys)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old)
    assert code == 74, err
    assert state(reports) == before and "nothing was published" in err, err


# ---------------------------------------------------------------------- a stop signal while the reports are written
@pytest.mark.parametrize(("sig", "code"), [("SIGTERM", 143), ("SIGINT", 130), ("SIGHUP", 129)])
@pytest.mark.parametrize("at", ["air_strikes", "one_time_raid", "sustained_presence"])
def test_a_signal_while_six_reports_are_written_publishes_none_of_them(fake, capsys, monkeypatch, sig, code, at):
    """Before: `forecast all_scenarios=true` stopped a few seconds after 'writing 6 report(s)' exited 143/130 with
    two to four of the six folders replaced and no history row for them, and said 'earlier outputs are
    unchanged'. Now the folders are staged and the signal stops the run before the commit: all six as they were."""
    reports = fake / "reports"
    assert run(fake, "publish=true", "all_scenarios=true", capsys=capsys)[0] == 0
    before = state(reports)
    monkeypatch.setenv("FAKE_KILL_AT", at)
    monkeypatch.setenv("FAKE_SIGNAL", sig)
    got, err = run(fake, "publish=true", "all_scenarios=true", capsys=capsys)
    from forecast.errors import clear_signals

    clear_signals()
    assert got == code, err
    assert state(reports) == before
    last = err.strip().splitlines()[-1]
    assert f"interrupted ({sig})" in last and "nothing was published" in last, err
    assert not list(reports.glob(".*tmp-*")), "staged folders left behind"


# ---------------------------------------------------------------------- forecast scheduled
def test_latest_a_real_folder_is_refused_before_the_day_is_published_and_the_day_is_published_after(fake, capsys):
    """Before: `reports/latest` a real folder: exit 2 after reports/<today>/ was renamed into place; once the user
    moved `latest` away, the next run said 'unchanged' and never appended that day's rows (the day missing from the
    history for good). Now the refusal comes first, and the next run publishes the whole day."""
    reports = fake / "reports"
    (reports / "latest").mkdir(parents=True)
    (reports / "latest" / "mine.txt").write_text("kept")
    code, err = run(fake, "scheduled", capsys=capsys)
    assert code == 2 and "latest" in err and "nothing was published" in err, err
    today = reports / dt.date.today().isoformat()
    assert not today.exists() and rows(reports) == 0 and (reports / "latest" / "mine.txt").read_text() == "kept"
    (reports / "latest").rename(fake / "moved-away")
    code, err = run(fake, "scheduled", capsys=capsys)
    assert code == 0, err
    assert os.readlink(reports / "latest") == today.name and rows(reports) == 6 * ROWS
    assert read_runs(reports)[-1]["status"] == "ok"


def test_a_day_whose_rows_are_missing_is_repaired_not_skipped(fake, capsys):
    """A day's folder in place without its history rows (what the former code left after a stop): the next run
    with the same inputs adds the rows instead of saying 'unchanged' and skipping them."""
    reports = fake / "reports"
    assert run(fake, "scheduled", capsys=capsys)[0] == 0
    history = (reports / "history.csv").read_text().splitlines()
    (reports / "history.csv").write_text(history[0] + "\n")  # the rows lost
    code, err = run(fake, "scheduled", capsys=capsys)
    assert code == 0, err
    assert rows(reports) == 6 * ROWS
    assert sorted(read_history(reports / "history.csv")["scenario"].unique()) == sorted(
        p.parent.name for p in (reports / "latest").glob("*/forecast.json"))
    assert "history rows were missing" in read_runs(reports)[-1]["reason"]
    code, err = run(fake, "scheduled", capsys=capsys)  # nothing missing now: nothing added
    assert code == 0 and rows(reports) == 6 * ROWS and read_runs(reports)[-1]["status"] == "unchanged"


# ---------------------------------------------------------------------- SIGTERM at many points of forecast scheduled
DRIVER = ("import sys; from tests import publish_fakes; publish_fakes.install(); "
          "from forecast.cli.main import main; main(sys.argv[1:])")
ROOT = Path(__file__).resolve().parents[1]
OLD, NEW = "0a0a0a0a0a0a0a0a", "0b0b0b0b0b0b0b0b"


def _visible(reports: Path) -> str:
    """'old' or 'new' when one publication is fully visible (every scenario's report under latest, its history
    rows, nothing half done), else what is torn."""
    hashes = {json.loads(p.read_text())["inputs_hash"] for p in (reports / "latest").glob("*/forecast.json")}
    hist = read_history(reports / "history.csv")
    by_hash = hist.groupby("inputs_hash").size().to_dict() if len(hist) else {}
    if hashes == {OLD} and by_hash == {OLD: 6 * ROWS}:
        return "old"
    if hashes == {NEW} and by_hash == {OLD: 6 * ROWS, NEW: 6 * ROWS}:
        return "new"
    return f"torn: reports {sorted(hashes)}, history rows {by_hash}"


def _scheduled(reports: Path, cache: Path, **env: str):
    import subprocess
    import sys

    return subprocess.Popen([sys.executable, "-c", DRIVER, "scheduled", f"paths.reports={reports}",
                             f"paths.cache={cache}"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT), "FAKE_MARK": "1", **env})


# signal after the k-th folder has started, plus a pause: inside each folder's writing, and around the commit
POINTS = [(1, 0.0), (2, 0.1), (3, 0.0), (4, 0.2), (5, 0.0), (6, 0.0), (6, 0.25), (6, 0.32), (6, 0.4)]


def test_sigterm_at_many_points_of_a_scheduled_run_always_stops_it_with_143_and_a_whole_state(fake, capsys,
                                                                                                monkeypatch):
    """Before: SIGTERM while `forecast scheduled` wrote its reports was sometimes swallowed (raised inside a weak
    reference callback: 'Exception ignored in ... WeakSet' and exit 0), and otherwise left the day's folder in
    place without its history rows. Now every signal ends the run with 143, afterwards either the previous
    publication or the new one is fully visible, and a run without a signal publishes the day once."""
    import time

    monkeypatch.setenv("FAKE_HASH", OLD)
    assert run(fake, "scheduled", capsys=capsys)[0] == 0  # the previous publication
    template = fake / "template"
    shutil.copytree(fake / "reports", template / "reports", symlinks=True)
    shutil.copytree(fake / "cache", template / "cache", symlinks=True)
    seen = []
    for i, (k, pause) in enumerate(POINTS):
        base = fake / f"point{i}"
        shutil.copytree(template, base, symlinks=True)
        proc = _scheduled(base / "reports", base / "cache", FAKE_HASH=NEW, FAKE_DELAY="0.06")
        started = 0
        lines = []
        while started < k:
            line = proc.stderr.readline()
            assert line, f"the run ended before folder {k}: {''.join(lines)}"
            lines.append(line)
            started += line.startswith("fake: writing ")
        time.sleep(pause)
        proc.send_signal(signal.SIGTERM)
        rest = proc.stderr.read()
        code = proc.wait(60)
        err = "".join(lines) + rest
        assert "Exception ignored" not in err and "Traceback" not in err, err
        outcome = _visible(base / "reports")
        assert outcome in ("old", "new"), (k, pause, outcome, err)
        if code in (-signal.SIGTERM, 0):  # it came as the interpreter exited (the default action) or after the
            # process had ended (a faster run finishes within the last pauses): the run was over, and published
            assert outcome == "new" and "scheduled run finished" in err, (k, pause, code, err)
        else:
            assert code == 143, (k, pause, code, err)
            last = err.strip().splitlines()[-1]
            assert "interrupted (SIGTERM)" in last and ("nothing was published" in last) == (outcome == "old"), last
        assert not list((base / "reports").glob(".*")), "staging or a journal left behind"
        seen.append(outcome)
        if i in (0, len(POINTS) - 1):  # the next run without a signal publishes the day, once
            proc = _scheduled(base / "reports", base / "cache", FAKE_HASH=NEW)
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0 and _visible(base / "reports") == "new", err
    assert "old" in seen, seen
