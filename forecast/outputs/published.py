"""Published briefs: what "what moved" is measured against, and what the track record scores.

A brief is published when its rows are in ``reports/history.csv``: ``forecast scheduled`` and a run with
``publish=true`` commit them together with their reports (``forecast.publication.Publication``); every other run is a
preview and adds no row. ``last_published`` finds the newest published brief of a scenario (or the newest one
published on or before a date) and reads its ``forecast.json`` back from wherever it is kept:

- a scheduled run's dated folder ``reports/<as_of>[-<hash>]/<scenario>/`` (never overwritten);
- the scenario's folder ``reports/<scenario>/`` while no preview has replaced it;
- the archive ``reports/published/<scenario>/<time>.json``, where a ``publish=true`` run keeps each published
  ``forecast.json`` (a later preview replaces the scenario's folder, never the archive).

The report found is the one generated at the published time. When none is found (an archive deleted by hand),
the history's own rows stand in: means and intervals, no state (the change is then shown without its causes).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from forecast.outputs.contract import DATED_FOLDER, REPORT_FILE, read_report
from forecast.outputs.history import history_path, read_history

ARCHIVE = "published"  # reports/published/<scenario>/<time>.json


def archive_path(reports: Path, scenario: str, generated_at: str) -> Path:
    """Where a ``publish=true`` run keeps a published ``forecast.json``: one file per publication, by its time."""
    stamp = re.sub(r"[^0-9T]", "", str(generated_at).split("+")[0])
    return Path(reports) / ARCHIVE / scenario / f"{stamp}Z.json"


def published_briefs(reports: Path, scenario: str, on_or_before: str | None = None) -> pd.DataFrame:
    """Every publication of ``scenario`` (``published_at``, ``as_of``, ``inputs_hash``, ``report``), newest first;
    ``on_or_before`` (an ISO date): those published on or before that day. A damaged history refuses in one
    line (``forecast.outputs.history.check_history``)."""
    df = read_history(history_path(reports))
    cols = ["published_at", "as_of", "inputs_hash", "report"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    df = df[df["scenario"].astype(str) == scenario]
    if on_or_before is not None:
        df = df[df["published_at"].astype(str).str[:10] <= on_or_before]
    out = df[cols].astype(str).drop_duplicates("published_at")
    return out.sort_values("published_at", ascending=False).reset_index(drop=True)


def _candidates(reports: Path, scenario: str, as_of: str, published_at: str) -> list[Path]:
    """The forecast.json files that may hold the brief published at ``published_at``: its copy in the archive
    first (a later preview replaces the scenario's folder, never the archive, so a report that names where its
    compared brief was found stays true), then the dated folders and the scenario's folder (briefs published
    before the archive existed)."""
    dated = sorted((p for p in reports.glob(f"{as_of}*/{scenario}/{REPORT_FILE}")
                    if DATED_FOLDER.fullmatch(p.parent.parent.name)), reverse=True)
    return [archive_path(reports, scenario, published_at), *dated, reports / scenario / REPORT_FILE]


def last_published(reports: Path, scenario: str, on_or_before: str | None = None) -> dict[str, Any] | None:
    """The newest published brief of ``scenario`` as its ``forecast.json`` (None: nothing published yet).

    ``on_or_before`` (an ISO date): the newest one published on or before that day. The returned mapping has
    ``published_folder`` (where it was found, relative to ``reports``) when the report itself was found; without
    it, it is rebuilt from the history's rows (means and intervals only)."""
    reports = Path(reports)
    briefs = published_briefs(reports, scenario, on_or_before)
    if briefs.empty:
        return None
    when, as_of, inputs_hash = (str(briefs.at[0, k]) for k in ("published_at", "as_of", "inputs_hash"))
    for path in _candidates(reports, scenario, as_of, when):
        data = read_report(path) if path.is_file() else None
        if data and str(data.get("generated_at")) == when and data.get("scenario") == scenario:
            folder = path.parent if path.name == REPORT_FILE else path
            return {**data, "published_folder": str(folder.relative_to(reports))}
    rows = read_history(history_path(reports))
    rows = rows[(rows["scenario"].astype(str) == scenario) & (rows["published_at"].astype(str) == when)]
    out: dict[str, Any] = {"scenario": scenario, "generated_at": when, "as_of": as_of, "inputs_hash": inputs_hash,
                           "responses": [], "composites": []}
    for _, r in rows.iterrows():
        item = {"mean": float(r["mean"]), "hdi_low": float(r["hdi_low"]), "hdi_high": float(r["hdi_high"]),
                "hdi_prob": float(r["hdi_prob"])}
        if str(r["kind"]) == "response":
            out["responses"].append({"response": str(r["id"]), **item})
        else:
            out["composites"].append({"composite": str(r["id"]), **item})
    return out


def published_rows(reports: Path, scenario: str) -> Any:
    """The scenario's published briefs from the forecast history (as_of, response, mean), the latest per day."""
    df = read_history(history_path(reports))
    if df.empty:
        return None
    df = df[(df["scenario"].astype(str) == scenario) & (df["kind"].astype(str) == "response")]
    if df.empty:
        return None
    df = df.sort_values("published_at").drop_duplicates(["as_of", "id"], keep="last")
    return pd.DataFrame({"as_of": df["as_of"].astype(str), "response": df["id"].astype(str),
                         "mean": df["mean"].astype(float), "published_at": df["published_at"].astype(str)})
