"""Back-test by leave-future-out: each coded episode predicted by the model as it would have been published the
day before it happened.

The coded episodes (precedents and evidence episodes) are ordered by date. From ``min_history`` on, episode i's
coded cells are predicted by the model as a report published on the day before its date would have fitted it
(``as_of`` = that day): the record known then (precedents by their date, evidence episodes, polls and signals by
the date they became known), the article's claims only from their date (before it every article prior, the
latent ones on the opinion and its effect included, falls back to conf/model's weakly-informative defaults),
polls inside that day's poll window, and each earlier episode at the opinion of its time *as seen from that
day* (inside the poll window the polled opinion, before it the era opinion). The predicted episode is at the
opinion of the day, as a forecast published that day is.

Three forecasters are back-tested this way, on the same cells:

- ``model``: the published model (everything above);
- ``no_claims``: the same record, polls and evidence without the article's claims. Before the article's date
  it is the published model itself (no claim is known yet: the same inputs hash, the same fits); after it,
  the difference to ``model`` on the cells predicted since says whether the claims improved the forecasts;
- ``history_only``: the record alone (no claims, polls or evidence signals).

All three fit the record as published that day: from the article's date the cells a kept claim restates are out
of it for each of them (so that the three differ by the claims, polls and signals only).

The cells of the configured record are scored (a cell a claim restates, left out of today's record, is not).

PSIS leave-future-out (Bürkner, Gabry & Vehtari, J. Stat. Comput. Simul. 90(14), 2020): one exact fit at the
first forecast origin; each later origin's posterior is the last exact fit reweighted by the ratio of the two
models' densities (``forecast.model.reweight``: the episodes added, the episodes that left the poll window, the
polls, signals and claims that entered), Pareto-smoothed; the model is refitted when Pareto k > 0.7 or when
the change is no reweighting (a claim entering takes its restated cells out of the record). arviz-stats'
``lfo_cv`` is not used: its importance ratio is the likelihood of the observations added since the last fit,
while here moving the forecast origin also moves the poll window and brings polls and claims. Each refit is
an ordinary cached fit keyed by its inputs hash (``update=refit``: exact draws), so a second run samples
nothing, and a refit two forecasters share is made once.

Each predicted cell is scored (log and Brier) against, on the same cells:
(a) the Laplace-smoothed base rate of the response among earlier coded cells of the same kind
    (conditional on a coded threat, or not), (k + 1) / (n + 2);
(b) the same within earlier episodes of the same action type, where there are any (else (a));
(c) the article-only prior's predictive probability (hindsight: the article is later than most cells);
(d) 0.5.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import logsumexp

from forecast.inputs.data import Episodes, Inputs, in_window, polls_frame
from forecast.inputs.schema import switch
from forecast.model.build import THETA_PAST, observed_cells
from forecast.model.fit import fit, inputs_hash
from forecast.model.likelihood import cell_probabilities, episode_loglik
from forecast.model.psis import psis_weights

log = logging.getLogger("forecast")

# PSIS needs draws, not 4 x 2000; and the back-test reads each fit's posterior alone, not its article-only prior
# (comparator (c) is today's fit's): sampling it doubled each refit's sampling
BACKTEST_SAMPLER = {"draws": 500, "tune": 500, "chains": 2, "article_prior": False}
FORECASTERS = ("model", "no_claims", "history_only")  # the back-tested models, published first


def ordered(episodes: Episodes) -> Episodes:
    """Episodes by date (ties by id), the order the back-test walks."""
    t = episodes.table.assign(_id=episodes.table.index).sort_values(["date", "_id"]).drop(columns="_id")
    return Episodes(t, episodes.outcomes.loc[t.index])


def subset(episodes: Episodes, idx) -> Episodes:
    idx = np.asarray(idx, dtype=int)
    return Episodes(episodes.table.iloc[idx], episodes.outcomes.iloc[idx])


def used_claims(inputs: Inputs) -> Inputs:
    """The same model without the claims that are no term of it (dated after ``as_of``, or restating a kept
    source): so that the published model before the article and the model without the claims share one
    inputs hash, and one fit."""
    return dataclasses.replace(inputs, claims=[c for c in inputs.claims if not c.unused])


def without_claims(inputs: Inputs, episodes: Episodes | None = None) -> Inputs:
    """The inputs without the article's claims: the same record, polls and evidence."""
    return dataclasses.replace(inputs, claims=[], episodes=inputs.episodes if episodes is None else episodes)


def history_only(inputs: Inputs, episodes: Episodes | None = None) -> Inputs:
    """The record alone: no claim (cell, ordering, effect or latent: the article's prior on the opinion's
    effect is the article's too), no poll, no evidence signal."""
    return dataclasses.replace(inputs, episodes=inputs.episodes if episodes is None else episodes, claims=[],
                               polls=polls_frame([]), signals=[], evidence_ids=())


VARIANTS: dict[str, Callable[[Inputs], Inputs]] = {"model": used_claims, "no_claims": without_claims,
                                                   "history_only": history_only}


def known_at(inputs: Inputs, as_of: dt.date) -> Inputs:
    """What ``inputs`` knew at ``as_of``, derived without reading files (the default of ``backtest``'s
    ``inputs_at``; ``forecast check`` reloads data/ at each date instead, which also applies each evidence
    entry's date known and the restatements of that date): episodes dated by then, claims dated after it
    unused, polls dated by then inside its poll window, signals known by then."""
    t = inputs.episodes.table
    keep = np.array([d <= as_of for d in t["date"]], dtype=bool).reshape(-1)
    claims = [c if not (c.date_known and dt.date.fromisoformat(c.date_known) > as_of) or c.unused
              else dataclasses.replace(c, unused=f"dated {c.date_known}, after as_of {as_of.isoformat()}")
              for c in inputs.claims]
    p = inputs.polls
    polls = p.loc[np.array([d <= as_of for d in p["date"]], dtype=bool).reshape(-1) & in_window(p["date"], as_of,
                                                                                                inputs.hyper)]
    signals = [s for s in inputs.signals if not s.date_known or dt.date.fromisoformat(s.date_known) <= as_of]
    return dataclasses.replace(inputs, episodes=Episodes(t.loc[keep], inputs.episodes.outcomes.loc[keep]),
                               claims=claims, polls=polls, signals=signals, as_of=as_of)


def _cell_table(ont, episodes: Episodes) -> pd.DataFrame:
    ep, resp, mask, y, names = observed_cells(ont, episodes.outcomes)
    return pd.DataFrame({"episode_pos": ep, "episode": episodes.table.index[ep],
                         "response": np.array(ont.response_ids)[resp],
                         "conditional": mask.sum(axis=1) == 0, "y": y, "cell": names,
                         "action_type": episodes.table["action_type"].to_numpy()[ep],
                         "date": [str(d) for d in episodes.table["date"].to_numpy()[ep]]})


cell_table = _cell_table


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


# ---------------------------------------------------------------------- one forecast origin to the next
def log_ratio(base_fit, base_inputs: Inputs, target: Inputs) -> tuple[np.ndarray | None, str]:
    """The log density ratio target / base per stored draw of ``base_fit`` (None when the change is no
    reweighting, with the reason): ``forecast.model.reweight``'s log ratios, the terms the product's PSIS updates
    use (``forecast.model.terms``, which follow every ablation switch)."""
    from forecast.model import reweight as R

    family = {"backtest": 1}
    try:
        changes = R.diff(R.state(base_inputs, family), target, family)
    except R.NotReweightable as e:
        return None, str(e)
    ds = base_fit.idata["posterior"]
    # with a free era opinion (model.era_opinion=free) an episode leaving the window needs a parameter the draws may
    # lack; at the reference opinion (the default) it is a reweighting like any other (reweight.LogRatios)
    if (switch(target.hyper, "era_opinion") == "free" and THETA_PAST not in ds
            and not in_window(target.episodes.table["date"], target.as_of, target.hyper).all()):
        return None, "an episode is now before the poll window but the fit has no era opinion"
    known = sorted(set(base_inputs.polls.loc[base_inputs.polls["use"] == "likelihood", "pollster"]))
    try:
        return R.LogRatios(base_fit.idata, target, known).total(changes), ""
    except R.NotReweightable as e:
        return None, str(e)


@dataclasses.dataclass
class _Base:
    fit: Any
    inputs: Inputs
    hash: str


class LFO:
    """PSIS leave-future-out of one or more forecasters over the same forecast origins; exact fits are shared
    between forecasters whose inputs at an origin are the same (same hash) and cached on disk."""

    def __init__(self, fitter: Callable[[Inputs], Any], sampler: dict, seed: int, k_threshold: float = 0.7,
                 say=None, cached_before: set[str] | None = None):
        self.fitter, self.sampler, self.seed, self.k = fitter, sampler, seed, k_threshold
        self.say = say or (lambda s: None)
        # the posterior cache's fits when the run began (None: a fit read from the cache was made by an earlier
        # run): with workers fitting ahead of the walk (``forecast.analysis.checks.ahead``), a fit the walk reads
        # from the cache may have been sampled by this run
        self.cached_before = cached_before
        self.exact: dict[str, Any] = {}  # inputs hash -> Fit
        self.reweights: dict[tuple[str, str], tuple] = {}  # (base hash, target hash) -> (weights, k, reason)
        self.fits: list[dict[str, Any]] = []  # each exact fit asked for: hash, date, why, sampled or read from cache

    def hash(self, inputs: Inputs) -> str:
        return inputs_hash(inputs, self.sampler, self.seed)

    def refit(self, inputs: Inputs, h: str, why: str) -> _Base:
        if h not in self.exact:
            f = self.fitter(inputs)
            self.exact[h] = f
            here = not getattr(f, "from_cache", False)
            sampled = here or (self.cached_before is not None and h not in self.cached_before)
            self.fits.append({"hash": h, "as_of": inputs.as_of.isoformat(), "episodes": len(inputs.episodes.table),
                              "why": why, "sampled": sampled})
            self.say(f"back-test fit as of {inputs.as_of} on {len(inputs.episodes.table)} episodes ({why}): "
                     f"{'sampled' if here else 'sampled ahead by a worker' if sampled else 'cache hit'}")
        return _Base(self.exact[h], inputs, h)

    def step(self, base: _Base | None, target: Inputs) -> tuple[_Base, np.ndarray | None, float | None, bool]:
        """The posterior for ``target``: (the exact fit it comes from, normalised weights or None, Pareto k or None,
        refitted?)."""
        h = self.hash(target)
        if base is None:
            return self.refit(target, h, "first forecast origin"), None, None, True
        if h == base.hash:
            return base, None, None, False
        key = (base.hash, h)
        if key not in self.reweights:
            lr, why = log_ratio(base.fit, base.inputs, target)
            if lr is None:
                self.reweights[key] = (None, None, why)
            else:
                w, k, _ = psis_weights(lr)
                self.reweights[key] = (w, k, "" if k <= self.k else f"Pareto k {k:.2f} > {self.k}")
        w, k, why = self.reweights[key]
        if w is None or k > self.k:
            return self.refit(target, h, why), None, (None if k is None else float(k)), True
        return base, w, float(k), False


def predict_episode(fitted, target: Inputs, episode: Episodes, weights: np.ndarray | None
                    ) -> tuple[np.ndarray, float]:
    """One episode's cells' predictive probabilities and its log predictive density (its cells jointly, the
    episode factor integrated out), at the target's date: the episode is at the opinion of that day."""
    ont = target.ontology
    cp, _, _ = cell_probabilities(fitted.idata, ont, episode, hyper=target.hyper, as_of=target.as_of)
    ll = episode_loglik(fitted.idata, ont, episode, hyper=target.hyper, as_of=target.as_of).values[..., 0]
    if weights is None:
        w = np.full(ll.shape, 1.0 / ll.size)
    else:
        w = np.asarray(weights, dtype=float).reshape(ll.shape)
    p = np.einsum("cdn,cd->n", cp.values, w) if cp.sizes["cell"] else np.zeros(0)
    lw = np.log(np.maximum(w, 1e-300))
    return p, float(logsumexp(lw + ll) - logsumexp(lw))


def _cached_fitter(sampler: dict, seed: int, cache_dir) -> Callable[[Inputs], Any]:
    """The back-test's fitter: the exact fit (``update=refit``) kept in the posterior cache under its inputs hash."""
    return lambda inp: fit(inp, sampler, seed, cache_dir, update="refit")


def _walk(forecaster: str, origins: list[tuple[int, Inputs]], eps: Episodes, lfo: LFO) -> dict[str, Any]:
    """One forecaster over the forecast origins ``(position, inputs published the day before)``: each episode's
    cells' probabilities and log predictive density, the Pareto k of each reweighting, the refits and the exact
    fits it stood on (``lfo`` is shared by the walks: a fit two of them need is made once)."""
    out: dict[str, Any] = {"pos": [], "p": [], "elpd": [], "k": [], "refits": []}
    used: set[str] = set()
    base = None
    for pos, published in origins:
        target = VARIANTS[forecaster](published)
        base, w, k, refitted = lfo.step(base, target)
        p, elpd = predict_episode(base.fit, target, subset(eps, [pos]), w)
        out["pos"].append(pos)
        out["p"].append(p)
        out["elpd"].append(elpd)
        out["k"].append(None if k is None or refitted else k)
        if refitted:
            out["refits"].append(pos)
            used.add(base.hash)
    # the exact fits this walk stood on (with a shared LFO, some another walk made first)
    out["fits"] = [x for x in lfo.fits if x["hash"] in used]
    return out


def origins(inputs: Inputs, min_history: int, inputs_at: Callable[[dt.date], Inputs]
            ) -> tuple[Episodes, pd.DataFrame, list[tuple[int, Inputs]]]:
    """The date-ordered episodes, their cells (with each predicted cell's forecast origin and the claims used
    then) and the forecast origins ``(position, inputs published the day before)`` from ``min_history`` on."""
    eps = ordered(inputs.episodes)
    cells = _cell_table(inputs.ontology, eps)
    cells["as_of"], cells["claims_used"] = "", 0
    out = []
    for pos in range(min_history, len(eps.table)):
        as_of = eps.table["date"].iloc[pos] - dt.timedelta(days=1)
        published = inputs_at(as_of)
        out.append((pos, published))
        sel = (cells["episode_pos"] == pos).to_numpy()
        cells.loc[sel, "as_of"] = as_of.isoformat()
        cells.loc[sel, "claims_used"] = sum(1 for c in published.claims if not c.unused)
    return eps, cells, out


def foreseen_fits(origins_: list[tuple[int, Inputs]], sampler: dict, seed: int,
                  forecasters: tuple[str, ...] = FORECASTERS) -> list[Inputs]:
    """The exact fits the walks can be told to need before their draws exist, in the order the walks ask for them,
    each once: each walk's first forecast origin, and each origin whose inputs are no reweighting of the origin
    before's (``forecast.model.reweight.diff`` refuses: an episode removed or changed, as when a claim entering
    takes the cells it restates out of the record). A walk standing on a fit made before the changed episode
    entered would reweight instead, at a Pareto k that many episodes added make large: in practice the walk's last
    fit is recent and the refit happens. The refits a Pareto k decides are not foreseen: they depend on the draws."""
    from forecast.model import reweight as R

    family = {"backtest": 1}
    out: dict[str, Inputs] = {}
    for f in forecasters:
        targets = [VARIANTS[f](p) for _, p in origins_]
        for i, t in enumerate(targets):
            if i:
                try:
                    R.diff(R.state(targets[i - 1], family), t, family)
                    continue
                except R.NotReweightable:
                    pass
            out.setdefault(inputs_hash(t, sampler, seed), t)
    return list(out.values())


def walks(inputs: Inputs, sampler: dict, seed: int, cache_dir, min_history: int = 9, k_threshold: float = 0.7,
          fitter=None, say=None, reduced: dict | None = None, inputs_at: Callable[[dt.date], Inputs] | None = None,
          forecasters: tuple[str, ...] = FORECASTERS, cached_before: set[str] | None = None) -> dict[str, Any]:
    """The back-test's walks (the part that fits): each forecaster's predictive probability of every predicted
    cell (a column of ``cells``), its per-episode log predictive densities, Pareto k and refits, and the exact fits
    the walks stood on. What it returns pickles (a worker may compute it: ``forecast.analysis.checks.ahead``);
    ``scored`` turns it into the back-test's figures. Arguments as ``backtest``'s; ``cached_before``: see ``LFO``."""
    eps = ordered(inputs.episodes)
    n = len(eps.table)
    if n <= min_history:
        return {"ok": False, "reason": f"only {n} coded episodes (need more than {min_history})"}
    s = {**sampler, **(BACKTEST_SAMPLER if reduced is None else reduced)}
    inputs_at = inputs_at or (lambda d: known_at(inputs, d))
    eps, cells, origins_ = origins(inputs, min_history, inputs_at)
    # one walk after the other, on one LFO: the walks share their fits until the article's date (on today's record
    # the first three of six), so side by side one waits for the other's fit; tried on 2 cores (two walks side by
    # side, one core per fit), the whole forecast check took 2.1x the baseline's time instead of about 1.1x
    fitter = fitter or _cached_fitter(s, seed, cache_dir)
    lfo = LFO(fitter, s, seed, k_threshold, say, cached_before)
    done = [_walk(f, origins_, eps, lfo) for f in forecasters]
    per: dict[str, dict[str, list]] = {}
    fits: dict[str, dict[str, Any]] = {}
    for f, w in zip(forecasters, done, strict=True):
        for pos, p in zip(w["pos"], w["p"], strict=True):
            cells.loc[(cells["episode_pos"] == pos).to_numpy(), f] = p
        per[f] = {k: w[k] for k in ("elpd", "k", "refits")}
        for x in w["fits"]:
            fits.setdefault(x["hash"], {**x, "forecasters": []})["forecasters"].append(f)
    return {"ok": True, "cells": cells, "per": per, "fits": fits, "forecasters": tuple(forecasters),
            "min_history": min_history, "k_threshold": k_threshold}


def backtest(inputs: Inputs, sampler: dict, seed: int, cache_dir, prior_idata: xr.DataTree | None = None,
             min_history: int = 9, k_threshold: float = 0.7, fitter=None, say=None, reduced: dict | None = None,
             inputs_at: Callable[[dt.date], Inputs] | None = None,
             forecasters: tuple[str, ...] = FORECASTERS) -> dict[str, Any]:
    """PSIS-LFO over the date-ordered episodes; per-cell scores of each forecaster and the comparators.

    ``inputs``: today's inputs (the record whose cells are scored). ``inputs_at(as_of) -> Inputs``: the
    inputs as published that day (default ``known_at``: derived from ``inputs``). ``prior_idata``: a fitted
    DataTree whose ``prior`` group is the article-only fit (comparator c). ``fitter(inputs) -> Fit`` defaults
    to the cached exact fit with the back-test's sampler (``reduced`` overrides ``BACKTEST_SAMPLER``)."""
    return scored(walks(inputs, sampler, seed, cache_dir, min_history, k_threshold, fitter, say, reduced, inputs_at,
                        forecasters), inputs, prior_idata)


def scored(walked: dict[str, Any], inputs: Inputs, prior_idata: xr.DataTree | None = None) -> dict[str, Any]:
    """The back-test's figures from its walks (``walks``): per-cell scores of each forecaster and the comparators
    on the same cells, calibration, Murphy decomposition, PSIS-LFO elpd, and the exact fits."""
    from forecast.analysis.checks.scores import murphy, reliability_bins, scores, spiegelhalter

    if not walked.get("ok"):
        return walked
    ont = inputs.ontology
    eps = ordered(inputs.episodes)
    n = len(eps.table)
    min_history, forecasters = walked["min_history"], walked["forecasters"]
    cells, per, fits = walked["cells"].copy(), walked["per"], walked["fits"]
    a, b = base_rates(cells)
    cells["base_rate"], cells["base_rate_action"], cells["half"] = a, b, 0.5
    if prior_idata is not None:
        cp, _, _ = cell_probabilities(prior_idata, ont, eps, group="prior", hyper=inputs.hyper)
        cells["article_prior"] = cp.mean(("chain", "draw")).values
    scored_ = cells[cells["episode_pos"] >= min_history].reset_index(drop=True)
    comparators = [*forecasters, "base_rate", "base_rate_action", "article_prior", "half"]
    comparators = [c for c in comparators if c in scored_]
    table = {c: scores(scored_["y"], scored_[c]) for c in comparators}
    ids = [str(i) for i in eps.table.index[min_history:]]
    lfo_out = {}
    for f, v in per.items():
        e = np.asarray(v["elpd"])
        lfo_out[f] = {"elpd": float(e.sum()), "se": float(np.sqrt(len(e) * e.var(ddof=1))) if len(e) > 1 else None,
                      "elpd_i": dict(zip(ids, map(float, e), strict=True)), "pareto_k": v["k"],
                      "refits": [int(p) for p in v["refits"]], "n_refits": len(v["refits"])}
    first = forecasters[0]
    return {
        "ok": True,
        "n_episodes": n, "n_predicted_episodes": n - min_history, "n_cells": int(len(scored_)),
        "first_predicted": str(eps.table.index[min_history]),
        "forecasters": list(forecasters),
        "table": table,
        "murphy": {c: murphy(scored_["y"], scored_[c]) for c in comparators},
        "calibration": {c: spiegelhalter(scored_["y"], scored_[c]) for c in comparators},
        "reliability_bins": reliability_bins(scored_["y"], scored_[first]),
        "lfo": lfo_out,
        # the first forecaster's (the published model's) figures, as before
        "elpd_lfo": lfo_out[first]["elpd"], "elpd_lfo_se": lfo_out[first]["se"],
        "elpd_i": lfo_out[first]["elpd_i"], "pareto_k": lfo_out[first]["pareto_k"],
        "refits": lfo_out[first]["refits"], "n_refits": lfo_out[first]["n_refits"],
        "n_exact_fits": len(fits),
        # every distinct exact fit, whether this run sampled it or found it in the posterior cache (a second
        # forecast check with nothing new samples none; a new piece of evidence, only the folds it enters)
        "fits": list(fits.values()), "n_sampled_fits": sum(x["sampled"] for x in fits.values()),
        "k_threshold": walked["k_threshold"],
        "cells": scored_,
        "after_article": int((scored_["claims_used"] > 0).sum()),
    }
