"""What moved, without an order: Shapley values of the new entries by importance weights.

Between the previous report's state and the current inputs, n changes happened (evidence entries
added, claims changed). For every subset S of them the posterior mean v(S) of each response is
estimated from ONE set of stored draws (the previous state's posterior, or the cached posterior it
is itself a PSIS update of) reweighted by the log-likelihood of the changes in S and Pareto-smoothed
(Vehtari et al., "Pareto smoothed importance sampling", JMLR 2024; Bürkner, Gabry & Vehtari 2020
for PSIS updates of a posterior by new data). Each change's part is its Shapley value

    phi_j = sum_{S not containing j} |S|! (n - |S| - 1)! / n! * (v(S + j) - v(S))

its average contribution over all orders in which the changes could have been added: the parts sum
to v(all) - v(none) exactly and do not depend on any order. 2^n subsets cost one PSIS each (ms).
The Monte Carlo error of a part is the delta-method standard error of that linear combination of
self-normalised importance-sampling estimates, inflated by draws / bulk ESS of the stored draws.
When a subset's Pareto k exceeds 0.7 (or a change is not reweightable, such as a removed entry) the
caller falls back to the exact path: a refit per step (``attribution.refit``).
"""

from __future__ import annotations

import itertools
import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from forecast.inputs.config import paths
from forecast.inputs.data import Inputs
from forecast.model.fit import fit_config, posterior_family
from forecast.model.posterior_index import read
from forecast.model.predict import predict
from forecast.model.psis import K_MAX, psis_weights
from forecast.model.reweight import Change, LogRatios, NotReweightable, diff, state

log = logging.getLogger("forecast")
MAX_PLAYERS = 10  # 2^10 subsets: still well under a second


def shapley(values: dict[frozenset, np.ndarray], players: list[str]) -> dict[str, np.ndarray]:
    """Exact Shapley values of the game ``values`` (one array per subset of ``players``)."""
    n = len(players)
    out = {}
    for j in players:
        others = [p for p in players if p != j]
        tot = 0.0
        for s in range(n):
            c = math.factorial(s) * math.factorial(n - s - 1) / math.factorial(n)
            for sub in itertools.combinations(others, s):
                S = frozenset(sub)
                tot = tot + c * (values[S | {j}] - values[S])
        out[j] = tot
    return out


def psis_shapley(terms: LogRatios, base: list[Change], players: dict[str, list[Change]], p: np.ndarray,
                 ess_factor: float = 1.0) -> dict[str, Any] | None:
    """Shapley parts of the weighted means of ``p`` (chain, draw, ...) over the ``players``' changes.

    Returns ``{"v": {subset: means}, "parts": {player: parts}, "mcse": {player: se}, "max_k": k}``, or
    None when some subset's Pareto k exceeds 0.7 (the caller refits)."""
    names = list(players)
    shape = p.shape[:2]
    flat = p.reshape(shape[0] * shape[1], -1)
    values, resid, max_k = {}, {}, -np.inf
    for r in range(len(names) + 1):
        for sub in itertools.combinations(names, r):
            ch = base + [c for n in sub for c in players[n]]
            w, k, _ = psis_weights(terms.total(ch)) if ch else (np.full(shape, 1.0 / flat.shape[0]), -np.inf, 0)
            max_k = max(max_k, k)
            if k > K_MAX:
                log.info("Shapley subset %s: Pareto k %.2f > %.2f", sub, k, K_MAX)
                return {"max_k": k, "subset": list(sub)}
            wf = w.ravel()
            v = wf @ flat
            values[frozenset(sub)] = v
            resid[frozenset(sub)] = wf[:, None] * (flat - v)  # influence of each draw on v(S)
    parts = shapley(values, names)
    infl = shapley(resid, names)  # the same linear combination of the per-draw influences
    mcse = {j: np.sqrt(np.square(infl[j]).sum(axis=0) * ess_factor) for j in names}
    rest = p.shape[2:]
    return {"v": {k: v.reshape(rest) for k, v in values.items()}, "parts": {j: parts[j].reshape(rest) for j in names},
            "mcse": {j: mcse[j].reshape(rest) for j in names}, "max_k": max_k}


def base_of(fitted, start_inputs, family: dict[str, Any], cache_dir: Path) -> tuple[list[Change], list[str]]:
    """The changes from the stored draws of ``fitted`` to ``start_inputs`` (none when ``fitted`` is an
    exact fit of them), and the pollsters those draws know."""
    upd = fitted.update or {}
    if upd.get("method") != "psis":
        return [], sorted(map(str, fitted.idata["posterior"]["pollster"].values)) \
            if "pollster" in fitted.idata["posterior"].coords else []
    st = read(cache_dir, upd["base_hash"])
    return diff(st, start_inputs, family), st.get("pollsters", [])


def ess_factor(fitted) -> float:
    """draws / min bulk ESS of the stored response probabilities: the Monte Carlo error's inflation
    for autocorrelated MCMC draws (1 for independent draws)."""
    try:
        d = json.loads(fitted.idata.attrs["diagnostics_posterior"])
        return max(1.0, d["chains"] * d["draws"] / max(d["min_ess_bulk"], 1.0))
    except (KeyError, ValueError, TypeError):
        return 1.0


def shapley_parts(cfg, inputs: Inputs, seq: list, sc: dict, say=None) -> dict[str, Any] | None:
    """Shapley parts of every step of ``seq`` by PSIS weights of the start state's draws, or None
    (removed evidence, too many changes, a Pareto k > 0.7, update=refit): then the refit path runs."""
    steps = seq[1:]
    if (str(cfg.get("update") or "auto") != "auto" or not steps or len(steps) > MAX_PLAYERS
            or any(kind == "evidence removed" for _, kind, _ in steps)):
        return None
    fam = posterior_family(cfg)
    start = seq[0][2]
    f0 = fit_config(cfg, start)
    if say:
        say(f"attribution: start state {'cache hit' if f0.from_cache else 'fitted'} {f0.inputs_hash}; "
            f"Shapley values of {len(steps)} change(s) by PSIS weights")
    try:
        base, pollsters = base_of(f0, start, fam, paths(cfg)["cache"])
        players, before = {}, start
        for label, _, inp in steps:
            players[label] = diff(state(before, fam), inp, fam)
            before = inp
    except (NotReweightable, OSError, ValueError, KeyError) as e:
        log.info("Shapley attribution not available (%s): refitting each step", e)
        return None
    pred = predict(f0.idata, inputs.ontology, inputs.hyper, sc)["p"]
    try:
        res = psis_shapley(LogRatios(f0.idata, inputs, pollsters, cache=paths(cfg)["cache"]), base, players,
                           pred.values, ess_factor(f0))
    except NotReweightable as e:
        if say:
            say(f"attribution: {e}: refitting each step")
        return None
    if res is None or "parts" not in res:
        if say:
            say(f"attribution: Pareto k {res['max_k']:.2f} > {K_MAX} for {res['subset']}: refitting each step")
        return None
    res["coords"] = (list(pred["scenario"].values), list(pred["response"].values))
    # the start state's posterior and how it was obtained: the previous brief's part is named by it
    res["start"] = {"hash": f0.inputs_hash, "method": "PSIS update" if f0.weights is not None else "exact fit"}
    res["players"] = list(players)
    res["kinds"] = {label: kind for label, kind, _ in steps}
    return res
