"""``forecast check`` (every check, the back-test with its refits), side by side, first run and run again.

Each side starts from a copy of the state ``make reports`` leaves (``sidebyside.made_home``). Per round and
side (alternating base and new): ``forecast check`` in a fresh copy (``first``: no back-test refit made yet,
``make reports`` makes none), then the same command again in the same home (``again``: what a second run
reuses). ``--only`` is not used: the whole command is what the issue's table times.

    .venv/bin/python bench/check_command.py --base ../forecast-base [--work DIR] [--rounds 1] [--fresh]

Writes bench/results/<date>-check-command.json. Not a test.
"""

from __future__ import annotations

from sidebyside import Bench, copy_home, made_home


def main(argv: list[str] | None = None) -> None:
    bench = Bench("check-command", __doc__.splitlines()[0], argv)
    bench.ap.set_defaults(rounds=1)
    bench.ap.add_argument("--fresh", action="store_true", help="start from a fresh home instead of what make "
                                                                  "reports leaves (the check fits its posterior)")
    args = bench.parse()
    made = {s.name: None if args.fresh else made_home(bench, s) for s in bench.sides}
    for _ in range(args.rounds):
        for s in bench.sides:
            home = (s.home(bench.work, "check") if args.fresh
                    else copy_home(made[s.name], bench.work / s.name / "check"))
            bench.forecast(s, "check (first)", home, "check")
            bench.forecast(s, "check (again)", home, "check")
    bench.notes["command"] = "forecast check"
    bench.done()


if __name__ == "__main__":
    main()
