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
