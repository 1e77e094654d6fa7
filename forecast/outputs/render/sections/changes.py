"""Change over time: what moved since the last report, the forecast history, the "What if ...?" panel."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from forecast.outputs.render.document import (
    H2,
    Block,
    Figure,
    P,
    Panel,
    Span,
    T,
    Table,
    key_value_table,
)
from forecast.outputs.render.format import fmt, s
from forecast.outputs.render.sections.context import Ctx


def changes(data: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    ch = data.get("changes")
    if not ch:
        return []
    blocks: list[Block] = [H2("What moved since the last report")]
    if not isinstance(ch, Mapping):
        return blocks
    prev = ch.get("previous")
    if isinstance(prev, Mapping):
        how = ("is the part of the change due to one cause: its Shapley value (its average contribution over "
               "every order of adding the changes, by importance weights of one posterior; '±' its Monte "
               "Carlo error)" if "Shapley" in str(ch.get("method", "")) else
               "is the part of the change due to one cause, found by refitting the model with that cause added")
        blocks.append(P(T(f"Compared with the report generated {s(prev.get('generated_at'))} (as of "
                          f"{s(prev.get('as_of'))}, inputs {s(prev.get('inputs_hash'))[:12]}). Each "
                          f"column after 'change' {how}; the parts add up to the change.")))
    table = key_value_table(ch.get("rows"), numeric_align=True)
    if table is not None:
        blocks.append(table)
    for k, v in ch.items():
        if k not in ("rows", "figure") and isinstance(v, str | int | float):
            blocks.append(P(Span("strong", f"{k}: "), T(fmt(v))))
    if ch.get("figure"):
        blocks.append(Figure(str(ch["figure"]), "Change since the last report."))
    return blocks


def history(data: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    hist = data.get("history")
    if not (isinstance(hist, Mapping) and hist.get("figure")):
        return []
    blocks: list[Block] = [
        H2("Forecast history"),
        P(T("The forecast refitted as of each date the evidence log changed (posterior means of "
            "this scenario's top responses); dashed lines mark when each evidence entry became "
            f"known. Produced by {s(hist.get('command'))}.")),
        Figure(str(hist["figure"]), "Forecast history with evidence arrivals.")]
    arrivals = hist.get("arrivals")
    if isinstance(arrivals, Mapping) and arrivals:
        rows = [[[Span("code", s(k))], [T(v[0] if isinstance(v, list | tuple) else v)],
                 [T(v[1] if isinstance(v, list | tuple) and len(v) > 1 else "")]]
                for k, v in sorted(arrivals.items(), key=lambda kv: str(kv[1]))]
        blocks.append(Table(["Evidence", "Known on", "Summary"], rows, "lll"))
    return blocks


def whatif(data: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    """The "What if ...?" panel (HTML: interactive, from the embedded draws; Markdown: where to find it)."""
    w = data.get("whatif")
    if not isinstance(w, Mapping):
        return []
    return [H2("What if …? Hypothetical evidence"), Panel(w)]
