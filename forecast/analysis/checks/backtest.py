"""Back-test by leave-future-out: each coded episode predicted from what was known the day before.

The coded episodes (precedents and evidence episodes) are ordered by date. From ``min_history`` on,
episode i's coded cells are predicted by a fit that knows only episodes 0..i-1: PSIS-LFO
(``arviz_stats.lfo_cv`` with a ``SamplingWrapper``; Bürkner, Gabry & Vehtari 2020): one exact fit at
the first origin, then the posterior is carried forward by Pareto-smoothed importance weights over the
episodes added since the last fit, and the model is refitted only when Pareto k > 0.7. Each refit is
an ordinary cached fit (keyed by its inputs hash), so a second run costs no sampling.

What the back-test model knows: the history alone. The article (Brookings, 2026-01-16) postdates
every precedent, so its claims (cell, ordering and effect claims) are left out of the back-test fits:
using them to "predict" a 1990 episode would be hindsight. The latent opinion drivers keep their
priors (they do not enter the history's likelihood) and polls and graded signals are left out (none
predates 2025). The shipped model (history + article) is therefore not what is scored cell by cell;
its article-only prior is scored as a separate, hindsight-marked comparator.

Each predicted cell is scored (log and Brier) against, on the same cells:
(a) the Laplace-smoothed base rate of the response among earlier coded cells of the same kind
    (conditional on a coded threat, or not), (k + 1) / (n + 2);
(b) the same within earlier episodes of the same action type, where there are any (else (a));
(c) the article-only prior's predictive probability (hindsight: the article is later than the cell);
(d) 0.5.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from arviz_stats.loo.wrapper import SamplingWrapper

from forecast.inputs.data import Episodes, Inputs, polls_frame
from forecast.model.build import observed_cells
from forecast.model.fit import fit
from forecast.model.likelihood import cell_probabilities, episode_loglik
from forecast.model.psis import psis_weights

log = logging.getLogger("forecast")

ARTICLE_DATE = "2026-01-16"
BACKTEST_SAMPLER = {"draws": 500, "tune": 500, "chains": 2}  # PSIS needs draws, not 4 x 2000


def ordered(episodes: Episodes) -> Episodes:
    """Episodes by date (ties by id), the order the back-test walks."""
    t = episodes.table.assign(_id=episodes.table.index).sort_values(["date", "_id"]).drop(columns="_id")
    return Episodes(t, episodes.outcomes.loc[t.index])


def subset(episodes: Episodes, idx) -> Episodes:
    idx = np.asarray(idx, dtype=int)
    return Episodes(episodes.table.iloc[idx], episodes.outcomes.iloc[idx])


def history_only(inputs: Inputs, episodes: Episodes) -> Inputs:
    """The inputs with the article's claims about cells, orderings and effects left out, no polls,
    no signals: what a forecaster knew from the record alone."""
    claims = [c for c in inputs.claims if c.kind == "latent"]
    return dataclasses.replace(inputs, episodes=episodes, claims=claims, polls=polls_frame([]), signals=[],
                               evidence_ids=())


class EpisodeWrapper(SamplingWrapper):
    """Refits for ``lfo_cv``: the observations are the date-ordered episodes."""

    def __init__(self, inputs: Inputs, episodes: Episodes, sampler: dict, seed: int, cache_dir, make_inputs=None,
                 fitter=None, say=None):
        super().__init__(model=None)
        self.inputs, self.episodes, self.sampler, self.seed, self.cache_dir = inputs, episodes, sampler, seed, cache_dir
        self.make_inputs = make_inputs or history_only
        self.fitter = fitter or (lambda inp: fit(inp, self.sampler, self.seed, self.cache_dir))
        self.fits: dict[int, Any] = {}  # cutoff -> Fit
        self._memo: dict[int, Any] = {}
        self.say = say

    def sel_observations(self, idx):
        keep = np.setdiff1d(np.arange(len(self.episodes.table)), idx)
        return keep, np.asarray(idx, dtype=int)

    def sample(self, modified_observed_data):
        keep = modified_observed_data
        if len(keep) in self._memo:
            self.fits[len(keep)] = self._memo[len(keep)]
            return self._memo[len(keep)]
        f = self.fitter(self.make_inputs(self.inputs, subset(self.episodes, keep)))
        self.fits[len(keep)] = self._memo[len(keep)] = f
        if self.say:
            self.say(f"back-test fit on the first {len(keep)} episodes: "
                     f"{'cache hit' if getattr(f, 'from_cache', False) else 'sampled'}")
        return f

    def get_inference_data(self, fitted):
        return fitted.idata

    def log_likelihood__i(self, excluded_obs, idata__i):
        ll = episode_loglik(idata__i, self.inputs.ontology, subset(self.episodes, excluded_obs),
                            hyper=self.inputs.hyper)
        return ll.rename(episode="time")


def _cell_table(ont, episodes: Episodes) -> pd.DataFrame:
    ep, resp, mask, y, names = observed_cells(ont, episodes.outcomes)
    return pd.DataFrame({"episode_pos": ep, "episode": episodes.table.index[ep],
                         "response": np.array(ont.response_ids)[resp],
                         "conditional": mask.sum(axis=1) == 0, "y": y, "cell": names,
                         "action_type": episodes.table["action_type"].to_numpy()[ep],
                         "date": [str(d) for d in episodes.table["date"].to_numpy()[ep]]})


def base_rates(cells: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(a) and (b) for every cell, from strictly earlier episodes only."""
    a = np.empty(len(cells))
    b = np.empty(len(cells))
    for i, row in enumerate(cells.itertuples()):
        prev = cells[(cells["episode_pos"] < row.episode_pos) & (cells["response"] == row.response)
                     & (cells["conditional"] == row.conditional)]
        a[i] = (prev["y"].sum() + 1) / (len(prev) + 2)
        same = prev[prev["action_type"] == row.action_type]
        b[i] = (same["y"].sum() + 1) / (len(same) + 2) if len(same) else a[i]
    return a, b


def weighted_cell_p(fitted, ont, episodes: Episodes, pos: int, log_ratio: xr.DataArray | None,
                    hyper: dict | None = None) -> np.ndarray:
    """Episode ``pos``'s cells' predictive probabilities under a fit, importance-weighted by PSIS."""
    cp, _, _ = cell_probabilities(fitted.idata, ont, subset(episodes, [pos]), hyper=hyper)
    if cp.sizes["cell"] == 0:
        return np.zeros(0)
    if log_ratio is None:
        return cp.mean(("chain", "draw")).values
    w = psis_weights(log_ratio.transpose("chain", "draw").values).w
    return (cp * xr.DataArray(w, dims=("chain", "draw"))).sum(("chain", "draw")).values


def backtest(inputs: Inputs, sampler: dict, seed: int, cache_dir, prior_idata: xr.DataTree | None = None,
             min_history: int = 9, k_threshold: float = 0.7, fitter=None, make_inputs=None,
             say=None, reduced: dict | None = None) -> dict[str, Any]:
    """PSIS-LFO over the date-ordered episodes; per-cell scores of the model and the comparators.

    ``prior_idata``: a fitted DataTree whose ``prior`` group is the article-only fit (comparator c).
    ``fitter(inputs) -> Fit`` and ``make_inputs(inputs, episodes) -> Inputs`` default to the cached
    fit and the history-only inputs (tests pass a synthetic world); ``reduced`` overrides the sampler
    settings for the refits (default ``BACKTEST_SAMPLER``)."""
    import warnings

    from arviz_stats import lfo_cv

    from forecast.analysis.checks.scores import murphy, reliability_bins, scores, spiegelhalter

    ont = inputs.ontology
    eps = ordered(inputs.episodes)
    n = len(eps.table)
    if n <= min_history:
        return {"ok": False, "reason": f"only {n} coded episodes (need more than {min_history})"}
    s = {**sampler, **(BACKTEST_SAMPLER if reduced is None else reduced)}
    wrapper = EpisodeWrapper(inputs, eps, s, seed, cache_dir, make_inputs, fitter, say)
    # lfo_cv needs the full-data log likelihood only for its effective-number-of-parameters column:
    # the first refit (all data) is not needed, so give it the first-origin fit's values, computed lazily
    first = wrapper.sample(np.arange(min_history))
    wrapper.fits = {}
    full_ll = episode_loglik(first.idata, ont, eps, hyper=inputs.hyper).rename(episode="time")
    data = xr.DataTree.from_dict({"log_likelihood": xr.Dataset({"episodes": full_ll})})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        res = lfo_cv(data, wrapper, min_observations=min_history, forecast_horizon=1, time_dim="time",
                     pointwise=True, var_name="episodes", method="approx", k_threshold=k_threshold)
    fits = dict(wrapper.fits)
    refit_at = sorted(fits)

    cells = _cell_table(ont, eps)
    cells["model"] = np.nan
    for pos in range(min_history, n):
        base = max(c for c in refit_at if c <= pos)
        f = fits[base]
        if pos > base:
            ll = episode_loglik(f.idata, ont, subset(eps, range(base, pos)), hyper=inputs.hyper).sum("episode")
        else:
            ll = None
        sel = cells["episode_pos"] == pos
        if sel.any():
            cells.loc[sel, "model"] = weighted_cell_p(f, ont, eps, pos, ll, inputs.hyper)
    a, b = base_rates(cells)
    cells["base_rate"], cells["base_rate_action"], cells["half"] = a, b, 0.5
    if prior_idata is not None:
        cp, _, _ = cell_probabilities(prior_idata, ont, eps, group="prior", hyper=inputs.hyper)
        cells["article_prior"] = cp.mean(("chain", "draw")).values
    scored = cells[cells["episode_pos"] >= min_history].reset_index(drop=True)
    comparators = ["model", "base_rate", "base_rate_action", "article_prior", "half"]
    comparators = [c for c in comparators if c in scored]
    table = {c: scores(scored["y"], scored[c]) for c in comparators}
    pk = res.pareto_k.values if res.pareto_k is not None else np.array([])
    return {
        "ok": True,
        "n_episodes": n, "n_predicted_episodes": n - min_history, "n_cells": int(len(scored)),
        "first_predicted": str(eps.table.index[min_history]),
        "table": table,
        "murphy": {c: murphy(scored["y"], scored[c]) for c in comparators},
        "calibration": {c: spiegelhalter(scored["y"], scored[c]) for c in comparators},
        "reliability_bins": reliability_bins(scored["y"], scored["model"]),
        "elpd_lfo": float(res.elpd), "elpd_lfo_se": float(res.se),
        "elpd_i": {str(k): float(v) for k, v in zip(res.elpd_i["time"].values, res.elpd_i.values, strict=True)},
        "pareto_k": [None if np.isnan(v) else float(v) for v in pk],
        "refits": [int(c) for c in refit_at],
        "n_refits": int(res.n_refits),
        "k_threshold": k_threshold,
        "cells": scored,
        "after_article": int((scored["date"] >= ARTICLE_DATE).sum()),
    }
