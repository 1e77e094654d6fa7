"""Config composition, overrides, and path resolution independent of the current directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import forecast
from forecast.errors import ConfigError
from forecast.inputs.config import list_scenarios


def test_compose_defaults_and_overrides():
    cfg = forecast.compose([])
    assert cfg.scenario.name == "one_time_raid"
    assert cfg.sampler.nuts_sampler == "nutpie"
    cfg2 = forecast.compose(["scenario=repeated_raids", "sampler=pymc", "sampler.draws=300",
                             "priors.public_opposition.strength=4"])
    assert cfg2.scenario.name == "repeated_raids" and cfg2.scenario.action == "repeated_raids"
    assert cfg2.sampler.nuts_sampler == "pymc" and cfg2.sampler.draws == 300
    assert cfg2.priors.public_opposition.strength == 4


def test_strength_override_tightens_the_encoded_prior(tmp_path):
    base = forecast.load_inputs(forecast.compose([]))
    strong = forecast.load_inputs(forecast.compose(["priors.one_time_raid_no_military_response.strength=4"]))
    c0 = next(c for c in base.claims if c.name == "one_time_raid_no_military_response")
    c1 = next(c for c in strong.claims if c.name == "one_time_raid_no_military_response")
    mu0, sd0 = c0.logit_normal()
    mu1, sd1 = c1.logit_normal()
    assert mu0 == pytest.approx(mu1)
    assert sd1 == pytest.approx(sd0 / 2)
    theta0 = next(c for c in base.claims if c.target == "public_opposition").scaled()
    assert theta0["alpha"] / (theta0["alpha"] + theta0["beta"]) == pytest.approx(0.79, abs=0.03)


def test_unknown_scenario_lists_the_available_ones():
    with pytest.raises(ConfigError, match=r"unknown scenario 'invasion'; use one of: " + ", ".join(list_scenarios())):
        forecast.compose(["scenario=invasion"])
    # a typo is answered with the scenario meant (the message before: "available: ..." and no suggestion)
    with pytest.raises(ConfigError, match=r"unknown scenario 'one_time_raids'; did you mean 'one_time_raid'\? use "):
        forecast.compose(["scenario=one_time_raids"])


@pytest.mark.parametrize(
    ("override", "pattern"),
    [
        ("sampler.draws=-5", r"sampler.draws: -5 is not a whole number"),
        ("sampler.target_accept=1.3", r"sampler.target_accept: 1.3 is not in \[0.5, 1\)"),
        ("+sampler._target_=os.system", r"`_target_` is not allowed"),
        ("+scenario.color=red", r"scenario.color: unknown key"),
        ("report.hdi_prob=1.5", r"report.hdi_prob: 1.5 is not in"),
        ("no_equals_sign", r"not of the form key=value"),
        ("priors.nonexistent.strength=2", r"config: .*nonexistent"),
    ],
)
def test_bad_overrides_are_one_line_errors(override, pattern):
    with pytest.raises(ConfigError, match=pattern) as exc:
        forecast.compose([override])
    assert "\n" not in str(exc.value)


def test_prior_validation_names_the_key():
    with pytest.raises(forecast.InputError, match=r"conf/priors: public_opposition.elicit.upper: 1.3 is outside"):
        forecast.load_inputs(forecast.compose(["priors.public_opposition.elicit.upper=1.3"]))
    with pytest.raises(forecast.InputError, match=r"steadfast_rejection.constrains.response: unknown response 'shrug'"):
        forecast.load_inputs(forecast.compose(["priors.steadfast_rejection.constrains.response=shrug"]))


def test_future_as_of_is_refused():
    with pytest.raises(forecast.InputError, match=r"as_of: 2999-01-01 is in the future"):
        forecast.load_inputs(forecast.compose(["as_of=2999-01-01"]))


def test_paths_resolve_from_the_project_not_the_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = forecast.compose([])
    inputs = forecast.load_inputs(cfg)
    assert len(inputs.episodes.table) >= 27
    assert os.getcwd() == str(tmp_path)


def test_as_of_filters_precedents_polls_and_evidence():
    early = forecast.load_inputs(forecast.compose(["as_of=2026-01-16"]))
    late = forecast.load_inputs(forecast.compose(["as_of=2026-11-01"]))
    assert "E-2026-02-elfinanciero-poll" not in early.evidence_ids
    assert "E-2026-02-elfinanciero-poll" in late.evidence_ids
    # on the article's day its 80% is the one poll known (ARTICLE-80); by November the two polls of January too
    assert list(early.polls[early.polls["use"] == "likelihood"].index) == ["ARTICLE-80"]
    assert len(late.polls[late.polls["use"] == "likelihood"]) == 3
    old = forecast.load_inputs(forecast.compose(["as_of=2000-01-01"]))
    assert max(old.episodes.table["date"]).isoformat() <= "2000-01-01"
    assert len(old.episodes.table) == 9


def test_the_claims_elicitations_are_computed_ahead_and_side_by_side(tmp_path, monkeypatch):
    """A fresh project home elicits every claim (PreliZ's maximum entropy, ~0.1 s each, on the path to the first fit):
    they are computed ahead, side by side on the cores, into the cache the claims then read. Decisive: after the
    prefetch alone, parsing the claims elicits nothing more (a key written differently from the one ``elicit`` reads
    would be a miss, and fail here); and the distributions are those elicited one by one."""
    from omegaconf import OmegaConf

    from forecast.inputs import priors
    from forecast.inputs.config import paths
    from forecast.inputs.data import load_ontology

    cfg = forecast.compose([])
    raw = OmegaConf.to_container(cfg.priors, resolve=False)
    ont = load_ontology(paths(cfg)["data"])
    monkeypatch.setenv("FORECAST_CACHE_DIR", str(tmp_path / "ahead"))
    monkeypatch.setattr(priors, "shipped", dict)  # claims whose elicitations the package does not carry
    priors._elicit_ahead(raw)
    elicited = [c for c in priors.parse_claims(raw, ont) if c.elicit]  # parse_claims prefetches too: nothing left
    assert len(elicited) >= 2

    def no_more(spec):
        raise AssertionError(f"elicited again one by one: {spec}")

    monkeypatch.setattr(priors, "_maxent", no_more)
    ahead = {c.id: c.dist for c in priors.parse_claims(raw, ont)}
    monkeypatch.undo()
    monkeypatch.setenv("FORECAST_CACHE_DIR", str(tmp_path / "one_by_one"))
    monkeypatch.setattr(priors, "shipped", dict)
    monkeypatch.setattr(priors, "_elicit_ahead", lambda _raw: None)
    assert {c.id: c.dist for c in priors.parse_claims(raw, ont)} == ahead


def test_the_shipped_claims_elicitations_come_with_the_package_and_are_preliz_s_own(tmp_path, monkeypatch):
    """``forecast/inputs/elicited.json`` holds the elicitation of every shipped claim (a fresh project home does not
    import PreliZ, about 3 s, to compute them again), each equal to what the installed PreliZ computes now: a claim's
    range changed in ``conf/priors`` without ``python -m forecast.inputs.priors`` is a missing key here, an entry not
    PreliZ's own a mismatch. Used only with the PreliZ version that computed them; a fresh cache reads them without
    writing or computing anything."""
    from omegaconf import OmegaConf

    from forecast.inputs import priors

    data = json.loads(priors.SHIPPED.read_text(encoding="utf-8"))
    assert data["command"] == "python -m forecast.inputs.priors"
    specs = priors._specs(OmegaConf.to_container(forecast.compose([]).priors, resolve=False))
    assert len(specs) >= 10 and {json.dumps(list(s)) for s in specs} <= set(priors.shipped())
    # PreliZ computes them again in a process of its own (importing it here would change this worker's logging for
    # the tests after this one)
    code = ("import json, sys; from forecast.inputs.priors import _maxent; "
            "print(json.dumps({k: _maxent(tuple(json.loads(k))) for k in json.loads(sys.stdin.read())}))")
    run = subprocess.run([sys.executable, "-c", code], input=json.dumps(list(data["entries"])), capture_output=True,
                         text=True, timeout=300, check=True)
    for key, fresh in json.loads(run.stdout).items():
        kept = data["entries"][key]
        assert fresh.pop("preliz") == data["preliz"] and fresh.keys() == kept.keys(), key
        assert all(fresh[k] == pytest.approx(kept[k], rel=1e-9) for k in fresh if k != "family"), key
    monkeypatch.setenv("FORECAST_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(priors, "_maxent", lambda spec: pytest.fail(f"computed again: {spec}"))
    first = json.loads(next(iter(data["entries"])))
    assert priors.elicit(*first) == data["entries"][json.dumps(first)] and not (tmp_path / "elicit.json").exists()
    other = tmp_path / "elicited.json"  # the same file from another PreliZ version is not used
    other.write_text(json.dumps({**data, "preliz": "0.0.1"}), encoding="utf-8")
    shipped_file = priors.SHIPPED
    monkeypatch.setattr(priors, "SHIPPED", other)
    priors.shipped.cache_clear()
    try:
        assert priors.shipped() == {}
    finally:
        monkeypatch.setattr(priors, "SHIPPED", shipped_file)
        priors.shipped.cache_clear()
