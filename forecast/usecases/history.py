"""``forecast history [--replay]``: the published forecasts, and the evidence replay with its figures.

The history (``reports/history.csv``) is what scheduled and interactive runs published; the replay refits the
model as of each date the evidence log changed (each fit cached) and writes ``reports/history_replay.csv`` and
one figure per scenario (``reports/history_<scenario>.png``), which later reports embed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from forecast.analysis.replay import ARTICLE_DATE, replay, write_replay
from forecast.files import atomic_write_file
from forecast.inputs import config as _config
from forecast.outputs.history import history_path, read_history

REPLAY_START = ARTICLE_DATE  # the replay's default first date: the article's


def history(cfg) -> pd.DataFrame:
    """The newest published forecast of every scenario and response (``reports/history.csv``), most likely
    first within each scenario; empty when nothing was published yet. A damaged history raises one line."""
    h = read_history(history_path(_config.paths(cfg)["reports"]))
    if h.empty:
        return h
    latest = h.sort_values("published_at").groupby(["scenario", "kind", "id"]).tail(1)
    return latest[latest["kind"] == "response"].sort_values(["scenario", "mean"], ascending=[True, False])


@dataclass
class Replay:
    """The replay table (one row per date, scenario and response) and the files written."""

    table: pd.DataFrame
    path: Path | None
    figures: list[Path]


def history_replay(cfg, scenarios: list[str] | None = None, start: str = REPLAY_START, say=None) -> Replay:
    """The forecast as of each date from ``start`` on at which the evidence log changed (every scenario unless
    named), written to ``reports/history_replay.csv`` with one figure per scenario. Nothing is written when there
    is no date to replay (``Replay.path`` is None)."""
    df = replay(cfg, scenarios, start, say)
    if df.empty:
        return Replay(df, None, [])
    from contextlib import closing

    from forecast.analysis.replay import load_replay
    from forecast.outputs.published import published_rows
    from forecast.parallel import fork_map

    folders = _config.paths(cfg)
    reports, cache = folders["reports"], folders["cache"]
    path = write_replay(reports, df)
    # each scenario's figure is the one its report embeds (forecast.outputs.report._history): the replay as written,
    # the published briefs and the responses' labels, kept under the report's key, so the reports made next find it
    # drawn instead of drawing it again
    table = load_replay(reports)
    table = df if table is None else table
    labels = df.attrs.get("labels") or None

    def draw(scenario: str) -> bytes:
        from forecast.outputs.figures import history as history_figure  # matplotlib: imported only to draw

        return history_figure.history_png(table, scenario, cache, published_rows(reports, scenario), labels,
                                          _config.scenario_title(cfg, scenario))

    scenarios = sorted(set(df["scenario"]))
    with closing(fork_map(draw, scenarios)) as pngs:  # one figure per scenario, side by side on the cores
        figures = [atomic_write_file(reports / f"history_{s}.png", png) for s, png in zip(scenarios, pngs, strict=True)]
    from forecast import memo

    memo.prune(cache)  # the derived results of older posteriors, beyond a budget (forecast.memo)
    return Replay(df, path, figures)
