"""Reference material: the article's claims, precedents and evidence, polls, diagnostics, provenance."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from forecast.outputs.render.document import H2, Block, Cell, Fields, P, Span, T, Table, linkify, sources_cell
from forecast.outputs.render.format import fmt, num, pct, s
from forecast.outputs.render.sections.context import Ctx

_CHECKS = (  # label, value key, threshold key, passes(value, threshold)
    ("max R-hat (response probabilities, public opinion)", "max_rhat", "max_rhat", "≤"),
    ("min bulk ESS (same)", "min_ess_bulk", "min_ess_bulk", "≥"),
    ("divergences", "divergences", "max_divergences", "≤"), ("min BFMI", "min_bfmi", "min_bfmi", "≥"),
    ("this scenario's max R-hat", "scenario_max_rhat", "max_rhat", "≤"),
    ("this scenario's min bulk ESS", "scenario_min_ess_bulk", "min_ess_bulk", "≥"),
)


def diag_rows(d: Mapping[str, Any], thr: Mapping[str, Any]) -> list[tuple[str, Any, str, bool | None]]:
    """(check, value, threshold text, passed or None if unknown) for one diagnostics dict."""
    rows: list[tuple[str, Any, str, bool | None]] = []
    for i, (name, key, tkey, op) in enumerate(_CHECKS):
        if i >= 4 and key not in d:
            continue
        v, t = num(d.get(key)), num(thr.get(tkey))
        ok = None if v is None or t is None else (v <= t if op == "≤" else v >= t)
        rows.append((name, d.get(key), f"{op} {s(thr.get(tkey))}", ok))
    rows.append(("chains × draws", f"{s(d.get('chains'))} × {s(d.get('draws'))}", "", None))
    return rows


def _diag_table(d: Mapping[str, Any], thr: Mapping[str, Any]) -> Table:
    rows = []
    for name, value, t, ok in diag_rows(d, thr):
        badge = Span("badge", "n/a", "muted") if ok is None else (
            Span("badge", "pass", "ok") if ok else Span("badge", "FAIL", "fail"))
        rows.append([[T(name)], [T(fmt(value))], [T(t or "—")], [badge]])
    return Table(["Check", "Value", "Threshold", "Result"], rows, "lrnl*")


def priors(data: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    rows = []
    for c in data.get("claims", []):
        dist: Cell = [T(c.get("distribution"))]
        if c.get("note"):
            dist += [Span("br"), Span("muted", s(c.get("note")))]
        origin = [T(c.get("origin"))]
        if num(c.get("strength")) not in (None, 1.0):
            origin += [Span("muted", f" (strength {fmt(c.get('strength'))})")]
        name = str(c.get("name") or "").replace("_", " ")
        rows.append([[Span("strong", s(c.get("id"))), Span("br"), Span("muted", name)], [T(c.get("constrains"))],
                     [Span("quote", s(c.get("quote")))],
                     [T(c.get("location")), Span("br"), *[Span("muted", x.text, x.arg) if x.kind == "text" else x
                                                          for x in linkify(c.get("source"))]],
                     dist, origin])
    return [H2("The article's claims, as priors"),
            P(T("Each claim is named by its id and a short name (“C28 hostile without consent”), here and wherever "
                "the report names it.")),
            Table(["Claim", "Constrains", "Quote (verbatim)", "Where", "Encoded as", "Origin"], rows, "llllll")]


def precedents(data: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    rows = []
    for p in data.get("precedents", []):
        coded = p.get("coded") or {}
        yes = [ctx.labels.get(str(k), str(k)) for k, v in coded.items() if num(v) == 1]
        no = [ctx.labels.get(str(k), str(k)) for k, v in coded.items() if num(v) == 0]
        cc: Cell = []
        if yes:
            cc += [Span("strong", "happened: "), T("; ".join(yes))]
        if no:
            cc += ([Span("br")] if yes else []) + [Span("strong", "did not: "), Span("muted", "; ".join(no))]
        attrs = ", ".join(f"{str(k).replace('_', ' ')} {fmt(v)}" for k, v in (p.get("attributes") or {}).items())
        rows.append([[Span("code", s(p.get("id")))], [T(p.get("date"))], [T(p.get("title"))],
                     [T(ctx.action(p.get("action_type")))], [Span("muted", attrs)],
                     cc or [T("—")], sources_cell(p.get("sources")), [T(p.get("verified"))]])
    return [H2("Precedents and evidence used"),
            Table(["ID", "Date", "Event", "Action type", "Attributes", "Coded responses", "Sources", "Verified"],
                  rows, "lnlllwll")]


def polls(data: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    rows = [[[Span("code", s(q.get("id")))], [T(q.get("pollster"))], [T(q.get("date"))], [T(fmt(q.get("n")))],
             [T(pct(q.get("share_opposed")))], [T(q.get("use"))], [T(q.get("wording"))], linkify(q.get("source"))]
            for q in data.get("polls", [])]
    if not rows:
        return []
    return [H2("Polls"),
            Table(["ID", "Pollster", "Date", "n", "Opposed", "Use", "Wording", "Source"], rows, "llnrrlll")]


def model_notes(data: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    """The model's own assumptions: the learned weight of the article's claims, the opinion of older episodes,
    and what sets each interval's width (report data ``model_notes``)."""
    notes = data.get("model_notes")
    if not isinstance(notes, Mapping):
        return []
    blocks: list[Block] = [H2("The model's own assumptions")]
    w = notes.get("article_weight")
    if isinstance(w, Mapping) and None not in (num(w.get("mean")), num(w.get("low")), num(w.get("high"))):
        blocks.append(P(Span("strong", "How far the article is trusted: "),
                        T(f"the record and the polls give the article's claims a weight of {num(w.get('mean')):.2f} "
                          f"({pct(w.get('prob') or 0.9)} interval {num(w.get('low')):.2f}-{num(w.get('high')):.2f}; "
                          "1 is full weight, 0 none), learnt from how far the claims sit from what the record "
                          "supports.")))
    elif isinstance(w, Mapping):
        blocks.append(P(Span("strong", "How far the article is trusted: "),
                        T("at full weight (model.claim_weight=fixed).")))
    era = notes.get("era_opinion")
    if isinstance(era, Mapping) and era.get("mode") == "reference" and num(era.get("episodes_before_window")):
        checks = data.get("checks") if isinstance(data.get("checks"), Mapping) else {}
        band = ((checks.get("headline") or {}).get("era_opinion") or {}).get("sentence")
        blocks.append(P(Span("strong", "The opinion of earlier episodes is assumed: "),
                        T(f"{fmt(era.get('episodes_before_window'))} episodes of the kind the polls ask about, "
                          f"older than the poll window ({fmt(era.get('poll_window_days'))} days), are fitted at the "
                          "article's "
                          f"{pct(era.get('reference'))} opposed, since no poll measures the opinion of their time; "
                          + ("how far another value would move these probabilities is under \"How good are these "
                             "probabilities?\"." if band else "forecast check shows how far these probabilities "
                             "move under another value."))))
    rows = []
    for r in notes.get("interval_drivers") or []:
        if not isinstance(r, Mapping):
            continue
        parts = r.get("parts") if isinstance(r.get("parts"), Mapping) else {}
        rows.append([[T(ctx.labels.get(str(r.get("response")), r.get("response")))],
                     [T(f"{fmt(r.get('cells'))} ({fmt(r.get('events'))})")], [T(fmt(r.get("cells_all")))],
                     [T(f"{fmt(r.get('sd_prior'))} → {fmt(r.get('sd_post'))}")], [T(pct(r.get("record_share")))],
                     [T(" / ".join(pct(parts.get(k)) for k in ("intercept", "slopes", "cell", "opinion")))]])
    if rows:
        blocks += [P(Span("strong", "What sets each interval's width: "),
                     T("coded cells of this action type in the record (how many happened) and of the response over "
                       "all action types; the spread (sd) of the probability's logit in the article-only prior and in "
                       "the posterior, and the share of the former the record removed (negative: the record left it "
                       "wider, e.g. by moving it where the logit spreads out); the share of the posterior's spread "
                       "from the response's pooled intercept, the slopes it shares with other actions, this action's "
                       "own cell and the opinion.")),
                   Table(["Response", "Cells here (happened)", "All cells", "sd, prior → posterior", "Removed",
                          "Intercept / slopes / cell / opinion"], rows, "lrrrrl")]
    return blocks


def diagnostics(data: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    diag, thr = ctx.diag, ctx.thr
    blocks: list[Block] = [
        H2("Diagnostics"),
        P(T("Convergence checks of the posterior fit. All must pass for the numbers to be trusted.")),
        _diag_table(diag, thr)]
    if diag.get("max_rhat_all") is not None:
        blocks.append(P(T(f"Worst R-hat over every stored parameter, the hierarchy's scales included "
                          f"(informational): {fmt(diag.get('max_rhat_all'))} "
                          f"({s(diag.get('max_rhat_all_variable'))}).")))
    if isinstance(diag.get("prior_fit"), Mapping):
        blocks += [P(Span("strong", "Prior fit (informational): "),
                     T("the same checks on the article-only fit that produces the grey prior intervals. They "
                       "do not gate the report.")),
                   _diag_table(diag["prior_fit"], thr)]
    return blocks


def update_text(u: Any) -> str:
    """How the posterior was obtained: cache hit, exact fit/refit (why), or a PSIS update (k, ESS)."""
    if not isinstance(u, Mapping):
        return "—"
    if u.get("method") == "psis":
        prior = f", prior k {fmt(u.get('prior_pareto_k'))}" if u.get("prior_pareto_k") is not None else ""
        return (f"PSIS update of cached posterior {s(u.get('base_hash'))} by {fmt(u.get('changes') or []) or '—'}: "
                f"Pareto k {fmt(u.get('pareto_k'))}{prior} (<= {fmt(u.get('k_max'))}), ESS of the weights "
                f"{fmt(u.get('ess_weights'))} of {fmt(u.get('draws'))} draws; importance-weighted means, "
                "intervals and composites (update=refit for the exact fit)")
    if u.get("method") == "refit":
        return f"exact fit ({s(u.get('reason'))})"
    return s(u.get("method"))


def provenance(data: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    src = data.get("provenance") if isinstance(data.get("provenance"), Mapping) else {}
    restated = "; ".join(f"{s(r.get('claim'))} restates {fmt(list(r.get('restates') or []))}: kept the "
                         f"{s(r.get('kept'))}, left out {s(r.get('left_out'))}"
                         for r in (src.get("restated") or []) if isinstance(r, Mapping))
    prof = data.get("profile") or {}
    return [H2("Provenance: how this report was made"), Fields("", [
        ("Scenario", [Span("code", s(data.get("scenario"))), T(f" {s(data.get('description') or '')}")]),
        ("US action", [T(data.get("action"))] + ([Span("muted", " (profile: " + ", ".join(
            f"{str(k).replace('_', ' ')} {fmt(v)}" for k, v in prof.items()) + ")")] if prof else [])),
        ("Command", [Span("code", s(data.get("command")))]),
        ("Inputs hash", [Span("code", s(data.get("inputs_hash")))]), ("Seed", [T(data.get("seed"))]),
        ("Sampler", [T(fmt(data.get("sampler") or {}) or "—")]),
        ("Versions", [T(fmt(data.get("versions") or {}) or "—")]), ("Generated at", [T(data.get("generated_at"))]),
        ("From cache", [T(fmt(bool(data.get("from_cache"))))]),
        ("Posterior", [T(update_text(data.get("update")))]),
        ("Schema version", [T(data.get("schema_version"))]),
        ("Evidence ids", [T(fmt(list(data.get("evidence_ids") or [])) or "—")]),
        ("Article's claims before their date", [T(s(src.get("priors_before_article") or "exclude"))]),
        ("Restated sources (counted once)", [T(restated or "—")])])]
