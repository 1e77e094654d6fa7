"""The documented Python API; the CLI is a thin layer over it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr
from omegaconf import DictConfig, OmegaConf

from . import config as _config
from .data import Episodes, Inputs, load_ontology, load_polls, load_precedents, merge_episodes
from .errors import InputError
from .evidence import load_evidence
from .fit import Fit
from .fit import fit as _fit
from .model import build_model
from .predict import predict
from .priors import parse_claims

compose = _config.compose

__all__ = ["build_model", "compose", "fit", "load_inputs", "predict_scenarios", "summarize", "write_report"]


def load_inputs(cfg: DictConfig, today: dt.date | None = None, *, evidence_only: set[str] | None = None,
                priors: dict[str, Any] | None = None) -> Inputs:
    """Load and validate data/, the priors and the evidence log, filtered to ``as_of``.

    ``evidence_only`` keeps just those evidence entries and ``priors`` replaces the configured
    priors: both rebuild an earlier state of the inputs, for attributing changes between reports.
    """
    today = today or dt.date.today()
    as_of = _config.as_of_date(cfg, today)
    paths = _config.paths(cfg)
    ont = load_ontology(paths["data"])
    prec = load_precedents(paths["data"] / "precedents.csv", ont, today)
    keep = [d <= as_of for d in prec.table["date"]]
    episodes = Episodes(prec.table[keep], prec.outcomes[keep])
    polls = load_polls(paths["data"] / "polls.csv", today)
    polls = polls[[d <= as_of for d in polls["date"]]]
    signals, evidence_ids = [], ()
    if cfg.get("evidence", True):
        ev = load_evidence(paths["data"] / "evidence", ont, today, as_of, only=evidence_only)
        episodes = merge_episodes(episodes, ev.episodes, "data/evidence")
        dupes = sorted(set(polls.index) & set(ev.polls.index))
        if dupes:
            raise InputError("data/evidence", f"poll id(s) {dupes} are also in data/polls.csv",
                             "give each poll its own id")
        polls = pd.concat([polls, ev.polls]) if len(ev.polls) else polls
        signals = ev.signals
        evidence_ids = tuple(e.id for e in ev.entries)
    hyper = _config.hyper(cfg)
    window = dt.timedelta(days=int(hyper.get("poll_window_days", 730)))
    polls = polls[[as_of - d <= window for d in polls["date"]]]
    # resolve=False: free text (quotes, notes) is never interpolated (`${oc.env:...}` would leak the environment)
    claims = parse_claims(priors if priors is not None else OmegaConf.to_container(cfg.priors, resolve=False), ont)
    return Inputs(ont, episodes, polls, claims, signals, hyper, as_of, evidence_ids)


def sampler_settings(cfg: DictConfig) -> dict[str, Any]:
    return OmegaConf.to_container(cfg.sampler, resolve=True)


def fit(cfg: DictConfig, inputs: Inputs, *, progress: bool = False, use_cache: bool = True, notify=None) -> Fit:
    """Fit (or load from the posterior cache) the posterior for these inputs. ``notify(str)`` hears progress."""
    return _fit(inputs, sampler_settings(cfg), int(cfg.seed), _config.paths(cfg)["cache"], progress, use_cache,
                notify)


def scenarios(cfg: DictConfig, inputs: Inputs, names: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Action profiles of the named scenarios (default: the configured one)."""
    if names is None:
        return {cfg.scenario.name: _config.scenario_profile(cfg, inputs.ontology)}
    current = cfg.scenario.name
    return {n: _config.scenario_profile(cfg if n == current else _config.load_scenario(n), inputs.ontology)
            for n in names}


def predict_scenarios(cfg: DictConfig, inputs: Inputs, fitted: Fit, names: list[str] | None = None,
                      group: str = "posterior") -> xr.Dataset:
    """Posterior (or article-only prior, ``group="prior"``) of every response for the scenarios."""
    return predict(fitted.idata, inputs.ontology, inputs.hyper, scenarios(cfg, inputs, names), group)


def summarize(pred: xr.Dataset, var: str = "p", hdi_prob: float = 0.9) -> pd.DataFrame:
    """Mean and HDI per scenario and response (or composite)."""
    import arviz as az

    da = pred[var]
    hdi = az.hdi(da, prob=hdi_prob)
    mean = da.mean(("chain", "draw"))
    lo = hdi.sel(ci_bound="lower").drop_vars("ci_bound")
    hi = hdi.sel(ci_bound="upper").drop_vars("ci_bound")
    return xr.Dataset({"mean": mean, "hdi_low": lo, "hdi_high": hi}).to_dataframe().reset_index()


def write_report(cfg: DictConfig, inputs: Inputs, fitted: Fit, names: list[str] | None = None,
                 out_dir: Path | None = None, overrides: list[str] | None = None,
                 previous: dict[str, dict] | None = None) -> list[Path]:
    """Write the report folders (see DESIGN.md's contract); returns their paths."""
    from .report import write_reports

    return write_reports(cfg, inputs, fitted, names, out_dir, overrides, previous)
