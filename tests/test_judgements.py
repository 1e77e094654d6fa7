"""Analysts' judgements: validated with one-line errors, never overwritten, dated (as_of), pooled
correctly (closed forms against numeric pools), the importance-sampling shortcut against an exact
refit, and the report's attribution naming the judgement that moved the pool."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pytest
import yaml
from omegaconf import OmegaConf

from forecast.cli.main import main
from forecast.errors import InputError
from forecast.inputs.data import load_ontology
from forecast.inputs.judgements import (
    add_judgement,
    analyst_claims,
    load_analyst,
    log_pool,
    log_pool_claims,
    log_pool_grid,
    parse_judgement,
    parse_weights,
)
from forecast.inputs.priors import parse_claims
from forecast.model.psis import psis_weights

from .conftest import ROOT, TODAY

GOOD = {"id": "J-2026-03-raid-armed", "author": "Test Analyst", "date_made": "2026-03-01",
        "rationale": "A test judgement: armed resistance to a single raid is likelier than the article says.",
        "sources": ["https://example.org/statement", "data/evidence/E-2026-01-sof-push-rejected.yaml"],
        "revises": "C29", "constrains": {"kind": "cell", "actions": ["one_time_raid"], "response": "armed_resistance"},
        "elicit": {"family": "Beta", "lower": 0.10, "upper": 0.30, "mass": 0.8}}


@pytest.fixture(scope="module")
def world():
    ont = load_ontology(ROOT / "data")
    article = parse_claims(yaml.safe_load((ROOT / "conf/priors/article.yaml").read_text()), ont)
    return ont, article


def _files(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def _with(path: str, value):
    raw = copy.deepcopy(GOOD)
    *parents, last = path.split(".")
    node = raw
    for p in parents:
        node = node[p]
    if value is _DROP:
        node.pop(last)
    else:
        node[last] = value
    return raw


_DROP = object()
BAD = [
    ("colour", "red", r"key 'colour'.*unknown key"),
    ("id", "../../etc/x", r"is not a valid id"),
    ("author", _DROP, r"'author'.*author missing"),
    ("author", "two\nlines", r"'author'.*more than one line"),
    ("date_made", "2026-13-01", r"'date_made'.*is not a date"),
    ("date_made", "2031-01-01", r"'date_made'.*in the future"),
    ("rationale", "  ", r"'rationale'.*missing"),
    ("sources", [], r"'sources'.*missing"),
    ("sources", ["https://ok.org", ""], r"'sources'\[1\]"),
    ("revises", "C99", r"'revises'.*'C99' is neither an article claim nor a judgement"),
    ("revises", "C15", r"'revises'.*C15 is about latent:public_opposition, this judgement about "
                       r"P\(armed_resistance \| one_time_raid\)"),
    # a cell about another response or other actions: accepted before, it silently dropped the article's claim
    ("revises", "C32", r"'revises'.*C32 is about P\(expel_agents \| one_time_raid, repeated_raids, sustained_presence"
                       r"\), this judgement about P\(armed_resistance \| one_time_raid\): revising it would drop .*; "
                       r"revise C29 \(about the same\)"),
    ("revises", "C30", r"'revises'.*C30 is about P\(armed_resistance \| repeated_raids, sustained_presence\)"),
    ("constrains", _DROP, r"constrains.*missing"),
    ("constrains.kind", "vibe", r"unknown kind 'vibe'"),
    ("constrains.actions", ["nowhere"], r"unknown action 'nowhere'"),
    ("constrains.response", "shrug", r"unknown response 'shrug'"),
    ("elicit", _DROP, r"'elicit'.*missing"),
    ("elicit.lower", 0.9, r"lower 0.9 is not below upper 0.3"),
    ("elicit.upper", 1.2, r"upper.*1.2 is outside"),
    ("strength", -1, r"strength.*-1 is outside"),
]


@pytest.mark.parametrize(("field", "value", "pattern"), BAD, ids=[b[0] + "=" + repr(b[1])[:12] for b in BAD])
def test_every_field_is_validated_in_one_line_and_nothing_is_written(tmp_path, world, field, value, pattern):
    """Each plausible mistake in each field is refused with one line naming the field, and the folder is
    untouched (a validator that skipped a field would write the file: the snapshot would differ)."""
    ont, article = world
    jdir = tmp_path / "judgements"
    add_judgement(jdir, "ana", {**GOOD, "id": "J-first"}, ont, article, TODAY)
    before = _files(jdir)
    with pytest.raises(InputError, match=pattern) as e:
        add_judgement(jdir, "ana", _with(field, value), ont, article, TODAY)
    assert "\n" not in str(e.value)
    assert _files(jdir) == before


def test_a_latent_or_effect_the_article_sets_must_name_the_claim_it_revises(world, tmp_path):
    ont, article = world
    raw = {**GOOD, "constrains": {"kind": "latent", "target": "public_opposition"},
           "elicit": {"family": "Beta", "lower": 0.5, "upper": 0.8, "mass": 0.9}}
    raw.pop("revises")
    with pytest.raises(InputError, match=r"already sets latent:public_opposition \(C15\); add `revises: C15`"):
        add_judgement(tmp_path, "ana", raw, ont, article, TODAY)
    add_judgement(tmp_path, "ana", {**raw, "revises": "C15"}, ont, article, TODAY)


def test_never_overwrites_revisions_chain_and_as_of(tmp_path, world, capsys):
    """A second add of the same id is refused byte-for-byte; a second revision of C29 must chain to the
    first; as_of picks the judgements made by then (the later revision replaces the earlier one only from
    its date)."""
    ont, article = world
    jdir = tmp_path / "judgements"
    p = add_judgement(jdir, "ana", GOOD, ont, article, TODAY)
    before = _files(jdir)
    with pytest.raises(InputError, match="a judgement with this id exists"):
        add_judgement(jdir, "ana", {**GOOD, "rationale": "changed my mind"}, ont, article, TODAY)
    later = {**GOOD, "id": "J-2026-05-raid-armed", "date_made": "2026-05-01",
             "elicit": {"family": "Beta", "lower": 0.2, "upper": 0.5, "mass": 0.8}}
    with pytest.raises(InputError, match=r"J-2026-03-raid-armed of the same analyst is already a revision of C29"):
        add_judgement(jdir, "ana", later, ont, article, TODAY)
    assert _files(jdir) == before, "a refused judgement left a file behind"
    add_judgement(jdir, "ana", {**later, "revises": GOOD["id"]}, ont, article, TODAY)
    assert p.read_bytes() == before[f"ana/{p.name}"]
    ids = lambda as_of: [j.id for j in load_analyst(jdir, "ana", ont, article, TODAY, as_of)]  # noqa: E731
    assert ids(dt.date(2026, 2, 28)) == []
    assert ids(dt.date(2026, 3, 1)) == [GOOD["id"]]
    assert ids(dt.date(2026, 5, 1)) == ["J-2026-05-raid-armed"]
    active = load_analyst(jdir, "ana", ont, article, TODAY)
    assert active[0].article_claim == "C29", "a revision of a revision must still replace the article's C29"
    claims = analyst_claims(article, active)
    assert "C29" not in {c.id for c in claims} and "ana/J-2026-05-raid-armed" in {c.id for c in claims}
    assert len(claims) == len(article)


def test_cli_add_list_check(tmp_path, capsys):
    data = tmp_path / "data"
    import shutil

    shutil.copytree(ROOT / "data", data)
    args = ["judgement", "add", "--data-dir", str(data), "--analyst", "cli-ana", "--id", "J-cli",
            "--author", "CLI Analyst", "--date-made", "2026-03-02", "--rationale", "why", "--source",
            "https://example.org", "--revises", "C29", "--kind", "cell", "--actions", "one_time_raid",
            "--response", "armed_resistance", "--lower", "0.1", "--upper", "0.3"]
    with pytest.raises(SystemExit) as e:
        main(args)
    assert e.value.code == 0
    saved = yaml.safe_load((data / "judgements/cli-ana/J-cli.yaml").read_text())
    assert saved["elicit"] == {"lower": 0.1, "upper": 0.3, "mass": 0.8} and saved["revises"] == "C29"
    with pytest.raises(SystemExit) as e:
        main(args)
    assert e.value.code == 2
    assert "a judgement with this id exists" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["judgement", "list", "--data-dir", str(data), "--as-of", "2026-03-02"])
    out = capsys.readouterr().out
    assert "cli-ana" in out and "J-cli" in out and "example-hawk" in out


# ---------------------------------------------------------------------- pooling: known answers
def test_log_and_linear_pools_match_their_known_answers():
    """Closed-form log pools equal the numerically normalised weighted geometric mean of the densities
    (PreliZ logpdfs on a grid) to 1e-3; unnormalised weights are normalised. Dropping the normalisation
    (weights 1 and 3 taken as given) makes Beta(17, 8) instead of Beta(4.5, 5.5): density error > 1."""
    import preliz as pz

    grid = np.linspace(1e-4, 1 - 1e-4, 20001)
    d1, d2 = {"family": "Beta", "alpha": 2.0, "beta": 8.0}, {"family": "Beta", "alpha": 6.0, "beta": 2.0}
    got = log_pool([d1, d2], [1.0, 3.0])
    assert got == pytest.approx({"family": "Beta", "alpha": 0.25 * 2 + 0.75 * 6, "beta": 0.25 * 8 + 0.75 * 2})
    num = log_pool_grid([pz.Beta(2, 8).logpdf, pz.Beta(6, 2).logpdf], [1, 3], grid)
    assert np.abs(num - pz.Beta(got["alpha"], got["beta"]).pdf(grid)).max() < 1e-3
    x = np.linspace(-12, 12, 20001)
    n1, n2 = {"family": "Normal", "mu": -1.0, "sigma": 0.5}, {"family": "Normal", "mu": 2.0, "sigma": 1.5}
    got = log_pool([n1, n2], [0.5, 0.5])
    num = log_pool_grid([pz.Normal(-1, 0.5).logpdf, pz.Normal(2, 1.5).logpdf], [0.5, 0.5], x)
    assert np.abs(num - pz.Normal(got["mu"], got["sigma"]).pdf(x)).max() < 1e-3
    assert got["mu"] == pytest.approx((-1 / 0.25 + 2 / 2.25) / (1 / 0.25 + 1 / 2.25))
    h = log_pool([{"family": "HalfNormal", "sigma": 1.0}, {"family": "HalfNormal", "sigma": 2.0}], [0.5, 0.5])
    assert h["sigma"] == pytest.approx(1 / np.sqrt(0.5 + 0.5 / 4))
    # linear pool = mixture: its mean is the weighted mean of the means, and it is bimodal where the log pool is not
    lin = linear_pool_grid([pz.Beta(2, 8).logpdf, pz.Beta(8, 2).logpdf], [0.5, 0.5], grid)
    assert np.trapezoid(lin * grid, grid) == pytest.approx(0.5, abs=1e-3)
    assert lin[np.searchsorted(grid, 0.5)] < 0.5 * lin.max()
    lp = log_pool_grid([pz.Beta(2, 8).logpdf, pz.Beta(8, 2).logpdf], [0.5, 0.5], grid)
    assert grid[np.argmax(lp)] == pytest.approx(0.5, abs=1e-3)
    assert parse_weights(["a", "b"], {"a": 3}) == {"a": 0.75, "b": 0.25}
    with pytest.raises(InputError, match="pool_weights.c.*not one of the selected analysts"):
        parse_weights(["a", "b"], {"c": 1})


def linear_pool_grid(logpdfs: list, weights: list[float], grid):
    """Linear pool (mixture) of densities at the grid points, sum w_i p_i: the pool the log pool is contrasted with
    (the product's linear pool mixes reweighted draws, forecast/analysis/pooling.py)."""
    w = np.asarray(weights, dtype=float) / float(np.sum(weights))
    return sum(wi * np.exp(np.asarray(f(grid), dtype=float)) for wi, f in zip(w, logpdfs, strict=True))


def test_log_pool_claims_of_the_shipped_examples(world):
    """The log pool keeps every unrevised article claim as is, puts each analyst's revision of C33 at its
    weight, and pools both revisions of C15 in closed form (a bug keeping the article's C15, or both
    revisions at full strength, is caught)."""
    ont, article = world
    sets = {a: load_analyst(ROOT / "data/judgements", a, ont, article, TODAY) for a in ("example-hawk", "example-dove")}
    w = {"example-hawk": 0.75, "example-dove": 0.25}
    pooled = log_pool_claims(article, sets, w, {"slope_sd": 1.0})
    by_id = {c.id: c for c in pooled}
    assert "C33" not in by_id and "C15" not in by_id
    for c in article:
        if c.id not in ("C15", "C33"):
            assert by_id[c.id] is c
    assert by_id["example-hawk/J-2026-02-expulsion-threat"].strength == pytest.approx(0.75)
    assert by_id["example-dove/J-2026-02-cooperation-dampens"].strength == pytest.approx(0.25)
    theta = [c for c in pooled if c.target == "public_opposition"]
    assert len(theta) == 1
    h, d = (next(j.claim for j in sets[a] if j.claim.kind == "latent").dist for a in ("example-hawk", "example-dove"))
    assert theta[0].dist["alpha"] == pytest.approx(0.75 * h["alpha"] + 0.25 * d["alpha"])
    assert theta[0].dist["beta"] == pytest.approx(0.75 * h["beta"] + 0.25 * d["beta"])


def test_the_report_section_renders_only_when_analysts_are_selected():
    from forecast.analysis.analysts import analysts_sections
    from forecast.outputs.render import render_markdown

    # without analysts=[...] nothing is computed or read (the default report is unchanged)
    assert analysts_sections(OmegaConf.create({"analysts": []}), None, None, {}, None) == {}
    base = {"title": "T", "responses": [], "claims": [], "precedents": [], "diagnostics": {"ok": True}}
    assert "Analysts' judgements" not in render_markdown(base, {})
    sec = {"pool": "log", "weights": {"a": 0.5, "b": 0.5}, "interval": "90% equal-tailed interval",
           "analysts": [{"analyst": "a", "authors": ["Ann"], "weight": 0.5, "n_judgements": 1, "method": "m"},
                        {"analyst": "b", "authors": ["Bob"], "weight": 0.5, "n_judgements": 1, "method": "m"}],
           "rows": [{"response": "r", "label": "Resp", "article_prior": 0.1, "article": 0.2,
                     "analysts": {"a": 0.3, "b": 0.7}, "pooled": 0.5, "pooled_low": 0.2, "pooled_high": 0.8,
                     "moved_most_by": "b/J-1", "moved_most_change": 0.21}],
           "judgements": [{"analyst": "b", "id": "J-1", "author": "Bob", "date_made": "2026-03-01", "revises": "C29",
                           "replaces": "C29", "constrains": "P(x | y)", "distribution": "Beta(2, 2)",
                           "rationale": "because", "sources": ["https://example.org/x"],
                           "article": {"distribution": "Beta(1, 9)", "quote": "may not trigger"}}],
           "changes": {"rows": [{"response": "r", "previous": 0.4, "current": 0.5, "change": 0.1,
                                 "b/J-1 added (Bob)": 0.1}], "order": "in the order made"}}
    md = render_markdown({**base, "analysts": sec}, {})
    assert "Analysts' judgements, pooled" in md
    for s in ("Resp", "b/J-1", "Beta(1, 9)", "may not trigger", "Beta(2, 2)", "b/J-1 added (Bob)", "70%"):
        assert s in md, s


# ---------------------------------------------------------------------- the shortcut against the exact path
SAMPLER = {"name": "nutpie", "nuts_sampler": "nutpie", "draws": 400, "tune": 400, "chains": 2, "cores": 2,
           "target_accept": 0.9}


@pytest.fixture(scope="module")
def synthetic_pool(tmp_path_factory):
    from forecast.analysis import pooling
    from forecast.model.fit import fit

    from .synthetic import simulate_inputs

    inputs = simulate_inputs(n_episodes=200, seed=11)
    cache = tmp_path_factory.mktemp("judge")
    cfg = OmegaConf.create({"sampler": SAMPLER, "seed": 3, "paths": {"cache": str(cache), "data": str(cache)},
                            "pool": "log"})
    article_fit = fit(inputs, SAMPLER, 3, cache)

    def judgement(analyst, jid, lo, hi, made="2026-01-01"):
        raw = {"id": jid, "author": f"Analyst {analyst}", "date_made": made, "rationale": "synthetic",
               "sources": ["synthetic"], "constrains": {"kind": "cell", "actions": ["a1"], "response": "r4"},
               "elicit": {"family": "Beta", "lower": lo, "upper": hi, "mass": 0.9}}
        return parse_judgement(raw, analyst, inputs.ontology, inputs.claims, TODAY, "synthetic")

    sets = {"lo": [judgement("lo", "J1", 0.30, 0.60)], "hi": [judgement("hi", "J2", 0.70, 0.92)]}
    scen = {a: {"action": a, "profile": inputs.ontology.profile(a, {})} for a in inputs.ontology.action_ids}
    weights = {"lo": 0.75, "hi": 0.25}
    pool = pooling.pool_forecasts(cfg, inputs, article_fit, scen, sets, weights, "log")
    return cfg, inputs, article_fit, sets, scen, weights, pool


@pytest.mark.slow
def test_importance_sampling_matches_an_exact_refit_of_the_log_pool(synthetic_pool, monkeypatch):
    """P(r4 | a1) (r4 is never observed, so only the claims and the hierarchy inform it). Measured in two
    runs: article 0.70, analyst lo 0.53, hi 0.78; the log pool with weights 0.75/0.25 is 0.587-0.591 (sd
    0.076-0.077) by reweighting the article fit and 0.587-0.590 (sd 0.079-0.082) by an exact refit. From
    the same draws the test computes what plausible bugs would report, and requires each to miss the
    exact answer by more than the tolerance: weights ignored (equal) 0.647; both judgements at full
    strength (no power-scaling) sd 0.061, ratio 0.77; the reweighting's sign flipped 0.97. Tolerances:
    0.03 on the mean (3x the Monte Carlo error of 800 draws), sd ratio in (0.85, 1.18)."""
    from forecast.analysis import pooling

    cfg, inputs, article_fit, sets, scen, weights, pool = synthetic_pool
    a1, r4 = list(scen).index("a1"), inputs.ontology.response_ids.index("r4")
    m = {a: pool.components[a].means()[a1, r4] for a in sets}
    art = pool.article.means()[a1, r4]
    assert m["lo"] < art - 0.05 and m["hi"] > art + 0.05
    assert pool.pooled.k is not None and pool.pooled.k <= pooling.K_MAX and "importance" in pool.pooled.method
    is_mean = pool.pooled_means()[a1, r4]
    w = np.exp(pool.pooled.lw)
    vals = pool.pooled.base.pred["p"].values[:, :, a1, r4]
    is_sd = float(np.sqrt((w * (vals - is_mean) ** 2).sum()))
    monkeypatch.setattr(pooling, "K_MAX", -np.inf)  # force the exact path: a refit with the pooled claims
    claims = pooling.log_pool_claims(inputs.claims, sets, weights, inputs.hyper)
    base = pooling.make_base(article_fit, inputs.claims, inputs, scen)
    exact = pooling.exact_or_reweighted(cfg, inputs, base, claims, "log pool", scen)
    assert exact.method.startswith("refit")
    ex = exact.base.pred["p"].values[:, :, a1, r4]
    print(f"article {art:.3f} lo {m['lo']:.3f} hi {m['hi']:.3f} pooled IS {is_mean:.3f} (sd {is_sd:.3f}, "
          f"k {pool.pooled.k:.2f}) exact {ex.mean():.3f} (sd {ex.std():.3f})")
    assert abs(is_mean - ex.mean()) < 0.03
    assert 0.85 < is_sd / ex.std() < 1.18

    def moments(lr):
        ww = psis_weights(lr).w
        mu = float((ww * vals).sum())
        return mu, float(np.sqrt((ww * (vals - mu) ** 2).sum()))

    t = lambda c: pooling.claim_terms(c, base, inputs) - base.t_base  # noqa: E731
    equal = moments(t(pooling.log_pool_claims(inputs.claims, sets, {"lo": 0.5, "hi": 0.5}, inputs.hyper)))
    full = moments(t(pooling.log_pool_claims(inputs.claims, sets, {"lo": 1.0, "hi": 1.0}, inputs.hyper)))
    flipped = moments(-t(claims))
    print(f"bugs: equal weights {equal[0]:.3f}, full strength sd {full[1]:.3f}, sign flipped {flipped[0]:.3f}")
    assert abs(equal[0] - ex.mean()) > 0.03
    assert full[1] / ex.std() < 0.85
    assert abs(flipped[0] - ex.mean()) > 0.03
    assert m["lo"] < ex.mean() < (0.75 * m["lo"] + 0.25 * m["hi"]) + 0.03  # pulled towards the heavier analyst


@pytest.mark.slow
def test_linear_pool_is_the_mixture_and_attribution_names_the_judgement(synthetic_pool):
    """Linear pool: the weighted mixture of the analysts' forecasts (mean exactly 0.75 m_lo + 0.25 m_hi; its
    interval spans both analysts, wider than the log pool's). Attribution: a previous report without
    judgement hi/J2 (and its pooled numbers) -> the change in P(r4 | a1) is credited to 'hi/J2 added
    (Analyst hi)', which carries most of it (a path that skipped the judgement would credit ~0)."""
    from forecast.analysis import pooling
    from forecast.analysis.analysts import judgement_changes, state_of

    cfg, inputs, article_fit, sets, scen, weights, log_pool_ = synthetic_pool
    lin = pooling.pool_forecasts(cfg, inputs, article_fit, scen, sets, weights, "linear")
    a1, r4 = list(scen).index("a1"), inputs.ontology.response_ids.index("r4")
    m = {a: lin.components[a].means()[a1, r4] for a in sets}
    assert lin.pooled_means()[a1, r4] == pytest.approx(0.75 * m["lo"] + 0.25 * m["hi"], abs=1e-9)
    lo, hi = pooling.weighted_interval(lin, a1, 0.9)
    llo, lhi = pooling.weighted_interval(log_pool_, a1, 0.9)
    assert hi[r4] - lo[r4] > lhi[r4] - llo[r4] and hi[r4] > m["hi"] - 0.05
    # the previous report: analyst hi had no judgement yet
    prev_state = state_of(log_pool_)
    prev_state["judgements"]["hi"] = {}
    prev_sets = {"lo": sets["lo"], "hi": []}
    prev_means = pooling.without(log_pool_, inputs, "", sets=prev_sets)
    prev = {"generated_at": "2026-01-01T00:00:00+00:00",
            "analysts": {"state": prev_state, "rows": [{"response": r, "pooled": float(prev_means[a1, i])}
                                                       for i, r in enumerate(inputs.ontology.response_ids)]}}
    ch = judgement_changes(log_pool_, inputs, prev, a1)
    assert ch["causes"] == ["hi/J2 added (Analyst hi)"]
    row = next(r for r in ch["rows"] if r["response"] == "r4")
    assert abs(row["hi/J2 added (Analyst hi)"]) > 0.9 * abs(row["change"]) > 0.02
    parts = sum(v for k, v in row.items() if k not in ("response", "previous", "current", "change"))
    assert parts == pytest.approx(row["change"], abs=2e-3)
    assert dataclasses.is_dataclass(lin)


def test_analysts_announce_the_refit_before_it_starts_and_the_headline_uses_its_draws(monkeypatch, tmp_path):
    """With analysts=[...] and a posterior that is a PSIS update, the run says on stderr why it refits exactly
    before the refit starts, and hands that exact fit to the report, whose headline and analysts' section then
    read the same draws (the "Article" column of the section was an exact refit while the headline was the PSIS
    update: 88 vs 87, 58 vs 60). Before, the refit ran inside the report writer, silently."""
    import forecast
    from forecast.usecases import reports as R

    events: list[tuple[str, object]] = []
    psis = type("F", (), {"weights": np.ones((1, 1)), "from_cache": False, "inputs_hash": "psis",
                          "update": {"base_hash": "b", "pareto_k": 0.3, "ess_weights": 3000.0}, "timings": {}})()
    exact = type("F", (), {"weights": None, "from_cache": True, "inputs_hash": "exact", "update": None,
                           "timings": {}})()

    def fake_fit(cfg, inputs, progress=False, notify=None, update=None):
        events.append(("fit", update))
        return exact if update == "refit" else psis

    monkeypatch.setattr(R, "fit_config", fake_fit)
    monkeypatch.setattr(R, "previous_reports", lambda *a, **k: {})
    monkeypatch.setattr(R, "write_report", lambda cfg, inputs, fitted, *a, **k: events.append(("write", fitted))
                        or [])
    cfg = forecast.compose(["analysts=[example-hawk,example-dove]", f"paths.reports={tmp_path / 'reports'}"])
    R.run(cfg, say=lambda m: events.append(("say", m)))
    said = [i for i, (k, m) in enumerate(events) if k == "say" and "refitting the posterior exactly" in str(m)]
    fits = [i for i, (k, u) in enumerate(events) if k == "fit" and u == "refit"]
    assert len(said) == 1 and len(fits) == 1 and said[0] < fits[0], events
    assert [f for k, f in events if k == "write"] == [exact]  # the headline and the pools read the exact draws
