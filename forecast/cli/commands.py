"""Subcommands that are not a Hydra forecast run: init, scenarios, evidence, judgement, history, scheduled, check,
alerts, whatif."""

from __future__ import annotations

import importlib
import shlex

from forecast.cli.console import ArgParser
from forecast.errors import InputError

# each a module forecast/cli/<name>.py with a function cmd_<name>(args) -> exit status
COMMANDS = ("evidence", "judgement", "history", "scheduled", "alerts", "check", "whatif")
SUBCOMMANDS = {"init", "scenarios", *COMMANDS}


def cmd_scenarios(args: list[str]) -> int:
    ArgParser(prog="forecast scenarios", description="List the scenarios.").parse_args(args)
    from forecast import api

    for name, title in api.scenario_titles():
        print(f"{name:22s} {title}")
    return 0


def cmd_init(args: list[str]) -> int:
    ap = ArgParser(prog="forecast init", description="Write a new project home: the shipped settings (conf/) and "
                   "data (data/), an empty reports/ and a README. Run forecast inside it (or set FORECAST_HOME).")
    ap.add_argument("folder", help="a new or empty folder")
    ap.add_argument("--force", action="store_true",
                    help="write into a folder that holds other files (nothing in it is overwritten)")
    ns = ap.parse_args(args)
    from forecast.api import init

    home = init(ns.folder, force=ns.force)
    print(f"project home written: {home}")
    print(f"next: cd {shlex.quote(str(home))} && forecast        (or FORECAST_HOME={shlex.quote(str(home))} forecast)")
    return 0


def dispatch(cmd: str, args: list[str]) -> int:
    """Run subcommand ``cmd``: ``forecast.cli.<cmd>.cmd_<cmd>`` (imported only when used: a fast ``--help``)."""
    if cmd == "init":
        return cmd_init(args)
    if cmd == "scenarios":
        return cmd_scenarios(args)
    if cmd in COMMANDS:
        return getattr(importlib.import_module(f"forecast.cli.{cmd}"), f"cmd_{cmd}")(args)
    raise InputError("command line", f"unknown command {cmd!r}", "see forecast --help")
