"""The documented Python API; the CLI is a thin layer over it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr
from omegaconf import DictConfig

from forecast import home as _home
from forecast.analysis import whatif as _whatif
from forecast.analysis.whatif import Episode, Judgement, Poll
from forecast.inputs import config as _config
from forecast.inputs.data import Inputs
from forecast.inputs.load import load_inputs
from forecast.model.build import build_model
from forecast.model.fit import Fit, fit_config, sampler_settings
from forecast.model.predict import predict
from forecast.outputs.report import command_line, write_reports

compose = _config.compose

__all__ = ["Episode", "Judgement", "Poll", "build_model", "check", "compose", "fit", "init", "load_inputs",
           "predict_scenarios", "sampler_settings", "scenarios", "summarize", "whatif", "write_report"]


def init(folder: str | Path, *, force: bool = False) -> Path:
    """Write a new project home into ``folder``: the package's settings (``conf/``) and reference data
    (``data/``), an empty ``reports/`` and a README; returns its path. ``force`` accepts a folder that holds
    other files (nothing is overwritten). Run forecast inside it, or set ``FORECAST_HOME`` to it."""
    return _home.init(folder, force=force)


def fit(cfg: DictConfig, inputs: Inputs, *, progress: bool = False, use_cache: bool = True, notify=None,
        update: str | None = None) -> Fit:
    """Fit (or load from the posterior cache) the posterior for these inputs. ``notify(str)`` hears progress.

    ``update`` (default: the config's ``update``, ``auto``): ``auto`` reweights the nearest cached
    posterior by PSIS when the inputs only add evidence or change claims and the Pareto k <= 0.7
    (``fitted.weights``, ``fitted.update``); ``refit`` always samples on a cache miss."""
    return fit_config(cfg, inputs, progress=progress, use_cache=use_cache, notify=notify, update=update)


def scenarios(cfg: DictConfig, inputs: Inputs, names: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Action profiles of the named scenarios (default: the configured one)."""
    return _config.scenario_profiles(cfg, inputs.ontology, names)


def predict_scenarios(cfg: DictConfig, inputs: Inputs, fitted: Fit, names: list[str] | None = None,
                      group: str = "posterior") -> xr.Dataset:
    """Posterior (or article-only prior, ``group="prior"``) of every response for the scenarios."""
    return predict(fitted.idata, inputs.ontology, inputs.hyper, scenarios(cfg, inputs, names), group)


def summarize(pred: xr.Dataset, var: str = "p", hdi_prob: float = 0.9, weights=None) -> pd.DataFrame:
    """Mean and HDI per scenario and response (or composite). Pass ``weights=fitted.weights``: a PSIS
    update's draws are importance-weighted (``None``, a cache hit or an exact fit: equal weights)."""
    from forecast.model import summary

    da = pred[var]
    lo, hi = summary.hdi(da, hdi_prob, weights)
    out = xr.Dataset({"mean": summary.mean(da, weights), "hdi_low": lo, "hdi_high": hi})
    return out.to_dataframe().reset_index()


def write_report(cfg: DictConfig, inputs: Inputs, fitted: Fit, names: list[str] | None = None,
                 out_dir: Path | None = None, overrides: list[str] | None = None,
                 previous: dict[str, dict] | None = None) -> list[Path]:
    """Write the report folders (see the contract of docs/design.md); returns their paths."""
    return write_reports(cfg, inputs, fitted, names, out_dir, overrides, previous)


def check(cfg: DictConfig, *, backtest: bool = True, sbc_simulations: int = 0, min_history: int = 9,
          only: list[str] | None = None, say=None) -> Path:
    """Run the model checks for this configuration (the fit and the back-test's refits are cached) and write
    ``reports/checks/`` (checks.json, checks.html, checks.md, figures); returns that folder. ``only`` runs some
    of ``forecast.analysis.checks.run.CHECKS`` (the others are kept from the previous checks of the same
    posterior). Later scenario reports show its headline in "How good are these probabilities?"."""
    from forecast.analysis.checks.run import run_checks, selected
    from forecast.errors import ConfigError
    from forecast.outputs.checks_report import write_checks

    selected(only, sbc_simulations, backtest)  # a bad choice fails here, before any work
    if sbc_simulations < 0:
        raise ConfigError("--sbc", f"{sbc_simulations} simulations", "give 0 (no SBC) or more")
    inputs = load_inputs(cfg)
    n = len(inputs.episodes.table)
    if backtest and (only is None or "backtest" in only) and not 1 <= min_history < n:
        raise ConfigError("--min-history", f"{min_history} with {n} coded episodes",
                          f"give a number from 1 to {n - 1}")
    fitted = fit_config(cfg, inputs, notify=say, update="refit")  # the checks need exact (unweighted) draws
    checks, figures = run_checks(cfg, inputs, fitted, backtest=backtest, sbc_simulations=sbc_simulations,
                                 min_history=min_history, only=only, say=say)
    return write_checks(_config.paths(cfg)["reports"], checks, figures)


def whatif(cfg: DictConfig, items: list, *, inputs: Inputs | None = None, fitted: Fit | None = None,
           overrides: list[str] | None = None, say=None) -> _whatif.Result:
    """Hypothetical evidence (``Poll``, ``Episode``, ``Judgement``, or ``(kind, "name=value,...")`` pairs as
    ``forecast whatif`` takes them): every response's mean and HDI before and after, from the same thinned draws
    as report.html's "What if ...?" panel (``report.whatif_draws``), the Pareto k and the effective sample size of
    the weights, and the commands that give the exact answer by a refit. Nothing is saved."""
    parsed = [_whatif.parse_item(*it) if isinstance(it, tuple) else it for it in items]
    inputs = inputs if inputs is not None else load_inputs(cfg)
    fitted = fitted if fitted is not None else fit_config(cfg, inputs, notify=say)
    name = cfg.scenario.name
    sc = scenarios(cfg, inputs)
    pred = predict(fitted.idata, inputs.ontology, inputs.hyper, sc)
    n = int(cfg.report.get("whatif_draws") or _whatif.DEFAULT_DRAWS)
    draws = _whatif.build_draws(cfg, inputs, fitted, sc[name], pred, n_draws=n, command=command_line(overrides))
    return _whatif.reweight(draws, parsed, inputs)
