"""``forecast judgement add|check|list``: analysts' dated judgements on the priors (data/judgements/).

    forecast judgement add --analyst NAME --id J-2026-03-x --author "A. Analyst" --date-made 2026-03-05 \
        --rationale "why, in your words" --source URL [--source ...] [--revises C29] \
        --kind cell --actions one_time_raid --response armed_resistance --lower 0.1 --upper 0.3 [--mass 0.8]
      other kinds: --kind ordering --cells one_time_raid:expel_agents,one_time_raid:threat_expel_agents
                   --kind effect --covariate consent=coerced --lower -2 --upper -0.5
                   --kind latent --target public_opposition --lower 0.7 --upper 0.9
    forecast judgement add --analyst NAME --file judgement.yaml
    forecast judgement check [--analyst NAME]
    forecast judgement list [--analyst NAME] [--as-of DATE]

Then: forecast analysts=[NAME,OTHER] pool=log   (or pool=linear; pool_weights={NAME:2,OTHER:1})
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


def parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="forecast judgement", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True, parser_class=_Parser)
    add = sub.add_parser("add", help="validate and write a new judgement")
    add.add_argument("--analyst", required=True, help="the analyst's folder under data/judgements/")
    add.add_argument("--data-dir", help="data folder (default: the project's data/)")
    add.add_argument("--file", help="a YAML file holding one judgement")
    add.add_argument("--id")
    add.add_argument("--author")
    add.add_argument("--date-made", help="YYYY-MM-DD")
    add.add_argument("--rationale")
    add.add_argument("--source", action="append", default=[], help="URL, citation or evidence id (repeatable)")
    add.add_argument("--revises", help="the article claim id (conf/priors/) or earlier judgement it revises")
    add.add_argument("--kind", choices=["cell", "ordering", "effect", "latent"])
    add.add_argument("--actions", help="cell: comma-separated action ids")
    add.add_argument("--response", help="cell: response id")
    add.add_argument("--cells", help="ordering: action:response,action:response,... lowest first")
    add.add_argument("--covariate", help="effect: e.g. consent=coerced")
    add.add_argument("--target", help="latent: public_opposition or opinion_effect")
    add.add_argument("--family")
    add.add_argument("--lower")
    add.add_argument("--upper")
    add.add_argument("--mass", help="default 0.8")
    add.add_argument("--strength", help="default 1.0")
    for name in ("check", "list"):
        p = sub.add_parser(name)
        p.add_argument("--analyst")
        p.add_argument("--data-dir")
        p.add_argument("--as-of")
    return ap


FIELDS = ("id", "author", "date_made", "rationale", "source", "revises", "kind", "actions", "response", "cells",
          "covariate", "target", "family", "lower", "upper", "mass", "strength")  # what --file holds instead


def judgement_from_args(ns: argparse.Namespace) -> dict[str, Any]:
    missing = [f"--{k.replace('_', '-')}" for k in ("id", "author", "date_made", "rationale", "kind")
               if not getattr(ns, k)] + ([] if ns.source else ["--source"])
    if missing:
        raise InputError("forecast judgement add", f"missing {', '.join(missing)}", "give them, or --file")
    con: dict[str, Any] = {"kind": ns.kind}
    if ns.kind == "cell":
        con.update(actions=[a.strip() for a in (ns.actions or "").split(",") if a.strip()], response=ns.response)
    elif ns.kind == "ordering":
        con["cells"] = [c.strip().split(":", 1) for c in (ns.cells or "").split(",") if c.strip()]
    elif ns.kind == "effect":
        con["covariate"] = ns.covariate
    else:
        con["target"] = ns.target
    raw: dict[str, Any] = {"id": ns.id, "author": ns.author, "date_made": ns.date_made, "rationale": ns.rationale,
                           "sources": list(ns.source)}
    if ns.revises:
        raw["revises"] = ns.revises
    raw["constrains"] = con
    if ns.kind != "ordering":
        el = {"lower": yaml_scalar(ns.lower), "upper": yaml_scalar(ns.upper), "mass": yaml_scalar(ns.mass or "0.8")}
        if ns.family:
            el = {"family": ns.family, **el}
        raw["elicit"] = el
    raw["strength"] = yaml_scalar(ns.strength or "1.0")
    return raw


def cmd_judgement(args: list[str]) -> int:
    ns = parser().parse_args(args)
    data = getattr(ns, "data_dir", None)
    if ns.cmd == "add":
        fields = [f"--{k.replace('_', '-')}" for k in FIELDS if getattr(ns, k)]
        if ns.file and fields:  # the flags would be dropped without a word
            raise InputError(f"forecast judgement add --file {ns.file}", f"--file given with the judgement's flags "
                             f"({', '.join(fields)})", "give either --file FILE (the judgement as YAML) or the "
                             "flags, not both")
        if ns.file:
            path = api.judgement_add(ns.analyst, file=ns.file, data=data)
        else:
            path = api.judgement_add(ns.analyst, judgement_from_args(ns), data=data)
        say(f"added {path}; see it pooled with `forecast analysts=[{ns.analyst}]` (add others to compare)")
        return 0
    today = dt.date.today()
    as_of = parse_date(ns.as_of, "--as-of", not_after=today) if ns.as_of else today
    sets = api.judgement_check(ns.analyst, as_of, data=data)
    if ns.cmd == "check":
        say(f"judgements valid: {', '.join(f'{a} ({len(js)} active by {as_of})' for a, js in sets.items()) or 'none'}")
        return 0
    for a, js in sets.items():
        for j in js:
            rev = f" revises {j.revises}" if j.revises else ""
            print(f"{j.date_made}  {a:18s} {j.id:34s} {j.claim.describe()}{rev}  ({j.author})")
    return 0
