"""A synthetic report run for the publication tests: no model, no fit, no figures. The inputs, the posterior and
the report writer of ``forecast`` and ``forecast scheduled`` are replaced by stand-ins that write each scenario's
folder from the version-1 example report (``tests/fixtures/forecast_example.json``) through the same door the real
writer uses (a ``Publication``'s ``folder`` or ``atomic_write_dir``). Everything after the writer (the history,
``latest``, the runs log and pages, the landing page, the alerts, the stop messages) is the real code.

``install()`` patches the use-case modules (the signal test's child process calls it before ``main``); the
in-process tests use ``install(monkeypatch)``. Settings from the environment: ``FAKE_HASH`` (the inputs hash, so
two runs can differ), ``FAKE_DELAY`` (seconds spent on each folder) and ``FAKE_MARK`` (1: print
``fake: writing <scenario>`` to stderr as each folder starts, for the test to time its signal), ``FAKE_KILL_AT``
(a scenario: the process sends itself ``FAKE_SIGNAL``, SIGTERM by default, while writing its folder).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sys
import time
from pathlib import Path
from types import SimpleNamespace

FIXTURE = Path(__file__).parent / "fixtures" / "forecast_example.json"


def inputs(cfg=None, today=None):
    return SimpleNamespace(as_of=today or dt.date.today(), episodes=SimpleNamespace(table=[]), polls=[], claims=[],
                           evidence_ids=())


def fit(*a, **k):
    return SimpleNamespace(from_cache=True, inputs_hash=os.environ.get("FAKE_HASH", "fa4e0000aaaa1111"),
                           weights=None, timings={}, update=None)


def report_data(name: str) -> dict:
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    now = dt.datetime.now(dt.UTC)
    data.update(scenario=name, generated_at=now.isoformat(timespec="microseconds"), as_of=now.date().isoformat(),
                inputs_hash=os.environ.get("FAKE_HASH", "fa4e0000aaaa1111"))
    return data


def write_report(cfg, inputs, fitted, names, out_dir=None, overrides=None, previous=None, say=None, published=True,
                 pub=None, record=None, workers=None, keep=None):
    from forecast.files import atomic_write_dir
    from forecast.inputs import config as _config
    from forecast.outputs.contract import OWNED_MARKERS, WrittenReport

    reports = Path(out_dir) if out_dir else _config.paths(cfg)["reports"]
    delay = float(os.environ.get("FAKE_DELAY", "0"))
    out = []
    for name in names or [cfg.scenario.name]:
        data = report_data(name)
        data["fake_published"] = published
        text = json.dumps(data)

        def fill(tmp: Path, text=text, name=name) -> None:
            if os.environ.get("FAKE_MARK"):
                print(f"fake: writing {name}", file=sys.stderr, flush=True)
            if os.environ.get("FAKE_KILL_AT") == name:  # a signal while this folder is written
                os.kill(os.getpid(), getattr(signal, os.environ.get("FAKE_SIGNAL", "SIGTERM")))
            (tmp / "forecast.json").write_text(text, encoding="utf-8")
            end = time.monotonic() + delay
            while time.monotonic() < end:  # busy, like a renderer: a signal lands in Python code
                sum(range(1000))
            if record is not None:  # what the folder was made from, last, as the real writer does
                record(name, tmp, json.loads(text))

        path = pub.folder(reports / name, fill, owned=OWNED_MARKERS) if pub is not None \
            else atomic_write_dir(reports / name, fill, owned=OWNED_MARKERS)
        out.append(WrittenReport(path, json.loads(text)))
    return out


def install(monkeypatch=None) -> None:
    import forecast.usecases.reports as uc
    import forecast.usecases.scheduled as us

    patches = [(uc, "load_inputs", inputs), (uc, "fit_config", fit), (uc, "write_report", write_report),
               (uc, "previous_reports", lambda *a, **k: {}), (uc, "_drawing_workers", lambda *a, **k: uc._NoWorkers()),
               (us, "load_inputs", inputs), (us, "fit_config", fit),
               (us, "write_report", write_report), (us, "previous_reports", lambda *a, **k: {})]
    for module, name, value in patches:
        if monkeypatch is not None:
            monkeypatch.setattr(module, name, value)
        else:
            setattr(module, name, value)
