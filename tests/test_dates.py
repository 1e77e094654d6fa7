"""Every date from the first precedent on is an ordinary input (issue #9 item 1).

``as_of`` before any poll, before any evidence entry or before all but one precedent gives valid inputs with
a stable fingerprint and a buildable model (nothing here samples); a date before any data gets a one-line
refusal. One slow test fits and reports an early date end to end.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

import forecast
from forecast.analysis.replay import as_of_config
from forecast.errors import InputError
from forecast.model.build import build_model, design
from forecast.model.fit import inputs_hash, sampler_settings

from .conftest import TODAY

set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "forecast-tests-hypothesis")

FIRST = dt.date(1914, 4, 21)  # data/precedents.csv's first row


@pytest.fixture(scope="module")
def base_cfg():
    return forecast.compose([])


def _load(cfg, day: dt.date):
    return forecast.load_inputs(as_of_config(cfg, day), TODAY)


def test_before_any_poll_is_an_ordinary_input(base_cfg):
    """The issue's example: `forecast as_of=2026-01-02` crashed on the empty polls table."""
    inputs = _load(base_cfg, dt.date(2026, 1, 2))
    assert len(inputs.polls) == 0 and list(inputs.polls.columns)[:3] == ["pollster", "date", "n"]
    assert len(inputs.episodes.table) > 0 and inputs.evidence_ids == ()
    fp = inputs.fingerprint()
    assert fp["polls"] == []
    model = build_model(inputs)
    assert "poll_obs" not in model.named_vars and "y_history" in model.named_vars


def test_first_precedent_date_and_the_day_before(base_cfg):
    one = _load(base_cfg, FIRST)
    assert len(one.episodes.table) == 1 and len(one.polls) == 0
    build_model(one)
    with pytest.raises(InputError) as exc:
        _load(base_cfg, FIRST - dt.timedelta(days=1))
    assert str(exc.value) == ("as_of: 1914-04-20 is before any data (the first precedent is dated 1914-04-21); "
                              "use a date from 1914-04-21 on")


@settings(max_examples=24, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(day=st.dates(min_value=dt.date(1800, 1, 1), max_value=TODAY))
def test_property_any_date_gives_inputs_or_one_line_refusal(base_cfg, day):
    try:
        inputs = _load(base_cfg, day)
    except InputError as e:
        assert day < FIRST, f"{day} refused: {e}"
        assert "\n" not in str(e) and str(e).startswith(f"as_of: {day.isoformat()} is before any data")
        return
    assert day >= FIRST
    assert inputs.as_of == day
    assert all(d <= day for d in inputs.episodes.table["date"]) and all(d <= day for d in inputs.polls["date"])
    assert list(inputs.polls.columns) == ["pollster", "date", "n", "share_opposed", "use", "wording", "source"]
    sampler = sampler_settings(base_cfg)
    h = inputs_hash(inputs, sampler, 1)
    assert h == inputs_hash(_load(base_cfg, day), sampler, 1)  # stable: the same date, the same hash
    d = design(inputs)
    assert d.X_ep.shape[0] == len(inputs.episodes.table)
    assert len(d.poll_n) == (inputs.polls["use"] == "likelihood").sum()
    if day.toordinal() % 4 == 0:  # a full PyMC model for a quarter of the draws (~0.5 s each)
        build_model(inputs)


@pytest.mark.slow
def test_early_date_fits_and_reports(tmp_path, session_cache):
    """2019-01-01: before the article, every poll and every evidence entry; a full report with reduced draws."""
    cfg = forecast.compose(["as_of=2019-01-01", f"paths.cache={session_cache}", f"paths.reports={tmp_path}",
                            "sampler.draws=100", "sampler.tune=100", "sampler.chains=2", "report.figures=false",
                            "report.top_n=2"])
    inputs = forecast.load_inputs(cfg)
    assert len(inputs.polls) == 0 and inputs.evidence_ids == ()
    fitted = forecast.fit(cfg, inputs)
    [written] = forecast.api.write_report(cfg, inputs, fitted)
    path = written.path
    data = forecast.api.read_report(path / "forecast.json")
    assert data == written.data  # what the writer returns is what forecast.json holds
    assert data["as_of"] == "2019-01-01" and data["polls"] == [] and data["evidence_ids"] == []
    assert len(data["responses"]) == len(inputs.ontology.response_ids)
    assert all(0 <= r["mean"] <= 1 for r in data["responses"])
    md = (path / "report.md").read_text()
    assert "2019-01-01" in md
    assert not list(path.glob("*.png")) and "![" not in md  # report.figures=false
    plain = md.split("## In plain words", 1)[1].split("\n## ", 1)[0]
    # report.top_n=2: two most probable responses (the most dangerous outcomes that follow are a fixed watch list)
    probable = plain.split("**The most probable responses**", 1)[1].split("\n**", 1)[0]
    assert data["top_n"] == 2 and probable.count("\n- ") == 2, plain
