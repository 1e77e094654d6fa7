"""``forecast check``: are these probabilities any good? The model checks into ``reports/checks/``.

The checks need exact draws (a fit, never a PSIS update); the back-test's refits are cached by their inputs
hash. Every scenario report written afterwards shows the headline in "How good are these probabilities?".
"""

from __future__ import annotations

from pathlib import Path

from forecast.analysis.checks.ahead import start as start_ahead
from forecast.analysis.checks.run import run_checks, selected
from forecast.errors import ConfigError
from forecast.inputs import config as _config
from forecast.inputs.load import load_inputs
from forecast.model.fit import fit_config
from forecast.outputs.checks_report import write_checks
from forecast.outputs.history import history_path, read_history


def check(cfg, *, backtest: bool = True, sbc_simulations: int = 0, min_history: int = 9,
          only: list[str] | None = None, say=None) -> Path:
    """Run the model checks for this configuration (the fit and the back-test's refits are cached) and write
    ``reports/checks/`` (checks.json, checks.html, checks.md, figures); returns that folder. ``only`` runs some
    of ``forecast.analysis.checks.run.CHECKS`` (the others are kept from the previous checks of the same
    posterior). Later scenario reports show its headline in "How good are these probabilities?"."""
    todo = selected(only, sbc_simulations, backtest)  # a bad choice fails here, before any work
    if sbc_simulations < 0:
        raise ConfigError("--sbc", f"{sbc_simulations} simulations", "give 0 (no SBC) or more")
    reports = _config.paths(cfg)["reports"]
    inputs = load_inputs(cfg)
    n = len(inputs.episodes.table)
    if backtest and (only is None or "backtest" in only) and not 1 <= min_history < n:
        raise ConfigError("--min-history", f"{min_history} with {n} coded episodes",
                          f"give a number from 1 to {n - 1}")
    # the track record scores the published forecasts: a damaged history stops the run before the fit
    history = read_history(history_path(reports)) if "track" in todo else None
    # the back-test's walks and the fits ahead of them start now in two workers, beside the posterior's fit; they
    # end with the checks, whatever happens
    ahead = start_ahead(cfg, inputs, todo, min_history=min_history, say=say)
    try:
        fitted = fit_config(cfg, inputs, notify=say, update="refit")  # the checks need exact (unweighted) draws
        checks, figures = run_checks(cfg, inputs, fitted, backtest=backtest, sbc_simulations=sbc_simulations,
                                     min_history=min_history, only=only, say=say, history=history, ahead=ahead)
    finally:
        if ahead is not None:
            ahead.close()
    return write_checks(reports, checks, figures)
