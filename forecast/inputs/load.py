"""Every input, validated and filtered to ``as_of``: the one function that builds an ``Inputs``."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from forecast.errors import ConfigError, InputError
from forecast.inputs import config as _config
from forecast.inputs.data import (
    Episodes,
    Inputs,
    in_window,
    load_ontology,
    load_polls,
    load_precedents,
    merge_episodes,
)
from forecast.inputs.evidence import check_duplicate_polls, load_evidence
from forecast.inputs.priors import parse_claims
from forecast.inputs.schema import switch


def _rows(df: pd.DataFrame, keep: list[bool]) -> pd.DataFrame:
    """The rows of ``df`` where ``keep`` holds; its columns survive when no row does (``df[[]]``
    would select no columns, and an as_of before the first poll then left a polls table without any)."""
    return df.loc[np.asarray(keep, dtype=bool).reshape(-1)]


def load_inputs(cfg: DictConfig, today: dt.date | None = None, *, evidence_only: set[str] | None = None,
                priors: dict[str, Any] | None = None) -> Inputs:
    """Load and validate data/, the priors and the evidence log, filtered to ``as_of``.

    ``evidence_only`` keeps just those evidence entries and ``priors`` replaces the configured
    priors: both rebuild an earlier state of the inputs, for attributing changes between reports.
    """
    today = today or dt.date.today()
    as_of = _config.as_of_date(cfg, today)
    paths = _config.paths(cfg)
    ont = load_ontology(paths["data"])
    prec = load_precedents(paths["data"] / "precedents.csv", ont, today)
    first = min(prec.table["date"])
    if as_of < first:
        raise InputError("as_of", f"{as_of.isoformat()} is before any data (the first precedent is dated "
                         f"{first.isoformat()})", f"use a date from {first.isoformat()} on")
    keep = [d <= as_of for d in prec.table["date"]]
    episodes = Episodes(_rows(prec.table, keep), _rows(prec.outcomes, keep))
    polls = load_polls(paths["data"] / "polls.csv", today)
    polls = _rows(polls, [d <= as_of for d in polls["date"]])
    signals, evidence_ids = [], ()
    if cfg.get("evidence", True):
        ev = load_evidence(paths["data"] / "evidence", ont, today, as_of, only=evidence_only)
        episodes = merge_episodes(episodes, ev.episodes, "data/evidence")
        known = {str(i).casefold() for i in polls.index}  # ids compared regardless of case
        dupes = sorted(str(i) for i in ev.polls.index if str(i).casefold() in known)
        if dupes:
            raise InputError("data/evidence", f"poll id(s) {dupes} are also in data/polls.csv",
                             "give each poll its own id")
        polls = pd.concat([polls, ev.polls]) if len(ev.polls) else polls
        check_duplicate_polls(polls, "data/polls.csv + data/evidence")
        signals = ev.signals
        evidence_ids = tuple(e.id for e in ev.entries)
    hyper = _config.hyper(cfg)
    polls = _rows(polls, list(in_window(polls["date"], as_of, hyper)))
    # resolve=False: free text (quotes, notes) is never interpolated (`${oc.env:...}` would leak the environment)
    claims = parse_claims(priors if priors is not None else OmegaConf.to_container(cfg.priors, resolve=False), ont)
    claims, early = _date_gate(claims, as_of, str(cfg.get("priors_before_article") or "exclude"))
    restated = []
    if switch(hyper, "restatements") == "drop":
        claims, episodes, polls, signals, restated = _restatements(claims, episodes, polls, signals, ont)
    provenance = {"priors_before_article": "apply" if early else "exclude", "claims_applied_before_their_date": early,
                  "restated": restated}
    if switch(hyper, "restatements") == "keep":  # ablation: the older model, which counted both
        provenance["restatements"] = "keep: each claim and the source it restates both counted (ablation)"
    if switch(hyper, "attribute_cells") == "leave_out":
        episodes, provenance["attribute_cells_left_out"] = _attribute_cells(episodes, ont)
    return Inputs(ont, episodes, polls, claims, signals, hyper, as_of, evidence_ids, provenance)


def _attribute_cells(episodes: Episodes, ont) -> tuple[Episodes, list[str]]:
    """``model.attribute_cells=leave_out``: the coded cells of every response whose coding restates an action
    attribute (data/ontology/responses.csv ``coded_from``) leave the record: the episode's attribute already
    says what they say, so they are no observation of a response."""
    coded = [r for r in ont.response_ids if ont.responses.at[r, "coded_from"]]
    outcomes = episodes.outcomes.copy()
    left = [f"{e}:{r}" for r in coded for e in outcomes.index if not pd.isna(outcomes.at[e, r])]
    outcomes[coded] = np.nan
    return Episodes(episodes.table, outcomes), left


PRIORS_BEFORE_ARTICLE = ("exclude", "apply")


def _date_gate(claims: list, as_of: dt.date, mode: str) -> tuple[list, list[str]]:
    """A claim dated after ``as_of`` was not known then: it is marked unused (the model falls back to
    its weakly-informative defaults), unless ``priors_before_article=apply`` asks for the article's
    view on purpose; the ids so applied are returned so that reports can label them."""
    if mode not in PRIORS_BEFORE_ARTICLE:
        raise ConfigError("priors_before_article", f"{mode!r} is not a choice",
                          "use exclude (the default) or apply (use the article's claims before their date)")
    out, early = [], []
    for c in claims:
        if c.date_known and dt.date.fromisoformat(c.date_known) > as_of:
            if mode == "apply":
                early.append(c.id)
            else:
                c = dataclasses.replace(c, unused=f"dated {c.date_known}, after as_of {as_of.isoformat()}")
        out.append(c)
    return out, early


def _restatements(claims, episodes: Episodes, polls: pd.DataFrame, signals: list, ont):
    """Count each restated source once. For every used claim that restates items present as of
    ``as_of`` (coded episode cells ``ID:response``, polls or evidence signals by id), keep the claim
    and leave the items out, or keep the items and mark the claim unused (its ``keep``)."""
    outcomes = episodes.outcomes.copy()
    sig_ids = {s.id for s in signals}
    drop_polls, drop_sigs, restated, out = set(), set(), [], []
    for c in claims:
        present = []
        for item in c.restates if not c.unused else ():
            eid, _, resp = item.partition(":")
            if resp:
                if resp not in ont.response_ids:
                    raise ConfigError(f"conf/priors: {c.name}.restates", f"{resp!r} in {item!r} is not a response",
                                      "write EPISODE_ID:response_id")
                if eid in outcomes.index and not pd.isna(outcomes.at[eid, resp]):
                    present.append(item)
            elif eid in polls.index or eid in sig_ids:
                present.append(item)
        if present:
            if c.keep == "claim":
                for item in present:
                    eid, _, resp = item.partition(":")
                    if resp:
                        outcomes.at[eid, resp] = float("nan")
                    elif eid in polls.index:
                        drop_polls.add(eid)
                    else:
                        drop_sigs.add(eid)
            else:
                c = dataclasses.replace(c, unused=f"restates {', '.join(present)}: the source is kept")
            restated.append({"claim": c.id, "restates": present, "kept": "claim" if c.keep == "claim" else "source",
                             "left_out": c.id if c.keep == "source" else ", ".join(present),
                             "reason": c.restates_reason})
        out.append(c)
    polls = polls.drop(index=sorted(drop_polls)) if drop_polls else polls
    signals = [s for s in signals if s.id not in drop_sigs]
    return out, Episodes(episodes.table, outcomes), polls, signals, restated
