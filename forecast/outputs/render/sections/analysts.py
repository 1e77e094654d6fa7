"""The analysts' section (present only when the run selected analysts=[...]): each analyst's forecast, the pool,
the judgements beside the article's claims they revise, and what moved the pool."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from forecast.outputs.render.document import H2, Block, Cell, Figure, P, Span, T, Table, key_value_table, linkify
from forecast.outputs.render.format import fmt, interval, num, pct, s
from forecast.outputs.render.sections.context import Ctx


def analysts(data: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    sec = data.get("analysts")
    if not isinstance(sec, Mapping) or not sec.get("rows"):
        return []
    names = [str(a.get("analyst")) for a in sec.get("analysts") or [] if isinstance(a, Mapping)]
    weights = sec.get("weights") or {}
    blocks: list[Block] = [
        H2("Analysts' judgements, pooled"),
        P(T(f"Each analyst's forecast uses the article's claims with that analyst's dated judgements "
            f"added or revising them; the pool combines them ({s(sec.get('pool'))} pool, weights "
            + ", ".join(f"{a} {fmt(weights.get(a))}" for a in names) + "). "),
          Span("muted", f"Rules: {s(sec.get('sources'))}. The headline above is the article's "
                        "forecast; this section does not replace it.")),
        _analysts_table(sec)]
    blocks += _per_response(sec, names)
    if sec.get("figure"):
        blocks.append(Figure(str(sec["figure"]), "Where the analysts disagree: article-only prior (grey tick), "
                                                 "article forecast (circle), analysts (triangles), pool "
                                                 "(diamond, with its interval)."))
    blocks += [P(T("The judgements, beside the article's claim each one revises (a revision never replaces "
                   "the article's claim in the headline):")),
               Table(["Judgement", "Constrains", "Article's claim", "Analyst's revision", "Rationale", "Sources"],
                     [_judgement_row(j) for j in sec.get("judgements") or [] if isinstance(j, Mapping)], "llwlwl")]
    ch = sec.get("changes")
    if isinstance(ch, Mapping):
        blocks.append(P(Span("strong", "What moved the pool since the last report"),
                        T(f" (generated {s(ch.get('previous_generated_at'))}; "
                          f"{s(ch.get('order') or ch.get('note'))}):")))
        table = key_value_table(ch.get("rows"))
        if table is not None:
            blocks.append(table)
    return blocks


def _analysts_table(sec: Mapping[str, Any]) -> Table:
    rows = [[[Span("code", s(a.get("analyst")))], [T(", ".join(a.get("authors") or []))],
             [T(fmt(a.get("weight")))], [T(s(a.get("n_judgements")))], [Span("muted", s(a.get("method")))]]
            for a in sec.get("analysts") or [] if isinstance(a, Mapping)]
    rows.append([[Span("strong", "pool")], [T("")], [T("1")], [T("")], [Span("muted", s(sec.get("pooled_method")))]])
    return Table(["Analyst", "Author", "Weight", "Judgements", "Computed by"], rows, "llrrl")


def _per_response(sec: Mapping[str, Any], names: list[str]) -> list[Block]:
    rows = []
    for r in sec.get("rows") or []:
        if not isinstance(r, Mapping):
            continue
        by = r.get("analysts") or {}
        moved: Cell = [T("—")]
        if r.get("moved_most_by"):
            moved = [Span("code", s(r.get("moved_most_by"))), Span("muted", f" {fmt(r.get('moved_most_change'))}")]
        rows.append([[Span("strong", s(r.get("label")))], [T(pct(r.get("article_prior")))], [T(pct(r.get("article")))],
                     *[[T(pct(by.get(a)))] for a in names],
                     [Span("bar", pct(r.get("pooled")), s(num(r.get("pooled")) or 0.0))],
                     [T(interval(r.get("pooled_low"), r.get("pooled_high")))], moved])
    blocks: list[Block] = [
        P(T("Per response, most disputed first: the article-only prior, the article's forecast (the "
            "headline), each analyst's forecast, the pool with its "), T(s(sec.get("interval"))),
          T(", and the judgement whose removal would move the pool most (with the change it makes).")),
        Table(["Response", "Article prior", "Article", *names, "Pooled", "Interval", "Moves the pool most"],
              rows, "l" + "r" * (len(names) + 4) + "l*")]
    crow = [[[Span("strong", s(c.get("label")))], [T(pct(c.get("article")))],
             *[[T(pct((c.get("analysts") or {}).get(a)))] for a in names], [T(pct(c.get("pooled")))]]
            for c in sec.get("composites") or [] if isinstance(c, Mapping)]
    if crow:
        blocks.append(Table(["Combined outcome", "Article", *names, "Pooled"], crow, "l" + "r" * (len(names) + 2)))
    return blocks


def _judgement_row(j: Mapping[str, Any]) -> list[Cell]:
    art = j.get("article") if isinstance(j.get("article"), Mapping) else None
    art_cell: Cell = [T("— (adds a constraint)")]
    if art:
        art_cell = [Span("code", s(j.get("replaces"))), T(f" {s(art.get('distribution'))}"), Span("br"),
                    Span("quote", s(art.get("quote")))]
    src: Cell = []
    for x in j.get("sources") or []:
        src += [*linkify(x), Span("br")]
    return [[Span("code", f"{s(j.get('analyst'))}/{s(j.get('id'))}"), Span("br"),
             Span("muted", f"{s(j.get('author'))}, {s(j.get('date_made'))}")],
            [T(j.get("constrains"))], art_cell, [T(j.get("distribution"))],
            [Span("quote", s(j.get("rationale")))], src[:-1] or [T("—")]]
