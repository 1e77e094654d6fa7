"""``forecast scheduled``: the cron-ready run, every scenario for the as-of date into ``reports/<as_of>/``.

- One fit per inputs hash (the posterior cache), always exact (``update=refit``: a published history never
  rests on an approximation); every scenario is a prediction from it.
- One publication (``forecast.publication.Publication``): the dated folder, ``reports/latest``, the history's
  rows, the run's record in ``runs.jsonl``, the runs page and the landing page become visible together or not at all; a
  crash or kill leaves the previous state, or a decided publication the next run completes. A day whose folder is
  in place without its history rows (a run of an older version stopped half-way) is repaired, not skipped.
- A file lock serialises runs: a second run waits (``wait`` seconds), then finds the work done (same inputs
  hash: nothing rewritten) or does its own.
- Rerunning the same day with the same inputs rewrites nothing; earlier days' folders are never
  overwritten (a rerun for an earlier date with new inputs gets ``<date>-<hash>``).
- Every run, also one that failed, is recorded in ``reports/runs.jsonl`` and ``reports/runs.html``
  (``forecast.outputs.runs``; then the landing page ``reports/index.html`` is rewritten), then raises its alerts
  (``forecast.outputs.news``: ``alerts.jsonl``, ``feed.xml``, the digest, webhook, email; ``conf/alerts/``). A
  delivery failure never changes the outcome.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from forecast.analysis.alerts import alert_settings
from forecast.analysis.attribution import previous_reports
from forecast.errors import ForecastError, InputError, Interrupted, LockedError
from forecast.files import deferred_signals, ensure_dir, guard, io_errors, warn
from forecast.inputs import config as _config
from forecast.inputs.load import load_inputs
from forecast.model.fit import fit_config
from forecast.outputs import news
from forecast.outputs.contract import OWNED_MARKERS, WrittenReport, load_written
from forecast.outputs.history import append_history, check_history, history_path, published_at
from forecast.outputs.published import last_published
from forecast.outputs.runs import RUNS, record_run
from forecast.publication import Publication
from forecast.usecases.reports import write_report

log = logging.getLogger("forecast.scheduled")
MANIFEST = "run.json"


@dataclass
class ScheduledRun:
    """What a scheduled run did, as ``reports/runs.jsonl`` records it (``record``: status, reason, as_of,
    inputs hash, folder, scenarios), and the reports it wrote (none when the folder was up to date)."""

    record: dict[str, Any]
    written: list[WrittenReport] = field(default_factory=list)

    @property
    def status(self) -> str:
        return str(self.record.get("status"))

    @property
    def ok(self) -> bool:
        """Every report of the run's folder passes its diagnostics ("ok" or "unchanged")."""
        return self.status in ("ok", "unchanged")


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


def target_folder(reports: Path, as_of: dt.date, today: dt.date, inputs_hash: str) -> tuple[Path, bool]:
    """(folder, up_to_date). Today's folder may be replaced; an earlier day's never is."""
    base = reports / as_of.isoformat()
    candidates = [base, *sorted(reports.glob(f"{as_of.isoformat()}-*"))]
    for c in candidates:
        manifest = c / MANIFEST
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


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def scheduled(cfg, overrides: list[str] | None = None, wait: float = 3600.0) -> ScheduledRun:
    """Every scenario as of the configured date (today by default) into ``reports/<as_of>/``, under a lock
    (waiting at most ``wait`` seconds for another run's: then ``LockedError``). The reports are written even
    when their diagnostics fail (``ScheduledRun.ok`` is then False). Progress goes to the run's log
    (``reports/logs/scheduled.log``) and stderr."""
    paths = _config.paths(cfg)
    alerts = alert_settings(cfg)  # a bad alerts setting stops the run before it starts, with one line
    reports = paths["reports"]
    ensure_dir(reports)
    _setup_logging(reports)
    check_history(history_path(reports))  # a damaged history stops the run before any work, never appended to
    lock_path = paths["cache"] / "locks" / "scheduled.lock"
    ensure_dir(lock_path.parent, paths["cache"], heal=True)
    lock = FileLock(str(lock_path))
    started = _now()
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
        return _publish(cfg, overrides, reports, paths["cache"], run, (baseline, alerts))
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
        run.setdefault("finished", _now())
        try:
            _alert(reports, run, baseline, alerts)
            with deferred_signals():  # a second Ctrl-C must not cut the record of the first
                if not run.get("_recorded"):  # else published with the run, its pages and its alerts' digest
                    record_run(reports, {k: v for k, v in run.items() if not k.startswith("_")},
                               paths["cache"] / "locks" / "runs.lock")
        except (ForecastError, OSError) as e:  # the run's own outcome is the error to report
            warn(f"the run could not be recorded in {reports / RUNS}: {e}")
        finally:
            for k in [k for k in run if k.startswith("_")]:  # what the run kept for itself, not its record
                del run[k]
            if run.get("status") in ("ok", "unchanged"):  # the derived results of older posteriors, beyond a budget
                from forecast import memo

                memo.prune(paths["cache"])
            lock.release()


def _publish(cfg, overrides: list[str] | None, reports: Path, cache: Path, run: dict[str, Any],
             news_of: tuple | None = None) -> ScheduledRun:
    """The run's work under the lock: fit, then the dated folder, ``latest`` and the history (``run`` is filled
    as it goes: what is recorded when it fails)."""
    today = dt.date.today()
    inputs = load_inputs(cfg, today)
    run["as_of"] = inputs.as_of.isoformat()
    log.info("inputs: %d episodes, %d polls, %d evidence entries known by %s", len(inputs.episodes.table),
             len(inputs.polls), len(inputs.evidence_ids), inputs.as_of)
    # a published history never rests on approximations: exact fits, and attribution by refits
    cfg["update"] = "refit"  # item syntax: DictConfig.update is also a method name
    fitted = fit_config(cfg, inputs)
    run["inputs_hash"] = fitted.inputs_hash
    log.info("posterior %s %s", fitted.inputs_hash, "cache hit" if fitted.from_cache else "sampled")
    target, up_to_date = target_folder(reports, inputs.as_of, today, fitted.inputs_hash)
    names = _config.list_scenarios()
    run["scenarios"] = names
    run["folder"] = target.name
    if up_to_date:
        ok = bool(json.loads((target / MANIFEST).read_text()).get("ok"))
        run.update(status="unchanged" if ok else "diagnostics failed",
                   reason=f"{target.name} already holds this inputs hash: nothing rewritten")
        written = [load_written(target / n) for n in names if (target / n).is_dir()]
        known = published_at(reports)
        missing = [w for w in written if (w.scenario, str(w.data["generated_at"])) not in known]
        latest = reports / "latest"
        if missing or not (latest.is_symlink() and os.readlink(latest) == target.name):
            if missing:  # the day's folder is in place without its history rows: this run publishes them
                run["reason"] = (f"{target.name} already holds this inputs hash; its history rows were missing "
                                 f"({', '.join(w.scenario for w in missing)}): added")
            _commit(reports, cache, target, missing, run, swap=True, news_of=news_of)
        log.info(run["reason"])
        return ScheduledRun(run)
    on = _config.compare_with(cfg)  # what moved: against each scenario's last published brief
    earlier = {n: d for n in names if (d := last_published(reports, n, on)) is not None}
    prev = previous_reports(cfg, inputs, fitted, earlier) if earlier else None
    written: list[WrittenReport] = []

    def fill(tmp: Path) -> None:
        written[:] = write_report(cfg, inputs, fitted, names, out_dir=tmp, overrides=overrides, previous=prev)
        oks = {w.path.name: w.ok for w in written}
        manifest = {"inputs_hash": fitted.inputs_hash, "as_of": inputs.as_of.isoformat(), "scenarios": names,
                    "ok": all(oks.values()), "diagnostics_ok": oks, "complete": True, "generated_at": _now()}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1))

    bad: list[str] = []
    with Publication(reports, f"the scheduled run {target.name} ({len(names)} reports)") as pub:
        pub.folder(target, fill, owned=OWNED_MARKERS)
        written = [w.moved(target) for w in written]
        bad = [w.path.name for w in written if not w.ok]
        if bad:
            run.update(status="diagnostics failed", reason=f"untrustworthy: {', '.join(bad)}")
        else:
            run.update(status="ok", reason=f"{len(names)} reports written")
        _commit(reports, cache, target, written, run, swap=True, pub=pub, news_of=news_of,
                current={w.scenario: w.data for w in written})
    if bad:
        log.warning("diagnostics failed for %s: reports written and marked untrustworthy", ", ".join(bad))
    else:
        log.info("wrote %s (%d scenarios); latest -> %s", target, len(names), target.name)
    return ScheduledRun(run, written)


def _commit(reports: Path, cache: Path, target: Path, rows: list[WrittenReport], run: dict[str, Any], *,
            swap: bool, pub: Publication | None = None, news_of: tuple | None = None,
            current: dict[str, dict] | None = None) -> None:
    """Stage ``latest`` (pointing at ``target``), the history rows of ``rows``, the alerts, feed and digest
    (``news_of``: the baseline and the alert settings; ``current``: the run's reports) and the run's record with
    its pages in ``pub`` (a new publication when None), then commit: all of it is visible, or none. The alerts are
    delivered after the commit (``_alert``)."""
    own = pub is None
    pub = pub or Publication(reports, f"the scheduled run {target.name}")
    try:
        if swap:
            pub.link(reports / "latest", target.name)
        append_history(reports, cache, rows, pub=pub)
        if news_of is not None:
            baseline, settings = news_of
            prepared = news.prepare(reports, run, baseline, settings, current)
            news.stage(pub, reports, prepared, settings)
            run["alerts"] = len(prepared["fresh"])
            run["_prepared"] = prepared
        run["finished"] = _now()
        record_run(reports, {k: v for k, v in run.items() if not k.startswith("_")}, pub=pub)
        pub.commit(f"{target.name} (its reports, their history rows, latest, the runs page and the landing page)")
        run["_recorded"] = True
    finally:
        if own and not pub.committed:
            pub.abort()


def _alert(reports: Path, run: dict[str, Any], baseline, settings) -> None:
    """Alerts, feed, digest and deliveries for this run; whatever goes wrong here never fails the run."""
    try:
        prepared = run.get("_prepared") if run.get("_recorded") else None  # published with the run: deliver only
        out = news.publish(reports, run, baseline, settings, prepared=prepared)
        run["alerts"] = len(out["new"])
    except Exception as e:  # noqa: BLE001 - the reports are published; the alerts are secondary
        log.error("alerts: %s: %s (the run's outcome is unchanged)\n%s", type(e).__name__, e, traceback.format_exc(),
                  extra={"file_only": True})
