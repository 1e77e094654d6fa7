"""The scenario's forecast: title and warnings, the headline table, combined outcomes, plain words, figures."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from forecast.outputs.render.document import H1, H2, Block, Figure, Items, P, Para, Span, T, Table, Warn
from forecast.outputs.render.format import change_phrase, fmt, interval, likelihood_word, num, pct, s
from forecast.outputs.render.sections.context import Ctx, sorted_responses
from forecast.outputs.render.sections.reference import diag_rows

TOP_N = 5  # responses with a plain-language sentence when the data does not say (report.top_n)


def header(data: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    blocks: list[Block] = [H1(data.get("title") or data.get("scenario") or "Forecast"),
                           P(T(data.get("description") or ""))]
    prof = data.get("profile") or {}
    meta = [Span("strong", "Scenario: "), Span("code", s(data.get("scenario"))), T(" · "),
            Span("strong", "US action: "), T(data.get("action")), T(" · "),
            Span("strong", "Data as of: "), T(data.get("as_of")), T(" · "),
            Span("strong", "Generated: "), T(data.get("generated_at"))]
    if prof:
        desc = ", ".join(f"{str(k).replace('_', ' ')} {fmt(v)}" for k, v in prof.items())
        meta += [Span("br"), Span("muted", f"Action profile: {desc}")]
    blocks.append(Para(meta))
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


def _bar(x: Any) -> Span:
    return Span("bar", pct(x), s(num(x) or 0.0))


def headline(data: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    rows = []
    for r in sorted_responses(data):
        form = str(r.get("form") or "")
        badge = Span("badge", "threat", "threat") if form == "threat" else Span("badge", form or "—", "executed")
        req = r.get("requires")
        rows.append([[Span("strong", s(r.get("label"))), Span("br"), Span("muted", s(r.get("response")))],
                     [_bar(r.get("mean"))],
                     [T(interval(r.get("hdi_low"), r.get("hdi_high")))],
                     [T(pct(r.get("prior_mean")))],
                     [badge],
                     [T(ctx.labels.get(str(req), str(req)))] if req else [T("—")]])
    return [H2("How likely is each response?"),
            P(T(f"Probability that Mexico's government makes each response, with the {ctx.hdi_txt} credible "
                "interval (the range that holds the true value with that probability, given the model). "
                "“Article” is what the Brookings article alone implies. An executed response marked "
                "“follows threat” is modelled as coming after that threat.")),
            Table(["Response", "Probability", f"{ctx.hdi_txt} interval", "Article", "Type", "Follows threat"],
                  rows, "lrrrll")]


def composites(data: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    comps = data.get("composites") or []
    if not comps:
        return []
    rows = []
    for c in comps:
        kind = {"any_of": "any of", "all_of": "all of"}.get(str(c.get("kind")), s(c.get("kind")))
        members = ", ".join(ctx.labels.get(str(m), str(m)) for m in c.get("members") or [])
        rows.append([[Span("strong", s(c.get("label")))], [_bar(c.get("mean"))],
                     [T(interval(c.get("hdi_low"), c.get("hdi_high")))], [T(pct(c.get("prior_mean")))],
                     [T(f"{kind}: "), Span("muted", members)]])
    return [H2("Combined outcomes"),
            Table(["Outcome", "Probability", f"{ctx.hdi_txt} interval", "Article", "Made of"], rows, "lrrrl")]


def plain_words(data: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    items = []
    top_n = data.get("top_n", TOP_N)  # report.top_n
    for i, r in enumerate(sorted_responses(data)[:top_n if isinstance(top_n, int) and top_n >= 0 else TOP_N]):
        m, p0 = num(r.get("mean")), num(r.get("prior_mean"))
        lead = "Most likely of all" if i == 0 else likelihood_word(m)
        items.append([Span("strong", f"{lead}: "), T("Mexico's response would include "),
                      Span("quote", s(r.get("label")).lower()),
                      T(f" — {pct(m)} ({ctx.hdi_txt} credible interval "
                        f"{interval(r.get('hdi_low'), r.get('hdi_high'))}){change_phrase(m, p0)}.")])
    return [H2("In plain words"), Items(items)] if items else []


def figures(data: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    n_prec = sum(1 for p in data.get("precedents", []) if p.get("origin") != "evidence")
    n_ev = len(data.get("precedents", [])) - n_prec
    return [H2("Uncertainty at a glance"),
            Figure("forest", f"Each row is a response: the dot is the mean probability, the thick bar the "
                             f"50% and the thin bar the {ctx.hdi_txt} credible interval."),
            H2("What history changed"),
            P(T(f"Grey shows what the article alone implies (the priors); blue shows the forecast after the "
                f"model also learned from {n_prec} historical precedents, {n_ev} recent events and the "
                "polls. An arrow marks a shift of at least 5 points; where grey and blue sit together, "
                "history agreed with the article.")),
            Figure("prior_posterior", "Article-only prior versus posterior, per response."),
            H2("All scenarios side by side"),
            Figure("heatmap", "Mean probability of each response under every scenario; the outlined "
                              "column is this report's scenario.")]
