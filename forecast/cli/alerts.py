"""``forecast alerts``: the alerts of scheduled runs, and a test of the notification channels.

    forecast alerts [--since DATE] [--scenario S] [OVERRIDES]   recent alerts, oldest first, one line each
    forecast alerts test [OVERRIDES]                              one test message through each channel

Configuration: ``conf/alerts/default.yaml`` (thresholds, channels and the environment variables that hold
their secrets). ``alerts test`` exits 0 when every enabled channel delivered, 69 when one failed.
"""

from __future__ import annotations

import datetime as dt

from forecast import api
from forecast.cli.console import ArgParser, say
from forecast.errors import EXIT_OK, EXIT_UNAVAILABLE, InputError, suggest
from forecast.inputs.config import list_scenarios
from forecast.inputs.readers import parse_date


def cmd_alerts(args: list[str]) -> int:
    if args and args[0] == "test":
        return cmd_alerts_test(args[1:])
    ap = ArgParser(prog="forecast alerts", description="List the alerts of scheduled runs (reports/alerts.jsonl).")
    ap.add_argument("--since", help="only alerts raised on or after this date (YYYY-MM-DD)")
    ap.add_argument("--scenario", action="append", help="only alerts about this scenario (repeatable)")
    ap.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. paths.reports=/srv/forecast/reports")
    ns = ap.parse_args(args)
    cfg = api.compose(ns.overrides)
    since = parse_date(ns.since, "forecast alerts --since", not_after=dt.date.today()) if ns.since else None
    for s in ns.scenario or []:
        if s not in list_scenarios():
            raise InputError(f"forecast alerts --scenario {s!r}", "unknown scenario",
                             suggest(s, list_scenarios(), "the scenarios"))
    shown = api.alerts(cfg, since, ns.scenario)
    for row in shown:
        print(row.line)
        if row.url:
            print(f"    {row.url}")
    if not shown:
        say(f"no alerts{' since ' + since.isoformat() if since else ''} in "
            f"{api.folders(cfg)['reports'] / 'alerts.jsonl'}: alerts come from `forecast scheduled` runs (each "
            "compares its reports with the previous run's and records what moved beyond alerts.threshold); a plain "
            "`forecast` run raises none, its report says what moved")
    return EXIT_OK


def cmd_alerts_test(args: list[str]) -> int:
    ap = ArgParser(prog="forecast alerts test", description="Send one test message through each configured channel.")
    ap.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. alerts.webhook.enabled=true")
    ns = ap.parse_args(args)
    code = EXIT_OK
    for channel, res in api.alerts_test(api.compose(ns.overrides)).items():
        if res is None:
            print(f"{channel}: not enabled (alerts.{channel}.enabled=false in conf/alerts/)")
        elif res.ok:
            print(f"{channel}: ok, {res.detail} ({res.attempts} attempt(s), {res.seconds:.1f} s)")
        else:
            print(f"{channel}: FAILED, {res.detail} ({res.attempts} attempt(s), {res.seconds:.1f} s)")
            code = EXIT_UNAVAILABLE
    return code
