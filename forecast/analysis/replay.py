"""The evidence replay: the forecast refitted as of each date the evidence log changed.

``replay`` refits the model as of each date (each fit cached by its inputs hash; with ``update=auto``
a date that only adds evidence to a cached fit is a PSIS update of it when its Pareto k <= 0.7,
recorded per row, so each row is at most one reweighting away from an exact fit) and tabulates every
scenario's responses; ``write_replay`` stores ``reports/history_replay.csv``; reports draw
each scenario's top responses over time with a mark where each evidence entry arrived when the replay
exists (``replay_section``; the figure: ``forecast.outputs.figures.history``).
"""

from __future__ import annotations

import datetime as dt
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
from forecast.model import summary
from forecast.model.fit import fit_config
from forecast.model.predict import predict
from forecast.safe_text import csv_frame

REPLAY_FILE = "history_replay.csv"
ARTICLE_DATE = "2026-01-16"  # the Brookings commentary: written 10-16 Jan 2026 (docs/sources/article.md)


def replay_dates(cfg, inputs_all, start: str = ARTICLE_DATE) -> list[dt.date]:
    """The article's date, then every date the evidence log changed, up to as_of."""
    today = dt.date.today()
    as_of = _config.as_of_date(cfg, today)
    ev = load_evidence(_config.paths(cfg)["data"] / "evidence", inputs_all.ontology, today, as_of)
    first = dt.date.fromisoformat(start)
    dates = {first} | {e.date_known for e in ev.entries if e.date_known >= first}
    return sorted(d for d in dates if d <= as_of)


def replay(cfg, scenarios: list[str] | None = None, start: str = ARTICLE_DATE, say=None) -> pd.DataFrame:
    """Refit as of each evidence date (cached) and tabulate every scenario's responses. The first date is fitted
    (or read) here; the later ones, each a PSIS update of it or of another cached fit when only evidence was added,
    run side by side on the cores (``forecast.parallel``) and are tabulated in date order."""
    from contextlib import closing

    from forecast.parallel import fork_map

    today = dt.date.today()
    base = load_inputs(cfg)
    names = scenarios or _config.list_scenarios()
    sc = scenario_profiles(cfg, base.ontology, names)
    ev = load_evidence(_config.paths(cfg)["data"] / "evidence", base.ontology, today)
    arrivals = {e.id: (e.date_known.isoformat(), e.summary) for e in ev.entries}
    dates = replay_dates(cfg, base, start)
    rows = []

    def one(d: dt.date) -> tuple[str, list[dict[str, Any]]]:
        return _replay_date(cfg, d, names, sc)

    def tabulate(d: dt.date, result: tuple[str, list[dict[str, Any]]]) -> None:
        if say:
            say(f"replay as of {d}: {result[0]}")
        rows.extend(result[1])

    # the first date first, in a worker of its own: the later dates reweight its fit, and the compiled model and
    # the sampler's memory go with the worker instead of staying beside the reweighting (about 0.6 GB)
    with closing(fork_map(one, dates[:1], alone=True)) as first:
        for d, result in zip(dates[:1], first, strict=True):
            tabulate(d, result)
    with closing(fork_map(one, dates[1:])) as later:
        for d, result in zip(dates[1:], later, strict=True):
            tabulate(d, result)
    df = pd.DataFrame(rows)
    df.attrs["arrivals"] = arrivals
    df.attrs["labels"] = {str(r): str(v) for r, v in base.ontology.responses["label"].items()}  # the figures' names
    return df


def _replay_date(cfg, d: dt.date, names: list[str], sc) -> tuple[str, list[dict[str, Any]]]:
    """How the posterior as of ``d`` was obtained (for people) and its rows: every scenario's responses."""
    from forecast.model.reweight import kept_terms

    c = as_of_config(cfg, d)
    inputs = load_inputs(c)
    # each change's log ratio kept: the report of today's state (often the last date's update, kept) and a new poll's
    # update after it read them instead of computing them again
    with kept_terms(_config.paths(c)["cache"]):
        fitted = fit_config(c, inputs)
    how = ("cache hit" if fitted.from_cache else
           f"PSIS update (k {fitted.update['pareto_k']})" if fitted.weights is not None else
           "fitted (" + ", ".join(f"{k} {v:.1f}s" for k, v in fitted.timings.items()) + ")")
    pred = predict(fitted.idata, inputs.ontology, inputs.hyper, sc)
    m = summary.mean(pred["p"], fitted.weights).to_pandas()
    u = fitted.update or {}
    method = "psis" if fitted.weights is not None else "exact"
    rows = []
    for s in names:
        for r in m.columns:
            rows.append({"as_of": d.isoformat(), "scenario": s, "response": r, "mean": round(float(m.at[s, r]), 4),
                         "inputs_hash": fitted.inputs_hash, "evidence_ids": ";".join(inputs.evidence_ids),
                         "posterior": method, "pareto_k": u.get("pareto_k") if method == "psis" else None})
    return f"{how} {fitted.inputs_hash}", rows


def as_of_config(cfg, date: dt.date):
    """``cfg`` with ``as_of`` set to ``date`` and every other setting kept (seed, sampler, priors,
    evidence, paths): a replay date differs from the run it belongs to only by its date."""
    c = cfg.copy()
    OmegaConf.set_struct(c, False)
    c.as_of = date.isoformat()
    return c


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


def replay_section(reports: Path, scenario: str) -> tuple[dict[str, Any] | None, pd.DataFrame | None]:
    """The history section's data for a report (its dates and the evidence arrivals) and the replay table to draw,
    when a replay of ``scenario`` exists."""
    df = load_replay(reports)
    if df is None or scenario not in set(df["scenario"]):
        return None, None
    sub = df[df["scenario"] == scenario]
    table = sub.pivot_table(index="as_of", columns="response", values="mean").round(3)
    return {"dates": list(table.index), "arrivals": df.attrs.get("arrivals", {})}, df
