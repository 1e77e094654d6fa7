"""The scenario's forecast: the headline table, combined outcomes, plain words, figures (the title, the question and
the bottom line: ``brief``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from forecast.outputs.render.document import H2, Block, Cell, Figure, Items, P, Para, Span, T, Table
from forecast.outputs.render.format import change_phrase, interval, likelihood_word, num, pct, s
from forecast.outputs.render.sections.brief import article_cell
from forecast.outputs.render.sections.context import Ctx, sorted_responses

TOP_N = 5  # responses with a plain-language sentence when the data does not say (report.top_n)


def _bar(x: Any) -> Span:
    return Span("bar", pct(x), s(num(x) or 0.0))


def _label(ident: Any, label: Any, ctx: Ctx) -> Span:
    """An outcome's label; in HTML its definition opens on a tap (Markdown: the definitions section)."""
    return Span("term", s(label), ctx.definition(ident))


def _probability(ident: Any, mean: Any, ctx: Ctx) -> Cell:
    word = ctx.word(ident)
    return [_bar(mean), *([T(" "), Span("br"), Span("muted", word)] if word else [])]


def headline(data: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    rows = []
    for r in sorted_responses(data):
        form = str(r.get("form") or "")
        badge = Span("badge", "threat", "threat") if form == "threat" else Span("badge", form or "—", "executed")
        req = r.get("requires")
        rows.append([[_label(r.get("response"), r.get("label"), ctx)],
                     _probability(r.get("response"), r.get("mean"), ctx),
                     [T(interval(r.get("hdi_low"), r.get("hdi_high")))],
                     [T(pct(r.get("prior_mean")))],
                     [badge],
                     [T(ctx.labels.get(str(req), str(req)))] if req else [T("—")]])
    hz = (ctx.brief.get("horizon") or {}).get("text")
    within = f" within {hz}" if hz else ""
    return [H2("How likely is each response?"),
            P(T(f"The probability that Mexico's government makes each response{within}, if the US action happens, "
                f"with its {ctx.hdi_txt} range. "), T(s(ctx.brief.get("interval") or ""))),
            Para([*article_cell(data), T(" An executed response marked “follows threat” is modelled as coming "
                                         "after that threat. Tap a response for its definition.")]),
            Table(["Response", "Probability", f"{ctx.hdi_txt} range", "Article", "Type", "Follows threat"],
                  rows, "lrrrll")]


def composites(data: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    comps = data.get("composites") or []
    if not comps:
        return []
    rows = []
    for c in comps:
        kind = {"any_of": "any of", "all_of": "all of"}.get(str(c.get("kind")), s(c.get("kind")))
        members = ", ".join(ctx.labels.get(str(m), str(m)) for m in c.get("members") or [])
        rows.append([[Span("strong", s(c.get("label")))], _probability(c.get("composite"), c.get("mean"), ctx),
                     [T(interval(c.get("hdi_low"), c.get("hdi_high")))], [T(pct(c.get("prior_mean")))],
                     [T(f"{kind}: "), Span("muted", members)]])
    return [H2("Combined outcomes"),
            Table(["Outcome", "Probability", f"{ctx.hdi_txt} range", "Article", "Made of"], rows, "lrrrl")]


def _sentence(item: Mapping[str, Any], lead: str, ctx: Ctx) -> Cell:
    m, p0 = num(item.get("mean")), num(item.get("prior_mean"))
    return [Span("strong", f"{lead}: "), T("Mexico's response would include "),
            Span("quote", lower_first(s(item.get("label")))),
            T(f" — {pct(m)} ({ctx.hdi_txt} range {interval(item.get('hdi_low'), item.get('hdi_high'))})"
              f"{change_phrase(m, p0)}.")]


def lower_first(label: str) -> str:
    """A label inside a sentence: its first letter lowered unless it starts an acronym (US, ICD)."""
    return label if label[1:2].isupper() else label[:1].lower() + label[1:]


def _word(ident: Any, mean: Any, ctx: Ctx) -> str:
    w = ctx.word(ident)
    return (w[:1].upper() + w[1:]) if w else likelihood_word(num(mean))


def plain_words(data: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    """The most probable responses and the most dangerous outcomes, each in a sentence with the scale's word."""
    items = []
    top_n = data.get("top_n", TOP_N)  # report.top_n
    top = sorted_responses(data)[:top_n if isinstance(top_n, int) and top_n >= 0 else TOP_N]
    shown = set()
    for r in top:
        items.append(_sentence(r, _word(r.get("response"), r.get("mean"), ctx), ctx))
        shown.add(str(r.get("response")))
    est = {str(r.get("response")): r for r in data.get("responses") or []}
    est |= {str(c.get("composite")): c for c in data.get("composites") or []}
    danger = []
    for d in (ctx.brief.get("bottom_line") or {}).get("most_dangerous") or []:
        ident = str(d.get("id"))
        if ident in shown or ident not in est:
            continue
        e = est[ident]
        cell = _sentence({**e, "label": e.get("label") or d.get("label")}, _word(ident, e.get("mean"), ctx), ctx)
        if d.get("why"):
            cell += [Span("muted", f" Watched because: {s(d.get('why'))}.")]
        danger.append(cell)
    out: list[Block] = []
    if items:
        out += [H2("In plain words"), P(Span("strong", "The most probable responses")), Items(items)]
    if danger:
        out += ([] if items else [H2("In plain words")]) + [P(Span("strong", "The most dangerous outcomes")),
                                                           Items(danger)]
    return out


def figures(data: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    n_prec = sum(1 for p in data.get("precedents", []) if p.get("origin") != "evidence")
    n_ev = len(data.get("precedents", [])) - n_prec
    return [H2("Uncertainty at a glance"),
            Figure("forest", f"Each row is a response. The dot is the middle value (as likely above as below), the "
                             f"thick bar holds the middle half of the plausible values, the thin bar the "
                             f"{ctx.hdi_txt} range of the table; the table's number is the average."),
            H2("What history changed"),
            P(T(f"Grey shows what the article alone implies (the priors); blue shows the forecast after the "
                f"model also learned from {n_prec} historical precedents, {n_ev} recent events and the "
                "polls. An arrow marks a shift of at least 5 points; where grey and blue sit together, "
                "history agreed with the article.")),
            Figure("prior_posterior", "Article-only prior versus posterior, per response."),
            *all_scenarios(data, ctx)]


def all_scenarios(data: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    """Each response's mean probability under every scenario (``data["all_scenarios"]``), this report's scenario set
    apart, the rows in the order of its probabilities: a table of numbers shaded by their size (it was a figure,
    which a phone showed a column of at a time)."""
    table: Mapping[str, Mapping[str, Any]] = data.get("all_scenarios") or {}
    current = str(data.get("scenario", ""))
    scen = [str(x) for x in table]
    if current and current not in scen:
        scen.append(current)
    own = {str(r.get("response")): r.get("mean") for r in data.get("responses") or []}
    own.update({str(k): v for k, v in (table.get(current) or {}).items()})
    order = list(dict.fromkeys([*(str(r.get("response")) for r in sorted_responses(data)),
                                *(str(r) for x in scen for r in table.get(x) or {})]))
    order.sort(key=lambda r: -m if (m := num(own.get(r))) is not None else 1.0)
    if not scen or not order:
        return []

    def heat(v: Any) -> Cell:
        p = num(v)
        return [Span("heat", pct(p), s(p))] if p is not None else [T("—")]

    rows = [[[_label(r, ctx.labels.get(r, r), ctx)],
             *(heat(own.get(r) if x == current else (table.get(x) or {}).get(r)) for x in scen)] for r in order]
    headers = ["Response", *(x.replace("_", " ") + (" (this report)" if x == current else "") for x in scen)]
    return [H2("All scenarios side by side"),
            P(T("Mean probability of each response under every scenario (in report.html shaded darker for more "
                "likely); the column marked “this report” is set apart. Rows follow this report's probabilities, "
                "most likely first.")),
            Table(headers, rows, "l" + "r" * len(scen), mark=1 + scen.index(current) if current in scen else -1)]
