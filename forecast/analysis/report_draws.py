"""What a run's reports show, computed from the posterior before anything is written: every scenario's
predictions (the table of all scenarios compares them), the article-only prior of the reported ones, and the draws each
report's What if panel embeds (with a PSIS update's own log ratio, so that the panel starts from the report's
numbers). The writers (``forecast.outputs.report``) only summarise, draw and write these.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import xarray as xr

from forecast.analysis import whatif as W
from forecast.analysis.whatif.commands import command_line  # noqa: F401 - the reports' and the what-if's
from forecast.inputs import config as _config
from forecast.inputs.data import Inputs
from forecast.model import summary
from forecast.model.fit import Fit
from forecast.model.predict import predict
from forecast.model.reweight import NotReweightable

log = logging.getLogger("forecast")


@dataclass
class ReportDraws:
    """``names``: the scenarios reported; ``profiles``: every scenario's action profile (the configured one with
    its overrides); ``pred``: every scenario's posterior predictions, ``all_means`` their (weighted) means;
    ``prior_pred``: the reported scenarios' article-only prior; ``whatif``: each reported scenario's panel draws
    (empty with ``report.whatif_draws=0`` or when a PSIS update's log ratio cannot be recomputed)."""

    names: list[str]
    profiles: dict[str, dict[str, Any]]
    pred: xr.Dataset
    prior_pred: xr.Dataset
    all_means: pd.DataFrame
    whatif: dict[str, W.Draws] = field(default_factory=dict)


def report_draws(cfg, inputs: Inputs, fitted: Fit, names: list[str] | None = None,
                 overrides: list[str] | None = None) -> ReportDraws:
    """The draws behind the reports of ``names`` (default: the configured scenario)."""
    current = _config.scenario_profiles(cfg, inputs.ontology, None)
    wanted = names or list(current)
    sc = {**_config.scenario_profiles(cfg, inputs.ontology, _config.list_scenarios()), **current}
    cache = _config.paths(cfg)["cache"]  # predictions are kept: a report from the same draws predicts nothing
    pred = predict(fitted.idata, inputs.ontology, inputs.hyper, sc, cache=cache)
    prior_pred = predict(fitted.idata, inputs.ontology, inputs.hyper, {n: sc[n] for n in wanted}, group="prior",
                         cache=cache)
    out = ReportDraws(wanted, sc, pred, prior_pred, summary.mean(pred["p"], fitted.weights).to_pandas())
    n_whatif = int(cfg.report.get("whatif_draws", W.DEFAULT_DRAWS))
    if n_whatif <= 0:
        return out
    try:  # a PSIS update's own log ratio (the same for every scenario), from the cache's index of states
        log_ratio = W.base_log_ratio(cfg, inputs, fitted)
    except (OSError, ValueError, KeyError, RuntimeError, NotReweightable) as e:
        # without it the panel's "before" would be the update's base posterior, not this report's: no panel
        log.warning("no What if panel: the PSIS update's log ratio could not be recomputed (%s)", e)
        return out
    out.whatif = {name: W.build_draws(cfg, inputs, fitted, sc[name], pred, n_draws=n_whatif,
                                      command=command_line(overrides), log_ratio=log_ratio) for name in wanted}
    return out
