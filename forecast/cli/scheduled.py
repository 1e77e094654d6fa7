"""``forecast scheduled [--wait SECONDS] [HYDRA OVERRIDES]``: the cron-ready run (``api.scheduled``).

Every scenario for the as-of date into ``reports/<as_of>/``, under a lock; ``reports/runs.html`` lists every
run and ``reports/index.html`` shows every scenario's bottom line; alerts after every run. Exit status: 0 ok;
2 invalid input; 3 diagnostics failed (reports written, marked untrustworthy); 75 the lock was not free within
--wait; 70 internal error.
"""

from __future__ import annotations

import math
import time

from forecast import api
from forecast.cli.console import ArgParser, say
from forecast.errors import EXIT_DIAGNOSTICS, EXIT_OK, InputError


def cmd_scheduled(args: list[str]) -> int:
    ap = ArgParser(prog="forecast scheduled")
    ap.add_argument("--wait", type=float, default=3600.0, help="seconds to wait for another run's lock")
    ap.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. as_of=2026-11-01")
    ns = ap.parse_args(args)
    if not (math.isfinite(ns.wait) and ns.wait >= 0):
        raise InputError("forecast scheduled --wait", f"{ns.wait!r} is not a number of seconds >= 0",
                         "give e.g. --wait 0 (do not wait) or --wait 3600")
    cfg = api.compose(ns.overrides)
    t0 = time.perf_counter()
    run = api.scheduled(cfg, ns.overrides, ns.wait)
    code = EXIT_OK if run.ok else EXIT_DIAGNOSTICS
    say(f"scheduled run finished in {time.perf_counter() - t0:.1f}s with exit status {code}; "
        f"see {api.folders(cfg)['reports'] / 'index.html'} (the runs: runs.html)")
    return code
