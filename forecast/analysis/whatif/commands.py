"""The exact answer to a what-if: the evidence log entries that would make the items real, and the refit; the command
line a report records (``command_line``)."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from forecast.analysis.whatif.items import NEW_POLLSTER, Item

if TYPE_CHECKING:
    from forecast.analysis.whatif.draws import Draws

HYPOTHETICAL_SOURCE = "hypothetical: what-if (forecast whatif / the What if panel of report.html)"


def command_line(overrides: list[str] | None) -> str:
    """The command that asked for a run, as its reports record it; without ``force=...``, which decides whether a
    report is made again, not what it holds (a forced report is the one the same command makes without it)."""
    return "forecast " + " ".join(o for o in overrides or [] if o.lstrip("+~").partition("=")[0] != "force")


def refit_commands(d: Draws, items: list[Item]) -> list[str]:
    """The evidence log entries that would make the items real, and the exact refit of the report (the page
    prints the same lines). They write into data/evidence/: run them in a copy of the project."""
    q = shlex.quote
    day = d.as_of.isoformat()
    out, new = [], 0
    for i, it in enumerate(items, start=1):
        common = (f"--id E-WHATIF-{day}-{i} --date-known {day} --source {q(HYPOTHETICAL_SOURCE)} --summary "
                  f"{q(_summary_text(it, d))}")
        if it.kind == "poll":
            if it.pollster is None:
                new += 1
            name = it.pollster if it.pollster is not None else NEW_POLLSTER.format(i=new)
            out.append(f"forecast evidence add poll {common} --pollster {q(name)} --date {day} --n {it.n} "
                       f"--share-opposed {it.share:g}")
        elif it.kind == "episode":
            resp = " ".join(f"--response {r}={v}" for r, v in it.responses)
            out.append(f"forecast evidence add episode {common} --action-type {it.action} --date {day} {resp}")
        else:
            out.append(f"forecast evidence add signal {common} --actions {it.action} --response-id {it.response} "
                       f"--lower {it.lower:g} --upper {it.upper:g} --mass {it.mass:g}")
    keep = [t for t in shlex.split(d.command)[1:] if not t.startswith(("update=", "scenario=", "all_scenarios="))
            and not t.startswith("-")]
    out.append(" ".join(["forecast", *(q(t) for t in keep), f"scenario={d.scenario}", "update=refit"]))
    return out


def _summary_text(it: Item, d: Draws) -> str:
    if it.kind == "poll":
        who = it.pollster or "a new pollster"
        return f"Hypothetical poll by {who}: {it.share:.0%} opposed (n {it.n})"
    if it.kind == "episode":
        return f"Hypothetical episode of {it.action}, {len(it.responses)} response(s) coded"
    return f"Hypothetical judgement: P({it.response} | {it.action}) in [{it.lower:g}, {it.upper:g}]"

