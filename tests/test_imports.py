"""A command imports only what its own path uses: which modules a process loads decides most of its start-up
time (pandas, xarray, scipy, PyMC, matplotlib and ArviZ cost from a tenth of a second to a second each on the
2-core machine). Nothing here is timed: the tests look at ``sys.modules`` of a fresh process.

- ``import forecast`` loads none of the numerical libraries (the API's names are imported on first use);
- a report with nothing new, from a cached posterior and from a kept PSIS update of it, loads no scipy, PyMC,
  PyTensor, matplotlib, ArviZ or HDF5 library: its statistics, figures, predictions and posterior file come
  from the derived-results memo, its posterior from the arrays beside the NetCDF file, its weights from the
  update the first run kept;
- the same preview again, its report up to date on disk (``forecast.outputs.uptodate``), loads no numerical
  library at all, numpy included: it composes the config, hashes files and repeats what the first run said;
- the run that computes that PSIS update (new evidence) loads no scipy, PyMC, PyTensor or ArviZ either: PSIS is
  numpy (``forecast.model.psis``), the poll terms too, and the draws' own ESS and R-hat are kept from the report
  of the same draws; nor matplotlib: the figures whose numbers moved are redrawn by forked drawing workers
  (``forecast.parallel.Workers``, forked as the command starts), while the run's own process encodes the new
  ``posterior.nc`` (h5netcdf: it holds the draws, and the workers may have been forked before xarray was loaded);
- ``forecast whatif --poll`` after a report run answers from the draws that run kept
  (``forecast.analysis.whatif.kept``): numpy, none of the numerical stack (tests/test_whatif_kept.py has the rest).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

NUMERICAL = ("pandas", "xarray", "scipy", "pymc", "pytensor", "matplotlib", "arviz", "arviz_stats", "arviz_base",
             "arviz_plots", "numba", "nutpie", "preliz", "h5py", "h5netcdf")
# what a cached report never needs (pandas and xarray hold its inputs and draws)
NOT_ON_THE_CACHED_PATH = tuple(m for m in NUMERICAL if m not in ("pandas", "xarray"))
# what a report from new evidence never needs in its own process: its workers redraw the figures (it encodes the new
# posterior.nc itself, HDF5)
NOT_ON_THE_PSIS_PATH = tuple(m for m in NOT_ON_THE_CACHED_PATH if m not in ("h5py", "h5netcdf"))
POLL = ["poll", "--id", "E-2026-12-import-test", "--date-known", "2026-11-20", "--source", "https://example.org/p",
        "--summary", "A test poll", "--pollster", "El Financiero", "--date", "2026-11-18", "--n", "1000",
        "--share-opposed", "0.79"]


def heavy(modules: list[str] | set[str], names: tuple[str, ...]) -> list[str]:
    """Which of the top-level packages ``names`` a process loaded."""
    loaded = {m.split(".")[0] for m in modules}
    return sorted(n for n in names if n in loaded)


def loaded_by(code: str, tmp_path: Path) -> tuple[int, list[str], str]:
    """(exit status, the modules a fresh ``python -c code`` process had loaded when it ended, its stderr)."""
    out = tmp_path / f"modules-{len(list(tmp_path.glob('modules-*')))}.json"
    wrapper = (f"import atexit, json, sys\natexit.register(lambda: open({str(out)!r}, 'w').write("
               f"json.dumps(sorted(sys.modules))))\n{code}\n")
    proc = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, env=os.environ.copy(),
                          timeout=600)
    return proc.returncode, json.loads(out.read_text()) if out.is_file() else [], proc.stderr


def cli(args: list[str], tmp_path: Path) -> tuple[int, list[str], str]:
    return loaded_by(f"from forecast.cli.main import main\nmain({args!r})", tmp_path)


def test_import_forecast_loads_no_numerical_library(tmp_path):
    code, mods, err = loaded_by("import forecast\nforecast.__all__\nforecast.api.compose", tmp_path)
    assert code == 0, err
    assert "forecast.api" in mods
    assert heavy(mods, NUMERICAL) == [], "import forecast loaded a numerical library: import it where it is used"


def test_the_check_sees_a_heavy_import(tmp_path):
    """Decisive: a process that does load one is caught, by name."""
    code, mods, err = loaded_by("import forecast\nimport matplotlib.figure", tmp_path)
    assert code == 0, err
    assert heavy(mods, NUMERICAL) == ["matplotlib"]
    assert heavy(mods + ["scipy.special._ufuncs"], NOT_ON_THE_CACHED_PATH) == ["matplotlib", "scipy"]


@pytest.mark.slow
def test_a_report_with_nothing_new_imports_no_heavy_module(default_fit, session_cache, project_home, tmp_path):
    """The second of two identical runs: from the cached posterior, then (a poll added) from a PSIS update the
    first of its runs computed and kept. Each loads pandas and xarray (its inputs and draws) and nothing else of
    the numerical stack. The first run with the poll (the update computed, its ranges drawn by the page and a new
    posterior.nc encoded here) loads no scipy, PyMC, ArviZ or matplotlib; ``forecast whatif
    --poll`` after them answers from the draws the forced run kept and loads none of the numerical stack, pandas and
    xarray included."""
    reports, cache = tmp_path / "reports", tmp_path / "cache"
    # the session's posterior in a cache of this test's own: the what-if's kept draws live in the cache folder, and
    # another test's report run (the other worker) would overwrite the session cache's file before the what-if
    shutil.copytree(session_cache, cache, ignore=shutil.ignore_patterns("whatif", "logs", "hydra*"))
    base = [f"paths.cache={cache}", f"paths.reports={reports}", "scenario=one_time_raid"]
    for args in (base, [*base, "force=true"]):  # force=true: made again although it is up to date
        code, mods, err = cli(args, tmp_path)
        assert code == 0, err
    assert "cache hit" in err and "up to date" not in err, err
    assert heavy(mods, NOT_ON_THE_CACHED_PATH) == [], err
    assert heavy(mods, ("pandas", "xarray")) == ["pandas", "xarray"]  # the audit sees what the run did load
    _up_to_date(base, tmp_path)

    code, mods, err = cli(["whatif", "--poll", "share=0.85,n=1000", *base], tmp_path)
    assert code in (0, 3), err
    assert "answering from the posterior" not in err, err
    assert heavy(mods, NUMERICAL) == [], err

    data = tmp_path / "data"
    shutil.copytree(project_home / "data", data)
    code, _, err = cli(["evidence", "add", "--data-dir", str(data), *POLL], tmp_path)
    assert code == 0, err
    page = reports / "one_time_raid" / "report.html"
    for i in range(2):
        before = page.read_text(encoding="utf-8")
        code, mods, err = cli([*base, f"paths.data={data}", *(["force=true"] if i else [])], tmp_path)
        assert code == 0, err
        assert "posterior: PSIS update of" in err, err
        if i == 0:  # the first computes the update: the page's ranges moved, drawn by the page, no figure library
            assert "kept from the run that computed it" not in err, err
            ranges = [re.findall(r'<span class="range post".*?</span></span>', p) for p in (before, page.read_text())]
            assert ranges[0] and ranges[1] != ranges[0], "the poll moved no range?"
            assert heavy(mods, NOT_ON_THE_PSIS_PATH) == [], err
    assert "kept from the run that computed it" in err, err
    assert heavy(mods, NOT_ON_THE_CACHED_PATH) == [], err
    _up_to_date([*base, f"paths.data={data}"], tmp_path)


def _up_to_date(args: list[str], tmp_path: Path) -> None:
    """The same command once more: the report on disk is up to date; the run reads and hashes files, says so, and
    loads no numerical library at all (numpy included), and writes nothing."""
    reports = Path(next(a for a in args if a.startswith("paths.reports=")).split("=", 1)[1])
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in reports.rglob("*") if p.is_file()}
    code, mods, err = cli(args, tmp_path)
    assert code == 0, err
    assert "up to date" in err and "loading inputs" not in err, err
    assert heavy(mods, (*NUMERICAL, "numpy", "jinja2")) == [], err
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in reports.rglob("*") if p.is_file()} == before


def test_the_history_figure_is_kept_when_only_the_publication_time_changed(tmp_path, monkeypatch):
    """A report with nothing new publishes the same numbers again under a new time stamp: the history figure (which
    draws each published brief's date and mean) is served from the memo, not redrawn (the time stamp in its key
    redrew it at every run, importing matplotlib: about half of a cached report's time after a replay). Changing a
    published mean still redraws it."""
    import pandas as pd

    from forecast.outputs.figures import history as hist

    replay = pd.DataFrame({"as_of": ["2026-02-01", "2026-02-22"] * 2, "scenario": ["s"] * 4,
                           "response": ["a", "a", "b", "b"], "mean": [0.2, 0.3, 0.5, 0.4]})
    replay.attrs["arrivals"] = {"E-1": ("2026-02-22", "a poll")}

    def published(at: str, mean_a: float = 0.31) -> pd.DataFrame:
        return pd.DataFrame({"as_of": ["2026-12-07"] * 2, "response": ["a", "b"], "mean": [mean_a, 0.41],
                             "published_at": [at] * 2})

    first = hist.history_png(replay, "s", tmp_path, published("2026-12-07T08:00:00"))
    drawn = []
    real = hist.history
    monkeypatch.setattr(hist, "history", lambda *a, **k: drawn.append(1) or real(*a, **k))
    assert hist.history_png(replay, "s", tmp_path, published("2026-12-07T09:30:00")) == first
    assert drawn == []
    assert hist.history_png(replay, "s", tmp_path, published("2026-12-07T09:30:00", mean_a=0.35)) != first
    assert drawn == [1]
