"""A report with nothing new, right after ``make reports``: ``forecast scenario=one_time_raid``, side by side.

Each side starts from the state ``make reports`` leaves (``sidebyside.made_home``: the evidence replay, then
every scenario's report; today's posterior is a PSIS update of an older fit). The first run after it is timed once
per side (on the new side the report ``make reports`` wrote is already up to date: nothing is made again), then
``--rounds`` rounds, each a run per side alternating base and new, and on the new side the same with
``force=true`` (the report made again from the caches: what a run with nothing new did before the up-to-date
check). Each run is a fresh process (import included).

    .venv/bin/python bench/cached_report.py --base ../forecast-base [--work DIR] [--rounds 5]

Writes bench/results/<date>-cached-report.json. Not a test: nothing fails on a threshold.
"""

from __future__ import annotations

from sidebyside import Bench, copy_home, made_home

ARGS = ("scenario=one_time_raid",)


def main(argv: list[str] | None = None) -> None:
    bench = Bench("cached-report", __doc__.splitlines()[0], argv)
    args = bench.parse()
    homes = {s.name: copy_home(made_home(bench, s), bench.work / s.name / "cached") for s in bench.sides}
    first = {s.name: bench.forecast(s, "first run after make reports", homes[s.name], *ARGS) for s in bench.sides}
    new = next(s for s in bench.sides if s.name == "new")
    for _ in range(args.rounds):
        for s in bench.sides:
            bench.forecast(s, "cached report", homes[s.name], *ARGS)
        bench.forecast(new, "cached report, force=true", homes["new"], *ARGS, "force=true")
    bench.notes["command"] = "forecast " + " ".join(ARGS)
    bench.notes["first run, new side"] = first["new"].tail
    bench.notes["up to date"] = {what: sum("up to date" in " ".join(r.tail) for r in bench.runs
                                           if r.side == "new" and r.what == what)
                                 for what in ("first run after make reports", "cached report",
                                              "cached report, force=true")}
    bench.done()


if __name__ == "__main__":
    main()
