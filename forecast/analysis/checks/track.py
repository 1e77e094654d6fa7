"""Scoring the branch that happened: published forecasts against coded outcomes of later episodes.

An evidence episode records what Mexico did after a US action of some type. Every forecast published
earlier (``reports/history.csv``, forecasts whose ``as_of`` precedes the episode's date) for a
scenario of that action type is scored against the episode's coded responses: mean log score and
Brier score per forecast date. A scenario with no resolved episode says so.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from forecast.analysis.checks.scores import scores


def track_record(history: pd.DataFrame, episodes, scenario_actions: dict[str, str]) -> dict[str, Any]:
    """``scenario_actions``: scenario name -> its action type. Returns per scenario a list of scored
    forecast dates (or an empty list with the reason)."""
    out: dict[str, Any] = {}
    table = episodes.table
    ev = table[table["origin"] != "precedent"] if "origin" in table else table.iloc[:0]
    for scen, action in scenario_actions.items():
        resolved = ev[ev["action_type"] == action]
        rows = []
        for eid, ep in resolved.iterrows():
            coded = episodes.outcomes.loc[eid].dropna()
            date = str(ep["date"])
            h = history[(history["scenario"] == scen) & (history["kind"] == "response")
                        & (history["as_of"].astype(str) < date) & (history["id"].isin(coded.index))]
            for as_of, g in h.groupby("as_of"):
                g = g.drop_duplicates("id", keep="last")
                y = coded.loc[g["id"]].to_numpy(dtype=float)
                s = scores(y, g["mean"].to_numpy(dtype=float))
                rows.append({"episode": str(eid), "episode_date": date, "as_of": str(as_of), **s,
                             "responses": int(len(y))})
        out[scen] = {"action": action, "resolved_episodes": [str(e) for e in resolved.index], "scored": rows,
                     "note": "" if rows else ("no episode of this action type has resolved yet" if resolved.empty
                                              else "no forecast was published before the episode")}
    return out


def summary_line(rec: dict[str, Any]) -> str:
    if not rec["scored"]:
        return f"Track record: {rec['note']}."
    df = pd.DataFrame(rec["scored"])
    return (f"Track record: {len(df)} forecast(s) made before it happened ({', '.join(rec['resolved_episodes'])}) "
            f"scored mean log score {np.mean(df['log_score']):.3f}, Brier {np.mean(df['brier']):.3f} "
            f"(0.5 everywhere: log 0.693, Brier 0.250).")
