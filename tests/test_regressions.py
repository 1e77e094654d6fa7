"""Bugs found while layering the package (issue 8), each pinned by a test that fails without its fix."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

import forecast
from forecast.analysis.replay import as_of_config
from forecast.errors import DiagnosticsError

FIXTURE = Path(__file__).parent / "fixtures" / "forecast_example.json"


def test_replay_keeps_every_override_but_the_date():
    """`history --replay seed=3 sampler=pymc` used to recompose the config from paths.* only, silently replaying
    with the default seed, sampler and priors."""
    cfg = forecast.compose(["seed=3", "sampler=pymc", "priors.public_opposition.strength=2", "evidence=false"])
    c = as_of_config(cfg, dt.date(2026, 2, 1))
    assert c.as_of == "2026-02-01"
    assert c.seed == 3 and c.sampler.name == "pymc" and c.evidence is False
    assert c.priors.public_opposition.strength == 2
    assert cfg.as_of is None, "the run's own config must not change"


def test_diagnostics_error_names_each_failing_report_with_its_own_numbers(tmp_path, monkeypatch):
    """With two reports, one failing, the error used to quote the *last* report's numbers. The run learns each
    report's diagnostics from what the writer returns (it used to read forecast.json back)."""
    from forecast.outputs.contract import WrittenReport
    from forecast.usecases import reports as uc

    base = json.loads(FIXTURE.read_text())
    written = []
    for name, ok, rhat in (("air_strikes", False, 1.2345), ("one_time_raid", True, 1.0012)):
        data = copy.deepcopy(base) | {"scenario": name}
        data["diagnostics"] = {**data["diagnostics"], "ok": ok, "max_rhat": rhat}
        written.append(WrittenReport(tmp_path / name, data))  # no folder: nothing may be read back
    inputs = SimpleNamespace(episodes=SimpleNamespace(table=[]), polls=[], claims=[], evidence_ids=(),
                             as_of=dt.date(2026, 11, 1))
    monkeypatch.setattr(uc, "load_inputs", lambda cfg: inputs)
    monkeypatch.setattr(uc, "fit_config", lambda *a, **k: SimpleNamespace(from_cache=True, inputs_hash="h"))
    monkeypatch.setattr(uc, "write_report", lambda *a, **k: written)
    monkeypatch.setattr(uc, "previous_reports", lambda *a, **k: {})
    monkeypatch.setattr(uc, "append_history", lambda *a, **k: None)
    cfg = forecast.compose([f"paths.reports={tmp_path}", "all_scenarios=true"])
    run = uc.run(cfg, [])
    assert not run.ok and [w.ok for w in run.written] == [False, True]
    e = run.diagnostics_error()
    assert isinstance(e, DiagnosticsError) and e.exit_code == 3
    msg = str(e)
    assert "air_strikes: max R-hat 1.2345" in msg and "1.0012" not in msg and "one_time_raid" not in msg
    import importlib

    cli_main = importlib.import_module("forecast.cli.main")  # the module (forecast.cli.main is also the function)
    monkeypatch.setattr(forecast.api, "run", lambda *a, **k: run)
    with pytest.raises(DiagnosticsError, match="air_strikes: max R-hat 1.2345"):  # the CLI: exit 3, one line
        cli_main.run_forecast(cfg, [])


@pytest.mark.slow
def test_cache_hit_carries_the_requesting_date(tmp_path):
    """A posterior cached for one date and served for another (same inputs hash) used to carry the first date into
    the report's posterior.nc."""
    from forecast.model.fit import fit

    from .synthetic import simulate_inputs

    sampler = {"name": "nutpie", "nuts_sampler": "nutpie", "draws": 60, "tune": 60, "chains": 2, "cores": 2,
               "target_accept": 0.8}
    inputs = simulate_inputs(n_episodes=20, seed=2)
    first = fit(inputs, sampler, seed=1, cache_dir=tmp_path)
    later = dataclasses.replace(inputs, as_of=dt.date(2026, 6, 30))
    again = fit(later, sampler, seed=1, cache_dir=tmp_path)
    assert again.from_cache and again.inputs_hash == first.inputs_hash
    assert first.idata.attrs["as_of"] == inputs.as_of.isoformat()
    assert again.idata.attrs["as_of"] == "2026-06-30"


def test_summarize_weights_a_psis_update():
    """api.summarize ignored a PSIS update's weights: a report's numbers and the API's disagreed. With
    all weight on the draws above 0.5 the weighted mean must be above 0.5; equal weights reproduce
    the unweighted summary."""
    import numpy as np
    import xarray as xr

    import forecast

    rng = np.random.default_rng(3)
    da = xr.DataArray(rng.beta(2, 5, size=(2, 300, 1, 4)), dims=("chain", "draw", "scenario", "response"),
                      coords={"scenario": ["s"], "response": ["r0", "r1", "r2", "r3"]})
    pred = xr.Dataset({"p": da})
    plain = forecast.summarize(pred)
    eq = forecast.summarize(pred, weights=np.full((2, 300), 1 / 600))
    np.testing.assert_allclose(eq["mean"], plain["mean"], atol=1e-12)
    w = (da.isel(scenario=0, response=0) > 0.5).values.astype(float)
    w /= w.sum()
    tilted = forecast.summarize(pred, weights=w)
    r0 = tilted[tilted["response"] == "r0"].iloc[0]
    assert r0["mean"] > 0.5 and r0["hdi_low"] > 0.5 > plain[plain["response"] == "r0"].iloc[0]["mean"]


def test_a_fresh_fit_reports_from_the_same_numbers_as_its_cache_file(tmp_path):
    """The report written right after a fit used float64 draws, every later report the cache file's float32
    ones, so the same posterior could publish different last digits (and miss the derived-results memo).
    ``as_stored`` gives the fit the cache file's numbers bit for bit; a float64 fit would fail the check."""
    import numpy as np
    import xarray as xr

    from forecast.model import cache

    rng = np.random.default_rng(0)
    ds = xr.Dataset({"p": (("chain", "draw", "response"), rng.random((2, 50, 3)))})
    stats = xr.Dataset({"energy": (("chain", "draw"), rng.random((2, 50)))})
    tree = xr.DataTree.from_dict({"posterior": ds, "prior": ds * 0.5, "sample_stats": stats})
    tree.attrs["inputs_hash"] = "h"
    path = tmp_path / "p.nc"
    enc = {f"/{g}": {"p": {"dtype": "float32"}} for g in ("posterior", "prior")}
    tree.to_netcdf(path, engine="h5netcdf", encoding=enc)
    with xr.open_datatree(path, engine="h5netcdf") as back:
        back = back.load()
    got = cache.as_stored(tree)
    for g in ("posterior", "prior"):
        assert got[g]["p"].dtype == back[g]["p"].dtype == np.float32
        assert np.array_equal(got[g]["p"].values, back[g]["p"].values)
        assert not np.array_equal(tree[g]["p"].values, back[g]["p"].values)  # float64 would differ
    assert got.attrs["inputs_hash"] == "h" and got["sample_stats"]["energy"].dtype == np.float64
