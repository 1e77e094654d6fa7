"""Alerts from scheduled runs: what counts as news, the log, the Atom feed, the digest and the channels.

Servers (a webhook receiver, an SMTP server) listen on 127.0.0.1 on ephemeral ports and are stopped by
their fixtures. The fast tests build published report folders from the example report with changed
numbers; one slow test runs the real `forecast scheduled` with evidence added between runs.
"""

# ruff: noqa: S105, S106, S107 - test credentials of the local servers these tests start

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import re
import socket
import threading
import time
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import feedparser
import pytest

from forecast.analysis.alerts import AlertSettings, Email, Webhook, alert_settings, detect_moves
from forecast.cli.main import main
from forecast.errors import ConfigError
from forecast.inputs.config import compose
from forecast.outputs import news

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = json.loads((ROOT / "tests" / "fixtures" / "forecast_example.json").read_text())
HOOK_ENV, USER_ENV, PASS_ENV = "TEST_FORECAST_HOOK", "TEST_FORECAST_SMTP_USER", "TEST_FORECAST_SMTP_PASS"
TOKEN = "tok-7f3a9c"  # the secret part of the webhook URL: must never reach a log or alerts.jsonl


# ---------------------------------------------------------------------- servers
@pytest.fixture
def webhook():
    """A webhook receiver on 127.0.0.1: mode 'ok' (200), 'error' (500) or 'slow' (sleeps 1.5 s,
    past the client's timeout, and records nothing: the request arrived in slow mode even if the test has switched
    the mode back to 'ok' meanwhile, which made the timed-out requests count as deliveries under load)."""
    state = SimpleNamespace(mode="ok", received=[], requests=0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.requests += 1
            mode = state.mode  # the mode at arrival: a test may switch it while a slow answer sleeps
            if mode == "slow":  # the client gave up after its timeout: not a delivery, whatever comes after
                time.sleep(1.5)
                return
            if mode == "error":
                self.send_response(500)
                self.end_headers()
                return
            if self.path == f"/hook/{TOKEN}":
                state.received.append(json.loads(body))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{srv.server_port}/hook/{TOKEN}"
    try:
        yield state
    finally:
        srv.shutdown()
        srv.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    """An SMTP server (aiosmtpd) on 127.0.0.1 that accepts the login forecast / s3cret only."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    class Handler:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
            self.messages.append(message_from_bytes(envelope.content))
            return "250 OK"

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"forecast" and auth_data.password == b"s3cret"
        return AuthResult(success=ok, handled=False)

    handler = Handler()
    ctl = Controller(handler, hostname="127.0.0.1", port=_free_port(), authenticator=authenticator,
                     auth_require_tls=False)
    ctl.start()
    try:
        yield SimpleNamespace(port=ctl.port, messages=handler.messages)
    finally:
        ctl.stop()


def _settings(smtp_port: int, **kw) -> AlertSettings:
    return AlertSettings(
        webhook=Webhook(enabled=True, url_env=HOOK_ENV, timeout=0.4, attempts=2, backoff=0.05),
        email=Email(enabled=True, host="127.0.0.1", port=smtp_port, username_env=USER_ENV, password_env=PASS_ENV,
                    sender="forecast@example.org", to=("team@example.org",), timeout=2, attempts=2, backoff=0.05),
        **kw)


def _env(url: str, password: str = "s3cret") -> dict[str, str]:
    return {HOOK_ENV: url, USER_ENV: "forecast", PASS_ENV: password}


# ---------------------------------------------------------------------- published runs built from the example
def _report(shift: dict[str, float] | None = None, mcse: float = 0.002, generated="2026-11-23T02:15:00+00:00",
            inputs_hash="a" * 20, ok=True, changes=None) -> dict:
    d = copy.deepcopy(EXAMPLE)
    for row in [*d["responses"], *d["composites"]]:
        key = row.get("response") or row.get("composite")
        dm = (shift or {}).get(key, 0.0)
        for k in ("mean", "hdi_low", "hdi_high"):
            row[k] = round(row[k] + dm, 4)
        row["mcse_mean"] = mcse
    d.update(generated_at=generated, inputs_hash=inputs_hash)
    d["diagnostics"] = {**d["diagnostics"], "ok": ok}
    if changes is not None:
        d["changes"] = changes
    return d


def _publish(reports: Path, folder: str, data: dict[str, dict] | None, settings, environ, status="ok",
             started="2026-11-23T02:15:00+00:00"):
    """What `forecast scheduled` does around the alerts: snapshot, write the folder, swap latest, publish."""
    reports.mkdir(parents=True, exist_ok=True)
    base = news.snapshot(reports)
    run = {"started": started, "as_of": "2026-11-23", "status": status, "pid": 1, "reason": "test",
           "scenarios": sorted(data or {}), "folder": folder if data else None, "inputs_hash": "x"}
    if data:
        for s, d in data.items():
            (reports / folder / s).mkdir(parents=True, exist_ok=True)
            (reports / folder / s / "forecast.json").write_text(json.dumps(d))
        link = reports / "latest"
        if link.is_symlink():
            link.unlink()
        link.symlink_to(folder)
    out = news.publish(reports, run, base, settings, environ)
    with open(reports / "runs.jsonl", "a") as fh:
        fh.write(json.dumps(run) + "\n")
    return out


# ---------------------------------------------------------------------- what counts as news
def test_a_move_is_news_only_above_its_threshold_and_the_monte_carlo_noise():
    before = {"one_time_raid": _report()}
    shift = {"expel_agents": 0.08, "armed_resistance": 0.03, "any_threat": -0.06, "consent_accommodate": 0.06}
    after = {"one_time_raid": _report(shift, generated="2026-11-24T02:15:00+00:00", inputs_hash="b" * 20)}
    # consent_accommodate moved 6 points but both reports are noisy there: 3 x sqrt(2) x 0.02 = 8.5 points
    for row in after["one_time_raid"]["responses"]:
        if row["response"] == "consent_accommodate":
            row["mcse_mean"] = 0.02
    for row in before["one_time_raid"]["responses"]:
        if row["response"] == "consent_accommodate":
            row["mcse_mean"] = 0.02
    alerts, quiet = detect_moves(before, after, AlertSettings(), "2026-11-24")
    assert [(a["item"], a["change"]) for a in alerts] == [("expel_agents", 0.08), ("any_threat", -0.06)]
    assert {q["item"] for q in quiet} >= {"armed_resistance", "consent_accommodate"}
    a = alerts[0]
    assert a["before"]["mean"] == 0.1451 and a["after"]["mean"] == pytest.approx(0.2251)
    assert a["report"] == "2026-11-24/one_time_raid/report.html"
    assert "rose 8.0 points, from 14.5% (90% interval" in a["sentence"]
    assert alerts[1]["item_kind"] == "composite" and "fell 6.0 points" in alerts[1]["sentence"]
    # per-response and per-scenario thresholds
    s = AlertSettings(responses={"expel_agents": 0.10}, scenarios={"one_time_raid": {"any_threat": 0.07}})
    assert detect_moves(before, after, s, "2026-11-24")[0] == []
    s = AlertSettings(scenarios={"one_time_raid": 0.02})
    assert {a["item"] for a in detect_moves(before, after, s, "2026-11-24")[0]} == {"expel_agents", "any_threat",
                                                                                       "armed_resistance"}
    # the same comparison gives the same ids (a feed reader shows each alert once)
    assert [a["id"] for a in detect_moves(before, after, AlertSettings(), "x")[0]] == [x["id"] for x in alerts]
    # an untrustworthy report is not compared (its diagnostics raise their own alert)
    after["one_time_raid"]["diagnostics"]["ok"] = False
    assert detect_moves(before, after, AlertSettings(), "2026-11-24") == ([], [])


def test_a_move_is_judged_on_the_change_it_records():
    """The change an alert records (rounded to 0.0001) is the one compared with the threshold: a move of 0.05004
    recorded as 0.05 against a 0.05 threshold is not news (it was, and read "5.0 points, threshold 5 points"; the
    scheduled-run test then failed on it, by chance of the draws); 0.0501 is."""
    before = {"one_time_raid": _report()}
    after = {"one_time_raid": _report({"armed_resistance": 0.0501}, generated="2026-11-24T02:15:00+00:00",
                                      inputs_hash="b" * 20)}
    for old, row in zip(before["one_time_raid"]["responses"], after["one_time_raid"]["responses"], strict=True):
        if row["response"] == "expel_agents":  # a report's means are not rounded: the change is 0.05004
            row["mean"] = old["mean"] + 0.05004
    alerts, quiet = detect_moves(before, after, AlertSettings(), "2026-11-24")
    assert [(a["item"], a["change"]) for a in alerts] == [("armed_resistance", 0.0501)]
    assert ("expel_agents", 0.05) in {(q["item"], q["change"]) for q in quiet}
    assert all(abs(a["change"]) > a["threshold"] for a in alerts)


def test_an_alert_names_the_evidence_that_moved_it_most():
    before = _report()
    label = next(r["label"] for r in before["responses"] if r["response"] == "expel_agents")
    changes = {"previous": {"inputs_hash": "a" * 20}, "rows": [
        {"response": label, "previous": 0.1451, "current": 0.2251, "change": 0.08, "model, data and Monte Carlo": 0.0,
         "E-2026-10-poll": 0.011, "E-2026-10-raid": 0.069}],
        "steps": [{"label": "model, data and Monte Carlo", "kind": "refit"},
                  {"label": "E-2026-10-poll", "kind": "evidence added"},
                  {"label": "E-2026-10-raid", "kind": "evidence added"}]}
    after = _report({"expel_agents": 0.08}, inputs_hash="b" * 20, changes=changes)
    (a,) = detect_moves({"one_time_raid": before}, {"one_time_raid": after}, AlertSettings(), "f")[0]
    assert [d["label"] for d in a["drivers"]] == ["E-2026-10-raid", "E-2026-10-poll"]
    assert a["sentence"].endswith("moved most by E-2026-10-raid (+6.9 points), E-2026-10-poll (+1.1 points).")
    # an attribution against another previous report is not this move's attribution
    after["changes"]["previous"]["inputs_hash"] = "c" * 20
    (a,) = detect_moves({"one_time_raid": before}, {"one_time_raid": after}, AlertSettings(), "f")[0]
    assert a["drivers"] == []


@pytest.mark.parametrize("override, key", [
    ("alerts.threshold=1.5", "alerts.threshold"),
    ("alerts.noise_sigmas=-1", "alerts.noise_sigmas"),
    ("+alerts.webhook.url=https://chat.example.org/hook/secret", "alerts.webhook.url"),
    ("+alerts.email.password=hunter2", "alerts.email.password"),
    ("alerts.webhook.url_env=not a name", "alerts.webhook.url_env"),
    ("+alerts.scenarios.no_such_scenario=0.1", "alerts.scenarios.no_such_scenario"),
    ("+alerts.responses.no_such_response=0.1", "alerts.responses.no_such_response"),
    ("alerts.email.security=tls13", "alerts.email.security"),
    ("alerts.webhook.attempts=0", "alerts.webhook.attempts"),
])
def test_a_bad_alerts_setting_is_one_line_naming_the_key(override, key):
    with pytest.raises(ConfigError) as e:
        alert_settings(compose([override]))
    msg = str(e.value)
    assert msg.startswith(key + ":") and "\n" not in msg, msg
    assert "secret" not in msg.split(":", 1)[1] or "environment variable" in msg


def test_the_default_alerts_config_is_valid():
    s = alert_settings(compose([]))
    assert s.threshold == 0.05 and s.noise_sigmas == 3 and s.channels() == []
    s = alert_settings(compose(["+alerts.scenarios.repeated_raids={default: 0.08, expel_agents: 0.03}"]))
    assert s.threshold_for("repeated_raids", "expel_agents") == 0.03
    assert s.threshold_for("repeated_raids", "armed_resistance") == 0.08
    assert s.threshold_for("air_strikes", "armed_resistance") == 0.05


# ---------------------------------------------------------------------- log, feed, digest, channels
def _entries(reports: Path) -> list:
    feed = feedparser.parse((reports / "feed.xml").read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    return feed.entries


def test_runs_deliver_each_alert_once_and_a_quiet_run_sends_nothing(tmp_path, webhook, smtp):
    reports, settings, env = tmp_path / "reports", _settings(smtp.port), _env(webhook.url)
    first = _publish(reports, "2026-11-23", {"one_time_raid": _report()}, settings, env)
    assert first["new"] == [] and webhook.received == [] and smtp.messages == []
    assert "First published run" in (reports / "digest.md").read_text()
    assert _entries(reports) == []

    moved = _report({"expel_agents": 0.08, "any_threat": -0.06}, generated="2026-11-24T02:15:00+00:00",
                    inputs_hash="b" * 20)
    second = _publish(reports, "2026-11-24", {"one_time_raid": moved}, settings, env,
                      started="2026-11-24T02:15:00+00:00")
    assert [a["item"] for a in second["new"]] == ["expel_agents", "any_threat"]
    (post,) = webhook.received
    assert [a["item"] for a in post["alerts"]] == ["expel_agents", "any_threat"]
    assert "Expel US law-enforcement" in post["text"] and "14.5% → 22.5%" in post["text"]
    (mail,) = smtp.messages
    assert mail["To"] == "team@example.org" and "2 alerts" in mail["Subject"]
    assert "rose 8.0 points" in mail.get_payload(decode=True).decode()
    log = news.read_alerts(reports)
    assert [a["deliveries"]["webhook"]["status"] for a in log] == ["delivered", "delivered"]
    assert [a["deliveries"]["email"]["status"] for a in log] == ["delivered", "delivered"]
    md = (reports / "digest.md").read_text()
    assert md.index("Expel US") < md.index("Any threat") and "2026-11-24/one_time_raid/report.html" in md
    ids = [e.id for e in _entries(reports)]
    assert len(ids) == 2 == len(set(ids))

    # a third run with the same numbers: nothing new, nothing sent, the feed unchanged
    same = _report({"expel_agents": 0.08, "any_threat": -0.06}, generated="2026-11-25T02:15:00+00:00",
                   inputs_hash="b" * 20)
    third = _publish(reports, "2026-11-25", {"one_time_raid": same}, settings, env,
                     started="2026-11-25T02:15:00+00:00")
    assert third["new"] == [] and len(webhook.received) == 1 and len(smtp.messages) == 1
    assert [e.id for e in _entries(reports)] == ids
    assert "No material change since the previous run" in (reports / "digest.md").read_text()
    assert "No material change" in (reports / "digest.html").read_text()
    assert news.latest_digest_section(reports).startswith("<section id=\"digest\">")
    assert TOKEN not in (reports / "alerts.jsonl").read_text() + (reports / "feed.xml").read_text()


def test_dead_slow_and_refusing_channels_never_fail_a_run_and_the_next_run_retries(tmp_path, webhook, smtp):
    reports = tmp_path / "reports"
    settings = _settings(smtp.port)
    _publish(reports, "2026-11-23", {"one_time_raid": _report()}, settings, _env(webhook.url))
    # a dead webhook (nothing listens) and a refused SMTP login
    dead = f"http://127.0.0.1:{_free_port()}/hook/{TOKEN}"
    out = _publish(reports, "2026-11-24", {"one_time_raid": _report({"expel_agents": 0.1}, inputs_hash="b" * 20,
                                                                    generated="2026-11-24T02:15:00+00:00")},
                   settings, _env(dead, password="bad-pw-x9q"), started="2026-11-24T02:15:00+00:00")
    (a,) = out["new"]
    (rec,) = news.read_alerts(reports)
    assert rec["id"] == a["id"]
    wh, em = rec["deliveries"]["webhook"], rec["deliveries"]["email"]
    assert wh["status"] == "failed" and "cannot connect" in wh["error"] and wh["attempts"] == 2
    assert em["status"] == "failed" and "SMTP login refused (535)" in em["error"] and em["attempts"] == 1
    assert TOKEN not in json.dumps(rec) and "bad-pw-x9q" not in json.dumps(rec)
    # a failed run raises its own alert; the slow webhook times out (2 attempts of 0.4 s): still nothing lost
    webhook.mode = "slow"
    t0 = time.monotonic()
    out = _publish(reports, None, None, settings, _env(webhook.url, password="bad-pw-x9q"), status="invalid input",
                   started="2026-11-25T02:15:00+00:00")
    assert time.monotonic() - t0 < 4, "the timeout did not bound the delivery"
    assert [x["kind"] for x in out["new"]] == ["failed"]
    log = news.read_alerts(reports)
    assert [x["deliveries"]["webhook"]["status"] for x in log] == ["failed", "failed"]
    assert all("timed out after 0.4 s" in x["deliveries"]["webhook"]["error"] for x in log)
    assert "The run failed" in (reports / "digest.md").read_text()
    # the next run (channels healthy, nothing new) delivers both pending alerts, once
    webhook.mode = "ok"
    out = _publish(reports, "2026-11-24", {"one_time_raid": _report({"expel_agents": 0.1}, inputs_hash="b" * 20,
                                                                    generated="2026-11-24T02:15:00+00:00")},
                   settings, _env(webhook.url), started="2026-11-26T02:15:00+00:00")
    assert out["new"] == []
    (post,) = webhook.received
    assert [x["kind"] for x in post["alerts"]] == ["move", "failed"]
    (mail,) = smtp.messages
    assert "2 alerts" in mail["Subject"]
    log = news.read_alerts(reports)
    assert all(x["deliveries"][c]["status"] == "delivered" for x in log for c in ("webhook", "email"))
    assert log[0]["deliveries"]["webhook"]["attempts"] == 5  # 2 dead + 2 timed out + 1 delivered
    # delivered alerts are not sent again; the feed shows each alert once
    _publish(reports, "2026-11-24", {"one_time_raid": _report({"expel_agents": 0.1}, inputs_hash="b" * 20,
                                                              generated="2026-11-24T02:15:00+00:00")},
             settings, _env(webhook.url), started="2026-11-27T02:15:00+00:00")
    assert len(webhook.received) == 1 and len(smtp.messages) == 1
    assert sorted(e.id for e in _entries(reports)) == sorted(news._uuid("alert", x["id"]) for x in log)


def test_failed_diagnostics_raise_one_alert_of_their_own_and_are_never_the_baseline(tmp_path):
    reports, settings = tmp_path / "reports", AlertSettings()
    _publish(reports, "2026-11-23", {"one_time_raid": _report()}, settings, {})
    bad = _report({"expel_agents": 0.3}, inputs_hash="b" * 20, ok=False, generated="2026-11-24T02:15:00+00:00")
    for _ in range(2):  # the second time is the same folder found up to date: no second alert
        out = _publish(reports, "2026-11-24", {"one_time_raid": bad}, settings, {}, status="diagnostics failed",
                       started="2026-11-24T02:15:00+00:00")
    log = news.read_alerts(reports)
    assert [a["kind"] for a in log] == ["diagnostics"] and log[0]["scenarios"] == ["one_time_raid"]
    assert "max R-hat" in log[0]["sentence"] and out["new"] == []
    # the next good run is compared with the last trustworthy report (2026-11-23), not the untrustworthy one
    good = _report({"expel_agents": 0.02}, inputs_hash="c" * 20, generated="2026-11-25T02:15:00+00:00")
    out = _publish(reports, "2026-11-25", {"one_time_raid": good}, settings, {}, started="2026-11-25T02:15:00+00:00")
    assert out["new"] == [] and out["digest"]["previous"][0].startswith("2026-11-23 ")
    assert "No material change since the previous run" in (reports / "digest.md").read_text()


def test_a_delivery_is_abandoned_after_retry_days_but_the_alert_is_kept(tmp_path):
    settings = AlertSettings(webhook=Webhook(enabled=True, url_env=HOOK_ENV), retry_days=7)
    old = {"id": "x1", "kind": "failed", "raised_at": "2026-11-01T00:00:00+00:00", "title": "t", "sentence": "s",
           "deliveries": {"webhook": {"status": "failed", "attempts": 9}}}
    results = news.deliver([old], settings, {}, now=dt.datetime(2026, 11, 23, tzinfo=dt.UTC))
    assert results == [] and old["deliveries"]["webhook"]["status"] == "abandoned"


def test_alerts_cli_lists_filters_and_tests_channels(tmp_path, webhook, smtp, capsys, monkeypatch):
    reports = tmp_path / "reports"
    settings = _settings(smtp.port)
    _publish(reports, "2026-11-23", {"one_time_raid": _report(), "air_strikes": _report()}, settings, {})
    _publish(reports, "2026-11-24", {"one_time_raid": _report({"expel_agents": 0.1}, inputs_hash="b" * 20),
                                     "air_strikes": _report({"armed_resistance": -0.07}, inputs_hash="b" * 20)},
             settings, {})
    with pytest.raises(SystemExit) as e:
        main(["alerts", "--scenario", "air_strikes", f"paths.reports={reports}"])
    out = capsys.readouterr().out
    assert e.value.code == 0 and "Armed resistance" in out and "Expel" not in out
    with pytest.raises(SystemExit) as e:
        main(["alerts", "--since", "2026-01-01", f"paths.reports={reports}"])
    out = capsys.readouterr().out
    assert out.count("move ") == 2 and "webhook: failed" in out
    over = [f"paths.reports={reports}", "alerts.webhook.enabled=true", f"alerts.webhook.url_env={HOOK_ENV}",
            "alerts.email.enabled=true", "alerts.email.host=127.0.0.1", f"alerts.email.port={smtp.port}",
            f"alerts.email.username_env={USER_ENV}", f"alerts.email.password_env={PASS_ENV}",
            "alerts.email.to=[team@example.org]"]
    for k, v in _env(webhook.url).items():
        monkeypatch.setenv(k, v)
    with pytest.raises(SystemExit) as e:
        main(["alerts", "test", *over])
    lines = capsys.readouterr().out.strip().splitlines()
    assert e.value.code == 0, lines
    assert lines[0].startswith("webhook: ok, HTTP 200") and lines[1].startswith("email: ok, sent to 1")
    assert webhook.received[-1]["alerts"][0]["kind"] == "test" and len(smtp.messages) == 1
    monkeypatch.setenv(PASS_ENV, "bad-pw-x9q")
    monkeypatch.delenv(HOOK_ENV)
    with pytest.raises(SystemExit) as e:
        main(["alerts", "test", *over])
    lines = capsys.readouterr().out.strip().splitlines()
    assert e.value.code == 69
    assert lines == [f"webhook: FAILED, environment variable {HOOK_ENV} is not set (it holds the webhook URL) "
                     "(0 attempt(s), 0.0 s)", lines[1]]
    assert lines[1].startswith("email: FAILED, SMTP login refused (535)") and "bad-pw-x9q" not in lines[1]


# ---------------------------------------------------------------------- the real scheduled run
@pytest.mark.slow
def test_scheduled_runs_alert_when_evidence_moves_a_forecast(default_fit, tmp_path, data_copy, session_cache, capsys,
                                                             webhook, smtp, monkeypatch):
    """Two scheduled runs with an episode added between them (the same entry test_evidence fits, so in a
    full session the second posterior is a cache hit), then a run with nothing new, a failed run with
    broken channels, and a run that retries them."""
    from forecast.inputs.data import load_ontology
    from forecast.inputs.evidence import add_entry

    from .conftest import TODAY
    from .test_evidence import EPISODE

    reports = tmp_path / "reports"
    for k, v in _env(webhook.url).items():
        monkeypatch.setenv(k, v)
    args = ["scheduled", f"paths.reports={reports}", f"paths.cache={session_cache}", f"paths.data={data_copy}",
            "alerts.webhook.enabled=true", f"alerts.webhook.url_env={HOOK_ENV}",
            "alerts.webhook.timeout=2", "alerts.webhook.backoff=0.1",
            "alerts.email.enabled=true", "alerts.email.host=127.0.0.1", f"alerts.email.port={smtp.port}",
            f"alerts.email.username_env={USER_ENV}", f"alerts.email.password_env={PASS_ENV}",
            "alerts.email.to=[team@example.org]", "alerts.email.backoff=0.1"]

    def run(extra=()):
        with pytest.raises(SystemExit) as e:
            main([*args, *extra])
        return e.value.code, capsys.readouterr().err

    code, err = run()
    assert code == 0, err
    assert webhook.received == [] and smtp.messages == [] and news.read_alerts(reports) == []
    add_entry(data_copy / "evidence", EPISODE, load_ontology(data_copy), TODAY)
    code, err = run()
    assert code == 0, err
    alerts = news.read_alerts(reports)
    moves = {(a["scenario"], a["item"]): a for a in alerts if a["kind"] == "move"}
    # test_evidence measured +0.104 (one raid) and +0.089 (repeated raids) for this episode
    a = moves[("one_time_raid", "sever_downgrade_relations")]
    assert a["change"] > 0.05 and abs(a["change"]) > a["noise"] > 0
    assert a["drivers"][0]["label"] == EPISODE["id"], a["drivers"]
    assert ("repeated_raids", "sever_downgrade_relations") in moves
    assert all(abs(m["change"]) > 0.05 for m in moves.values())
    (post,) = webhook.received
    assert {(x["scenario"], x["item"]) for x in post["alerts"]} == set(moves)
    assert EPISODE["id"] in post["text"]
    (mail,) = smtp.messages
    assert "sever" in mail.get_payload(decode=True).decode().lower()
    entries = _entries(reports)
    assert len(entries) == len(alerts)
    index = (reports / "runs.html").read_text()  # the scheduled runs' page, the latest digest on top
    assert index.index('id="digest"') < index.index("<table>") and "Sever or downgrade" in index
    md = (reports / "digest.md").read_text()
    changes = [abs(m["change"]) for m in sorted(moves.values(), key=lambda m: md.index(news._md(m["sentence"])))]
    assert changes == sorted(changes, reverse=True), "the digest is not sorted by size of move"

    code, err = run()  # nothing new: nothing sent
    assert code == 0, err
    assert len(webhook.received) == 1 and len(smtp.messages) == 1 and len(news.read_alerts(reports)) == len(alerts)
    assert [e.id for e in _entries(reports)] == [e.id for e in entries]

    monkeypatch.setenv(HOOK_ENV, f"http://127.0.0.1:{_free_port()}/hook/{TOKEN}")  # dead
    monkeypatch.setenv(PASS_ENV, "bad-pw-x9q")
    code, err = run(["as_of=2999-01-01"])  # fails as before (exit 2): the broken channels change nothing
    assert code == 2 and err.strip().count("\n") == 0, err
    failed = news.read_alerts(reports)[-1]
    assert failed["kind"] == "failed" and failed["deliveries"]["webhook"]["status"] == "failed"
    assert failed["deliveries"]["email"]["error"].startswith("SMTP login refused")
    monkeypatch.setenv(HOOK_ENV, webhook.url)
    monkeypatch.setenv(PASS_ENV, "s3cret")
    code, err = run()
    assert code == 0, err
    assert [x["kind"] for x in webhook.received[-1]["alerts"]] == ["failed"] and len(smtp.messages) == 2
    log_text = (reports / "logs" / "scheduled.log").read_text()
    assert "FAILED to deliver" in log_text and TOKEN not in log_text and "bad-pw-x9q" not in log_text
    assert len(_entries(reports)) == len(alerts) + 1
    assert os.environ[HOOK_ENV] not in (reports / "alerts.jsonl").read_text()


def test_hostile_text_in_a_run_stays_text_in_the_digest_and_the_feed(tmp_path):
    from .hostile.corpus import HOSTILE, assert_inert_html

    reports = tmp_path / "reports"
    hostile = _report(inputs_hash="b" * 20)
    hostile["title"] = HOSTILE
    for r in hostile["responses"]:
        r["label"] = HOSTILE
    _publish(reports, "2026-11-23", {"one_time_raid": _report()}, AlertSettings(), {})
    moved = copy.deepcopy(hostile)
    moved["responses"][0]["mean"] += 0.2
    _publish(reports, "2026-11-24", {"one_time_raid": moved}, AlertSettings(), {}, started="<script>x</script>")
    _publish(reports, None, None, AlertSettings(), {}, status="internal error", started=HOSTILE)
    assert_inert_html((reports / "digest.html").read_text())
    assert_inert_html(news.latest_digest_section(reports))
    md = (reports / "digest.md").read_text()
    assert not any(line.startswith(("#", ">", "<", "|")) for line in md.splitlines()[1:]), md
    assert "\\<script\\>" in md and not re.search(r"(?<!\\)<script", md)  # escaped: shown, never run
    entries = _entries(reports)
    assert len(entries) == 2 and any(HOSTILE.split()[0] in e.title for e in entries)
