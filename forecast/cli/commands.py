"""Subcommands that are not a Hydra forecast run: init, scenarios, evidence, judgement, history, scheduled, check,
alerts, whatif."""

from __future__ import annotations

import shlex

from forecast.cli.console import ArgParser
from forecast.errors import InputError


def cmd_scenarios(args: list[str]) -> int:
    ArgParser(prog="forecast scenarios", description="List the scenarios.").parse_args(args)
    from omegaconf import OmegaConf

    from forecast.inputs.config import compose, list_scenarios

    for name in list_scenarios():
        sc = OmegaConf.to_container(compose([f"scenario={name}"]).scenario)
        print(f"{name:22s} {sc.get('title', '')}")
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
    if cmd == "init":
        return cmd_init(args)
    if cmd == "scenarios":
        return cmd_scenarios(args)
    if cmd == "evidence":
        from forecast.cli.evidence import cmd_evidence

        return cmd_evidence(args)
    if cmd == "judgement":
        from forecast.cli.judgement import cmd_judgement

        return cmd_judgement(args)
    if cmd == "history":
        from forecast.cli.history import cmd_history

        return cmd_history(args)
    if cmd == "check":
        from forecast.cli.check import cmd_check

        return cmd_check(args)
    if cmd == "scheduled":
        from forecast.cli.scheduled import cmd_scheduled

        return cmd_scheduled(args)
    if cmd == "whatif":
        from forecast.cli.whatif import cmd_whatif

        return cmd_whatif(args)
    if cmd == "alerts":
        from forecast.cli.alerts import cmd_alerts

        return cmd_alerts(args)
    raise InputError("command line", f"unknown command {cmd!r}", "see forecast --help")

