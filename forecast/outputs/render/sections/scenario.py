"""The scenario's forecast: the headline table, combined outcomes, plain words, the ranges (the title, the question and
the bottom line: ``brief``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from forecast.outputs.render.document import H2, Block, Cell, Items, P, Para, Span, T, Table, range_arg
from forecast.outputs.render.format import DASH, change_phrase, interval, likelihood_word, num, pct, points, s
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


def _range(tone: str, lo: Any, hi: Any, dot: Any, q1: Any = None, q3: Any = None) -> Span:
    """A probability's range drawn on 0-100% in HTML (``range_arg``); nothing in Markdown (the numbers beside it)."""
    return Span("range", "", range_arg(tone, lo, hi, dot, q1, q3))


def ranges(data: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    """Each response's uncertainty, then what history and evidence did to the article's priors: two tables whose
    last column draws the ranges on one 0-100% scale in the page (they were two figures, which a phone showed the
    labels of, the plot off-screen). The dot is the median and the thick bar the quartiles (a report before they were
    kept: the mean, no thick bar); every interval of 90% holds the quartiles, so the three nest."""
    rows, moved = [], []
    quartiles = any(num(r.get("median")) is not None for r in data.get("responses") or [])
    for r in sorted_responses(data):
        label = _label(r.get("response"), r.get("label"), ctx)
        lo, hi, mean = r.get("hdi_low"), r.get("hdi_high"), r.get("mean")
        dot = r.get("median") if quartiles else mean
        rows.append([[label], [T(pct(dot))], [T(interval(r.get("q25"), r.get("q75")))],
                     [T(interval(lo, hi)), _range("post", lo, hi, dot, r.get("q25"), r.get("q75"))]])
        p0, m = num(r.get("prior_mean")), num(mean)
        prior = ([T(pct(p0)), Span("muted", f" ({interval(r.get('prior_hdi_low'), r.get('prior_hdi_high'))})")]
                 if p0 is not None else [T(DASH)])
        drawn = ([_range("prior", r.get("prior_hdi_low"), r.get("prior_hdi_high"), p0)] if p0 is not None else [])
        moved.append([[label], prior,
                      [T(pct(m)), Span("muted", f" ({interval(lo, hi)})")],
                      [T(points(m - p0, 0) if m is not None and p0 is not None else DASH), *drawn,
                       _range("post", lo, hi, m)]])
    if not rows:
        return []
    n_prec = sum(1 for p in data.get("precedents", []) if p.get("origin") != "evidence")
    n_ev = len(data.get("precedents", [])) - n_prec
    scale = "In report.html each row's bar runs from 0% (left) to 100% (right), the dashed line at 50%"
    middle = ("the dot is the middle value (as likely above as below), the thick bar holds the middle half of the "
              "plausible values" if quartiles else "the dot is the average (this report kept no quartiles)")
    return [H2("Uncertainty at a glance"),
            P(T(f"How sure the forecast is of each response. {scale}: {middle}, the thin bar the "
                f"{ctx.hdi_txt} range of the headline table, whose number is the average.")),
            Table(["Response", "Median" if quartiles else "Mean", "Middle half", f"{ctx.hdi_txt} range"], rows,
                  "lrrw"),
            H2("What history changed"),
            P(T(f"What the article alone implies (its priors; grey in report.html) against the forecast after the "
                f"model also learned from {n_prec} historical precedents, {n_ev} recent events and the polls "
                f"(blue), each as its average and {ctx.hdi_txt} range. {scale}. Where grey and blue sit together, "
                "history agreed with the article.")),
            Table(["Response", "Article alone", "Forecast", "Change"], moved, "lrrw"),
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
