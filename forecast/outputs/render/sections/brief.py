"""The brief: the title and the question, the bottom line, the contents, the definitions and the scale's legend.

Everything here reads ``data["brief"]`` (``forecast.outputs.brief``); a report without it (an older
``forecast.json``) shows the title and no bottom line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from forecast.outputs.render.document import (
    H1,
    H2,
    Block,
    Box,
    Cell,
    Items,
    Nav,
    P,
    Para,
    Span,
    T,
    Table,
    Warn,
)
from forecast.outputs.render.format import fmt, interval, num, pct, points, s
from forecast.outputs.render.sections.context import Ctx
from forecast.outputs.render.sections.reference import diag_rows

# what a brief with no earlier published brief says about where "what moved" will come from
FIRST_HINT = ("Reports show what moved since the newest published brief: publish=true (or forecast scheduled) "
              "publishes one.")


def _b(data: Mapping[str, Any]) -> Mapping[str, Any]:
    b = data.get("brief")
    return b if isinstance(b, Mapping) else {}


def article_cell(data: Mapping[str, Any], lead: str = "“Article”: what the article's claims alone imply. ") -> Cell:
    """The article's full citation with its link (every table with an "Article" column says it once)."""
    a = _b(data).get("article") or {}
    if not a:
        return [T(lead.strip())]
    return [T(lead), T(f"{s(a.get('author'))} (attributed), "), Span("link", f"“{s(a.get('title'))}”", s(a.get("url"))),
            T(f", {s(a.get('outlet'))}, {s(a.get('date'))}.")]


def _estimate(item: Mapping[str, Any], ctx: Ctx) -> Cell:
    word = s(item.get("word") or "")
    return [Span("strong", pct(item.get("mean"))), T(f" {word}" if word else ""),
            Span("muted", f" ({ctx.hdi_txt} range {interval(item.get('hdi_low'), item.get('hdi_high'))})")]


def title(data: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    """The scenario's title, the question it answers, what the numbers are conditional on, the warnings."""
    b = _b(data)
    blocks: list[Block] = [H1(data.get("title") or data.get("scenario") or "Forecast")]
    if b.get("question"):
        blocks.append(Para([Span("strong", s(b["question"])), T(" "), Span("muted", s(b.get("conditional")))]))
    else:  # a report from before the brief: its description and dates
        blocks.append(P(T(data.get("description") or "")))
    generated = str(data.get("generated_at") or "").replace("T", " ").replace("+00:00", " UTC")
    if _is_preview(b):  # named here in as many characters as 'generated' (one line on a phone), explained at the
        # end of the bottom line
        blocks.append(Para([Span("muted", f"Data as of {s(data.get('as_of'))} · "), Span("strong", "preview"),
                            Span("muted", f", {generated[:16]}{generated[19:]}")]))
    else:
        blocks.append(Para([Span("muted", f"Data as of {s(data.get('as_of'))} · generated {generated}")]))
    if ctx.diag.get("ok") is not True:
        failed = [n for n, _, _, ok in diag_rows(ctx.diag, ctx.thr) if ok is False]
        blocks.append(Warn([Span("strong", "WARNING: the sampler's convergence checks did not pass"),
                            T(f" ({', '.join(failed) or 'see Diagnostics'}). The numbers below may be "
                              "unreliable; do not quote them without re-running the fit.")]))
    src = data.get("provenance") if isinstance(data.get("provenance"), Mapping) else {}
    early = list(src.get("claims_applied_before_their_date") or [])
    if early:
        blocks.append(Warn([Span("strong", "The article's view applied before its date"),
                            T(f" (priors_before_article=apply): claims {', '.join(s(e) for e in early)} are "
                              f"dated after as_of {s(data.get('as_of'))}; a forecaster then could not know "
                              "them.")]))
    return blocks


def _changed_items(ch: Mapping[str, Any]) -> list[Cell]:
    """The change since the compared brief: a lead line, then the material moves (largest first) with their noise
    band and causes (muted: a phone shows the lead and the largest move's numbers), then what was withdrawn."""
    out = _moves(ch)
    for w in ch.get("withdrawn") or []:
        when = f" on {s(w.get('date'))}" if w.get("date") else ""
        why = f": {s(w.get('reason'))}" if w.get("reason") else (
            " (not recorded as withdrawn: removed by hand, or no longer known at this date)"
            if w.get("action") != "withdrawn" else "")
        out.append([Span("strong", "Withdrawn: "), T(f"{s(w.get('id'))}{when}{why}")])
    return out


def _moves(ch: Mapping[str, Any]) -> list[Cell]:
    comp = ch.get("compared") or {}
    when = str(comp.get("generated_at") or "")[:10]
    if ch.get("status") == "first" or not comp:
        return [[T("No earlier published brief of this scenario: nothing to compare with yet."),
                 Span("muted", f" {FIRST_HINT}")]]
    lead = f"Since the brief published {when}"
    then = Span("muted", f" (its data as of {s(comp.get('as_of'))})")
    moves = list(ch.get("moves") or [])
    material = [m for m in moves if m.get("material")]
    sig = fmt(ch.get("noise_sigmas"))
    if not material:
        if not moves:
            return [[T(f"{lead}: "), Span("strong", "no material change"), then,
                     T(f". {s(ch.get('note') or '')}".rstrip(". ") + ".")]]
        top = moves[0]
        if abs(num(top.get("points")) or 0) < 0.05:
            return [[T(f"{lead}: "), Span("strong", "no material change"), T("; nothing moved.")]]
        band = top.get("band_points")
        noise = f", inside its noise band of ±{band:.1f}" if isinstance(band, int | float) else ""
        return [[T(f"{lead}: "), Span("strong", "no material change"), T("."),
                 Span("muted", f" The largest move, {s(top.get('label'))} {signed_points(top.get('points'))}"
                               f"{noise}, is within Monte Carlo noise ({sig} standard errors).")]]
    out: list[Cell] = [[T(f"{lead}: "), Span("strong", f"{len(material)} material move(s)"), then,
                        Span("muted", f"; material: beyond its noise band of {sig} Monte Carlo standard errors.")]]
    for m in material[:3]:
        band = m.get("band_points")
        cell: Cell = [Span("strong", s(m.get("label"))),
                      T(f" {pct(m.get('previous'))} → {pct(m.get('current'))} ({signed_points(m.get('points'))})")]
        extra = f"noise ±{band:.1f}" if isinstance(band, int | float) else ""
        causes = m.get("causes") or []
        if causes:
            extra += ("; " if extra else "") + "why: " + ", ".join(
                f"{s(c.get('label'))} {signed_points(c.get('points'))}" for c in causes[:2])
        if extra:
            cell.append(Span("muted", f"; {extra}"))
        out.append(cell)
    return out


def signed_points(p: Any) -> str:
    """Points already in points (the bottom line's numbers), signed, one decimal."""
    v = num(p)
    return "—" if v is None else points(v / 100)


def _freshness(f: Mapping[str, Any]) -> list[Block]:
    newest = f.get("newest") or {}
    if not newest:
        return [Warn([Span("strong", "No evidence: "),
                      T("the forecast rests on the article and the historical record only.")])]
    days = f.get("days")
    what: Cell = [Span("muted", f" ({s(newest.get('id'))}: {s(newest.get('summary'))})")]
    if f.get("stale"):
        return [Warn([Span("strong", f"Stale: the newest evidence, {s(newest.get('date'))}, is {fmt(days)} days old."),
                      Span("muted", f" Over {fmt(f.get('stale_days'))} days before this forecast's date "
                                    f"({s(f.get('as_of'))}; report.stale_days): later news is not in these numbers."),
                      *what], "caution")]
    return [Para([Span("strong", f"Newest evidence: {s(newest.get('date'))}"),
                  T(f", {fmt(days)} days before this forecast's date ({s(f.get('as_of'))})."), *what])]


def _is_preview(b: Mapping[str, Any]) -> bool:
    return (b.get("publication") or {}).get("status") == "preview"


def _preview_note(b: Mapping[str, Any]) -> list[Block]:
    """What a preview means, at the end of the bottom line (the line under the title names it; a box above the
    bottom line pushed its parts off a phone's first screen)."""
    if not _is_preview(b):
        return []
    return [Para([Span("strong", "Preview, not a published brief: "), Span("muted",
                  "not in the forecast history or the track record, and the next brief is not compared with it. "
                  "Publish with forecast scheduled or publish=true.")])]


def bottom_line(data: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    """The box a decision maker reads first: most likely, most dangerous, what changed, evidence age, track
    record."""
    b = _b(data)
    bl = b.get("bottom_line") or {}
    if not bl:
        return []
    tr = bl.get("track_record")
    sc = b.get("scale") or {}
    parts: list[Block] = [
        Box("likely", "Most likely", [Items([[T(s(m.get("label")) + ": "), *_estimate(m, ctx)]
                                             for m in bl.get("most_likely") or []])]),
        Box("dangerous", "Most dangerous", [Items([[T(s(m.get("label")) + ": "), *_estimate(m, ctx)]
                                                   for m in bl.get("most_dangerous") or []])]),
        Box("changed", "What changed", [Items(_changed_items(bl.get("changed") or {}))]),
        Box("evidence", "How fresh", _freshness(bl.get("freshness") or {})),
        Box("record", "The article's track record", [P(T(s(tr) if tr else
                                                          "Not scored in this report: forecast check scores the "
                                                          "article's claims on the episodes coded since its date "
                                                          "(checks.json), and the next report quotes its verdict."))]),
        *_preview_note(b),
        P(Span("muted", f"Words: {s(sc.get('title'))} ("), Span("local", "legend", "#glossary"),
          Span("muted", "). Ranges are 90% credible ranges ("), Span("local", "how to read them", "#glossary"),
          Span("muted", ")."))]
    return [Box("bottom-line", "Bottom line", parts)]


def contents(data: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    """Links to the page's sections, the other scenarios, the checks page and the data files."""
    b = _b(data)
    links = b.get("links") or {}
    others = [[Span("local", s(label), s(href))] for label, href in links.get("scenarios") or []]
    files = [[Span("local", s(label), s(href))] for label, href in links.get("files") or []]
    # "On this page:" is filled in by sections.build_sections, which knows the sections this report has
    return [Nav([("On this page:", []), ("Other scenarios:", others), ("Files:", files)])]


def glossary(data: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    """Each outcome's definition, how to read a range, the article's citation and the scale's legend."""
    b = _b(data)
    if not b:
        return []
    defs = b.get("definitions") or {}
    order = [str(r.get("response")) for r in data.get("responses") or []] + \
            [str(c.get("composite")) for c in data.get("composites") or []]
    rows = [[[Span("strong", s((defs.get(i) or {}).get("label") or i))], [T((defs.get(i) or {}).get("definition"))]]
            for i in order if i in defs]
    sc = b.get("scale") or {}
    legend = [[[T(s(x.get("word")))], [T(s(x.get("range")))]] for x in sc.get("bands") or []]
    hz = b.get("horizon") or {}
    out: list[Block] = [H2("Definitions, sources and the words used"),
                        P(Span("strong", "The question. "), T(s(b.get("question"))), T(" "),
                          T(s(b.get("conditional")))),
                        P(Span("strong", f"Horizon: {s(hz.get('text'))}. "), T(s(hz.get("source")))),
                        P(Span("strong", "Ranges. "), T(s(b.get("interval")))),
                        Para([Span("strong", "The article. "), *article_cell(data, ""),
                              T(f" The author is {s((b.get('article') or {}).get('author_basis'))}.")])]
    if rows:
        out.append(Table(["Outcome", "Definition"], rows, "lw"))
    if legend:
        src = [T(f"Estimative words: {s(sc.get('title'))}. Source: {s(sc.get('source'))}")]
        if sc.get("url"):
            src += [T(" ("), Span("link", "a public copy", s(sc.get("url"))), T(")")]
        src.append(T(". A probability takes the word of the range it falls in (another scale: words=<name> from "
                     "conf/words/)."))
        out += [Para(src), Table(["Word", "Probability"], legend, "lr*")]
    return out
