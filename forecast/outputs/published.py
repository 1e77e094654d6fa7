"""The last published brief of a scenario: what "what moved" is measured against.

A brief is published when its rows are in ``reports/history.csv`` (the record the track record scores); any
other run is a preview. ``last_published`` finds the newest published brief of a scenario (or the newest one
published on or before a date: ``report.compare_with``) and reads its ``forecast.json`` back from its folder:
the scenario's folder (``reports/<scenario>/``) or a scheduled run's dated folder (``reports/<as_of>*/<scenario>/``),
whichever holds the report generated at the published time. When no folder holds it any more, the history's own
rows stand in (means and intervals, no state: the change is shown without its attribution).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from forecast.outputs.contract import read_report
from forecast.outputs.history import history_path, read_history


def _rows(reports: Path, scenario: str, on_or_before: str | None) -> pd.DataFrame:
    df = read_history(history_path(reports))
    if df.empty:
        return df
    df = df[df["scenario"].astype(str) == scenario]
    if on_or_before is not None and not df.empty:
        df = df[df["published_at"].astype(str).str[:10] <= on_or_before]
    return df


def last_published(reports: Path, scenario: str, on_or_before: str | None = None) -> dict[str, Any] | None:
    """The newest published brief of ``scenario`` as its ``forecast.json`` (None: nothing published yet).

    ``on_or_before`` (an ISO date): the newest one published on or before that day. The returned mapping has
    ``published_folder`` (the folder, relative to ``reports``) when the report itself was found; without it, it is
    rebuilt from the history's rows (means and intervals only)."""
    reports = Path(reports)
    df = _rows(reports, scenario, on_or_before)
    if df.empty:
        return None
    when = str(df["published_at"].astype(str).max())
    rows = df[df["published_at"].astype(str) == when]
    as_of = str(rows["as_of"].iloc[0])
    candidates = [reports / scenario, *sorted(reports.glob(f"{as_of}*/{scenario}"), reverse=True)]
    for folder in candidates:
        data = read_report(folder / "forecast.json")
        if data and str(data.get("generated_at")) == when and data.get("scenario") == scenario:
            return {**data, "published_folder": str(folder.relative_to(reports))}
    out: dict[str, Any] = {"scenario": scenario, "generated_at": when, "as_of": as_of,
                           "inputs_hash": str(rows["inputs_hash"].iloc[0]), "responses": [], "composites": []}
    for _, r in rows.iterrows():
        item = {"mean": float(r["mean"]), "hdi_low": float(r["hdi_low"]), "hdi_high": float(r["hdi_high"])}
        if str(r["kind"]) == "response":
            out["responses"].append({"response": str(r["id"]), **item})
        else:
            out["composites"].append({"composite": str(r["id"]), **item})
    return out
