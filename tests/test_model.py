"""Structure of the model: dims, a finite log-density and gradient, purity, and agreement between the
PyMC graph and the numpy predictions used by reports."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pymc as pm
import xarray as xr

import forecast
from forecast.model.build import ALPHA, BETA, DELTA, KAPPA, LOADING, OBS_CLAIM, OBS_HIST, OBS_ORDER, OBS_POLL, THETA, P
from forecast.model.predict import predict

ROOT = Path(__file__).resolve().parents[1]


def test_dims_follow_the_ontology(inputs):
    model = forecast.build_model(inputs)
    ont = inputs.ontology
    assert list(model.coords["action"]) == ont.action_ids
    assert list(model.coords["response"]) == ont.response_ids
    assert list(model.coords["covariate"]) == ont.covariate_names
    shapes = {v: tuple(model[v].shape.eval()) for v in (ALPHA, BETA, DELTA, LOADING, P)}
    n_a, n_r, n_k = len(ont.action_ids), len(ont.response_ids), len(ont.covariate_names)
    assert shapes == {ALPHA: (n_r,), BETA: (n_k, n_r), DELTA: (n_a, n_r), LOADING: (n_r,), P: (n_a, n_r)}
    observed = {rv.name for rv in model.observed_RVs}
    assert {OBS_HIST, OBS_CLAIM, OBS_POLL} <= observed
    assert OBS_ORDER not in observed  # the article's orderings restated its levels (each sentence once)
    # every non-missing precedent cell (minus executed cells whose threat is coded 0) is observed
    n_cells = int(inputs.episodes.outcomes.notna().to_numpy().sum())
    assert 0.9 * n_cells <= len(model.coords["obs"]) <= n_cells


def test_finite_logp_and_gradient_at_the_initial_point(inputs):
    model = forecast.build_model(inputs)
    point = model.initial_point()
    logp = model.compile_logp()(point)
    grad = model.compile_dlogp()(point)
    assert np.isfinite(logp)
    assert np.all(np.isfinite(grad)) and np.any(grad != 0)
    for rv, lp in model.point_logps(point).items():
        assert np.isfinite(lp), rv


def test_build_model_is_pure(inputs):
    a, b = forecast.build_model(inputs), forecast.build_model(inputs)
    pa, pb = a.initial_point(), b.initial_point()
    assert a.compile_logp()(pa) == b.compile_logp()(pb)
    assert [v.name for v in a.free_RVs] == [v.name for v in b.free_RVs]


def test_graph_probabilities_match_numpy_predictions(inputs):
    """The report's predict() and the model's Deterministic p agree at a random point."""
    model = forecast.build_model(inputs)
    rng = np.random.default_rng(3)
    point = {k: v + rng.normal(0, 0.5, size=np.shape(v)) for k, v in model.initial_point().items()}
    names = [ALPHA, BETA, DELTA, LOADING, THETA, KAPPA, P]
    vals = dict(zip(names, model.compile_fn([model[n] for n in names], inputs=model.value_vars,
                                             on_unused_input="ignore")(point), strict=True))
    dims = {ALPHA: ("response",), BETA: ("covariate", "response"), DELTA: ("action", "response"),
            LOADING: ("response",), THETA: (), KAPPA: (), P: ("action", "response")}
    ds = xr.Dataset({n: (("chain", "draw", *dims[n]), np.asarray(vals[n])[None, None]) for n in names})
    tree = xr.DataTree.from_dict({"posterior": ds})
    ont = inputs.ontology
    scen = {a: {"action": a, "profile": ont.profile(a)} for a in ont.action_ids}
    pred = predict(tree, ont, inputs.hyper, scen)["p"].isel(chain=0, draw=0).to_numpy()
    np.testing.assert_allclose(pred, vals[P], rtol=1e-6, atol=1e-9)
    assert 0.5 > float(np.min(vals[P])) >= 0 and float(np.max(vals[P])) <= 1


def test_executed_never_exceeds_its_threat_under_the_prior(inputs):
    model = forecast.build_model(inputs)
    with model:
        prior = pm.sample_prior_predictive(draws=200, random_seed=11, var_names=[P])
    p = prior["prior"][P]
    ont = inputs.ontology
    for rid, row in ont.responses.iterrows():
        if row["requires"]:
            excess = (p.sel(response=rid) - p.sel(response=row["requires"])).max()
            assert float(excess) <= 1e-12, f"{rid} exceeds its threat {row['requires']}"


def test_no_category_name_in_python():
    """Categories are data: no action, response, domain, attribute or attribute level is spelled in forecast/."""
    import yaml

    ont = forecast.load_inputs(forecast.compose([])).ontology
    names = set(ont.action_ids) | set(ont.response_ids) | set(ont.responses["domain"])
    attrs = yaml.safe_load((ROOT / "data/ontology/attributes.yaml").read_text())
    names |= set(attrs)  # the attribute names themselves (severity, consent, ...)
    for spec in attrs.values():
        names |= set(spec.get("levels", []))
    names -= {"none", "force"}  # also matplotlib's word for "no colour"; the setting force=true (make the reports)
    found = []
    for path in (ROOT / "forecast").rglob("*.py"):
        text = path.read_text()
        for n in sorted(names):
            if re.search(rf"[\"']{re.escape(n)}[\"']", text):
                found.append(f"{path.relative_to(ROOT)}: {n}")
    assert not found, f"category names spelled in Python: {found}"
