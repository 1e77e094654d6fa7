"""One new poll to the report with what moved (the PSIS path), against ``update=refit``, side by side.

Each round, on each side (alternating base and new): a copy of the state ``make reports`` leaves
(``sidebyside.made_home``) with the scenario's report published (``published_home``: untimed, once per side; a
plain run published on the baseline, ``publish=true`` does since a plain run is a preview, and what moved is
measured against the last published brief), one poll added with ``forecast evidence add poll`` (untimed), then
``forecast scenario=one_time_raid`` timed: the cached posterior reweighted by PSIS, the report written with
the change attributed to the poll. Then, ``--refits`` times per side, the same with ``update=refit`` (the exact
posterior sampled): the ratio the issue's table asks for. The published means of both sides are kept
(``notes.means``, with their Monte Carlo standard errors) to show that no number moved beyond Monte Carlo error.

    .venv/bin/python bench/new_evidence.py --base ../forecast-base [--work DIR] [--rounds 5] [--refits 1]

Writes bench/results/<date>-new-evidence.json. Not a test.
"""

from __future__ import annotations

import json

from sidebyside import Bench, copy_home, made_home

POLL = ("evidence", "add", "poll", "--id", "E-2026-12-bench-poll", "--date-known", "2026-12-02",
        "--source", "https://example.org/poll", "--summary", "Benchmark poll: 85% oppose US strikes",
        "--pollster", "Pollster X", "--date", "2026-11-28", "--n", "1200", "--share-opposed", "0.85")
ARGS = ("scenario=one_time_raid",)


def published_home(bench: Bench, side, made):
    """A copy of the made state with the scenario's report published (``<work>/<side>/published``, kept in
    ``--work``): what the new poll's report says moved is measured against it. A checkout whose settings have
    ``publish`` publishes only with ``publish=true`` (a plain run is a preview); an older one at every run."""
    home = bench.work / side.name / "published"
    if not (home / ".published").is_file():
        home = copy_home(made, home)
        opt = ("publish=true",) if "\npublish:" in (home / "conf" / "config.yaml").read_text() else ()
        bench.forecast(side, "publish (untimed)", home, *ARGS, *opt, record=False)
        (home / ".published").write_text("published\n")
    return home


def main(argv: list[str] | None = None) -> None:
    bench = Bench("new-evidence", __doc__.splitlines()[0], argv)
    bench.ap.add_argument("--refits", type=int, default=1)
    args = bench.parse()
    made = {s.name: published_home(bench, s, made_home(bench, s)) for s in bench.sides}
    means: dict[str, dict] = {}
    for what, extra, n in (("poll -> report (auto: PSIS)", (), args.rounds),
                           ("poll -> report (update=refit)", ("update=refit",), args.refits)):
        for _ in range(n):
            for s in bench.sides:
                home = copy_home(made[s.name], bench.work / s.name / "evidence")
                bench.forecast(s, "evidence add (untimed)", home, *POLL, record=False)
                bench.forecast(s, what, home, *ARGS, *extra)
                data = json.loads((home / "reports" / "one_time_raid" / "forecast.json").read_text())
                means.setdefault(what, {}).setdefault(s.name, []).append(
                    {"update": (data.get("update") or {}).get("method"),
                     "responses": {r["response"]: [r["mean"], r.get("mcse_mean")] for r in data["responses"]}})
    bench.notes["command"] = "forecast " + " ".join(POLL) + "; forecast " + " ".join(ARGS)
    bench.notes["means"] = means
    bench.done()


if __name__ == "__main__":
    main()
