"""``forecast alerts [test]``: the alerts of scheduled runs, and a test message through each channel.

Alerts are raised by ``forecast scheduled`` (``forecast.usecases.scheduled``) into ``reports/alerts.jsonl``;
the channels (webhook, email) and their thresholds are configured in ``conf/alerts/``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from forecast.analysis.alerts import alert_settings, probe_alert
from forecast.inputs import config as _config
from forecast.outputs.channels import Delivery, send
from forecast.outputs.news import alert_line, link_for, read_alerts

CHANNELS = ("webhook", "email")


@dataclass(frozen=True)
class AlertRow:
    """A recorded alert (as ``reports/alerts.jsonl`` holds it), its line for people, and its report's link."""

    alert: dict[str, Any]
    line: str
    url: str | None


def alerts(cfg, since: dt.date | None = None, scenarios: list[str] | None = None) -> list[AlertRow]:
    """The recorded alerts, oldest first, raised on or after ``since`` and about any of ``scenarios`` (all when
    None), each with the link to its report (``alerts.base_url`` makes it absolute)."""
    settings = alert_settings(cfg)
    out = []
    for a in read_alerts(_config.paths(cfg)["reports"]):
        if since and str(a.get("raised_at", ""))[:10] < since.isoformat():
            continue
        about = {a.get("scenario"), *(a.get("scenarios") or [])}
        if scenarios and not about & set(scenarios):
            continue
        out.append(AlertRow(a, alert_line(a), link_for(a, settings)))
    return out


def alerts_test(cfg) -> dict[str, Delivery | None]:
    """One test message through each channel: channel -> how the delivery went (None: not enabled)."""
    settings = alert_settings(cfg)
    return {channel: send(channel, [probe_alert()], settings) if getattr(settings, channel).enabled else None
            for channel in CHANNELS}
