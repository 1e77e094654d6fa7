"""After a scheduled run: record the alerts, feed them, digest them, deliver them.

- ``reports/alerts.jsonl``: every alert once (by its stable id), with its delivery state per channel;
  rewritten whole through the atomic-write door under the scheduled run's lock.
- ``reports/feed.xml``: an Atom feed (feedgen) of the newest alerts; entry ids are derived from the alert
  ids, so a feed reader shows each alert once however many runs rewrite the feed.
- ``reports/digest.md`` and ``digest.html``: what this run changed, sorted by size of move, one sentence
  each with links to the reports; "no material change" when nothing moved. The index shows it on top.
- Channels (webhook, email): pending alerts go out as one message per channel; a failure is recorded on
  the alert and retried by the next runs for ``alerts.retry_days``, never failing the run.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
import re
import uuid
from pathlib import Path
from typing import Any

from forecast.analysis.alerts import (
    OK_STATUSES,
    AlertSettings,
    detect_moves,
    diagnostics_alert,
    failed_alert,
    pct,
    points,
)
from forecast.files import atomic_write_file, read_jsonl
from forecast.outputs.channels import Delivery, link, send
from forecast.outputs.contract import REPORT_FILE, read_report

log = logging.getLogger("forecast.alerts")
ALERTS = "alerts.jsonl"
FEED = "feed.xml"
_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}(-[0-9a-f]{8})?$")
_SCENARIO = re.compile(r"^[A-Za-z0-9_.\-]+$")


# ---------------------------------------------------------------------- the alert log
def read_alerts(reports: Path) -> list[dict[str, Any]]:
    return [a for a in read_jsonl(Path(reports) / ALERTS) if isinstance(a.get("id"), str)]


def write_alerts(reports: Path, alerts: list[dict[str, Any]]) -> Path:
    return atomic_write_file(Path(reports) / ALERTS, alerts_text(alerts))


# ---------------------------------------------------------------------- the baseline
def _run_folders(reports: Path) -> list[str]:
    """Published run folders, newest first: ``latest`` then those runs.jsonl names."""
    names = []
    latest = reports / "latest"
    if latest.exists():
        names.append(latest.resolve().name)
    path = reports / "runs.jsonl"
    if path.is_file():
        for line in reversed(path.read_text(encoding="utf-8", errors="replace").splitlines()):
            try:
                r = json.loads(line)
            except ValueError:
                continue
            if isinstance(r, dict) and isinstance(r.get("folder"), str):
                names.append(r["folder"])
    seen, out = set(), []
    for n in names:
        if n not in seen and _FOLDER.match(n) and (reports / n).is_dir():
            seen.add(n)
            out.append(n)
    return out


def snapshot(reports: Path) -> dict[str, Any]:
    """What a run's numbers are compared with, read *before* the run replaces anything: per scenario, the
    newest published report whose diagnostics passed (an untrustworthy report is never the baseline)."""
    reports = Path(reports)
    data: dict[str, dict[str, Any]] = {}
    folders: dict[str, str] = {}
    try:
        names = _run_folders(reports)
        for name in names:
            for f in sorted((reports / name).glob(f"*/{REPORT_FILE}")):
                s = f.parent.name
                if s in data:
                    continue
                d = read_report(f)
                if d and (d.get("diagnostics") or {}).get("ok") and d.get("responses"):
                    data[s] = d
                    folders[s] = name
    except OSError as e:  # an unreadable reports folder: no comparison this time, never a failed run
        log.warning("alerts: cannot read the published reports (%s): nothing to compare with", e)
        names = []
    return {"reports": data, "folders": folders, "latest": names[0] if names else None}


def _current(reports: Path, run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    folder = run.get("folder")
    if not folder or not _FOLDER.match(folder):
        return {}
    out = {}
    for s in run.get("scenarios") or []:
        if isinstance(s, str) and _SCENARIO.match(s):
            d = read_report(reports / folder / s / REPORT_FILE)
            if d:
                out[s] = d
    return out


# ---------------------------------------------------------------------- the feed
def _uuid(kind: str, key: str) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'forecast-{kind}:{key}')}"


def feed_xml(alerts: list[dict[str, Any]], settings: AlertSettings, reports: Path) -> str:
    from feedgen.feed import FeedGenerator

    fg = FeedGenerator()
    fg.id(_uuid("feed", settings.base_url or str(Path(reports).resolve())))
    fg.title(settings.feed_title)
    fg.subtitle("Material moves of published forecasts, failed diagnostics and failed runs, from forecast scheduled")
    fg.author({"name": "forecast"})
    fg.generator("forecast (feedgen)")
    if settings.base_url:
        fg.link(href=settings.base_url.rstrip("/") + "/" + FEED, rel="self")
        fg.link(href=settings.base_url.rstrip("/") + "/index.html", rel="alternate")
    shown = sorted(alerts, key=lambda a: (str(a.get("raised_at")), a["id"]))[-settings.feed_entries:]
    updated = max((str(a.get("raised_at")) for a in shown), default="2026-01-01T00:00:00+00:00")
    fg.updated(updated)
    for a in reversed(shown):
        fe = fg.add_entry(order="append")
        fe.id(_uuid("alert", a["id"]))
        fe.title(str(a.get("title") or a.get("kind")))
        fe.updated(str(a["raised_at"]))
        fe.published(str(a["raised_at"]))
        fe.content(str(a.get("sentence", "")), type="text")
        fe.category(term=str(a.get("kind")))
        if a.get("scenario"):
            fe.category(term=str(a["scenario"]), label="scenario")
        if a.get("report"):
            fe.link(href=settings.base_url.rstrip("/") + "/" + a["report"] if settings.base_url else a["report"],
                    rel="alternate", type="text/html")
    return fg.atom_str(pretty=True).decode("utf-8")


# ---------------------------------------------------------------------- the digest
def _md(text: Any) -> str:
    """Text from data as Markdown text, never as Markdown structure."""
    t = " ".join(str(text).split())
    return re.sub(r"([\\`*_\[\]<>~|])", r"\\\1", t)  # inline structure; no line of the digest starts with data


def digest(run: dict[str, Any], new: list[dict[str, Any]], quiet: list[dict[str, Any]],
           base: dict[str, Any], settings: AlertSettings) -> dict[str, Any]:
    """The digest as data: what this run changed (its alerts, largest first) and how it was compared."""
    moves = [a for a in new if a["kind"] == "move"]
    others = [a for a in new if a["kind"] != "move"]
    status = run.get("status")
    if status == "unchanged":
        headline = (f"No material change: the inputs are unchanged since {run.get('folder')}; nothing was "
                    "republished.")
    elif status not in OK_STATUSES:
        headline = f"The run failed; the latest published reports ({base.get('latest') or 'none'}) stand."
    elif not base.get("reports"):
        headline = "First published run: nothing earlier to compare with."
    elif moves:
        headline = f"{len(moves)} material move(s) since the previous run."
    else:
        headline = (f"No material change since the previous run: no published probability moved by more than "
                    f"its threshold (default {100 * settings.threshold:.0f} points) beyond Monte Carlo noise "
                    f"({settings.noise_sigmas:g} standard errors).")
    largest = quiet[0] if quiet else None
    return {"run": {k: run.get(k) for k in ("started", "finished", "as_of", "status", "reason", "folder")},
            "headline": headline, "warnings": others, "moves": moves,
            "largest_quiet": largest, "compared": len(quiet) + len(moves),
            "previous": _compared(base)}


def _compared(base: dict[str, Any]) -> list[str]:
    """The earlier publications compared with: folder and when it was published."""
    when: dict[str, list[str]] = {}
    for s, folder in (base.get("folders") or {}).items():
        when.setdefault(folder, []).append(str((base.get("reports") or {}).get(s, {}).get("generated_at") or "?"))
    return [f"{f} (published {min(ts)[:16].replace('T', ' ')} UTC)" for f, ts in sorted(when.items())]


def _quiet_sentence(q: dict[str, Any]) -> str:
    return (f"Largest move below the alert threshold: {q['scenario_title']}, {q['label']} {pct(q['before']['mean'])}"
            f" → {pct(q['after']['mean'])} ({points(q['change'])}; threshold {100 * q['threshold']:.0f} points"
            + (f", noise {100 * q['noise']:.2f} points" if q.get("noise") is not None else "") + ").")


def digest_markdown(d: dict[str, Any]) -> str:
    r = d["run"]
    lines = [f"# Forecast digest: run of {_md(r.get('started'))}", "",
             f"As of {_md(r.get('as_of'))}; status **{_md(r.get('status'))}**"
             + (f"; reports in [{_md(r['folder'])}](./{r['folder']}/)" if r.get("folder") else "")
             + (f"; compared with {_md(', '.join(d['previous']))}" if d["previous"] else "") + ".", "",
             _md(d["headline"]), ""]
    for a in d["warnings"]:
        lines.append(f"- **{_md(a['title'])}.** {_md(a['sentence'])}"
                     + (f" [report](./{a['report']})" if a.get("report") else ""))
    for a in d["moves"]:
        lines.append(f"- {_md(a['sentence'])} [report](./{a['report']})")
    if d["warnings"] or d["moves"]:
        lines.append("")
    if d["largest_quiet"]:
        lines += [_md(_quiet_sentence(d["largest_quiet"])), ""]
    lines.append("Feed: [feed.xml](./feed.xml) · all alerts: `forecast alerts` · index: [index.html](./index.html)")
    return "\n".join(lines) + "\n"


def digest_section(d: dict[str, Any]) -> str:
    r = d["run"]
    e = html.escape
    items = []
    for a in [*d["warnings"], *d["moves"]]:
        cls = "move" if a["kind"] == "move" else "bad"
        href = f' <a href="./{e(a["report"], True)}">report</a>' if a.get("report") else ""
        items.append(f'<li class="{cls}">{e(a["sentence"])}{href}</li>')
    quiet = f"<p class='quiet'>{e(_quiet_sentence(d['largest_quiet']))}</p>" if d["largest_quiet"] else ""
    folder = f' — <a href="./{e(r["folder"], True)}/">{e(r["folder"])}</a>' if r.get("folder") else ""
    return (f'<section id="digest"><style>#digest .bad{{color:#b42318}}#digest .quiet{{color:#555;font-size:90%}}'
            f'</style><h2>Latest digest: run of {e(str(r.get("started")))}{folder}</h2>'
            f'<p><strong>{e(d["headline"])}</strong></p>'
            + (f"<ul>{''.join(items)}</ul>" if items else "") + quiet
            + '<p class="quiet"><a href="./feed.xml">Atom feed</a> · <a href="./digest.md">digest.md</a></p>'
            "</section>")


_STYLE = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}li{margin:.3em 0}"
          ".bad{color:#b42318}.quiet{color:#555;font-size:90%}")


def digest_html(d: dict[str, Any]) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>forecast: digest</title><style>{_STYLE}</style></head><body>
<!-- digest -->{digest_section(d)}<!-- /digest -->
</body></html>
"""


def latest_digest_section(reports: Path) -> str:
    """The latest digest as an HTML section for the index page ('' when there is none)."""
    path = Path(reports) / "digest.html"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return ""
    m = re.search(r"<!-- digest -->(.*?)<!-- /digest -->", text, flags=re.S)
    return m.group(1) if m else ""


# ---------------------------------------------------------------------- one run
def _pending(a: dict[str, Any], channel: str) -> bool:
    d = (a.get("deliveries") or {}).get(channel)
    return isinstance(d, dict) and d.get("status") in ("pending", "failed")


def deliver(records: list[dict[str, Any]], settings: AlertSettings, environ=None,
            now: dt.datetime | None = None, extra: dict | None = None) -> list[Delivery]:
    """Send every pending alert, one message per channel; record the outcome on each alert.
    ``extra`` goes with the log records (``{"file_only": True}`` keeps a failed run's stderr to one line)."""
    now = now or dt.datetime.now(dt.UTC).replace(microsecond=0)
    stamp = now.isoformat()
    results = []
    for channel in ("webhook", "email"):
        todo = []
        for a in records:
            if not _pending(a, channel):
                continue
            try:
                age = now - dt.datetime.fromisoformat(str(a.get("raised_at")))
            except ValueError:
                age = dt.timedelta(0)
            state = a["deliveries"][channel]
            if age > dt.timedelta(days=settings.retry_days):
                state.update(status="abandoned", abandoned_at=stamp)
                log.warning("alert %s: %s delivery abandoned after %g days (kept in alerts.jsonl)", a["id"],
                            channel, settings.retry_days, extra=extra)
            elif channel in settings.channels():
                todo.append(a)
        if not todo:
            continue
        res = send(channel, todo, settings, environ)
        results.append(res)
        for a in todo:
            state = a["deliveries"][channel]
            state["attempts"] = int(state.get("attempts", 0)) + res.attempts
            state["last_attempt"] = stamp
            if res.ok:
                state.update(status="delivered", delivered_at=stamp, detail=res.detail)
                state.pop("error", None)
            else:
                state.update(status="failed", error=res.detail)
        level = logging.INFO if res.ok else logging.WARNING
        log.log(level, "%s: %s %d alert(s) (%s; %d attempt(s), %.1f s)", channel,
                "delivered" if res.ok else "FAILED to deliver", len(todo), res.detail, res.attempts, res.seconds,
                extra=extra)
    return results


def prepare(reports: Path, run: dict[str, Any], base: dict[str, Any] | None, settings: AlertSettings,
            current: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """This run's alerts, the log with them and the digest, computed and not written: ``records`` (the whole log),
    ``fresh`` (the new alerts), ``digest``. ``current``: the run's reports by scenario (default: read from its
    folder); a scheduled run passes what it is about to publish, so that the alerts are published with it."""
    reports = Path(reports)
    base = base or {"reports": {}, "folders": {}, "latest": None}
    status = run.get("status")
    new: list[dict[str, Any]] = []
    quiet: list[dict[str, Any]] = []
    if status in ("ok", "diagnostics failed"):
        # (a run that found its folder up to date compares that folder with itself: nothing moves, and its
        # diagnostics alert has the id the first run gave it, so it is not raised twice)
        current = _current(reports, run) if current is None else current
        new, quiet = detect_moves(base["reports"], current, settings, run.get("folder"), base["folders"])
        if status == "diagnostics failed":
            new.insert(0, diagnostics_alert(run, current))
    elif status not in OK_STATUSES:
        new.append(failed_alert(run))
    records = read_alerts(reports)
    known = {a["id"] for a in records}
    fresh = [a for a in new if a["id"] not in known]
    for a in fresh:
        a["run_started"] = run.get("started")
        a["deliveries"] = {c: {"status": "pending", "attempts": 0} for c in settings.channels()}
        if a.get("report"):
            a["link"] = link(a["report"], settings, reports.resolve())
        records.append(a)
    return {"records": records, "fresh": fresh, "digest": digest(run, new, quiet, base, settings),
            "status": status}


def alerts_text(records: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(a, ensure_ascii=False) + "\n" for a in records)


def stage(pub, reports: Path, prepared: dict[str, Any], settings: AlertSettings) -> None:
    """The alert log, the feed and the digest as part of publication ``pub`` (``forecast.publication.Publication``):
    published with the reports they are about, or not at all."""
    reports = Path(reports)
    if prepared["fresh"]:
        pub.file(reports / ALERTS, alerts_text(prepared["records"]))
    pub.file(reports / FEED, feed_xml(prepared["records"], settings, reports))
    pub.file(reports / "digest.md", digest_markdown(prepared["digest"]))
    pub.file(reports / "digest.html", digest_html(prepared["digest"]))


def publish(reports: Path, run: dict[str, Any], base: dict[str, Any] | None, settings: AlertSettings,
            environ=None, prepared: dict[str, Any] | None = None) -> dict[str, Any]:
    """Raise this run's alerts, record them, rewrite the feed and the digest, deliver what is pending.
    ``prepared``: the alerts a publication already published (``prepare`` and ``stage``): only delivered here."""
    reports = Path(reports)
    staged = prepared is not None
    p = prepared if staged else prepare(reports, run, base, settings)
    records, fresh, d = p["records"], p["fresh"], p["digest"]
    if fresh and not staged:
        write_alerts(reports, records)  # recorded before any channel is tried: a crash while sending loses nothing
    # a failed run's stderr stays one line (its reason); what the alerts did is in the log file
    extra = {"file_only": True} if p["status"] not in OK_STATUSES else None
    results = deliver(records, settings, environ, extra=extra)
    if results:
        write_alerts(reports, records)
    if results or not staged:
        atomic_write_file(reports / FEED, feed_xml(records, settings, reports))
    if not staged:
        atomic_write_file(reports / "digest.md", digest_markdown(d))
        atomic_write_file(reports / "digest.html", digest_html(d))
    for a in fresh:
        log.info("alert (%s): %s", a["kind"], a["title"], extra=extra)
    return {"new": fresh, "deliveries": results, "digest": d}


def alert_line(a: dict[str, Any]) -> str:
    """One line per alert for ``forecast alerts``."""
    dl = ", ".join(f"{c}: {s.get('status')}" + (f" ({s['error']})" if s.get("error") and s.get("status") != "delivered"
                                                 else "")
                   for c, s in (a.get("deliveries") or {}).items()) or "no channel"
    what = a.get("title") or a.get("kind")
    return f"{str(a.get('raised_at', ''))[:19]}  {a.get('kind', '?'):11s} {what}  [{dl}]"


def link_for(a: dict[str, Any], settings: AlertSettings) -> str | None:
    return (a.get("link") or link(a["report"], settings)) if a.get("report") else None
