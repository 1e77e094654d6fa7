"""Reweighting a cached posterior to new inputs (a PSIS update) instead of refitting.

When the inputs differ from a cached posterior's inputs only by *added* terms (a new episode, a new
poll, a new signal: likelihood terms), by *added, changed or removed* article claims (pseudo-
observations and prior terms; a removed effect or latent claim hands its parameter back to the
default prior of conf/model), or by episodes that a later ``as_of`` moves out of the poll window (the
same episodes at the era opinion instead of the polled one), the target posterior is the cached one
times the ratio of the two models' densities::

    p_new(params | data) ∝ p_old(params | data) * r(params),   log r = sum of the new terms - the old ones

so each stored draw is reweighted by ``r`` and the weights are Pareto-smoothed (``model.psis``; the same
use of PSIS to update a posterior by new data instead of refitting as in Bürkner, Gabry & Vehtari,
"Approximate leave-future-out cross-validation for Bayesian time series models", J. Stat. Comput.
Simul. 90(14), 2020). The Pareto k says whether the weighted draws can be trusted (k <= 0.7), else the
caller refits.

``state`` records what a cached posterior's inputs were, ``diff`` lists the changes from one state to
other inputs (``Change``), and ``LogRatios`` computes each change's log ratio per draw by the model's
own terms (``forecast.model.terms``). Anything else (an episode or poll removed or changed, a changed
ontology or hyperparameter, another sampler, seed or code version, a model setting the terms do not
reproduce) is not an importance-sampling update: ``diff`` raises ``NotReweightable`` saying why.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from forecast.inputs.data import Episodes, Inputs
from forecast.inputs.priors import Claim
from forecast.model import terms as T
from forecast.model.build import CLAIM_WEIGHT, LOADING, THETA, THETA_PAST, is_article


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
    try:
        T.require_supported(target.hyper)
    except T.Unsupported as e:
        raise NotReweightable(str(e)) from None
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


# ---------------------------------------------------------------------- each change's log ratio
_POLL_TERMS: dict[str, np.ndarray] = {}  # the new polls' term by a digest of the draws, polls and settings
class LogRatios:
    """Per-draw log ratios of each change on one stored group, memoised (Shapley sums many subsets)."""

    def __init__(self, idata: xr.DataTree, inputs: Inputs, known_pollsters: list[str], group: str = "posterior"):
        self.idata, self.inputs, self.group = idata, inputs, group
        self.ds = idata[group].to_dataset()
        self.known = list(known_pollsters)
        self._lp: dict[bool, np.ndarray] = {}
        self._memo: dict[Any, np.ndarray] = {}
        self.shape = self.ds[THETA].shape

    def lp(self, current: bool) -> np.ndarray:
        """logit P(r | a) of every action at the current opinion (signals) or the reference one (claims)."""
        if current not in self._lp:
            self._lp[current] = T.logit_p_actions(self.ds, self.inputs.ontology, self.inputs.hyper, current)
        return self._lp[current]

    def _episodes(self, table: pd.DataFrame, outcomes: pd.DataFrame, recent: np.ndarray | None = None) -> np.ndarray:
        inp = self.inputs
        eta = T.eta_episodes(self.ds, inp.ontology, Episodes(table, outcomes), inp.hyper, inp.as_of, recent)
        return T.episode_loglik_eta(eta, self.ds[LOADING].values, inp.ontology, outcomes).sum(axis=-1)

    def _claim(self, c: Change) -> np.ndarray:
        ds, ont, h = self.ds, self.inputs.ontology, self.inputs.hyper
        if (c.new is not None and is_article(c.new) and T.switch(h, "claim_weight") == "learned"
                and CLAIM_WEIGHT not in ds):
            # the first article claim brings the learned weight into the model: a parameter the draws lack
            raise NotReweightable(f"{c.label}: an article claim where the cached draws have no learned weight")
        v = np.zeros(self.shape)
        if c.new is not None:
            v = v + T.claim_loglik(ds, self.lp(False), ont, h, c.new)
        elif c.old.kind in ("effect", "latent"):  # removed: its parameter falls back to the default prior
            v = v + T.default_prior_loglik(ds, ont, h, c.old)
        if c.old is not None:
            v = v - T.claim_loglik(ds, self.lp(False), ont, h, c.old)
        elif c.new.kind in ("effect", "latent"):  # added: it replaces the default prior
            v = v - T.default_prior_loglik(ds, ont, h, c.new)
        return v

    def one(self, c: Change) -> np.ndarray:
        key = (c.kind, c.label)
        if key in self._memo:
            return self._memo[key]
        if c.kind == "episode":
            v = self._episodes(*c.new)
        elif c.kind == "episode_opinion":
            # the same episodes, each at the opinion of its side of the poll window now minus before
            table, outcomes = c.new
            new_recent = T.in_window(table["date"], self.inputs.as_of, self.inputs.hyper)
            if (T.switch(self.inputs.hyper, "era_opinion") == "free" and THETA_PAST not in self.ds
                    and not new_recent.all()):
                raise NotReweightable("an episode left the poll window but the cached draws have no era opinion")
            v = self._episodes(table, outcomes, new_recent) - self._episodes(table, outcomes, c.old)
        elif c.kind == "signal":
            v = T.cell_claim_loglik(self.lp(True), self.inputs.ontology, self.inputs.hyper, c.new)
        elif c.kind == "claim":
            v = self._claim(c)
        else:
            raise ValueError(c.kind)
        self._memo[key] = np.asarray(v, dtype=float)
        return self._memo[key]

    def polls(self, polls: list[pd.Series]) -> np.ndarray:
        """The new polls' term together (the polls of a new pollster share its wording effect)."""
        key = ("polls", tuple(sorted(str(p.name) for p in polls)))
        if key not in self._memo:
            house = self.ds["house"].sel(pollster=self.known).transpose("chain", "draw", "pollster").values \
                if self.known and "house" in self.ds else None
            theta, frame = self.ds[THETA].values, pd.DataFrame(polls)
            # the same term on the same draws is computed once per process: a PSIS update and the attribution of
            # what moved reweight the same stored draws by the same new polls (a new pollster's grid: seconds)
            digest = hashlib.sha256(b"".join([
                np.ascontiguousarray(theta).tobytes(), str(theta.dtype).encode(), str(theta.shape).encode(),
                b"" if house is None else np.ascontiguousarray(house).tobytes(),
                json.dumps([self.known, frame[["pollster", "n", "share_opposed"]].values.tolist(),
                            self.inputs.hyper], default=str, sort_keys=True).encode()])).hexdigest()
            if digest not in _POLL_TERMS:
                try:
                    term = T.poll_loglik(theta, house, self.known, frame, self.inputs.hyper)
                except T.Unsupported as e:
                    raise NotReweightable(str(e)) from None
                if len(_POLL_TERMS) >= 8:
                    _POLL_TERMS.pop(next(iter(_POLL_TERMS)))
                term.flags.writeable = False
                _POLL_TERMS[digest] = term
            self._memo[key] = _POLL_TERMS[digest]
        return self._memo[key]

    def total(self, changes: list[Change], claims_only: bool = False) -> np.ndarray:
        """The log ratio of all ``changes`` together."""
        out = np.zeros(self.shape)
        polls = [c.new for c in changes if c.kind == "poll"]
        for c in changes:
            if c.kind == "poll" or (claims_only and c.kind != "claim"):
                continue
            out = out + self.one(c)
        if polls and not claims_only:
            out = out + self.polls(polls)
        return out
