"""The cron-ready run: every scenario for the as-of date into ``reports/<as_of>/``.

    forecast scheduled [--wait SECONDS] [HYDRA OVERRIDES]

- One fit per inputs hash (the posterior cache); every scenario is a prediction from it.
- Output is built in a hidden temporary folder and renamed into place; ``reports/latest`` is a
  symlink swapped atomically; a crash or kill leaves the previous reports as they were.
- A file lock serialises runs: a second run waits (``--wait``, default one hour), then finds the
  work done (same inputs hash: nothing rewritten) or does its own.
- Rerunning the same day with the same inputs rewrites nothing; earlier days' folders are never
  overwritten (a rerun for an earlier date with new inputs gets ``<date>-<hash>``).
- ``reports/index.html`` lists every run, newest first, with its status; ``reports/runs.jsonl`` is
  its append-only source; ``reports/logs/scheduled.log`` the log.
- After every run (also one that failed): alerts (``reports/alerts.jsonl``, ``feed.xml``, ``digest.md``/
  ``.html``, webhook, email; ``conf/alerts/``). A delivery failure never changes the exit status.

Exit status: 0 ok; 2 invalid input; 3 diagnostics failed (reports written, marked untrustworthy);
75 the lock was not free within --wait; 70 internal error.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
import math
import os
import re
import shutil
import time
import traceback
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from forecast import api
from forecast.analysis.alerts import alert_settings
from forecast.analysis.attribution import previous_reports
from forecast.cli.console import ArgParser
from forecast.cli.console import say as _say
from forecast.errors import EXIT_DIAGNOSTICS, EXIT_OK, ForecastError, InputError, Interrupted, LockedError
from forecast.files import (
    OWNED_MARKERS,
    append_text,
    atomic_write_dir,
    atomic_write_file,
    deferred_signals,
    ensure_dir,
    guard,
    io_errors,
    read_jsonl,
    replace_link,
    warn,
)
from forecast.inputs import config as _config
from forecast.outputs import news
from forecast.outputs.history import append_history, check_history, history_path

log = logging.getLogger("forecast.scheduled")
RUNS = "runs.jsonl"


def _setup_logging(reports: Path) -> None:
    ensure_dir(reports / "logs", reports)
    logfile = guard(reports / "logs" / "scheduled.log", reports)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    root = logging.getLogger("forecast")
    root.setLevel(logging.INFO)
    for h in list(root.handlers):
        if getattr(h, "_forecast_scheduled", False):
            root.removeHandler(h)
    with io_errors(logfile):
        fh = logging.FileHandler(logfile, encoding="utf-8")
    sh = logging.StreamHandler()
    sh.addFilter(lambda record: not getattr(record, "file_only", False))  # the CLI prints the one-line reason
    for h in (fh, sh):
        h.setFormatter(fmt)
        h._forecast_scheduled = True  # type: ignore[attr-defined]
        root.addHandler(h)
    root.propagate = False


def _clean_stale(reports: Path) -> None:
    """Remove hidden temporary folders a killed run left behind (the lock is held: none is live)."""
    for p in reports.glob(".*.tmp-*"):
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)


def _target(reports: Path, as_of: dt.date, today: dt.date, inputs_hash: str) -> tuple[Path, bool]:
    """(folder, up_to_date). Today's folder may be replaced; an earlier day's never is."""
    base = reports / as_of.isoformat()
    candidates = [base, *sorted(reports.glob(f"{as_of.isoformat()}-*"))]
    for c in candidates:
        manifest = c / "run.json"
        if manifest.is_file():
            try:
                m = json.loads(manifest.read_text())
            except ValueError:
                continue
            if m.get("inputs_hash") == inputs_hash and m.get("complete"):
                return c, True
    if base.exists() and as_of < today:
        return reports / f"{as_of.isoformat()}-{inputs_hash[:8]}", False
    return base, False


def _swap_latest(reports: Path, target: Path) -> None:
    replace_link(reports / "latest", target.name, reports)


def _close_torn_line(path: Path) -> str:
    """runs.jsonl is a log the index is rebuilt from: a last line cut by a crash stays (kept, skipped by
    ``read_runs``) and the new record starts on a line of its own."""
    with open(path, "rb") as fh:
        fh.seek(-1, os.SEEK_END)
        if fh.read(1) == b"\n":
            return ""
    n = path.read_bytes().count(b"\n") + 1
    warn(f"{path}, line {n}: cut short by an interrupted write; kept as it is (skipped), the new record starts "
         "on the next line")
    return "\n"


def _record_run(reports: Path, run: dict[str, Any], lock: Path | None = None) -> None:
    append_text(reports / RUNS, json.dumps(run) + "\n", reports, lock=lock, check=_close_torn_line)
    write_index(reports)


def read_runs(reports: Path) -> list[dict[str, Any]]:
    runs = read_jsonl(reports / RUNS)
    for r in runs:
        if not isinstance(r.get("scenarios"), list):
            r["scenarios"] = []
        r["scenarios"] = [str(s) for s in r["scenarios"]]
        r["folder"] = str(r.get("folder") or "")
    return runs


def write_index(reports: Path) -> Path:
    rows = []
    for r in reversed(read_runs(reports)):
        folder = r["folder"]
        safe = bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}(-[0-9a-f]{8})?", folder)) and (reports / folder).is_dir()
        links = " ".join(
            f'<a href="./{html.escape(folder, True)}/{html.escape(s, True)}/report.html">{html.escape(s)}</a>'
            for s in r["scenarios"] if re.fullmatch(r"[A-Za-z0-9_.\-]+", s)) if safe else ""
        status = str(r.get("status", "?"))
        cls = "ok" if status in ("ok", "unchanged") else "bad"
        rows.append(f"<tr><td>{html.escape(str(r.get('started', '')))}</td><td>{html.escape(str(r.get('as_of', '')))}"
                    f"</td><td class='{cls}'>{html.escape(status)}</td><td>{html.escape(str(r.get('reason', '')))}</td>"
                    f"<td>{html.escape(str(r.get('inputs_hash', ''))[:12])}</td><td>{links}</td></tr>")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>forecast: scheduled runs</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}}table{{border-collapse:collapse;width:100%}}
td,th{{border-bottom:1px solid #ddd;padding:.4em;text-align:left;font-size:14px}}.ok{{color:#1a7f37}}
.bad{{color:#b42318;font-weight:bold}}</style></head><body>
<h1>Scheduled forecast runs</h1>
{news.latest_digest_section(reports)}
<p>Newest first. <a href="latest/">latest</a> points at the newest complete run. Generated by
<code>forecast scheduled</code>; source: <code>runs.jsonl</code>.</p>
<table><thead><tr><th>started (UTC)</th><th>as of</th><th>status</th><th>reason</th><th>inputs</th>
<th>reports</th></tr></thead><tbody>
{''.join(rows)}
</tbody></table></body></html>
"""
    return atomic_write_file(reports / "index.html", page)


def run_scheduled(cfg, overrides: list[str], wait: float = 3600.0, say=None) -> int:
    say = say or (lambda m: log.info(m))
    paths = _config.paths(cfg)
    alerts = alert_settings(cfg)  # a bad alerts setting stops the run before it starts, with one line
    reports = paths["reports"]
    ensure_dir(reports)
    _setup_logging(reports)
    check_history(history_path(reports))  # a damaged history stops the run before any work, never appended to
    lock_path = paths["cache"] / "locks" / "scheduled.lock"
    ensure_dir(lock_path.parent, paths["cache"], heal=True)
    lock = FileLock(str(lock_path))
    started = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    try:
        lock.acquire(timeout=wait)
    except Timeout:
        raise LockedError(f"another `forecast scheduled` holds {lock_path} and did not finish within {wait:g} s; "
                          "try again later or pass --wait SECONDS") from None
    run: dict[str, Any] = {"started": started, "as_of": None, "status": "error", "pid": os.getpid()}
    baseline = None
    try:
        _clean_stale(reports)
        baseline = news.snapshot(reports)  # the published numbers this run is compared with, read before it writes
        today = dt.date.today()
        inputs = api.load_inputs(cfg, today)
        run["as_of"] = inputs.as_of.isoformat()
        log.info("inputs: %d episodes, %d polls, %d evidence entries known by %s", len(inputs.episodes.table),
                 len(inputs.polls), len(inputs.evidence_ids), inputs.as_of)
        # a published history never rests on approximations: exact fits, and attribution by refits
        cfg["update"] = "refit"  # item syntax: DictConfig.update is also a method name
        fitted = api.fit(cfg, inputs)
        run["inputs_hash"] = fitted.inputs_hash
        log.info("posterior %s %s", fitted.inputs_hash, "cache hit" if fitted.from_cache else "sampled")
        target, up_to_date = _target(reports, inputs.as_of, today, fitted.inputs_hash)
        names = _config.list_scenarios()
        run["scenarios"] = names
        run["folder"] = target.name
        if up_to_date:
            m = json.loads((target / "run.json").read_text())
            run.update(status="unchanged" if m.get("ok") else "diagnostics failed",
                       reason=f"{target.name} already holds this inputs hash: nothing rewritten")
            if not (reports / "latest").exists():
                _swap_latest(reports, target)
            log.info(run["reason"])
            return EXIT_OK if m.get("ok") else EXIT_DIAGNOSTICS
        latest = reports / "latest"
        prev = previous_reports(cfg, inputs, fitted, names, out_dir=latest.resolve()) if latest.exists() else None

        def fill(tmp: Path) -> None:
            written = api.write_report(cfg, inputs, fitted, names, out_dir=tmp, overrides=overrides, previous=prev)
            oks = {p.name: json.loads((p / "forecast.json").read_text())["diagnostics"]["ok"] for p in written}
            manifest = {"inputs_hash": fitted.inputs_hash, "as_of": inputs.as_of.isoformat(), "scenarios": names,
                        "ok": all(oks.values()), "diagnostics_ok": oks, "complete": True,
                        "generated_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()}
            (tmp / "run.json").write_text(json.dumps(manifest, indent=1))

        atomic_write_dir(target, fill, reports, owned=OWNED_MARKERS)
        manifest = json.loads((target / "run.json").read_text())
        _swap_latest(reports, target)
        append_history(reports, paths["cache"], [target / n for n in names])
        bad = [n for n, ok in manifest["diagnostics_ok"].items() if not ok]
        if bad:
            run.update(status="diagnostics failed", reason=f"untrustworthy: {', '.join(bad)}")
            log.warning("diagnostics failed for %s: reports written and marked untrustworthy", ", ".join(bad))
            return EXIT_DIAGNOSTICS
        run.update(status="ok", reason=f"{len(names)} reports written")
        log.info("wrote %s (%d scenarios); latest -> %s", target, len(names), target.name)
        return EXIT_OK
    except ForecastError as e:
        run.update(status="invalid input" if isinstance(e, InputError) else "error", reason=str(e)[:300])
        log.error("%s", e, extra={"file_only": True})
        raise
    except KeyboardInterrupt as e:  # SIGINT, or SIGTERM (Interrupted): recorded, the lock released, re-raised
        sig = e.args[0] if isinstance(e, Interrupted) else "SIGINT"
        run.update(status="interrupted", reason=f"{sig} received: nothing published by this run")
        log.error("interrupted by %s", sig, extra={"file_only": True})
        raise
    except Exception as e:
        run.update(status="internal error", reason=f"{type(e).__name__}: {str(e)[:200]}")
        log.error("internal error: %s\n%s", e, traceback.format_exc(), extra={"file_only": True})
        raise
    finally:
        run["finished"] = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
        try:
            _alert(reports, run, baseline, alerts)
            with deferred_signals():  # a second Ctrl-C must not cut the record of the first
                _record_run(reports, run, paths["cache"] / "locks" / "runs.lock")
        except (ForecastError, OSError) as e:  # the run's own outcome is the error to report
            warn(f"the run could not be recorded in {reports / RUNS}: {e}")
        finally:
            lock.release()


def _alert(reports: Path, run: dict[str, Any], baseline, settings) -> None:
    """Alerts, feed, digest and deliveries for this run; whatever goes wrong here never fails the run."""
    try:
        out = news.publish(reports, run, baseline, settings)
        run["alerts"] = len(out["new"])
    except Exception as e:  # noqa: BLE001 - the reports are published; the alerts are secondary
        log.error("alerts: %s: %s (the run's outcome is unchanged)\n%s", type(e).__name__, e, traceback.format_exc(),
                  extra={"file_only": True})


def cmd_scheduled(args: list[str]) -> int:
    ap = ArgParser(prog="forecast scheduled")
    ap.add_argument("--wait", type=float, default=3600.0, help="seconds to wait for another run's lock")
    ap.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. as_of=2026-11-01")
    ns = ap.parse_args(args)
    if not (math.isfinite(ns.wait) and ns.wait >= 0):
        raise InputError("forecast scheduled --wait", f"{ns.wait!r} is not a number of seconds >= 0",
                         "give e.g. --wait 0 (do not wait) or --wait 3600")
    cfg = _config.compose(ns.overrides)
    t0 = time.perf_counter()
    code = run_scheduled(cfg, ns.overrides, ns.wait, _say)
    _say(f"scheduled run finished in {time.perf_counter() - t0:.1f}s with exit status {code}; "
        f"see {_config.paths(cfg)['reports'] / 'index.html'}")
    return code
