"""The report contract: ``forecast.json`` typed (``forecast/outputs/contract.py``), versioned, documented
(``docs/report-contract.md``, ``docs/report-contract.schema.json``), and every reader of a published report
reads every version's example (as prophet keeps the models older versions serialised).

The examples (``tests/fixtures/``) are reports the tool wrote: ``forecast_example.json`` an early
version-1 report (before the update, state and provenance fields), ``reports/forecast-v1.json`` and
``reports/forecast-v1-analysts.json`` reports of today's version 1 (a second run, so with "what moved", and a
run with ``analysts=[example-hawk,example-dove]``), their local folder names replaced by ``/srv/forecast/...``;
the responses' ``median``, ``q25`` and ``q75``, added to the contract after they were written, were filled in from a
beta distribution matching each response's mean and sd (a shape for the contract's checks, not a fit's numbers).
A change of the schema version keeps them: ``read_report`` must upgrade them, and every reader must read them.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pandas as pd
import pytest

from forecast.outputs.contract import (
    READABLE_VERSIONS,
    REPORT_SCHEMA_VERSION,
    SECTIONS,
    WrittenReport,
    read_report,
)

from .contract import SCHEMA_FILE, errors, schema, schema_text, written_schema

FIXTURES = Path(__file__).parent / "fixtures"
CURRENT = [FIXTURES / "reports" / "forecast-v1.json", FIXTURES / "reports" / "forecast-v1-analysts.json"]
EXAMPLES = [FIXTURES / "forecast_example.json", *CURRENT]
DOC = Path(__file__).resolve().parents[1] / "docs" / "report-contract.md"


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_schema_file_is_generated_from_the_contract():
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), (
        f"{SCHEMA_FILE} differs from forecast/outputs/contract.py: regenerate it with `python -m tests.contract`")


def test_every_field_is_documented():
    """docs/report-contract.md names every field of every type of the contract (a new field needs its words)."""
    s = schema()
    doc = DOC.read_text(encoding="utf-8")
    missing = sorted({f"{name}.{k}" for name, node in [("Report", s), *s["$defs"].items()]
                      for k in node.get("properties", {}) if f"`{k}`" not in doc})
    assert not missing, f"{DOC} does not name: {', '.join(missing)}"
    assert f"schema_version` {REPORT_SCHEMA_VERSION}" in doc or f"version {REPORT_SCHEMA_VERSION}" in doc


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_follows_the_contract(path):
    data = _load(path)
    assert data["schema_version"] in READABLE_VERSIONS
    assert errors(data, schema()) == []


@pytest.mark.parametrize("path", CURRENT, ids=lambda p: p.name)
def test_a_report_of_this_version_holds_every_field_and_no_other(path):
    data = _load(path)
    assert data["schema_version"] == REPORT_SCHEMA_VERSION
    assert errors(data, written_schema(schema())) == []


def test_the_schema_sees_a_broken_report():
    """Decisive: each plausible break of a report is named with its place (the schema is not vacuous)."""
    good = _load(CURRENT[0])
    readable, written = schema(), written_schema(schema())

    def broken(edit):
        d = copy.deepcopy(good)
        edit(d)
        return d

    cases = [
        (lambda d: d["diagnostics"].pop("ok"), readable, "diagnostics: 'ok' is a required property"),
        (lambda d: d["responses"][0].update(mean="0.5"), readable, "responses/0/mean: '0.5' is not valid"),
        (lambda d: d.pop("inputs_hash"), readable, "(top): 'inputs_hash' is a required property"),
        (lambda d: d["diagnostics"].update(divergences=1.5), readable, "diagnostics/divergences: 1.5 is not"),
        (lambda d: d["composites"][0].pop("hdi_prob"), readable, "composites/0: 'hdi_prob' is a required"),
        (lambda d: d.update(responses={}), readable, "responses: {} is not of type 'array'"),
        (lambda d: d.update(undocumented=1), written, "(top): Additional properties are not allowed ('undocumented'"),
        (lambda d: d.pop("state"), written, "(top): 'state' is a required property"),
        (lambda d: d["responses"][3].pop("mcse_mean"), written, "responses/3: 'mcse_mean' is a required property"),
    ]
    for edit, against, expected in cases:
        found = errors(broken(edit), against)
        assert any(e.startswith(expected) for e in found), (expected, found)
    assert all(s not in written["required"] for s in SECTIONS)  # a section is there only when the report has it


@pytest.mark.parametrize("version", [0, 2, None, "1"])
def test_read_report_refuses_a_version_it_cannot_read(tmp_path, version):
    data = _load(CURRENT[0])
    data["schema_version"] = version
    path = tmp_path / "forecast.json"
    path.write_text(json.dumps(data))
    assert read_report(path) is None
    for text in ("[1, 2]", "{not json", ""):
        path.write_text(text)
        assert read_report(path) is None
    assert read_report(tmp_path / "missing.json") is None


# ---------------------------------------------------------------------- every reader reads every version
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_the_history_and_the_track_record_read_every_version(tmp_path, path):
    from forecast.analysis.checks.track import track_record
    from forecast.outputs.history import append_history, read_history

    data = read_report(path)
    assert data == _load(path)
    reports = tmp_path / "reports"
    append_history(reports, tmp_path / "cache", [WrittenReport(reports / data["scenario"], data)])
    hist = read_history(reports / "history.csv")
    assert len(hist) == len(data["responses"]) + len(data.get("composites", []))
    means = dict(zip(hist["id"], hist["mean"], strict=True))
    assert all(means[r["response"]] == pytest.approx(r["mean"]) for r in data["responses"])
    # an episode of the report's action type, after its date, resolves two of its responses: both scored
    late = (pd.Timestamp(data["as_of"]) + pd.Timedelta(days=30)).date()
    resolved = [data["responses"][0]["response"], data["responses"][-1]["response"]]
    table = pd.DataFrame({"origin": ["evidence"], "action_type": [data["action"]], "date": [late]}, index=["E-1"])
    outcomes = pd.DataFrame([[1.0, 0.0]], columns=resolved, index=["E-1"])
    rec = track_record(hist, type("Episodes", (), {"table": table, "outcomes": outcomes})(),
                       {data["scenario"]: data["action"]})[data["scenario"]]
    assert [(r["episode"], r["as_of"], r["responses"]) for r in rec["scored"]] == [("E-1", data["as_of"], 2)]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_the_alerts_read_every_version(tmp_path, path):
    """A published report of each version is the baseline a later run's alerts compare with."""
    import forecast
    from forecast.analysis.alerts import alert_settings
    from forecast.outputs import news

    data = _load(path)
    scenario, item = data["scenario"], data["responses"][0]["response"]
    reports = tmp_path / "reports"
    (reports / "2026-11-01" / scenario).mkdir(parents=True)
    (reports / "2026-11-01" / scenario / "forecast.json").write_text(json.dumps(data))
    (reports / "latest").symlink_to("2026-11-01")
    base = news.snapshot(reports)
    assert base["reports"][scenario] == data
    moved = copy.deepcopy(data)
    moved.update(generated_at="2026-12-24T02:15:00+00:00", inputs_hash="b" * 20)
    moved["responses"][0]["mean"] = round(data["responses"][0]["mean"] - 0.3, 4)
    (reports / "2026-12-24" / scenario).mkdir(parents=True)
    (reports / "2026-12-24" / scenario / "forecast.json").write_text(json.dumps(moved))
    run = {"started": "2026-12-24T02:15:00+00:00", "status": "ok", "scenarios": [scenario], "folder": "2026-12-24"}
    settings = alert_settings(forecast.compose([f"paths.reports={reports}"]))
    out = news.publish(reports, run, base, settings, environ={})
    assert [(a["scenario"], a["item"], a["change"]) for a in out["new"]] == [(scenario, item, -0.3)]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_the_sweep_summary_reads_every_version(tmp_path, path):
    from forecast.outputs.sweep import collect, record

    data = _load(path)
    job = tmp_path / "sweep" / "job000"
    (job / data["scenario"]).mkdir(parents=True)
    (job / data["scenario"] / "forecast.json").write_text(json.dumps(data))
    record(job, num=0, overrides=[f"scenario={data['scenario']}"], code=0, reason="", inputs_hash=data["inputs_hash"],
           reports=[data["scenario"]], seconds=1.0)
    [result] = collect(tmp_path / "sweep")["jobs"][0]["results"]
    assert result["inputs_hash"] == data["inputs_hash"] and result["diagnostics_ok"] == data["diagnostics"]["ok"]
    assert set(result["estimates"]) == {r["response"] for r in data["responses"]} | {
        c["composite"] for c in data.get("composites", [])}


# ---------------------------------------------------------------------- the sections' builders fill their types
def test_the_sections_hold_the_fields_of_their_types(tmp_path):
    """The check and history sections are built from files other commands write: their fields are the contract's."""
    from forecast.analysis.replay import replay_section, write_replay
    from forecast.outputs.checks_report import CHECKS_DIR, checks_section
    from forecast.outputs.contract import Checks, History

    reports = tmp_path / "reports"
    (reports / CHECKS_DIR).mkdir(parents=True)
    (reports / CHECKS_DIR / "checks.json").write_text(json.dumps({"as_of": "2026-11-01", "inputs_hash": "h"}))
    section, _ = checks_section(reports, "one_time_raid")
    assert set(section) == set(Checks.__annotations__)
    df = pd.DataFrame({"as_of": ["2026-01-16", "2026-02-04"], "scenario": "one_time_raid", "response": "r",
                       "mean": [0.2, 0.3]})
    df.attrs["arrivals"] = {"E-1": ["2026-02-04", "a poll"]}
    write_replay(reports, df)
    replay, table = replay_section(reports, "one_time_raid")
    # the report adds the figure's name, the command that rebuilds it (forecast/outputs/report.py) and how far the
    # replay reaches against this report and the published briefs (forecast/outputs/brief.py: history_extent)
    from forecast.outputs.brief import history_extent

    extent = history_extent(table, None, {"evidence_ids": [], "inputs_hash": "h"}, "one_time_raid")
    assert table is not None and set(replay) | {"figure", "command"} | set(extent) == set(History.__annotations__)


def test_the_contract_types_name_the_design_fields():
    """The design's contract (scenario, as_of, generated_at, inputs_hash, versions, diagnostics, responses) is
    required in every version."""
    s = schema()
    assert {"scenario", "as_of", "generated_at", "inputs_hash", "versions", "diagnostics", "responses"} <= set(
        s["required"])
    diag = s["$defs"]["Diagnostics"]
    assert {"max_rhat", "min_ess_bulk", "divergences", "ok"} <= set(diag["required"])
    resp = s["$defs"]["Response"]
    assert {"response", "label", "mean", "hdi_low", "hdi_high", "hdi_prob"} <= set(resp["required"])
