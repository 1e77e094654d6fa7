"""Load and validate everything under ``data/``: the ontology, precedents, polls.

Categories are data. Python never spells an action or response name; it reads them here.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from forecast.errors import InputError
from forecast.inputs.readers import (
    check_new_id,
    display,
    parse_binary_or_missing,
    parse_bool,
    parse_choice,
    parse_date,
    parse_float,
    parse_id,
    parse_int,
    parse_prob,
    read_csv,
    read_yaml,
    require_columns,
)

if TYPE_CHECKING:
    import pandas as pd

# pandas is imported by the functions that build tables: the what-if's kept path (forecast whatif from the draws a
# report kept) imports this module for ``imply_threats`` and the names, never pandas

ATTRIBUTE_TYPES = {"numeric", "boolean", "categorical"}
# the sign a response takes of the shared (stance-signed) slopes and of the episode factor: a neutral response
# (e.g. negotiating new rules, which follows violations and cooperation alike) takes neither, only its own slopes
STANCES = {"retaliatory": 1, "accommodating": -1, "neutral": 0}
FORMS = {"threat", "executed"}
EPISODE_FIXED = {"id", "date", "title", "action_type", "research_action_codes", "research_consent",
                 "sources", "verified", "notes"}
POLL_USES = {"likelihood", "prior_only"}
# the responses.csv columns the model reads (its design: domain, stance, required threat, escalation rank in the
# intercepts, opinion sign; the form constrains `requires`): the posterior cache key covers them
MODEL_RESPONSE_COLUMNS = ("domain", "stance", "form", "requires", "escalation_rank", "opinion_sign")


# --------------------------------------------------------------------------- ontology
@dataclass(frozen=True)
class Ontology:
    attributes: dict[str, dict[str, Any]]
    actions: pd.DataFrame  # index: action id; one column per attribute, plus label/description
    responses: pd.DataFrame  # index: response id
    composites: dict[str, dict[str, Any]]

    @property
    def action_ids(self) -> list[str]:
        return list(self.actions.index)

    @property
    def response_ids(self) -> list[str]:
        return list(self.responses.index)

    @property
    def covariate_names(self) -> list[str]:
        names = []
        for name, spec in self.attributes.items():
            if spec["type"] == "categorical":
                names += [f"{name}={lvl}" for lvl in spec["levels"] if lvl != spec["baseline"]]
            else:
                names.append(name)
        return names

    def covariates(self, profiles: pd.DataFrame) -> np.ndarray:
        """Design matrix (n_profiles x n_covariates) from attribute values (already validated)."""
        cols = []
        for name, spec in self.attributes.items():
            v = profiles[name]
            if spec["type"] == "numeric":
                cols.append((v.astype(float).to_numpy() - spec["center"]) / spec["scale"])
            elif spec["type"] == "boolean":
                cols.append(v.astype(bool).astype(float).to_numpy())
            else:
                for lvl in spec["levels"]:
                    if lvl != spec["baseline"]:
                        cols.append((v == lvl).astype(float).to_numpy())
        return np.column_stack(cols) if cols else np.zeros((len(profiles), 0))

    def opinion_scope(self, profiles: pd.DataFrame) -> np.ndarray:
        """1 for each profile the polled opinion is about, else 0 (n_profiles,): a categorical attribute's
        ``opinion_levels`` (attributes.yaml) lists the levels the polls ask about (e.g. opposition to US
        military action); a profile is in scope when every such attribute takes one of its listed levels.
        Without any ``opinion_levels`` every profile is in scope."""
        out = np.ones(len(profiles))
        for name, spec in self.attributes.items():
            if spec.get("opinion_levels"):
                out = out * profiles[name].isin(spec["opinion_levels"]).to_numpy(dtype=float)
        return out

    def parse_attribute(self, name: str, value: Any, where: str) -> Any:
        spec = self.attributes[name]
        if spec["type"] == "numeric":
            return parse_float(value, where, spec["min"], spec["max"], f"a {name} value")
        if spec["type"] == "boolean":
            return parse_bool(value, where)
        return parse_choice(value, where, spec["levels"], f"{name} level")

    def profile(self, action: str, overrides: dict[str, Any] | None = None,
                where: str = "profile") -> dict[str, Any]:
        """An action profile: the action type's attributes with validated overrides."""
        if action not in self.actions.index:
            raise InputError(where, f"unknown action type {action!r}",
                             f"use one of: {', '.join(self.action_ids)}")
        prof = {k: self.actions.at[action, k] for k in self.attributes}
        for k, v in (overrides or {}).items():
            if k not in self.attributes:
                raise InputError(f"{where}.{k}", f"unknown attribute {k!r}",
                                 f"use one of: {', '.join(self.attributes)}")
            prof[k] = self.parse_attribute(k, v, f"{where}.{k}")
        return prof

    def ancestors(self, response: str) -> list[str]:
        """The chain of responses ``response`` requires, nearest first."""
        out, r = [], self.responses.at[response, "requires"]
        while r:
            out.append(r)
            r = self.responses.at[r, "requires"]
        return out


def _load_attributes(path: Path) -> dict[str, dict[str, Any]]:
    raw = read_yaml(path)
    where0 = display(path)
    out = {}
    for name, spec in raw.items():
        where = f"{where0}, key '{name}'"
        parse_id(name, where)
        if not isinstance(spec, dict):
            raise InputError(where, "expected a mapping", "give at least `type:`")
        typ = parse_choice(spec.get("type"), f"{where}.type", ATTRIBUTE_TYPES, "attribute type")
        s = {"type": typ, "description": str(spec.get("description", ""))}
        if typ == "numeric":
            for k in ("min", "max", "center", "scale"):
                s[k] = parse_float(spec.get(k), f"{where}.{k}")
            if s["scale"] <= 0 or s["min"] >= s["max"]:
                raise InputError(where, "needs min < max and scale > 0", "fix min/max/scale")
        elif typ == "categorical":
            levels = spec.get("levels")
            if not isinstance(levels, list) or len(levels) < 2:
                raise InputError(f"{where}.levels", "needs a list of at least two levels", "list the levels")
            s["levels"] = [parse_id(lv, f"{where}.levels") for lv in levels]
            s["baseline"] = parse_choice(spec.get("baseline"), f"{where}.baseline", s["levels"], "baseline level")
            if spec.get("opinion_levels") is not None:
                ol = spec["opinion_levels"]
                if not isinstance(ol, list) or not ol:
                    raise InputError(f"{where}.opinion_levels", "needs a non-empty list of levels",
                                     "list the levels the polled opinion is about, or remove the key")
                s["opinion_levels"] = [parse_choice(lv, f"{where}.opinion_levels", s["levels"], "level") for lv in ol]
        if typ != "categorical" and spec.get("opinion_levels") is not None:
            raise InputError(f"{where}.opinion_levels", f"only a categorical attribute can have opinion levels ({name} "
                             f"is {typ})", "remove the key or move it to a categorical attribute")
        out[name] = s
    return out


def _load_actions(path: Path, attributes: dict) -> pd.DataFrame:
    import pandas as pd

    header, rows = read_csv(path)
    where0 = display(path)
    require_columns(header, ["id", "label", *attributes], where0)
    records, seen = [], {}
    proto = Ontology(attributes, pd.DataFrame(), pd.DataFrame(), {})
    for line, row in rows:
        where = f"{where0}, row {line}"
        aid = parse_id(row["id"], f"{where}, column 'id'")
        check_new_id(seen, aid, where, "action type")
        seen[aid] = line
        rec = {"id": aid, "label": row["label"] or aid, "description": row.get("description", ""),
               "research_code": row.get("research_code", "")}
        for name in attributes:
            rec[name] = proto.parse_attribute(name, row[name], f"{where} (id {aid}), column '{name}'")
        records.append(rec)
    return pd.DataFrame.from_records(records).set_index("id")


def _load_responses(path: Path) -> pd.DataFrame:
    import pandas as pd

    header, rows = read_csv(path)
    where0 = display(path)
    need = ["id", "label", "domain", "stance", "form", "requires", "escalation_rank", "opinion_sign"]
    require_columns(header, need, where0)
    records, seen = [], {}
    for line, row in rows:
        where = f"{where0}, row {line}"
        rid = parse_id(row["id"], f"{where}, column 'id'")
        check_new_id(seen, rid, where, "response")
        seen[rid] = line
        w = f"{where} (id {rid}), column"
        records.append({
            "id": rid,
            "label": row["label"] or rid,
            "domain": parse_id(row["domain"], f"{w} 'domain'"),
            "stance": parse_choice(row["stance"], f"{w} 'stance'", set(STANCES), "stance"),
            "form": parse_choice(row["form"], f"{w} 'form'", FORMS, "form"),
            "requires": row["requires"],
            "escalation_rank": parse_int(row["escalation_rank"], f"{w} 'escalation_rank'", 0, 100),
            "opinion_sign": parse_int(row["opinion_sign"], f"{w} 'opinion_sign'", -1, 1),
            "research_code": row.get("research_code", ""),
            "description": row.get("description", ""),
            # the action attribute this response's coding restates (blank: none); model.attribute_cells
            "coded_from": row.get("coded_from") or "",
            "_line": line,
        })
    df = pd.DataFrame.from_records(records).set_index("id")
    for rid, rec in df.iterrows():
        req = rec["requires"]
        where = f"{where0}, row {rec['_line']} (id {rid}), column 'requires'"
        if req and req not in df.index:
            raise InputError(where, f"unknown response {req!r}", "name a response id from this file or leave blank")
        if req and rec["form"] != "executed":
            raise InputError(where, "only an executed response can require another", "clear it or set form=executed")
        chain, r = {rid}, req
        while r:
            if r in chain:
                raise InputError(where, "the 'requires' links form a cycle", "break the cycle")
            chain.add(r)
            r = df.at[r, "requires"]
    return df.drop(columns="_line")


def _load_composites(path: Path, responses: pd.DataFrame) -> dict[str, dict[str, Any]]:
    raw = read_yaml(path)
    out = {}
    for name, spec in raw.items():
        where = f"{display(path)}, key '{name}'"
        parse_id(name, where)
        if not isinstance(spec, dict):
            raise InputError(where, "expected a mapping", "give `label` and `any_of` or `all_of`")
        kinds = [k for k in ("any_of", "all_of") if k in spec]
        if len(kinds) != 1:
            raise InputError(where, "needs exactly one of any_of / all_of", "give one list of response ids")
        members = spec[kinds[0]]
        if not isinstance(members, list) or not members:
            raise InputError(f"{where}.{kinds[0]}", "needs a non-empty list", "list response ids")
        for m in members:
            parse_choice(m, f"{where}.{kinds[0]}", set(responses.index), "response")
        out[name] = {"label": str(spec.get("label", name)), "kind": kinds[0], "members": list(members)}
    return out


def load_ontology(data_dir: Path) -> Ontology:
    d = Path(data_dir) / "ontology"
    attributes = _load_attributes(d / "attributes.yaml")
    actions = _load_actions(d / "actions.csv", attributes)
    responses = _load_responses(d / "responses.csv")
    for rid, attr in responses["coded_from"].items():
        if attr and attr not in attributes:
            raise InputError(f"{display(d / 'responses.csv')} (id {rid}), column 'coded_from'",
                             f"unknown attribute {attr!r}", f"use one of: {', '.join(attributes)} or leave blank")
    composites = _load_composites(d / "composites.yaml", responses)
    return Ontology(attributes, actions, responses, composites)


# --------------------------------------------------------------------------- episodes
@dataclass(frozen=True)
class Episodes:
    """Historical (or evidence-log) episodes: profiles plus coded responses (NaN = missing)."""

    table: pd.DataFrame  # index: id; date, action_type, attributes, title, sources, verified, origin
    outcomes: pd.DataFrame  # index: id; columns: every response id; values 0/1/NaN


def in_window(dates, as_of: dt.date, hyper: dict) -> np.ndarray:
    """Which of ``dates`` lie inside the poll window of ``as_of`` (``poll_window_days``): a poll then counts (the
    rest are left out), an episode is at the polled opinion (the rest at the era's). The one statement of the rule:
    the inputs' polls, the model's design, its terms, the inputs hash, the update's state and the back-test's
    folds read it here."""
    window = int(hyper.get("poll_window_days", 730))
    return np.array([(as_of - d).days <= window for d in dates], dtype=bool).reshape(-1)


def imply_threats(coded: dict[str, float], ancestors, where: str) -> dict[str, float]:
    """An executed response coded 1 implies its threat (every response it requires, ``ancestors(r)``, nearest
    first): those are set to 1 in ``coded`` (changed in place and returned); one coded 0 is a contradiction,
    refused in one line naming it (``where``: the row or item)."""
    for r in list(coded):
        if coded[r] == 1.0:
            for anc in ancestors(r):
                if coded.get(anc) == 0.0:
                    raise InputError(f"{where} '{anc}'", f"coded 0 but '{r}' (which requires it) is coded 1",
                                     f"code '{anc}' as 1 or blank, or '{r}' as 0")
                coded[anc] = 1.0
    return coded


def episode_from_record(ont: Ontology, rec: dict[str, Any], responses: dict[str, Any], where: str,
                        today: dt.date) -> tuple[dict[str, Any], dict[str, float]]:
    """Validate one episode (a CSV row or an evidence entry): profile plus coded responses."""
    eid = parse_id(rec.get("id"), f"{where}, column 'id'")
    w = f"{where} (id {eid}), column"
    date = parse_date(rec.get("date"), f"{w} 'date'", not_after=today)
    action = parse_choice(rec.get("action_type"), f"{w} 'action_type'", set(ont.action_ids), "action type")
    overrides = {k: rec[k] for k in ont.attributes if rec.get(k) not in (None, "")}
    prof = {k: ont.actions.at[action, k] for k in ont.attributes}
    for k, v in overrides.items():
        prof[k] = ont.parse_attribute(k, v, f"{w} '{k}'")
    coded = {}
    for r, v in responses.items():
        if r not in ont.responses.index:
            raise InputError(f"{w} '{r}'", f"coded on response {r!r}, which the ontology lacks",
                             "add it to data/ontology/responses.csv or rename the column")
        coded[r] = parse_binary_or_missing(v, f"{w} '{r}'")
    imply_threats(coded, ont.ancestors, w)
    table = {"id": eid, "date": date, "action_type": action, **prof,
             "title": str(rec.get("title", "")), "sources": str(rec.get("sources", "")),
             "verified": str(rec.get("verified", ""))}
    return table, coded


def load_precedents(path: Path, ont: Ontology, today: dt.date) -> Episodes:
    header, rows = read_csv(path)
    where0 = display(path)
    require_columns(header, ["id", "date", "action_type", "sources"], where0)
    response_cols = [c for c in header if c not in EPISODE_FIXED and c not in ont.attributes]
    tables, outcomes, seen = [], [], {}
    for line, row in rows:
        where = f"{where0}, row {line}"
        table, coded = episode_from_record(ont, row, {c: row[c] for c in response_cols}, where, today)
        check_new_id(seen, table["id"], where, "precedent")
        seen[table["id"]] = line
        if not table["sources"]:
            raise InputError(f"{where} (id {table['id']}), column 'sources'", "no source",
                             "cite at least one source (URL or citation)")
        table["origin"] = "precedent"
        tables.append(table)
        outcomes.append({"id": table["id"], **coded})
    return episodes_from_records(tables, outcomes, ont)


def episodes_from_records(tables: list[dict], outcomes: list[dict], ont: Ontology) -> Episodes:
    """Episodes (their table and coded outcomes) from one record per episode: precedents and evidence episodes."""
    import pandas as pd

    cols = ["id", "date", "action_type", *ont.attributes, "title", "sources", "verified", "origin"]
    t = pd.DataFrame.from_records(tables, columns=cols).set_index("id")
    o = pd.DataFrame.from_records(outcomes).set_index("id") if outcomes else pd.DataFrame(index=t.index)
    o = o.reindex(index=t.index, columns=ont.response_ids).astype(float)
    return Episodes(t, o)


def merge_episodes(a: Episodes, b: Episodes, where: str = "evidence") -> Episodes:
    import pandas as pd

    dupes = sorted(set(a.table.index) & set(b.table.index))
    if dupes:
        raise InputError(where, f"episode id(s) {dupes} are used twice", "give each episode its own id")
    return Episodes(pd.concat([a.table, b.table]), pd.concat([a.outcomes, b.outcomes]))


# --------------------------------------------------------------------------- polls
def load_polls(path: Path, today: dt.date) -> pd.DataFrame:
    header, rows = read_csv(path)
    where0 = display(path)
    require_columns(header, ["id", "pollster", "date", "n", "share_opposed", "use", "source"], where0)
    recs, seen = [], {}
    for line, row in rows:
        where = f"{where0}, row {line}"
        recs.append(poll_from_record(row, where, today, seen, line))
    return polls_frame(recs)


def poll_from_record(row: dict[str, Any], where: str, today: dt.date, seen: dict | None = None,
                     line: int | None = None) -> dict[str, Any]:
    pid = parse_id(row.get("id"), f"{where}, column 'id'")
    w = f"{where} (id {pid}), column"
    if seen is not None:
        check_new_id(seen, pid, where, "poll")
        seen[pid] = line
    use = parse_choice(row.get("use") or "likelihood", f"{w} 'use'", POLL_USES, "use")
    n_raw = row.get("n")
    n = parse_int(n_raw, f"{w} 'n'", 1, 10_000_000) if n_raw not in (None, "") else None
    if use == "likelihood" and n is None:
        raise InputError(f"{w} 'n'", "a poll used in the likelihood needs its sample size",
                         "give n, or set use=prior_only")
    if not str(row.get("source") or "").strip():
        raise InputError(f"{w} 'source'", "no source", "cite the poll (URL or citation)")
    return {
        "id": pid,
        "pollster": str(row.get("pollster") or "").strip() or "unknown",
        "date": parse_date(row.get("date"), f"{w} 'date'", not_after=today),
        "n": n,
        "share_opposed": parse_prob(row.get("share_opposed"), f"{w} 'share_opposed'"),
        "use": use,
        "wording": str(row.get("wording") or ""),
        "source": str(row.get("source")),
    }


def polls_frame(recs: list[dict[str, Any]]) -> pd.DataFrame:
    import pandas as pd

    cols = ["id", "pollster", "date", "n", "share_opposed", "use", "wording", "source"]
    return pd.DataFrame.from_records(recs, columns=cols).set_index("id")


# --------------------------------------------------------------------------- all inputs
@dataclass(frozen=True)
class Inputs:
    """Everything the model sees, validated and filtered to ``as_of``."""

    ontology: Ontology
    episodes: Episodes
    polls: pd.DataFrame
    claims: list  # list[forecast.priors.Claim]
    signals: list = field(default_factory=list)  # list[forecast.priors.Claim] from the evidence log
    hyper: dict = field(default_factory=dict)
    as_of: dt.date = field(default_factory=dt.date.today)
    evidence_ids: tuple[str, ...] = ()
    # which restated sources were kept, and whether the article's claims were applied before their date
    provenance: dict = field(default_factory=dict)

    def fingerprint(self) -> dict[str, Any]:
        """A JSON-able description of everything in the inputs that changes the posterior."""
        def frame(df: pd.DataFrame) -> list:
            return [[str(i), *[None if (isinstance(v, float) and math.isnan(v)) else
                               (v.isoformat() if isinstance(v, dt.date) else v) for v in row]]
                    for i, row in zip(df.index, df.itertuples(index=False), strict=True)]
        ont = self.ontology
        return {
            # what the design reads: an attribute's description and an action's or response's label, description
            # or research code do not change the posterior; every column the model reads must be here
            # (tests/test_cache_key.py changes each one and expects a new hash)
            "attributes": {k: {f: v for f, v in spec.items() if f != "description"}
                           for k, spec in ont.attributes.items()},
            "actions": frame(ont.actions[list(ont.attributes)]),
            "responses": frame(ont.responses[list(MODEL_RESPONSE_COLUMNS)]),
            "episodes": frame(self.episodes.table.reindex(columns=["date", "action_type", *ont.attributes])),
            "outcomes": frame(self.episodes.outcomes.reindex(columns=ont.response_ids)),
            # reindex: an empty table (no poll or episode known by as_of) is an ordinary input
            "polls": frame(self.polls.reindex(columns=["date", "n", "share_opposed", "use", "pollster"])),
            # order-free: the same claims in another order are the same posterior
            "claims": sorted((c.fingerprint() for c in self.claims), key=lambda c: c["name"]),
            "signals": sorted((c.fingerprint() for c in self.signals), key=lambda c: c["name"]),
            "hyper": self.hyper,
            "poll_window": self.poll_window_key(),
        }

    def poll_window_key(self) -> dict[str, Any]:
        """What the poll window of ``as_of`` changes in the model: which episodes it puts at the polled opinion
        (the rest at the era's), only where that moves their likelihood. An episode's opinion term is scaled by
        its opinion scope (``model.opinion_scope=scoped``: an episode of an action the polls are not about has
        none) and there is none with ``model.episode_opinion=reference``; with ``model.era_opinion=free`` an
        episode before the window adds the era opinion. So a later ``as_of`` that only moves out-of-scope
        episodes out of the window is the same posterior (the same hash: no refit, no reweighting)."""
        from forecast.inputs.schema import switch

        h, table = self.hyper, self.episodes.table
        if switch(h, "episode_opinion") != "own_time":
            return {}
        recent = in_window(table["date"], self.as_of, h)
        scope = (self.ontology.opinion_scope(table) if switch(h, "opinion_scope") == "scoped" and len(table)
                 else np.ones(len(table)))
        out: dict[str, Any] = {"recent_in_scope": [str(i) for i, r, s in zip(table.index, recent, scope,
                                                                               strict=True) if r and s != 0]}
        if switch(h, "era_opinion") == "free":
            out["any_before_window"] = not bool(recent.all())
        return out
