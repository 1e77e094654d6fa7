"""Every input, validated and filtered to ``as_of``: the one function that builds an ``Inputs``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from forecast.errors import InputError
from forecast.inputs import config as _config
from forecast.inputs.data import Episodes, Inputs, load_ontology, load_polls, load_precedents, merge_episodes
from forecast.inputs.evidence import check_duplicate_polls, load_evidence
from forecast.inputs.priors import parse_claims


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
    window = dt.timedelta(days=int(hyper.get("poll_window_days", 730)))
    polls = _rows(polls, [as_of - d <= window for d in polls["date"]])
    # resolve=False: free text (quotes, notes) is never interpolated (`${oc.env:...}` would leak the environment)
    claims = parse_claims(priors if priors is not None else OmegaConf.to_container(cfg.priors, resolve=False), ont)
    return Inputs(ont, episodes, polls, claims, signals, hyper, as_of, evidence_ids)
