"""Shared fixtures. Tests never write into the project: caches and reports go to tmp paths."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TODAY = dt.date(2026, 11, 23)


MODEL_DAY = dt.date(2026, 11, 29)  # the day the model's switches and assumptions are read at (no fit)


def inputs_on(day: dt.date, *overrides: str):
    """The shipped inputs as of ``day`` under Hydra overrides (no fit)."""
    import forecast

    return forecast.load_inputs(forecast.compose([f"as_of={day}", *overrides]), day)


@pytest.fixture(scope="module")
def default_inputs():
    """The shipped inputs as of ``MODEL_DAY`` with the default settings."""
    return inputs_on(MODEL_DAY)


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory) -> Path:
    """The posterior and PreliZ cache of the session. Under pytest-xdist (``make test`` runs two workers) the
    workers share one folder, as a sweep's jobs do: a posterior is sampled once per inputs hash (the cache's
    per-hash lock makes the other worker wait for it, then read it), so the session's default fit and every
    state two tests share are fitted once per run, not once per worker."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):  # no xdist: the session's own folder
        return tmp_path_factory.mktemp("cache")
    shared = tmp_path_factory.getbasetemp().parent / "cache"  # the run's base folder, common to its workers
    shared.mkdir(exist_ok=True)
    return shared


@pytest.fixture(scope="session")
def project_home(tmp_path_factory) -> Path:
    """A temporary project home: the checkout's conf/ and data/ copied, reports/ and .cache/ empty."""
    home = tmp_path_factory.mktemp("home")
    for sub in ("conf", "data"):
        shutil.copytree(ROOT / sub, home / sub)
    return home


@pytest.fixture(autouse=True)
def _isolate_caches(session_cache, project_home, monkeypatch):
    """Every test runs against a temporary project home ($FORECAST_HOME), so no test can write into the
    checkout (reports/, .cache/, data/); the PreliZ and posterior caches live in a session tmp dir."""
    monkeypatch.setenv("FORECAST_HOME", str(project_home))
    monkeypatch.setenv("FORECAST_CACHE_DIR", str(session_cache))


@pytest.fixture
def data_copy(tmp_path) -> Path:
    """A writable copy of data/ for tests that corrupt it."""
    dst = tmp_path / "data"
    shutil.copytree(ROOT / "data", dst)
    return dst


@pytest.fixture(scope="session")
def cfg(session_cache, project_home):
    import forecast

    os.environ["FORECAST_CACHE_DIR"] = str(session_cache)
    os.environ["FORECAST_HOME"] = str(project_home)
    return forecast.compose([f"paths.cache={session_cache}"])


@pytest.fixture(scope="session")
def inputs(cfg):
    import forecast

    return forecast.load_inputs(cfg)


@pytest.fixture(scope="session")
def default_fit(cfg, inputs):
    """The default posterior (article + history + evidence), fitted once per session."""
    import forecast

    return forecast.fit(cfg, inputs)


@pytest.fixture(autouse=True)
def restore_forecast_logger():
    """``forecast scheduled`` (and the commands that log) install stream/file handlers on the 'forecast' logger, and
    a command run in-process through Hydra's launcher configures the root logger (a console handler on the test's
    captured stdout): put both back after every test, so that no handler bound to a closed test stream leaks into the
    next test (it printed '--- Logging error ---' blocks repeating log messages into the next test's stderr, and failed
    the fault tests that read their own one-line warning when they ran after such a test in the same worker)."""
    import logging

    loggers = (logging.getLogger("forecast"), logging.getLogger())
    saved = [(list(lg.handlers), lg.propagate, lg.level) for lg in loggers]
    yield
    for lg, (handlers, propagate, level) in zip(loggers, saved, strict=True):
        for h in list(lg.handlers):
            if h not in handlers:
                lg.removeHandler(h)
                h.close()
        lg.propagate, lg.level = propagate, level
