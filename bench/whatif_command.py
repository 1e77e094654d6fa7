"""``forecast whatif --poll share=0.85,n=1000`` right after ``make reports``, side by side.

Each side starts from the state ``make reports`` leaves (``sidebyside.made_home``). One untimed run, then
``--rounds`` timed runs per side, alternating base and new; each run is a fresh process. The answer is kept
from each side's last run (``notes``): the same hypothetical poll must move the same responses by the same
amounts within Monte Carlo error. (The report page's panel answers the same question in the browser:
bench/whatif.py.)

    .venv/bin/python bench/whatif_command.py --base ../forecast-base [--work DIR] [--rounds 5]

Writes bench/results/<date>-whatif-command.json. Not a test.
"""

from __future__ import annotations

from sidebyside import Bench, copy_home, made_home

ARGS = ("whatif", "--poll", "share=0.85,n=1000")


def main(argv: list[str] | None = None) -> None:
    bench = Bench("whatif-command", __doc__.splitlines()[0], argv)
    args = bench.parse()
    homes = {s.name: copy_home(made_home(bench, s), bench.work / s.name / "whatif") for s in bench.sides}
    last = {name: r.tail for name, r in bench.alternate("whatif --poll", homes, *ARGS, rounds=args.rounds).items()}
    bench.notes["command"] = "forecast " + " ".join(ARGS)
    bench.notes["answer_tail"] = last
    bench.done()


if __name__ == "__main__":
    main()
