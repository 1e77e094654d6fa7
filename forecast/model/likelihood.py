"""The history's likelihood from stored posterior draws, per episode and per coded cell, as xarray.

The model fits every coded episode e with a latent episode factor f_e ~ Normal(0, 1). Model checks
(PSIS-LOO over episodes, leave-future-out, calibration, posterior predictive checks) need the likelihood of
whole episodes given the shared parameters, and each cell's predictive probability, so the factor is
integrated out by Gauss-Hermite quadrature with the model's own terms (``forecast.model.terms``:
``eta_episodes``, ``episode_loglik_eta``, ``cell_logp_given_factor``), computed in numpy from the stored
draws of ``alpha``, ``beta``, ``delta``, ``loading`` and the opinions: no refit, no pytensor compile.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import xarray as xr

from forecast.inputs.data import Episodes, Ontology
from forecast.model import terms as T
from forecast.model.build import LOADING, chain_index, observed_cells


def _as_of(idata: xr.DataTree, as_of):
    """The date that decides which episodes sit at the polled opinion: the one given, else the fit's own."""
    if as_of is not None:
        return as_of
    raw = idata.attrs.get("as_of")
    return dt.date.fromisoformat(raw) if isinstance(raw, str) and raw else None


def _coords(ds: xr.Dataset) -> dict:
    return {"chain": ds["chain"].values, "draw": ds["draw"].values}


def episode_loglik(idata: xr.DataTree, ont: Ontology, episodes: Episodes, group: str = "posterior",
                   n_nodes: int = T.EPISODE_NODES, *, hyper: dict | None = None, as_of=None,
                   recent: np.ndarray | None = None) -> xr.DataArray:
    """log p(y_e | parameters) per draw and episode, the factor integrated out: (chain, draw, episode).

    Pass the fit's ``hyper`` and ``as_of`` so that each episode is at the opinion of its time (as the
    model fits it); without them the opinion term is left out. An episode with no coded cell contributes 0."""
    ds = idata[group].to_dataset()
    eta = T.eta_episodes(ds, ont, episodes, hyper, _as_of(idata, as_of), recent)
    out = T.episode_loglik_eta(eta, ds[LOADING].values, ont, episodes.outcomes, n_nodes)
    return xr.DataArray(out, dims=("chain", "draw", "episode"),
                        coords=_coords(ds) | {"episode": list(episodes.table.index)}, name="episode_loglik")


def cell_probabilities(idata: xr.DataTree, ont: Ontology, episodes: Episodes, group: str = "posterior",
                       n_nodes: int = T.EPISODE_NODES, *, hyper: dict | None = None,
                       as_of=None) -> tuple[xr.DataArray, np.ndarray, list[str]]:
    """Each coded cell's predictive probability P(y_c = 1 | parameters), its episode's factor
    integrated out (not conditioned on the episode's other cells): (chain, draw, cell), with the
    observed 0/1 outcomes and the cell names ``episode:response``."""
    ds = idata[group].to_dataset()
    eta = T.eta_episodes(ds, ont, episodes, hyper, _as_of(idata, as_of))
    loading = ds[LOADING].values
    nodes, logw = T.episode_nodes(n_nodes)
    w = np.exp(logw)
    chain = chain_index(ont)
    ep, resp, mask, y, names = observed_cells(ont, episodes.outcomes)
    out = np.zeros(eta.shape[:2] + (len(y),))
    for e in np.unique(ep):
        sel = np.flatnonzero(ep == e)
        lp = T.cell_logp_given_factor(eta[:, :, e, :], loading, nodes, resp[sel], mask[sel], chain)
        out[:, :, sel] = np.einsum("cdqn,q->cdn", np.exp(lp), w)
    da = xr.DataArray(out, dims=("chain", "draw", "cell"), coords=_coords(ds) | {"cell": names}, name="cell_p")
    return da, y, names
