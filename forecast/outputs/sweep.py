"""One summary of a finished sweep: every job's results in ``summary.json`` and ``summary.png``.

A multirun job writes its report folders under ``reports/sweeps/<sweep>/job<NNN>/`` and a ``job.json``
saying how it ended (its overrides, exit code, inputs hash, report folders). When the sweep ends,
``collect`` reads them all, whatever launcher ran them (joblib, Ray, SLURM/submitit), and ``write_summary``
publishes one JSON and one figure beside the job folders.

Results are read by kind, through ``RESULT_READERS`` (file name -> reader): ``forecast.json`` (a
scenario report) is built in; another job kind (a calibration or back-test check) registers its own
result file with ``register_result`` and its rows join the same summary.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from forecast.files import atomic_write_file
from forecast.outputs.contract import REPORT_FILE, read_report

log = logging.getLogger("forecast")
JOB_FILE = "job.json"
SUMMARY_SCHEMA_VERSION = 1


def _forecast_result(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "scenario": data["scenario"], "as_of": data["as_of"], "inputs_hash": data["inputs_hash"],
        "diagnostics_ok": bool(data["diagnostics"]["ok"]),
        "diagnostics": {k: data["diagnostics"].get(k) for k in ("max_rhat", "min_ess_bulk", "divergences")},
        "estimates": {**{r["response"]: {"mean": r["mean"], "hdi_low": r["hdi_low"], "hdi_high": r["hdi_high"]}
                         for r in data["responses"]},
                      **{c["composite"]: {"mean": c["mean"], "hdi_low": c["hdi_low"], "hdi_high": c["hdi_high"]}
                         for c in data.get("composites", [])}},
        "hdi_prob": data.get("hdi_prob"),
    }


def _read_forecast(path: Path) -> dict[str, Any] | None:
    data = read_report(path)
    return None if data is None else _forecast_result(data)


# file name inside a job's report folder -> reader returning a JSON-able row (or None if unreadable)
RESULT_READERS: dict[str, Callable[[Path], dict[str, Any] | None]] = {REPORT_FILE: _read_forecast}


def register_result(file_name: str, reader: Callable[[Path], dict[str, Any] | None]) -> None:
    """Collect ``<job>/<folder>/<file_name>`` into sweep summaries with ``reader`` (for new job kinds).
    A row should hold ``estimates: {quantity: {mean, hdi_low, hdi_high}}`` to be drawn in the figure."""
    RESULT_READERS[file_name] = reader


def read_job(job_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((Path(job_dir) / JOB_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


# ---------------------------------------------------------------------- one job
def clear_stale(job_dir: Path) -> None:
    """Remove what a killed run of this job left: hidden temporary report folders and files.
    Only this job writes into its folder, so any temporary sibling there is stale."""
    if not job_dir.is_dir():
        return
    for p in job_dir.glob(".*"):
        if ".tmp" in p.name or ".old-" in p.name:
            log.info("removing %s left by an interrupted run of this job", p)
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)


def finished(job_dir: Path, overrides: list[str], inputs_hash: str) -> dict[str, Any] | None:
    """This job's earlier record when it finished with the same overrides and inputs hash and its
    report folders are complete; None when it must run."""
    rec = read_job(job_dir)
    if (rec is None or rec.get("code") not in (0, 3) or rec.get("inputs_hash") != inputs_hash
            or sorted(rec.get("overrides", [])) != sorted(overrides) or not rec.get("reports")):
        return None
    if not all((job_dir / name / REPORT_FILE).is_file() for name in rec["reports"]):
        return None
    return rec


def where() -> dict[str, Any]:
    """Where this job ran: host and process, and the Ray node when a Ray worker runs it."""
    import os
    import socket
    import sys

    out: dict[str, Any] = {"host": socket.gethostname(), "pid": os.getpid()}
    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        out["ray_node"] = ray.get_runtime_context().get_node_id()
    if os.environ.get("SUBMITIT_JOB_ID") or os.environ.get("SLURM_JOB_ID"):
        out["job_id"] = os.environ.get("SLURM_JOB_ID") or os.environ.get("SUBMITIT_JOB_ID")
    return out


def record(job_dir: Path, *, num: int, overrides: list[str], code: int, reason: str, inputs_hash: str | None,
           reports: list[str], seconds: float, reused: bool = False, fit: dict | None = None) -> None:
    """``fit``: whether the posterior came from the cache, and the fit's timings when it was sampled."""
    atomic_write_file(job_dir / JOB_FILE, json.dumps({
        "job": num, "overrides": overrides, "code": code, "reason": reason, "inputs_hash": inputs_hash,
        "reports": reports, "seconds": round(seconds, 2), "reused": reused, "fit": fit, "where": where()},
        indent=1))


# ---------------------------------------------------------------------- the sweep
def collect(sweep_reports: Path, expected_jobs: list[int] | None = None) -> dict[str, Any]:
    """Every job of the sweep whose reports live in ``sweep_reports``; a job that started (listed in
    ``expected_jobs``) but left no ``job.json`` is reported as failed (killed or crashed)."""
    sweep_reports = Path(sweep_reports)
    nums = {int(p.name[3:]) for p in sweep_reports.glob("job[0-9]*") if p.is_dir() and p.name[3:].isdigit()}
    nums |= set(expected_jobs or [])
    jobs = []
    for num in sorted(nums):
        jdir = sweep_reports / f"job{num:03d}"
        rec = read_job(jdir)
        if rec is None:
            jobs.append({"job": num, "overrides": [], "code": 70, "reason": "the job left no result (killed or "
                         "crashed before it finished): rerun the sweep", "results": []})
            continue
        results = []
        for name in rec.get("reports", []):
            for fname, reader in RESULT_READERS.items():
                f = jdir / name / fname
                if f.is_file():
                    row = reader(f)
                    if row is not None:
                        results.append({"kind": fname, "folder": name, **row})
        jobs.append({"job": num, "overrides": rec.get("overrides", []), "code": int(rec.get("code", 70)),
                     "reason": rec.get("reason", ""), "reused": bool(rec.get("reused", False)),
                     "seconds": rec.get("seconds"), "fit": rec.get("fit"), "where": rec.get("where"),
                     "inputs_hash": rec.get("inputs_hash"), "results": results})
    keys: dict[str, set[str]] = {}
    for j in jobs:
        for o in j["overrides"]:
            k, _, v = o.partition("=")
            keys.setdefault(k, set()).add(v)
    varying = sorted(k for k, vs in keys.items() if len(vs) > 1 or len(jobs) == 1)
    hashes = sorted({r["inputs_hash"] for j in jobs for r in j["results"] if r.get("inputs_hash")})
    failed = [j["job"] for j in jobs if j["code"] not in (0, 3)]
    return {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "sweep": sweep_reports.name,
        "n_jobs": len(jobs),
        "n_failed": len(failed),
        "n_reused": sum(j.get("reused", False) for j in jobs),
        "n_diagnostics_failed": sum(1 for j in jobs if j["code"] == 3),
        "exit_code": max([j["code"] for j in jobs] or [70]),
        "varying": varying,
        "distinct_inputs_hashes": hashes,
        "jobs": jobs,
    }


def _label(job: dict[str, Any], varying: list[str]) -> str:
    parts = [o for o in job["overrides"] if o.partition("=")[0] in varying]
    return f"job{job['job']:03d}" + (": " + " ".join(parts) if parts else "")


def figure(summary: dict[str, Any]) -> bytes | None:
    """Mean and HDI of the quantities that move most across the sweep, one panel each, one row per result."""
    from forecast.outputs.figures import sweep as sweep_figure
    from forecast.outputs.figures import write

    rows = [(_label(j, summary["varying"]) + (f" [{r['folder']}]" if len(j["results"]) > 1 else ""), r)
            for j in summary["jobs"] for r in j["results"] if r.get("estimates")]
    fig = sweep_figure.summary(summary, rows)
    return None if fig is None else write.png(fig)


def write_summary(sweep_reports: Path, summary: dict[str, Any]) -> Path:
    """``summary.json`` (and ``summary.png`` when there is something to draw), written atomically."""
    sweep_reports = Path(sweep_reports)
    png = figure(summary)
    if png is not None:
        atomic_write_file(sweep_reports / "summary.png", png)
    return atomic_write_file(sweep_reports / "summary.json", json.dumps(summary, indent=1, sort_keys=True))
