"""The posterior cache key covers every input the model reads (no fitting).

``build_model`` is a function of ``design(inputs)`` and ``inputs.hyper`` alone. So, for every column of the
ontology (each action attribute, each responses.csv column, each key of an attribute's spec) and every
composite, changed one at a time on the shipped inputs: when the design changes, the inputs hash must change
(else a cached posterior of another model is served); when it does not (a label, a description, a research
code, a composite: composites are computed from the draws when a report is written), the hash stays, so no
refit is wasted. Two columns the design does not read change the hash on purpose (listed in CONSERVATIVE). Every
``model.*`` setting, changed alone, changes the hash.

On main before this test, the ontology's ``escalation_rank`` (in the intercepts since the prior predictive
check's fix) was missing from the fingerprint: changing armed resistance's rank from 10 to 1 gave the same
hash and served the old posterior. ``test_escalation_rank_changes_the_hash_end_to_end`` edits the CSV as a
user would and fails there.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np

from forecast.inputs.data import Inputs, Ontology
from forecast.model.build import design
from forecast.model.fit import inputs_hash

SAMPLER = {"nuts_sampler": "nutpie", "draws": 10, "tune": 10, "chains": 1, "cores": 1, "target_accept": 0.9}
SEED = 1
# read by no model term, but kept in the key on purpose: a response's form constrains `requires` (only an
# executed response can require another), an attribute's range decides which values validate
CONSERVATIVE = {("responses", "form"), ("attribute", "min"), ("attribute", "max")}


def _same_design(a, b) -> bool:
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name == "chain":
            if len(x) != len(y) or any(not (np.array_equal(i1, i2) and np.array_equal(m1, m2))
                                       for (i1, m1), (i2, m2) in zip(x, y, strict=True)):
                return False
        elif isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            if np.shape(x) != np.shape(y) or not np.array_equal(x, y):
                return False
        elif x != y:
            return False
    return True


def _with(inputs: Inputs, **ont) -> Inputs:
    o = inputs.ontology
    new = Ontology(ont.get("attributes", o.attributes), ont.get("actions", o.actions),
                   ont.get("responses", o.responses), ont.get("composites", o.composites))
    return dataclasses.replace(inputs, ontology=new)


def _other(spec: dict, v):
    """A different valid value of an attribute."""
    if spec["type"] == "numeric":
        return v + 1 if v + 1 <= spec["max"] else v - 1
    if spec["type"] == "boolean":
        return not bool(v)
    return next(lv for lv in spec["levels"] if lv != v)


def _changes(ont: Ontology):
    """(where, column, changed ontology pieces): one column of one row changed at a time."""
    acts, resp = ont.actions, ont.responses
    for col in acts.columns:
        a = acts.copy()
        row = a.index[1]
        a[col] = a[col].astype(object)
        a.at[row, col] = _other(ont.attributes[col], a.at[row, col]) if col in ont.attributes else f"{a.at[row, col]}x"
        yield "actions", col, {"actions": a}
    first, second = resp.index[0], resp.index[1]
    domains = sorted(set(resp["domain"]))
    for col in resp.columns:
        r = resp.copy()
        r[col] = r[col].astype(object)
        if col == "domain":
            r.at[first, col] = next(d for d in domains if d != r.at[first, col])
        elif col == "stance":
            r.at[first, col] = "retaliatory" if r.at[first, col] == "accommodating" else "accommodating"
        elif col == "form":
            r.at[second, col] = "threat" if r.at[second, col] == "executed" else "executed"
        elif col == "escalation_rank":  # armed resistance's rank 10 -> 1: the case that served a stale posterior
            r.at[r["escalation_rank"].astype(int).idxmax(), col] = 1
        elif col == "opinion_sign":
            r.at[first, col] = 1 if r.at[first, col] != 1 else -1
        elif col == "requires":  # an executed response that requires nothing now requires a threat
            free = next(i for i in r.index if r.at[i, "form"] == "executed" and not r.at[i, "requires"]
                        and not (r["requires"] == i).any())
            r.at[free, col] = next(i for i in r.index if r.at[i, "form"] == "threat")
        else:  # label, description, research code, coded_from: text the design does not read
            r[col] = r[col].astype(str) + "x"
        if col in ("escalation_rank", "opinion_sign"):
            r[col] = r[col].astype(int)
        assert not r.equals(resp), col
        yield "responses", col, {"responses": r}
    for name, spec in ont.attributes.items():
        for key in spec:
            attrs = {k: dict(v) for k, v in ont.attributes.items()}
            s = attrs[name]
            if key == "type":
                continue  # another type needs other values in actions.csv: a new ontology, not one column
            if key == "levels":
                s["levels"] = [*s["levels"], "new_level"]
            elif key == "baseline":
                s["baseline"] = next(lv for lv in s["levels"] if lv != s["baseline"])
            elif key == "description":
                s["description"] = s["description"] + " (reworded)"
            elif key == "opinion_levels":  # the levels the polled opinion is about
                s["opinion_levels"] = [lv for lv in s["levels"] if lv not in s["opinion_levels"]][:1]
            else:  # numeric: min, max, center, scale
                s[key] = s[key] * 2 + 1 if key != "min" else s[key] - 1
            yield "attribute", key, {"attributes": attrs}
    for name, spec in ont.composites.items():
        comp = {k: dict(v) for k, v in ont.composites.items()}
        comp[name]["members"] = list(spec["members"])[:-1] or list(ont.response_ids)[:1]
        comp[name]["label"] = spec["label"] + " (reworded)"
        yield "composites", name, {"composites": comp}


def test_every_ontology_column_the_model_reads_is_in_the_cache_key(inputs):
    base_hash = inputs_hash(inputs, SAMPLER, SEED)
    base_design = design(inputs)
    seen = {"actions": set(), "responses": set(), "attribute": set()}
    stale, wasted = [], []
    for where, col, pieces in _changes(inputs.ontology):
        changed = _with(inputs, **pieces)
        h = inputs_hash(changed, SAMPLER, SEED)
        try:
            reads = not _same_design(base_design, design(changed))
        except ValueError:  # e.g. another baseline level drops a covariate a claim names: another model entirely
            reads = True
        if reads and h == base_hash:
            stale.append(f"{where}.{col}")
        if not reads and h != base_hash and (where, col) not in CONSERVATIVE:
            wasted.append(f"{where}.{col}")
        if where in seen:
            seen[where].add(col)
    assert not stale, f"the model reads these but the cache key ignores them (a stale posterior is served): {stale}"
    assert not wasted, f"the model does not read these, yet they change the cache key (a wasted refit): {wasted}"
    # the test went through every column, including the one that was missing
    assert seen["actions"] == set(inputs.ontology.actions.columns)
    assert seen["responses"] == set(inputs.ontology.responses.columns) and "escalation_rank" in seen["responses"]


def test_the_design_reads_escalation_rank(inputs):
    """The premise of the stale-posterior bug: the rank is in the intercepts, so changing it is a new model."""
    r = inputs.ontology.responses.copy()
    top = r["escalation_rank"].idxmax()
    r.at[top, "escalation_rank"] = 1
    assert not np.array_equal(design(inputs).rank_z, design(_with(inputs, responses=r)).rank_z)


def test_every_model_setting_changes_the_cache_key(cfg, inputs):
    from omegaconf import OmegaConf

    from forecast.inputs import config as _config
    from forecast.inputs import schema

    base = inputs_hash(inputs, SAMPLER, SEED)
    keys = list(OmegaConf.to_container(cfg.model))
    assert "sigma_rank" in keys and len(keys) > 20
    for k in keys:
        v = cfg.model[k]
        values = [c for c in schema.ABLATION_SWITCHES[k] if c != v] if k in schema.ABLATION_SWITCHES else \
            [v / 2 if isinstance(v, float) and 0 < v < 1 else v + 1]
        for new in values:
            c2 = cfg.copy()
            OmegaConf.update(c2, f"model.{k}", new, force_add=True)
            h = inputs_hash(dataclasses.replace(inputs, hyper=_config.hyper(c2)), SAMPLER, SEED)
            assert h != base, f"model.{k}={new} leaves the inputs hash unchanged"


def _edit_csv(path, row_id: str, col: str, value: str) -> None:
    """Change one cell of a CSV under a copy of data/, as a user would."""
    import csv

    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    for row in rows:
        if row["id"] == row_id:
            row[col] = value
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def _load(data_dir, cache, *overrides):
    import forecast

    return forecast.load_inputs(forecast.compose([f"paths.data={data_dir}", f"paths.cache={cache}", *overrides]))


def test_escalation_rank_changes_the_hash_end_to_end(data_copy, session_cache):
    """Armed resistance's rank 10 -> 1 in data/ontology/responses.csv: a new inputs hash (main served the old
    posterior)."""
    before = _load(data_copy, session_cache)
    _edit_csv(data_copy / "ontology" / "responses.csv", "armed_resistance", "escalation_rank", "1")
    after = _load(data_copy, session_cache)
    assert after.ontology.responses.at["armed_resistance", "escalation_rank"] == 1
    assert inputs_hash(after, SAMPLER, SEED) != inputs_hash(before, SAMPLER, SEED)


def test_coded_from_changes_the_hash_only_where_the_model_reads_it(data_copy, session_cache):
    """``coded_from`` reaches the model through the record: with the default ``model.attribute_cells=leave_out``
    its cells leave the outcomes (a new hash); with ``observe`` the model never reads it (the same hash)."""
    observe = "model.attribute_cells=observe"
    before_obs, before_leave = _load(data_copy, session_cache, observe), _load(data_copy, session_cache)
    target = next(r for r, v in before_obs.ontology.responses["coded_from"].items() if v)
    _edit_csv(data_copy / "ontology" / "responses.csv", target, "coded_from", "")
    after_obs, after_leave = _load(data_copy, session_cache, observe), _load(data_copy, session_cache)
    assert inputs_hash(after_obs, SAMPLER, SEED) == inputs_hash(before_obs, SAMPLER, SEED)
    assert inputs_hash(after_leave, SAMPLER, SEED) != inputs_hash(before_leave, SAMPLER, SEED)


def _history_logp(inputs, point_seed: int = 0) -> float:
    """The record's log density (``y_history``) at a seeded random point: the opinion, its effect and every
    other parameter away from their initial values, so any opinion term an episode carries shows."""
    import forecast
    from forecast.model.build import OBS_HIST

    model = forecast.build_model(inputs)
    point = model.initial_point()
    rng = np.random.default_rng(point_seed)
    point = {k: v + rng.normal(0, 0.5, np.shape(v)) for k, v in point.items()}
    return float(model.compile_logp(vars=[model[OBS_HIST]])(point))


def test_the_poll_window_is_in_the_key_exactly_where_it_moves_the_likelihood(inputs):
    """A later ``as_of`` that moves one episode out of the poll window: the inputs hash changes if and only if
    the model's log density does (compared at a random point). An episode of an action the polls are not about
    (opinion scope 0) carries no opinion term, so moving it changes nothing (the same hash: after the evidence
    replay, today's state is the last replayed date's, no extra PSIS update); an episode in scope moves the
    likelihood, and so does any episode with ``model.opinion_scope=all``: a new hash, else a stale posterior.

    Decisive: the key before this test listed every episode inside the window, so the out-of-scope move gave a
    new hash with an identical log density (the out-of-scope case failed); a key that dropped the window altogether
    fails the in-scope case, where the log density moves by far more than 1e-9."""
    import forecast
    from forecast.inputs import config as _config

    table = inputs.episodes.table
    window = int(inputs.hyper.get("poll_window_days", 730))
    scope = inputs.ontology.opinion_scope(table)
    dates = table["date"]
    unique = [i for i in table.index if (dates == dates[i]).sum() == 1 and (inputs.as_of - dates[i]).days > window]
    out_scope = next(i for i in unique if scope[table.index.get_loc(i)] == 0)
    in_scope = next(i for i in unique if scope[table.index.get_loc(i)] != 0)
    cfg_all = forecast.compose(["model.opinion_scope=all"])
    cases = [("out of scope", inputs, out_scope, False), ("in scope", inputs, in_scope, True),
             ("opinion_scope=all", dataclasses.replace(inputs, hyper=_config.hyper(cfg_all)), out_scope, True)]
    for label, inp, episode, moves in cases:
        inside = dataclasses.replace(inp, as_of=dates[episode] + dt.timedelta(days=window))
        after = dataclasses.replace(inside, as_of=inside.as_of + dt.timedelta(days=1))
        flipped = design(inside).ep_recent != design(after).ep_recent
        assert list(table.index[flipped]) == [episode], label  # this episode alone leaves the window
        dlogp = abs(_history_logp(inside) - _history_logp(after))
        same_hash = inputs_hash(inside, SAMPLER, SEED) == inputs_hash(after, SAMPLER, SEED)
        assert (dlogp > 1e-9) == moves, f"{label}: log density moved by {dlogp}"
        assert same_hash == (not moves), f"{label} ({episode}): the hash does not follow the model"


def test_a_back_test_fit_samples_and_caches_its_posterior_alone(tmp_path, monkeypatch):
    """``sampler.article_prior=false`` (the back-test's fits): the sampler is asked for the posterior only (no prior
    seed), the cache file holds no prior group and reads back as a hit under a key of its own; with the default the
    same fit asks for the article-only prior too and its file holds it (so the check can fail either way). The
    sampler is a stand-in returning complete draws: what is tested is what is asked for and kept, not NUTS."""
    import xarray as xr

    from forecast.analysis.checks.backtest import BACKTEST_SAMPLER
    from forecast.model import fit as F
    from forecast.model.build import P
    from forecast.model.cache import posterior_path
    from tests.synthetic import simulate_inputs

    inputs = simulate_inputs(n_episodes=12, seed=3)
    asked: list = []

    def fake_sample(model, sampler, seed, progress, notify=None, prior_seed=None, targets=None):
        asked.append(prior_seed)
        rng = np.random.default_rng(seed)
        shape = (sampler["chains"], sampler["draws"])

        def tree():
            p = rng.uniform(0.1, 0.9, (*shape, 2, 2))
            post = xr.Dataset({P: (("chain", "draw", "action", "response"), p)})
            stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros(shape, dtype=bool))})
            return xr.DataTree.from_dict({"posterior": post, "sample_stats": stats})

        out = {"posterior": tree()}
        if prior_seed is not None:
            out["prior"] = tree()
        return out, {}

    monkeypatch.setattr(F, "_sample", fake_sample)
    monkeypatch.setattr(F, "build_model", lambda inputs: None)
    alone = {**SAMPLER, **BACKTEST_SAMPLER}
    both = {k: v for k, v in alone.items() if k != "article_prior"}
    a = F.fit(inputs, alone, SEED, tmp_path, update="refit")
    assert asked == [None] and "prior" not in a.idata and not a.from_cache
    assert F.fit(inputs, alone, SEED, tmp_path, update="refit").from_cache and asked == [None]
    b = F.fit(inputs, both, SEED, tmp_path, update="refit")
    assert asked[1] is not None and "prior" in b.idata and b.inputs_hash != a.inputs_hash
    with xr.open_datatree(posterior_path(tmp_path, a.inputs_hash), engine="h5netcdf") as t:
        assert "prior" not in t.children and "posterior" in t.children
