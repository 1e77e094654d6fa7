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

import contextlib
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from forecast.inputs.data import Episodes, Inputs, in_window
from forecast.inputs.priors import Claim
from forecast.model import build as B
from forecast.model import psis
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
    recent = dict(zip(ep.table.index, in_window(ep.table["date"], inputs.as_of, inputs.hyper), strict=True))
    return {
        "family": hashlib.sha256(json.dumps({"f": family, "o": ont_hyper}, sort_keys=True,
                                            default=str).encode()).hexdigest()[:20],
        # each episode's row and outcomes (``_canon`` spells a value one way whatever its column's dtype): one pass
        # over the tables, not a label lookup and a concatenation per episode (a tenth of a second per state)
        "episodes": {str(i): _row_hash([*row, *out]) for i, row, out in
                     zip(ep.table.index, ep.table[cols].itertuples(index=False, name=None),
                         ep.outcomes.loc[ep.table.index].itertuples(index=False, name=None), strict=True)},
        # an episode's opinion depends on whether it lies in the poll window of as_of: a later as_of
        # moves old episodes from the polled opinion to the era opinion (a reweighting, ``episode_opinion``)
        "recent": {str(i): bool(recent[i]) for i in ep.table.index},
        "polls": {str(i): _row_hash(list(r)) for i, r in
                  zip(inputs.polls.index, inputs.polls[["date", "n", "share_opposed", "use", "pollster"]]
                      .itertuples(index=False, name=None), strict=True)},
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
_TERMS: dict[str, np.ndarray] = {}  # each change's term on some draws, by a digest of all it reads: once per process
_TERMS_MAX = 64  # 32 KB each for 4000 draws
_KEEP: list[Path | None] = []  # the cache folder keeping the terms across runs (``kept_terms``), innermost last


@contextlib.contextmanager
def kept_terms(cache_dir: Path | None):
    """Within this block a ``LogRatios`` made without a ``cache`` keeps each term it computes under
    ``<cache_dir>/derived/logratio/`` (``forecast.memo``) and reads the terms an earlier run kept: a new poll's update
    then computes the new poll's term only, not again those of the evidence the published brief already had."""
    _KEEP.append(cache_dir)
    try:
        yield
    finally:
        _KEEP.pop()


def _frame(df: pd.DataFrame) -> list:
    """A table's rows (index first) as JSON-able lists: part of a term's key."""
    return [[str(i), *row] for i, row in zip(df.index, df.itertuples(index=False), strict=True)]


class LogRatios:
    """Per-draw log ratios of each change on one stored group, memoised (Shapley sums many subsets).

    Each change's term (a poll's: each pollster's) is a pure function of the draws, the ontology and settings, the
    change and this code: it is kept under a digest of all of them, in this process (the update and the attribution of
    what moved reweight the same stored draws by the same changes) and, with a ``cache`` folder (or in ``kept_terms``),
    on disk for later runs. Sums run in the same order either way: the same log ratios to the last bit."""

    def __init__(self, idata: xr.DataTree, inputs: Inputs, known_pollsters: list[str], group: str = "posterior",
                 cache: Path | None = None):
        self.idata, self.inputs, self.group = idata, inputs, group
        self.ds = idata[group].to_dataset()
        self.known = list(known_pollsters)
        self._lp: dict[bool, np.ndarray] = {}
        self._memo: dict[Any, np.ndarray] = {}
        self.shape = self.ds[THETA].shape
        self.cache = cache if cache is not None else (_KEEP[-1] if _KEEP else None)
        self._draws: str | None = None

    def _draws_key(self) -> str:
        """A digest of what every term on these draws reads besides its change: the draws (every variable's name,
        dimensions and bytes), the ontology's and model's settings (as ``inputs_hash`` names them) and the terms' code
        (``terms``, this module, and what the terms compute with: ``build``'s link functions, ``psis``' logsumexp).
        ``as_of`` enters through the changes' keys (which episodes are inside the poll window)."""
        if self._draws is None:
            from forecast import memo

            fp, ds = self.inputs.fingerprint(), self.ds
            self._draws = memo.digest(
                "logratio", *(memo.source(m.__file__) for m in (T, B, psis)), memo.source(__file__), self.group,
                {k: fp[k] for k in ("attributes", "actions", "responses", "hyper")},
                *[x for v in sorted(map(str, ds.data_vars)) for x in (v, list(ds[v].dims), ds[v].values)])
        return self._draws

    def _kept(self, what: list, compute) -> np.ndarray:
        """The term ``what`` names (JSON-able: the change's content), computed by ``compute`` once: kept in this
        process and, with a cache folder, on disk (a damaged or mismatched entry is computed again)."""
        from forecast import memo

        key = memo.digest(self._draws_key(), what)
        hit = _TERMS.get(key)
        if hit is None:
            got = memo.get_arrays(self.cache, "logratio", key)
            v = None if got is None else got.get("v")
            if v is not None and v.shape == self.shape and v.dtype == np.float64:
                hit = v
            else:
                hit = np.asarray(compute(), dtype=float)
                memo.put_arrays(self.cache, "logratio", key, {"v": hit})
            hit.flags.writeable = False
            if len(_TERMS) >= _TERMS_MAX:
                _TERMS.pop(next(iter(_TERMS)))
            _TERMS[key] = hit
        return hit

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
            table, outcomes = c.new
            recent = T.in_window(table["date"], self.inputs.as_of, self.inputs.hyper)
            what = [c.kind, _frame(table), _frame(outcomes), recent.tolist()]
            self._memo[key] = self._kept(what, lambda: self._episodes(table, outcomes))
        elif c.kind == "episode_opinion":
            # the same episodes, each at the opinion of its side of the poll window now minus before
            table, outcomes = c.new
            new_recent = T.in_window(table["date"], self.inputs.as_of, self.inputs.hyper)
            if (T.switch(self.inputs.hyper, "era_opinion") == "free" and THETA_PAST not in self.ds
                    and not new_recent.all()):
                raise NotReweightable("an episode left the poll window but the cached draws have no era opinion")
            what = [c.kind, _frame(table), _frame(outcomes), new_recent.tolist(), np.asarray(c.old).tolist()]
            self._memo[key] = self._kept(what, lambda: self._episodes(table, outcomes, new_recent)
                                         - self._episodes(table, outcomes, c.old))
        elif c.kind == "signal":
            self._memo[key] = self._kept([c.kind, _claim_fp(c.new)], lambda: T.cell_claim_loglik(
                self.lp(True), self.inputs.ontology, self.inputs.hyper, c.new))
        elif c.kind == "claim":
            what = [c.kind, None if c.new is None else _claim_fp(c.new), None if c.old is None else _claim_fp(c.old)]
            self._memo[key] = self._kept(what, lambda: self._claim(c))
        else:
            raise ValueError(c.kind)
        return self._memo[key]

    def polls(self, polls: list[pd.Series]) -> np.ndarray:
        """The new polls' term together (the polls of a new pollster share its wording effect): each pollster's
        term computed once (``_kept``: a new poll's update and the attribution of what moved share them)."""
        key = ("polls", tuple(sorted(str(p.name) for p in polls)))
        if key not in self._memo:
            house = self.ds["house"].sel(pollster=self.known).transpose("chain", "draw", "pollster").values \
                if self.known and "house" in self.ds else None

            def kept(pollster, records: list[dict[str, Any]], compute) -> np.ndarray:
                what = ["poll", str(pollster), self.known,
                        [[float(r["n"]), float(r["share_opposed"])] for r in records]]
                return self._kept(what, compute)

            try:
                self._memo[key] = T.poll_loglik(self.ds[THETA].values, house, self.known, pd.DataFrame(polls),
                                                self.inputs.hyper, kept=kept)
            except T.Unsupported as e:
                raise NotReweightable(str(e)) from None
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
