"""Report rendering (HTML, Markdown) and figures, without MCMC: fixture data and seeded fake draws."""

from __future__ import annotations

import copy
import html
import io
import json
import re
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from forecast.outputs.render import TOP_N, render_html, render_markdown

FIXTURE = Path(__file__).parent / "fixtures" / "forecast_example.json"
PNG_SIG = b"\x89PNG\r\n\x1a\n"
# a 1x1 transparent PNG: rendering tests need bytes, not real figures
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)
HOSTILE = '<script>alert(1)</script> {{7*7}} ${7*7} javascript:alert(1) "onerror=alert(1) a|b\nc'
FIGURES = {"history": TINY_PNG}  # the one figure of a report (the replay's); its ranges are drawn by the page
FIGURE_FILES = {k: f"{k}.png" for k in FIGURES}


@pytest.fixture
def data(cfg, inputs) -> dict[str, Any]:
    """The fixture report with its brief (question, bottom line, definitions, scale) from the shipped data."""
    from forecast.outputs.brief import brief_data, report_links

    d = json.loads(FIXTURE.read_text(encoding="utf-8"))
    d["brief"] = brief_data(cfg, inputs, d)
    d["brief"]["links"] = report_links(Path("/nowhere/reports"), Path("/nowhere/reports"), d["scenario"],
                                       ["one_time_raid", "air_strikes"], {"air_strikes": "Air strikes"})
    d["history"] = {"figure": "history", "command": "forecast history --replay", "dates": ["2026-02-10"],
                    "arrivals": {}}
    return d


def _poison(obj: Any) -> Any:
    """Every string (values and mapping keys) with the hostile payload appended; sources become javascript:."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k in ("sources", "source") and isinstance(v, str):
                out[k] = "javascript:alert(1) | " + v + " | " + HOSTILE
            else:
                out[_poison(k) if k not in _STRUCTURAL else k] = _poison(v)
        return out
    if isinstance(obj, list):
        return [_poison(v) for v in obj]
    if isinstance(obj, str):
        return obj + HOSTILE
    return obj


# keys of the data contract itself stay; their values (and keys of nested data maps) are poisoned
_STRUCTURAL = {
    "schema_version", "scenario", "title", "description", "action", "profile", "as_of", "generated_at",
    "inputs_hash", "from_cache", "versions", "seed", "sampler", "command", "hdi_prob", "diagnostics", "responses",
    "composites", "claims", "precedents", "polls", "evidence_ids", "all_scenarios", "changes", "rows", "figure",
    "response", "label", "domain", "stance", "form", "requires", "escalation_rank", "mean", "sd", "hdi_low",
    "hdi_high", "p_gt_half", "prior_mean", "prior_hdi_low", "prior_hdi_high", "ess_bulk", "r_hat", "composite",
    "kind", "members", "name", "id", "quote", "location", "source", "constrains", "distribution", "strength",
    "origin", "note", "date", "action_type", "severity", "consent", "sources", "verified", "coded", "pollster", "n",
    "share_opposed", "use", "wording", "max_rhat", "min_ess_bulk", "divergences", "min_bfmi", "ok", "chains",
    "draws", "scenario_max_rhat", "scenario_min_ess_bulk", "thresholds", "max_divergences", "prior_fit",
    "provenance", "priors_before_article", "claims_applied_before_their_date", "restated", "restates", "kept",
    "left_out", "reason", "not_used",
    # the brief (forecast.outputs.brief)
    "brief", "question", "conditional", "interval", "horizon", "text", "days", "article", "author", "author_basis",
    "outlet", "url", "citation", "date_note", "definitions", "definition", "scale", "bands", "from", "word", "range",
    "words", "bottom_line", "most_likely", "most_dangerous", "changed", "freshness", "track_record", "publication",
    "status", "compared_with", "links", "scenarios", "files", "why", "newest", "stale", "stale_days", "summary",
    "compared", "moves", "material", "points", "band_points", "causes", "cause", "noise_sigmas", "previous",
    "current", "published_folder", "method",
}


def _hrefs(page: str) -> list[str]:
    return re.findall(r'href\s*=\s*"([^"]*)"', page, flags=re.IGNORECASE)


def _safe_href(h: str) -> bool:
    """An http(s) URL, or a relative link of plain names inside the reports folder (no scheme, no absolute path)."""
    return h.startswith(("http://", "https://")) or bool(re.fullmatch(r"(#[\w-]+|(\.\./)*[\w][\w.-]*(/[\w][\w.-]*)*"
                                                                     r"(#[\w-]+)?)", h))


# ---------------------------------------------------------------------- content
def test_every_response_label_appears(data):
    page = render_html(data, FIGURES)
    md = render_markdown(data, FIGURE_FILES)
    for r in data["responses"]:
        assert r["label"] in page
        assert r["label"] in md
    for c in data["composites"]:
        assert c["label"] in page


def test_top_response_percentages(data):
    top = max(data["responses"], key=lambda r: r["mean"])
    page = render_html(data, FIGURES)
    mean, lo, hi = (round(top[k] * 100) for k in ("mean", "hdi_low", "hdi_high"))
    assert f"{mean}%" in page
    assert f"{lo}–{hi}%" in page
    assert f"{round(top['prior_mean'] * 100)}%" in page
    # the plain-language sentences: one per top response, the first is the most likely; then the most dangerous
    # outcomes the question file names (data/question.yaml) that are not among them, whatever their probability
    plain = page.split('id="plain-words"')[1].split("</section>")[0]
    likely, dangerous = plain.split("The most dangerous outcomes")
    sentences = re.findall(r"<li><strong>[^<]*</strong>Mexico&#x27;s response would include", likely)
    assert len(sentences) == min(TOP_N, len(data["responses"]))
    watched = [d["label"] for d in data["brief"]["bottom_line"]["most_dangerous"]]
    assert len(watched) == 4 and all(w.lower()[1:] in dangerous.lower() for w in watched)
    # the first sentence names the most probable response with its word on the report's scale (ICD 203)
    word = data["brief"]["words"][top["response"]]
    assert sentences[0].startswith(f"<li><strong>{word[:1].upper() + word[1:]}: </strong>")


def test_html_is_self_contained(data):
    page = render_html(data, FIGURES)
    assert page.count('<img src="data:image/png;base64,') == 1  # the history; the ranges are drawn in the page
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|srcset|action|data)\s*=\s*["']?\s*(https?:)?//""", page, flags=re.IGNORECASE)
    assert "<link" not in page.lower()
    assert "@import" not in page and "url(" not in page
    # every href is an http(s) link to a source a reader may click, or a link inside the reports folder (a section
    # of this page, a sibling report, a file of this report); nothing is loaded from it
    assert _hrefs(page) and all(_safe_href(h) for h in _hrefs(page))
    assert "#glossary" in _hrefs(page) and "../air_strikes/report.html" in _hrefs(page)


def test_sections_in_order(data):
    page = render_html(data, FIGURES)
    heads = ["Bottom line", "How likely is each response?", "Combined outcomes", "In plain words",
             "Uncertainty at a glance", "What history changed", "All scenarios side by side",
             "Definitions, sources and the words used", "The article&#x27;s claims, as priors",
             "Precedents and evidence used", "Polls", "Diagnostics", "Provenance: how this report was made"]
    pos = [page.index(f">{h}</") for h in heads]  # an h2, or a folded section's summary
    assert pos == sorted(pos)
    assert page.index("<h1>") < page.index(data["brief"]["question"].replace("'", "&#x27;")) < pos[0]
    assert "What moved since the last report" not in page
    for claim in data["claims"][:3]:
        assert claim["id"] in page
    assert data["inputs_hash"] in page and data["command"] in page


def test_changes_section_only_when_present(data):
    data["changes"] = {"rows": [{"id": "expel_agents", "response": "Expel agents", "previous": 0.2, "current": 0.15,
                                 "change": -0.05, "E-1": -0.0512, "± E-1": 0.004, "rest": 0.0012},
                                {"id": "x", "response": "Quiet", "previous": 0.3, "current": 0.3, "change": 0.0,
                                 "E-1": 0.0, "rest": 0.0}],
                       "parts": ["E-1", "rest"], "method": "Shapley values by PSIS weights",
                       "previous": {"generated_at": "2026-12-01T02:15:00+00:00", "as_of": "2026-12-01"}}
    page = render_html(data, FIGURES)
    assert "What moved since the last published brief" in page and "Compared with the brief published" in page
    # points with a real minus sign, each cause's part with its Monte Carlo error; a row that did not move is counted
    assert ">Change</th>" in page and "−5.0 pts" in page and "−5.1 pts" in page and "±0.4" in page
    assert "+0.1 pts" in page and "1 other response(s) moved by less than 0.05 points" in page
    assert "-0" not in page.split('id="changes"')[1].split("</section>")[0].replace("2026-12-0", "")
    assert page.count("data:image/png;base64,") == 1  # what moved is drawn in its table, not a figure
    # each change and part a bar from the centre line on the table's one scale (its largest move, E-1's 5.12 points):
    # the change's 5.0 points fall 48.8% of a half, E-1's a whole half, rest's 0.12 points rise 1.2%
    row = page.split(">Expel agents<")[1].split("</tr>")[0]
    bars = re.findall(r'<span class="fill (up|down)" style="width:([0-9.]+)%">', row)
    assert bars == [("down", "48.8"), ("down", "50.0"), ("up", "1.2")], bars
    quiet = page.split(">Quiet<")[1].split("</tr>")[0] if ">Quiet<" in page else ""
    assert 'class="shift"' not in quiet  # a row that did not move is not drawn (nor shown)
    md = render_markdown(data, FIGURE_FILES)
    assert "What moved since the last published brief" in md
    assert "| Response | Before | Now | Change | Noise band | E-1 | rest |" in md
    assert "| **Expel agents** | 20% | 15% | **−5.0 pts** | — | −5.1 pts *±0.4* | +0.1 pts |" in md  # no bars


@pytest.mark.parametrize("ok", [True, False])
def test_warning_banner_iff_diagnostics_fail(data, ok):
    data["diagnostics"]["ok"] = ok
    if not ok:
        data["diagnostics"]["max_rhat"] = 1.2
    page = render_html(data, FIGURES)
    md = render_markdown(data, FIGURE_FILES)
    assert ('class="warn"' in page) is (not ok)
    assert ("WARNING" in page) is (not ok)
    assert ("WARNING" in md) is (not ok)
    if not ok:
        assert "max R-hat" in page.split('class="warn"')[1].split("</div>")[0]


def test_prior_fit_is_informational(data):
    assert data["diagnostics"]["prior_fit"]["ok"] is False and data["diagnostics"]["ok"] is True
    page = render_html(data, FIGURES)
    assert 'class="warn"' not in page
    assert "Prior fit (informational)" in page


# ---------------------------------------------------------------------- escaping
def test_hostile_strings_are_inert(data):
    bad = _poison(copy.deepcopy(data))
    bad["changes"] = _poison({"rows": [{"response": "x", "note": "y"}], "summary": "z"})
    bad["precedents"][0]["sources"] = "javascript:alert(1)"
    page = render_html(bad, FIGURES)
    md = render_markdown(bad, FIGURE_FILES)

    low = page.lower()
    assert "<script" not in low
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "{{7*7}}" in page and "${7*7}" in page  # shown literally, never evaluated (no 49)
    assert "&quot;onerror=alert(1)" in page and '"onerror=' not in page
    assert " onerror=" not in low.replace("&quot;onerror=", "")
    assert all(not h.strip().lower().startswith("javascript") for h in _hrefs(page))
    assert all(_safe_href(h) for h in _hrefs(page))
    assert "javascript:alert(1)" in page  # as inert text
    assert page.count("<h1>") == 1 and page.count("<footer>") == 1  # structure survived

    assert "<script" not in md.lower()
    assert "&lt;script&gt;" in md
    assert "](javascript" not in md.lower()
    assert_tables_rectangular(md)


def assert_tables_rectangular(md: str) -> None:
    """No Markdown table row gained or lost a column because of a "|" or newline in the data."""
    width = None
    for line in md.splitlines():
        if not line.startswith("|"):
            width = None
            continue
        n = len(re.findall(r"(?<!\\)\|", line))
        width = width or n
        assert n == width, line


def test_hostile_labels_do_not_break_tables(data):
    data["responses"][0]["label"] = "a | b\nc <b>d</b>"
    md = render_markdown(data, FIGURE_FILES)
    row = next(line for line in md.splitlines() if "a \\| b c" in line)
    assert row.startswith("| **a \\| b c")
    assert_tables_rectangular(md)
    assert "&lt;b&gt;d&lt;/b&gt;" in md


def test_markdown_tables(data):
    md = render_markdown(data, FIGURE_FILES)
    assert md.startswith("# " + data["title"])
    assert "| Response | Probability |" in md
    assert "| Outcome | Probability |" in md
    assert "| Claim | Constrains | Quote (verbatim) |" in md
    assert "| ID | Date | Event |" in md
    assert "| Check | Value | Threshold | Result |" in md
    assert "![" in md and "(history.png)" in md
    assert "| Response | Mean | Middle half | 90% range |" in md  # an early report: no quartiles kept
    assert "base64" not in md and "<script" not in md.lower()
    assert "](https://" in md


def _heat_table(page: str) -> tuple[list[tuple[str, str]], list[list[tuple[str, str]]]]:
    """The all-scenarios table of a page: its headers (attributes, text) and rows of cells (attributes, text)."""
    table = re.search(r'<table class="heat">(.*?)</table>', page, flags=re.S)
    assert table, "no shaded table of all scenarios"
    head, body = table.group(1).split("</thead>")
    headers = re.findall(r"<th((?: [^>]*)?)>(.*?)</th>", head)
    rows = [re.findall(r"<td((?: [^>]*)?)>(.*?)</td>", r) for r in re.findall(r"<tr>(.*?)</tr>", body)]
    return headers, rows


def test_all_scenarios_is_a_shaded_table_of_the_reports_numbers(data):
    """All scenarios side by side: every response's mean under every scenario as the report's percentages, rows in
    the order of this report's probabilities, this report's column set apart; each cell shaded darker for a larger
    probability, its text in the colour that contrasts more (at least WCAG AA's 4.5). A mutant that swaps two
    scenarios' columns, keeps the data's row order, reverses the ramp or writes every cell in black fails here (the
    fixture's 102 cells span 0-99%: black on the darkest blue is 1.6:1)."""
    from forecast.outputs.render.format import pct
    from forecast.outputs.render.html_writer import _luminance, _rgb, contrast

    table = data["all_scenarios"]
    page = render_html(data, FIGURES)
    headers, rows = _heat_table(page)
    scen = list(table)
    assert [h for _, h in headers] == ["Response", *(x.replace("_", " ") + (" (this report)" if x == data["scenario"]
                                                                           else "") for x in scen)]
    marked = [j for j, (attrs, _) in enumerate(headers) if "mark" in attrs]
    assert marked == [1 + scen.index(data["scenario"])]
    labels = {r["label"]: r["response"] for r in data["responses"]}
    order = [labels[re.search(r"<summary>(.*?)</summary>", row[0][1]).group(1)] for row in rows]
    own = table[data["scenario"]]
    assert order == sorted(own, key=lambda r: -own[r]) and len(order) == len(data["responses"])
    shades = []
    for resp, row in zip(order, rows, strict=True):
        assert len(row) == 1 + len(scen)
        for j, (attrs, text) in enumerate(row[1:], start=1):
            v = table[scen[j - 1]][resp]
            assert text == html.escape(pct(v)), (resp, scen[j - 1])
            assert ("mark" in attrs) == (j == marked[0])
            bg, ink = re.search(r'style="background:(#[0-9a-f]{6});color:(#[0-9a-f]{6})"', attrs).groups()
            assert contrast(bg, ink) >= 4.5, (resp, scen[j - 1], bg, ink)
            shades.append((v, _luminance(_rgb(bg))))
    shades.sort()
    assert all(b[1] <= a[1] + 1e-12 for a, b in pairwise(shades)), "a larger probability is not darker"
    assert shades[0][1] - shades[-1][1] > 0.8  # the ramp spans white to dark blue
    md = render_markdown(data, FIGURE_FILES)
    lines = md.splitlines()
    at = next(i for i, ln in enumerate(lines) if ln.startswith("| Response | air strikes"))
    assert "| one time raid (this report) |" in lines[at]
    top = lines[at + 2].split(" | ")  # the first row: its label, then one cell per scenario
    assert top[1 + scen.index(data["scenario"])] == f"**{pct(own[order[0]])}**"  # this report's column in bold
    assert top[1] == pct(table[scen[0]][order[0]])


# ---------------------------------------------------------------------- ranges (drawn by the page)
_PIECE = re.compile(r'<span class="(hdi|mid)" style="left:([0-9.]+)%;width:([0-9.]+)%"></span>'
                    r'|<span class="dot" style="left:([0-9.]+)%"></span>')


def _ranges(cell: str) -> list[tuple[str, dict[str, tuple[float, ...]]]]:
    """The range glyphs of an HTML cell: (tone, {"hdi": (low, high), "mid": (low, high), "dot": (x,)}), in percent."""
    out = []
    for tone, inner in re.findall(r'<span class="range (\w+)" aria-hidden="true">(.*?)</span></span>(?=<|$)',
                                  cell + "<"):
        parts: dict[str, tuple[float, ...]] = {}
        for kind, left, width, dot in _PIECE.findall(inner + "</span>"):
            parts[kind or "dot"] = (float(left), float(left) + float(width)) if kind else (float(dot),)
        out.append((tone, parts))
    return out


def _rows_of(section: str, heading: str) -> list[list[str]]:
    """The body rows (cells' inner HTML) of the table after ``heading`` in a section."""
    table = section.split(f">{heading}</h2>")[1].split("</table>")[0]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S) for row in re.findall(r"<tr>(.*?)</tr>", table)[1:]]


def _with_quartiles(data: dict[str, Any]) -> dict[str, Any]:
    """The fixture's responses with a median and quartiles inside their HDIs, none equal to the mean."""
    for r in data["responses"]:
        lo, hi = r["hdi_low"], r["hdi_high"]
        r["q25"], r["median"], r["q75"] = (round(lo + f * (hi - lo), 4) for f in (0.3, 0.45, 0.62))
    return data


def test_the_ranges_are_drawn_from_the_reports_numbers(data):
    """"Uncertainty at a glance" draws, per response and most probable first, the report's HDI (thin), its quartiles
    (thick) and its median (the dot) on a 0-100% bar; "What history changed" draws the article-only prior's HDI and mean
    (grey) above the posterior's (blue). Every glyph's position is checked against the report's numbers to the 0.1 point
    the page writes (an end is a rounded left plus a rounded width: 0.11): drawing the quartiles as the HDI, the mean as
    the dot, the posterior as the prior or the rows out of order all fail. Markdown has the same numbers, no glyph."""
    from forecast.outputs.render.format import interval, pct

    data = _with_quartiles(data)
    data["responses"].reverse()  # the page orders them itself
    page = render_html(data, FIGURES)
    section = page.split('<section id="figures">')[1].split("</section>")[0]
    order = sorted(data["responses"], key=lambda r: -r["mean"])

    def at(x: float) -> float:
        return round(100 * x, 1)

    rows = _rows_of(section, "Uncertainty at a glance")
    assert len(rows) == len(order)
    for r, cells in zip(order, rows, strict=True):
        assert html.escape(r["label"], quote=True) in cells[0]
        assert cells[1] == pct(r["median"]) and cells[2] == interval(r["q25"], r["q75"])
        assert cells[3].startswith(interval(r["hdi_low"], r["hdi_high"]))
        (tone, g), = _ranges(cells[3])
        assert tone == "post"
        assert g["hdi"] == pytest.approx((at(r["hdi_low"]), at(r["hdi_high"])), abs=0.11)
        assert g["mid"] == pytest.approx((at(r["q25"]), at(r["q75"])), abs=0.11)
        assert g["dot"] == pytest.approx((at(r["median"]),), abs=0.11)
        assert g["hdi"][0] <= g["mid"][0] <= g["dot"][0] <= g["mid"][1] <= g["hdi"][1]  # they nest
    rows = _rows_of(section, "What history changed")
    for r, cells in zip(order, rows, strict=True):
        (t0, prior), (t1, post) = _ranges(cells[3])
        assert (t0, t1) == ("prior", "post")
        assert prior["hdi"] == pytest.approx((at(r["prior_hdi_low"]), at(r["prior_hdi_high"])), abs=0.11)
        assert prior["dot"] == pytest.approx((at(r["prior_mean"]),), abs=0.11) and "mid" not in prior
        assert post["hdi"] == pytest.approx((at(r["hdi_low"]), at(r["hdi_high"])), abs=0.11)
        assert post["dot"] == pytest.approx((at(r["mean"]),), abs=0.11)
        change = round(100 * (r["mean"] - r["prior_mean"]))
        assert cells[3].startswith(f"{change:+d} pts".replace("-", "−") if change else "0 pts")
    md = render_markdown(data, FIGURE_FILES)
    top = order[0]
    assert (f"| **{top['label']}** | {pct(top['median'])} | {interval(top['q25'], top['q75'])} | "
            f"{interval(top['hdi_low'], top['hdi_high'])} |") in md
    assert "range post" not in md and "aria-hidden" not in md


def test_a_report_without_quartiles_draws_its_mean_and_no_middle_half(data):
    """An early report (no median or quartiles kept): the dot is the mean, the column says so, no thick bar; a range
    with a missing end is not drawn at all (and an end outside 0-1 is clipped to the bar)."""
    from forecast.outputs.render.document import Span, range_arg
    from forecast.outputs.render.html_writer import span

    page = render_html(data, FIGURES)
    section = page.split('<section id="figures">')[1].split("</section>")[0]
    assert ">Mean</th>" in section and 'class="mid"' not in section
    top = max(data["responses"], key=lambda r: r["mean"])
    (_, g), = _ranges(_rows_of(section, "Uncertainty at a glance")[0][3])
    assert g["dot"] == pytest.approx((round(100 * top["mean"], 1),), abs=0.11)
    assert span(Span("range", "", range_arg("post", None, 0.5, 0.2))) == ""
    assert _ranges(span(Span("range", "", range_arg("prior", -0.2, 1.3, 0.5))))[0] == (
        "prior", {"hdi": (0.0, 100.0), "dot": (50.0,)})


def test_the_figures_module_writes_pngs_with_their_vectors():
    """The one writer (``figures.write``) of a figure the report still embeds (the analysts' spread): a PNG and its
    SVG with text kept as text, the same bytes twice, whatever the labels hold."""
    import matplotlib.image as mpimg

    from forecast.outputs.figures import analysts

    sec = {"pool": "log", "analysts": [{"analyst": "ana"}, {"analyst": "ben"}],
           "rows": [{"label": f"Response {i} " + HOSTILE + " $x^2$", "pooled_low": 0.2, "pooled_high": 0.6,
                     "article_prior": 0.3, "article": 0.4, "analysts": {"ana": 0.5, "ben": 0.35}, "pooled": 0.45}
                    for i in range(4)]}
    figs = analysts.files(sec, "one_time_raid $$ {{7*7}}")
    assert set(figs) == {"analysts", "analysts.svg"}
    svg, png = figs["analysts.svg"], figs["analysts"]
    assert svg.startswith(b"<?xml") and b"<svg" in svg[:400] and b"<text" in svg and len(svg) < 200_000
    assert png.startswith(PNG_SIG) and len(png) < 200_000
    img = mpimg.imread(io.BytesIO(png), format="png")
    assert img.shape[0] > 300 and img.shape[1] > 500 and img.std() > 0.01, img.shape  # not a blank canvas
    assert analysts.files(sec, "one_time_raid $$ {{7*7}}") == figs  # deterministic, the SVG included


# ---------------------------------------------------------------------- templates, sections, folding
def test_a_users_stylesheet_replaces_the_shipped_one(data, tmp_path):
    """report.templates: a folder whose report.css replaces the shipped stylesheet (page.html still shipped);
    the stylesheet cannot close its <style> element."""
    from forecast.outputs.render import stylesheet

    shipped = render_html(data, FIGURES)
    assert stylesheet() in shipped
    (tmp_path / "report.css").write_text("body{background:#123456}\n", encoding="utf-8")
    page = render_html(data, FIGURES, templates=tmp_path)
    assert "<style>\nbody{background:#123456}\n</style>" in page and stylesheet() not in page
    assert page.replace("body{background:#123456}\n", stylesheet()) == shipped  # nothing else changed
    (tmp_path / "report.css").write_text("b{}</style><script>alert(1)</script>", encoding="utf-8")
    with pytest.raises(ValueError, match="report.css must not contain"):
        render_html(data, FIGURES, templates=tmp_path)


def test_report_templates_setting_names_a_folder(tmp_path):
    from omegaconf import OmegaConf

    from forecast.errors import ConfigError
    from forecast.outputs.report import report_templates

    assert report_templates(OmegaConf.create({"report": {"templates": ""}})) is None
    assert report_templates(OmegaConf.create({"report": {"templates": str(tmp_path)}})) == tmp_path
    with pytest.raises(ConfigError, match=r"report.templates: .* is not a folder .*empty string"):
        report_templates(OmegaConf.create({"report": {"templates": str(tmp_path / "nope")}}))


def test_every_section_has_an_id_and_a_folded_section_is_a_details_element(data, monkeypatch):
    """Sections are the unit of the page: listed once in SECTIONS under unique ids; a section in FOLDED renders as
    <details> with its heading as the summary (the other sections, and the Markdown, unchanged)."""
    from forecast.outputs.render import sections

    ids = [sid for sid, _ in sections.SECTIONS]
    assert len(ids) == len(set(ids)) and {"title", "bottom-line", "headline", "provenance"} <= set(ids)
    shipped_html, shipped_md = render_html(data, FIGURES), render_markdown(data, FIGURE_FILES)
    # reference material is folded by default; the decision maker's sections are not
    for sid in ("glossary", "priors", "precedents", "polls", "diagnostics", "provenance"):
        assert f'<details class="fold" id="{sid}">' in shipped_html
    for sid in ("title", "bottom-line", "headline", "plain-words"):
        assert f'<section id="{sid}">' in shipped_html
    monkeypatch.setattr(sections, "FOLDED", frozenset())
    plain_html = render_html(data, FIGURES)
    monkeypatch.setattr(sections, "FOLDED", frozenset({"polls"}))
    page = render_html(data, FIGURES)
    assert '<details class="fold" id="polls"><summary>Polls</summary>\n<div class="table-wrap">' in page
    assert page.count('<details class="fold"') == 1 and ">Polls</h2>" not in page and ">Polls</h2>" in plain_html
    assert render_markdown(data, FIGURE_FILES) == shipped_md  # Markdown shows every section whole


def _spread():
    from forecast.outputs.figures import analysts

    sec = {"pool": "log", "analysts": [{"analyst": "ana"}],
           "rows": [{"label": f"R{i}", "pooled_low": 0.1 * i, "pooled_high": 0.1 * i + 0.3, "article_prior": 0.2,
                     "article": 0.3, "analysts": {"ana": 0.4}, "pooled": 0.1 * i + 0.15} for i in range(5)]}
    return analysts, sec


def test_the_png_from_agg_pixels_is_the_png_saved_and_decoded_again():
    """The writer quantizes Agg's RGBA pixels directly instead of saving a full-colour PNG and decoding it: the same
    file, byte for byte (a wrong pixel size or channel order would change every byte)."""
    from forecast.outputs.figures import write
    from forecast.outputs.figures.style import style

    analysts, sec = _spread()
    with style():
        fig = analysts.spread(sec, "s")
        bbox = write._tight(fig)
        via_png = write._quantize(write._save(fig, "png", bbox))
        rgba = write._rgba(fig, bbox)
        assert rgba is not None
        assert write._quantize(rgba=rgba) == via_png
        assert write.files("analysts", fig, vector=False)["analysts"] == via_png


def test_figures_drawn_by_workers_are_the_figures_drawn_here(tmp_path):
    """A figure handed to the drawing workers (``forecast.parallel.Workers``) is the one drawn in this process, byte for
    byte, and is kept in the memo when collected."""
    from contextlib import closing

    from forecast import memo
    from forecast.outputs.figures import Later, collect, draw, warm
    from forecast.parallel import Workers

    analysts, sec = _spread()
    here = analysts.files(sec, "s")
    with closing(Workers(warm=warm)) as w:
        later = Later([w.submit("drawing the analysts figure", draw, "analysts", sec, "s")], tmp_path, "figures", "k")
        assert collect([later, {"extra": b"x"}]) == {**here, "extra": b"x"}
    assert memo.get_pngs(tmp_path, "figures", "k") == here
