"""The model's terms on stored posterior draws, in numpy: the one copy of each outside the PyMC model.

A posterior holds draws of the model's parameters (``forecast.model.build``'s reserved names). Whatever
evaluates a term of the model on those draws without PyMC calls this module: PSIS updates of a cached
posterior (``model.reweight``), the history's likelihood per episode (``model.likelihood``), predictions
(``model.predict``), analysts' pooling, prior sensitivity and the prior check (``analysis/``), and the
What if panel (``analysis/whatif``; the page's JavaScript, ``outputs/whatif_core.js``, is pinned to these
functions by golden vectors in ``tests/test_whatif_core.py``). Each term is pinned to PyMC's own log
density, for every supported setting of the ablation switches, by ``tests/test_terms.py``.

- the linear predictor ``alpha + x . beta + delta`` of actions, profiles and episodes (``eta_*``), with the
  opinion shift ``o(r) * m(x) * kappa * (logit theta_t - logit theta_ref)`` (``opinion_shift``; ``m(x)``: 1 when
  the polls are about the action, ``opinion_scope``), episodes before the poll window at the reference;
- ``p_marginal`` / ``logit_p``: P(r | a) with the episode factor integrated out, and its logit clipped as the
  model clips it (``CLIP``, once);
- ``poll_loglik``: a poll's binomial term, a known pollster's stored wording effect or a new pollster's
  integrated out under its prior;
- ``episode_loglik_eta``: an episode's coded cells, its factor integrated out;
- ``cell_claim_loglik``: a cell claim's or a signal's pseudo-observation(s), per ``model.claims_per_action``;
- ``ordering_loglik``: an ordering claim's steps;
- ``prior_loglik`` / ``default_prior_loglik``: an effect or latent claim's prior, and the default of
  ``conf/model`` it replaces; ``claims_loglik``: every claim-dependent term of the model together. Each of the
  article's claims takes the learned weight ``a`` of the draws (``claim_weight``): its normalised power.

To add a parameter to a term (e.g. a learned weight on the article's claims): store its draws
(``model.fit.STORED``), write it in ``build_model``, read it here from the draws ``ds`` the claim terms
receive, and add its setting to the pin test. A setting of an ablation switch these terms do not reproduce
is refused by ``require_supported`` (``SUPPORTED`` lists the ones they do).

numpy only at import (pandas and scipy.special inside the functions that need them): the cached report path and
``forecast whatif`` from a report's kept draws import this module.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.polynomial.hermite_e import hermegauss

from forecast.inputs.data import in_window
from forecast.inputs.schema import switch
from forecast.model.build import (
    ALPHA,
    BETA,
    CLAIM_WEIGHT,
    DELTA,
    KAPPA,
    LOADING,
    THETA,
    THETA_PAST,
    chain_index,
    is_article,
    log_sigmoid,
    marginal_p,
    observed_cells,
    quadrature,
)
from forecast.model.psis import logsumexp

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr

CLIP = 1e-9  # the model's clip of a cell probability before its logit (build_model's claim and signal terms)
EPISODE_NODES = 24  # an episode's cells are peakier in its factor than one probability: more nodes than P's
POLL_GRID, POLL_GRID_SDS = 2401, 6.0  # a new pollster's effect: grid points over +-6 prior sds (poll_loglik)
_POLL_STRIDE, _POLL_DROP = 16, 50.0  # the coarse pass over that grid, and the margin (nats) of the terms summed
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)

# the settings of each ablation switch (forecast.inputs.schema.ABLATION_SWITCHES) these terms reproduce;
# restatements and attribute_cells act on the inputs (which claims and coded cells exist), not on a term
SUPPORTED: dict[str, tuple[str, ...]] = {
    "poll_effects": ("free", "sum_to_zero"),
    "episode_opinion": ("own_time", "reference"),
    "claims_per_action": ("once", "each"),
    "restatements": ("drop", "keep"),
    "attribute_cells": ("observe", "leave_out"),
    "era_opinion": ("reference", "free"),
    "opinion_scope": ("scoped", "all"),
    "claim_weight": ("learned", "fixed"),
}


class Unsupported(Exception):
    """A model setting, or a change under it, that the terms on stored draws do not reproduce."""


def require_supported(hyper: dict) -> None:
    """Refuse, with the one message, a model setting these terms do not reproduce."""
    from forecast.inputs.schema import ABLATION_SWITCHES

    for name in ABLATION_SWITCHES:
        value = switch(hyper, name)
        if value not in SUPPORTED.get(name, ()):
            raise Unsupported(f"model.{name}={value}: the model's terms on stored draws (forecast/model/terms.py) "
                              "do not reproduce this setting; refit instead (update=refit)")


# ---------------------------------------------------------------------- densities (no scipy.stats: seconds)
def norm_logpdf(x, mu, sd):
    return -0.5 * np.square((np.asarray(x) - mu) / sd) - np.log(sd) - _LOG_SQRT_2PI


def beta_logpdf(x, a, b):
    from scipy.special import betaln

    return (a - 1) * np.log(x) + (b - 1) * np.log1p(-x) - betaln(a, b)


def halfnorm_logpdf(x, sd):
    return np.log(2.0) + norm_logpdf(x, 0.0, sd)


def _lgamma(x):
    """log Gamma(x) of a number or of a few numbers (a poll's counts), by ``math.lgamma``: no scipy import."""
    if np.ndim(x) == 0:
        return math.lgamma(float(x))
    return np.array([math.lgamma(float(v)) for v in np.ravel(x)]).reshape(np.shape(x))


def binom_logpmf_logit(y, n, eta):
    """log Binomial(y | n, sigmoid(eta)), stable for any eta (y and n: a poll's counts, numbers or a few)."""
    return (_lgamma(n + 1) - _lgamma(y + 1) - _lgamma(n - y + 1)
            - y * np.logaddexp(0.0, -eta) - (n - y) * np.logaddexp(0.0, eta))


def logit(p):
    """log(p / (1 - p)) in the dtype of ``p`` (the stored draws' float32 opinion stays float32, as the
    model's predictions have always computed it)."""
    p = np.asarray(p)
    return np.log(p / (1 - p))


def log1mexp(x: np.ndarray) -> np.ndarray:
    """log(1 - exp(x)) for x < 0, accurate on both sides of -log 2."""
    x = np.minimum(x, -1e-12)
    return np.where(x > -0.6931, np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


# ---------------------------------------------------------------------- the linear predictor
def logit_reference(hyper: dict) -> np.float64:
    """logit of the article's reference opinion (a float64 scalar: float32 opinions are promoted with it)."""
    ref = float(hyper["opinion_reference"])
    return np.log(ref / (1 - ref))


def linear_predictor(ds: xr.Dataset, X: np.ndarray, act: list[int] | np.ndarray) -> dict[str, np.ndarray]:
    """The parts of ``alpha + x . beta + delta`` for rows of covariates ``X`` (n, K) of action types ``act``
    (n,), at f = 0 and the reference opinion: {"alpha", "xbeta", "delta"}, each (chain, draw, n, R)."""
    alpha = ds[ALPHA].values[:, :, None, :]
    xbeta = np.einsum("nk,cdkr->cdnr", np.asarray(X, dtype=float).reshape(len(act), -1), ds[BETA].values)
    delta = ds[DELTA].values[:, :, np.asarray(act, dtype=int), :]
    return {"alpha": np.broadcast_to(alpha, xbeta.shape), "xbeta": xbeta, "delta": delta}


def opinion_scope(ont, profiles: pd.DataFrame, hyper: dict) -> np.ndarray:
    """1 for each profile the polled opinion moves (its attributes in ``opinion_levels``: US military action),
    else 0: (n,); every profile with ``model.opinion_scope=all``."""
    if switch(hyper, "opinion_scope") == "all":
        return np.ones(len(profiles))
    return ont.opinion_scope(profiles)


def opinion_shift(ds: xr.Dataset, ont, hyper: dict, logit_opinion: np.ndarray,
                  scope: np.ndarray | None = None) -> np.ndarray:
    """``o(r) * m * kappa * (logit opinion - logit opinion_reference)``; ``logit_opinion`` (chain, draw, n), ``scope``
    (n,) the profiles' ``opinion_scope`` (None: 1): (chain, draw, n, R)."""
    sign = ont.responses["opinion_sign"].to_numpy(dtype=float)
    kappa = ds[KAPPA].values[:, :, None, None]
    gap = logit_opinion - logit_reference(hyper)
    if scope is not None:
        gap = gap * np.asarray(scope, dtype=float)
    return sign * kappa * gap[..., None]


def _current(ds: xr.Dataset, n: int) -> np.ndarray:
    return np.repeat(logit(ds[THETA].values)[:, :, None], n, axis=2)


def eta_actions(ds: xr.Dataset, ont, hyper: dict, current_opinion: bool) -> np.ndarray:
    """Every ontology action at its own attributes and every response, at f = 0, at the current (polled)
    opinion or the reference one: (chain, draw, A, R)."""
    A = len(ont.action_ids)
    eta = sum(linear_predictor(ds, ont.covariates(ont.actions), np.arange(A)).values())
    if not current_opinion:
        return eta
    return eta + opinion_shift(ds, ont, hyper, _current(ds, A), opinion_scope(ont, ont.actions, hyper))


def eta_profiles(ds: xr.Dataset, ont, hyper: dict, profiles: list[dict[str, Any]], actions: list[str]) -> np.ndarray:
    """Action profiles (a scenario's attributes) of action types ``actions`` at the current opinion:
    (chain, draw, n, R)."""
    import pandas as pd

    table = pd.DataFrame.from_records(profiles, columns=list(ont.attributes))
    X = ont.covariates(table)
    act = [ont.action_ids.index(a) for a in actions]
    return sum(linear_predictor(ds, X, act).values()) + opinion_shift(ds, ont, hyper, _current(ds, len(act)),
                                                                      opinion_scope(ont, table, hyper))


def eta_episodes(ds: xr.Dataset, ont, episodes, hyper: dict | None = None, as_of=None,
                 recent: np.ndarray | None = None, past: float | None = None) -> np.ndarray:
    """Every episode and response at f = 0: (chain, draw, E, R).

    With ``hyper`` and ``as_of`` (the fit's), each episode is at the opinion of its time, as in the model:
    the polled opinion inside the poll window; before it the article's reference opinion (``model.era_opinion=
    reference``) or the era opinion ``THETA_PAST`` (``free``); only episodes the polls are about carry it
    (``opinion_scope``); not with the ablation ``model.episode_opinion=reference`` (every episode at the
    reference opinion). ``recent`` (E,) overrides which episodes ``as_of`` puts inside the poll window (a PSIS
    update moving them out of it); ``past`` puts the episodes before it at that logit opinion instead (the
    checks' era-opinion band)."""
    table = episodes.table
    X = ont.covariates(table) if len(table) else np.zeros((0, len(ont.covariate_names)))
    act = [ont.action_ids.index(a) for a in table["action_type"]]
    eta = sum(linear_predictor(ds, X, act).values())
    if hyper is None or as_of is None or THETA not in ds or KAPPA not in ds or not len(act):
        return eta
    if switch(hyper, "episode_opinion") == "reference":
        return eta
    if recent is None:
        recent = in_window(table["date"], as_of, hyper)
    lt = logit(ds[THETA].values)[..., None]
    if past is not None:
        lp = np.full_like(lt, float(past), dtype=np.result_type(lt, np.float64))
    elif switch(hyper, "era_opinion") == "reference":
        lp = np.full_like(lt, logit_reference(hyper), dtype=np.result_type(lt, np.float64))
    else:
        lp = logit(ds[THETA_PAST].values)[..., None] if THETA_PAST in ds else lt
    return eta + opinion_shift(ds, ont, hyper, np.where(recent, lt, lp), opinion_scope(ont, table, hyper))


# ---------------------------------------------------------------------- P(r | a), the factor integrated out
def p_marginal(eta: np.ndarray, loading: np.ndarray, ont, hyper: dict) -> np.ndarray:
    """P(r | a) from the linear predictor ``eta`` (..., n, R) and the signed loadings (..., R), the episode
    factor integrated out by the model's Gauss-Hermite rule and response chains: (..., n, R)."""
    nodes, w = quadrature(int(hyper["quadrature_nodes"]))
    return marginal_p(eta, loading[..., None, None, :], chain_index(ont), nodes, w, np)


def logit_p(eta: np.ndarray, loading: np.ndarray, ont, hyper: dict) -> np.ndarray:
    """logit P(r | a), clipped to [CLIP, 1 - CLIP] first as the model clips it: (..., n, R)."""
    return logit(np.clip(p_marginal(eta, loading, ont, hyper), CLIP, 1 - CLIP))


def logit_p_actions(ds: xr.Dataset, ont, hyper: dict, current_opinion: bool) -> np.ndarray:
    """logit P(r | a) for every ontology action and response (the claims' scale at the reference opinion,
    the signals' at the current one): (chain, draw, A, R)."""
    return logit_p(eta_actions(ds, ont, hyper, current_opinion), ds[LOADING].values, ont, hyper)


# ---------------------------------------------------------------------- the poll term
def poll_loglik(theta: np.ndarray, house: np.ndarray | None, pollsters: list[str], polls: pd.DataFrame,
                hyper: dict, kept=None) -> np.ndarray:
    """The model's poll term for ``polls`` (a table, or records, of pollster, n, share_opposed), per draw:
    y ~ Binomial(n, sigmoid(logit theta + house[pollster])).

    A pollster among ``pollsters`` (the last axis of ``house``, the stored wording effects) uses its draws. A
    new pollster's effect is not in the draws: with free effects (``model.poll_effects=free``) it is integrated
    out under its prior Normal(0, sigma_house), jointly over that pollster's polls, on a dense grid (the polls
    pin it far more narrowly than its prior: a Gauss-Hermite rule on the prior's scale steps over the peak).
    With zero-sum effects it is 0 when it is the only pollster; any other new pollster changes the others'
    effects, which no reweighting reproduces (``Unsupported``).

    The sum runs over the pollsters in their sorted order, one pollster's polls at a time. ``kept(pollster, polls,
    compute)``, when given, returns that pollster's term: ``compute()``'s, or the same one kept by an earlier call
    (``forecast.model.reweight``: a new pollster's grid is computed once for the update and the attribution)."""
    theta = np.asarray(theta, dtype=float)
    lt = logit(theta)
    known = list(pollsters) if house is not None else []
    groups: dict[Any, list[dict[str, Any]]] = {}  # the polls by pollster, each in its given order
    for rec in polls.to_dict("records") if hasattr(polls, "to_dict") else polls:
        groups.setdefault(rec["pollster"], []).append(rec)
    new = sorted(set(groups) - set(known))
    zero_sum = switch(hyper, "poll_effects") == "sum_to_zero"
    if zero_sum and new and (known or len(new) > 1):
        raise Unsupported(f"new pollster {new[0]!r} under model.poll_effects=sum_to_zero: the zero-sum wording "
                          "effects of the other pollsters change with it, which no reweighting reproduces")
    out = np.zeros(theta.shape)
    sigma = float(hyper["sigma_house"])
    for pollster in sorted(groups):
        def term(pollster=pollster) -> np.ndarray:
            n = np.array([rec["n"] for rec in groups[pollster]], dtype=float)
            y = np.round(n * np.array([rec["share_opposed"] for rec in groups[pollster]], dtype=float))
            if pollster in known:
                eta = lt[..., None] + np.asarray(house, dtype=float)[..., known.index(pollster)][..., None]
                return binom_logpmf_logit(y, n, eta).sum(axis=-1)
            if zero_sum:  # the only pollster: its zero-sum effect is 0
                return binom_logpmf_logit(y, n, lt[..., None]).sum(axis=-1)
            return _new_pollster(lt, y, n, sigma)

        out = out + (term() if kept is None else kept(pollster, groups[pollster], term))
    return out


def _new_pollster(lt: np.ndarray, y: np.ndarray, n: np.ndarray, sigma: float, block: int = 128) -> np.ndarray:
    """log of the polls' (counts ``y`` of ``n``) likelihood with a new pollster's effect integrated out under its
    prior Normal(0, sigma), per draw of the logit opinion ``lt``: the sum over the ``POLL_GRID`` points of the grid
    of (the polls' likelihood at the draw's opinion plus the effect) times (the prior's mass at the effect).

    Only the terms that can count are computed: the summand's log is concave in the effect (binomial
    log-likelihoods in the logit and a Normal log prior), so the points within ``_POLL_DROP`` nats of its maximum
    form one interval. A pass over every ``_POLL_STRIDE``-th point finds, for each draw, an interval of the grid
    that holds them (one coarse step beyond the outermost coarse points within that margin of the coarse
    maximum); the dense sum runs over that interval. Every term left out is below exp(-_POLL_DROP) times the
    largest: together less than 1e-18 of the sum, below float64 rounding. Blocks of ``block`` draws keep the
    temporaries small (the whole grid at once is 150 MB each: memory traffic, not arithmetic)."""
    grid = np.linspace(-POLL_GRID_SDS * sigma, POLL_GRID_SDS * sigma, POLL_GRID)
    log_prior = -0.5 * (grid / sigma) ** 2 - np.log(sigma * np.sqrt(2 * np.pi)) + np.log(grid[1] - grid[0])
    coarse = np.arange(0, POLL_GRID, _POLL_STRIDE)
    flat = lt.reshape(-1)
    out = np.empty(flat.shape)

    def summand(x: np.ndarray, lp: np.ndarray) -> np.ndarray:
        ll = np.zeros(x.shape)
        for yi, ni in zip(y, n, strict=True):
            ll = ll + binom_logpmf_logit(yi, ni, x)
        return ll + lp

    for i in range(0, flat.size, block):
        d = flat[i:i + block, None]
        fc = summand(d + grid[coarse], log_prior[coarse])
        inside = fc >= fc.max(axis=1, keepdims=True) - _POLL_DROP
        first = np.argmax(inside, axis=1)
        last = inside.shape[1] - 1 - np.argmax(inside[:, ::-1], axis=1)
        lo = np.maximum(coarse[np.maximum(first - 1, 0)], 0)
        hi = coarse[np.minimum(last + 1, len(coarse) - 1)]
        hi = np.where(last + 1 >= len(coarse), POLL_GRID - 1, hi)
        idx = lo[:, None] + np.arange(int((hi - lo).max()) + 1)
        keep = idx <= hi[:, None]
        idx = np.minimum(idx, POLL_GRID - 1)
        f = np.where(keep, summand(d + grid[idx], log_prior[idx]), -np.inf)
        out[i:i + block] = logsumexp(f, axis=-1)
    return out.reshape(lt.shape)


def stored_house(ds: xr.Dataset) -> tuple[np.ndarray | None, list[str]]:
    """The stored wording effects (chain, draw, pollster) and their pollsters, or (None, [])."""
    if "house" not in ds or "pollster" not in ds["house"].dims:
        return None, []
    return ds["house"].transpose("chain", "draw", "pollster").values, [str(p) for p in ds["pollster"].values]


# ---------------------------------------------------------------------- the episode term
def cell_logp_given_factor(eta_e: np.ndarray, loading: np.ndarray, f: np.ndarray, resp: np.ndarray,
                           mask: np.ndarray, chain: list) -> np.ndarray:
    """log P(cell happened | f) for one episode's cells: eta_e (..., R), loading (..., R), f (Q,)
    -> (..., Q, n_cells). A cell's probability is q at its response times q at every uncoded response up
    its chain (``mask``), exactly as in ``build_model``'s history term."""
    ls = log_sigmoid(eta_e[..., None, :] + loading[..., None, :] * f[:, None], np)  # (..., Q, R)
    out = ls[..., resp]
    for k, (idx, _) in enumerate(chain):
        if mask.shape[1] > k and mask[:, k].any():
            out = out + ls[..., idx[resp]] * mask[:, k]
    return out


def episode_nodes(n_nodes: int = EPISODE_NODES) -> tuple[np.ndarray, np.ndarray]:
    """The Gauss-Hermite nodes of the episode factor and their log weights (normalised)."""
    nodes, w = hermegauss(n_nodes)
    return nodes, np.log(w / w.sum())


def episode_loglik_eta(eta: np.ndarray, loading: np.ndarray, ont, outcomes: pd.DataFrame,
                       n_nodes: int = EPISODE_NODES) -> np.ndarray:
    """log p(y_e | parameters) per draw and episode from the episodes' linear predictor at f = 0 (..., E, R)
    and the signed loadings (..., R), each episode's factor integrated out:

        log p(y_e | params) = log sum_q w_q prod_{cells c of e} Bernoulli(y_c | P_c(f = x_q))

    where P_c(f) is the model's probability of the coded cell given the factor (``observed_cells`` decides
    which cells count and which chain is marginalised, for the fit and here alike): (..., E). An episode
    with no coded cell contributes 0. ``outcomes``: a table (episode x response, 0/1/NaN) or its array."""
    nodes, logw = episode_nodes(n_nodes)
    chain = chain_index(ont)
    ep, resp, mask, y, _ = observed_cells(ont, outcomes)
    out = np.zeros(eta.shape[:-2] + (eta.shape[-2],))
    for e in range(eta.shape[-2]):
        sel = ep == e
        if not sel.any():
            continue
        lp = cell_logp_given_factor(eta[..., e, :], loading, nodes, resp[sel], mask[sel], chain)  # (..., Q, n)
        ll = np.where(y[sel] == 1, lp, log1mexp(lp)).sum(axis=-1)  # (..., Q)
        out[..., e] = logsumexp(ll + logw, axis=-1)
    return out


def left_out_responses(ont, hyper: dict) -> list[str]:
    """Responses whose coded cells are no observation under ``model.attribute_cells=leave_out`` (their coding
    restates an action attribute: responses.csv ``coded_from``): the consent cells in the shipped model."""
    if switch(hyper, "attribute_cells") != "leave_out" or "coded_from" not in ont.responses:
        return []
    return [r for r in ont.response_ids if ont.responses.at[r, "coded_from"]]


# ---------------------------------------------------------------------- the claims' terms
def claim_weight(ds: xr.Dataset, hyper: dict, claim) -> np.ndarray | float:
    """The power a claim's term takes: the draws' learned weight of the article's claims (``CLAIM_WEIGHT``) for
    an article claim under ``model.claim_weight=learned``, else 1 (a signal, an analyst's judgement, a pooled one,
    or the article at full weight)."""
    if switch(hyper, "claim_weight") != "learned" or CLAIM_WEIGHT not in ds or not is_article(claim):
        return 1.0
    return ds[CLAIM_WEIGHT].values.astype(float)


def cell_claim_loglik(lp: np.ndarray, ont, hyper: dict, claim, weight: np.ndarray | float = 1.0) -> np.ndarray:
    """A cell claim's (or signal's) pseudo-observations from ``Claim.logit_normal()``, as ``build_model``'s
    claim_obs / signal_obs: log Normal(mu | mean_a logit P(r | a), sd / sqrt(weight)), one for the mean over the
    actions it names (a claim counts once); with ``model.claims_per_action=each`` one per action. ``lp``:
    ``logit_p`` of every action (..., A, R), at the reference opinion (claims) or the current one (signals);
    ``weight``: the claim's power (``claim_weight``; a signal's is 1)."""
    mu, sd = claim.logit_normal()
    sd = sd / np.sqrt(weight)
    acts = [ont.action_ids.index(a) for a in claim.actions]
    r = ont.response_ids.index(claim.response)
    if switch(hyper, "claims_per_action") == "each":
        return norm_logpdf(mu, lp[..., acts, r], np.asarray(sd)[..., None]).sum(axis=-1)
    return norm_logpdf(mu, lp[..., acts, r].mean(axis=-1), sd)


def ordering_loglik(lp: np.ndarray, ont, claim, weight: np.ndarray | float = 1.0) -> np.ndarray:
    """An ordering claim's steps, as ``build_model``'s order_obs: sum log sigmoid(weight * k * (logit P_hi -
    logit P_lo)) (the normalised power of a Bernoulli(sigmoid(k x)) pseudo-observation)."""
    ids_a, ids_r = ont.action_ids, ont.response_ids
    k = claim.scaled()["sharpness"] * np.asarray(weight)
    out = np.zeros(lp.shape[:-2])
    for (a1, r1), (a2, r2) in zip(claim.cells[:-1], claim.cells[1:], strict=True):
        d = lp[..., ids_a.index(a2), ids_r.index(r2)] - lp[..., ids_a.index(a1), ids_r.index(r1)]
        out = out + log_sigmoid(k * d, np)
    return out


def _prior_of(ds: xr.Dataset, ont, claim) -> np.ndarray:
    if claim.kind == "effect":
        return ds["g"].values[..., ont.covariate_names.index(claim.covariate)]
    return ds[THETA if claim.target == THETA else KAPPA].values.astype(float)


def prior_loglik(ds: xr.Dataset, ont, claim, weight: np.ndarray | float = 1.0) -> np.ndarray:
    """An effect claim's Normal on its covariate's global slope ``g``; a latent claim's Beta on the opinion
    or HalfNormal on the opinion effect (``build_model``'s g, public_opposition, opinion_effect), each at its
    normalised power ``weight``: Normal(mu, sd / sqrt(a)), Beta(a(alpha - 1) + 1, a(beta - 1) + 1),
    HalfNormal(sd / sqrt(a))."""
    enc, x = claim.scaled(), _prior_of(ds, ont, claim)
    a = np.asarray(weight, dtype=float)
    if claim.kind == "effect":
        return norm_logpdf(x, enc["mu"], enc["sigma"] / np.sqrt(a))
    if claim.target == THETA:
        return beta_logpdf(x, a * (enc["alpha"] - 1) + 1, a * (enc["beta"] - 1) + 1)
    return halfnorm_logpdf(x, enc["sigma"] / np.sqrt(a))


def default_prior_loglik(ds: xr.Dataset, ont, hyper: dict, claim) -> np.ndarray:
    """The default prior of conf/model that an effect or latent claim replaces: Normal(0, slope_sd) on the
    covariate's global slope, Beta(theta_prior_alpha, theta_prior_beta) on the opinion, HalfNormal(
    kappa_prior_sigma) on the opinion effect."""
    if claim.kind == "effect":
        return norm_logpdf(_prior_of(ds, ont, claim), 0.0, float(hyper["slope_sd"]))
    return _default_latent(ds, hyper, claim.target)


def claim_loglik(ds: xr.Dataset, lp_ref: np.ndarray | None, ont, hyper: dict, claim) -> np.ndarray:
    """One claim's term per draw (the parts that depend on parameters), at its power (``claim_weight``: the
    learned weight for the article's). ``lp_ref``: ``logit_p`` of every action at the reference opinion (cell
    and ordering claims only)."""
    a = claim_weight(ds, hyper, claim)
    if claim.kind == "cell":
        return cell_claim_loglik(lp_ref, ont, hyper, claim, a)
    if claim.kind == "ordering":
        return ordering_loglik(lp_ref, ont, claim, a)
    return prior_loglik(ds, ont, claim, a)


def claims_loglik(ds: xr.Dataset, lp_ref: np.ndarray, ont, hyper: dict, claims: list) -> np.ndarray:
    """Every claim-dependent term of the model together, per draw (chain, draw): the used claims' terms and,
    for each covariate, opinion and opinion effect no claim speaks about, the default prior (as
    ``build_model``: the last claim on a parameter is its prior). The learned weight's own prior is not a claim
    term (it does not depend on which claims are used)."""
    used = [c for c in claims if not getattr(c, "unused", None)]
    total = np.zeros(ds[THETA].shape)
    priors: dict[Any, Any] = {}
    for c in used:
        if c.kind in ("cell", "ordering"):
            total = total + claim_loglik(ds, lp_ref, ont, hyper, c)
        else:
            priors[c.covariate if c.kind == "effect" else c.target] = c
    for k in ont.covariate_names:
        x = ds["g"].values[..., ont.covariate_names.index(k)]
        total = total + (claim_loglik(ds, lp_ref, ont, hyper, priors[k]) if k in priors
                         else norm_logpdf(x, 0.0, float(hyper["slope_sd"])))
    for target in (THETA, KAPPA):
        if target in priors:
            total = total + claim_loglik(ds, lp_ref, ont, hyper, priors[target])
        else:
            total = total + _default_latent(ds, hyper, target)
    return total


def _default_latent(ds: xr.Dataset, hyper: dict, target: str) -> np.ndarray:
    x = ds[target].values.astype(float)
    if target == THETA:
        return beta_logpdf(x, float(hyper.get("theta_prior_alpha", 2.0)), float(hyper.get("theta_prior_beta", 2.0)))
    return halfnorm_logpdf(x, float(hyper.get("kappa_prior_sigma", 1.0)))
