"""The documented Python API: everything the CLI does, from a notebook (the CLI only parses and prints).

The building blocks (compose a config, load and validate the inputs, build the model, fit, predict a scenario,
summarise, write reports) are defined here; the use cases (a forecast run, the scheduled run, the checks,
what-if, the evidence log and judgements, the history, the alerts) live in ``forecast.usecases`` and are
re-exported here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr
from omegaconf import DictConfig

from forecast import home as _home
from forecast.analysis.whatif import Episode, Judgement, Poll
from forecast.files import clear_published, ensure_dir, guard, io_errors, published_so_far, write_error
from forecast.inputs import config as _config
from forecast.inputs.data import Inputs
from forecast.inputs.load import load_inputs
from forecast.model.build import build_model
from forecast.model.fit import Fit, fit_config, sampler_settings
from forecast.model.predict import predict
from forecast.outputs.contract import REPORT_SCHEMA_VERSION, Report, WrittenReport, read_report
from forecast.usecases.alerts import alerts, alerts_test
from forecast.usecases.checks import check
from forecast.usecases.evidence import (
    evidence_add,
    evidence_check,
    evidence_restore,
    evidence_withdraw,
    judgement_add,
    judgement_check,
)
from forecast.usecases.history import REPLAY_START, history, history_replay
from forecast.usecases.ontology import actions, responses
from forecast.usecases.reports import Run, record_job, run, summarize_sweep, write_report
from forecast.usecases.scheduled import ScheduledRun, scheduled
from forecast.usecases.whatif import EXAMPLES as WHATIF_EXAMPLES
from forecast.usecases.whatif import parse_items as parse_whatif_items
from forecast.usecases.whatif import whatif

compose = _config.compose
validate = _config.validate
folders = _config.paths  # where the configured data/, reports/ and .cache/ are (``paths`` is the module)

__all__ = ["Episode", "Judgement", "Poll", "REPLAY_START", "REPORT_SCHEMA_VERSION", "Report", "Run", "ScheduledRun",
           "WHATIF_EXAMPLES", "WrittenReport", "actions", "alerts", "alerts_test", "build_model", "check",
           "clear_published", "compose", "evidence_add", "evidence_check", "evidence_restore", "evidence_withdraw",
           "fit", "folders", "history", "history_replay", "init", "judgement_add", "judgement_check", "load_inputs",
           "open_job_log", "parse_whatif_items", "predict_scenarios", "published_so_far", "read_report", "record_job",
           "responses", "run", "sampler_settings", "scenario_titles", "scenarios", "scheduled", "summarize",
           "summarize_sweep", "validate", "what_moved", "whatif", "write_error", "write_report"]


def init(folder: str | Path, *, force: bool = False) -> Path:
    """Write a new project home into ``folder``: the package's settings (``conf/``) and reference data
    (``data/``), an empty ``reports/`` and a README; returns its path. ``force`` accepts a folder that holds
    other files (nothing is overwritten). Run forecast inside it, or set ``FORECAST_HOME`` to it."""
    return _home.init(folder, force=force)


def open_job_log(cfg: DictConfig) -> Path:
    """Open (create) the run's log file, ``<paths.cache>/logs/forecast.log``, through the one door for writes:
    Hydra opens it itself and fails with a traceback when it cannot; this way a read-only cache or a folder in its
    place is one line (exit 74) first."""
    cache = _config.paths(cfg)["cache"]
    log_file = guard(ensure_dir(cache / "logs", cache, heal=True) / "forecast.log", cache)
    with io_errors(log_file), open(log_file, "a", encoding="utf-8"):
        pass
    return log_file


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


def what_moved(report: dict[str, Any]) -> list[str]:
    """What moved in a written report (``WrittenReport.data``) since the brief it is compared with, one line per
    material move, or one line saying nothing material moved (what ``forecast`` prints on stdout)."""
    from forecast.outputs.brief import what_moved_lines

    return what_moved_lines(report)


def scenario_titles() -> list[tuple[str, str]]:
    """Every scenario of ``conf/scenario/``: (name, title)."""
    from omegaconf import OmegaConf

    return [(name, str(OmegaConf.to_container(compose([f"scenario={name}"]).scenario).get("title", "")))
            for name in _config.list_scenarios()]


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
