"""Where a benchmark's results go: one file per dated run, ``bench/results/<date>-<name><suffix>``.

A second run of the same benchmark on the same day gets ``-run2``, ``-run3``, ...: a result is never
overwritten, so the README can name the run its figures come from.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def results_path(name: str, suffix: str = ".json", day: dt.date | None = None) -> Path:
    stem = f"{(day or dt.date.today()).isoformat()}-{name}"
    path, n = RESULTS / f"{stem}{suffix}", 2
    while path.exists():
        path, n = RESULTS / f"{stem}-run{n}{suffix}", n + 1
    return path


def write_results(benchmark: str, suffix: str, body: dict, runs: list[dict]) -> Path:
    """One in-process benchmark's results file, ``<date>-<benchmark><suffix>.json``: ``body`` with what every such
    file says first (the benchmark, when, the commit, the machine) and the 1-minute load averages of its ``runs``
    (each with ``load_before`` and ``load_after``, as ``os.getloadavg`` gives them), then the runs; its path."""
    import json
    import os
    import statistics
    import subprocess
    import sys
    import time

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=RESULTS.parent.parent, capture_output=True,
                            text=True).stdout.strip()
    loads = [r["load_before"][0] for r in runs] + [r["load_after"][0] for r in runs]
    res = {"benchmark": benchmark, "date": time.strftime("%Y-%m-%dT%H:%M:%S"), "commit": commit,
           "machine": {"cores": os.cpu_count(), "python": sys.version.split()[0]}, **body,
           "load_1min": {"min": min(loads), "max": max(loads), "median": statistics.median(loads)}, "runs": runs}
    path = results_path(benchmark + suffix)
    path.write_text(json.dumps(res, indent=1) + "\n")
    return path
