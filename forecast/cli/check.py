"""``forecast check [--no-backtest] [--sbc N] [overrides]``: the model checks into reports/checks/."""

from __future__ import annotations

import time

from forecast.cli.console import ArgParser, say


def cmd_check(args: list[str]) -> int:
    ap = ArgParser(prog="forecast check", description="Back-test, calibration, predictive checks, LOO, prior "
                   "sensitivity, track record (and SBC with --sbc N) into reports/checks/.")
    ap.add_argument("--no-backtest", action="store_true", help="skip the leave-future-out back-test (refits)")
    ap.add_argument("--sbc", type=int, default=0, metavar="N", help="also run simulation-based calibration with N "
                    "simulations (slow: about 10-60 s each)")
    ap.add_argument("--min-history", type=int, default=9, help="episodes before the first back-test prediction")
    ap.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. seed=1 paths.reports=/tmp/r")
    ns = ap.parse_args(args)
    from forecast import api

    t0 = time.perf_counter()
    path = api.check(api.compose(ns.overrides), backtest=not ns.no_backtest, sbc_simulations=ns.sbc,
                     min_history=ns.min_history, say=say)
    say(f"checks written: {path / 'checks.html'} ({time.perf_counter() - t0:.0f} s)")
    return 0
