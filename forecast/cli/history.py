"""``forecast history [--replay]``: the published forecasts, and the evidence replay with its figures."""

from __future__ import annotations

import datetime as dt

from forecast.analysis.replay import ARTICLE_DATE, replay, write_replay
from forecast.cli.console import ArgParser, say
from forecast.errors import InputError
from forecast.files import atomic_write_file
from forecast.inputs import config as _config
from forecast.inputs.readers import parse_date
from forecast.outputs.figures import history as history_figure
from forecast.outputs.figures import write
from forecast.outputs.history import history_path, read_history


def cmd_history(args: list[str]) -> int:
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
        h = read_history(history_path(_config.paths(cfg)["reports"]))
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
    path = write_replay(_config.paths(cfg)["reports"], df)
    reports = _config.paths(cfg)["reports"]
    for s in sorted(set(df["scenario"])):
        png = write.png(history_figure.history(df, df.attrs["arrivals"], s))
        atomic_write_file(reports / f"history_{s}.png", png)
    say(f"replay written: {path} ({df['as_of'].nunique()} dates x {df['scenario'].nunique()} scenarios)")
    return 0


