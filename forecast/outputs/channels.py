"""Notification channels: a webhook (JSON POST) and email (SMTP), each with a timeout and bounded retries.

A channel never raises: it returns a :class:`Delivery` saying what happened, in one line that never
contains a secret. Secrets (the webhook URL, which carries the token; the SMTP user and password) are
read from the environment variables the config names, at send time, and are never logged.
"""

from __future__ import annotations

import http.client
import json
import os
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from forecast.analysis.alerts import AlertSettings, Email, Webhook, pct
from forecast.errors import printable


@dataclass
class Delivery:
    channel: str
    ok: bool
    detail: str  # one line, no secrets
    attempts: int
    seconds: float


def _clean(text: str, secrets: list[str | None]) -> str:
    text = printable(str(text))
    for s in secrets:
        if s:
            text = text.replace(s, "***")
    return text[:300]


def message_text(alerts: list[dict[str, Any]], settings: AlertSettings) -> str:
    lines = []
    for a in alerts:
        line = f"• {a['sentence']}"
        if a.get("report"):
            line += f" {a.get('link') or link(a['report'], settings)}"
        lines.append(line)
    return "\n".join(lines)


def link(rel: str, settings: AlertSettings, reports=None) -> str:
    """Where a report is read: under ``alerts.base_url`` when set, else its path on this machine."""
    if settings.base_url:
        return settings.base_url.rstrip("/") + "/" + rel
    return str(reports / rel) if reports is not None else f"reports/{rel}"


def subject(alerts: list[dict[str, Any]]) -> str:
    if len(alerts) == 1:
        return f"forecast: {alerts[0]['title']}"
    moves = [a for a in alerts if a.get("kind") == "move"]
    head = f"forecast: {len(alerts)} alerts"
    if moves:
        m = max(moves, key=lambda a: abs(a["change"]))
        head += f" (largest: {m['scenario']} {m['label']} {pct(m['before']['mean'])} → {pct(m['after']['mean'])})"
    return head


def payload(alerts: list[dict[str, Any]], settings: AlertSettings) -> dict[str, Any]:
    """The JSON POSTed to the webhook: ``text`` for chat tools (Slack, Mattermost, Teams-style incoming
    webhooks show it), ``alerts`` with the structured records."""
    keep = ("id", "kind", "raised_at", "title", "sentence", "scenario", "item", "label", "change", "before", "after",
            "drivers", "report", "link")
    return {"text": subject(alerts) + "\n" + message_text(alerts, settings),
            "alerts": [{k: a[k] for k in keep if k in a} for a in alerts]}


def send_webhook(alerts: list[dict[str, Any]], cfg: Webhook, settings: AlertSettings,
                 environ: dict[str, str] | None = None) -> Delivery:
    env = os.environ if environ is None else environ
    url = env.get(cfg.url_env)
    t0 = time.monotonic()
    if not url:
        return Delivery("webhook", False, f"environment variable {cfg.url_env} is not set (it holds the webhook URL)",
                        0, 0.0)
    problem = url_problem(url)
    if problem:
        return Delivery("webhook", False, f"{cfg.url_env} is not a usable webhook URL: {problem}; fix the "
                        "variable (its value is not shown: it holds the token)", 0, 0.0)
    body = json.dumps(payload(alerts, settings), ensure_ascii=False).encode("utf-8")
    detail = ""
    for attempt in range(1, cfg.attempts + 1):
        req = urllib.request.Request(url, data=body, method="POST",  # noqa: S310 - http(s) checked above
                                     headers={"Content-Type": "application/json; charset=utf-8",
                                              "User-Agent": "forecast-alerts"})
        try:
            with urllib.request.urlopen(req, timeout=cfg.timeout) as resp:  # noqa: S310 - http(s) checked above
                resp.read(4096)
                return Delivery("webhook", True, f"HTTP {resp.status}", attempt, time.monotonic() - t0)
        except urllib.error.HTTPError as e:
            detail = f"HTTP {e.code} {e.reason}"
            if 400 <= e.code < 500 and e.code not in (408, 429):
                break  # the receiver refuses this request: retrying now will not help
        except TimeoutError:
            detail = f"timed out after {cfg.timeout:g} s"
        except urllib.error.URLError as e:
            reason = e.reason
            detail = f"timed out after {cfg.timeout:g} s" if isinstance(reason, TimeoutError) \
                else f"cannot connect: {reason}"
        except http.client.InvalidURL:  # its message quotes the URL, which carries the token
            detail = f"{cfg.url_env} is not a valid URL (the HTTP library refused it); fix the variable"
            break
        except (OSError, ValueError, http.client.HTTPException) as e:
            detail = f"{type(e).__name__}: {e}"
        if attempt < cfg.attempts:
            time.sleep(cfg.backoff * 2 ** (attempt - 1))
    return Delivery("webhook", False, _clean(detail, [url]), attempt, time.monotonic() - t0)


def url_problem(url: str) -> str | None:
    """What makes a webhook URL unusable, in words that never quote it (it carries the token); None if nothing."""
    import urllib.parse

    for i, c in enumerate(url, 1):
        if c.isspace() or not c.isprintable():
            what = "a space" if c == " " else "a line break" if c in "\r\n" else "a tab" if c == "\t" else \
                f"an invisible character (U+{ord(c):04X})"
            where = "at its start" if i == 1 else "at its end" if i == len(url) else f"at character {i} of {len(url)}"
            return f"it contains {what} {where}"
    if not url.startswith(("http://", "https://")):
        return "it does not start with http:// or https://"
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return "its host or port cannot be read"
    if not parts.hostname:
        return "it names no host"
    return None


def email_message(alerts: list[dict[str, Any]], cfg: Email, settings: AlertSettings) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject(alerts)
    msg["From"] = cfg.sender
    msg["To"] = ", ".join(cfg.to)
    msg.set_content(message_text(alerts, settings) + "\n\n-- \nforecast scheduled: see reports/digest.md and "
                    "reports/feed.xml\n")
    return msg


def send_email(alerts: list[dict[str, Any]], cfg: Email, settings: AlertSettings,
               environ: dict[str, str] | None = None) -> Delivery:
    env = os.environ if environ is None else environ
    t0 = time.monotonic()
    user = env.get(cfg.username_env) if cfg.username_env else None
    password = env.get(cfg.password_env) if cfg.password_env else None
    for name, value in ((cfg.username_env, user), (cfg.password_env, password)):
        if name and not value:
            return Delivery("email", False, f"environment variable {name} is not set", 0, 0.0)
    msg = email_message(alerts, cfg, settings)
    detail = ""
    for attempt in range(1, cfg.attempts + 1):
        try:
            if cfg.security == "ssl":
                smtp = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout,
                                        context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
            with smtp:
                if cfg.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if user:
                    smtp.login(user, password or "")
                refused = smtp.send_message(msg)
            if refused:
                detail = f"refused recipients: {', '.join(sorted(refused))}"
                break
            return Delivery("email", True, f"sent to {len(cfg.to)} recipient(s) via {cfg.host}:{cfg.port}",
                            attempt, time.monotonic() - t0)
        except smtplib.SMTPAuthenticationError as e:
            detail = f"SMTP login refused ({e.smtp_code})"
            break  # the same credentials will be refused again now
        except smtplib.SMTPRecipientsRefused as e:
            detail = f"refused recipients: {', '.join(sorted(e.recipients))}"
            break
        except TimeoutError:
            detail = f"timed out after {cfg.timeout:g} s"
        except (smtplib.SMTPException, OSError, ValueError) as e:
            detail = f"{type(e).__name__}: {e}"
        if attempt < cfg.attempts:
            time.sleep(cfg.backoff * 2 ** (attempt - 1))
    return Delivery("email", False, _clean(detail, [user, password]), attempt, time.monotonic() - t0)


def send(channel: str, alerts: list[dict[str, Any]], settings: AlertSettings,
         environ: dict[str, str] | None = None) -> Delivery:
    """Send these alerts as one message through one channel; never raises."""
    try:
        if channel == "webhook":
            return send_webhook(alerts, settings.webhook, settings, environ)
        if channel == "email":
            return send_email(alerts, settings.email, settings, environ)
        return Delivery(channel, False, "unknown channel", 0, 0.0)
    except Exception as e:  # noqa: BLE001 - a channel's bug must not fail the run or lose the alert
        return Delivery(channel, False, _clean(f"internal error: {type(e).__name__}", []), 0, 0.0)
