"""The history's likelihood from stored posterior draws: per episode, with its factor integrated out.

The model fits every coded episode e with a latent episode factor f_e ~ Normal(0, 1). Model checks
(PSIS-LOO over episodes, leave-future-out, calibration) and importance-sampling updates need the
likelihood of whole episodes given the shared parameters, so the factor is integrated out here by
Gauss-Hermite quadrature, with the same numpy/pytensor functions the model uses::

    log p(y_e | params) = log sum_q w_q prod_{cells c of e} Bernoulli(y_c | P_c(f = x_q))

where P_c(f) is the model's probability of the coded cell given the factor: ``q[r | f]`` when the
threat ``r`` requires is coded 1, the product over the uncoded part of the chain when it is blank
(``forecast.model.build.observed_cells`` decides, for the fit and here alike). Everything is
computed in numpy from the stored draws of ``alpha``, ``beta``, ``delta`` and ``loading``: no refit,
no pytensor compile.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from numpy.polynomial.hermite_e import hermegauss
from scipy.special import logsumexp

from forecast.inputs.data import Episodes, Ontology
from forecast.inputs.schema import switch
from forecast.model.build import (
    ALPHA,
    BETA,
    DELTA,
    KAPPA,
    LOADING,
    THETA,
    THETA_PAST,
    chain_index,
    log_sigmoid,
    observed_cells,
)

N_NODES = 24  # the product over an episode's cells is peakier in f than one probability: more nodes than P's 7


def episode_eta(ds: xr.Dataset, ont: Ontology, episodes: Episodes, hyper: dict | None = None,
                as_of=None, recent: np.ndarray | None = None) -> np.ndarray:
    """The linear predictor of every episode and response at f = 0: (chain, draw, E, R).

    With ``hyper`` and ``as_of`` (the fit's), each episode is at the opinion of its time, as in the model:
    the polled opinion inside the poll window, the era opinion before it (``THETA_PAST``), shifted by
    ``opinion_sign * kappa * (logit opinion - logit opinion_reference)`` (not with the ablation switch
    ``model.episode_opinion=reference``: every episode at the reference opinion, as the model before issue #16).
    ``recent`` (E,) overrides which episodes ``as_of`` puts inside the poll window (a PSIS update moving an
    episode out of it)."""
    X = ont.covariates(episodes.table) if len(episodes.table) else np.zeros((0, len(ont.covariate_names)))
    acts = [ont.action_ids.index(a) for a in episodes.table["action_type"]]
    eta = (ds[ALPHA].values[:, :, None, :] + np.einsum("ek,cdkr->cder", X, ds[BETA].values)
           + ds[DELTA].values[:, :, acts, :])
    if hyper is None or as_of is None or THETA not in ds or KAPPA not in ds or not len(acts):
        return eta
    if switch(hyper, "episode_opinion") == "reference":
        return eta
    ref = float(hyper["opinion_reference"])
    logit_ref = np.log(ref / (1 - ref))
    window = int(hyper.get("poll_window_days", 730))
    if recent is None:
        recent = np.array([(as_of - d).days <= window for d in episodes.table["date"]])
    theta = ds[THETA].values
    past = ds[THETA_PAST].values if THETA_PAST in ds else theta
    logit_ep = np.where(recent, np.log(theta / (1 - theta))[..., None], np.log(past / (1 - past))[..., None])
    sign = ont.responses["opinion_sign"].to_numpy(dtype=float)
    return eta + sign * ds[KAPPA].values[..., None, None] * (logit_ep - logit_ref)[..., None]


def _cells(ont: Ontology, outcomes: pd.DataFrame):
    ep, resp, mask, y, names = observed_cells(ont, outcomes)
    return ep, resp, mask, y, names


def cell_logp_given_factor(eta_e: np.ndarray, loading: np.ndarray, f: np.ndarray, resp: np.ndarray,
                           mask: np.ndarray, chain: list) -> np.ndarray:
    """log P(cell happened | f) for one episode's cells: eta_e (..., R), loading (..., R), f (Q,)
    -> (..., Q, n_cells). A cell's probability is q at its response times q at every uncoded
    response up its chain (``mask``), exactly as in ``build_model``'s history term."""
    ls = log_sigmoid(eta_e[..., None, :] + loading[..., None, :] * f[:, None], np)  # (..., Q, R)
    out = ls[..., resp]
    for k, (idx, _) in enumerate(chain):
        if mask.shape[1] > k and mask[:, k].any():
            out = out + ls[..., idx[resp]] * mask[:, k]
    return out


def _as_of(idata: xr.DataTree, as_of):
    """The date that decides which episodes sit at the polled opinion: the one given, else the fit's own."""
    if as_of is not None:
        return as_of
    import datetime as dt

    raw = idata.attrs.get("as_of")
    return dt.date.fromisoformat(raw) if isinstance(raw, str) and raw else None


def _log1mexp(x: np.ndarray) -> np.ndarray:
    """log(1 - exp(x)) for x < 0, accurate on both sides of -log 2."""
    x = np.minimum(x, -1e-12)
    return np.where(x > -0.6931, np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


def episode_loglik_eta(eta: np.ndarray, loading: np.ndarray, ont: Ontology, outcomes: pd.DataFrame,
                       n_nodes: int = N_NODES) -> np.ndarray:
    """log p(y_e | parameters) per draw and episode from the episodes' linear predictor at f = 0 (..., E, R)
    and the signed loadings (..., R), the factor integrated out: (..., E). The one place of the formula
    (``episode_loglik`` and the report's what-if panel, forecast/analysis/whatif.py, call it)."""
    nodes, w = hermegauss(n_nodes)
    logw = np.log(w / w.sum())
    chain = chain_index(ont)
    ep, resp, mask, y, _ = _cells(ont, outcomes)
    out = np.zeros(eta.shape[:-2] + (eta.shape[-2],))
    for e in range(eta.shape[-2]):
        sel = ep == e
        if not sel.any():
            continue
        lp = cell_logp_given_factor(eta[..., e, :], loading, nodes, resp[sel], mask[sel], chain)  # (..., Q, n)
        ll = np.where(y[sel] == 1, lp, _log1mexp(lp)).sum(axis=-1)  # (..., Q)
        out[..., e] = logsumexp(ll + logw, axis=-1)
    return out


def episode_loglik(idata: xr.DataTree, ont: Ontology, episodes: Episodes, group: str = "posterior",
                   n_nodes: int = N_NODES, *, hyper: dict | None = None, as_of=None,
                   recent: np.ndarray | None = None) -> xr.DataArray:
    """log p(y_e | parameters) per draw and episode, the factor integrated out: (chain, draw, episode).

    Pass the fit's ``hyper`` and ``as_of`` so that each episode is at the opinion of its time (as the
    model fits it); without them the opinion term is left out. An episode with no coded cell contributes 0."""
    ds = idata[group].to_dataset()
    eta = episode_eta(ds, ont, episodes, hyper, _as_of(idata, as_of), recent)
    out = episode_loglik_eta(eta, ds[LOADING].values, ont, episodes.outcomes, n_nodes)
    return xr.DataArray(out, dims=("chain", "draw", "episode"),
                        coords={"chain": ds["chain"].values, "draw": ds["draw"].values,
                                "episode": list(episodes.table.index)}, name="episode_loglik")


def cell_probabilities(idata: xr.DataTree, ont: Ontology, episodes: Episodes, group: str = "posterior",
                       n_nodes: int = N_NODES, *, hyper: dict | None = None,
                       as_of=None) -> tuple[xr.DataArray, np.ndarray, list[str]]:
    """Each coded cell's predictive probability P(y_c = 1 | parameters), its episode's factor
    integrated out (not conditioned on the episode's other cells): (chain, draw, cell), with the
    observed 0/1 outcomes and the cell names ``episode:response``."""
    ds = idata[group].to_dataset()
    eta = episode_eta(ds, ont, episodes, hyper, _as_of(idata, as_of))
    loading = ds[LOADING].values
    nodes, w = hermegauss(n_nodes)
    w = w / w.sum()
    chain = chain_index(ont)
    ep, resp, mask, y, names = _cells(ont, episodes.outcomes)
    out = np.zeros(eta.shape[:2] + (len(y),))
    for e in np.unique(ep):
        sel = np.flatnonzero(ep == e)
        lp = cell_logp_given_factor(eta[:, :, e, :], loading, nodes, resp[sel], mask[sel], chain)
        out[:, :, sel] = np.einsum("cdqn,q->cdn", np.exp(lp), w)
    da = xr.DataArray(out, dims=("chain", "draw", "cell"),
                      coords={"chain": ds["chain"].values, "draw": ds["draw"].values, "cell": names},
                      name="cell_p")
    return da, y, names
