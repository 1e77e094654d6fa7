"""Subcommands that are not a Hydra forecast run: init, scenarios, responses, actions, evidence, judgement, history,
scheduled, check, alerts, whatif."""

from __future__ import annotations

import importlib
import shlex

from forecast.cli.console import ArgParser
from forecast.errors import InputError, suggest

# each a module forecast/cli/<name>.py with a function cmd_<name>(args) -> exit status
COMMANDS = ("evidence", "judgement", "history", "scheduled", "alerts", "check", "whatif")
SUBCOMMANDS = {"init", "scenarios", "responses", "actions", *COMMANDS}


def cmd_scenarios(args: list[str]) -> int:
    ArgParser(prog="forecast scenarios", description="List the scenarios.").parse_args(args)
    from forecast import api

    for name, title in api.scenario_titles():
        print(f"{name:22s} {title}")
    return 0


def _wrap(text: str, indent: int = 4, width: int = 100) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(" ".join(str(text).split()), width, initial_indent=" " * indent,
                                    subsequent_indent=" " * indent)) if text.strip() else ""


def cmd_responses(args: list[str]) -> int:
    ap = ArgParser(prog="forecast responses", description="List the responses and combined outcomes: the ids that "
                   "--response, whatif --episode and data/question.yaml take, with their definitions.")
    ap.add_argument("--data-dir", help="data folder (default: the project's data/)")
    ns = ap.parse_args(args)
    from forecast import api

    rows = api.responses(data=ns.data_dir)
    for kind, head in (("response", "Responses (data/ontology/responses.csv)"),
                       ("composite", "Combined outcomes (data/ontology/composites.yaml)")):
        print(head)
        for r in (x for x in rows if x["kind"] == kind):
            what = (f"{r['form']}" + (f", follows {r['requires']}" if r.get("requires") else "")
                    + f", escalation rank {r['escalation_rank']}") if kind == "response" else r["definition"]
            print(f"  {r['id']:32s} {r['label']}  ({what})")
            if kind == "response" and r["definition"]:
                print(_wrap(r["definition"], 36))
    return 0


def cmd_actions(args: list[str]) -> int:
    ap = ArgParser(prog="forecast actions", description="List the US action types: the ids that --action-type, "
                   "whatif --episode action=... and the scenarios take, with their definitions and attributes.")
    ap.add_argument("--data-dir", help="data folder (default: the project's data/)")
    ns = ap.parse_args(args)
    from forecast import api

    print("US action types (data/ontology/actions.csv)")
    for a in api.actions(data=ns.data_dir):
        def shown(v) -> str:
            return ("yes" if v else "no") if isinstance(v, bool) else (
                str(int(v)) if isinstance(v, float) and v == int(v) else str(v))

        attrs = ", ".join(f"{k.replace('_', ' ')} {shown(v)}" for k, v in a["attributes"].items())
        print(f"  {a['id']:24s} {a['label']}")
        print(_wrap(f"{a['definition']} [{attrs}]", 28))
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
    if cmd == "responses":
        return cmd_responses(args)
    if cmd == "actions":
        return cmd_actions(args)
    if cmd in COMMANDS:
        return getattr(importlib.import_module(f"forecast.cli.{cmd}"), f"cmd_{cmd}")(args)
    raise InputError("command line", f"unknown command {cmd!r}", suggest(cmd, sorted(SUBCOMMANDS), "the commands"))


def refuse_unknown_command(word: str) -> None:
    """A bare word where a command or a setting belongs (``forecast judgment add``): one line with the command
    meant and every command; settings are written key=value."""
    raise InputError("command line", f"unknown command {word!r}",
                     suggest(word, sorted(SUBCOMMANDS), "the commands") + "; or give settings as key=value "
                     "(forecast --help)")
