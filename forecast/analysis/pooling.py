"""Each analyst's forecast and the pooled forecast, by reweighting the article's posterior.

An analyst's judgements change only claim terms of the model (pseudo-observations of cell
probabilities, orderings, the priors of effects and latent drivers), all of which are functions of
stored posterior draws. So the posterior under an analyst's claims is the article posterior
reweighted by ``exp(T_analyst - T_article)`` (the model's claim terms, ``forecast.model.terms``;
importance sampling, Pareto-smoothed: ``forecast.model.psis``), and the log pool is the same with the log
pool's claims (one model, so one set of weights). The linear pool is the weighted mixture of the analysts'
reweighted draws. No fit is needed unless the Pareto k of a reweighting exceeds 0.7 (the draws then cannot represent the
new posterior): that analyst's (or the log pool's) claims are refitted exactly, cached by their
inputs hash like every fit. ``tests/test_judgements.py`` checks the shortcut against exact refits.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from forecast.inputs.config import paths
from forecast.inputs.data import Inputs
from forecast.inputs.judgements import (
    Judgement,
    active_set,
    analyst_claims,
    known_raw,
    load_judgements,
    log_pool_claims,
    parse_judgement,
    parse_weights,
)
from forecast.inputs.priors import Claim
from forecast.model import summary
from forecast.model import terms as T
from forecast.model.fit import Fit, fit_config
from forecast.model.predict import predict
from forecast.model.psis import K_MAX, psis_weights

log = logging.getLogger("forecast")


@dataclass
class Base:
    """A fitted posterior and what the claim terms need from its draws."""

    fit: Fit
    claims: list[Claim]
    ds: xr.Dataset  # the stored draws
    lp_ref: np.ndarray  # (chain, draw, action, response): logit P at the reference opinion
    pred: xr.Dataset | None = None  # predictions of the scenarios, (chain, draw, scenario, response)
    t_base: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.lp_ref.shape[:2]


def make_base(fit: Fit, claims: list[Claim], inputs: Inputs, scenarios: dict[str, dict] | None = None) -> Base:
    T.require_supported(inputs.hyper)
    ds = fit.idata["posterior"].to_dataset()
    b = Base(fit, claims, ds, T.logit_p_actions(ds, inputs.ontology, inputs.hyper, current_opinion=False))
    if scenarios:
        b.pred = predict(fit.idata, inputs.ontology, inputs.hyper, scenarios)
    b.t_base = claim_terms(claims, b, inputs)
    return b


def claim_terms(claims: list[Claim], base: Base, inputs: Inputs) -> np.ndarray:
    """Every claim-dependent term of the model at each draw, (chain, draw): ``forecast.model.terms.claims_loglik``
    (cell pseudo-observations, orderings, the slopes' priors, the latent drivers' priors, defaults included)."""
    return T.claims_loglik(base.ds, base.lp_ref, inputs.ontology, inputs.hyper, claims)


@dataclass
class Component:
    """A forecast as weighted draws of a base fit."""

    label: str
    base: Base
    claims: list[Claim]
    lw: np.ndarray  # normalised log weights (chain, draw)
    k: float | None  # Pareto k; None when the base is this forecast's own fit
    method: str

    def means(self, var: str = "p") -> np.ndarray:
        w = np.exp(self.lw)
        return np.einsum("cd,cd...->...", w, self.base.pred[var].values)


def reweight(base: Base, claims: list[Claim], inputs: Inputs, label: str) -> Component:
    if claims is base.claims:
        n = int(np.prod(base.shape))
        return Component(label, base, claims, np.full(base.shape, -np.log(n)), None, "its own fit")
    w, k, ess = psis_weights(claim_terms(claims, base, inputs) - base.t_base)
    with np.errstate(divide="ignore"):
        lw = np.log(w)
    return Component(label, base, claims, lw, k, f"importance sampling from the article fit (Pareto k {k:.2f}, "
                                                 f"{ess:.0f} effective of {lw.size} draws)")


def exact_or_reweighted(cfg, inputs: Inputs, base: Base, claims: list[Claim], label: str, scenarios: dict,
                        say=None) -> Component:
    """The forecast under ``claims``: reweighted draws when PSIS is reliable, else an exact (cached) refit."""
    comp = reweight(base, claims, inputs, label)
    if comp.k is not None and comp.k <= K_MAX:
        return comp
    if say:
        say(f"{label}: Pareto k {comp.k:.2f} > {K_MAX}: refitting with its claims before pooling (an exact fit "
            "unless one is cached for these inputs)")
    # an exact fit, never a PSIS update of a cached ancestor: this is the path taken because reweighting
    # was unreliable (and make_base reads the draws unweighted)
    f = fit_config(cfg, dataclasses.replace(inputs, claims=claims), update="refit")
    own = make_base(f, claims, dataclasses.replace(inputs, claims=claims), scenarios)
    out = reweight(own, claims, inputs, label)
    out.k = comp.k
    out.method = f"refit ({'cache hit' if f.from_cache else 'sampled'}; importance sampling had Pareto k {comp.k:.2f})"
    return out


@dataclass
class Pool:
    analysts: list[str]
    weights: dict[str, float]
    method: str
    judgements: dict[str, list[Judgement]]  # the active sets
    article: Component
    components: dict[str, Component]
    pooled: Component | None  # the log pool; None for linear (a mixture of the components)
    scenarios: list[str]
    timings: dict[str, float] = field(default_factory=dict)

    def pooled_means(self, var: str = "p") -> np.ndarray:
        if self.pooled is not None:
            return self.pooled.means(var)
        return sum(self.weights[a] * self.components[a].means(var) for a in self.analysts)


def load_sets(cfg, inputs: Inputs, today: dt.date | None = None) -> dict[str, list[Judgement]]:
    analysts = [str(a) for a in (cfg.get("analysts") or [])]
    return load_judgements(paths(cfg)["data"] / "judgements", analysts, inputs.ontology, inputs.claims,
                           today or dt.date.today(), inputs.as_of)


def recorded(cfg, inputs: Inputs, today: dt.date | None = None) -> dict[str, dict[str, Any]]:
    """Every judgement of the selected analysts made by as_of, as written ({analyst: {id: raw}})."""
    return {str(a): known_raw(paths(cfg)["data"] / "judgements", str(a), inputs.ontology, inputs.claims,
                              today or dt.date.today(), inputs.as_of) for a in (cfg.get("analysts") or [])}


def pool_forecasts(cfg, inputs: Inputs, fitted: Fit, scenarios: dict[str, dict], sets: dict[str, list[Judgement]],
                   weights: dict[str, float] | None = None, method: str | None = None, say=None) -> Pool:
    """Each analyst's forecast and the pool, for these scenarios, from the article fit."""
    import time

    t0 = time.perf_counter()
    analysts = list(sets)
    method = method or str(cfg.get("pool") or "log")
    weights = weights if weights is not None else parse_weights(analysts, cfg.get("pool_weights"))
    base = make_base(fitted, inputs.claims, inputs, scenarios)
    article = reweight(base, inputs.claims, inputs, "article")
    comps = {a: exact_or_reweighted(cfg, inputs, base, analyst_claims(inputs.claims, sets[a]), a, scenarios, say)
             for a in analysts}
    pooled = None
    if method == "log":
        pooled = exact_or_reweighted(cfg, inputs, base, log_pool_claims(inputs.claims, sets, weights, inputs.hyper),
                                     "log pool", scenarios, say)
    pool = Pool(analysts, weights, method, sets, article, comps, pooled, list(scenarios))
    pool.timings["pool"] = time.perf_counter() - t0
    return pool


def without(pool: Pool, inputs: Inputs, analyst: str, drop: str | None = None,
            sets: dict[str, list[Judgement]] | None = None) -> np.ndarray:
    """Pooled means (scenario, response) with judgement ``drop`` of ``analyst`` left out (or other
    ``sets``), by reweighting the draws the pool already uses."""
    sets = dict(sets or pool.judgements)
    if drop is not None:
        keep = [j for j in sets[analyst] if j.id != drop]
        sets[analyst] = keep
    if pool.method == "log":
        claims = log_pool_claims(inputs.claims, sets, pool.weights, inputs.hyper)
        return reweight(pool.pooled.base, claims, inputs, "").means()
    total = 0.0
    for a in pool.analysts:
        comp = pool.components[a]
        if sets[a] != pool.judgements[a]:
            comp = reweight(comp.base, analyst_claims(inputs.claims, sets[a]), inputs, a)
        total = total + pool.weights[a] * comp.means()
    return total


def weighted_interval(pool: Pool, scenario: int, prob: float) -> tuple[np.ndarray, np.ndarray]:
    """The pooled forecast's HDI per response (``prob`` of the weighted draws, the narrowest interval: the
    report's other intervals are HDIs too); for the linear pool, of the mixture of the analysts' draws."""
    parts = [(pool.pooled, 1.0)] if pool.pooled is not None else [(pool.components[a], pool.weights[a])
                                                                    for a in pool.analysts]
    vals = np.concatenate([c.base.pred["p"].values[:, :, scenario, :].reshape(-1, c.base.pred.sizes["response"])
                           for c, _ in parts])
    w = np.concatenate([wt * np.exp(c.lw).ravel() for c, wt in parts])
    bounds = np.array([summary.weighted_hdi(vals[:, r], w, prob) for r in range(vals.shape[1])])
    return bounds[:, 0], bounds[:, 1]


def rebuild_sets(state: dict[str, Any], inputs: Inputs, today: dt.date) -> dict[str, list[Judgement]]:
    """Judgement sets from a report's recorded state ({analyst: {id: raw}}), validated as today."""
    out = {}
    for a, raws in state.items():
        parsed = [parse_judgement(r, a, inputs.ontology, inputs.claims, today, f"recorded judgement {a}/{i}")
                  for i, r in raws.items()]
        out[a] = active_set(parsed, a, inputs.claims, inputs.as_of)
    return out
