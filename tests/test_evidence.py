"""The analyst's loop: evidence entries are validated, never lost, and move the forecast as they should."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil

import numpy as np
import pytest
import yaml

import forecast
from forecast.cli.main import main
from forecast.errors import InputError
from forecast.inputs.data import load_ontology
from forecast.inputs.evidence import add_entry, load_evidence
from forecast.model.predict import predict

from .conftest import TODAY

POLL = {"id": "E-2026-10-test-poll", "date_known": "2026-10-20", "source": "test corpus", "kind": "poll",
        "summary": "A large poll with near-unanimous opposition",
        "poll": {"pollster": "Test Pollster", "date": "2026-10-15", "n": 3000, "share_opposed": 0.97,
                 "wording": "test"}}
EPISODE = {"id": "E-2026-10-test-raid", "date_known": "2026-10-20", "source": "test corpus", "kind": "episode",
           "summary": "A one-time US raid; Mexico recalls its ambassador",
           "episode": {"action_type": "one_time_raid", "date": "2026-10-10",
                       "responses": {"sever_downgrade_relations": 1, "diplomatic_protest": 1}}}


def _snapshot(d):
    return {p.name: p.read_bytes() for p in sorted((d / "evidence").glob("*"))}


def test_add_writes_a_valid_entry_and_refuses_a_bad_one_without_losing_anything(data_copy):
    ont = load_ontology(data_copy)
    before = _snapshot(data_copy)
    path = add_entry(data_copy / "evidence", POLL, ont, TODAY)
    assert path.name == "E-2026-10-test-poll.yaml"
    assert yaml.safe_load(path.read_text())["poll"]["n"] == 3000
    after_good = _snapshot(data_copy)
    assert set(after_good) == set(before) | {path.name}
    for bad, pattern in [
        ({**POLL, "id": "E-x", "poll": {**POLL["poll"], "share_opposed": 1.3}}, r"'share_opposed': 1.3 is outside"),
        ({**POLL, "id": "E-x", "date_known": "2031-01-01"}, r"'date_known': 2031-01-01 is in the future"),
        ({**POLL, "id": "E-x", "kind": "rumour"}, r"unknown kind 'rumour'"),
        ({**POLL}, r"an entry with this id exists"),
        ({**EPISODE, "id": "E-y", "episode": {**EPISODE["episode"], "responses": {"shrug": 1}}},
         r"coded on response 'shrug', which the ontology lacks"),
        ({**POLL, "id": "../../etc/passwd"}, r"is not a valid id"),
    ]:
        with pytest.raises(InputError, match=pattern):
            add_entry(data_copy / "evidence", bad, ont, TODAY)
        assert _snapshot(data_copy) == after_good, "a refused entry changed the log"
    shipped = len([n for n in before if n.endswith(".yaml")])
    assert len(load_evidence(data_copy / "evidence", ont, TODAY).entries) == shipped + 1


def test_cli_add_and_check(data_copy, capsys):
    args = ["evidence", "add", "--data-dir", str(data_copy), "poll", "--id", "E-cli", "--date-known", "2026-11-01",
            "--source", "https://example.org/poll", "--summary", "cli poll", "--pollster", "P", "--date",
            "2026-10-30", "--n", "900", "--share-opposed", "0.8"]
    with pytest.raises(SystemExit) as e:
        main(args)
    assert e.value.code == 0
    assert (data_copy / "evidence" / "E-cli.yaml").is_file()
    with pytest.raises(SystemExit) as e:
        main(["evidence", "add", "--data-dir", str(data_copy), "poll", "--id", "E-cli2"])
    assert e.value.code == 2
    assert "required" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["evidence", "check", "--data-dir", str(data_copy)])
    assert e.value.code == 0
    assert "evidence log valid: 6 entries" in capsys.readouterr().err


def test_as_of_excludes_later_entries(data_copy):
    ont = load_ontology(data_copy)
    add_entry(data_copy / "evidence", POLL, ont, TODAY)
    early = load_evidence(data_copy / "evidence", ont, TODAY, dt.date(2026, 10, 19))
    late = load_evidence(data_copy / "evidence", ont, TODAY, dt.date(2026, 10, 20))
    assert "E-2026-10-test-poll" not in {e.id for e in early.entries}
    assert "E-2026-10-test-poll" in {e.id for e in late.entries}


def _fit_with(data_dir, session_cache, entries):
    ont = load_ontology(data_dir)
    for e in entries:
        add_entry(data_dir / "evidence", e, ont, TODAY)
    cfg = forecast.compose([f"paths.data={data_dir}", f"paths.cache={session_cache}"])
    inputs = forecast.load_inputs(cfg)
    return cfg, inputs, forecast.fit(cfg, inputs, update="refit")  # the model itself: an exact fit


def _means(fitted, inputs, action):
    ont = inputs.ontology
    pred = predict(fitted.idata, ont, inputs.hyper, {action: {"action": action, "profile": ont.profile(action)}})
    return (pred["p"].mean(("chain", "draw")).to_pandas().loc[action],
            pred["p_composite"].mean(("chain", "draw")).to_pandas().loc[action])


@pytest.mark.slow
def test_a_poll_with_more_opposition_moves_concession_down_and_retaliation_up(default_fit, inputs, data_copy,
                                                                              session_cache):
    cfg2, inputs2, fit2 = _fit_with(data_copy, session_cache, [POLL])
    theta0 = float(default_fit.idata["posterior"]["public_opposition"].mean())
    theta1 = float(fit2.idata["posterior"]["public_opposition"].mean())
    assert theta1 > theta0 + 0.03, (theta0, theta1)
    p0, c0 = _means(default_fit, inputs, "one_time_raid")
    p1, c1 = _means(fit2, inputs2, "one_time_raid")
    assert p1["consent_accommodate"] < p0["consent_accommodate"] - 0.005, (p0["consent_accommodate"],
                                                                          p1["consent_accommodate"])
    assert c1["any_executed_retaliation"] > c0["any_executed_retaliation"] + 0.005
    assert p1["expel_agents"] > p0["expel_agents"]


@pytest.mark.slow
def test_an_episode_raises_its_responses_for_similar_actions(default_fit, inputs, data_copy, session_cache):
    """A raid after which Mexico downgraded relations (a response no claim pins for raids) raises
    P(sever | raid) and, through the shared attributes, P(sever | repeated raids); the Monte Carlo noise
    of a difference of two posterior means is about 0.0015. Measured when written: +0.104 (one raid),
    +0.089 (repeated raids), +0.004 (embedded agents). (A response the article pins, like armed
    resistance after one raid, moves only ~0.01 with one episode: the C29 prior is strong.)"""
    cfg2, inputs2, fit2 = _fit_with(data_copy, session_cache, [EPISODE])
    rises = {}
    for action in ("one_time_raid", "repeated_raids", "embedded_agents"):
        p0, _ = _means(default_fit, inputs, action)
        p1, _ = _means(fit2, inputs2, action)
        rises[action] = float(p1["sever_downgrade_relations"] - p0["sever_downgrade_relations"])
    assert rises["one_time_raid"] > 0.03, rises
    assert rises["repeated_raids"] > 0.015, rises
    # and an action unlike a raid (consented cooperation) moves less
    assert rises["embedded_agents"] < rises["repeated_raids"], rises


@pytest.mark.slow
def test_report_attributes_the_change_to_the_new_poll(default_fit, data_copy, session_cache, tmp_path):
    """Analyst flow: report, add a poll, report again: the change is attributed and the parts add up."""
    reports = tmp_path / "reports"
    over = [f"paths.data={data_copy}", f"paths.cache={session_cache}", f"paths.reports={reports}",
            "scenario=one_time_raid"]
    with pytest.raises(SystemExit) as e:
        main([*over, "publish=true"])  # the published brief the next run is compared with
    assert e.value.code == 0
    first = json.loads((reports / "one_time_raid" / "forecast.json").read_text())
    assert "changes" not in first
    add_entry(data_copy / "evidence", POLL, load_ontology(data_copy), TODAY)
    with pytest.raises(SystemExit) as e:
        main(over)
    assert e.value.code == 0
    second = json.loads((reports / "one_time_raid" / "forecast.json").read_text())
    ch = second["changes"]
    mcse = {r["label"]: r["mcse_mean"] for r in second["responses"]}
    assert ch["previous"]["inputs_hash"] == first["inputs_hash"]
    # the previous brief's state evaluated now has the same inputs and is obtained the same way (the cached default
    # posterior): its part is Monte Carlo alone, named so
    assert [s["label"] for s in ch["steps"]][:2] == ["sampling noise only (same inputs)", "E-2026-10-test-poll"]
    for row in ch["rows"]:
        # the parts add up: the residual, the poll's part and, when the report's posterior is an exact refit
        # while the parts come from PSIS weights, the "unexplained" gap between the two (reported, small)
        parts = row["sampling noise only (same inputs)"] + row["E-2026-10-test-poll"] + row.get("unexplained", 0.0)
        assert parts == pytest.approx(row["change"], abs=3e-4), row  # parts are rounded to 1e-4
        # the gap between the exact fit and the PSIS estimate of the same state is Monte Carlo error: judged in its
        # standard errors (the exact mean's and the poll part's, which carries the PSIS estimate's), not by a fixed
        # bound (0.03 failed once in CI at 0.034 on a response whose MCSEs are near 0.01)
        se = float(np.hypot(mcse[row["response"]], row.get("± E-2026-10-test-poll", 0.0)))
        assert abs(row.get("unexplained", 0.0)) <= 4.5 * se + 2e-4, (row, se)
        assert row["sampling noise only (same inputs)"] == pytest.approx(0.0, abs=1e-9)  # same state, same cached fit
    top = max(ch["rows"], key=lambda r: abs(r["change"]))
    assert abs(top["E-2026-10-test-poll"]) > 0.005
    html = (reports / "one_time_raid" / "report.html").read_text()
    assert "What moved since the last published brief" in html and "E-2026-10-test-poll" in html
    # the report records which path produced the posterior (issue #11): a PSIS update of the cached
    # posterior with its Pareto k <= 0.7 and order-free Shapley parts with Monte Carlo errors, or a refit and why
    upd = second["update"]
    if upd["method"] == "psis":
        assert upd["pareto_k"] <= 0.7 and upd["base_hash"] == first["inputs_hash"] and upd["ess_weights"] > 0
        assert "PSIS update of cached posterior" in html and "Shapley" in ch["method"]
        assert all("± E-2026-10-test-poll" in row for row in ch["rows"])
    elif upd["method"] == "refit":  # a Pareto k > 0.7, or a change reweighting cannot reach
        assert upd.get("reason"), upd
        assert "exact fit (" in html
    else:  # this state's posterior was already cached (by an earlier test of the session, in the full suite)
        assert upd == {"method": "cache hit"}, upd
    assert 'class="shift"' in html and not (reports / "one_time_raid" / "changes.png").exists()  # drawn in its table
    hist = (reports / "history.csv").read_text().splitlines()  # the second run is a preview: no row of its own
    assert len(hist) == 1 + len(first["responses"]) + len(first["composites"])
    shutil.rmtree(reports)


@pytest.mark.slow
def test_replay_draws_the_history_figure_into_the_report(tmp_path, capsys, monkeypatch):
    """forecast history --replay refits as of each evidence date; the next report embeds the figure. Two replay
    dates (the start, with the evidence known by then, and the one evidence date after it) prove the rule as well
    as three: a skipped date or one before the start changes the set."""
    common = [f"paths.cache={tmp_path / 'cache'}", f"paths.reports={tmp_path / 'reports'}",
              "sampler.draws=150", "sampler.tune=150", "sampler.chains=2"]
    with pytest.raises(SystemExit) as e:
        main(["history", "--replay", "--start", "2026-02-10", "--scenario", "one_time_raid", *common])
    assert e.value.code == 0, capsys.readouterr().err
    replay = (tmp_path / "reports" / "history_replay.csv").read_text().splitlines()
    dates = {line.split(",")[0] for line in replay[1:]}
    assert dates == {"2026-02-10", "2026-02-22"}  # the start, then each evidence date after it (02-04: before)
    assert (tmp_path / "reports" / "history_one_time_raid.png").stat().st_size > 5000

    def drawn_again(*args, **kwargs):
        raise AssertionError("the report drew the replay's history figure again")

    # the replay drew the figure the report embeds (its labels, the published briefs) and kept it under the report's
    # key: the report does not draw it again (forked drawing workers inherit this patch too)
    monkeypatch.setattr("forecast.outputs.figures.history.files", drawn_again)
    with pytest.raises(SystemExit) as e:
        main(["scenario=one_time_raid", *common])
    assert e.value.code in (0, 3)  # 150 draws may miss the ESS threshold; the report is written either way
    html = (tmp_path / "reports" / "one_time_raid" / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 1  # the history (the page draws the ranges)
    assert re.search(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]+" alt="Forecast history with evidence arrivals',
                     html)
    data = json.loads((tmp_path / "reports" / "one_time_raid" / "forecast.json").read_text())
    assert data["history"]["figure"] == "history"
    assert (tmp_path / "reports" / "one_time_raid" / "history.png").read_bytes() == (
        tmp_path / "reports" / "history_one_time_raid.png").read_bytes()
