"""Where the time of a cached report and of the PSIS path goes, on the baseline and on this checkout.

For each side, from the state ``make reports`` leaves (``sidebyside.made_home``, copied): ``python -X importtime``
and ``python -m cProfile`` of ``forecast scenario=one_time_raid`` (a report with nothing new: one untimed run
first), then of the same after ``forecast evidence add poll`` (the PSIS path: the cached posterior reweighted,
the change attributed), each in a fresh copy. Kept: the import time of the whole command and its ten largest
top-level imports (cumulative), and the ten functions with the largest own time and cumulative time.

    .venv/bin/python bench/profiles.py --base ../forecast-base [--work DIR] [--case "cached report"]

Writes bench/results/<date>-profiles.json. Not a test; profiles distort what they measure (read them for where
the time goes, the side-by-side benchmarks for how long).
"""

from __future__ import annotations

import pstats
import re

from new_evidence import POLL, published_home
from sidebyside import Bench, copy_home, made_home

ARGS = ("scenario=one_time_raid",)
CASES = (("cached report", None), ("PSIS path (a new poll)", POLL))
LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")


def imports(text: str, n: int = 10) -> dict:
    top, total = [], 0
    for ln in text.splitlines():
        m = LINE.match(ln)
        if m and not m.group(3):  # a top-level import (its cumulative time includes what it imports)
            top.append((m.group(4), int(m.group(2)) / 1e6))
            total += int(m.group(2))
    top.sort(key=lambda x: -x[1])
    return {"total_s": round(total / 1e6, 3), "largest": [[k, round(v, 3)] for k, v in top[:n]]}


def profile(path: str, n: int = 10) -> dict:
    st = pstats.Stats(path)
    rows = [(f"{f[0].split('site-packages/')[-1].split('/forecast/')[-1]}:{f[1]}({f[2]})", v[2], v[3])
            for f, v in st.stats.items()]
    return {"total_s": round(st.total_tt, 3),
            "tottime": [[k, round(t, 3)] for k, t, _ in sorted(rows, key=lambda r: -r[1])[:n]],
            "cumtime": [[k, round(c, 3)] for k, _, c in sorted(rows, key=lambda r: -r[2])[:n]]}


def main(argv: list[str] | None = None) -> None:
    bench = Bench("profiles", __doc__.splitlines()[0], argv)
    bench.ap.add_argument("--case", choices=[c for c, _ in CASES], action="append",
                          help="profile only this case (repeat for more; default: every case)")
    args = bench.parse()
    out: dict = {}
    for s in bench.sides:
        made = made_home(bench, s)
        for case, setup in CASES:
            if args.case and case not in args.case:
                continue
            for tool in ("importtime", "cprofile"):
                # the new poll's report says what moved since the published brief (bench/new_evidence.py)
                src = published_home(bench, s, made) if setup else made
                home = copy_home(src, bench.work / s.name / "profile")
                if setup:
                    bench.forecast(s, "evidence add (untimed)", home, *setup, record=False)
                else:
                    bench.forecast(s, "warm-up (untimed)", home, *ARGS, record=False)
                if tool == "importtime":
                    r = bench.run(s, f"{case}: -X importtime", [s.python, "-X", "importtime", "-m", "forecast", *ARGS],
                                  bench.env(home), cwd=home, record=False, full=True)
                    out.setdefault(case, {}).setdefault(s.name, {})["imports"] = imports(r.out)
                else:
                    prof = str(home / "run.prof")
                    bench.run(s, f"{case}: cProfile", [s.python, "-m", "cProfile", "-o", prof, "-m", "forecast",
                                                       *ARGS], bench.env(home), cwd=home, record=False)
                    out.setdefault(case, {}).setdefault(s.name, {})["cprofile"] = profile(prof)
    bench.notes["profiles"] = out
    bench.done()


if __name__ == "__main__":
    main()
