"""Hostile corpus, property-based: the loaders never crash; a record is loaded valid or refused in one line.

Part of the corpus of bad and hostile inputs (tests/hostile/corpus.py); nothing here fits a model.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from forecast.errors import InputError
from forecast.inputs.data import POLL_USES, load_polls, load_precedents
from forecast.inputs.evidence import KINDS, load_evidence

from ..conftest import ROOT, TODAY
from .corpus import HOSTILE, ID_RE, POLLS, PREC, one_line, read_csv_rows

# Each generated record is valid except for 0-2 fields replaced by hostile values (text in any script, NUL, line
# breaks, quotes, NaN/inf, huge numbers, lists, mappings, None, impossible or future dates). The loader must either
# return data that satisfies the schema or raise a one-line InputError; a record with no hostile field must load.
PROPS = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
NASTY = ["", " ", "nan", "NaN", "-inf", "inf", "1e309", "-0", "0x10", "1_0", "\u0663", "\uff13", "None", "null", "true",
         "[1, 2]", "{a: 1}", "2026-02-30", "26-1-1", "2999-01-01", "2026-11-24", "../../etc/passwd", "a/b", '"', ",",
         "\n", "\r", "\x00", "\ufeff", "é", HOSTILE, "9" * 400, "-9" * 50]
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=25)
LINE = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1,
               max_size=25).filter(str.strip)
# evidence-log text: control, format (bidi, zero-width) and separator characters are refused there (issue #15)
EV_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Cf", "Zl", "Zp")), max_size=25)
EV_LINE = EV_TEXT.filter(str.strip)
NO_REQUIRES = ["diplomatic_protest", "armed_resistance", "nationalist_mobilization", "consent_accommodate"]


def nasty_text() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(NASTY), st.text(max_size=25),
                     st.floats(allow_nan=True, allow_infinity=True).map(repr),
                     st.integers(min_value=-(10**30), max_value=10**30).map(str))


def nasty_value() -> st.SearchStrategy[Any]:
    """What a YAML field may hold instead of the right thing: text, numbers of every kind, None, lists, mappings."""
    scalar = st.one_of(nasty_text(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.none(),
                       st.booleans())
    return st.one_of(scalar, st.lists(scalar, max_size=2), st.dictionaries(st.sampled_from(["a", "b"]), scalar,
                                                                           max_size=2))


@st.composite
def mostly_valid(draw, valid: dict[str, st.SearchStrategy], nasty: st.SearchStrategy, max_bad: int = 2):
    """(record, hostile keys): a valid record with up to ``max_bad`` fields replaced by ``nasty`` values."""
    rec = draw(st.fixed_dictionaries(valid))
    bad = draw(st.lists(st.sampled_from(sorted(valid)), max_size=max_bad, unique=True))
    for k in bad:
        rec[k] = draw(nasty)
    return rec, bad


def _write_rows(path: Path, header: list[str], rows: list[dict[str, str]], raw: bool) -> None:
    lines = [[str(r.get(h, "")) for h in header] for r in rows]
    if raw:  # no quoting: commas, quotes and line breaks in the data break the CSV on purpose
        path.write_text("\n".join(",".join(x) for x in [header, *lines]) + "\n", encoding="utf-8")
    else:
        buf = io.StringIO()
        csv.writer(buf).writerows([header, *lines])
        path.write_text(buf.getvalue(), encoding="utf-8")


def _refused(err: InputError, bad: list) -> None:
    one_line(err)
    assert bad, f"a record without hostile fields was refused: {err}"
    event("refused")


def _unique_ids(records: list[tuple[dict, list]], prefix: str) -> tuple[list[dict], list]:
    rows, bad = [], []
    for i, (rec, b) in enumerate(records):
        if "id" not in b:
            rec["id"] = f"{prefix}{i}"
        rows.append(rec)
        bad += b
    return rows, bad


def precedent_records(o) -> st.SearchStrategy:
    valid = {
        "id": st.just(""), "date": st.sampled_from(["1990-01-01", "2026-11-23", "2000-02-29"]), "title": TEXT,
        "action_type": st.sampled_from(o.action_ids), "severity": st.sampled_from(["", "1", "3", "5", "2.5"]),
        "consent": st.sampled_from(["", "none", "coerced", "voluntary"]),
        "on_soil": st.sampled_from(["", "true", "false", "yes", "0"]),
        "force": st.sampled_from(["", "political", "military"]),
        "persistence": st.sampled_from(["", "one_time", "sustained"]), "ground_troops": st.sampled_from(["", "true"]),
        **{r: st.sampled_from(["", "0", "1", "·", "NA"]) for r in NO_REQUIRES},
        "sources": st.one_of(st.sampled_from(["https://example.org/x", "a citation"]), LINE),
        "verified": st.one_of(st.sampled_from(["yes", "partial", ""]), TEXT),
    }
    return st.lists(mostly_valid(valid, nasty_text()), min_size=1, max_size=3)


@PROPS
@given(data=st.data(), raw=st.booleans())
def test_property_precedent_rows(ont, data, raw):
    rows, bad = _unique_ids(data.draw(precedent_records(ont)), "H")
    bad = bad or ([True] if raw and any(re.search(r'[,"\r\n]', str(v)) for r in rows for v in r.values()) else [])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "precedents.csv"
        _write_rows(path, read_csv_rows(ROOT / "data" / PREC)[0], rows, raw)
        try:
            ep = load_precedents(path, ont, TODAY)
        except InputError as e:
            _refused(e, bad)
            return
    event("loaded")
    t, o = ep.table, ep.outcomes
    assert len(t) == len(rows) and t.index.is_unique
    levels = {k: set(v["levels"]) for k, v in ont.attributes.items() if v["type"] == "categorical"}
    for eid, row in t.iterrows():
        assert ID_RE.match(eid)
        assert isinstance(row["date"], dt.date) and row["date"] <= TODAY
        assert row["action_type"] in ont.action_ids
        assert math.isfinite(row["severity"]) and 1 <= row["severity"] <= 5
        for k, lv in levels.items():
            assert row[k] in lv
        assert row["on_soil"] in (True, False) and row["ground_troops"] in (True, False)
        assert row["sources"]
    if not bad:  # free text survives the round trip unchanged (but for the edge whitespace the reader strips)
        assert list(t["title"]) == [r["title"].strip() for r in rows]
    assert set(o.columns) == set(ont.response_ids)
    assert o.isin([0.0, 1.0]).to_numpy().sum() + o.isna().to_numpy().sum() == o.size


POLL_VALID = {
    "id": st.just(""), "pollster": TEXT, "date": st.sampled_from(["2026-01-10", "2020-02-29", "2026-11-23"]),
    "n": st.integers(1, 10_000_000).map(str), "share_opposed": st.floats(0, 1).map(repr),
    "use": st.sampled_from(["likelihood", "prior_only", ""]), "wording": TEXT, "population": TEXT,
    "source": st.one_of(st.sampled_from(["https://example.org/p", "cite"]), LINE), "notes": TEXT,
}


@PROPS
@given(records=st.lists(mostly_valid(POLL_VALID, nasty_text()), min_size=1, max_size=3), raw=st.booleans())
def test_property_poll_rows(records, raw):
    rows, bad = _unique_ids(records, "Q")
    bad = bad or ([True] if raw and any(re.search(r'[,"\r\n]', str(v)) for r in rows for v in r.values()) else [])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "polls.csv"
        _write_rows(path, read_csv_rows(ROOT / "data" / POLLS)[0], rows, raw)
        try:
            polls = load_polls(path, TODAY)
        except InputError as e:
            _refused(e, bad)
            return
    event("loaded")
    assert len(polls) == len(rows) and polls.index.is_unique
    for pid, p in polls.iterrows():
        assert ID_RE.match(pid)
        assert isinstance(p["date"], dt.date) and p["date"] <= TODAY
        assert math.isfinite(p["share_opposed"]) and 0 <= p["share_opposed"] <= 1
        assert p["use"] in POLL_USES
        n = p["n"]
        if p["use"] == "likelihood" or not (n is None or n != n):
            assert float(n) == int(n) and 1 <= n <= 10_000_000
        assert str(p["source"]).strip()


SIG_NUMBERS = [0.1, 0.3, "0.2", 0.5, 1.3, -0.1, "nan", None, "abc", [0.1], 0, 1]  # few valid pairs: PreliZ stays cheap


def evidence_records(o) -> st.SearchStrategy[tuple[dict, list]]:
    nasty = st.one_of(nasty_value(), st.sampled_from(SIG_NUMBERS))
    bodies = {
        "poll": {"pollster": EV_TEXT, "date": st.sampled_from(["2026-10-15", "2026-01-01"]),
                 "n": st.integers(1, 10**7), "share_opposed": st.floats(0, 1), "wording": EV_TEXT},
        "episode": {"action_type": st.sampled_from(o.action_ids), "date": st.sampled_from(["2026-10-10", "1990-01-01"]),
                    # an entry codes what was observed: a blank code carries no information and is refused
                    "responses": st.dictionaries(st.sampled_from(NO_REQUIRES), st.sampled_from([0, 1, "1"]),
                                                 min_size=1),
                    "severity": st.sampled_from([1, 5, "3", 2.5]), "consent": st.sampled_from(["none", "voluntary"])},
        "signal": {"actions": st.lists(st.sampled_from(o.action_ids), min_size=1, max_size=3),
                   "response": st.sampled_from(o.response_ids), "lower": st.sampled_from([0.1, "0.2"]),
                   "upper": st.sampled_from([0.3, 0.5]), "mass": st.sampled_from([0.8, 0.9]),
                   "strength": st.floats(0.01, 100)},
    }

    def build(kind: str):
        top = {"id": st.sampled_from(["E-2026-10-p", "E.x_1", "e1"]),
               "date_known": st.sampled_from(["2026-10-20", "2026-11-23"]),
               "source": st.one_of(st.sampled_from(["https://example.org/e", "cite"]), EV_LINE), "summary": EV_LINE,
               "kind": st.just(kind)}
        return st.tuples(mostly_valid(top, nasty, 1), mostly_valid(bodies[kind], nasty)).map(
            lambda tb: ({**tb[0][0], kind: tb[1][0]}, tb[0][1] + tb[1][1]))

    return st.sampled_from(KINDS).flatmap(build)


@PROPS
@given(record=st.data())
def test_property_evidence_entries(ont, record):
    raw, bad = record.draw(evidence_records(ont))
    with tempfile.TemporaryDirectory() as tmp:
        ev = Path(tmp) / "evidence"
        ev.mkdir()
        name = f"{raw['id']}.yaml" if isinstance(raw["id"], str) and ID_RE.fullmatch(raw["id"]) else "E-h.yaml"
        (ev / name).write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
        try:
            log = load_evidence(ev, ont, TODAY)
        except InputError as e:
            _refused(e, bad)
            return
    event(f"loaded {raw['kind']}")
    e = assert_loaded_entry(log, ont)
    if not bad:
        assert (e.summary, e.source) == (raw["summary"].strip(), raw["source"].strip())


def assert_loaded_entry(log, ont):
    """What an evidence log of one file that loaded must satisfy, whatever the file held: one valid entry, named by
    its file, and polls, episodes and signals within the schema's ranges. Returns the entry."""
    assert len(log.entries) == 1
    e = log.entries[0]
    assert ID_RE.match(e.id) and e.path.stem == e.id
    assert e.date_known <= TODAY and e.kind in KINDS
    assert e.summary and "\n" not in e.summary and e.source
    for _, p in log.polls.iterrows():
        assert 0 <= p["share_opposed"] <= 1 and 1 <= p["n"] <= 10_000_000 and p["date"] <= e.date_known
    for _, t in log.episodes.table.iterrows():
        assert t["date"] <= e.date_known and 1 <= t["severity"] <= 5 and t["action_type"] in ont.action_ids
    out = log.episodes.outcomes
    assert out.isin([0.0, 1.0]).to_numpy().sum() + out.isna().to_numpy().sum() == out.size
    for c in log.signals:
        assert c.response in ont.response_ids and set(c.actions) <= set(ont.action_ids)
        assert 0.01 <= c.strength <= 100 and all(math.isfinite(c.dist[k]) and c.dist[k] > 0 for k in ("alpha", "beta"))
    return e


@PROPS
@given(doc=st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), nasty_text()),
                        lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                st.dictionaries(st.sampled_from(["id", "kind", "poll", "summary", "x"]),
                                                                inner, max_size=4)), max_leaves=12),
       text=st.one_of(st.none(), st.text(max_size=60)))
def test_property_arbitrary_yaml_documents(ont, doc, text):
    """Any YAML document, or any text at all, as an evidence file: an entry that satisfies the schema, or a one-line
    InputError that names the file (so the analyst knows which of the log's files to fix)."""
    with tempfile.TemporaryDirectory() as tmp:
        ev = Path(tmp) / "evidence"
        ev.mkdir()
        body = text if text is not None else yaml.safe_dump(doc, allow_unicode=True)
        (ev / "E-doc.yaml").write_text(body, encoding="utf-8")
        try:
            log = load_evidence(ev, ont, TODAY)
        except InputError as e:
            one_line(e, "E-doc.yaml")
            event("refused")
            return
    event("loaded")
    assert assert_loaded_entry(log, ont).id == "E-doc"
