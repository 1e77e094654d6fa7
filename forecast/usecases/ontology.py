"""``forecast responses`` and ``forecast actions``: the ids a command takes, with what each means.

Every response, combined outcome and US action type of ``data/ontology/`` with its label and definition, in the
file's order: what ``--response``, ``--action-type``, ``whatif --episode`` and the question file name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from forecast.inputs.data import load_ontology
from forecast.usecases.evidence import data_dir


def responses(*, data: str | Path | None = None) -> list[dict[str, Any]]:
    """Each response (``kind`` response: its form, the threat it follows, its escalation rank) and each combined
    outcome (``kind`` composite: any or all of its members), with label and definition."""
    ont = load_ontology(data_dir(data))
    out: list[dict[str, Any]] = []
    for rid, row in ont.responses.iterrows():
        out.append({"id": str(rid), "kind": "response", "label": str(row["label"]),
                    "definition": str(row.get("description") or ""), "form": str(row["form"]),
                    "requires": str(row["requires"] or "") or None, "escalation_rank": int(row["escalation_rank"])})
    for cid, spec in ont.composites.items():
        joint = "at least one of" if spec["kind"] == "any_of" else "all of"
        out.append({"id": str(cid), "kind": "composite", "label": str(spec["label"]),
                    "definition": f"{joint}: {', '.join(spec['members'])}", "members": list(spec["members"])})
    return out


def actions(*, data: str | Path | None = None) -> list[dict[str, Any]]:
    """Each US action type with its label, definition and attributes."""
    ont = load_ontology(data_dir(data))
    return [{"id": str(aid), "label": str(row["label"]), "definition": str(row.get("description") or ""),
             "attributes": {a: (row[a].item() if hasattr(row[a], "item") else row[a]) for a in ont.attributes}}
            for aid, row in ont.actions.iterrows()]
