"""Updates of a cached posterior by Pareto-smoothed importance sampling (PSIS), refits only when needed.

When the inputs differ from a cached posterior's inputs only by *added* terms (a new episode, a new
poll, a new signal: likelihood terms), by *added, changed or removed* article claims (pseudo-
observations and prior terms; a removed effect or latent claim hands its parameter back to the
default prior of conf/model), or by episodes that a later ``as_of`` moves out of the poll window (the
same episodes at the era opinion instead of the polled one), the target posterior is the cached one
times the ratio of the two models' densities::

    p_new(params | data) ∝ p_old(params | data) * r(params),   log r = sum of the new terms - the old ones

so each stored draw is reweighted by ``r`` and the weights are Pareto-smoothed (Vehtari, Simpson,
Gelman, Yao & Gabry, "Pareto smoothed importance sampling", JMLR 25(72), 2024; the same use of PSIS
to update a posterior by new data instead of refitting as in Bürkner, Gabry & Vehtari, "Approximate
leave-future-out cross-validation for Bayesian time series models", J. Stat. Comput. Simul. 90(14),
2020). The estimated Pareto shape k says whether the weighted draws can be trusted: k <= 0.7 they
can (with the effective sample size of the weights as the price), k > 0.7 the update refits.

Each term is computed in numpy from the stored draws, by the same functions the model uses:

- an episode: ``forecast.model.likelihood.episode_loglik`` (its factor integrated out); an episode
  that left the poll window: the same at its new opinion minus at its old one;
- a poll: ``poll_loglik`` (the model's poll term; the one place to align with a change of the poll model);
- a cell claim or signal: ``cell_claim_loglik`` through ``Claim.logit_normal()``;
- an ordering claim, a global-slope (effect) claim, a latent-driver claim: their model terms.

Anything else (an episode or poll removed or changed, a changed ontology or hyperparameter, another
sampler, seed or code version) is not an importance-sampling update: ``diff`` says why and the
caller refits.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import betaln, gammaln, logit, logsumexp

from forecast.inputs.data import Episodes, Inputs
from forecast.inputs.priors import Claim
from forecast.inputs.schema import ABLATION_SWITCHES
from forecast.model.build import (
    ALPHA,
    BETA,
    DELTA,
    KAPPA,
    LOADING,
    THETA,
    THETA_PAST,
    chain_index,
    marginal_p,
    quadrature,
)
from forecast.model.likelihood import episode_loglik

log = logging.getLogger("forecast")

K_MAX = 0.7  # Vehtari et al. (2024): above 0.7 the importance-sampling estimate is unreliable
CLAIM_EPS = 1e-9  # the model's clip of cell probabilities before the logit


_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)


# log densities in numpy (scipy.stats costs seconds to import on the cached path)
def _norm_logpdf(x, mu, sd):
    return -0.5 * np.square((np.asarray(x) - mu) / sd) - np.log(sd) - _LOG_SQRT_2PI


def _beta_logpdf(x, a, b):
    return (a - 1) * np.log(x) + (b - 1) * np.log1p(-x) - betaln(a, b)


def _halfnorm_logpdf(x, sd):
    return np.log(2.0) + _norm_logpdf(x, 0.0, sd)


def _binom_logpmf_logit(y, n, eta):
    """log Binomial(y | n, sigmoid(eta)), stable for any eta."""
    return (gammaln(n + 1) - gammaln(y + 1) - gammaln(n - y + 1)
            - y * np.logaddexp(0.0, -eta) - (n - y) * np.logaddexp(0.0, eta))


class NotReweightable(Exception):
    """The target inputs are not the cached ones plus reweightable terms (the message says why)."""


# ---------------------------------------------------------------------- what differs
@dataclass(frozen=True)
class Change:
    """One reweightable difference: an added episode, poll or signal, or a claim added/changed/removed."""

    label: str  # the evidence id, or "prior <name>"
    kind: str  # episode | episode_opinion | poll | signal | claim
    new: Any = None  # episode(_opinion): (table rows, outcomes rows); poll: row (Series); signal/claim: Claim
    old: Any = None  # claim: the previous Claim (None when added); episode_opinion: (E,) bool, in the window before


def _canon(v: Any) -> Any:
    """One spelling per value, whatever dtype a concatenation gave its column (1, 1.0, True -> 1.0)."""
    if v is None or (isinstance(v, float | np.floating) and np.isnan(v)):
        return None
    if isinstance(v, bool | np.bool_ | int | np.integer | float | np.floating):
        return float(v)
    return v.isoformat() if hasattr(v, "isoformat") else str(v)


def _row_hash(row: Any) -> str:
    vals = [_canon(v) for v in (row.tolist() if hasattr(row, "tolist") else list(row))]
    return hashlib.sha256(json.dumps(vals).encode()).hexdigest()[:12]


def _claim_fp(c: Claim) -> dict[str, Any]:
    return json.loads(json.dumps(c.fingerprint(), default=list))


def _claim_from_fp(fp: dict[str, Any]) -> Claim:
    d = dict(fp)
    for k in ("actions",):
        d[k] = tuple(d.get(k) or ())
    d["cells"] = tuple(tuple(c) for c in (d.get("cells") or ()))
    return Claim(quote="", location="", source="", note="", **d)


def state(inputs: Inputs, family: dict[str, Any]) -> dict[str, Any]:
    """What a cached posterior's inputs were, enough to tell what a later state adds to them.

    ``family`` is what must be equal for any update (sampler, seed, code and package versions)."""
    fp = inputs.fingerprint()
    ont_hyper = {k: fp[k] for k in ("attributes", "actions", "responses", "hyper")}
    ep = inputs.episodes
    cols = ["date", "action_type", *inputs.ontology.attributes]
    window = int(inputs.hyper.get("poll_window_days", 730))
    recent = {i: (inputs.as_of - d).days <= window for i, d in zip(ep.table.index, ep.table["date"], strict=True)}
    return {
        "family": hashlib.sha256(json.dumps({"f": family, "o": ont_hyper}, sort_keys=True,
                                            default=str).encode()).hexdigest()[:20],
        "episodes": {str(i): _row_hash(pd.concat([ep.table.loc[i, cols], ep.outcomes.loc[i]]).tolist())
                     for i in ep.table.index},
        # an episode's opinion depends on whether it lies in the poll window of as_of: a later as_of
        # moves old episodes from the polled opinion to the era opinion (a reweighting, ``episode_opinion``)
        "recent": {str(i): bool(recent[i]) for i in ep.table.index},
        "polls": {str(i): _row_hash(r) for i, r in
                  inputs.polls[["date", "n", "share_opposed", "use", "pollster"]].iterrows()},
        "pollsters": sorted(set(inputs.polls.loc[inputs.polls["use"] == "likelihood", "pollster"])),
        "signals": {c.name: _claim_fp(c) for c in inputs.signals},
        # an unused claim (dated after as_of, or restating a kept source) is no term of the model
        "claims": {c.name: _claim_fp(c) for c in inputs.claims if not getattr(c, "unused", None)},
        "evidence_ids": list(inputs.evidence_ids),
    }


def diff(base: dict[str, Any], target: Inputs, family: dict[str, Any],
         tgt: dict[str, Any] | None = None) -> list[Change]:
    """The changes that turn the ``base`` state's posterior into ``target``'s; raises NotReweightable."""
    tgt = tgt or state(target, family)
    if tgt["family"] != base["family"]:
        raise NotReweightable("the ontology, hyperparameters, sampler, seed or code differ")
    off = sorted(k for k in ABLATION_SWITCHES if k in target.hyper)
    if off:  # the terms below are the shipped model's
        raise NotReweightable(f"ablation switch model.{off[0]}={target.hyper[off[0]]}: the PSIS terms are the "
                              "shipped model's")
    out: list[Change] = []
    for kind in ("episodes", "polls"):
        gone = [i for i, h in base[kind].items() if tgt[kind].get(i) != h]
        if gone:
            raise NotReweightable(f"{kind[:-1]} {gone[0]} was removed or changed")
    ep = target.episodes
    for i in tgt["episodes"]:
        if i not in base["episodes"]:
            out.append(Change(i, "episode", (ep.table.loc[[i]], ep.outcomes.loc[[i]])))
    base_recent = base.get("recent")
    if base_recent is None:  # an index entry written before the window was kept apart
        raise NotReweightable("the cached posterior does not record its episodes' opinions")
    moved = [i for i in base["episodes"] if base_recent.get(i) != tgt["recent"][i]]
    if moved:  # the same episodes, some now on the other side of the poll window
        old = np.array([bool(base_recent[i]) for i in moved])
        out.append(Change(f"poll window ({len(moved)} episode(s) moved)", "episode_opinion",
                          (ep.table.loc[moved], ep.outcomes.loc[moved]), old))
    for i in tgt["polls"]:
        if i not in base["polls"]:
            row = target.polls.loc[i]
            if row["use"] == "likelihood":
                out.append(Change(i, "poll", row))
    sig = {c.name: c for c in target.signals}
    for name, fp in base["signals"].items():
        if tgt["signals"].get(name) != fp:
            raise NotReweightable(f"signal {name} was removed or changed")
    out += [Change(c.id, "signal", c) for n, c in sig.items() if n not in base["signals"]]
    claims = {c.name: c for c in target.claims if not getattr(c, "unused", None)}
    for name in sorted(set(base["claims"]) | set(claims)):
        old = base["claims"].get(name)
        new = claims.get(name)
        if new is not None and old == tgt["claims"][name]:
            continue
        oldc = _claim_from_fp(old) if old else None
        out.append(Change(f"prior {name}", "claim", new, oldc))
    return out


# ---------------------------------------------------------------------- the terms
def _ds(idata: xr.DataTree, group: str) -> xr.Dataset:
    return idata[group].to_dataset()


def eta_actions(ds: xr.Dataset, inputs: Inputs, current_opinion: bool) -> np.ndarray:
    """The linear predictor of every ontology action (its own attributes) and response at f = 0, at the
    current opinion or at the reference one: (c, d, A, R)."""
    ont, h = inputs.ontology, inputs.hyper
    X = ont.covariates(ont.actions)
    eta = ds[ALPHA].values[:, :, None, :] + np.einsum("ak,cdkr->cdar", X, ds[BETA].values) + ds[DELTA].values
    if current_opinion:
        ref = h["opinion_reference"]
        th = ds[THETA].values[:, :, None, None]
        sign = ont.responses["opinion_sign"].to_numpy(dtype=float)
        eta = eta + sign * ds[KAPPA].values[:, :, None, None] * (logit(th) - np.log(ref / (1 - ref)))
    return eta


def logit_p_from_eta(eta: np.ndarray, loading: np.ndarray, inputs: Inputs) -> np.ndarray:
    """logit P(r | a), the episode factor integrated out and clipped as the model clips, from the linear
    predictor ``eta`` (..., A, R) and the signed loadings (..., R): (..., A, R)."""
    nodes, w = quadrature(int(inputs.hyper["quadrature_nodes"]))
    p = marginal_p(eta, loading[..., None, None, :], chain_index(inputs.ontology), nodes, w, np)
    return logit(np.clip(p, CLAIM_EPS, 1 - CLAIM_EPS))


def _logit_p_actions(ds: xr.Dataset, inputs: Inputs, current_opinion: bool) -> np.ndarray:
    """logit P(r | a) for every ontology action and response, clipped as the model clips: (c, d, A, R)."""
    return logit_p_from_eta(eta_actions(ds, inputs, current_opinion), ds[LOADING].values, inputs)


def cell_claim_loglik(lp: np.ndarray, inputs: Inputs, claim: Claim) -> np.ndarray:
    """A cell claim's (or signal's) pseudo-observations, one per action, from ``Claim.logit_normal()``:
    sum_a log Normal(mu_c | logit P(r_c | a), sd_c), as ``build_model``'s claim_obs / signal_obs.
    ``lp`` is ``_logit_p_actions`` at the reference opinion (claims) or the current one (signals)."""
    mu, sd = claim.logit_normal()
    acts = [inputs.ontology.action_ids.index(a) for a in claim.actions]
    r = inputs.ontology.response_ids.index(claim.response)
    # one pseudo-observation of the mean logit over the actions it names (issue #16: counted once)
    return _norm_logpdf(mu, lp[:, :, acts, r].mean(axis=-1), sd)


def _claim_term(ds: xr.Dataset, lp_ref: np.ndarray, inputs: Inputs, c: Claim) -> np.ndarray:
    """The model's term for one article claim, per draw (the parts that depend on parameters)."""
    enc = c.scaled()
    if c.kind == "cell":
        return cell_claim_loglik(lp_ref, inputs, c)
    if c.kind == "ordering":
        ids_a, ids_r = inputs.ontology.action_ids, inputs.ontology.response_ids
        out = 0.0
        for (a1, r1), (a2, r2) in zip(c.cells[:-1], c.cells[1:], strict=True):
            d = lp_ref[:, :, ids_a.index(a2), ids_r.index(r2)] - lp_ref[:, :, ids_a.index(a1), ids_r.index(r1)]
            out = out - np.logaddexp(0.0, -enc["sharpness"] * d)
        return np.asarray(out)
    if c.kind == "effect":
        k = inputs.ontology.covariate_names.index(c.covariate)
        return _norm_logpdf(ds["g"].values[:, :, k], enc["mu"], enc["sigma"])
    if c.target == THETA:
        return _beta_logpdf(ds[THETA].values.astype(float), enc["alpha"], enc["beta"])
    return _halfnorm_logpdf(ds[KAPPA].values, enc["sigma"])


def _default_term(ds: xr.Dataset, inputs: Inputs, c: Claim) -> np.ndarray:
    """The default prior a claim replaces (``build_model``'s fallbacks, from conf/model): an effect claim
    the Normal(0, slope_sd) of its covariate's global slope; a latent claim on the opinion its
    Beta(theta_prior_alpha, theta_prior_beta), on the opinion effect its HalfNormal(kappa_prior_sigma)."""
    h = inputs.hyper
    if c.kind == "effect":
        k = inputs.ontology.covariate_names.index(c.covariate)
        return _norm_logpdf(ds["g"].values[:, :, k], 0.0, float(h["slope_sd"]))
    if c.target == THETA:
        return _beta_logpdf(ds[THETA].values.astype(float), float(h.get("theta_prior_alpha", 2.0)),
                            float(h.get("theta_prior_beta", 2.0)))
    return _halfnorm_logpdf(ds[KAPPA].values, float(h.get("kappa_prior_sigma", 1.0)))


# ======================================================================= POLL TERM (align with the poll model)
# today's build_model: house = pm.ZeroSumNormal("house", sigma_house, dims="pollster"). Under the
# zero-sum constraint a new pollster changes every other house effect's distribution (the stored draws
# sum to zero over the old pollsters; the new model's do not), so that case is not a reweighting and
# refits, unless it is the first and only pollster (its house effect is then exactly 0). With
# independent house effects (issue #16's poll model) set this to False: a new pollster's house effect
# is then integrated out exactly.
HOUSE_ZERO_SUM = False  # issue #16: a free wording effect per pollster, Normal(0, sigma_house)
POLL_GRID, POLL_GRID_SDS = 2401, 6.0  # a new pollster's effect: grid points over +-6 prior sds (see below)


def poll_loglik(ds: xr.Dataset, inputs: Inputs, polls: pd.DataFrame, known_pollsters: list[str],
                n_nodes: int = 32) -> np.ndarray:
    """The model's poll term for new polls, per draw: y ~ Binomial(n, sigmoid(logit theta + house[pollster])).

    A poll by a pollster the cached posterior already has uses that pollster's stored house draws. A
    new pollster's house effect is not in the draws: with zero-sum house effects (``HOUSE_ZERO_SUM``)
    it is 0 when it is the only pollster, and any other new pollster raises NotReweightable (refit);
    with independent house effects it is integrated out under its prior Normal(0, sigma_house) by
    Gauss-Hermite quadrature, jointly over that pollster's new polls. THIS is the one function to
    align with a change of ``build_model``'s poll term.
    """
    new = sorted(set(polls["pollster"]) - set(known_pollsters))
    if HOUSE_ZERO_SUM and new and (known_pollsters or len(new) > 1):
        raise NotReweightable(f"new pollster {new[0]!r}: the zero-sum house effects of the others change")
    theta = ds[THETA].values.astype(float)
    lt = logit(theta)
    out = np.zeros(theta.shape)
    sigma = float(inputs.hyper["sigma_house"])
    for pollster, grp in polls.groupby("pollster", sort=True):
        n = grp["n"].to_numpy(dtype=float)
        y = np.round(n * grp["share_opposed"].to_numpy(dtype=float))
        if pollster in known_pollsters and "house" in ds:
            h = ds["house"].sel(pollster=pollster).values
            eta = lt[..., None] + h[..., None]
            out = out + _binom_logpmf_logit(y, n, eta).sum(axis=-1)
        elif HOUSE_ZERO_SUM:  # the only pollster: its zero-sum house effect is 0
            out = out + _binom_logpmf_logit(y, n, lt[..., None]).sum(axis=-1)
        else:
            # the polls pin the effect to a few hundredths of a logit, far narrower than its prior: a
            # Gauss-Hermite rule on the prior's scale steps over that peak (32 nodes missed it by 2 nats in
            # tests/test_update_terms.py), so the integral is a dense grid sum over +-6 prior sds
            grid = np.linspace(-POLL_GRID_SDS * sigma, POLL_GRID_SDS * sigma, POLL_GRID)
            log_prior = -0.5 * (grid / sigma) ** 2 - np.log(sigma * np.sqrt(2 * np.pi)) + np.log(grid[1] - grid[0])
            ll = np.zeros(lt.shape + grid.shape)
            for yi, ni in zip(y, n, strict=True):
                ll = ll + _binom_logpmf_logit(yi, ni, lt[..., None] + grid)
            out = out + logsumexp(ll + log_prior, axis=-1)
    return out
# ======================================================================= end of the poll term


class Terms:
    """Per-draw log ratios of each change on one stored group, memoised (Shapley sums many subsets)."""

    def __init__(self, idata: xr.DataTree, inputs: Inputs, known_pollsters: list[str], group: str = "posterior"):
        self.idata, self.inputs, self.group = idata, inputs, group
        self.ds = _ds(idata, group)
        self.known = list(known_pollsters)
        self._lp: dict[bool, np.ndarray] = {}
        self._memo: dict[Any, np.ndarray] = {}
        self.shape = self.ds[THETA].shape

    def lp(self, current: bool) -> np.ndarray:
        if current not in self._lp:
            self._lp[current] = _logit_p_actions(self.ds, self.inputs, current)
        return self._lp[current]

    def one(self, c: Change) -> np.ndarray:
        key = (c.kind, c.label)
        if key in self._memo:
            return self._memo[key]
        if c.kind == "episode":
            table, outcomes = c.new
            v = episode_loglik(self.idata, self.inputs.ontology, Episodes(table, outcomes), self.group,
                               hyper=self.inputs.hyper, as_of=self.inputs.as_of)
            v = v.values.sum(axis=-1)
        elif c.kind == "episode_opinion":
            # the same episodes, each at the opinion of its side of the poll window now minus before
            table, outcomes = c.new
            new_recent = np.array([(self.inputs.as_of - d).days <= int(self.inputs.hyper.get("poll_window_days", 730))
                                   for d in table["date"]])
            if THETA_PAST not in self.ds and not new_recent.all():
                raise NotReweightable("an episode left the poll window but the cached draws have no era opinion")
            kw = dict(group=self.group, hyper=self.inputs.hyper, as_of=self.inputs.as_of)
            eps = Episodes(table, outcomes)
            v = (episode_loglik(self.idata, self.inputs.ontology, eps, recent=new_recent, **kw).values.sum(axis=-1)
                 - episode_loglik(self.idata, self.inputs.ontology, eps, recent=c.old, **kw).values.sum(axis=-1))
        elif c.kind == "signal":
            v = cell_claim_loglik(self.lp(True), self.inputs, c.new)
        elif c.kind == "claim":
            v = np.zeros(self.shape)
            if c.new is not None:
                v = v + _claim_term(self.ds, self.lp(False), self.inputs, c.new)
            elif c.old.kind in ("effect", "latent"):  # removed: its parameter falls back to the default prior
                v = v + _default_term(self.ds, self.inputs, c.old)
            if c.old is not None:
                v = v - _claim_term(self.ds, self.lp(False), self.inputs, c.old)
            elif c.new.kind in ("effect", "latent"):  # added: it replaces the default prior
                v = v - _default_term(self.ds, self.inputs, c.new)
        else:
            raise ValueError(c.kind)
        self._memo[key] = np.asarray(v, dtype=float)
        return self._memo[key]

    def total(self, changes: list[Change], claims_only: bool = False) -> np.ndarray:
        """The log ratio of all ``changes`` together (polls of a new pollster share its house effect)."""
        out = np.zeros(self.shape)
        polls = [c.new for c in changes if c.kind == "poll"]
        for c in changes:
            if c.kind == "poll" or (claims_only and c.kind != "claim"):
                continue
            out = out + self.one(c)
        if polls and not claims_only:
            key = ("polls", tuple(sorted(str(p.name) for p in polls)))
            if key not in self._memo:
                self._memo[key] = poll_loglik(self.ds, self.inputs, pd.DataFrame(polls), self.known)
            out = out + self._memo[key]
        return out


# ---------------------------------------------------------------------- PSIS
def psis_weights(log_ratio: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Pareto-smoothed normalised weights (same shape), the Pareto k and the weights' effective
    sample size 1 / sum w^2 (Vehtari et al. 2024, eq. for the PSIS ESS; r_eff = 1)."""
    from arviz_stats.base import array_stats

    lr = np.asarray(log_ratio, dtype=float)
    if not np.any(lr != lr.flat[0]):  # a constant ratio: the weights are uniform
        w = np.full(lr.shape, 1.0 / lr.size)
        return w, -np.inf, float(lr.size)
    # arviz-stats' psislw takes a log-likelihood and weights by its negative (leave-one-out)
    try:
        lw, k = array_stats.psislw(-lr, r_eff=1.0, axis=tuple(range(-lr.ndim, 0)))
    except ValueError:  # fewer than 25 draws, or a tail of equal ratios: no Pareto fit, no smoothing
        lw, k = lr - lr.max(), np.inf
    if not np.isfinite(k) or not np.all(np.isfinite(lw)):  # a degenerate tail fit: unreliable
        k = np.inf
        lw = np.where(np.isfinite(lw), lw, -np.inf) if np.any(np.isfinite(lw)) else lr - lr.max()
    w = np.exp(lw - lw.max())
    w = w / w.sum()
    return w, float(k), float(1.0 / np.square(w).sum())


# ---------------------------------------------------------------------- weighted summaries
def weighted_mean(da: xr.DataArray, w: np.ndarray | None) -> xr.DataArray:
    if w is None:
        return da.mean(("chain", "draw"))
    return (da * xr.DataArray(w, dims=("chain", "draw"))).sum(("chain", "draw"))


def weighted_hdi(x: np.ndarray, w: np.ndarray, prob: float) -> tuple[float, float]:
    """The narrowest interval holding ``prob`` of the weighted draws."""
    x = np.asarray(x, dtype=float).ravel()
    w = np.asarray(w, dtype=float).ravel()
    o = np.argsort(x, kind="stable")  # ties in draw order: the report's page (whatif.js) sorts the same way
    x, c = x[o], np.cumsum(w[o])
    c = c / c[-1]
    lo_c = np.concatenate([[0.0], c[:-1]])  # mass strictly below each draw
    j = np.searchsorted(c, lo_c + prob - 1e-12, side="left")
    ok = j < len(x)
    i = np.flatnonzero(ok)
    widths = x[j[ok]] - x[i]
    b = int(np.argmin(widths))
    return float(x[i[b]]), float(x[j[ok][b]])


def resample(ds: xr.Dataset, w: np.ndarray, seed: int = 0) -> xr.Dataset:
    """Equally weighted draws by systematic resampling of the weighted ones (for figures only)."""
    c, d = w.shape
    n = c * d
    u = (np.random.default_rng(seed).random() + np.arange(n)) / n
    idx = np.minimum(np.searchsorted(np.cumsum(w.ravel()), u), n - 1)
    flat = ds.stack(sample=("chain", "draw"))
    flat = flat.isel(sample=idx).drop_vars(["sample", "chain", "draw"])
    flat = flat.assign_coords(sample=np.arange(n))
    out = flat.assign_coords(chain=("sample", np.repeat(np.arange(c), d)),
                             draw=("sample", np.tile(np.arange(d), c)))
    return out.set_index(sample=("chain", "draw")).unstack("sample").transpose("chain", "draw", ...)


# ---------------------------------------------------------------------- the index of cached posteriors
def index_dir(cache_dir: Path) -> Path:
    return Path(cache_dir) / "posteriors" / "index"


def record(cache_dir: Path, h: str, st: dict[str, Any]) -> None:
    """Note a cached posterior's state (one small file per posterior: no shared file to race on)."""
    from forecast.files import atomic_write_file

    d = index_dir(cache_dir)
    d.mkdir(parents=True, exist_ok=True)
    atomic_write_file(d / f"{h}.json", json.dumps({"hash": h, **st}, default=str))


def ancestors(cache_dir: Path, target: Inputs, family: dict[str, Any]) -> list[tuple[int, str, list, dict]]:
    """Cached posteriors the target is reachable from by reweighting, nearest (fewest changes) first:
    (number of changes, hash, changes, the ancestor's state)."""
    d = index_dir(cache_dir)
    if not d.is_dir():
        return []
    tgt = state(target, family)
    out = []
    for p in d.glob("*.json"):
        try:
            st = json.loads(p.read_text())
        except (OSError, ValueError):
            continue
        if not (Path(cache_dir) / "posteriors" / f"{st.get('hash')}.nc").is_file():
            continue
        try:
            ch = diff(st, target, family, tgt)
        except (NotReweightable, KeyError, TypeError, ValueError):
            continue
        out.append((len(ch), p.stat().st_mtime, st["hash"], ch, st))
    out.sort(key=lambda t: (t[0], -t[1]))
    return [(n, h, ch, st) for n, _, h, ch, st in out]
