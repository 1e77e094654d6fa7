"""The evidence replay: the forecast refitted as of each date the evidence log changed.

``replay`` refits the model as of each date (each fit cached by its inputs hash; with ``update=auto``
a date that only adds evidence to a cached fit is a PSIS update of it when its Pareto k <= 0.7,
recorded per row, so each row is at most one reweighting away from an exact fit) and tabulates every
scenario's responses; ``write_replay`` stores ``reports/history_replay.csv``; ``history_figure`` draws
each scenario's top responses over time with a mark where each evidence entry arrived. Reports embed
that figure when the replay exists (``replay_section``).
"""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pandas as pd
from omegaconf import OmegaConf

from forecast.files import atomic_write_file, move_aside
from forecast.inputs import config as _config
from forecast.inputs.config import scenario_profiles
from forecast.inputs.evidence import load_evidence
from forecast.inputs.load import load_inputs
from forecast.model.fit import fit_config
from forecast.model.predict import predict
from forecast.model.update import weighted_mean
from forecast.safe_text import csv_frame

REPLAY_FILE = "history_replay.csv"
ARTICLE_DATE = "2026-01-16"  # the Brookings commentary: written 10-16 Jan 2026 (research/claims.md)


def replay_dates(cfg, inputs_all, start: str = ARTICLE_DATE) -> list[dt.date]:
    """The article's date, then every date the evidence log changed, up to as_of."""
    today = dt.date.today()
    as_of = _config.as_of_date(cfg, today)
    ev = load_evidence(_config.paths(cfg)["data"] / "evidence", inputs_all.ontology, today, as_of)
    first = dt.date.fromisoformat(start)
    dates = {first} | {e.date_known for e in ev.entries if e.date_known >= first}
    return sorted(d for d in dates if d <= as_of)


def replay(cfg, scenarios: list[str] | None = None, start: str = ARTICLE_DATE, say=None) -> pd.DataFrame:
    """Refit as of each evidence date (cached) and tabulate every scenario's responses."""
    today = dt.date.today()
    base = load_inputs(cfg)
    names = scenarios or _config.list_scenarios()
    sc = scenario_profiles(cfg, base.ontology, names)
    rows = []
    ev = load_evidence(_config.paths(cfg)["data"] / "evidence", base.ontology, today)
    arrivals = {e.id: (e.date_known.isoformat(), e.summary) for e in ev.entries}
    for d in replay_dates(cfg, base, start):
        c = as_of_config(cfg, d)
        inputs = load_inputs(c)
        fitted = fit_config(c, inputs)
        if say:
            how = ("cache hit" if fitted.from_cache else
                   f"PSIS update (k {fitted.update['pareto_k']})" if fitted.weights is not None else "fitted")
            say(f"replay as of {d}: {how} {fitted.inputs_hash}")
        pred = predict(fitted.idata, inputs.ontology, inputs.hyper, sc)
        m = weighted_mean(pred["p"], fitted.weights).to_pandas()
        u = fitted.update or {}
        method = "psis" if fitted.weights is not None else "exact"
        for s in names:
            for r in m.columns:
                rows.append({"as_of": d.isoformat(), "scenario": s, "response": r, "mean": round(float(m.at[s, r]), 4),
                             "inputs_hash": fitted.inputs_hash, "evidence_ids": ";".join(inputs.evidence_ids),
                             "posterior": method, "pareto_k": u.get("pareto_k") if method == "psis" else None})
    df = pd.DataFrame(rows)
    df.attrs["arrivals"] = arrivals
    return df


def as_of_config(cfg, date: dt.date):
    """``cfg`` with ``as_of`` set to ``date`` and every other setting kept (seed, sampler, priors,
    evidence, paths): a replay date differs from the run it belongs to only by its date."""
    c = cfg.copy()
    OmegaConf.set_struct(c, False)
    c.as_of = date.isoformat()
    return c


def history_figure(replay_df: pd.DataFrame, arrivals: dict[str, tuple[str, str]], scenario: str,
                   top_n: int = 4) -> bytes:
    """Each scenario's top responses over the replay dates, with evidence arrivals marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    df = replay_df[replay_df["scenario"] == scenario].copy()
    df["as_of"] = pd.to_datetime(df["as_of"])
    last = df[df["as_of"] == df["as_of"].max()].sort_values("mean", ascending=False)
    top = list(last["response"].head(top_n))
    fig, ax = plt.subplots(figsize=(8, 3.6), dpi=100)
    for r in top:
        s = df[df["response"] == r].sort_values("as_of")
        ax.plot(s["as_of"], s["mean"], marker="o", label=r.replace("_", " "))
    for i, (eid, (date, _)) in enumerate(sorted(arrivals.items(), key=lambda kv: kv[1][0])):
        x = pd.Timestamp(date)
        if df["as_of"].min() <= x <= df["as_of"].max():
            ax.axvline(x, color="0.6", lw=0.8, ls="--")
            ax.annotate(eid, (x, 1.0), xycoords=("data", "axes fraction"), rotation=90, fontsize=6,
                        va="top", ha="right", color="0.35", xytext=(-2, -2 - 0 * i), textcoords="offset points")
    ax.set_ylim(0, 1)
    ax.set_ylabel("P(response)")
    ax.set_title(f"{scenario}: top responses as each piece of evidence arrived", fontsize=10)
    ax.legend(fontsize=7, loc="lower left")
    fig.text(0.01, 0.01, "forecast history --replay (posterior means; dashed: evidence entries)", fontsize=6,
             color="0.4")
    fig.autofmt_xdate()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


REPLAY_COLUMNS = ["as_of", "scenario", "response", "mean"]


def load_replay(reports: Path) -> pd.DataFrame | None:
    """The replay table, or None. It is derived (``forecast history --replay`` rebuilds it): a damaged or
    empty table or arrivals file is moved aside (kept) with a one-line warning, never a reason to stop."""
    path = Path(reports) / REPLAY_FILE
    meta = path.with_suffix(".json")
    if not path.is_file():
        return None
    rebuild = "rebuild it with `forecast history --replay`"
    try:
        df = pd.read_csv(path)
        ok = set(REPLAY_COLUMNS) <= set(df.columns) and not df.empty \
            and pd.to_numeric(df["mean"], errors="coerce").between(0, 1).all() \
            and pd.to_datetime(df["as_of"], errors="coerce", format="%Y-%m-%d").notna().all()
    except (OSError, ValueError, pd.errors.ParserError):
        ok = False
    if not ok:
        move_aside(path, "(the replay table) is damaged or empty", rebuild)
        return None
    arrivals: dict = {}
    if meta.is_file():
        try:
            arrivals = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            arrivals = None
        if not (isinstance(arrivals, dict) and all(isinstance(v, list) and len(v) == 2 and all(
                isinstance(x, str) for x in v) for v in arrivals.values())):
            move_aside(meta, "(the replay's evidence arrivals) is damaged", rebuild)
            arrivals = {}
    df.attrs["arrivals"] = arrivals
    return df


def write_replay(reports: Path, df: pd.DataFrame) -> Path:
    path = Path(reports) / REPLAY_FILE
    atomic_write_file(path, csv_frame(df).to_csv(index=False), reports)
    atomic_write_file(path.with_suffix(".json"), json.dumps(df.attrs.get("arrivals", {}), indent=1), reports)
    return path


def replay_section(reports: Path, scenario: str, cache: Path | None = None) -> tuple[dict[str, Any] | None,
                                                                                     bytes | None]:
    """The history figure and its table for a report, when a replay exists. With ``cache`` the figure
    is kept under a key of the replay's rows, the scenario, this module's code and matplotlib's
    version (``forecast.memo``)."""
    from forecast import memo

    df = load_replay(reports)
    if df is None or scenario not in set(df["scenario"]):
        return None, None
    arrivals = df.attrs.get("arrivals", {})
    key = memo.digest("history", memo.source(__file__), memo.version("matplotlib"), scenario,
                      df.to_csv(index=False), arrivals)
    hit = memo.get_pngs(cache, "history", key)
    if hit is not None and "history" in hit:
        png = hit["history"]
    else:
        png = history_figure(df, arrivals, scenario)
        memo.put_pngs(cache, "history", key, {"history": png})
    sub = df[df["scenario"] == scenario]
    table = sub.pivot_table(index="as_of", columns="response", values="mean").round(3)
    return {"dates": list(table.index), "arrivals": df.attrs.get("arrivals", {})}, png
