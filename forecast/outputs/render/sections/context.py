"""What every section needs from the report data, computed once per page."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from forecast.outputs.render.format import num


class Ctx(NamedTuple):
    """Response labels by id, the credible interval's probability as text, the diagnostics and their thresholds,
    the brief (question, definitions, scale, bottom line: ``data["brief"]``, empty for an older report)."""

    labels: dict[str, str]
    hdi_txt: str
    diag: Mapping[str, Any]
    thr: Mapping[str, Any]
    brief: Mapping[str, Any] = {}

    def definition(self, ident: Any) -> str:
        d = (self.brief.get("definitions") or {}).get(str(ident)) or {}
        return str(d.get("definition") or "")

    def word(self, ident: Any) -> str:
        return str((self.brief.get("words") or {}).get(str(ident)) or "")

    def action(self, ident: Any) -> str:
        """An action type's label (its id when the brief does not have it)."""
        return str((self.brief.get("actions") or {}).get(str(ident)) or ident)


def claim_names(data: Mapping[str, Any]) -> dict[str, str]:
    """One name per claim, wherever a claim is named: its id and its short name in words ("C28 hostile without
    consent"), looked up by id or by name."""
    out: dict[str, str] = {}
    for c in data.get("claims") or []:
        if not isinstance(c, Mapping):
            continue
        shown = f"{c.get('id')} {str(c.get('name') or '').replace('_', ' ')}".strip()
        for key in (c.get("id"), c.get("name")):
            if key:
                out[str(key)] = shown
    return out


def context(data: Mapping[str, Any]) -> Ctx:
    hdi = num(data.get("hdi_prob")) or 0.9
    diag = data.get("diagnostics") or {}
    labels = {str(r.get("response")): str(r.get("label") or r.get("response")) for r in data.get("responses", [])}
    brief = data.get("brief") if isinstance(data.get("brief"), Mapping) else {}
    return Ctx(labels, f"{hdi:.0%}", diag, diag.get("thresholds") or {}, brief)


def sorted_responses(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The responses, most probable first (a response without a mean last)."""

    def key(r: Mapping[str, Any]) -> float:
        m = num(r.get("mean"))
        return 1.0 if m is None else -m

    return sorted(data.get("responses", []), key=key)
