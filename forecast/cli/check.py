"""``forecast check [--only CHECKS] [--no-backtest] [--sbc N] [--min-history N] [overrides]``: the model checks
into reports/checks/."""

from __future__ import annotations

import argparse
import time

from forecast.cli.console import ArgParser, say

CHECK_NAMES = ("prior", "ppc", "loo", "sensitivity", "track", "claims", "backtest", "sbc")  # analysis.checks.run.CHECKS


def _count(lowest: int):
    """An argparse type: an integer >= ``lowest`` (refused before any work, in one line)."""
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if v < lowest:
            raise argparse.ArgumentTypeError(f"{v} is below {lowest}")
        return v

    parse.__name__ = "whole number"
    return parse


def _checks(text: str) -> list[str]:
    names = [t.strip() for t in text.split(",") if t.strip()]
    bad = [n for n in names if n not in CHECK_NAMES]
    if bad or not names:
        raise argparse.ArgumentTypeError(f"{', '.join(bad) or 'nothing'} is not a check (choose among "
                                         f"{','.join(CHECK_NAMES)})")
    return names


def cmd_check(args: list[str]) -> int:
    ap = ArgParser(prog="forecast check", description="Back-test of the published model, calibration, predictive "
                   "checks, LOO, the article's claims with and without, prior sensitivity, track record (and SBC "
                   "with --sbc N) into reports/checks/.")
    ap.add_argument("--only", type=_checks, default=None, metavar="CHECKS",
                    help=f"run only these checks, comma-separated, among {','.join(CHECK_NAMES)} (the others are kept "
                    "from the previous forecast check of the same posterior); backtest (its refits are kept in the "
                    "posterior cache) and sbc are the expensive ones")
    ap.add_argument("--no-backtest", action="store_true", help="skip the leave-future-out back-test (refits)")
    ap.add_argument("--sbc", type=_count(0), default=0, metavar="N", help="also run simulation-based calibration "
                    "with N simulations (slow: about 10-60 s each)")
    ap.add_argument("--min-history", type=_count(1), default=9, metavar="N",
                    help="episodes before the first back-test prediction (at least 1, fewer than the coded episodes)")
    ap.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. seed=1 paths.reports=/tmp/r")
    ns = ap.parse_args(args)
    from forecast import api

    t0 = time.perf_counter()
    path = api.check(api.compose(ns.overrides), backtest=not ns.no_backtest, sbc_simulations=ns.sbc,
                     min_history=ns.min_history, only=ns.only, say=say)
    say(f"checks written: {path / 'checks.html'} ({time.perf_counter() - t0:.0f} s)")
    return 0
