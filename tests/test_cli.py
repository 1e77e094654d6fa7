"""The forecaster's command: reports for every scenario, served from the cache the second time."""

from __future__ import annotations

import json

import arviz as az
import numpy as np
import pytest
import xarray as xr

from forecast.cli.main import main
from forecast.inputs.config import list_scenarios

from .contract import errors, schema, written_schema

pytestmark = pytest.mark.slow

CONTRACT = {"scenario", "as_of", "generated_at", "inputs_hash", "versions", "diagnostics", "responses"}


def run(args, capsys):
    with pytest.raises(SystemExit) as e:
        main(args)
    return e.value.code, capsys.readouterr().err


@pytest.fixture
def paths(tmp_path, session_cache):
    return [f"paths.reports={tmp_path / 'reports'}", f"paths.cache={session_cache}"]


def test_every_scenario_from_one_fit_then_from_the_cache(default_fit, paths, tmp_path, capsys):
    code, err = run([*paths, "all_scenarios=true"], capsys)
    assert code == 0, err
    written = written_schema(schema())
    assert "cache hit" in err and "sampl" not in err.split("cache hit")[0].lower().replace("no sampling", "")
    for name in list_scenarios():
        d = tmp_path / "reports" / name
        for f in ("forecast.json", "probabilities.csv", "report.html", "report.md", "posterior.nc"):
            assert (d / f).is_file(), f"{name}/{f}"
        assert not list(d.glob("*.png")), name  # no replay, no analysts: nothing to draw (the page draws the rest)
        data = json.loads((d / "forecast.json").read_text())
        assert CONTRACT <= set(data)
        assert errors(data, written) == [], name  # every field of the contract (docs/report-contract.md), no other
        assert {"max_rhat", "min_ess_bulk", "divergences", "ok"} <= set(data["diagnostics"])
        assert data["diagnostics"]["ok"] is True
        r0 = data["responses"][0]
        assert {"response", "label", "mean", "hdi_low", "hdi_high", "hdi_prob"} <= set(r0)
        means = [r["mean"] for r in data["responses"]]
        assert means == sorted(means, reverse=True)
        # the mean lies in the 90% HDI, except for a spike at 0 with a thin tail (a response almost never seen:
        # e.g. compromising agents' security under embedded agents, mean 0.0005, HDI 0-0.0003)
        assert all(0 <= r["hdi_low"] <= r["hdi_high"] <= 1 for r in data["responses"])
        assert all(r["hdi_low"] <= r["mean"] <= r["hdi_high"] or r["hdi_high"] - r["hdi_low"] < 0.01
                   for r in data["responses"]), [(r["response"], r["mean"], r["hdi_low"], r["hdi_high"])
                                                 for r in data["responses"]]
    assert err.strip().splitlines()[-1].startswith("forecast: report: ")


def test_posterior_netcdf_round_trips_through_arviz_and_xarray(default_fit, paths, tmp_path, capsys):
    code, err = run([*paths, "scenario=sustained_presence"], capsys)
    assert code == 0, err
    d = tmp_path / "reports" / "sustained_presence"
    tree = xr.open_datatree(d / "posterior.nc", engine="h5netcdf")
    assert {"posterior", "prior", "sample_stats"} <= set(tree.children)
    s = az.summary(tree, var_names=["p"], ci_kind="hdi", ci_prob=0.9)
    data = json.loads((d / "forecast.json").read_text())
    from_json = {r["response"]: r["mean"] for r in data["responses"]}
    post = tree["posterior"]["p"].mean(("chain", "draw")).to_pandas()
    for resp, m in from_json.items():
        assert post[resp] == pytest.approx(m, abs=1e-3)
    assert len(s) == len(from_json)
    hdi = az.hdi(tree["posterior"].to_dataset()["p"], prob=0.9)
    r0 = data["responses"][0]
    assert float(hdi.sel(response=r0["response"], ci_bound="lower")) == pytest.approx(r0["hdi_low"], abs=1e-3)
    assert np.isfinite(tree["prior"]["p"].values).all()


def test_unknown_scenario_is_a_one_line_error_listing_the_available_ones(paths, capsys):
    code, err = run([*paths, "scenario=invasion"], capsys)
    assert code == 2
    assert err.strip().count("\n") == 0
    assert "unknown scenario 'invasion'" in err and "repeated_raids" in err


def test_multirun_over_scenarios_samples_once(tmp_path, capsys):
    """A fresh cache: the first job samples, every other job is served from its file."""
    cache = tmp_path / "fresh-cache"
    code, err = run(["-m", "scenario=air_strikes,embedded_agents,one_time_raid", f"paths.cache={cache}",
                     f"paths.reports={tmp_path / 'r'}", "sampler.draws=100", "sampler.tune=100",
                     "sampler.chains=2"], capsys)
    assert code == 0 or code == 3, err  # 100 draws may not pass the diagnostics thresholds
    assert err.count("compiling the model and sampling") == 1, err
    assert err.count("posterior cache hit") == 2, err
    assert len(list((cache / "posteriors").glob("*.nc"))) == 1
    jobs = sorted((tmp_path / "r" / "sweeps").glob("*/job*"))
    assert len(jobs) == 3
