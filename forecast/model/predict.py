"""Predictions for any action profile from a fitted posterior, as labelled xarray.

Uses the model's own terms (``forecast.model.terms.eta_profiles``, ``model.build.node_logp``), with numpy,
on the stored posterior draws: a scenario is an action profile fed to the fitted model, never a refit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from forecast.errors import InputError
from forecast.inputs.data import Ontology
from forecast.model import terms as T
from forecast.model.build import LOADING, chain_index, node_logp, quadrature


def node_probabilities(idata: xr.DataTree, ont: Ontology, hyper: dict, profiles: list[dict[str, Any]],
                       actions: list[str], group: str = "posterior") -> tuple[np.ndarray, np.ndarray]:
    """P(r | profile, f = node) for each quadrature node: (chain, draw, n, Q, R), and the weights."""
    ds = idata[group].to_dataset()
    eta = T.eta_profiles(ds, ont, hyper, profiles, actions)
    loading = ds[LOADING].values[:, :, None, None, :]  # (c, d, 1, 1, R)
    nodes, weights = quadrature(int(hyper["quadrature_nodes"]))
    lp = node_logp(eta, loading, chain_index(ont), nodes, np)
    return np.exp(lp), weights


def predict(idata: xr.DataTree, ont: Ontology, hyper: dict, scenarios: dict[str, dict[str, Any]],
            group: str = "posterior", cache: Path | None = None) -> xr.Dataset:
    """Posterior of every response probability and composite for each scenario.

    ``scenarios`` maps a name to ``{"action": id, "profile": {attribute: value}}``. Returns a Dataset
    with ``p`` (chain, draw, scenario, response) and ``composite`` (chain, draw, scenario, composite).
    With ``cache`` (the project's cache folder) the result is kept under a key of the draws, the ontology, the
    settings, the profiles and the code that computes it (``forecast.memo``): a cached report predicts nothing.
    """
    if not scenarios:
        raise InputError("predict", "no scenarios given", "pass at least one scenario")
    if cache is None:
        return _predict(idata, ont, hyper, scenarios, group)
    from forecast import memo

    ds = idata[group].to_dataset()
    key = memo.digest("predict", *(memo.source(Path(__file__).with_name(m)) for m in KEY_SOURCES), group,
                      *_ontology_key(ont), hyper, {n: scenarios[n] for n in scenarios}, list(scenarios),
                      *[x for v in sorted(map(str, ds.variables)) for x in (v, list(ds[v].dims), ds[v].values)])
    hit = memo.get_arrays(cache, "predict", key)
    if hit is not None and set(hit) >= {"p"}:
        return _dataset(ds, ont, list(scenarios), hit["p"], hit.get("p_composite"), hit.get("composites"))
    out = _predict(idata, ont, hyper, scenarios, group)
    kept = {"p": out["p"].values}
    if "p_composite" in out:
        kept |= {"p_composite": out["p_composite"].values,
                 "composites": np.asarray(out["p_composite"]["composite"].values, dtype=str)}
    memo.put_arrays(cache, "predict", key, kept)
    return out


KEY_SOURCES = ("predict.py", "terms.py", "build.py")  # the code a prediction comes from


def _ontology_key(ont: Ontology) -> list[Any]:
    return [ont.attributes, ont.actions.to_csv(), ont.responses.to_csv(), ont.composites]


def _dataset(ds: xr.Dataset, ont: Ontology, names: list[str], p: np.ndarray, pc: np.ndarray | None,
             cnames: Any) -> xr.Dataset:
    coords = {"chain": ds["chain"].values, "draw": ds["draw"].values, "scenario": names, "response": ont.response_ids}
    out = xr.Dataset({"p": (("chain", "draw", "scenario", "response"), p)}, coords=coords)
    if pc is not None:
        out["p_composite"] = xr.DataArray(pc, dims=("chain", "draw", "scenario", "composite"),
                                        coords={k: v for k, v in coords.items() if k != "response"}
                                        | {"composite": [str(c) for c in cnames]})
    return out


def _predict(idata: xr.DataTree, ont: Ontology, hyper: dict, scenarios: dict[str, dict[str, Any]],
             group: str) -> xr.Dataset:
    names = list(scenarios)
    profiles = [scenarios[n]["profile"] for n in names]
    actions = [scenarios[n]["action"] for n in names]
    probs, w = node_probabilities(idata, ont, hyper, profiles, actions, group)
    p = (probs * w[:, None]).sum(axis=-2)  # (c, d, n, R)
    ids = ont.response_ids
    comps = {}
    for cname, spec in ont.composites.items():
        members = _reduce_members(ont, spec["kind"], spec["members"])
        cols = probs[..., [ids.index(m) for m in members]]  # (c, d, n, Q, m)
        if spec["kind"] == "any_of":
            per_node = 1.0 - np.prod(1.0 - cols, axis=-1)
        else:
            per_node = np.prod(cols, axis=-1)
        comps[cname] = (per_node * w).sum(axis=-1)
    cnames = list(comps)
    return _dataset(idata[group].to_dataset(), ont, names, p,
                    np.stack([comps[c] for c in cnames], axis=-1) if comps else None, cnames)


def _reduce_members(ont: Ontology, kind: str, members: list[str]) -> list[str]:
    """Remove members implied by others: in any_of a response that requires another member adds
    nothing; in all_of a member required by another is implied. Siblings (two members requiring a
    common response neither of them is) cannot be combined exactly and are refused."""
    anc = {m: set(ont.ancestors(m)) for m in members}
    if kind == "any_of":
        kept = [m for m in members if not (anc[m] & set(members))]
    else:
        kept = [m for m in members if not any(m in anc[o] for o in members if o != m)]
    for i, a in enumerate(kept):
        for b in kept[i + 1:]:
            if anc[a] & anc[b]:
                raise InputError("data/ontology/composites.yaml", f"{a!r} and {b!r} share a required response",
                                 "a composite cannot combine two responses that follow the same threat")
    return kept
