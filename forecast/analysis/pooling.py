"""Each analyst's forecast and the pooled forecast, by reweighting the article's posterior.

An analyst's judgements change only claim terms of the model (pseudo-observations of cell
probabilities, orderings, the priors of effects and latent drivers), all of which are functions of
stored posterior draws. So the posterior under an analyst's claims is the article posterior
reweighted by ``exp(T_analyst - T_article)`` (importance sampling, Pareto-smoothed: PSIS, Vehtari et
al. 2024, via arviz-stats), and the log pool is the same with the log pool's claims (one model, so
one set of weights). The linear pool is the weighted mixture of the analysts' reweighted draws. No
fit is needed unless the Pareto k of a reweighting exceeds 0.7 (the draws then cannot represent the
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
from forecast.model.build import (
    ALPHA,
    BETA,
    DELTA,
    KAPPA,
    LOADING,
    THETA,
    chain_index,
    log_sigmoid,
    marginal_p,
    quadrature,
)
from forecast.model.fit import Fit, fit_config
from forecast.model.predict import predict

log = logging.getLogger("forecast")
K_MAX = 0.7  # PSIS reliability threshold (Vehtari et al.): above it, refit exactly
EPS = 1e-9


@dataclass
class Base:
    """A fitted posterior and what the claim terms need from its draws."""

    fit: Fit
    claims: list[Claim]
    lp_ref: np.ndarray  # (chain, draw, action, response): logit P at the reference opinion
    g: np.ndarray  # (chain, draw, covariate)
    theta: np.ndarray  # (chain, draw)
    kappa: np.ndarray
    pred: xr.Dataset | None = None  # predictions of the scenarios, (chain, draw, scenario, response)
    t_base: np.ndarray | None = None


def make_base(fit: Fit, claims: list[Claim], inputs: Inputs, scenarios: dict[str, dict] | None = None) -> Base:
    ont, h = inputs.ontology, inputs.hyper
    post = fit.idata["posterior"].to_dataset()
    X = ont.covariates(ont.actions)  # (A, K): as the model's eta_act
    eta = (post[ALPHA].values[:, :, None, :] + np.einsum("ak,cdkr->cdar", X, post[BETA].values)
           + post[DELTA].values)
    nodes, weights = quadrature(int(h["quadrature_nodes"]))
    p = marginal_p(eta, post[LOADING].values[:, :, None, None, :], chain_index(ont), nodes, weights, np)
    p = np.clip(p, EPS, 1 - EPS)
    b = Base(fit, claims, np.log(p) - np.log1p(-p), post["g"].values, post[THETA].values, post[KAPPA].values)
    if scenarios:
        b.pred = predict(fit.idata, ont, h, scenarios)
    b.t_base = claim_terms(claims, b, inputs)
    return b


def claim_terms(claims: list[Claim], base: Base, inputs: Inputs) -> np.ndarray:
    """Sum of the log densities of every claim-dependent term of the model at each draw, (chain, draw):
    the same terms ``model.build`` adds (cell pseudo-observations, orderings, the slopes' priors, the
    latent drivers' priors)."""
    ont = inputs.ontology
    acts, resps, covs = ont.action_ids, ont.response_ids, ont.covariate_names
    from scipy import stats  # here, not at import: seconds the cached report path never needs

    total = np.zeros(base.theta.shape)
    g_mu = np.zeros(len(covs))
    g_sd = np.full(len(covs), float(inputs.hyper["slope_sd"]))
    for c in claims:
        if getattr(c, "unused", None):
            continue  # dated after as_of or restating a kept source: no term of the model
        enc = c.scaled()
        if c.kind == "cell":
            mu, sd = c.logit_normal()
            r = resps.index(c.response)
            # one pseudo-observation of the mean logit over the actions the claim names (as model.build)
            mean_lp = np.mean([base.lp_ref[:, :, acts.index(a), r] for a in c.actions], axis=0)
            total += stats.norm.logpdf(mu, loc=mean_lp, scale=sd)
        elif c.kind == "ordering":
            for (a1, r1), (a2, r2) in zip(c.cells[:-1], c.cells[1:], strict=True):
                diff = (base.lp_ref[:, :, acts.index(a2), resps.index(r2)]
                        - base.lp_ref[:, :, acts.index(a1), resps.index(r1)])
                total += log_sigmoid(enc["sharpness"] * diff, np)
        elif c.kind == "effect":
            k = covs.index(c.covariate)
            g_mu[k], g_sd[k] = enc["mu"], enc["sigma"]
        elif c.target == THETA:
            total += stats.beta.logpdf(base.theta, enc["alpha"], enc["beta"])
        elif c.target == KAPPA:
            total += stats.halfnorm.logpdf(base.kappa, scale=enc["sigma"])
    total += stats.norm.logpdf(base.g, loc=g_mu, scale=g_sd).sum(axis=-1)
    return total


def psis(log_ratio: np.ndarray) -> tuple[np.ndarray, float]:
    """Pareto-smoothed normalised log weights (chain, draw) and the Pareto k of the reweighting."""
    import arviz_stats  # noqa: F401 - registers the .azstats accessor

    da = xr.DataArray(-log_ratio, dims=("chain", "draw"))  # psislw smooths 1/ratio (the LOO convention)
    lw, k = da.azstats.psislw(dim=["chain", "draw"])
    return lw.values, float(k)


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
        n = base.theta.size
        return Component(label, base, claims, np.full(base.theta.shape, -np.log(n)), None, "its own fit")
    lw, k = psis(claim_terms(claims, base, inputs) - base.t_base)
    ess = 1.0 / float(np.exp(2 * lw).sum())  # effective draws of the reweighting (Kish)
    return Component(label, base, claims, lw, k, f"importance sampling from the article fit (Pareto k {k:.2f}, "
                                                 f"{ess:.0f} effective of {lw.size} draws)")


def exact_or_reweighted(cfg, inputs: Inputs, base: Base, claims: list[Claim], label: str, scenarios: dict,
                        say=None) -> Component:
    """The forecast under ``claims``: reweighted draws when PSIS is reliable, else an exact (cached) refit."""
    comp = reweight(base, claims, inputs, label)
    if comp.k is not None and comp.k <= K_MAX:
        return comp
    if say:
        say(f"{label}: Pareto k {comp.k:.2f} > {K_MAX}: refitting with its claims (cached by inputs hash)")
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
    """Equal-tailed interval of the pooled forecast per response (weighted quantiles of the draws)."""
    parts = [(pool.pooled, 1.0)] if pool.pooled is not None else [(pool.components[a], pool.weights[a])
                                                                    for a in pool.analysts]
    vals = np.concatenate([c.base.pred["p"].values[:, :, scenario, :].reshape(-1, c.base.pred.sizes["response"])
                           for c, _ in parts])
    w = np.concatenate([wt * np.exp(c.lw).ravel() for c, wt in parts])
    lo, hi = [], []
    for r in range(vals.shape[1]):
        order = np.argsort(vals[:, r])
        cw = np.cumsum(w[order]) / w.sum()
        lo.append(vals[order, r][np.searchsorted(cw, (1 - prob) / 2)])
        hi.append(vals[order, r][min(np.searchsorted(cw, 1 - (1 - prob) / 2), len(cw) - 1)])
    return np.array(lo), np.array(hi)


def rebuild_sets(state: dict[str, Any], inputs: Inputs, today: dt.date) -> dict[str, list[Judgement]]:
    """Judgement sets from a report's recorded state ({analyst: {id: raw}}), validated as today."""
    out = {}
    for a, raws in state.items():
        parsed = [parse_judgement(r, a, inputs.ontology, inputs.claims, today, f"recorded judgement {a}/{i}")
                  for i, r in raws.items()]
        out[a] = active_set(parsed, a, inputs.claims, inputs.as_of)
    return out
