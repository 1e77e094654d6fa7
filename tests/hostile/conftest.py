"""Fixtures of the hostile corpus: a throwaway project home, the ontology, the guard that no case reaches the fit."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis.configuration import set_hypothesis_home_dir

import forecast.api
import forecast.model.fit
from forecast.inputs.data import load_ontology

from ..conftest import ROOT
from .corpus import WouldFit

# Hypothesis caches Unicode tables and source constants under ./.hypothesis: keep them out of the checkout (this must
# run at import, before the plugin first looks; no example database is used, see test_properties.PROPS).
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "forecast-tests-hypothesis")


@pytest.fixture(autouse=True)
def _never_fit(monkeypatch):
    """No case may reach the sampler: it would cost a minute of both cores and means validation let it through."""
    def guard(*_a, **_k):
        raise WouldFit("validation let this input reach the fit")

    monkeypatch.setattr(forecast.model.fit, "fit", guard)  # every fit a command asks for (fit_config)
    monkeypatch.setattr(forecast.model.fit, "_fit_now", guard)


@pytest.fixture(scope="module")
def ont():
    return load_ontology(ROOT / "data")


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A throwaway project (conf/ + data/) as $FORECAST_HOME; Hydra's global state is cleared around the test."""
    from hydra.core.global_hydra import GlobalHydra

    root = tmp_path / "home"
    (root / ".cache").mkdir(parents=True)  # Hydra's run dir and logs land here, not in the checkout
    shutil.copytree(ROOT / "conf", root / "conf")
    shutil.copytree(ROOT / "data", root / "data")
    monkeypatch.setenv("FORECAST_HOME", str(root))
    monkeypatch.setattr(sys, "argv", list(sys.argv))  # the CLI rewrites sys.argv for Hydra
    GlobalHydra.instance().clear()
    yield root
    GlobalHydra.instance().clear()
