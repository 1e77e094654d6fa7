"""What counts as news after a scheduled run: the alert rules, on published reports (plain dicts).

A published probability (a response or a composite of one scenario) *moved* when the change of its
posterior mean since the last trustworthy published report is both

- larger than its threshold (``alerts.threshold``, default 0.05 = 5 points; per scenario, per response
  and per scenario/response in ``conf/alerts/``), and
- larger than the run-to-run noise the tool can estimate: ``noise_sigmas`` (default 3) times the Monte
  Carlo standard error of the difference, ``sqrt(mcse_before**2 + mcse_after**2)``, from each report's
  ``mcse_mean``. Three standard errors because a run compares ~100 probabilities: at two, about five
  of them would cross by chance whenever the threshold is small.

A run whose diagnostics failed raises one ``diagnostics`` alert (its scenarios' numbers are not compared:
they are not trustworthy), and a run that failed raises one ``failed`` alert. Each alert has a stable id
(a digest of what it is about), so it is recorded, fed and sent once however often it is seen.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig, OmegaConf

from forecast.errors import ConfigError
from forecast.inputs.config import list_scenarios, paths

RESIDUAL = "model or data changed, refitted"  # the attribution's refit part (forecast.analysis.attribution)
OK_STATUSES = ("ok", "unchanged", "diagnostics failed")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRET_KEYS = {"url": "url_env", "password": "password_env", "token": "url_env"}


# ---------------------------------------------------------------------- settings
@dataclass(frozen=True)
class Webhook:
    enabled: bool = False
    url_env: str = "FORECAST_WEBHOOK_URL"
    timeout: float = 10.0
    attempts: int = 3
    backoff: float = 1.0


@dataclass(frozen=True)
class Email:
    enabled: bool = False
    host: str = "localhost"
    port: int = 25
    security: str = "none"  # none | starttls | ssl
    username_env: str | None = None
    password_env: str | None = None
    sender: str = "forecast@localhost"
    to: tuple[str, ...] = ()
    timeout: float = 10.0
    attempts: int = 2
    backoff: float = 1.0


@dataclass(frozen=True)
class AlertSettings:
    threshold: float = 0.05
    noise_sigmas: float = 3.0
    scenarios: dict[str, Any] = field(default_factory=dict)  # scenario -> number | {item: number, default: number}
    responses: dict[str, float] = field(default_factory=dict)  # response or composite id -> number
    top_drivers: int = 3
    retry_days: float = 7.0
    base_url: str | None = None
    feed_title: str = "forecast alerts"
    feed_entries: int = 200
    webhook: Webhook = Webhook()
    email: Email = Email()

    def threshold_for(self, scenario: str, item: str) -> float:
        sc = self.scenarios.get(scenario)
        if isinstance(sc, dict) and item in sc:
            return float(sc[item])
        if item in self.responses:
            return float(self.responses[item])
        if isinstance(sc, dict) and "default" in sc:
            return float(sc["default"])
        if isinstance(sc, int | float):
            return float(sc)
        return self.threshold

    def channels(self) -> list[str]:
        return [n for n, c in (("webhook", self.webhook), ("email", self.email)) if c.enabled]


def _num(v: Any, key: str, lo: float, hi: float, fix: str, integer: bool = False) -> float:
    ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and lo <= v <= hi
    if ok and integer and not float(v).is_integer():
        ok = False
    if not ok:
        kind = "a whole number" if integer else "a number"
        raise ConfigError(f"alerts.{key}", f"{v!r} is not {kind} in [{lo:g}, {hi:g}]", fix)
    return int(v) if integer else float(v)


def _bool(v: Any, key: str) -> bool:
    if not isinstance(v, bool):
        raise ConfigError(f"alerts.{key}", f"{v!r} is not true or false", "write true or false")
    return v


def _known(raw: dict, allowed: set[str], where: str) -> None:
    for k in raw:
        if k in _SECRET_KEYS and f"{_SECRET_KEYS[k]}" in allowed:
            raise ConfigError(f"{where}.{k}", "a secret must not be written in the config",
                              f"export it in an environment variable and name that variable in {where}."
                              f"{_SECRET_KEYS[k]}")
        if k not in allowed:
            raise ConfigError(f"{where}.{k}", "unknown key", f"use only: {', '.join(sorted(allowed))}")


def _env_name(v: Any, key: str, optional: bool = False) -> str | None:
    if v is None and optional:
        return None
    if not isinstance(v, str) or not _ENV.match(v):
        raise ConfigError(f"alerts.{key}", f"{v!r} is not the name of an environment variable",
                          "write a name such as FORECAST_WEBHOOK_URL (the value goes in the environment)")
    return v


def alert_settings(cfg: DictConfig, ontology=None) -> AlertSettings:
    """The ``alerts`` config group, checked: every bad value is one ConfigError naming the key and the fix.
    Scenario names are checked against conf/scenario/, response and composite ids against the ontology
    (read from ``paths.data`` unless given; skipped when the data cannot be read: the run reports that)."""
    raw = OmegaConf.to_container(cfg.alerts, resolve=True) if cfg.get("alerts") is not None else {}
    if not isinstance(raw, dict):
        raise ConfigError("alerts", "expected a mapping", "see conf/alerts/default.yaml")
    _known(raw, {f.name for f in AlertSettings.__dataclass_fields__.values()}, "alerts")
    d = AlertSettings()
    thr = _num(raw.get("threshold", d.threshold), "threshold", 0.0, 1.0, "use e.g. 0.05 (5 points)")
    ids = None
    if ontology is None:
        try:
            from forecast.inputs.data import load_ontology

            ontology = load_ontology(paths(cfg)["data"])
        except Exception:  # noqa: BLE001 - a broken data folder is the run's error to report, not this check's
            ontology = None
    if ontology is not None:
        ids = set(ontology.response_ids) | set(ontology.composites)
    scen = raw.get("scenarios") or {}
    if not isinstance(scen, dict):
        raise ConfigError("alerts.scenarios", "expected a mapping scenario -> threshold", "see conf/alerts/")
    names = list_scenarios()
    for s, v in scen.items():
        if s not in names:
            raise ConfigError(f"alerts.scenarios.{s}", "unknown scenario", f"use one of: {', '.join(names)}")
        if isinstance(v, dict):
            for item, t in v.items():
                if item != "default" and ids is not None and item not in ids:
                    raise ConfigError(f"alerts.scenarios.{s}.{item}", "unknown response or composite",
                                      "use an id from data/ontology/responses.csv or composites.yaml, or default")
                _num(t, f"scenarios.{s}.{item}", 0.0, 1.0, "use e.g. 0.05")
        else:
            _num(v, f"scenarios.{s}", 0.0, 1.0, "use e.g. 0.05, or a mapping response -> threshold")
    resp = raw.get("responses") or {}
    if not isinstance(resp, dict):
        raise ConfigError("alerts.responses", "expected a mapping response -> threshold", "see conf/alerts/")
    for item, t in resp.items():
        if ids is not None and item not in ids:
            raise ConfigError(f"alerts.responses.{item}", "unknown response or composite",
                              "use an id from data/ontology/responses.csv or composites.yaml")
        _num(t, f"responses.{item}", 0.0, 1.0, "use e.g. 0.05")
    wh_raw = raw.get("webhook") or {}
    em_raw = raw.get("email") or {}
    for key, r in (("webhook", wh_raw), ("email", em_raw)):
        if not isinstance(r, dict):
            raise ConfigError(f"alerts.{key}", "expected a mapping", "see conf/alerts/default.yaml")
    _known(wh_raw, set(Webhook.__dataclass_fields__), "alerts.webhook")
    _known(em_raw, set(Email.__dataclass_fields__), "alerts.email")
    w, e = Webhook(), Email()
    webhook = Webhook(
        enabled=_bool(wh_raw.get("enabled", w.enabled), "webhook.enabled"),
        url_env=_env_name(wh_raw.get("url_env", w.url_env), "webhook.url_env"),
        timeout=_num(wh_raw.get("timeout", w.timeout), "webhook.timeout", 0.05, 300, "use e.g. 10 (seconds)"),
        attempts=_num(wh_raw.get("attempts", w.attempts), "webhook.attempts", 1, 10, "use e.g. 3", integer=True),
        backoff=_num(wh_raw.get("backoff", w.backoff), "webhook.backoff", 0, 60, "use e.g. 1 (seconds)"))
    security = em_raw.get("security", e.security)
    if security not in ("none", "starttls", "ssl"):
        raise ConfigError("alerts.email.security", f"{security!r} is not none, starttls or ssl", "use starttls")
    to = em_raw.get("to", list(e.to))
    to = [to] if isinstance(to, str) else to
    if not isinstance(to, list) or not all(isinstance(a, str) and "@" in a and "\n" not in a for a in to):
        raise ConfigError("alerts.email.to", f"{to!r} is not a list of addresses", "write e.g. [team@example.org]")
    sender = em_raw.get("sender", e.sender)
    if not isinstance(sender, str) or "@" not in sender or "\n" in sender:
        raise ConfigError("alerts.email.sender", f"{sender!r} is not an address", "write e.g. forecast@example.org")
    host = em_raw.get("host", e.host)
    if not isinstance(host, str) or not host or any(c.isspace() for c in host):
        raise ConfigError("alerts.email.host", f"{host!r} is not a host name", "write e.g. smtp.example.org")
    email = Email(
        enabled=_bool(em_raw.get("enabled", e.enabled), "email.enabled"), host=host,
        port=_num(em_raw.get("port", e.port), "email.port", 1, 65535, "use e.g. 587", integer=True),
        security=security,
        username_env=_env_name(em_raw.get("username_env", e.username_env), "email.username_env", optional=True),
        password_env=_env_name(em_raw.get("password_env", e.password_env), "email.password_env", optional=True),
        sender=sender, to=tuple(to),
        timeout=_num(em_raw.get("timeout", e.timeout), "email.timeout", 0.05, 300, "use e.g. 10 (seconds)"),
        attempts=_num(em_raw.get("attempts", e.attempts), "email.attempts", 1, 10, "use e.g. 2", integer=True),
        backoff=_num(em_raw.get("backoff", e.backoff), "email.backoff", 0, 60, "use e.g. 1 (seconds)"))
    if email.enabled and not email.to:
        raise ConfigError("alerts.email.to", "email is enabled but has no recipient", "write e.g. [team@example.org]")
    base_url = raw.get("base_url", d.base_url)
    if base_url is not None and (not isinstance(base_url, str) or not re.match(r"^https?://\S+$", base_url)):
        raise ConfigError("alerts.base_url", f"{base_url!r} is not an http(s) URL",
                          "write the URL where reports/ is served, e.g. https://example.org/forecast/, or null")
    title = raw.get("feed_title", d.feed_title)
    if not isinstance(title, str) or not title.strip():
        raise ConfigError("alerts.feed_title", f"{title!r} is not a title", "write e.g. forecast alerts")
    return AlertSettings(
        threshold=thr,
        noise_sigmas=_num(raw.get("noise_sigmas", d.noise_sigmas), "noise_sigmas", 0.0, 10.0, "use e.g. 3"),
        scenarios=scen, responses=resp,
        top_drivers=_num(raw.get("top_drivers", d.top_drivers), "top_drivers", 0, 20, "use e.g. 3", integer=True),
        retry_days=_num(raw.get("retry_days", d.retry_days), "retry_days", 0, 365, "use e.g. 7 (days)"),
        base_url=base_url, feed_title=title,
        feed_entries=_num(raw.get("feed_entries", d.feed_entries), "feed_entries", 1, 10000, "use e.g. 200",
                          integer=True),
        webhook=webhook, email=email)


# ---------------------------------------------------------------------- detection
def alert_id(*parts: Any) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:20]


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def _mcse(row: dict[str, Any]) -> float | None:
    """A report row's Monte Carlo standard error of the mean: ``mcse_mean`` when the report has it, else
    sd / sqrt(bulk ESS) (the same quantity, from older reports), else unknown."""
    m = row.get("mcse_mean")
    if isinstance(m, int | float) and math.isfinite(m):
        return float(m)
    sd, ess = row.get("sd"), row.get("ess_bulk")
    if isinstance(sd, int | float) and isinstance(ess, int | float) and ess > 0:
        return float(sd) / math.sqrt(float(ess))
    return None


def pct(x: float | None) -> str:
    return "?" if x is None else f"{100 * x:.1f}%"


def points(x: float) -> str:
    return f"{100 * x:+.1f} points"


def _items(report: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    out = {}
    for r in report.get("responses") or []:
        if isinstance(r, dict) and "response" in r:
            out[str(r["response"])] = ("response", r)
    for c in report.get("composites") or []:
        if isinstance(c, dict) and "composite" in c:
            out[str(c["composite"])] = ("composite", c)
    return out


def _drivers(current: dict[str, Any], previous: dict[str, Any], label: str, top: int) -> list[dict[str, Any]]:
    """The pieces of evidence (or priors) that moved this response most, from the attribution the report
    computed against the same previous report; [] when there is none (composites, no recorded state)."""
    ch = current.get("changes") or {}
    if (ch.get("previous") or {}).get("inputs_hash") != previous.get("inputs_hash"):
        return []
    kinds = {s.get("label"): s.get("kind") for s in ch.get("steps") or [] if isinstance(s, dict)}
    for row in ch.get("rows") or []:
        if isinstance(row, dict) and row.get("response") == label:
            parts = [(k, v) for k, v in row.items() if k not in ("id", "response", "previous", "current", "change")
                     and not str(k).startswith("± ")  # a part's Monte Carlo standard error, not a cause
                     and isinstance(v, int | float) and abs(v) >= 5e-4]
            parts.sort(key=lambda kv: -abs(kv[1]))
            return [{"label": k, "kind": kinds.get(k, "unexplained" if k == "unexplained" else "?"),
                     "part": round(float(v), 4)} for k, v in parts[:top]]
    return []


def _side(row: dict[str, Any], report: dict[str, Any], folder: str | None) -> dict[str, Any]:
    return {"mean": row.get("mean"), "hdi_low": row.get("hdi_low"), "hdi_high": row.get("hdi_high"),
            "hdi_prob": row.get("hdi_prob"), "mcse_mean": _mcse(row), "inputs_hash": report.get("inputs_hash"),
            "generated_at": report.get("generated_at"), "as_of": report.get("as_of"), "folder": folder}


def move_sentence(a: dict[str, Any]) -> str:
    b, c = a["before"], a["after"]
    verb = "rose" if a["change"] > 0 else "fell"
    prob = int(round(100 * (c.get("hdi_prob") or 0.9)))
    s = (f"{a['scenario_title']}: P({a['label']}) {verb} {abs(100 * a['change']):.1f} points, from {pct(b['mean'])} "
         f"({prob}% interval {pct(b['hdi_low'])}–{pct(b['hdi_high'])}) to {pct(c['mean'])} "
         f"({pct(c['hdi_low'])}–{pct(c['hdi_high'])})")
    if a["drivers"]:
        s += "; moved most by " + ", ".join(f"{d['label']} ({points(d['part'])})" for d in a["drivers"])
    elif a["item_kind"] == "composite":
        s += " (composites carry no attribution; see their member responses)"
    return s + "."


def detect_moves(baseline: dict[str, dict[str, Any]], current: dict[str, dict[str, Any]],
                 settings: AlertSettings, folder: str | None = None,
                 baseline_folders: dict[str, str] | None = None) -> tuple[list[dict], list[dict]]:
    """(alerts, quiet): the moves that are news, and every other compared move (for the digest), both
    sorted by size. ``baseline``/``current``: scenario -> published report data (forecast.json)."""
    alerts, quiet = [], []
    raised = _now()
    for s, cur in current.items():
        prev = baseline.get(s)
        if not prev or not (cur.get("diagnostics") or {}).get("ok"):
            continue
        prev_items = _items(prev)
        for item, (kind, row) in _items(cur).items():
            if item not in prev_items:
                continue
            prow = prev_items[item][1]
            if not all(isinstance(x.get("mean"), int | float) for x in (row, prow)):
                continue
            # decided on the numbers the alert records and shows: a move of 0.05004 against a 0.05 threshold was
            # news recorded as "0.05, threshold 0.05"
            change = round(float(row["mean"]) - float(prow["mean"]), 4)
            m0, m1 = _mcse(prow), _mcse(row)
            se = math.sqrt(m0 ** 2 + m1 ** 2) if m0 is not None and m1 is not None else None
            noise = round(settings.noise_sigmas * se, 5) if se is not None else None
            threshold = settings.threshold_for(s, item)
            news = abs(change) > threshold and (noise is None or abs(change) > noise)
            label = str(row.get("label") or item)
            a = {"scenario": s, "scenario_title": str(cur.get("title") or s), "item_kind": kind, "item": item,
                 "label": label, "change": change, "threshold": threshold,
                 "noise": noise, "noise_sigmas": settings.noise_sigmas,
                 "before": _side(prow, prev, (baseline_folders or {}).get(s)), "after": _side(row, cur, folder),
                 "report": f"{folder}/{s}/report.html" if folder else None}
            if not news:
                quiet.append(a)
                continue
            a["drivers"] = _drivers(cur, prev, label, settings.top_drivers)
            a.update(kind="move", raised_at=raised,
                     id=alert_id("move", s, item, prev.get("inputs_hash"), prev.get("generated_at"),
                                 cur.get("inputs_hash"), cur.get("generated_at")))
            a["title"] = (f"{a['scenario_title']}: {label} {pct(a['before']['mean'])} → {pct(a['after']['mean'])} "
                          f"({points(change)})")
            a["sentence"] = move_sentence(a)
            if noise is None:
                a["sentence"] += " (Monte Carlo error unknown: an earlier report did not record it.)"
            alerts.append(a)
    alerts.sort(key=lambda a: -abs(a["change"]))
    quiet.sort(key=lambda a: -abs(a["change"]))
    return alerts, quiet


def diagnostics_alert(run: dict[str, Any], reports: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One alert for a run whose diagnostics failed, naming each untrustworthy scenario and its figures."""
    bad = {s: d.get("diagnostics") or {} for s, d in reports.items() if not (d.get("diagnostics") or {}).get("ok")}
    parts = [f"{s} (max R-hat {d.get('scenario_max_rhat', d.get('max_rhat'))}, min bulk ESS "
             f"{d.get('scenario_min_ess_bulk', d.get('min_ess_bulk'))}, divergences {d.get('divergences')})"
             for s, d in sorted(bad.items())]
    folder = run.get("folder")
    sentence = (f"The run of {run.get('started')} (as of {run.get('as_of')}) published reports whose diagnostics "
                f"failed: {'; '.join(parts) or run.get('reason', '')}. Their numbers are marked untrustworthy and "
                "are not compared; rerun with more draws (sampler.draws=4000).")
    return {"kind": "diagnostics", "id": alert_id("diagnostics", folder, run.get("inputs_hash")), "raised_at": _now(),
            "scenario": None, "scenarios": sorted(bad), "title": f"Diagnostics failed in {len(bad)} scenario(s)",
            "sentence": sentence, "report": f"{folder}/{sorted(bad)[0]}/report.html" if bad and folder else None,
            "run": {k: run.get(k) for k in ("started", "as_of", "status", "reason", "folder", "inputs_hash")}}


def failed_alert(run: dict[str, Any]) -> dict[str, Any]:
    """One alert for a run that failed (invalid input, an error, an interruption): nothing was published."""
    sentence = (f"The scheduled run of {run.get('started')} ended with status '{run.get('status')}': "
                f"{run.get('reason') or 'no reason recorded'}. Nothing new was published; the previous reports stand.")
    return {"kind": "failed", "id": alert_id("failed", run.get("started"), run.get("pid"), run.get("status")),
            "raised_at": _now(), "scenario": None, "title": f"Scheduled run failed: {run.get('status')}",
            "sentence": sentence, "report": None,
            "run": {k: run.get(k) for k in ("started", "as_of", "status", "reason", "folder", "inputs_hash")}}


def probe_alert() -> dict[str, Any]:
    now = _now()
    return {"kind": "test", "id": alert_id("test", now), "raised_at": now, "scenario": None,
            "title": "forecast: test message", "report": None,
            "sentence": "This is a test message from `forecast alerts test`: this channel works."}
