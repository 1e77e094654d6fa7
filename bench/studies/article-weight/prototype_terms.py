"""The numpy copies of issue 24's changed model terms, for this study only (until they live in the model's
one module of terms on stored draws): each episode at the opinion of its time with the era opinion fixed at the
reference (``model.era_opinion``), the opinion moving only the actions it is about (``model.opinion_scope``),
and the article's claim terms tempered by the learned weight (``model.claim_weight``).

``patch()`` puts them in place of ``forecast.model.likelihood.episode_eta``, ``forecast.model.predict._eta`` and
``forecast.analysis.checks.sensitivity.claim_terms``; ``pin(inputs)`` checks each against PyMC's own log density
of the model ``build_model(inputs)`` builds, at a random parameter point (it raises when one differs by more than
1e-6), so the study's LOO, predictions and power-scaling are the model's own.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from forecast.inputs.schema import switch
from forecast.model.build import ALPHA, BETA, CLAIM_WEIGHT, DELTA, KAPPA, THETA, THETA_PAST


def _logit(x):
    return np.log(x / (1 - x))


def episode_eta(ds: xr.Dataset, ont, episodes, hyper: dict | None = None, as_of=None,
                recent: np.ndarray | None = None) -> np.ndarray:
    """(chain, draw, E, R): as forecast.model.likelihood.episode_eta, with the era opinion and the scope."""
    X = ont.covariates(episodes.table) if len(episodes.table) else np.zeros((0, len(ont.covariate_names)))
    acts = [ont.action_ids.index(a) for a in episodes.table["action_type"]]
    eta = (ds[ALPHA].values[:, :, None, :] + np.einsum("ek,cdkr->cder", X, ds[BETA].values)
           + ds[DELTA].values[:, :, acts, :])
    if hyper is None or as_of is None or THETA not in ds or KAPPA not in ds or not len(acts):
        return eta
    if switch(hyper, "episode_opinion") == "reference":
        return eta
    ref = float(hyper["opinion_reference"])
    window = int(hyper.get("poll_window_days", 730))
    if recent is None:
        recent = np.array([(as_of - d).days <= window for d in episodes.table["date"]])
    lt = _logit(ds[THETA].values)[..., None]
    if switch(hyper, "era_opinion") == "free" and THETA_PAST in ds:
        lpast = _logit(ds[THETA_PAST].values)[..., None]
    else:
        lpast = np.full_like(lt, _logit(ref))
    logit_ep = np.where(recent, lt, lpast)
    scope = (ont.opinion_scope(episodes.table) if switch(hyper, "opinion_scope") == "scoped"
             else np.ones(len(acts)))
    sign = ont.responses["opinion_sign"].to_numpy(dtype=float)
    return eta + sign * ds[KAPPA].values[..., None, None] * ((logit_ep - _logit(ref)) * scope)[..., None]


def profile_eta(group: xr.Dataset, ont, hyper: dict, profiles: list[dict], actions: list[str],
                current_opinion: bool) -> np.ndarray:
    """(chain, draw, n, R): as forecast.model.predict._eta, the opinion scoped by each profile's attributes."""
    table = pd.DataFrame.from_records(profiles, columns=list(ont.attributes))
    X = ont.covariates(table)
    idx = [ont.action_ids.index(a) for a in actions]
    eta = (group[ALPHA].values[:, :, None, :] + np.einsum("nk,cdkr->cdnr", X, group[BETA].values)
           + group[DELTA].values[:, :, idx, :])
    if current_opinion:
        ref = hyper["opinion_reference"]
        scope = ont.opinion_scope(table) if switch(hyper, "opinion_scope") == "scoped" else np.ones(len(idx))
        sign = ont.responses["opinion_sign"].to_numpy(dtype=float)
        shift = group[KAPPA].values[:, :, None, None] * (_logit(group[THETA].values) - _logit(ref))[:, :, None, None]
        eta = eta + sign * shift * scope[:, None]
    return eta


def claim_terms(ds: xr.Dataset, ont, hyper, claims: list) -> dict[str, np.ndarray]:
    """Each article claim's log-density term per draw, tempered by the learned weight a when the draws have it
    (normalised power: Normal sd / sqrt(a), HalfNormal scale / sqrt(a), Beta a(p - 1) + 1, ordering a k)."""
    from scipy.stats import beta as beta_dist
    from scipy.stats import halfnorm
    from scipy.stats import norm as norm_dist

    from forecast.analysis.checks.prior_check import reference_parts

    p = reference_parts(ds, ont, hyper)["p"]
    lp = np.log(np.clip(p, 1e-9, 1 - 1e-9)) - np.log1p(-np.clip(p, 1e-9, 1 - 1e-9))
    a = ds[CLAIM_WEIGHT].values.astype(float) if CLAIM_WEIGHT in ds else 1.0
    ra = np.sqrt(a)
    acts, resps = ont.action_ids, ont.response_ids
    out = {}
    each = switch(hyper, "claims_per_action") == "each"
    for c in claims:
        if getattr(c, "unused", None):
            continue
        if c.kind == "cell":
            mu, sd = c.logit_normal()
            lps = [lp[:, :, acts.index(x), resps.index(c.response)] for x in c.actions]
            out[c.name] = (sum(norm_dist.logpdf(mu, x, sd / ra) for x in lps) if each
                           else norm_dist.logpdf(mu, np.mean(lps, axis=0), sd / ra))
        elif c.kind == "ordering":
            k = c.scaled()["sharpness"]
            t = 0.0
            for (a1, r1), (a2, r2) in zip(c.cells[:-1], c.cells[1:], strict=True):
                diff = lp[:, :, acts.index(a2), resps.index(r2)] - lp[:, :, acts.index(a1), resps.index(r1)]
                t = t - np.logaddexp(0.0, -a * k * diff)
            out[c.name] = t
        elif c.kind == "effect" and "g" in ds:
            s = c.scaled()
            g = ds["g"].values[..., ont.covariate_names.index(c.covariate)]
            out[c.name] = norm_dist.logpdf(g, s["mu"], s["sigma"] / ra)
        elif c.kind == "latent" and c.target == THETA and THETA in ds:
            s = c.scaled()
            out[c.name] = beta_dist.logpdf(ds[THETA].values, a * (s["alpha"] - 1) + 1, a * (s["beta"] - 1) + 1)
        elif c.kind == "latent" and c.target == KAPPA and KAPPA in ds:
            out[c.name] = halfnorm.logpdf(ds[KAPPA].values, scale=c.scaled()["sigma"] / ra)
    return out


def patch() -> None:
    import forecast.analysis.checks.sensitivity as S
    import forecast.model.likelihood as L
    import forecast.model.predict as P

    L.episode_eta = episode_eta
    P._eta = profile_eta
    S.claim_terms = claim_terms


# ---------------------------------------------------------------------- pins against PyMC
def pin(inputs, seed: int = 3, tol: float = 1e-6) -> dict[str, float]:
    """Max abs difference of each numpy term from PyMC's log density at a random point (raises above ``tol``):
    every history cell at the point's episode factors, every cell claim, the tempered priors of the effect and
    opinion-effect claims, and P(r | a) of every ontology action at the current opinion."""
    from forecast.model.build import (
        CLAIM_WEIGHT as A,
    )
    from forecast.model.build import (
        build_model,
        chain_index,
        design,
        marginal_p,
        observed_cells,
        quadrature,
    )
    from forecast.model.likelihood import cell_logp_given_factor

    model = build_model(inputs)
    d = design(inputs)
    rng = np.random.default_rng(seed)
    ip = model.initial_point()
    point = {k: rng.normal(0, 0.5, size=np.shape(v)) for k, v in ip.items()}
    names = [n for n in (ALPHA, BETA, DELTA, "loading", THETA, KAPPA, THETA_PAST, A, "g", "p") if n in model.named_vars]
    outs = model.replace_rvs_by_values([model[n] for n in names])
    vals = dict(zip(names, model.compile_fn(outs, inputs=model.value_vars, on_unused_input="ignore")(point),
                    strict=True))
    ds = xr.Dataset({k: (("chain", "draw", *[f"{k}_{i}" for i in range(np.ndim(v))]), np.asarray(v)[None, None])
                     for k, v in vals.items()})
    ont = inputs.ontology
    out = {}
    # the history at the point's episode factors
    if "y_history" in model.named_vars:
        logp = model.compile_logp(vars=[model["y_history"]], sum=False, jacobian=False)
        ref = np.asarray(logp(point)[0])
        ep, resp, mask, y, _ = observed_cells(ont, inputs.episodes.outcomes)
        eta_all = episode_eta(ds, ont, inputs.episodes, inputs.hyper, inputs.as_of)[0, 0]
        f = point["episode_factor"]
        ours = np.empty(len(y))
        for e in np.unique(ep):
            sel = ep == e
            lp = cell_logp_given_factor(eta_all[e], vals["loading"], np.array([f[e]]), resp[sel], mask[sel],
                                        chain_index(ont))[0]
            ours[sel] = np.where(y[sel] == 1, lp, np.log1p(-np.exp(lp)))
        out["history"] = float(np.max(np.abs(ours - ref)))
    # the claims (cells) and the tempered priors of effect and latent claims
    terms = claim_terms(ds, ont, inputs.hyper, inputs.claims)
    used = [c for c in inputs.claims if not c.unused]
    cells = [c for c in used if c.kind == "cell"]
    if cells:
        ref = np.asarray(model.compile_logp(vars=[model["claim_obs"]], sum=False, jacobian=False)(point)[0])
        ours = np.array([float(terms[c.name][0, 0]) for c in cells])
        out["claims"] = float(np.max(np.abs(ours - ref)))
    for c in used:
        if c.kind == "effect":
            k = ont.covariate_names.index(c.covariate)
            ref = np.asarray(model.compile_logp(vars=[model["g"]], sum=False, jacobian=False)(point)[0])[k]
            out[f"effect {c.id}"] = abs(float(terms[c.name][0, 0]) - float(ref))
        if c.kind == "latent" and c.target == KAPPA:
            ref = float(model.compile_logp(vars=[model[KAPPA]], sum=True, jacobian=False)(point))
            out[f"latent {c.id}"] = abs(float(terms[c.name][0, 0]) - ref)
    # P(r | a) at the current opinion, each ontology action with its own attributes
    acts = ont.action_ids
    profiles = [{k: ont.actions.at[a, k] for k in ont.attributes} for a in acts]
    eta = profile_eta(ds, ont, inputs.hyper, profiles, acts, current_opinion=True)
    nodes, w = quadrature(int(inputs.hyper["quadrature_nodes"]))
    p = marginal_p(eta, vals["loading"][None, None, None, :], chain_index(ont), nodes, w, np)[0, 0]
    out["p"] = float(np.max(np.abs(p - vals["p"])))
    del d
    bad = {k: v for k, v in out.items() if not v <= tol}
    if bad:
        raise AssertionError(f"prototype terms differ from PyMC's: {bad}")
    return out
