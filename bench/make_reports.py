"""``make reports`` after the install on a fresh clone, side by side: the evidence replay, then every scenario.

Each round, on each side (alternating base and new): a fresh project home (``conf/`` and ``data/`` of the side's
checkout, empty ``reports/`` and ``.cache/``, so every fit is done again), then the two commands of the
Makefile's ``reports`` target, each a fresh process, timed one by one and together. The install
(``tools/bootstrap.sh``) is not timed: both sides share the same dependencies. The last round's homes are kept
in ``--work`` as the state the other benchmarks start from (``sidebyside.made_home``).

    .venv/bin/python bench/make_reports.py --base ../forecast-base --work DIR [--rounds 1]

Writes bench/results/<date>-make-reports.json. Not a test.
"""

from __future__ import annotations

from sidebyside import Bench


def main(argv: list[str] | None = None) -> None:
    bench = Bench("make-reports", __doc__.splitlines()[0], argv)
    bench.ap.set_defaults(rounds=1)
    args = bench.parse()
    for _ in range(args.rounds):
        for s in bench.sides:
            home = s.home(bench.work, "made")
            a = bench.forecast(s, "replay", home, "history", "--replay")
            b = bench.forecast(s, "all scenarios", home, "all_scenarios=true")
            (home / ".made").write_text("make reports\n")
            bench.runs.append(type(a)(s.name, "make reports (after the install)", a.seconds + b.seconds,
                                      max(a.peak_mb, b.peak_mb), max(a.code, b.code), a.load_before,
                                      b.load_after))
    bench.notes["commands"] = ["forecast history --replay", "forecast all_scenarios=true"]
    bench.done()


if __name__ == "__main__":
    main()
