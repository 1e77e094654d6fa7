"""A report with nothing new, right after ``make reports``: ``forecast scenario=one_time_raid``, side by side.

Each side starts from the state ``make reports`` leaves (``sidebyside.made_home``: the evidence replay, then
every scenario's report; today's posterior is a PSIS update of an older fit). One untimed run, then
``--rounds`` timed runs per side, alternating base and new; each run is a fresh process (import included).

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
    bench.alternate("cached report", homes, *ARGS, rounds=args.rounds)
    bench.notes["command"] = "forecast " + " ".join(ARGS)
    bench.done()


if __name__ == "__main__":
    main()
