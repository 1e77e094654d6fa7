"""Render a report's data dict as one self-contained HTML page and as Markdown.

Both formats come from the same document model (a list of blocks whose cells are lists of typed spans), so the
content is identical and escaping happens in exactly two places: ``_html_span`` (``html.escape`` on every text,
links only for http(s) URLs) and ``_md_span`` (``&``/``<``/``>``/``|``/``[``/``]`` neutralised). No template
engine, no external URL except the links to sources the reader may click. The one script is the "What if ...?"
panel's (``whatif.js``, inlined and allowed by its hash in the page's Content-Security-Policy, which forbids every
fetch); its data is a JSON block (``<`` ``>`` ``&`` escaped) and every text it shows goes in as ``textContent``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
import re
from collections.abc import Iterable, Mapping
from functools import cache
from importlib.resources import files
from typing import Any, NamedTuple
from urllib.parse import quote, urlsplit

__all__ = ["render_html", "render_markdown", "TOP_N"]

TOP_N = 5
_URL_RE = re.compile(r"https?://[^\s|<>\"'()\[\]{}]+[^\s|<>\"'()\[\]{}.,;:!?]", re.IGNORECASE)


# ---------------------------------------------------------------------- document model
class Span(NamedTuple):
    kind: str  # text, strong, code, muted, quote, link, br, bar, badge, ids
    text: str = ""
    arg: str = ""  # link: url; bar: fraction; badge: css class from a fixed set


Cell = list[Span]
Block = tuple  # ("h1"|"h2"|"p"|"warn"|"ul"|"figure"|"dl", ...) or ("table", headers, rows, align)
# align: a letter per column: l text, n text without wrapping, w wide text, r number; a trailing "*": narrow table


def T(x: Any) -> Span:  # noqa: N802 - tiny constructors read better capitalised
    return Span("text", _s(x))


def _s(x: Any) -> str:
    return "—" if x is None or (isinstance(x, float) and not math.isfinite(x)) else str(x)


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def pct(x: Any) -> str:
    v = _num(x)
    if v is None:
        return "—"
    return "<1%" if 0 < v < 0.005 else ">99%" if 0.995 < v < 1 else f"{v:.0%}"


def interval(lo: Any, hi: Any) -> str:
    a, b = _num(lo), _num(hi)
    return "—" if a is None or b is None else f"{a * 100:.0f}–{b * 100:.0f}%"


def _fmt(x: Any) -> str:
    if isinstance(x, bool):
        return "yes" if x else "no"
    if x is None:
        return _s(x)
    if isinstance(x, float):
        return _s(x) if not math.isfinite(x) else f"{x:.4g}"
    if isinstance(x, list | tuple):
        return ", ".join(_fmt(v) for v in x)
    if isinstance(x, Mapping):
        return ", ".join(f"{k}={_fmt(v)}" for k, v in x.items())
    return str(x)


def safe_url(url: Any) -> str | None:
    """The URL itself if it is an absolute http(s) URL with a host, else None."""
    if not isinstance(url, str):
        return None
    u = url.strip()
    if not u or any(ord(c) < 33 or c in "<>\"'`\\" for c in u):
        return None
    try:
        parts = urlsplit(u)
    except ValueError:
        return None
    return u if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def _link_text(url: str) -> str:
    """A short readable name for a link: its host without ``www.`` (the full URL is the href and title)."""
    host = urlsplit(url).hostname or url
    return host.removeprefix("www.")


def linkify(text: Any) -> Cell:
    """Plain text with every http(s) URL in it turned into a link; everything else stays text."""
    s = _s(text)
    out: Cell = []
    pos = 0
    for m in _URL_RE.finditer(s):
        if m.start() > pos:
            out.append(Span("text", s[pos:m.start()]))
        url = m.group(0)
        out.append(Span("link", _link_text(url), url) if safe_url(url) else Span("text", url))
        pos = m.end()
    if pos < len(s):
        out.append(Span("text", s[pos:]))
    return out or [T("—")]


def sources_cell(sources: Any) -> Cell:
    parts = sources if isinstance(sources, list | tuple) else str(sources or "").split(" | ")
    cell: Cell = []
    for i, part in enumerate(p for p in parts if str(p).strip()):
        if i:
            cell.append(Span("br"))
        cell.extend(linkify(str(part).strip()))
    return cell or [T("—")]


# ---------------------------------------------------------------------- content
def _labels(data: Mapping[str, Any]) -> dict[str, str]:
    return {str(r.get("response")): str(r.get("label") or r.get("response")) for r in data.get("responses", [])}


def _sorted_responses(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    def key(r: Mapping[str, Any]) -> float:
        m = _num(r.get("mean"))
        return 1.0 if m is None else -m

    return sorted(data.get("responses", []), key=key)


_CHECKS = (  # label, value key, threshold key, passes(value, threshold)
    ("max R-hat (response probabilities, public opinion)", "max_rhat", "max_rhat", "≤"),
    ("min bulk ESS (same)", "min_ess_bulk", "min_ess_bulk", "≥"),
    ("divergences", "divergences", "max_divergences", "≤"), ("min BFMI", "min_bfmi", "min_bfmi", "≥"),
    ("this scenario's max R-hat", "scenario_max_rhat", "max_rhat", "≤"),
    ("this scenario's min bulk ESS", "scenario_min_ess_bulk", "min_ess_bulk", "≥"),
)


def _diag_rows(d: Mapping[str, Any], thr: Mapping[str, Any]) -> list[tuple[str, Any, str, bool | None]]:
    """(check, value, threshold text, passed or None if unknown) for one diagnostics dict."""
    rows: list[tuple[str, Any, str, bool | None]] = []
    for i, (name, key, tkey, op) in enumerate(_CHECKS):
        if i >= 4 and key not in d:
            continue
        v, t = _num(d.get(key)), _num(thr.get(tkey))
        ok = None if v is None or t is None else (v <= t if op == "≤" else v >= t)
        rows.append((name, d.get(key), f"{op} {_s(thr.get(tkey))}", ok))
    rows.append(("chains × draws", f"{_s(d.get('chains'))} × {_s(d.get('draws'))}", "", None))
    return rows


def _diag_table(d: Mapping[str, Any], thr: Mapping[str, Any]) -> Block:
    rows = []
    for name, value, t, ok in _diag_rows(d, thr):
        badge = Span("badge", "n/a", "muted") if ok is None else (
            Span("badge", "pass", "ok") if ok else Span("badge", "FAIL", "fail"))
        rows.append([[T(name)], [T(_fmt(value))], [T(t or "—")], [badge]])
    return ("table", ["Check", "Value", "Threshold", "Result"], rows, "lrnl*")


def _change_phrase(mean: float | None, prior: float | None) -> str:
    if mean is None or prior is None:
        return ""
    if abs(mean - prior) < 0.05:
        return f", close to the article's {pct(prior)}"
    return f", {'up' if mean > prior else 'down'} from the article's {pct(prior)}"


_WORDS = ((0.9, "Almost certain"), (0.7, "Very likely"), (0.5, "More likely than not"), (0.3, "Quite possible"),
          (0.1, "Unlikely"), (0.0, "Very unlikely"))


def _likelihood_word(p: float | None) -> str:
    return "Unknown" if p is None else next((w for cut, w in _WORDS if p >= cut), _WORDS[-1][1])


class _Ctx(NamedTuple):
    """What every section needs: response labels, the HDI's probability and the diagnostics."""

    labels: dict[str, str]
    hdi_txt: str
    diag: Mapping[str, Any]
    thr: Mapping[str, Any]


def _context(data: Mapping[str, Any]) -> _Ctx:
    hdi = _num(data.get("hdi_prob")) or 0.9
    diag = data.get("diagnostics") or {}
    return _Ctx(_labels(data), f"{hdi:.0%}", diag, diag.get("thresholds") or {})


def _section_header(data: Mapping[str, Any], ctx: _Ctx) -> list[Block]:
    labels, hdi_txt, diag, thr = ctx
    blocks: list[Block] = [("h1", [T(data.get("title") or data.get("scenario") or "Forecast")])]
    blocks.append(("p", [T(data.get("description") or "")]))
    prof = data.get("profile") or {}
    meta = [Span("strong", "Scenario: "), Span("code", _s(data.get("scenario"))), T(" · "),
            Span("strong", "US action: "), T(data.get("action")), T(" · "),
            Span("strong", "Data as of: "), T(data.get("as_of")), T(" · "),
            Span("strong", "Generated: "), T(data.get("generated_at"))]
    if prof:
        desc = ", ".join(f"{str(k).replace('_', ' ')} {_fmt(v)}" for k, v in prof.items())
        meta += [Span("br"), Span("muted", f"Action profile: {desc}")]
    blocks.append(("p", meta))
    if diag.get("ok") is not True:
        failed = [n for n, _, _, ok in _diag_rows(diag, thr) if ok is False]
        blocks.append(("warn", [Span("strong", "WARNING: the sampler's convergence checks did not pass"),
                                T(f" ({', '.join(failed) or 'see Diagnostics'}). The numbers below may be "
                                  "unreliable; do not quote them without re-running the fit.")]))

    src = data.get("provenance") if isinstance(data.get("provenance"), Mapping) else {}
    early = list(src.get("claims_applied_before_their_date") or [])
    if early:
        blocks.append(("warn", [Span("strong", "The article's view applied before its date"),
                                T(f" (priors_before_article=apply): claims {', '.join(_s(e) for e in early)} are "
                                  f"dated after as_of {_s(data.get('as_of'))}; a forecaster then could not know "
                                  "them.")]))

    return blocks


def _section_headline(data: Mapping[str, Any], ctx: _Ctx) -> list[Block]:
    labels, hdi_txt, diag, thr = ctx
    blocks: list[Block] = []
    # headline
    rows = []
    for r in _sorted_responses(data):
        form = str(r.get("form") or "")
        badge = Span("badge", "threat", "threat") if form == "threat" else Span("badge", form or "—", "executed")
        req = r.get("requires")
        rows.append([[Span("strong", _s(r.get("label"))), Span("br"), Span("muted", _s(r.get("response")))],
                     [Span("bar", pct(r.get("mean")), _s(_num(r.get("mean")) or 0.0))],
                     [T(interval(r.get("hdi_low"), r.get("hdi_high")))],
                     [T(pct(r.get("prior_mean")))],
                     [badge],
                     [T(labels.get(str(req), str(req)))] if req else [T("—")]])
    blocks += [("h2", [T("How likely is each response?")]),
               ("p", [T(f"Probability that Mexico's government makes each response, with the {hdi_txt} credible "
                        "interval (the range that holds the true value with that probability, given the model). "
                        "“Article” is what the Brookings article alone implies. An executed response marked "
                        "“follows threat” is modelled as coming after that threat.")]),
               ("table", ["Response", "Probability", f"{hdi_txt} interval", "Article", "Type", "Follows threat"],
                rows, "lrrrll")]

    return blocks


def _section_composites(data: Mapping[str, Any], ctx: _Ctx) -> list[Block]:
    labels, hdi_txt, diag, thr = ctx
    blocks: list[Block] = []
    # composites
    comps = data.get("composites") or []
    if comps:
        crow = []
        for c in comps:
            kind = {"any_of": "any of", "all_of": "all of"}.get(str(c.get("kind")), _s(c.get("kind")))
            members = ", ".join(labels.get(str(m), str(m)) for m in c.get("members") or [])
            crow.append([[Span("strong", _s(c.get("label")))], [Span("bar", pct(c.get("mean")),
                                                                     _s(_num(c.get("mean")) or 0.0))],
                         [T(interval(c.get("hdi_low"), c.get("hdi_high")))], [T(pct(c.get("prior_mean")))],
                         [T(f"{kind}: "), Span("muted", members)]])
        blocks += [("h2", [T("Combined outcomes")]),
                   ("table", ["Outcome", "Probability", f"{hdi_txt} interval", "Article", "Made of"], crow, "lrrrl")]

    return blocks


def _section_plain_words(data: Mapping[str, Any], ctx: _Ctx) -> list[Block]:
    labels, hdi_txt, diag, thr = ctx
    blocks: list[Block] = []
    # plain language
    items = []
    top_n = data.get("top_n", TOP_N)  # report.top_n
    for i, r in enumerate(_sorted_responses(data)[:top_n if isinstance(top_n, int) and top_n >= 0 else TOP_N]):
        m, p0 = _num(r.get("mean")), _num(r.get("prior_mean"))
        lead = "Most likely of all" if i == 0 else _likelihood_word(m)
        items.append([Span("strong", f"{lead}: "), T("Mexico's response would include "),
                      Span("quote", _s(r.get("label")).lower()),
                      T(f" — {pct(m)} ({hdi_txt} credible interval "
                        f"{interval(r.get('hdi_low'), r.get('hdi_high'))}){_change_phrase(m, p0)}.")])
    if items:
        blocks += [("h2", [T("In plain words")]), ("ul", items)]

    return blocks


def _section_figures(data: Mapping[str, Any], ctx: _Ctx) -> list[Block]:
    labels, hdi_txt, diag, thr = ctx
    blocks: list[Block] = []
    # figures
    n_prec = sum(1 for p in data.get("precedents", []) if p.get("origin") != "evidence")
    n_ev = len(data.get("precedents", [])) - n_prec
    blocks += [("h2", [T("Uncertainty at a glance")]),
               ("figure", "forest", f"Each row is a response: the dot is the mean probability, the thick bar the "
                                    f"50% and the thin bar the {hdi_txt} credible interval."),
               ("h2", [T("What history changed")]),
               ("p", [T(f"Grey shows what the article alone implies (the priors); blue shows the forecast after the "
                        f"model also learned from {n_prec} historical precedents, {n_ev} recent events and the "
                        "polls. An arrow marks a shift of at least 5 points; where grey and blue sit together, "
                        "history agreed with the article.")]),
               ("figure", "prior_posterior", "Article-only prior versus posterior, per response."),
               ("h2", [T("All scenarios side by side")]),
               ("figure", "heatmap", "Mean probability of each response under every scenario; the outlined "
                                     "column is this report's scenario.")]

    return blocks


def _section_changes(data: Mapping[str, Any], ctx: _Ctx) -> list[Block]:
    labels, hdi_txt, diag, thr = ctx
    blocks: list[Block] = []
    changes = data.get("changes")
    if changes:
        blocks.append(("h2", [T("What moved since the last report")]))
        prev = changes.get("previous") if isinstance(changes, Mapping) else None
        if isinstance(prev, Mapping):
            how = ("is the part of the change due to one cause: its Shapley value (its average contribution over "
                   "every order of adding the changes, by importance weights of one posterior; '±' its Monte "
                   "Carlo error)" if "Shapley" in str(changes.get("method", "")) else
                   "is the part of the change due to one cause, found by refitting the model with that cause added")
            blocks.append(("p", [T(f"Compared with the report generated {_s(prev.get('generated_at'))} (as of "
                                   f"{_s(prev.get('as_of'))}, inputs {_s(prev.get('inputs_hash'))[:12]}). Each "
                                   f"column after 'change' {how}; the parts add up to the change.")]))
        crows = changes.get("rows") if isinstance(changes, Mapping) else None
        crows = [{str(k): v for k, v in r.items()} for r in crows or [] if isinstance(r, Mapping)]
        keys = list(dict.fromkeys(k for r in crows for k in r))
        if crows:
            body = [[[T(_fmt(r.get(k)))] for k in keys] for r in crows]
            blocks.append(("table", keys, body, "".join("r" if isinstance(crows[0].get(k), int | float) and
                                                         not isinstance(crows[0].get(k), bool) else "l"
                                                         for k in keys) + "*"))
        for k, v in (changes.items() if isinstance(changes, Mapping) else []):
            if k not in ("rows", "figure") and isinstance(v, str | int | float):
                blocks.append(("p", [Span("strong", f"{k}: "), T(_fmt(v))]))
        if isinstance(changes, Mapping) and changes.get("figure"):
            blocks.append(("figure", str(changes["figure"]), "Change since the last report."))

    return blocks


def _section_history(data: Mapping[str, Any], ctx: _Ctx) -> list[Block]:
    labels, hdi_txt, diag, thr = ctx
    blocks: list[Block] = []
    hist = data.get("history")
    if isinstance(hist, Mapping) and hist.get("figure"):
        blocks += [("h2", [T("Forecast history")]),
                   ("p", [T("The forecast refitted as of each date the evidence log changed (posterior means of "
                            "this scenario's top responses); dashed lines mark when each evidence entry became "
                            f"known. Produced by {_s(hist.get('command'))}.")]),
                   ("figure", str(hist["figure"]), "Forecast history with evidence arrivals.")]
        arrivals = hist.get("arrivals")
        if isinstance(arrivals, Mapping) and arrivals:
            arows = [[[Span("code", _s(k))], [T(v[0] if isinstance(v, list | tuple) else v)],
                      [T(v[1] if isinstance(v, list | tuple) and len(v) > 1 else "")]]
                     for k, v in sorted(arrivals.items(), key=lambda kv: str(kv[1]))]
            blocks.append(("table", ["Evidence", "Known on", "Summary"], arows, "lll"))

    return blocks


def _section_priors(data: Mapping[str, Any], ctx: _Ctx) -> list[Block]:
    labels, hdi_txt, diag, thr = ctx
    blocks: list[Block] = []
    # priors
    prow = []
    for c in data.get("claims", []):
        dist: Cell = [T(c.get("distribution"))]
        if c.get("note"):
            dist += [Span("br"), Span("muted", _s(c.get("note")))]
        origin = [T(c.get("origin"))]
        if _num(c.get("strength")) not in (None, 1.0):
            origin += [Span("muted", f" (strength {_fmt(c.get('strength'))})")]
        prow.append([[Span("code", _s(c.get("id")))], [T(c.get("constrains"))], [Span("quote", _s(c.get("quote")))],
                     [T(c.get("location")), Span("br"), *[Span("muted", s.text, s.arg) if s.kind == "text" else s
                                                          for s in linkify(c.get("source"))]],
                     dist, origin])
    blocks += [("h2", [T("The article's claims, as priors")]),
               ("table", ["ID", "Constrains", "Quote (verbatim)", "Where", "Encoded as", "Origin"], prow, "llllll")]

    return blocks


def _section_precedents(data: Mapping[str, Any], ctx: _Ctx) -> list[Block]:
    labels, hdi_txt, diag, thr = ctx
    blocks: list[Block] = []
    # precedents
    erow = []
    for p in data.get("precedents", []):
        coded = p.get("coded") or {}
        yes = [str(k) for k, v in coded.items() if _num(v) == 1]
        no = [str(k) for k, v in coded.items() if _num(v) == 0]
        cc: Cell = []
        if yes:
            cc += [Span("strong", "yes: "), Span("ids", ", ".join(yes))]
        if no:
            cc += ([Span("br")] if yes else []) + [Span("strong", "no: "), Span("ids", ", ".join(no), "muted")]
        erow.append([[Span("code", _s(p.get("id")))], [T(p.get("date"))], [T(p.get("title"))],
                     [Span("ids", _s(p.get("action_type")))], [Span("ids", _fmt(p.get("attributes") or {}), "muted")],
                     cc or [T("—")], sources_cell(p.get("sources")), [T(p.get("verified"))]])
    blocks += [("h2", [T("Precedents and evidence used")]),
               ("table", ["ID", "Date", "Event", "Action type", "Attributes", "Coded responses", "Sources",
                          "Verified"], erow, "lnlllwll")]

    return blocks


def _section_polls(data: Mapping[str, Any], ctx: _Ctx) -> list[Block]:
    labels, hdi_txt, diag, thr = ctx
    blocks: list[Block] = []
    # polls
    qrow = []
    for q in data.get("polls", []):
        qrow.append([[Span("code", _s(q.get("id")))], [T(q.get("pollster"))], [T(q.get("date"))],
                     [T(_fmt(q.get("n")))], [T(pct(q.get("share_opposed")))], [T(q.get("use"))],
                     [T(q.get("wording"))], linkify(q.get("source"))])
    if qrow:
        blocks += [("h2", [T("Polls")]),
                   ("table", ["ID", "Pollster", "Date", "n", "Opposed", "Use", "Wording", "Source"], qrow, "llnrrlll")]

    return blocks


def _section_diagnostics(data: Mapping[str, Any], ctx: _Ctx) -> list[Block]:
    labels, hdi_txt, diag, thr = ctx
    blocks: list[Block] = []
    # diagnostics
    blocks += [("h2", [T("Diagnostics")]),
               ("p", [T("Convergence checks of the posterior fit. All must pass for the numbers to be trusted.")]),
               _diag_table(diag, thr)]
    if diag.get("max_rhat_all") is not None:
        blocks += [("p", [T(f"Worst R-hat over every stored parameter, the hierarchy's scales included "
                            f"(informational): {_fmt(diag.get('max_rhat_all'))} "
                            f"({_s(diag.get('max_rhat_all_variable'))}).")])]
    if isinstance(diag.get("prior_fit"), Mapping):
        blocks += [("p", [Span("strong", "Prior fit (informational): "),
                          T("the same checks on the article-only fit that produces the grey prior intervals. They "
                            "do not gate the report.")]),
                   _diag_table(diag["prior_fit"], thr)]

    return blocks


def _section_provenance(data: Mapping[str, Any], ctx: _Ctx) -> list[Block]:
    labels, hdi_txt, diag, thr = ctx
    blocks: list[Block] = []
    # provenance
    src = data.get("provenance") if isinstance(data.get("provenance"), Mapping) else {}
    prov = [("Command", [Span("code", _s(data.get("command")))]),
            ("Inputs hash", [Span("code", _s(data.get("inputs_hash")))]), ("Seed", [T(data.get("seed"))]),
            ("Sampler", [T(_fmt(data.get("sampler") or {}) or "—")]),
            ("Versions", [T(_fmt(data.get("versions") or {}) or "—")]), ("Generated at", [T(data.get("generated_at"))]),
            ("From cache", [T(_fmt(bool(data.get("from_cache"))))]),
            ("Posterior", [T(_update_text(data.get("update")))]),
            ("Schema version", [T(data.get("schema_version"))]),
            ("Evidence ids", [T(_fmt(list(data.get("evidence_ids") or [])) or "—")]),
            ("Article's claims before their date", [T(_s(src.get("priors_before_article") or "exclude"))]),
            ("Restated sources (counted once)",
             [T("; ".join(f"{_s(r.get('claim'))} restates {_fmt(list(r.get('restates') or []))}: kept the "
                          f"{_s(r.get('kept'))}, left out {_s(r.get('left_out'))}"
                          for r in (src.get("restated") or []) if isinstance(r, Mapping)) or "—")])]
    blocks.append(("dl", prov))
    return blocks


def checks_blocks(data: Mapping[str, Any]) -> list[Block]:
    """"How good are these probabilities?": the headline of the last ``forecast check`` (reports/checks/),
    this scenario's prior-sensitivity flag next to each probability, and its track record."""
    c = data.get("checks")
    head = [("h2", [T("How good are these probabilities?")])]
    if not isinstance(c, Mapping):
        return head + [("p", [T("No model checks yet: run "), Span("code", "forecast check"),
                              T(" (back-test, calibration, predictive checks, prior sensitivity; reports/checks/).")])]
    h = c.get("headline") or {}
    out = list(head)
    bt = h.get("backtest")
    if isinstance(bt, Mapping):
        m, a, b = bt.get("model") or {}, bt.get("base_rate") or {}, bt.get("base_rate_action") or {}
        half = bt.get("half") or {}
        verdict = "beats" if _num(m.get("log_score")) is not None and _num(a.get("log_score")) is not None and \
            m["log_score"] < a["log_score"] else "does not beat"
        out.append(("p", [T(f"Back-test (each of {bt.get('cells')} coded cells of {bt.get('episodes')} episodes "
                            "predicted from the episodes before it): the model's log score "
                            f"{_fmt(m.get('log_score'))} and Brier {_fmt(m.get('brier'))} {verdict} the base rate "
                            f"(log {_fmt(a.get('log_score'))}, Brier {_fmt(a.get('brier'))}); same action type's base "
                            f"rate log {_fmt(b.get('log_score'))}, Brier {_fmt(b.get('brier'))}; 0.5 gives log "
                            f"{_fmt(half.get('log_score'))}, Brier {_fmt(half.get('brier'))}. Calibration: "
                            f"miscalibration {_fmt(h.get('miscalibration'))}, "
                            f"Spiegelhalter z {_fmt(h.get('calibration_z'))}.")]))
    loo = h.get("loo") or {}
    ppc_flags = ", ".join(h.get("ppc_flags") or []) or "no response"
    out.append(("p", [T(f"Predictive checks on the record flag: {ppc_flags}; "
                        f"PSIS-LOO elpd {_fmt(loo.get('elpd'))} (SE {_fmt(loo.get('se'))}), influential episodes: "
                        f"{', '.join(loo.get('influential') or []) or 'none'}; prior predictive flags: "
                        f"{_fmt(h.get('prior_flags'))}.")]))
    flags = c.get("flags") or {}
    tops = c.get("top_claims") or {}
    rows = []
    for r in _sorted_responses(data):
        rid = str(r.get("response"))
        diag = str(flags.get(rid) or "")
        top = ", ".join(str(t[0]) for t in (tops.get(rid) or [])[:3])
        rows.append([[T(r.get("label"))], [T(pct(r.get("mean")))],
                     [Span("badge", diag.replace("potential ", ""), "fail") if diag not in ("", "✓") else T("—")],
                     [Span("ids", top, "muted")]])
    if rows:
        out.append(("table", ["Response", "Probability", "Prior sensitivity", "Claims it depends on most"], rows,
                    "lrlw"))
    if c.get("track_record"):
        out.append(("p", [T(str(c["track_record"]))]))
    if data.get("checks_figure"):
        out.append(("figure", "checks_reliability", "Back-test reliability diagram (from forecast check)"))
    out.append(("p", [Span("muted", f"From forecast check as of {_s(c.get('as_of'))} "
                                    f"(posterior {_s(c.get('inputs_hash'))}); "
                                    f"the full checks: reports/{_s(c.get('link'))}")]))
    return out


def _section_whatif(data: Mapping[str, Any], ctx: _Ctx) -> list[Block]:
    """The "What if ...?" panel (HTML: interactive, from the embedded draws; Markdown: where to find it)."""
    w = data.get("whatif")
    if not isinstance(w, Mapping):
        return []
    return [("h2", [T("What if …? Hypothetical evidence")]), ("whatif", w)]


def _update_text(u: Any) -> str:
    """How the posterior was obtained: cache hit, exact fit/refit (why), or a PSIS update (k, ESS)."""
    if not isinstance(u, Mapping):
        return "—"
    if u.get("method") == "psis":
        prior = f", prior k {_fmt(u.get('prior_pareto_k'))}" if u.get("prior_pareto_k") is not None else ""
        return (f"PSIS update of cached posterior {_s(u.get('base_hash'))} by {_fmt(u.get('changes') or []) or '—'}: "
                f"Pareto k {_fmt(u.get('pareto_k'))}{prior} (<= {_fmt(u.get('k_max'))}), ESS of the weights "
                f"{_fmt(u.get('ess_weights'))} of {_fmt(u.get('draws'))} draws; importance-weighted means, "
                "intervals and composites (update=refit for the exact fit)")
    if u.get("method") == "refit":
        return f"exact fit ({_s(u.get('reason'))})"
    return _s(u.get("method"))


# the report, top to bottom: a new section is a function (data, ctx) -> blocks added here
SECTIONS = (
    _section_header,
    _section_headline,
    _section_composites,
    _section_plain_words,
    _section_figures,
    _section_changes,
    _section_whatif,
    lambda data, ctx: _analysts_blocks(data),
    _section_history,
    lambda data, ctx: checks_blocks(data),
    _section_priors,
    _section_precedents,
    _section_polls,
    _section_diagnostics,
    _section_provenance,
)


def build_document(data: Mapping[str, Any]) -> list[Block]:
    """The report as blocks, shared by the HTML and Markdown renderers."""
    ctx = _context(data)
    return [block for section in SECTIONS for block in section(data, ctx)]


# ---------------------------------------------------------------------- HTML
_BADGES = {"threat", "executed", "ok", "fail", "muted"}
_CSS = """
:root{--fg:#1d2433;--muted:#5b6472;--line:#d9dee7;--accent:#1f5fa8;--zebra:#f5f7fb}
*{box-sizing:border-box}
body{margin:0;background:#fff;color:var(--fg);font:16px/1.5 -apple-system,"Segoe UI",Roboto,Arial,sans-serif}
main{max-width:1180px;margin:0 auto;padding:24px 28px 48px}
h1{font-size:1.9rem;line-height:1.2;margin:.2em 0 .4em}
h2{font-size:1.3rem;margin:2em 0 .5em;padding-bottom:.2em;border-bottom:2px solid var(--line)}
p{margin:.5em 0}.muted{color:var(--muted);font-size:.88em}q{font-style:italic}
code{font:.86em ui-monospace,Menlo,Consolas,monospace;background:#eef1f6;padding:0 .25em;border-radius:3px;
overflow-wrap:break-word}
a{color:var(--accent);overflow-wrap:break-word}
.warn{background:#fdecea;border:2px solid #c62828;color:#7f1010;padding:12px 16px;border-radius:6px;margin:1em 0;
font-size:1.05rem}
.table-wrap{overflow-x:auto;margin:.6em 0 1em}
table{border-collapse:collapse;width:100%;font-size:.93rem}table.narrow{width:auto;min-width:50%}
th,td{border-bottom:1px solid var(--line);padding:6px 8px;text-align:left;vertical-align:top}
th{background:#e9eef6;font-weight:600;white-space:nowrap}tbody tr:nth-child(even){background:var(--zebra)}
td.num,th.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}td.nw{white-space:nowrap}
td.wide{min-width:17em}
.bar{display:inline-flex;align-items:center;gap:6px}.bar b{min-width:3.2em;text-align:right}
.bar .track{display:inline-block;width:90px;height:10px;background:#e3e8f0;border-radius:5px;overflow:hidden}
.bar .fill{display:block;height:100%;background:var(--accent)}
.badge{display:inline-block;padding:0 .5em;border-radius:9px;font-size:.8em;font-weight:600;white-space:nowrap}
.badge.threat{background:#fff1d6;color:#8a5a00;border:1px solid #e7b75f}
.badge.executed{background:#e3eefc;color:#184f8f;border:1px solid #9dbde6}
.badge.ok{background:#e3f5e6;color:#1f6b2c}.badge.fail{background:#c62828;color:#fff}
.badge.muted{background:#eceff3;color:var(--muted)}
ul.plain li{margin:.35em 0}figure{margin:1em 0}
figure img{max-width:100%;height:auto;border:1px solid var(--line);border-radius:4px}
figcaption{color:var(--muted);font-size:.9em;margin-top:.3em}
footer{margin-top:2.5em;padding-top:1em;border-top:2px solid var(--line);font-size:.88rem;color:var(--muted)}
footer dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0}
footer dt{font-weight:600;color:var(--fg)}footer dd{margin:0;overflow-wrap:anywhere}
@media print{.table-wrap{overflow:visible}main{max-width:none}}
.whatif{border:2px dashed #8a5a00;border-radius:8px;padding:4px 16px 12px;background:#fffaf0}
.wi-banner{background:#fff1d6;border-left:4px solid #e7b75f;padding:6px 10px}
.wi-row{display:flex;flex-wrap:wrap;gap:8px 18px;align-items:flex-end;margin:.5em 0}
.wi-field{display:flex;flex-direction:column;font-size:.88rem}.wi-field span{color:var(--muted)}
.wi-grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(15em,1fr));gap:6px 14px;width:100%}
.wi-error{color:#7f1010;font-weight:600;min-height:1.2em}.wi-items li{margin:.3em 0}
.whatif pre{white-space:pre-wrap;overflow-wrap:anywhere;font:.82em ui-monospace,Menlo,Consolas,monospace}
.whatif button{margin:.2em .4em}.whatif [hidden]{display:none!important}
.wi-unreliable td:nth-child(n+4){color:#9aa0a8;text-decoration:line-through}
"""


_HTML_WRAP = {"strong": "<strong>{}</strong>", "code": "<code>{}</code>", "muted": '<span class="muted">{}</span>',
              "quote": "<q>{}</q>"}


def _analysts_blocks(data: Mapping[str, Any]) -> list[Block]:
    """The analysts' section (present only when the run selected analysts=[...])."""
    sec = data.get("analysts")
    if not isinstance(sec, Mapping) or not sec.get("rows"):
        return []
    names = [str(a.get("analyst")) for a in sec.get("analysts") or [] if isinstance(a, Mapping)]
    weights = sec.get("weights") or {}
    blocks: list[Block] = [("h2", [T("Analysts' judgements, pooled")])]
    blocks.append(("p", [T(f"Each analyst's forecast uses the article's claims with that analyst's dated judgements "
                           f"added or revising them; the pool combines them ({_s(sec.get('pool'))} pool, weights "
                           + ", ".join(f"{a} {_fmt(weights.get(a))}" for a in names) + "). "),
                         Span("muted", f"Rules: {_s(sec.get('sources'))}. The headline above is the article's "
                                       "forecast; this section does not replace it.")]))
    arow = [[[Span("code", _s(a.get("analyst")))], [T(", ".join(a.get("authors") or []))],
             [T(_fmt(a.get("weight")))], [T(_s(a.get("n_judgements")))], [Span("muted", _s(a.get("method")))]]
            for a in sec.get("analysts") or [] if isinstance(a, Mapping)]
    arow.append([[Span("strong", "pool")], [T("")], [T("1")], [T("")], [Span("muted", _s(sec.get("pooled_method")))]])
    blocks.append(("table", ["Analyst", "Author", "Weight", "Judgements", "Computed by"], arow, "llrrl"))
    rows = []
    for r in sec.get("rows") or []:
        if not isinstance(r, Mapping):
            continue
        by = r.get("analysts") or {}
        moved: Cell = [T("—")]
        if r.get("moved_most_by"):
            moved = [Span("code", _s(r.get("moved_most_by"))), Span("muted", f" {_fmt(r.get('moved_most_change'))}")]
        rows.append([[Span("strong", _s(r.get("label")))], [T(pct(r.get("article_prior")))], [T(pct(r.get("article")))],
                     *[[T(pct(by.get(a)))] for a in names],
                     [Span("bar", pct(r.get("pooled")), _s(_num(r.get("pooled")) or 0.0))],
                     [T(interval(r.get("pooled_low"), r.get("pooled_high")))], moved])
    blocks += [("p", [T("Per response, most disputed first: the article-only prior, the article's forecast (the "
                        "headline), each analyst's forecast, the pool with its "), T(_s(sec.get("interval"))),
                      T(", and the judgement whose removal would move the pool most (with the change it makes).")]),
               ("table", ["Response", "Article prior", "Article", *names, "Pooled", "Interval", "Moves the pool most"],
                rows, "l" + "r" * (len(names) + 4) + "l*")]
    crow = [[[Span("strong", _s(c.get("label")))], [T(pct(c.get("article")))],
             *[[T(pct((c.get("analysts") or {}).get(a)))] for a in names], [T(pct(c.get("pooled")))]]
            for c in sec.get("composites") or [] if isinstance(c, Mapping)]
    if crow:
        blocks.append(("table", ["Combined outcome", "Article", *names, "Pooled"], crow, "l" + "r" * (len(names) + 2)))
    if sec.get("figure"):
        blocks.append(("figure", str(sec["figure"]), "Where the analysts disagree: article-only prior (grey tick), "
                                                     "article forecast (circle), analysts (triangles), pool "
                                                     "(diamond, with its interval)."))
    jrow = []
    for j in sec.get("judgements") or []:
        if not isinstance(j, Mapping):
            continue
        art = j.get("article") if isinstance(j.get("article"), Mapping) else None
        art_cell: Cell = [T("— (adds a constraint)")]
        if art:
            art_cell = [Span("code", _s(j.get("replaces"))), T(f" {_s(art.get('distribution'))}"), Span("br"),
                        Span("quote", _s(art.get("quote")))]
        src: Cell = []
        for s_ in j.get("sources") or []:
            src += [*linkify(s_), Span("br")]
        jrow.append([[Span("code", f"{_s(j.get('analyst'))}/{_s(j.get('id'))}"), Span("br"),
                      Span("muted", f"{_s(j.get('author'))}, {_s(j.get('date_made'))}")],
                     [T(j.get("constrains"))], art_cell, [T(j.get("distribution"))],
                     [Span("quote", _s(j.get("rationale")))], src[:-1] or [T("—")]])
    blocks += [("p", [T("The judgements, beside the article's claim each one revises (a revision never replaces "
                        "the article's claim in the headline):")]),
               ("table", ["Judgement", "Constrains", "Article's claim", "Analyst's revision", "Rationale", "Sources"],
                jrow, "llwlwl")]
    ch = sec.get("changes")
    if isinstance(ch, Mapping):
        blocks.append(("p", [Span("strong", "What moved the pool since the last report"),
                             T(f" (generated {_s(ch.get('previous_generated_at'))}; "
                               f"{_s(ch.get('order') or ch.get('note'))}):")]))
        crows = [{str(k): v for k, v in r.items()} for r in ch.get("rows") or [] if isinstance(r, Mapping)]
        keys = list(dict.fromkeys(k for r in crows for k in r))
        if crows:
            blocks.append(("table", keys, [[[T(_fmt(r.get(k)))] for k in keys] for r in crows],
                           "l" + "r" * (len(keys) - 1) + "*"))
    return blocks


def _html_span(sp: Span) -> str:
    e = html.escape(sp.text, quote=True)
    if sp.kind in _HTML_WRAP:
        return _HTML_WRAP[sp.kind].format(e)
    if sp.kind == "ids":  # snake_case identifiers: allow line breaks after underscores
        e = e.replace("_", "_<wbr>")
        return _HTML_WRAP["muted"].format(e) if sp.arg == "muted" else e
    if sp.kind == "br":
        return "<br>"
    if sp.kind == "link":
        url = safe_url(sp.arg)
        if url is None:
            return e
        href = html.escape(url, quote=True)
        return f'<a href="{href}" title="{href}" rel="noopener noreferrer">{e}</a>'
    if sp.kind == "bar":
        frac = min(1.0, max(0.0, _num(sp.arg) or 0.0))
        return (f'<span class="bar"><b>{e}</b><span class="track" aria-hidden="true">'
                f'<span class="fill" style="width:{frac * 100:.1f}%"></span></span></span>')
    if sp.kind == "badge":
        return f'<span class="badge {sp.arg if sp.arg in _BADGES else "muted"}">{e}</span>'
    return e


def _html_cell(cell: Iterable[Span]) -> str:
    return "".join(_html_span(s) for s in cell)


def _html_figure(name: str, caption: str, figures: Mapping[str, bytes]) -> str:
    png = figures.get(name)
    if not isinstance(png, bytes | bytearray) or not png:
        return ""
    b64 = base64.b64encode(bytes(png)).decode("ascii")
    cap = html.escape(caption, quote=True)
    return (f'<figure><img src="data:image/png;base64,{b64}" alt="{cap}" loading="eager">'
            f"<figcaption>{cap}</figcaption></figure>")


_HTML_BLOCK = {"h1": "<h1>{}</h1>", "h2": "<h2>{}</h2>", "p": "<p>{}</p>",
               "warn": '<div class="warn" role="alert">{}</div>'}
_TD_CLASS = {"r": ' class="num"', "n": ' class="nw"', "w": ' class="wide"'}


@cache
def whatif_script() -> str:
    """The panel's JavaScript (forecast/outputs/whatif.js, package data)."""
    js = files("forecast.outputs").joinpath("whatif.js").read_text(encoding="utf-8")
    if "</script" in js.lower() or "<!--" in js:
        raise ValueError("whatif.js must not contain '</script' or '<!--' (it is inlined into report.html)")
    return js


def json_for_script(obj: Any) -> str:
    """JSON safe inside a ``<script type="application/json">`` block: ASCII only, ``<`` ``>`` ``&`` escaped, so
    no text from the data can end the block or open a comment."""
    text = json.dumps(obj, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _whatif_html(summary: Mapping[str, Any], payload: Mapping[str, Any] | None) -> str:
    """The panel: the labels and the explanation from Python (escaped), the controls built by whatif.js."""
    e = lambda x: html.escape(_s(x), quote=True)  # noqa: E731
    example = e(summary.get("command"))
    banner = (f'<p class="wi-banner"><strong>Hypothetical.</strong> Nothing entered here is saved, sent or added to '
              f"the evidence log, and none of it is in the forecast above. Each item reweights "
              f"{e(summary.get('draws'))} of the report's {e(summary.get('of_draws'))} posterior draws by its "
              "likelihood (importance sampling, Pareto-smoothed, as the tool updates a cached posterior): an "
              "approximation that a refit with the evidence entered for real would replace by the exact answer, up to "
              "Monte Carlo error. Where the Pareto k exceeds 0.7 the panel says the answer is unreliable and prints "
              "the commands for that refit.</p>")
    if payload is None:
        return (f'<section class="whatif" id="whatif">{banner}<p>This report was written without the draws the panel '
                f"needs (report.whatif_draws=0). From the command line: <code>{example}</code></p></section>")
    return (f'<section class="whatif" id="whatif" aria-label="What if: hypothetical evidence">{banner}'
            "<noscript><p>The panel needs JavaScript (it runs inside this file and fetches nothing). The same numbers "
            f"from the command line: <code>{example}</code></p></noscript>"
            '<div id="whatif-app"></div>'
            f'<script type="application/json" id="whatif-data">{json_for_script(payload)}</script>'
            f"<script>{whatif_script()}</script></section>")


def _csp(script: bool) -> str:
    """The page's Content-Security-Policy: nothing fetched; the panel's inline script allowed by its hash only."""
    policy = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
    if script:
        digest = base64.b64encode(hashlib.sha256(whatif_script().encode("utf-8")).digest()).decode("ascii")
        policy += f"; script-src 'sha256-{digest}'"
    return policy


def render_html(data: dict[str, Any], figures: dict[str, bytes], blocks: list[Block] | None = None,
                whatif: Mapping[str, Any] | None = None) -> str:
    """One self-contained HTML page: inline CSS, figures as data: URIs, no external resources; the only script is
    the "What if ...?" panel's, with ``whatif`` (forecast.analysis.whatif.payload) as its data.
    ``blocks``: another document (the checks report) rendered the same way."""
    out: list[str] = []
    script = False
    for block in build_document(data) if blocks is None else blocks:
        kind = block[0]
        if kind in _HTML_BLOCK:
            out.append(_HTML_BLOCK[kind].format(_html_cell(block[1])))
        elif kind == "ul":
            out.append('<ul class="plain">' + "".join(f"<li>{_html_cell(i)}</li>" for i in block[1]) + "</ul>")
        elif kind == "table":
            _, headers, rows, align = block
            head = "".join(f"<th{_TD_CLASS['r'] if align[j:j + 1] == 'r' else ''}>{html.escape(h, quote=True)}</th>"
                           for j, h in enumerate(headers))
            body = "".join("<tr>" + "".join(f"<td{_TD_CLASS.get(align[j:j + 1], '')}>{_html_cell(c)}</td>"
                                            for j, c in enumerate(r)) + "</tr>" for r in rows)
            narrow = ' class="narrow"' if align.endswith("*") else ""
            out.append(f'<div class="table-wrap"><table{narrow}><thead><tr>{head}</tr></thead><tbody>{body}</tbody>'
                       "</table></div>")
        elif kind == "figure":
            out.append(_html_figure(block[1], block[2], figures))
        elif kind == "dl":
            items = "".join(f"<dt>{html.escape(k, quote=True)}</dt><dd>{_html_cell(v)}</dd>" for k, v in block[1])
            out.append(f"<footer><h2>Provenance</h2><dl>{items}</dl></footer>")
        elif kind == "whatif":
            out.append(_whatif_html(block[1], whatif))
            script = script or whatif is not None
    title = html.escape(f"Forecast: {_s(data.get('title') or data.get('scenario'))}", quote=True)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{_csp(script)}\">"
            f"<title>{title}</title><style>{_CSS}</style></head>\n<body><main>\n"
            + "\n".join(x for x in out if x) + "\n</main></body></html>\n")


# ---------------------------------------------------------------------- Markdown
def md_escape(text: str) -> str:
    """Inert Markdown text: no raw HTML, no links, emphasis or table breaks smuggled in from data, and no block
    structure: text that begins with ``# ``, ``> ``, ``- ``, ``+ ``, ``* ``, ``1. ``, ``~~~`` or ``___`` stays text
    (it may open a line: a paragraph, a list item or the first span of a heading)."""
    s = text.replace("\\", "\\\\").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = s.replace("|", "\\|").replace("[", "\\[").replace("]", "\\]").replace("`", "\\`")
    s = s.replace("*", "\\*").replace("~", "\\~")
    s = re.sub(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])", r"\\_", s)  # emphasis, not snake_case ids
    s = re.sub(r"\s+", " ", s)
    # block markers where the text may start a line: headings, list items, ordered items, breaks, setext
    s = re.sub(r"^(\s?)([#=]|[-+](?=\s|$|[-+]))", r"\1\\\2", s)
    return re.sub(r"^(\s?\d{1,9})([.)])(?=\s|$)", r"\1\\\2", s)


def _wrap(text: str, mark: str) -> str:
    """``mark``-delimited emphasis with edge spaces kept outside (``** x**`` is not emphasis in Markdown)."""
    core = text.strip()
    if not core:
        return text
    lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()):]
    return f"{lead}{mark}{core}{mark}{trail}"


def _md_url(url: str) -> str:
    return quote(url, safe="/:?#=&%+,;@!$*~.-_")


def _md_span(sp: Span) -> str:
    e = md_escape(sp.text)
    if sp.kind == "strong":
        return _wrap(e, "**")
    if sp.kind == "muted" or (sp.kind == "ids" and sp.arg == "muted"):
        return _wrap(e, "*")
    if sp.kind == "link" and (url := safe_url(sp.arg)):
        return f"[{e}]({_md_url(url)})"
    return {"quote": f"“{e}”", "br": "<br>", "badge": f"_{e}_"}.get(sp.kind, e)


def _md_cell(cell: Iterable[Span], *, inline: bool = False) -> str:
    s = "".join(_md_span(x) for x in cell)
    return s.replace("<br>", " · ") if inline else s


_MD_BLOCK = {"h1": "# {}", "h2": "## {}", "p": "{}", "warn": "> ⚠️ {}"}


def render_markdown(data: dict[str, Any], figure_files: dict[str, str], blocks: list[Block] | None = None) -> str:
    """The same report as Markdown (pipe tables, figures as relative paths) for pasting into briefs."""
    out: list[str] = []
    for block in build_document(data) if blocks is None else blocks:
        kind = block[0]
        if kind in _MD_BLOCK:
            out.append(_MD_BLOCK[kind].format(_md_cell(block[1], inline=True)))
        elif kind == "ul":
            out.append("\n".join(f"- {_md_cell(i, inline=True)}" for i in block[1]))
        elif kind == "table":
            _, headers, rows, align = block
            lines = ["| " + " | ".join(md_escape(h) for h in headers) + " |",
                     "|" + "|".join("---:" if align[j:j + 1] == "r" else "---" for j in range(len(headers))) + "|"]
            lines += ["| " + " | ".join(_md_cell(c) or " " for c in r) + " |" for r in rows]
            out.append("\n".join(lines))
        elif kind == "figure" and (path := figure_files.get(block[1])):
            out.append(f"![{md_escape(block[2])}]({_md_url(str(path))})\n\n*{md_escape(block[2])}*")
        elif kind == "whatif":
            w = block[1]
            out.append(md_escape(f"Hypothetical evidence (a new poll, an episode, a judgement about one cell) can be "
                                 f"tried in report.html's interactive panel, which reweights {_s(w.get('draws'))} of "
                                 f"the {_s(w.get('of_draws'))} posterior draws and saves nothing; the same numbers "
                                 "from the command line:") + f" `{_s(w.get('command')).replace('`', "'")}`")
        elif kind == "dl":
            out.append("## Provenance\n\n" + "\n".join(f"- **{md_escape(k)}**: {_md_cell(v, inline=True)}"
                                                        for k, v in block[1]))
    return "\n\n".join(x for x in out if x) + "\n"
