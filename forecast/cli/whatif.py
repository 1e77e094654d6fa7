"""``forecast whatif [overrides] --poll ... --episode ... --judgement ...``: hypothetical evidence, answered by
reweighting the posterior's draws (the numbers of report.html's "What if ...?" panel). Nothing is saved."""

from __future__ import annotations

import argparse
import json

from forecast.cli.console import ArgParser, say
from forecast.errors import EXIT_DIAGNOSTICS, EXIT_OK, InputError

EPILOG = """items (each flag may be repeated; the items combine):
  --poll share=0.85,n=1000[,pollster=NAME]     a poll: share opposed, sample size; NAME: one of the posterior's
                                               pollsters (its stored wording effect); without it, a new pollster
  --episode action=ACTION,RESPONSE=0|1,...     an episode of an action type with any coded responses
                                               (an executed response coded 1 implies its threat)
  --judgement action=ACTION,response=RESPONSE,lower=L,upper=U[,mass=M]
                                               P(response | action) with mass M (default 0.8) in [L, U]

Exit status: 0, reliable (Pareto k <= 0.7); 3, printed but unreliable (k > 0.7: the output ends with the
`forecast evidence add ...` commands and the refit that give the exact answer); 2, invalid input."""


class _Item(argparse.Action):
    """Keep the items in command-line order whatever their kind."""

    def __call__(self, parser, namespace, values, option_string=None):
        namespace.items = [*(getattr(namespace, "items", None) or []), (self.dest, values)]


def parser() -> argparse.ArgumentParser:
    ap = ArgParser(prog="forecast whatif", description=__doc__, epilog=EPILOG,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    for kind, meta in (("poll", "share=S,n=N[,pollster=NAME]"), ("episode", "action=A,RESPONSE=0|1,..."),
                       ("judgement", "action=A,response=R,lower=L,upper=U[,mass=M]")):
        ap.add_argument(f"--{kind}", dest=kind, action=_Item, metavar=meta, default=None)
    ap.add_argument("--json", action="store_true", help="the full result as JSON (every number, the commands)")
    ap.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. scenario=repeated_raids as_of=2026-03-01")
    return ap


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def render_text(res, draws_info: str) -> str:
    """The result for people: every response before -> after with its interval, the diagnostics, and the
    commands for the exact answer when the reweighting is unreliable."""
    rank = {"response": 0, "composite": 1, "opinion": 2}
    t = sorted(res.rows, key=lambda r: (rank[r["kind"]], -r["before_mean"]))  # stable: ties in the rows' order
    hdi = f"{round(100 * res.hdi_prob)}% HDI"
    w = max(len(r["label"]) for r in t)
    lines = ["HYPOTHETICAL evidence: nothing is saved; the forecast and the evidence log are unchanged.", draws_info,
             "items: " + " | ".join(f"{i.kind} {i.spec()}" for i in res.items),
             f"reweighted {res.draws} of the {res.total_draws} posterior draws: Pareto k {res.pareto_k:.2f} "
             f"({'<=' if res.reliable else '>'} 0.7), effective sample size of the weights {res.ess:.0f}"]
    if res.base:
        lines.append(f"the posterior is itself a PSIS update of {res.base.get('base_hash')} "
                     f"(k {res.base.get('pareto_k')}): the hypothetical log ratios are added to its own and smoothed "
                     "together")
    lines += ["", f"{'':<{w}}  {'report':>7}  {hdi:<15}  {'hypothetical':>12}  {hdi:<15}  change"]
    for r in t:
        lines.append(f"{r['label']:<{w}}  {_pct(r['before_mean']):>7}  "
                     f"{_pct(r['before_low']) + '-' + _pct(r['before_high']):<15}  {_pct(r['after_mean']):>12}  "
                     f"{_pct(r['after_low']) + '-' + _pct(r['after_high']):<15}  "
                     f"{100 * (r['after_mean'] - r['before_mean']):+.1f} pts")
    if not res.reliable:
        lines += ["", f"UNRELIABLE: Pareto k {res.pareto_k:.2f} > 0.7: these draws cannot represent this evidence; "
                      "the numbers above are not an answer. For the exact answer, enter it for real and refit, in a "
                      "copy of the project (FORECAST_HOME=...): the first commands write entries into data/evidence/.",
                  *res.commands]
    return "\n".join(lines)


def cmd_whatif(args: list[str]) -> int:
    ns = parser().parse_intermixed_args(args)
    from forecast import api

    items = api.parse_whatif_items(getattr(ns, "items", None) or [])  # bad input: before any work
    if not items:
        raise InputError("forecast whatif", "no hypothetical item",
                         f"give --poll, --episode or --judgement, e.g. --poll {api.WHATIF_EXAMPLES['poll']}")
    cfg = api.compose(ns.overrides)
    res = api.whatif(cfg, items, overrides=ns.overrides, say=say)
    if ns.json:
        print(json.dumps(res.to_json(), indent=2, allow_nan=False))
    else:
        print(render_text(res, f"{res.scenario} ({res.title}), as of {res.as_of}, posterior {res.inputs_hash}; "
                               f"answered from {res.kept or 'the posterior'}"))
    if not res.reliable:
        say(f"Pareto k {res.pareto_k:.2f} > 0.7: the reweighted numbers are unreliable; the commands above give the "
            "exact answer by a refit")
        return EXIT_DIAGNOSTICS
    return EXIT_OK
