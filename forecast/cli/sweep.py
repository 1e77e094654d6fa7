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

from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

from forecast import api

# the summary of the last sweep this process launched (read by the CLI for its exit status)
LAST: dict[str, Any] = {}


def job_overrides() -> list[str]:
    """The overrides that define this job (not the launcher's: hydra/launcher=... is not among them)."""
    from hydra.core.hydra_config import HydraConfig

    return list(HydraConfig.get().overrides.task)


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
        summary = api.summarize_sweep(sweep_reports_dir(config), started_jobs(config))
        LAST.clear()
        LAST.update(summary)
