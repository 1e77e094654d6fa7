"""The published-forecast history: ``reports/history.csv``, append-only.

Every published report appends one row per response and composite; earlier rows are never rewritten.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
from filelock import FileLock

from forecast.files import read_report

HISTORY_COLUMNS = ["published_at", "scenario", "as_of", "kind", "id", "mean", "hdi_low", "hdi_high", "hdi_prob",
                   "inputs_hash", "report"]


def history_path(reports: Path) -> Path:
    return Path(reports) / "history.csv"


def append_history(reports: Path, cache: Path, report_dirs: list[Path], path: Path | None = None) -> Path:
    """Append every written report's probabilities; never rewrites earlier rows."""
    path = path or history_path(reports)
    rows = []
    for d in report_dirs:
        data = read_report(Path(d) / "forecast.json")
        if data is None:
            continue
        for kind, key, items in (("response", "response", data["responses"]),
                                 ("composite", "composite", data["composites"])):
            for r in items:
                rows.append({"published_at": data["generated_at"], "scenario": data["scenario"],
                             "as_of": data["as_of"], "kind": kind, "id": r[key], "mean": r["mean"],
                             "hdi_low": r["hdi_low"], "hdi_high": r["hdi_high"], "hdi_prob": r["hdi_prob"],
                             "inputs_hash": data["inputs_hash"], "report": str(Path(d).name)})
    if not rows:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = Path(cache) / "locks" / "history.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(lock)):
        new = not path.exists() or path.stat().st_size == 0
        buf = io.StringIO()
        pd.DataFrame(rows, columns=HISTORY_COLUMNS).to_csv(buf, index=False, header=new)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(buf.getvalue())
            fh.flush()
    return path


def read_history(path: Path) -> pd.DataFrame:
    if not path.is_file():
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    return pd.read_csv(path)
