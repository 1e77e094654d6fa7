"""``forecast history [--replay]``: the published forecasts, and the evidence replay with its figures."""

from __future__ import annotations

import datetime as dt

from forecast import api
from forecast.cli.console import ArgParser, say
from forecast.errors import InputError, suggest
from forecast.inputs.config import list_scenarios
from forecast.inputs.readers import parse_date


def cmd_history(args: list[str]) -> int:
    ap = ArgParser(prog="forecast history")
    ap.add_argument("--replay", action="store_true", help="refit as of each evidence date and draw the figure")
    ap.add_argument("--scenario", action="append", help="limit to these scenarios (repeatable)")
    ap.add_argument("--start", default=api.REPLAY_START,
                    help=f"first replay date (default {api.REPLAY_START}, the article)")
    ap.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. paths.reports=/tmp/r")
    ns = ap.parse_args(args)
    cfg = api.compose(ns.overrides)
    start = parse_date(ns.start, "forecast history --start", not_after=dt.date.today()).isoformat()
    for s in ns.scenario or []:
        if s not in list_scenarios():
            raise InputError(f"forecast history --scenario {s!r}", "unknown scenario",
                             suggest(s, list_scenarios(), "the scenarios"))
    if not ns.replay:
        latest = api.history(cfg)
        if latest.empty:
            say("no forecast published yet (reports/history.csv is empty)")
            return 0
        print(latest.to_string(index=False))
        return 0
    rep = api.history_replay(cfg, ns.scenario, start, say)
    if rep.path is None:
        raise InputError("forecast history --replay", f"no date to replay from {start} to as_of",
                         "choose an earlier --start")
    say(f"replay written: {rep.path} ({rep.table['as_of'].nunique()} dates x {rep.table['scenario'].nunique()} "
        "scenarios)")
    return 0
