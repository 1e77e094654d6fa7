"""``forecast evidence add|check|list``: the analysts' evidence log without hand-editing a schema.

    forecast evidence add poll --id E-2026-03-x --date-known 2026-03-05 --source URL --summary "..." \
        --pollster X --date 2026-03-01 --n 1000 --share-opposed 0.7 [--wording "..."]
    forecast evidence add episode --id ... --date-known ... --source ... --summary ... \
        --action-type one_time_raid --date 2026-03-01 [--severity 5 --consent none] \
        --response diplomatic_protest=1 --response armed_resistance=0
    forecast evidence add signal --id ... --date-known ... --source ... --summary ... \
        --actions one_time_raid,repeated_raids --response-id expel_agents --lower 0.1 --upper 0.3 \
        [--mass 0.8 --strength 1]
    forecast evidence add --file entry.yaml
    forecast evidence check
    forecast evidence list [--as-of DATE]
    forecast evidence withdraw ID --reason "..."   out of the log into data/withdrawn/ (kept, recorded)
    forecast evidence restore ID                   back into the log
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from forecast import api
from forecast.cli.console import ArgParser as _Parser
from forecast.cli.console import say, yaml_scalar
from forecast.errors import InputError
from forecast.inputs.readers import parse_date


class _Once(argparse.Action):
    """A single-valued flag: given twice is an error (argparse's ``store`` silently keeps the last)."""

    def __call__(self, parser, namespace, values, option_string=None):
        seen = namespace.__dict__.setdefault("_given", set())
        if self.dest in seen:
            parser.error(f"argument {option_string}: given more than once (it takes one value)")
        seen.add(self.dest)
        setattr(namespace, self.dest, values)


def _once(p: argparse.ArgumentParser, *flags: str, **kw) -> None:
    p.add_argument(*flags, action=_Once, **kw)


def _add_common(p: argparse.ArgumentParser) -> None:
    _once(p, "--id", required=True)
    _once(p, "--date-known", required=True, help="YYYY-MM-DD: when it became known")
    _once(p, "--source", required=True, help="URL or citation")
    _once(p, "--summary", required=True, help="one line")


def parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="forecast evidence", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True, parser_class=_Parser)
    add = sub.add_parser("add", help="validate and write a new entry")
    _once(add, "--file", help="a YAML file holding one entry")
    _once(add, "--data-dir", help="data folder (default: the project's data/)")
    kinds = add.add_subparsers(dest="kind", parser_class=_Parser)
    poll = kinds.add_parser("poll")
    _add_common(poll)
    _once(poll, "--pollster", required=True)
    _once(poll, "--date", required=True, help="fieldwork end date")
    _once(poll, "--n", required=True)
    _once(poll, "--share-opposed", required=True, help="share opposed to US military action, 0-1")
    _once(poll, "--wording", default="")
    ep = kinds.add_parser("episode")
    _add_common(ep)
    _once(ep, "--action-type", required=True)
    _once(ep, "--date", required=True)
    ep.add_argument("--attribute", action="append", default=[], metavar="NAME=VALUE",
                    help="override an attribute of the action type (severity=5, consent=none, ...)")
    ep.add_argument("--response", action="append", default=[], metavar="ID=0|1", required=True)
    sig = kinds.add_parser("signal")
    _add_common(sig)
    _once(sig, "--actions", required=True, help="comma-separated action ids")
    _once(sig, "--response-id", required=True)
    _once(sig, "--lower", required=True)
    _once(sig, "--upper", required=True)
    _once(sig, "--mass", default="0.8")
    _once(sig, "--strength", default="1.0")
    for name in ("check", "list"):
        p = sub.add_parser(name)
        _once(p, "--data-dir")
        _once(p, "--as-of")
    wd = sub.add_parser("withdraw", help="move an entry out of the log (kept in data/withdrawn/, recorded)")
    wd.add_argument("id", help="the entry's id (forecast evidence list shows them)")
    _once(wd, "--reason", required=True, help="why, in one line (the next report quotes it)")
    _once(wd, "--data-dir")
    rs = sub.add_parser("restore", help="move a withdrawn entry back into the log")
    rs.add_argument("id", help="the withdrawn entry's id")
    _once(rs, "--data-dir")
    return ap


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    out = {}
    for it in items:
        k, sep, v = it.partition("=")
        if not sep or not k:
            raise InputError(f"forecast evidence add {flag} {it!r}", "expected NAME=VALUE", f"write e.g. {flag} x=1")
        if k.strip() in out:
            raise InputError(f"forecast evidence add {flag} {it!r}", f"{k.strip()!r} is given more than once",
                             f"give each {flag} name once")
        out[k.strip()] = v.strip()
    return out


def entry_from_args(ns: argparse.Namespace) -> dict[str, Any]:
    top = {"id": ns.id, "date_known": ns.date_known, "source": ns.source, "summary": ns.summary, "kind": ns.kind}
    if ns.kind == "poll":
        body = {"pollster": ns.pollster, "date": ns.date, "n": ns.n, "share_opposed": ns.share_opposed,
                "wording": ns.wording}
    elif ns.kind == "episode":
        body = {"action_type": ns.action_type, "date": ns.date, **_pairs(ns.attribute, "--attribute"),
                "responses": _pairs(ns.response, "--response")}
    else:
        body = {"actions": [a.strip() for a in ns.actions.split(",") if a.strip()], "response": ns.response_id,
                "lower": ns.lower, "upper": ns.upper, "mass": ns.mass, "strength": ns.strength}
    body = {k: ({kk: yaml_scalar(vv) for kk, vv in v.items()} if isinstance(v, dict) else yaml_scalar(v))
            for k, v in body.items()}
    return {**top, ns.kind: body}


def cmd_evidence(args: list[str]) -> int:
    ns = parser().parse_args(args)
    data = getattr(ns, "data_dir", None)
    if ns.cmd == "add":
        if ns.file and ns.kind:  # the flags would be dropped without a word
            raise InputError(f"forecast evidence add --file {ns.file} {ns.kind}", f"--file given with a {ns.kind} "
                             "entry's flags", "give either --file FILE (the entry as YAML) or the kind and its "
                             "flags, not both")
        entry = entry_from_args(ns) if ns.kind else None
        path = api.evidence_add(entry, file=ns.file, data=data)
        say(f"added {path}; rerun `forecast` to see what it moves")
        return 0
    if ns.cmd == "withdraw":
        path = api.evidence_withdraw(ns.id, ns.reason, data=data)
        say(f"withdrew {ns.id}: moved to {path}, recorded in {path.parent / 'log.csv'}; the next report says so "
            f"(forecast evidence restore {ns.id} undoes it)")
        return 0
    if ns.cmd == "restore":
        path = api.evidence_restore(ns.id, data=data)
        say(f"restored {ns.id} to {path}; it counts again from the next forecast")
        return 0
    today = dt.date.today()
    as_of = parse_date(ns.as_of, "--as-of", not_after=today) if ns.as_of else today
    log = api.evidence_check(as_of, data=data)
    if ns.cmd == "check":
        kinds = {k: sum(e.kind == k for e in log.entries) for k in ("poll", "episode", "signal")}
        say(f"evidence log valid: {len(log.entries)} entries known by {as_of} "
            f"({', '.join(f'{v} {k}' for k, v in kinds.items())})")
        return 0
    for e in sorted(log.entries, key=lambda e: (e.date_known, e.id)):
        print(f"{e.date_known}  {e.kind:8s} {e.id:40s} {e.summary}")
    return 0
