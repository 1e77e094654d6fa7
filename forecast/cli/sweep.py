"""Sweeps on any Hydra launcher (basic, joblib, Ray, SLURM/submitit): what a job records, how a rerun
reuses it, and the summary the parent process writes when the sweep ends.

A job runs in whatever process the launcher gives it (a loky worker, a Ray worker on another node, a
SLURM task), so nothing it returns reaches the command's exit status. Each job therefore writes
``reports/sweeps/<sweep>/job<NNN>/job.json`` (its overrides, exit code, one-line reason, inputs hash,
report folders); ``SweepSummary.on_multirun_end`` (a Hydra callback run by the launching process)
collects them into ``summary.json`` + ``summary.png`` and the command exits with the worst job's code.

Rerunning a sweep into the same folder (``hydra.sweep.dir=.../NAME``) reuses every finished job: a job
whose ``job.json`` has the same overrides and the same inputs hash, and whose report folders are all
there, is not redone. A job killed half-way left only hidden temporary siblings; they are removed
when the job runs again.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

from forecast.files import atomic_write_file
from forecast.outputs.sweep import JOB_FILE, collect, read_job, write_summary

log = logging.getLogger("forecast")

# the summary of the last sweep this process launched (read by the CLI for its exit status)
LAST: dict[str, Any] = {}


def job_overrides() -> list[str]:
    """The overrides that define this job (not the launcher's: hydra/launcher=... is not among them)."""
    from hydra.core.hydra_config import HydraConfig

    return list(HydraConfig.get().overrides.task)


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
    if not all((job_dir / name / "forecast.json").is_file() for name in rec["reports"]):
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


def sweep_reports_dir(config) -> Path:
    from forecast.inputs import config as _config

    return _config.paths(config)["reports"] / "sweeps" / Path(str(config.hydra.sweep.dir)).name


def started_jobs(config) -> list[int]:
    """Jobs the launcher started: Hydra creates each job's folder (hydra.sweep.dir/<num>) before running it."""
    root = Path(str(config.hydra.sweep.dir))
    return sorted(int(p.name) for p in root.iterdir() if p.is_dir() and p.name.isdigit()) if root.is_dir() else []


class SweepSummary(Callback):
    """Hydra callback (conf/config.yaml: hydra.callbacks): one summary per sweep, whatever the launcher."""

    def on_multirun_start(self, config, **kwargs: Any) -> None:
        LAST.clear()

    def on_multirun_end(self, config, **kwargs: Any) -> None:
        out = sweep_reports_dir(config)
        summary = collect(out, started_jobs(config))
        if summary["n_jobs"]:
            path = write_summary(out, summary)
            summary["path"] = str(path)
        LAST.clear()
        LAST.update(summary)
