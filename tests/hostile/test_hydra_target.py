"""Hostile corpus, hydra ``_target_``: nothing in a config is ever instantiated or evaluated.

Part of the corpus of bad and hostile inputs (tests/hostile/corpus.py); nothing here fits a model.
"""

from __future__ import annotations

import os
import re

import pytest
import yaml

import forecast
from forecast.errors import ConfigError
from forecast.inputs import config

from ..conftest import ROOT
from .corpus import MARKER, no_marker_anywhere, one_line, put_scenario, scenario_text

TARGET_CASES = [
    # an override that adds a `_target_` key
    pytest.param("override", ["+scenario._target_=os.system"], id="override-key"),
    # an override whose value is a mapping holding `_target_`
    pytest.param("override", ["+scenario.profile={_target_:os.system}"], id="override-value"),
    # an override at the top level
    pytest.param("override", ["+_target_=os.system"], id="override-top"),
    # a scenario file with a top-level `_target_`
    pytest.param("scenario", "_target_: os.system\n" + scenario_text(), id="scenario-file-top"),
    # a scenario file with `_target_` nested in the profile
    pytest.param("scenario", scenario_text(profile={"_target_": "subprocess.call", "_args_": [["touch", MARKER]]}),
                 id="scenario-file-nested"),
    # a priors file with `_target_` inside a claim
    pytest.param("priors", {"x": {"_target_": "os.system", "_args_": [f"touch {MARKER}"], "quote": "q"}},
                 id="priors-file"),
]


@pytest.mark.parametrize(("kind", "payload"), TARGET_CASES)
def test_target_is_refused(home, tmp_path, kind, payload):
    overrides = payload if kind == "override" else ["scenario=bad"] if kind == "scenario" else ["priors=evil"]
    if kind == "scenario":
        put_scenario(home, payload)
    elif kind == "priors":
        (home / "conf" / "priors" / "evil.yaml").write_text(yaml.safe_dump(payload), encoding="utf-8")
    cwd = os.getcwd()
    with pytest.raises(ConfigError) as exc:
        forecast.compose(overrides)
    assert "`_target_` is not allowed" in one_line(exc.value, "_target_")
    assert os.getcwd() == cwd
    no_marker_anywhere(tmp_path)


def test_target_in_a_scenario_read_directly_is_refused(home):
    put_scenario(home, scenario_text(profile={"_target_": "os.system"}))
    with pytest.raises(ConfigError) as exc:
        config.load_scenario("bad")
    one_line(exc.value, "conf/scenario/bad.yaml", "_target_")


def test_the_tool_never_instantiates_or_evaluates_config():
    """No code path can honour `_target_`: nothing calls Hydra's instantiate, eval/exec, pickle or an unsafe loader."""
    forbidden = [r"\binstantiate\s*\(", r"hydra\.utils", r"(?<![\w.])eval\s*\(", r"(?<![\w.])exec\s*\(",
                 r"\bpickle\.loads?\s*\(", r"yaml\.unsafe_load", r"yaml\.(full_)?load_all",
                 r"Loader\s*=\s*yaml\.(Full|Unsafe)?Loader",
                 r"\bshell\s*=\s*True", r"os\.system\s*\("]
    for path in sorted((ROOT / "forecast").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        for pat in forbidden:
            assert not re.search(pat, text), f"{path.name}: {pat}"
        for m in re.finditer(r"yaml\.load\(([^)]*)\)", text):
            assert "Loader=_SafeLoader" in m.group(1), f"{path.name}: {m.group(0)}"
