"""Forecast history: ``reports/history.csv`` (append-only) and the evidence replay.

Every published report appends one row per response and composite. ``forecast history --replay``
refits the model as of each date the evidence log changed (each fit cached by its inputs hash) and
writes ``reports/history_replay.csv`` plus a figure of each scenario's top responses over time, with
a mark where each evidence entry arrived. Reports embed that figure when the replay exists.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pandas as pd
from filelock import FileLock

from . import config as _config
from .errors import InputError

HISTORY_COLUMNS = ["published_at", "scenario", "as_of", "kind", "id", "mean", "hdi_low", "hdi_high", "hdi_prob",
                   "inputs_hash", "report"]
REPLAY_FILE = "history_replay.csv"
ARTICLE_DATE = "2026-01-16"  # the Brookings commentary: written 10-16 Jan 2026 (research/claims.md)


def history_path(cfg) -> Path:
    return _config.paths(cfg)["reports"] / "history.csv"


def append_history(cfg, report_dirs: list[Path], path: Path | None = None) -> Path:
    """Append every written report's probabilities; never rewrites earlier rows."""
    path = path or history_path(cfg)
    rows = []
    for d in report_dirs:
        data = json.loads((Path(d) / "forecast.json").read_text())
        for kind, key, items in (("response", "response", data["responses"]),
                                 ("composite", "composite", data["composites"])):
            for r in items:
                rows.append({"published_at": data["generated_at"], "scenario": data["scenario"],
                             "as_of": data["as_of"], "kind": kind, "id": r[key], "mean": r["mean"],
                             "hdi_low": r["hdi_low"], "hdi_high": r["hdi_high"], "hdi_prob": r["hdi_prob"],
                             "inputs_hash": data["inputs_hash"], "report": str(Path(d).name)})
    if not rows:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = _config.paths(cfg)["cache"] / "locks" / "history.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(lock)):
        new = not path.exists() or path.stat().st_size == 0
        buf = io.StringIO()
        pd.DataFrame(rows, columns=HISTORY_COLUMNS).to_csv(buf, index=False, header=new)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(buf.getvalue())
            fh.flush()
    return path


def read_history(path: Path) -> pd.DataFrame:
    if not path.is_file():
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    return pd.read_csv(path)


def replay_dates(cfg, inputs_all, start: str = ARTICLE_DATE) -> list[dt.date]:
    """The article's date, then every date the evidence log changed, up to as_of."""
    from .evidence import load_evidence

    today = dt.date.today()
    as_of = _config.as_of_date(cfg, today)
    ev = load_evidence(_config.paths(cfg)["data"] / "evidence", inputs_all.ontology, today, as_of)
    first = dt.date.fromisoformat(start)
    dates = {first} | {e.date_known for e in ev.entries if e.date_known >= first}
    return sorted(d for d in dates if d <= as_of)


def replay(cfg, scenarios: list[str] | None = None, start: str = ARTICLE_DATE, say=None) -> pd.DataFrame:
    """Refit as of each evidence date (cached) and tabulate every scenario's responses."""
    from . import api
    from .evidence import load_evidence
    from .predict import predict

    today = dt.date.today()
    base = api.load_inputs(cfg)
    names = scenarios or _config.list_scenarios()
    sc = api.scenarios(cfg, base, names)
    rows = []
    ev = load_evidence(_config.paths(cfg)["data"] / "evidence", base.ontology, today)
    arrivals = {e.id: (e.date_known.isoformat(), e.summary) for e in ev.entries}
    for d in replay_dates(cfg, base, start):
        c = api.compose(_overrides_of(cfg) + [f"as_of={d.isoformat()}"])
        inputs = api.load_inputs(c)
        fitted = api.fit(c, inputs)
        if say:
            say(f"replay as of {d}: {'cache hit' if fitted.from_cache else 'fitted'} {fitted.inputs_hash}")
        pred = predict(fitted.idata, inputs.ontology, inputs.hyper, sc)
        m = pred["p"].mean(("chain", "draw")).to_pandas()
        for s in names:
            for r in m.columns:
                rows.append({"as_of": d.isoformat(), "scenario": s, "response": r, "mean": round(float(m.at[s, r]), 4),
                             "inputs_hash": fitted.inputs_hash, "evidence_ids": ";".join(inputs.evidence_ids)})
    df = pd.DataFrame(rows)
    df.attrs["arrivals"] = arrivals
    return df


def _overrides_of(cfg) -> list[str]:
    """The overrides that make ``cfg`` (except as_of), to recompose it per replay date."""
    keep = []
    for k in ("paths.data", "paths.reports", "paths.cache"):
        node = cfg.paths.get(k.split(".")[1])
        if node:
            keep.append(f"{k}={node}")
    return keep


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


def load_replay(cfg) -> pd.DataFrame | None:
    path = _config.paths(cfg)["reports"] / REPLAY_FILE
    if not path.is_file():
        return None
    df = pd.read_csv(path)
    meta = path.with_suffix(".json")
    df.attrs["arrivals"] = json.loads(meta.read_text()) if meta.is_file() else {}
    return df


def write_replay(cfg, df: pd.DataFrame) -> Path:
    from .report import atomic_write_file

    path = _config.paths(cfg)["reports"] / REPLAY_FILE
    atomic_write_file(path, df.to_csv(index=False))
    atomic_write_file(path.with_suffix(".json"), json.dumps(df.attrs.get("arrivals", {}), indent=1))
    return path


def cmd_history(args: list[str]) -> int:
    from .cli import say
    from .commands import ArgParser
    from .io import parse_date

    ap = ArgParser(prog="forecast history")
    ap.add_argument("--replay", action="store_true", help="refit as of each evidence date and draw the figure")
    ap.add_argument("--scenario", action="append", help="limit to these scenarios (repeatable)")
    ap.add_argument("--start", default=ARTICLE_DATE, help=f"first replay date (default {ARTICLE_DATE}, the article)")
    ap.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. paths.reports=/tmp/r")
    ns = ap.parse_args(args)
    cfg = _config.compose(ns.overrides)
    start = parse_date(ns.start, "forecast history --start", not_after=dt.date.today()).isoformat()
    for s in ns.scenario or []:
        if s not in _config.list_scenarios():
            raise InputError(f"forecast history --scenario {s!r}", "unknown scenario",
                             f"available: {', '.join(_config.list_scenarios())}")
    if not ns.replay:
        h = read_history(history_path(cfg))
        if h.empty:
            say("no forecast published yet (reports/history.csv is empty)")
            return 0
        latest = h.sort_values("published_at").groupby(["scenario", "kind", "id"]).tail(1)
        print(latest[latest["kind"] == "response"].sort_values(["scenario", "mean"], ascending=[True, False])
              .to_string(index=False))
        return 0
    df = replay(cfg, ns.scenario, start, say)
    if df.empty:
        raise InputError("forecast history --replay", f"no date to replay from {start} to as_of",
                         "choose an earlier --start")
    path = write_replay(cfg, df)
    reports = _config.paths(cfg)["reports"]
    for s in sorted(set(df["scenario"])):
        png = history_figure(df, df.attrs["arrivals"], s)
        from .report import atomic_write_file

        atomic_write_file(reports / f"history_{s}.png", png)
    say(f"replay written: {path} ({df['as_of'].nunique()} dates x {df['scenario'].nunique()} scenarios)")
    return 0


def replay_section(cfg, scenario: str) -> tuple[dict[str, Any] | None, bytes | None]:
    """The history figure and its table for a report, when a replay exists."""
    df = load_replay(cfg)
    if df is None or scenario not in set(df["scenario"]):
        return None, None
    png = history_figure(df, df.attrs.get("arrivals", {}), scenario)
    sub = df[df["scenario"] == scenario]
    table = sub.pivot_table(index="as_of", columns="response", values="mean").round(3)
    return {"dates": list(table.index), "arrivals": df.attrs.get("arrivals", {})}, png
