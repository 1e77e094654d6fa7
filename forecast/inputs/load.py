"""Every input, validated and filtered to ``as_of``: the one function that builds an ``Inputs``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from omegaconf import DictConfig, OmegaConf

from forecast.errors import InputError
from forecast.inputs import config as _config
from forecast.inputs.data import Episodes, Inputs, load_ontology, load_polls, load_precedents, merge_episodes
from forecast.inputs.evidence import load_evidence
from forecast.inputs.priors import parse_claims


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
    keep = [d <= as_of for d in prec.table["date"]]
    episodes = Episodes(prec.table[keep], prec.outcomes[keep])
    polls = load_polls(paths["data"] / "polls.csv", today)
    polls = polls[[d <= as_of for d in polls["date"]]]
    signals, evidence_ids = [], ()
    if cfg.get("evidence", True):
        ev = load_evidence(paths["data"] / "evidence", ont, today, as_of, only=evidence_only)
        episodes = merge_episodes(episodes, ev.episodes, "data/evidence")
        dupes = sorted(set(polls.index) & set(ev.polls.index))
        if dupes:
            raise InputError("data/evidence", f"poll id(s) {dupes} are also in data/polls.csv",
                             "give each poll its own id")
        polls = pd.concat([polls, ev.polls]) if len(ev.polls) else polls
        signals = ev.signals
        evidence_ids = tuple(e.id for e in ev.entries)
    hyper = _config.hyper(cfg)
    window = dt.timedelta(days=int(hyper.get("poll_window_days", 730)))
    polls = polls[[as_of - d <= window for d in polls["date"]]]
    # resolve=False: free text (quotes, notes) is never interpolated (`${oc.env:...}` would leak the environment)
    claims = parse_claims(priors if priors is not None else OmegaConf.to_container(cfg.priors, resolve=False), ont)
    return Inputs(ont, episodes, polls, claims, signals, hyper, as_of, evidence_ids)
