"""The back-test scores the model as it would have been published the day before each episode (no fitting).

The fitter is replaced by one that records the inputs it is asked to fit and stops the back-test there, so these
tests see exactly what the first forecast origin's fit would know. On main before this change the back-test
fitted a history-only model that kept the article's prior on the opinion's effect (C13, dated 2026-01-16) at
every origin (hindsight), decided which episodes sit at the polled opinion from today's date, and never scored
the published model (claims, polls): ``test_first_origin_knows_only_the_past`` and
``test_after_the_article_the_published_model_is_scored`` fail there.

Also: the sentence every report shows, on known inputs; and that the loader path (``forecast check``) applies
each evidence entry's date known and that day's restatements.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from forecast.analysis.checks.backtest import backtest, known_at, ordered
from forecast.model.build import KAPPA, design

SAMPLER = {"nuts_sampler": "nutpie", "draws": 10, "tune": 10, "chains": 1, "cores": 1, "target_accept": 0.9}


class Stop(Exception):
    pass


def first_fit(inputs, episode_id: str):
    """The inputs of the back-test's first fit when ``episode_id`` is the first episode predicted."""
    seen = []

    def fitter(inp):
        seen.append(inp)
        raise Stop

    pos = list(ordered(inputs.episodes).table.index).index(episode_id)
    with pytest.raises(Stop):
        backtest(inputs, SAMPLER, 1, None, min_history=pos, fitter=fitter)
    return seen[0]


def _claim_ids(inp) -> set[str]:
    return {c.id for c in inp.claims if not c.unused}


def test_first_origin_knows_only_the_past(inputs):
    """Predicting P18 (2025-02-01): the fit knows neither the article (2026-01-16: no claim, the opinion effect's
    prior is conf/model's default, not C13) nor a poll, and sits P17 (2024-07-25, 191 days earlier) at the
    polled opinion, as a report published on 2025-01-31 would; from today's date P17 is outside the poll window."""
    first = first_fit(inputs, "P18")
    assert "C13" not in _claim_ids(first) and not _claim_ids(first)
    assert first.as_of == dt.date(2025, 1, 31)
    d = design(first)
    assert d.kappa_sigma == pytest.approx(float(inputs.hyper["kappa_prior_sigma"]))
    assert set(first.episodes.table.index) == set(ordered(inputs.episodes).table.index[:17])
    recent = dict(zip(first.episodes.table.index, d.ep_recent, strict=True))
    window = int(inputs.hyper["poll_window_days"])
    dates = first.episodes.table["date"]
    assert recent == {i: (first.as_of - dates[i]).days <= window for i in dates.index}
    assert recent["P17"] and not recent["P15"]
    assert (inputs.as_of - dates["P17"]).days > window  # from today's date P17 is outside: the two rules differ
    assert len(first.polls[first.polls["use"] == "likelihood"]) == 0


def test_after_the_article_the_published_model_is_scored(inputs):
    """Predicting the first episode after the article's date: the first fit is the published model of the day
    before (the article's claims, C13 among them, and the polls known then), not the history alone."""
    article = dt.date.fromisoformat(min(c.date_known for c in inputs.claims if c.date_known))
    after = next(i for i, d in ordered(inputs.episodes).table["date"].items() if d > article)
    first = first_fit(inputs, after)
    used = _claim_ids(first)
    assert "C13" in used and len(used) > 10
    assert design(first).kappa_sigma != pytest.approx(float(inputs.hyper["kappa_prior_sigma"]))
    assert len(first.polls[first.polls["use"] == "likelihood"]) >= 1
    assert KAPPA == "opinion_effect"


def test_known_at_gates_claims_polls_and_episodes_by_date(inputs):
    day = dt.date(2026, 1, 14)
    k = known_at(inputs, day)
    assert k.as_of == day and all(d <= day for d in k.episodes.table["date"])
    assert not _claim_ids(k)  # every claim is dated 2026-01-16
    assert all(d <= day for d in k.polls["date"])
    later = known_at(inputs, dt.date(2026, 3, 1))
    assert "C13" in _claim_ids(later)


def test_forecast_checks_loader_applies_dates_known_and_restatements(cfg):
    """``forecast check``'s back-test reloads data/ at each date: an evidence episode enters on its date known (not
    its date), and from the article's date the cells a kept claim restates leave the record (C05 restates the
    January 2026 episode's protest)."""
    from forecast.analysis.checks.run import backtest_inputs_at

    at = backtest_inputs_at(cfg)
    ep = "E-2026-01-sof-push-rejected"  # dated 2026-01-15, known 2026-01-20
    assert ep not in at(dt.date(2026, 1, 19)).episodes.table.index
    later = at(dt.date(2026, 2, 21))
    assert ep in later.episodes.table.index
    assert pd.isna(later.episodes.outcomes.at[ep, "diplomatic_protest"])
    before = at(dt.date(2025, 12, 1))
    assert not _claim_ids(before) and before.provenance["priors_before_article"] == "exclude"


def test_since_claims_and_the_sentence():
    """The per-cell difference, its SE over cells, the counts, and a sentence that names the direction, the size,
    the standard error and that a few episodes are a direction, not a verdict."""
    from forecast.analysis.checks.claims import sentence, since_claims

    cells = pd.DataFrame({"episode": ["A", "A", "B", "C"], "y": [0, 1, 0, 0], "claims_used": [0, 5, 5, 5],
                          "as_of": ["2026-01-01", "2026-02-01", "2026-03-01", "2026-03-01"],
                          "model": [0.5, 0.6, 0.4, 0.3], "no_claims": [0.5, 0.7, 0.2, 0.2]})
    s = since_claims(cells)
    assert s["n_cells"] == 3 and s["n_episodes"] == 3
    lw = -np.log([0.6, 0.6, 0.7])
    lo = -np.log([0.7, 0.8, 0.8])
    assert s["log_score_diff"] == pytest.approx(np.mean(lw - lo))
    assert s["log_score_diff_se"] == pytest.approx(np.std(lw - lo, ddof=1) / np.sqrt(3))
    text = sentence(s, "2026-01-16")
    assert "worsened" in text and "3 episodes show a direction, not a verdict" in text
    assert f"{s['log_score_diff']:+.3f}" in text and f"SE {s['log_score_diff_se']:.3f}" in text
    better = cells.assign(model=cells["no_claims"], no_claims=cells["model"])
    assert "improved" in sentence(since_claims(better), "2026-01-16")
    assert "nothing yet says" in sentence(since_claims(cells[cells["claims_used"] == 0]), "2026-01-16")


def test_every_report_shows_the_sentence(tmp_path):
    """The sentence reaches a scenario report: checks.json's headline -> the report's checks section (and so
    forecast.json) -> the "How good are these probabilities?" blocks of report.html and report.md."""
    import json

    from forecast.outputs.checks_report import CHECKS_DIR, checks_section
    from forecast.outputs.render.sections.checks import summary

    text = "Since the article (2026-01-16) its claims have worsened the forecasts of what happened: ..."
    (tmp_path / CHECKS_DIR).mkdir()
    (tmp_path / CHECKS_DIR / "checks.json").write_text(json.dumps({
        "as_of": "2026-12-01", "inputs_hash": "h", "headline": {"article": {"sentence": text, "n_cells": 3}}}))
    section, _ = checks_section(tmp_path, "one_time_raid")
    assert section["article"]["sentence"] == text and section["article"]["n_cells"] == 3
    blocks = summary({"checks": section, "responses": []})
    assert any(text in str(b) for b in blocks)


def test_loo_comparison_pairs_episodes():
    from forecast.analysis.checks.claims import loo_comparison

    w = {"per_episode": [{"episode": "a", "elpd_i": -1.0}, {"episode": "b", "elpd_i": -2.0},
                         {"episode": "c", "elpd_i": -3.5}], "max_k": 0.5}
    wo = {"per_episode": [{"episode": "a", "elpd_i": -1.5}, {"episode": "b", "elpd_i": -1.0},
                          {"episode": "c", "elpd_i": -3.0}], "max_k": 0.6}
    r = loo_comparison(w, wo)
    d = np.array([0.5, -1.0, -0.5])
    assert r["elpd_diff"] == pytest.approx(d.sum()) and r["se"] == pytest.approx(np.sqrt(3 * d.var(ddof=1)))
    assert r["episodes_worse_with_claims"] == 2 and [x["episode"] for x in r["largest_losses"]] == ["b", "c"]


def test_new_evidence_changes_only_the_forecast_origins_it_enters(inputs):
    """The back-test's exact fits are kept in the posterior cache by inputs hash, which is what lets a second
    ``forecast check`` reuse them: a poll published between two forecast origins leaves the key of every earlier
    origin (so its cached fit) unchanged and changes every later one inside its poll window. A key that missed the
    poll would fail the second half; one that covered today's inputs instead of the day's, the first."""
    from forecast.analysis.checks.backtest import BACKTEST_SAMPLER, VARIANTS
    from forecast.model.cache import inputs_hash

    eps = ordered(inputs.episodes)
    days = sorted({d - dt.timedelta(days=1) for d in eps.table["date"].iloc[9:]})
    j = len(days) - 3
    new_day = days[j] + dt.timedelta(days=1)
    assert new_day < days[j + 1]
    row = inputs.polls.iloc[[0]].assign(date=[new_day], use="likelihood")
    row.index = ["POLL_NEW"]
    added = dataclasses.replace(inputs, polls=pd.concat([inputs.polls, row]))
    s = {**SAMPLER, **BACKTEST_SAMPLER}

    def keys(inp):
        return {f: [inputs_hash(VARIANTS[f](known_at(inp, d)), s, 1) for d in days] for f in ("model", "no_claims")}

    before, after = keys(inputs), keys(added)
    window = int(inputs.hyper.get("poll_window_days", 730))
    for f in before:
        assert before[f][: j + 1] == after[f][: j + 1]
        later = [i for i in range(j + 1, len(days)) if (days[i] - new_day).days <= window]
        assert later and all(before[f][i] != after[f][i] for i in later)


def test_the_fits_foreseen_ahead_of_the_walks(cfg, inputs):
    """``forecast check`` fits ahead of the back-test's walks, in a worker, the exact fits it can foresee before any
    draw: each walk's first forecast origin, and the origins that are no reweighting of the origin before (on
    today's record: the day before the first episode after the article, when the claims' restatements take P15's
    restated cells out of the record, a fit of each forecaster's own). A refit a Pareto k decides is not foreseen,
    and none is foreseen twice (the walks share the first origin's fit)."""
    from forecast.analysis.checks.backtest import BACKTEST_SAMPLER, VARIANTS, foreseen_fits, origins
    from forecast.analysis.checks.run import backtest_inputs_at
    from forecast.model.cache import inputs_hash
    from forecast.model.reweight import NotReweightable, diff, state

    s = {**SAMPLER, **BACKTEST_SAMPLER}
    _, cells, o = origins(inputs, 9, backtest_inputs_at(cfg))
    assert len(o) == len(ordered(inputs.episodes).table) - 9
    assert (cells.loc[cells["episode_pos"] >= 9, "as_of"] != "").all()
    got = foreseen_fits(o, s, 1)
    hashes = [inputs_hash(t, s, 1) for t in got]
    assert len(set(hashes)) == len(hashes) and got[0].as_of == o[0][1].as_of
    article = dt.date.fromisoformat(min(c.date_known for c in inputs.claims if c.date_known))
    changed = [i for i in range(1, len(o)) if o[i][1].as_of >= article]
    assert changed and len(got) == 1 + 3  # the first origin's, then the changed origin's of each forecaster
    for t, f in zip(got[1:], ("model", "no_claims", "history_only"), strict=True):
        i = next(i for i, (_, p) in enumerate(o) if p.as_of == t.as_of)
        assert inputs_hash(VARIANTS[f](o[i][1]), s, 1) == inputs_hash(t, s, 1)
        with pytest.raises(NotReweightable, match="removed or changed"):
            diff(state(VARIANTS[f](o[i - 1][1]), {"backtest": 1}), t, {"backtest": 1})


def test_a_fit_sampled_ahead_by_this_run_counts_as_sampled(inputs):
    """With workers fitting ahead of the walks, the walk reads such a fit from the posterior cache: it was sampled by
    this run all the same (not in the cache when the run began), unlike a fit an earlier run left there."""
    from types import SimpleNamespace

    from forecast.analysis.checks.backtest import LFO

    said = []
    first = known_at(inputs, dt.date(2010, 1, 1))
    lfo = LFO(lambda inp: SimpleNamespace(from_cache=True), SAMPLER, 1, say=said.append, cached_before=set())
    lfo.refit(first, "h1", "first forecast origin")
    lfo.cached_before = {"h2"}
    lfo.refit(first, "h2", "Pareto k")
    assert [x["sampled"] for x in lfo.fits] == [True, False]
    assert said[0].endswith("sampled ahead by a worker") and said[1].endswith("cache hit")
    plain = LFO(lambda inp: SimpleNamespace(from_cache=True), SAMPLER, 1)  # no workers: the cache's fits are old
    plain.refit(first, "h1", "first forecast origin")
    assert plain.fits[0]["sampled"] is False


def test_no_workers_when_the_check_has_nothing_to_sample(cfg, inputs, tmp_path, monkeypatch):
    """A second ``forecast check`` with nothing new reads its fits: workers beside it would only compete with it for
    the cores, so none start when the posterior, the fit without the claims and the back-test's first fit are
    cached; one of them missing (a fresh home, new evidence, another --min-history) starts them."""
    from forecast.analysis.checks import ahead
    from forecast.model import cache as C
    from forecast.model.fit import config_hash

    asked = []
    real = C.posterior_path
    monkeypatch.setattr(C, "posterior_path", lambda d, h: asked.append(h) or real(d, h))
    todo = ["loo", "claims", "backtest"]
    made = []
    while not ahead._nothing_to_sample(cfg, inputs, todo, 9, None, tmp_path):
        assert len(made) < 3 and asked[-1] not in made
        made.append(asked[-1])  # the first fit missing, now cached
        real(tmp_path, made[-1]).parent.mkdir(parents=True, exist_ok=True)
        real(tmp_path, made[-1]).touch()
        asked.clear()
    # the posterior, the fit without the claims (its posterior alone), the back-test's first origin's
    assert made[0] == config_hash(cfg, inputs) and len(set(made)) == 3
    assert not ahead._nothing_to_sample(cfg, inputs, todo, 10, None, tmp_path)  # another first origin
    assert ahead._nothing_to_sample(cfg, inputs, ["loo", "claims"], 10, None, tmp_path)
