"""Each sentence of the article counts once, and a claim restates only what existed before it.

Decisive on the shipped claims (conf/priors/article.yaml), no fitting. On main before issue 24 both tests
failed: three pairs of claims quoted the same sentence and constrained a common cell (C48 and C48-effect, the
voluntary-consent slope derived from C48 versus C10; C30 and C30-order; C39 and C39-order), and C15 (the
article's 80%, 2026-01-16) was dropped as a restatement of El Financiero's poll fielded 2026-01-31.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import re

import pytest

import forecast
from forecast.inputs.data import load_ontology, load_polls
from forecast.inputs.evidence import load_evidence
from forecast.inputs.priors import parse_claims
from forecast.paths import conf_dir

RUN = 8  # a run of this many words in common: the same sentence (the shortest quote has 17 words)


def _claims(text: str | None = None):
    import yaml

    from forecast.paths import project_root

    ont = load_ontology(project_root() / "data")
    raw = yaml.safe_load(text if text is not None else (conf_dir() / "priors" / "article.yaml").read_text())
    return parse_claims(raw, ont), ont


def _words(quote: str) -> list[str]:
    return re.findall(r"[\w'’.-]+", quote.casefold().replace("...", " "))


def shared_run(a: str, b: str, n: int = RUN) -> str | None:
    """A run of ``n`` consecutive words both quotes contain (ellipses cut the runs), or None."""
    def runs(q: str) -> set[tuple[str, ...]]:
        out = set()
        for part in re.split(r"\.\.\.|…", q):
            w = _words(part)
            out |= {tuple(w[i:i + n]) for i in range(len(w) - n + 1)}
        return out

    common = runs(a) & runs(b)
    return " ".join(sorted(common)[0]) if common else None


def cells_of(c, ont) -> set[tuple[str, str]]:
    """The (action, response) cells a claim speaks about: its cells, an ordering's cells, an effect's every cell
    of an action with that covariate, a latent driver's every cell."""
    if c.kind == "cell":
        return {(a, c.response) for a in c.actions}
    if c.kind == "ordering":
        return set(c.cells)
    if c.kind == "effect":
        X = ont.covariates(ont.actions)
        k = ont.covariate_names.index(c.covariate)
        return {(a, r) for a, x in zip(ont.action_ids, X[:, k], strict=True) if x for r in ont.response_ids}
    return {(a, r) for a in ont.action_ids for r in ont.response_ids}


def double_counts(claims, ont) -> list[tuple[str, str, str]]:
    """Pairs of claims that quote the same sentence and speak about a common cell: one sentence counted twice."""
    out = []
    for a, b in itertools.combinations([c for c in claims if c.origin == "article"], 2):
        run = shared_run(a.quote, b.quote)
        if run and cells_of(a, ont) & cells_of(b, ont):
            out.append((a.id, b.id, run))
    return out


def test_no_sentence_of_the_article_is_counted_twice():
    claims, ont = _claims()
    assert double_counts(claims, ont) == []


def test_the_check_finds_a_sentence_counted_twice():
    """The check is not vacuous: a second claim quoting C39's sentence about an overlapping cell is found, one
    quoting C32's sentence about another response (C33, the threat, as shipped) is not."""
    claims, ont = _claims()
    c39 = next(c for c in claims if c.id == "C39")
    c32 = next(c for c in claims if c.id == "C32")
    c33 = next(c for c in claims if c.id == "C33")
    assert shared_run(c32.quote, c33.quote) and not cells_of(c32, ont) & cells_of(c33, ont)

    cells = (("sustained_presence", "engage_us_rivals"), ("sustained_presence", "expel_agents"))
    dup = dataclasses.replace(c39, name="dup", id="C39-again", kind="ordering", response=None, actions=(), cells=cells)
    assert [(a, b) for a, b, _ in double_counts([*claims, dup], ont)] == [("C39", "C39-again")]


def _item_dates(data_dir, ont) -> dict[str, dt.date]:
    """The date of every source a claim can restate: a poll's fieldwork date, an evidence entry's event date (a
    signal's: the date it became known), an episode's date."""
    from forecast.inputs.data import load_precedents

    today = dt.date(2100, 1, 1)
    out = {str(i): d for i, d in load_polls(data_dir / "polls.csv", today)["date"].items()}
    ev = load_evidence(data_dir / "evidence", ont, today, today)
    out |= {str(i): d for i, d in ev.polls["date"].items()}
    out |= {str(i): d for i, d in ev.episodes.table["date"].items()}
    out |= {s.id: dt.date.fromisoformat(s.date_known) for s in ev.signals}
    out |= {str(i): d for i, d in load_precedents(data_dir / "precedents.csv", ont, today).table["date"].items()}
    return out


def test_a_claim_restates_only_sources_older_than_itself():
    """A claim left out because it restates a source (keep: source), or one that restates coded episodes, can
    only restate what existed on the claim's date: the article of 2026-01-16 cannot cite a poll fielded after it.
    (A signal derived from a claim, kept as the claim, is the reverse case and may be later.)"""
    from forecast.paths import project_root

    claims, ont = _claims()
    dates = _item_dates(project_root() / "data", ont)
    late = []
    for c in claims:
        for item in c.restates:
            eid, _, resp = item.partition(":")
            assert eid in dates, f"{c.id} restates {item!r}, which is no poll, evidence entry or episode"
            if (c.keep == "source" or resp) and dates[eid] > dt.date.fromisoformat(c.date_known):
                late.append((c.id, item, dates[eid].isoformat()))
    assert late == []


@pytest.mark.parametrize("as_of", ["2026-01-15", "2026-01-16", "2026-11-29"])
def test_the_articles_80_percent_is_a_poll_from_the_article_s_date(as_of):
    """The article's 80% enters as a poll (ARTICLE-80, an unnamed pollster) from the article's date, never before
    it, and never also as the opinion's prior (C15 restates it)."""
    day = dt.date.fromisoformat(as_of)
    inputs = forecast.load_inputs(forecast.compose([f"as_of={as_of}"]), dt.date(2026, 11, 29))
    c15 = next(c for c in inputs.claims if c.id == "C15")
    used = inputs.polls[inputs.polls["use"] == "likelihood"]
    if day < dt.date(2026, 1, 16):
        assert "ARTICLE-80" not in inputs.polls.index and c15.unused.startswith("dated")
    else:
        assert used.at["ARTICLE-80", "share_opposed"] == 0.8 and c15.unused.startswith("restates ARTICLE-80")
