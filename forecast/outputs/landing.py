"""The landing page ``reports/index.html``: every scenario's bottom line at a glance, what changed, how fresh the
evidence is, and links to each report, the checks page, the scheduled runs and the data files.

``landing_page(reports)`` renders it from the reports in place (each scenario's newest report: its own folder
``reports/<scenario>/`` or a scheduled run's ``reports/<date>/<scenario>/``, published or preview);
``write_landing(reports)`` writes it through ``forecast/files.py``. Every command that writes reports ends with it,
so the page is never older than the reports it lists.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from forecast.files import atomic_write_file
from forecast.outputs.contract import DATED_FOLDER, read_report
from forecast.outputs.render import render_html
from forecast.outputs.render.document import H1, H2, Block, Cell, Items, P, Para, Section, Span, T, Table
from forecast.outputs.render.format import fmt, pct, points, s

LANDING = "index.html"
RUNS_PAGE = "runs.html"  # the scheduled runs' log (forecast scheduled)
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")


def newest_reports(reports: Path) -> list[tuple[str, dict[str, Any]]]:
    """(folder relative to ``reports``, forecast.json) of each scenario's newest report, by scenario."""
    reports = Path(reports)
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    candidates = [p for p in reports.glob("*/forecast.json") if _NAME.fullmatch(p.parent.name)]
    candidates += [p for p in reports.glob("*/*/forecast.json")
                   if DATED_FOLDER.fullmatch(p.parent.parent.name) and _NAME.fullmatch(p.parent.name)]
    for path in candidates:
        data = read_report(path)
        if not data or data.get("scenario") != path.parent.name:
            continue
        rel = str(path.parent.relative_to(reports))
        name = str(data["scenario"])
        if name not in found or str(data.get("generated_at")) > str(found[name][1].get("generated_at")):
            found[name] = (rel, data)
    return [found[n] for n in sorted(found)]


def _brief(data: Mapping[str, Any]) -> Mapping[str, Any]:
    b = data.get("brief")
    return b if isinstance(b, Mapping) else {}


def _changed(data: Mapping[str, Any]) -> Cell:
    ch = (_brief(data).get("bottom_line") or {}).get("changed") or {}
    if not ch or ch.get("status") == "first":
        return [Span("muted", "first brief")]
    material = ch.get("material") or []
    if not material:
        return [T("no material change")]
    m = material[0]
    more = f" (+{len(material) - 1} more)" if len(material) > 1 else ""
    return [T(f"{s(m.get('label'))} {points((m.get('points') or 0) / 100)}{more}")]


def _fresh(data: Mapping[str, Any]) -> Cell:
    f = (_brief(data).get("bottom_line") or {}).get("freshness") or {}
    newest = f.get("newest") or {}
    if not newest:
        return [Span("muted", "no evidence")]
    cell: Cell = [T(f"{s(newest.get('date'))}, {fmt(f.get('days'))} days")]
    return [Span("badge", "stale", "fail"), T(" "), *cell] if f.get("stale") else cell


def _estimate(item: Mapping[str, Any] | None) -> Cell:
    if not item:
        return [T("—")]
    return [Span("strong", pct(item.get("mean"))), T(" "), Span("br"), Span("muted", s(item.get("word") or ""))]


def landing_sections(reports: Path) -> list[Section]:
    """The landing page's sections (the same document model, stylesheet and writer as a report)."""
    reports = Path(reports)
    found = newest_reports(reports)
    briefs = [(rel, d, _brief(d)) for rel, d in found]
    first = next((b for _, _, b in briefs if b), {})
    title = s(first.get("title") or "Forecasts")
    head: list[Block] = [H1(title)]
    if first:
        hz = (first.get("horizon") or {}).get("text")
        head.append(P(T(f"Each scenario asks how likely each response of Mexico's government is within {s(hz)} if "
                        f"the US carries out that action. {s(first.get('conditional'))}")))
    newest = max((str(d.get("generated_at") or "") for _, d in found), default="")
    head.append(Para([Span("muted", f"{len(found)} scenario report(s); newest generated "
                                    f"{newest.replace('T', ' ').replace('+00:00', ' UTC') or '—'}.")]))
    if not found:
        head.append(P(T("No reports yet: run forecast (one scenario), forecast all_scenarios=true or "
                        "forecast scheduled.")))
    # the outcomes every brief watches, in the question file's order (the first report's list)
    watch = [(str(x.get("id")), str(x.get("label"))) for x in (first.get("bottom_line") or {}).get("most_dangerous")
             or []]
    rows = []
    for rel, d, b in briefs:
        bl = b.get("bottom_line") or {}
        top = (bl.get("most_likely") or [None])[0]
        dangerous = {str(x.get("id")): x for x in bl.get("most_dangerous") or []}
        status = (b.get("publication") or {}).get("status") or "published"
        ok = bool((d.get("diagnostics") or {}).get("ok"))
        name: Cell = [Span("local", s(d.get("title") or d.get("scenario")), f"{rel}/report.html")]
        if status == "preview":
            name += [T(" "), Span("badge", "preview", "muted")]
        if not ok:
            name += [T(" "), Span("badge", "diagnostics failed", "fail")]
        top_cell: Cell = ([T(s(top.get("label")) + ": "), Span("strong", pct(top.get("mean")))] if top else [T("—")])
        rows.append([name, top_cell, *[_estimate(dangerous.get(i)) for i, _ in watch], _changed(d), _fresh(d)])
    glance: list[Block] = []
    if rows:
        glance = [H2("At a glance"),
                  P(T("Each scenario's most likely response and the outcomes the briefs watch, with what changed "
                      "since each scenario's last published brief and the age of its newest evidence. Open a "
                      "scenario for its question, ranges, causes and sources.")),
                  Table(["Scenario", "Most likely", *[lab for _, lab in watch], "What changed", "Newest evidence"],
                        rows, "ll" + "r" * len(watch) + "ll")]
    changes: list[Block] = []
    items: list[Cell] = []
    for rel, d, b in briefs:
        ch = (b.get("bottom_line") or {}).get("changed") or {}
        for m in (ch.get("material") or [])[:3]:
            band = m.get("band_points")
            cause = (m.get("causes") or [{}])[0]
            items.append([Span("local", s(d.get("title") or d.get("scenario")), f"{rel}/report.html#changes"),
                          T(f": {s(m.get('label'))} {pct(m.get('previous'))} → {pct(m.get('current'))} "
                            f"({points((m.get('points') or 0) / 100)}"
                            + (f", noise ±{band:.1f}" if isinstance(band, int | float) else "") + ")"
                            + (f", chiefly {s(cause.get('label'))}" if cause.get("label") else ""))])
    if briefs:
        changes = [H2("What changed since the last published briefs"),
                   Items(items) if items else P(T("No material change in any scenario: every move is within its "
                                                  "Monte Carlo noise band (or there is no earlier brief)."))]
    links: list[Cell] = []
    for rel, d, _ in briefs:
        base = f"{rel}/"
        links.append([Span("strong", s(d.get("title") or d.get("scenario")) + ": "),
                      Span("local", "report", base + "report.html"), T(" · "),
                      Span("local", "Markdown", base + "report.md"), T(" · "),
                      Span("local", "probabilities.csv", base + "probabilities.csv"), T(" · "),
                      Span("local", "forecast.json", base + "forecast.json"),
                      Span("muted", f" (data as of {s(d.get('as_of'))})")])
    pages: list[Cell] = []
    for label, target, what in (("Model checks", "checks/checks.html", "are these probabilities any good?"),
                                ("Scheduled runs", RUNS_PAGE, "every scheduled run, its status and reports"),
                                ("Latest alerts", "digest.html", "what the last scheduled run flagged"),
                                ("Alerts feed", "feed.xml", "Atom"),
                                ("Forecast history", "history.csv", "every published forecast"),
                                ("Evidence replay", "history_replay.csv", "the forecast as of each evidence date")):
        if (reports / target).is_file():
            pages.append([Span("local", label, target), Span("muted", f": {what}")])
    files = [H2("Reports and files"), Items(links)] if links else []
    if pages:
        files += [P(Span("strong", "Pages and data")), Items(pages)]
    return [Section("title", head), Section("glance", glance), Section("changed", changes),
            Section("files", files)]


def landing_page(reports: Path) -> str:
    """``reports/index.html``'s text."""
    sections = landing_sections(reports)
    title = next((b.cell[0].text for b in sections[0].blocks if isinstance(b, type(H1("")))), "Forecasts")
    return render_html({"title": title}, {}, blocks=sections)


def write_landing(reports: Path) -> Path:
    """Write ``reports/index.html`` (atomically, through forecast/files.py)."""
    reports = Path(reports)
    return atomic_write_file(reports / LANDING, landing_page(reports), reports)


__all__ = ["LANDING", "RUNS_PAGE", "landing_page", "landing_sections", "newest_reports", "write_landing"]
