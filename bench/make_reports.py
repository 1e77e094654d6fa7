"""``make reports`` on a fresh clone, side by side: after the install (the evidence replay, then every scenario),
and with ``--fresh-clone`` the whole target from a fresh ``git clone`` (the install included).

After the install, each round, on each side (alternating base and new): a fresh project home (``conf/`` and
``data/`` of the side's checkout, empty ``reports/`` and ``.cache/``, so every fit is done again), then the two
commands of the Makefile's ``reports`` target, each a fresh process, timed one by one and together. The install
(``tools/bootstrap.sh``) is not timed: both sides share the same dependencies. The last round's homes are kept
in ``--work`` as the state the other benchmarks start from (``sidebyside.made_home``).

With ``--fresh-clone``: each side's commit cloned into ``--work`` (``git clone``, no ``.venv``, no caches), then
``make reports`` timed whole: the virtualenv created and the project installed (``tools/bootstrap.sh``: pip
from the machine's package index or wheel cache), the replay and every scenario's report.

    .venv/bin/python bench/make_reports.py --base ../forecast-base --work DIR [--rounds 1] [--fresh-clone]

Writes bench/results/<date>-make-reports.json. Not a test.
"""

from __future__ import annotations

import shutil
import subprocess

from sidebyside import Bench


def fresh_clone(bench: Bench, side) -> None:
    """``make reports`` in a fresh clone of the side's commit, timed whole (the install included)."""
    clone = bench.work / side.name / "clone"
    if clone.exists():
        shutil.rmtree(clone)
    clone.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(side.checkout), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "--quiet", "--detach", side.commit], check=True)
    env = {k: v for k, v in bench.env(clone).items() if k not in ("FORECAST_HOME", "VIRTUAL_ENV")}
    bench.run(side, "make reports (fresh clone, with the install)", ["make", "reports"], env, cwd=clone)


def main(argv: list[str] | None = None) -> None:
    bench = Bench("make-reports", __doc__.splitlines()[0], argv)
    bench.ap.set_defaults(rounds=1)
    bench.ap.add_argument("--fresh-clone", action="store_true",
                          help="time make reports from a fresh git clone of each side, the install included")
    args = bench.parse()
    for _ in range(args.rounds):
        for s in bench.sides:
            if args.fresh_clone:
                fresh_clone(bench, s)
                continue
            home = s.home(bench.work, "made")
            a = bench.forecast(s, "replay", home, "history", "--replay")
            b = bench.forecast(s, "all scenarios", home, "all_scenarios=true")
            (home / ".made").write_text("make reports\n")
            bench.runs.append(type(a)(s.name, "make reports (after the install)", a.seconds + b.seconds,
                                      max(a.peak_mb, b.peak_mb), max(a.code, b.code), a.load_before,
                                      b.load_after, cpu=a.cpu + b.cpu))
    bench.notes["commands"] = (["make reports (git clone of each side's commit)"] if args.fresh_clone else
                               ["forecast history --replay", "forecast all_scenarios=true"])
    bench.done()


if __name__ == "__main__":
    main()
