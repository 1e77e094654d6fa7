"""The brief (forecast/outputs/brief.py and its sections): the question file, the estimative words' scale, the bottom
line's choices, what changed against its noise band, the last published brief, the landing page. No MCMC: the
fixture report's numbers and the shipped data."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
import yaml

from forecast.errors import ConfigError, InputError
from forecast.inputs.question import load_question
from forecast.inputs.words import parse_scale
from forecast.outputs import brief as B

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).parent / "fixtures" / "forecast_example.json"


def _fixture() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


# ---------------------------------------------------------------------- the question file
def _question_dir(tmp_path: Path, edit=None) -> Path:
    raw = yaml.safe_load((ROOT / "data" / "question.yaml").read_text(encoding="utf-8"))
    if edit:
        edit(raw)
    (tmp_path / "question.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return tmp_path


def test_the_shipped_question_names_the_horizon_the_article_and_the_watched_outcomes(inputs):
    q = load_question(ROOT / "data", inputs.ontology.response_ids, list(inputs.ontology.composites))
    text = q.text("A one-time surprise raid on a cartel leader")
    assert text.startswith("If the US carries out “A one-time surprise raid on a cartel leader” (as described)")
    assert text.endswith("within 12 months?") and q.horizon_days == 365
    assert q.article.url.startswith("https://www.brookings.edu/") and q.article.date == "2026-01-16"
    assert "attributed" in q.article.author_basis and "(attributed)" in q.article.citation()
    # the gravest outcomes are data: ids of the ontology, each with why
    ids = [w.id for w in q.most_dangerous]
    assert set(ids) <= set(inputs.ontology.response_ids) | set(inputs.ontology.composites) and len(ids) == 4
    assert all(w.why for w in q.most_dangerous)


@pytest.mark.parametrize(("edit", "where", "says"), [
    (lambda r: r.update(question="How likely within {horizon}?"), "key 'question'", "does not contain {action}"),
    (lambda r: r["bottom_line"]["most_dangerous"].append({"id": "nukes", "why": "x"}),
     "most_dangerous' item 5, key 'id'", "'nukes' is not a response or composite id; use one of: consent_accommodate"),
    (lambda r: r["article"].update(url="javascript:alert(1)"), "key 'article.url'", "is not an http(s) address"),
    (lambda r: r.update(colour="red"), "key 'colour'", "unknown key"),
    (lambda r: r["horizon"].update(days="a year"), "key 'horizon.days'", "is not a whole number"),
])
def test_a_bad_question_file_is_one_line_naming_the_file_key_and_fix(tmp_path, inputs, edit, where, says):
    d = _question_dir(tmp_path, edit)
    with pytest.raises(InputError) as e:
        load_question(d, inputs.ontology.response_ids, list(inputs.ontology.composites))
    msg = str(e.value)
    assert "question.yaml" in msg and where in msg and says in msg and "\n" not in msg, msg


# ---------------------------------------------------------------------- estimative words
def test_icd203_words_and_their_edges(cfg):
    scale = B.scale_of(cfg)
    assert scale.name == "icd203" and "ICD 203" in scale.title and "Directive 203" in scale.source
    cases = {0.0: "almost no chance", 0.049: "almost no chance", 0.05: "very unlikely", 0.2: "unlikely",
             0.449: "unlikely", 0.45: "roughly even chance", 0.5499: "roughly even chance", 0.55: "likely",
             0.70: "likely", 0.799: "likely", 0.80: "very likely", 0.949: "very likely", 0.95: "almost certain",
             1.0: "almost certain"}
    # 0.70 read "Very likely" on the project's former scale; ICD 203 calls 55-80% "likely"
    assert {p: scale.word(p) for p in cases} == cases
    assert scale.word(None) == "unknown"


def test_another_scale_is_a_file_and_a_bad_one_is_refused():
    import forecast

    alt = B.scale_of(forecast.compose(["words=icd203_alt"]))
    assert alt.word(0.7) == "probable" and alt.word(0.02) == "remote"
    good = {"name": "x", "title": "t", "source": "s",
            "bands": [{"from": 0, "word": "no"}, {"from": 0.5, "word": "yes"}]}
    assert parse_scale(good).word(0.5) == "yes"
    for bands, says in (([{"from": 0.1, "word": "a"}, {"from": 0.5, "word": "b"}], "start the first band at 0"),
                        ([{"from": 0, "word": "a"}, {"from": 0, "word": "b"}], "does not rise"),
                        ([{"from": 0, "word": "a"}, {"from": 1.5, "word": "b"}], "not a probability"),
                        ([{"from": 0, "word": "a"}, {"from": 0.5, "word": "b", "colour": 1}], "unknown key")):
        with pytest.raises(ConfigError, match=says):
            parse_scale({**good, "bands": bands})


# ---------------------------------------------------------------------- the bottom line
def test_the_bottom_line_names_the_most_likely_and_every_watched_outcome(cfg, inputs):
    data = _fixture()
    b = B.brief_data(cfg, inputs, data)
    bl = b["bottom_line"]
    means = sorted((r["mean"] for r in data["responses"]), reverse=True)
    assert [m["mean"] for m in bl["most_likely"]] == means[:3]
    # the watched outcomes come with their probabilities whatever they are (armed resistance is far from the top)
    est = {r["response"]: r["mean"] for r in data["responses"]} | {c["composite"]: c["mean"]
                                                                   for c in data["composites"]}
    assert [(d["id"], d["mean"]) for d in bl["most_dangerous"]] == \
        [(i, est[i]) for i in ("armed_resistance", "expel_agents", "suspend_restrict_coop", "any_executed_retaliation")]
    assert est["armed_resistance"] < means[5]
    assert all(d["word"] == B.scale_of(cfg).word(d["mean"]) for d in bl["most_dangerous"])
    assert b["question"].endswith("within 12 months?") and b["article"]["url"].startswith("https://")
    assert set(b["definitions"]) == set(est)


def test_freshness_counts_days_from_the_newest_evidence_and_warns_past_the_setting(cfg, inputs):
    import dataclasses
    import datetime as dt

    from omegaconf import OmegaConf

    data = _fixture()
    late = dataclasses.replace(inputs, as_of=dt.date(2026, 12, 6))
    f = B.freshness(cfg, late, data)
    assert f["newest"]["date"] == "2026-02-22" and f["days"] == 287 and f["stale"] is True
    c = copy.deepcopy(cfg)
    OmegaConf.update(c, "report.stale_days", 300)
    assert B.freshness(c, late, data)["stale"] is False
    early = dataclasses.replace(inputs, as_of=dt.date(2026, 3, 1))
    assert B.freshness(cfg, early, data)["days"] == 7


def _changes(change: float, se: float) -> dict:
    data = _fixture()
    r = data["responses"][0]
    r["mcse_mean"] = se
    data["changes"] = {"previous": {"generated_at": "2026-12-01T00:00:00+00:00", "as_of": "2026-12-01",
                                    "mcse": {r["response"]: se}},
                       "rows": [{"id": r["response"], "response": r["label"], "previous": r["mean"] - change,
                                 "current": r["mean"], "change": change, "E-poll": change - 0.001,
                                 "sampling noise only (same inputs)": 0.001}],
                       "parts": ["sampling noise only (same inputs)", "E-poll"]}
    return data


def test_a_change_is_material_only_beyond_its_noise_band_and_a_point():
    """The band is 3 standard errors of the difference of two means with MCSE 0.004 each: 3 * 0.004 * sqrt(2) =
    1.70 points. A 1.6-point move is noise; 1.8 points is a material move, attributed to its cause in points. With
    precise means (MCSE 0.0005, a band of 0.2 points) a 0.8-point move is beyond its band but under the point a
    reader sees: not material."""
    inside = B.what_changed(_changes(0.016, 0.004), 3.0, {})
    assert inside["moves"][0]["band_points"] == pytest.approx(1.7, abs=0.05) and inside["material"] == []
    assert inside["status"] == "no material change"
    beyond = B.what_changed(_changes(0.018, 0.004), 3.0, {"E-poll": "a new poll"})
    m = beyond["material"][0]
    assert beyond["status"] == "moved" and m["points"] == 1.8
    assert m["causes"][0] == {"cause": "E-poll", "label": "E-poll (a new poll)", "points": 1.7}
    small = B.what_changed(_changes(0.008, 0.0005), 3.0, {}, 1.0)
    assert small["moves"][0]["band_points"] == pytest.approx(0.2, abs=0.05) and small["material"] == []
    assert B.what_changed(_changes(0.008, 0.0005), 3.0, {}, 0.5)["material"]


def test_the_bottom_line_and_stdout_say_no_material_change_in_words(cfg, inputs, capsys):
    from forecast.cli.main import _echo_moves
    from forecast.outputs.render import render_html

    data = _changes(0.016, 0.004)
    data["brief"] = B.brief_data(cfg, inputs, data)
    page = render_html(data, {})
    box = page.split('class="box box-bottom-line"')[1].split("</section>")[0]
    assert "no material change" in box and "within Monte Carlo noise" in box
    _echo_moves(data)
    assert "no material change since the brief published 2026-12-01" in capsys.readouterr().out
    data = _changes(0.018, 0.004)
    data["brief"] = B.brief_data(cfg, inputs, data)
    _echo_moves(data)
    out = capsys.readouterr().out
    assert "+1.8 pts" in out and "noise ±1.7" in out and "chiefly E-poll" in out, out


def test_a_first_brief_says_how_what_moved_will_appear(cfg, inputs, capsys):
    """After make reports (previews only) nothing is published: the page and stdout say that reports compare with
    the newest published brief and how one is published, instead of leaving "what moved" unexplained."""
    from forecast.cli.main import _echo_moves
    from forecast.outputs.render import render_html

    data = _fixture()
    data.pop("changes", None)
    data["brief"] = B.brief_data(cfg, inputs, data)
    assert data["brief"]["bottom_line"]["changed"]["status"] == "first"
    box = render_html(data, {}).split('class="box box-bottom-line"')[1].split("</section>")[0]
    assert "nothing to compare with yet" in box and "publish=true" in box and "forecast scheduled" in box
    _echo_moves(data)
    out = capsys.readouterr().out
    assert "first brief, nothing to compare with; reports show what moved since the newest published brief" in out


# ---------------------------------------------------------------------- what moved: the analysis' rows
def test_same_inputs_a_method_switch_is_its_own_row():
    import pandas as pd

    from forecast.analysis.attribution.previous import SAME_INPUTS, _same_inputs

    prev = {"generated_at": "g", "inputs_hash": "h", "as_of": "2026-12-01", "update": {"method": "psis"},
            "responses": [{"response": "a", "label": "A", "mean": 0.60, "mcse_mean": 0.005},
                          {"response": "b", "label": "B", "mean": 0.20, "mcse_mean": 0.004}]}
    now = pd.Series({"a": 0.582, "b": 0.2004})
    out = _same_inputs(prev, now, "exact fit")
    cause = "posterior obtained by exact fit, was PSIS update"
    assert out["parts"] == [cause] and out["rows"][0][cause] == out["rows"][0]["change"] == -0.018
    assert out["rows"][0]["id"] == "a" and out["previous"]["mcse"] == {"a": 0.005, "b": 0.004}
    assert "nothing moved" not in out["note"]
    same = _same_inputs({**prev, "update": {"method": "cache hit"}}, pd.Series({"a": 0.6, "b": 0.2}), "exact fit")
    assert same["parts"] == [SAME_INPUTS] and same["note"].endswith("nothing moved")


# ---------------------------------------------------------------------- the last published brief, the landing page
def _write(folder: Path, data: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "forecast.json").write_text(json.dumps(data), encoding="utf-8")


def test_last_published_reads_the_history_and_finds_the_report(tmp_path):
    from forecast.outputs.contract import load_written
    from forecast.outputs.history import append_history
    from forecast.outputs.published import last_published

    reports, cache = tmp_path / "reports", tmp_path / "cache"
    older, newer = _fixture(), _fixture()
    older["generated_at"], older["as_of"] = "2026-11-01T02:15:00+00:00", "2026-11-01"
    newer["generated_at"], newer["as_of"] = "2026-12-01T02:15:00+00:00", "2026-12-01"
    _write(reports / "2026-11-01" / "one_time_raid", older)
    append_history(reports, cache, [load_written(reports / "2026-11-01" / "one_time_raid")])
    _write(reports / "one_time_raid", newer)
    append_history(reports, cache, [load_written(reports / "one_time_raid")])
    assert last_published(reports, "air_strikes") is None
    got = last_published(reports, "one_time_raid")
    assert got["generated_at"] == newer["generated_at"] and got["published_folder"] == "one_time_raid"
    got = last_published(reports, "one_time_raid", on_or_before="2026-11-15")
    assert got["generated_at"] == older["generated_at"] and got["published_folder"] == "2026-11-01/one_time_raid"
    shutil.rmtree(reports / "2026-11-01")  # the folder is gone: the history's rows stand in
    got = last_published(reports, "one_time_raid", on_or_before="2026-11-15")
    assert "published_folder" not in got and got["as_of"] == "2026-11-01"
    assert {r["response"]: r["mean"] for r in got["responses"]} == {r["response"]: r["mean"]
                                                                   for r in older["responses"]}


def test_landing_page_lists_each_scenarios_newest_report_with_its_bottom_line(tmp_path, cfg, inputs):
    from forecast.outputs.landing import newest_reports, write_landing

    reports = tmp_path / "reports"
    a, b = _fixture(), _fixture()
    a["generated_at"] = "2026-11-01T02:15:00+00:00"
    b["generated_at"] = "2026-12-01T02:15:00+00:00"
    for d in (a, b):
        d["brief"] = B.brief_data(cfg, inputs, d)
    b["brief"]["publication"]["status"] = "preview"
    _write(reports / "2026-11-01" / "one_time_raid", a)
    _write(reports / "one_time_raid", b)
    (reports / "checks").mkdir()
    (reports / "checks" / "checks.html").write_text("x", encoding="utf-8")
    assert [rel for rel, _ in newest_reports(reports)] == ["one_time_raid"]  # the newer of the two
    page = write_landing(reports).read_text(encoding="utf-8")
    assert "How would Mexico&#x27;s government respond" in page and ">At a glance</h2>" in page
    assert 'href="one_time_raid/report.html"' in page and 'href="checks/checks.html"' in page
    assert ">preview</span>" in page
    for d in b["brief"]["bottom_line"]["most_dangerous"]:
        assert d["label"] in page
    assert page.count("<script") == 0 and "default-src 'none'" in page


def test_links_name_the_other_scenarios_never_a_publications_staging_folder(tmp_path):
    """While a publication stages every scenario's folder beside its target (.NAME.tmp-PID-XXXX), a report's
    links listed those hidden folders as other scenarios ('.air_strikes.tmp-28846-a34d5cce'): only real ones."""
    from forecast.outputs.brief import report_links

    reports = tmp_path / "reports"
    for folder in ("air_strikes", ".air_strikes.tmp-1-ab", ".embedded_agents.tmp-1-cd", "one_time_raid"):
        (reports / folder).mkdir(parents=True)
        (reports / folder / "forecast.json").write_text("{}", encoding="utf-8")
    links = report_links(reports, reports, "one_time_raid", ["embedded_agents"], {"air_strikes": "Air strikes"})
    assert links["scenarios"] == [("Air strikes", "../air_strikes/report.html"),
                                  ("embedded_agents", "../embedded_agents/report.html")]
