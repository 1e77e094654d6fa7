"""Change over time: what moved since the last report, the forecast history, the "What if ...?" panel."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from forecast.outputs.render.document import H2, Block, Cell, Figure, Items, P, Panel, Span, T, Table, Warn
from forecast.outputs.render.format import fmt, num, pct, points, s
from forecast.outputs.render.sections.context import Ctx

TINY = 0.0005  # a change below 0.05 points reads as none


def _shift(v: float | None, scale: float) -> list[Span]:
    """A bar of ``v`` against the table's largest move (HTML only), none for a part below 0.05 points."""
    return [Span("shift", "", f"{v / scale:.4f}")] if v is not None and abs(v) >= TINY else []


def _part_cell(row: Mapping[str, Any], part: str, scale: float) -> Cell:
    v = num(row.get(part))
    if v is None:
        return [T("—")]
    se = num(row.get(f"± {part}"))
    return ([T(points(v))] + ([Span("muted", f" ±{100 * se:.1f}")] if se is not None and abs(v) >= TINY else [])
            + _shift(v, scale))


def changes(data: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    """What moved since the brief this one is compared with: each response's change in points with its noise band,
    the part of each cause (an evidence entry, a changed claim, how the posterior was obtained), each change and part
    drawn as a bar from a centre line on one scale, the table's largest move (it was a figure of the three largest
    moves, which a phone showed half of)."""
    ch = data.get("changes")
    if not ch:
        return []
    blocks: list[Block] = [H2("What moved since the last published brief")]
    if not isinstance(ch, Mapping):
        return blocks
    moved = (ctx.brief.get("bottom_line") or {}).get("changed") or {}
    band = {str(m.get("id")): m.get("band_points") for m in moved.get("moves") or []}
    prev = ch.get("previous")
    if isinstance(prev, Mapping):
        when = str(prev.get("generated_at") or "").replace("T", " ").replace("+00:00", " UTC")
        how = ("Each cause's part is its Shapley value: its average contribution over every order of adding the "
               "changes, from one set of posterior draws reweighted (± its Monte Carlo standard error)."
               if "Shapley" in str(ch.get("method", "")) else
               "Each cause's part is the change it made when the model was refitted with it added, in the order "
               "the causes became known.")
        blocks.append(P(T(f"Compared with the brief published {when} (data as of {s(prev.get('as_of'))}). Changes in "
                          f"percentage points; the noise band is ±{fmt(moved.get('noise_sigmas') or 2)} Monte Carlo "
                          f"standard errors of the difference: a change inside it is not a material change. {how} "
                          "The parts add up to the change.")))
    if ch.get("note"):
        blocks.append(P(T(s(ch.get("note")))))
    parts = [str(p) for p in ch.get("parts") or []]
    shown, quiet = [], 0
    for r in ch.get("rows") or []:
        if not isinstance(r, Mapping):
            continue
        change = num(r.get("change"))
        if change is not None and abs(change) < TINY and not any(abs(num(r.get(p)) or 0) >= TINY for p in parts):
            quiet += 1
            continue
        shown.append(r)
    scale = max((abs(v) for r in shown for v in (num(r.get(k)) for k in ("change", *parts)) if v is not None),
                default=0.0)
    rows = []
    for r in shown:
        change, b = num(r.get("change")), band.get(str(r.get("id")))
        rows.append([[Span("strong", s(r.get("response")))], [T(pct(r.get("previous")))], [T(pct(r.get("current")))],
                     [Span("strong", points(change)), *_shift(change, scale)],
                     [T(f"±{b:.1f} pts" if isinstance(b, int | float) else "—")],
                     *[_part_cell(r, p, scale) for p in parts]])
    if rows:
        blocks.append(Table(["Response", "Before", "Now", "Change", "Noise band", *parts], rows,
                            "lrrrr" + "r" * len(parts)))
    if quiet and rows:
        blocks.append(P(Span("muted", f"{quiet} other response(s) moved by less than 0.05 points.")))
    elif quiet:
        blocks.append(P(T("No response moved by 0.05 points or more.")))
    if ch.get("steps"):
        blocks.append(Items([[Span("strong", s(st.get("label"))), T(f": {s(st.get('kind'))}")]
                             for st in ch["steps"] if isinstance(st, Mapping)]))
    return blocks


def history(data: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    hist = data.get("history")
    if not (isinstance(hist, Mapping) and hist.get("figure")):
        return []
    blocks: list[Block] = [
        H2("Forecast history"),
        P(T("The forecast refitted as of each date the evidence log changed (posterior means of "
            "this scenario's top responses); dashed lines mark when each evidence entry became "
            "known, numbered as the table below lists the entries; diamonds are the published briefs since. "
            f"Produced by {s(hist.get('command'))}.")),
        Figure(str(hist["figure"]), "Forecast history with evidence arrivals.")]
    if hist.get("replay_until"):
        pub = f"; the latest published brief is as of {s(hist.get('published_until'))}" \
            if hist.get("published_until") else ""
        blocks.insert(2, P(T(f"The replay runs to {s(hist.get('replay_until'))}{pub}.")))
    if hist.get("older_than_inputs"):
        missing = ", ".join(s(e) for e in hist.get("missing_evidence") or [])
        why = (f"it does not know {missing}" if missing else
               "its last date's inputs differ from this report's (the date has moved episodes out of the poll "
               "window, or the data, claims or code changed)")
        blocks.insert(3, Warn([Span("strong", "The replay is older than this report's inputs: "),
                               T(f"{why}. Run {s(hist.get('command'))} to bring it up to date.")], "caution"))
    arrivals = hist.get("arrivals")
    if isinstance(arrivals, Mapping) and arrivals:
        from forecast.outputs.figures.history import numbered_arrivals

        entries = {str(k): v if isinstance(v, list | tuple) else [v] for k, v in arrivals.items()}
        rows = [[[T(str(n))], [Span("code", s(eid))], [T(date)], [T(summary)]]
                for n, eid, date, summary in numbered_arrivals(entries)]
        blocks.append(Table(["#", "Evidence", "Known on", "Summary"], rows, "rlnl"))  # a date never wraps
    return blocks


def whatif(data: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    """The "What if ...?" panel (HTML: interactive, from the embedded draws; Markdown: where to find it)."""
    w = data.get("whatif")
    if not isinstance(w, Mapping):
        return []
    return [H2("What if …? Hypothetical evidence"), Panel(w)]
