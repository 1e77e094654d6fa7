"""Hostile corpus, hostile text in reports: every field of the report contract escaped in every format.

Part of the corpus of bad and hostile inputs (tests/hostile/corpus.py); nothing here fits a model.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import forecast
from forecast.inputs import config
from forecast.outputs.render import md_escape, render_html, render_markdown

from ..conftest import TODAY
from .corpus import (
    ACTIONS,
    COMP,
    EV_EPISODE,
    EV_POLL,
    EV_SIGNAL,
    FIXTURE,
    HOSTILE,
    MARKER,
    PAYLOADS,
    POLLS,
    PREC,
    RESPONSES,
    assert_inert_html,
    cell,
    edit_priors,
    entry,
    hrefs,
    listings,
    put_scenario,
    yaml_edit,
)


def _fixture() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


FIGURES = {"history": b"\x89PNG\r\n\x1a\n"}

# every free-text field of the report contract, as a path into the report dict
TEXT_FIELDS = [
    ("title",), ("description",), ("action",),
    ("responses", 0, "label"), ("composites", 0, "label"),
    ("claims", 0, "quote"), ("claims", 0, "location"), ("claims", 0, "note"), ("claims", 0, "source"),
    ("claims", 0, "id"), ("claims", 0, "constrains"),
    ("precedents", 0, "title"), ("precedents", 0, "sources"), ("precedents", 0, "verified"),
    ("polls", 0, "pollster"), ("polls", 0, "wording"), ("polls", 0, "source"),
    ("command",), ("inputs_hash",),
]


def _set(data: dict, path: tuple, value: Any) -> None:
    node = data
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("path", TEXT_FIELDS, ids=lambda p: ".".join(map(str, p)))
def test_hostile_text_in_each_report_field_is_escaped(path, payload):
    data = _fixture()
    text = f"[{'.'.join(map(str, path))}] {payload}"
    _set(data, path, text)
    page = render_html(data, FIGURES)
    assert_inert_html(page)
    assert html.escape(text, quote=True) in page
    md = render_markdown(data, {"history": "history.png"})
    assert "<script" not in md.lower() and "<img" not in md.lower() and "](javascript:" not in md.lower()
    assert md_escape(text) in md


def _poison_home(home: Path) -> dict[str, str]:
    """Write the hostile payload into every free-text field the tool reads from files; returns field -> text."""
    shown: dict[str, str] = {}

    def text(field: str, conf: bool = False) -> str:
        shown[field] = f"[{field}] {HOSTILE}"
        # conf/ text is read without OmegaConf interpolation, so `${...}` is written and shown as is
        return shown[field]

    d = home / "data"
    cell(PREC, "P01", "title", text("precedent-title"))(d)
    cell(PREC, "P01", "sources", "javascript:alert(1) | " + text("precedent-sources")
         + ' | https://ok.example/a"onmouseover=alert(1)')(d)
    cell(PREC, "P01", "verified", text("precedent-verified"))(d)
    cell(POLLS, "ARTICLE-80", "pollster", text("poll-pollster"))(d)
    cell(POLLS, "ARTICLE-80", "wording", text("poll-wording"))(d)
    cell(POLLS, "ARTICLE-80", "source", text("poll-source"))(d)
    cell(RESPONSES, "armed_resistance", "label", text("response-label"))(d)
    cell(ACTIONS, "one_time_raid", "label", text("action-label"))(d)
    yaml_edit(COMP, lambda y: y["any_threat"].update(label=text("composite-label")))(d)
    entry(EV_EPISODE, summary=text("evidence-episode-summary"), source=text("evidence-episode-source"))(d)
    entry(EV_POLL, summary="hostile poll", source=text("evidence-poll-source"),
          poll={"pollster": text("evidence-poll-pollster"), "wording": text("evidence-poll-wording")})(d)
    entry(EV_SIGNAL, summary=text("evidence-signal-summary"), source=text("evidence-signal-source"))(d)
    edit_priors(home, lambda y: y["public_opposition"].update(
        quote=text("prior-quote", True), location=text("prior-location", True), note=text("prior-note", True),
        source=text("prior-source", True)))
    put_scenario(home, yaml.safe_dump({"name": "hostile", "title": text("scenario-title", True),
                                       "action": "one_time_raid", "profile": {},
                                       "description": text("scenario-description", True)}), "hostile")
    return shown


def test_hostile_text_loaded_from_files_is_escaped_end_to_end(home, tmp_path):
    """Files -> loaders -> the report dict (the report module's own row builders, no fit) -> HTML and Markdown."""
    from forecast.outputs.report import _claim_row, _episode_rows

    shown = _poison_home(home)
    cfg = forecast.compose(["scenario=hostile", f"paths.reports={tmp_path / 'reports'}"])
    inputs = forecast.load_inputs(cfg, TODAY)
    o = inputs.ontology
    sc = config.scenario_profile(cfg, o)
    data = _fixture()
    data.update(scenario=sc["name"], title=sc["title"], description=sc["description"], action=sc["action"],
                profile={k: (v.item() if hasattr(v, "item") else v) for k, v in sc["profile"].items()})
    data["responses"] = [{**r, "label": o.responses.at[r["response"], "label"]} for r in data["responses"]]
    data["composites"] = [{**c, "label": o.composites[c["composite"]]["label"]} for c in data["composites"]]
    data["claims"] = [_claim_row(c) for c in [*inputs.claims, *inputs.signals]]
    data["precedents"] = _episode_rows(inputs)
    data["polls"] = [{"id": i, **{k: (v.isoformat() if isinstance(v, dt.date) else (None if v != v else v))
                                  for k, v in row.items()}} for i, row in inputs.polls.iterrows()]
    json.dumps(data)  # still the JSON-able contract
    page = render_html(data, FIGURES)
    md = render_markdown(data, {"history": "history.png"})
    assert_inert_html(page)
    # every link is an http(s) source, or a section of the page (the contents): none comes from the hostile text
    assert all(h.startswith(("http://", "https://")) or re.fullmatch(r"#[a-z-]+", h) for h in hrefs(page))
    assert "<script" not in md.lower() and "](javascript:" not in md.lower()
    for field, text in shown.items():
        if field == "action-label":
            continue  # action labels are not part of the report
        assert html.escape(text, quote=True) in page, field
        assert md_escape(text) in md, field
    assert "{{7*7}}" in page and "${7*7}" in page  # shown literally: nothing evaluated them


def test_write_index_escapes_hostile_runs(tmp_path):
    from forecast.outputs.runs import write_index

    reports = tmp_path / "reports"
    bad_folder = '"><img src=x onerror=alert(1)>'
    (reports / bad_folder).mkdir(parents=True)
    runs = [{"started": "<script>alert(1)</script>", "as_of": "{{7*7}}", "status": "<b onmouseover=alert(1)>ok",
             "reason": HOSTILE, "inputs_hash": "${7*7}", "folder": bad_folder,
             "scenarios": ["<script>s</script>", "a\"onclick=alert(1)"]},
             {"started": "x", "status": "ok", "folder": f"../../{MARKER}", "scenarios": ["one_time_raid"]}]
    lines = "".join(json.dumps(r) + "\n" for r in runs) + '{"cut by a crash'
    (reports / "runs.jsonl").write_text(lines, encoding="utf-8")
    before = listings(tmp_path, reports)
    page = write_index(reports).read_text(encoding="utf-8")
    assert_inert_html(page)
    assert html.escape(HOSTILE) in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b onmouseover=alert(1)&gt;ok" in page
    assert listings(tmp_path, reports) == {**before, str(reports): sorted([*before[str(reports)], "index.html",
                                                                             "runs.html"])}


def test_write_index_never_links_a_javascript_url(tmp_path):
    from forecast.outputs.runs import write_index

    reports = tmp_path / "reports"
    (reports / "javascript:alert(1)").mkdir(parents=True)
    run = {"started": "x", "status": "ok", "folder": "javascript:alert(1)", "scenarios": ["a"]}
    (reports / "runs.jsonl").write_text(json.dumps(run) + "\n", encoding="utf-8")
    assert_inert_html(write_index(reports).read_text(encoding="utf-8"))


@pytest.mark.parametrize("line", ["42", "[1]", "null", '{"scenarios": 5, "folder": "2026-11-01"}', '{"folder": 5}'])
def test_write_index_survives_odd_runs_lines(tmp_path, line):
    from forecast.outputs.runs import write_index

    reports = tmp_path / "reports"
    (reports / "2026-11-01").mkdir(parents=True)
    good = {"started": "2026-11-02T02:15:00+00:00", "as_of": "2026-11-02", "status": "ok", "folder": "2026-11-01",
            "scenarios": ["one_time_raid"]}
    (reports / "runs.jsonl").write_text(line + "\n" + json.dumps(good) + "\n", encoding="utf-8")
    page = write_index(reports).read_text(encoding="utf-8")
    # the odd line is skipped or shown inert; the good run after it is still listed with its link
    assert_inert_html(page)
    assert "2026-11-02T02:15:00+00:00" in page and "./2026-11-01/one_time_raid/report.html" in page
    assert page.count("<tr><td>") == 1 + ('"folder"' in line and line.startswith("{"))
