"""``forecast evidence add|check|list`` and ``forecast judgement add|check|list``: the analysts' dated inputs.

The evidence log (``data/evidence/<id>.yaml``) holds dated polls, episodes and signals; an analyst's
judgements on the priors live in ``data/judgements/<analyst>/``. An entry or judgement is validated exactly as
the loader validates it and written as a new file, never over another; ``check`` validates them all.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from forecast.errors import InputError, suggest
from forecast.inputs import config as _config
from forecast.inputs.data import Ontology, load_ontology, load_polls
from forecast.inputs.evidence import EvidenceLog, add_entry, load_evidence, read_entry_file
from forecast.inputs.judgements import Judgement, add_judgement, list_analysts, load_analyst
from forecast.inputs.priors import Claim, parse_claims
from forecast.inputs.readers import read_yaml
from forecast.inputs.withdraw import restore, withdraw
from forecast.paths import resolve


def data_dir(path: str | Path | None = None) -> Path:
    """The data folder: ``path`` (relative to the project) or the configured ``paths.data``."""
    return resolve(path, "data") if path else _config.paths(_config.compose([]))["data"]


# ---------------------------------------------------------------------- evidence
def evidence_add(entry: dict[str, Any] | None = None, *, file: str | Path | None = None,
                 data: str | Path | None = None) -> Path:
    """Validate one evidence entry (a dict as the YAML schema in ``data/evidence/README.md`` spells it, or a YAML
    ``file``) and write it as ``data/evidence/<id>.yaml``; refused (one line, nothing written) when invalid, when
    its id is taken, or when it repeats a poll already known. Returns the new file."""
    today = dt.date.today()
    folder = data_dir(data)
    ont = load_ontology(folder)
    if file is not None and entry is not None:
        raise InputError("forecast evidence add", "both an entry and a file given", "give one of them")
    if file is not None:
        entry = read_entry_file(file)
    elif entry is None:
        raise InputError("forecast evidence add", "give an entry kind (poll, episode, signal) or --file",
                         "see `forecast evidence add --help`")
    polls = load_polls(folder / "polls.csv", today) if (folder / "polls.csv").is_file() else None
    _known_names(entry, ont)
    return add_entry(folder / "evidence", entry, ont, today, polls)


def _known_names(entry: Any, ont: Ontology) -> None:
    """An episode's coded responses and a signal's response are ids of the ontology: an unknown one is refused
    with the one meant and every valid one (the loader's own message asks to extend the ontology, which is for a
    new category, not a typo)."""
    if not isinstance(entry, dict):
        return
    episode, signal = entry.get("episode"), entry.get("signal")
    actions = [episode.get("action_type")] if isinstance(episode, dict) else []
    actions += list(signal.get("actions") or []) if isinstance(signal, dict) and isinstance(
        signal.get("actions"), list) else []
    for a in actions:
        if isinstance(a, str) and a not in ont.action_ids:
            raise InputError(f"action {a!r}", f"unknown action type {a!r}",
                             suggest(a, ont.action_ids, "the action types (forecast actions lists them)"))
    names = list((episode.get("responses") or {}) if isinstance(episode, dict) and
                 isinstance(episode.get("responses"), dict) else [])
    if isinstance(signal, dict) and isinstance(signal.get("response"), str):
        names.append(signal["response"])
    for name in names:
        if str(name) not in ont.response_ids:
            raise InputError(f"response {name!r}", "not a response of data/ontology/responses.csv",
                             suggest(str(name), ont.response_ids, "the responses (forecast responses lists them)"))


def evidence_withdraw(entry_id: str, reason: str, *, data: str | Path | None = None) -> Path:
    """Move an evidence entry out of the log into ``data/withdrawn/`` (unchanged, never deleted) and record why; it
    counts in no forecast made afterwards, and the next report says what was withdrawn. Returns its new path."""
    return withdraw(data_dir(data), entry_id, reason, dt.date.today())


def evidence_restore(entry_id: str, *, data: str | Path | None = None) -> Path:
    """Move a withdrawn entry back into the evidence log (recorded); returns its path."""
    return restore(data_dir(data), entry_id, dt.date.today())


def evidence_check(as_of: dt.date | None = None, *, data: str | Path | None = None) -> EvidenceLog:
    """The evidence log known by ``as_of`` (default today), every entry validated (the first bad one raises)."""
    today = dt.date.today()
    folder = data_dir(data)
    return load_evidence(folder / "evidence", load_ontology(folder), today, as_of or today)


# ---------------------------------------------------------------------- judgements
def _article(folder: Path) -> tuple[Ontology, list[Claim]]:
    ont = load_ontology(folder)
    return ont, parse_claims(OmegaConf.to_container(_config.compose([]).priors, resolve=False), ont)


def judgement_add(analyst: str, judgement: dict[str, Any] | None = None, *, file: str | Path | None = None,
                  data: str | Path | None = None) -> Path:
    """Validate one judgement (a dict as ``data/judgements/README.md`` spells it, or a YAML ``file``) by analyst
    ``analyst`` and write it into ``data/judgements/<analyst>/``; refused (one line, nothing written) when
    invalid or when its id is taken. Returns the new file."""
    if file is not None and judgement is not None:
        raise InputError("forecast judgement add", "both a judgement and a file given", "give one of them")
    folder = data_dir(data)
    ont, article = _article(folder)
    raw = read_yaml(file) if file is not None else judgement
    return add_judgement(folder / "judgements", analyst, raw, ont, article, dt.date.today())


def judgement_check(analyst: str | None = None, as_of: dt.date | None = None, *,
                    data: str | Path | None = None) -> dict[str, list[Judgement]]:
    """Each analyst's judgements active by ``as_of`` (default today; every analyst unless one is named), all
    validated (the first bad one raises)."""
    today = dt.date.today()
    folder = data_dir(data)
    ont, article = _article(folder)
    jdir = folder / "judgements"
    analysts = [analyst] if analyst else list_analysts(jdir)
    return {a: load_analyst(jdir, a, ont, article, today, as_of or today) for a in analysts}
