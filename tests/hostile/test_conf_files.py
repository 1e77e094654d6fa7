"""Hostile corpus, the conf files: scenarios and priors, bad ones refused in one line, free text never interpolated.

Part of the corpus of bad and hostile inputs (tests/hostile/corpus.py); nothing here fits a model.
"""

from __future__ import annotations

import re

import pytest

import forecast
from forecast.errors import ConfigError, InputError
from forecast.inputs import config

from ..conftest import TODAY
from .corpus import edit_priors, one_line, put_scenario, scenario_text

SCENARIO_CASES = [
    # a list where the top-level mapping is expected
    pytest.param("- one_time_raid\n", r"expected a mapping|unknown key", id="top-level-list"),
    # an unknown key
    pytest.param(scenario_text(colour="red"), r"unknown key", id="unknown-key"),
    # an unknown action
    pytest.param(scenario_text(action="invasion"), r"unknown action type 'invasion'", id="unknown-action"),
    # no action at all
    pytest.param(scenario_text(action=None), r"key 'action': missing", id="no-action"),
    # out-of-range severity in the profile
    pytest.param(scenario_text(profile={"severity": 7}), r"profile.severity: 7 is outside \[1, 5\]", id="severity-7"),
    # "five" as severity
    pytest.param(scenario_text(profile={"severity": "five"}), r"profile.severity: 'five' is not a severity value",
                 id="severity-five"),
    # an attribute the ontology lacks
    pytest.param(scenario_text(profile={"colour": "red"}), r"profile.colour: unknown attribute 'colour'",
                 id="unknown-attribute"),
    # an unknown categorical level
    pytest.param(scenario_text(profile={"consent": "maybe"}), r"profile.consent: unknown consent level 'maybe'",
                 id="unknown-level"),
    # `_target_` at the top of a scenario file
    pytest.param("_target_: os.system\n" + scenario_text(), r"_target_", id="target-top"),
    # `_target_` nested in the profile
    pytest.param(scenario_text(profile={"_target_": "os.system"}), r"`_target_` is not allowed", id="target-nested"),
    # a list where the profile mapping is expected
    pytest.param(scenario_text(profile=[1, 2]), r"profile", id="profile-list"),
    # a list where the action name is expected
    pytest.param(scenario_text(action=["one_time_raid"]), r"action", id="action-list"),
]


@pytest.mark.parametrize(("text", "pattern"), SCENARIO_CASES)
@pytest.mark.parametrize("route", ["load_scenario", "compose"])
def test_bad_scenario_file_is_one_line_error(home, ont, route, text, pattern):
    """Both routes to a scenario: read directly (every scenario of a report) and composed by Hydra (the run's own)."""
    name = put_scenario(home, text)
    with pytest.raises(InputError) as exc:
        if route == "load_scenario":
            config.scenario_profile(config.load_scenario(name), ont)
        else:
            config.scenario_profile(forecast.compose([f"scenario={name}"]), ont)
    msg = one_line(exc.value)
    assert re.search(pattern, msg), msg
    if route == "load_scenario":
        assert "bad" in msg


def test_malformed_scenario_yaml_read_directly(home):
    name = put_scenario(home, "name: bad\ntitle: [unclosed\n")
    with pytest.raises(InputError) as exc:
        config.load_scenario(name)
    assert re.search(r"conf/scenario/bad.yaml, line \d+: malformed YAML", one_line(exc.value))


def test_malformed_scenario_yaml_composed(home):
    name = put_scenario(home, "name: bad\ntitle: [unclosed\n")
    with pytest.raises(ConfigError) as exc:
        forecast.compose([f"scenario={name}"])
    one_line(exc.value, "bad")


PRIOR_CASES = [
    # an upper bound that is not a probability
    pytest.param(lambda d: d["public_opposition"]["elicit"].update(upper=1.3),
                 r"public_opposition.elicit.upper: 1.3 is outside \[0, 1\]", id="upper-1.3"),
    # "strong" as a strength
    pytest.param(lambda d: d["public_opposition"].update(strength="strong"), r"public_opposition.strength: 'strong' is "
                 r"not a strength", id="strength-text"),
    # a negative strength
    pytest.param(lambda d: d["public_opposition"].update(strength=-1), r"strength: -1 is outside", id="strength-neg"),
    # a list where the `constrains` mapping is expected
    pytest.param(lambda d: d["public_opposition"].update(constrains=["latent"]), r"public_opposition.constrains: "
                 r"missing or not a mapping", id="constrains-list"),
    # an unknown key in a claim
    pytest.param(lambda d: d["public_opposition"].update(colour="red"), r"public_opposition.colour: unknown key",
                 id="unknown-key"),
    # a claim without its quote
    pytest.param(lambda d: d["public_opposition"].pop("quote"), r"public_opposition.quote: no quote", id="no-quote"),
    # an unknown latent target
    pytest.param(lambda d: d["public_opposition"]["constrains"].update(target="mood"), r"unknown latent target 'mood'",
                 id="unknown-target"),
    # a claim name that traverses
    pytest.param(lambda d: d.update({"../evil": d["public_opposition"]}), r"'\.\./evil' is not a valid id",
                 id="traversing-name"),
]


@pytest.mark.parametrize(("edit", "pattern"), PRIOR_CASES)
def test_bad_prior_is_one_line_error(home, edit, pattern):
    edit_priors(home, edit)
    with pytest.raises(InputError) as exc:
        forecast.load_inputs(forecast.compose([]), TODAY)
    msg = one_line(exc.value)
    assert re.search(pattern, msg), msg


@pytest.mark.parametrize("where", ["scenario-title", "prior-quote", "scenario-env", "prior-env"])
def test_interpolation_in_free_text_is_literal_or_refused(home, ont, where, monkeypatch):
    monkeypatch.setenv("FORECAST_HOSTILE_SECRET", "s3cr3t")
    text = "${7*7}" if where.endswith(("title", "quote")) else "${oc.env:FORECAST_HOSTILE_SECRET}"
    if where.startswith("scenario"):
        name = put_scenario(home, scenario_text(title=text))
        try:
            shown = config.scenario_profile(forecast.compose([f"scenario={name}"]), ont)["title"]
        except InputError as e:
            one_line(e)
            return
    else:
        edit_priors(home, lambda d: d["public_opposition"].update(quote=text))
        try:
            inputs = forecast.load_inputs(forecast.compose([]), TODAY)
        except InputError as e:
            one_line(e)
            return
        shown = next(c.quote for c in inputs.claims if c.name == "public_opposition")
    assert shown == text
