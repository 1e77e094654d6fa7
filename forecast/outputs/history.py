"""The published-forecast history: ``reports/history.csv``, append-only.

Every published report appends one row per response and composite; earlier rows are never rewritten.
The history is a source file (only a person can restore it): before anything is appended, the whole
file is checked (header, every row's field count, a final newline); a damaged file stops the run with
one line naming the file, the line and the fix, and is never appended to.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from forecast.errors import InputError
from forecast.files import append_text
from forecast.outputs.contract import WrittenReport
from forecast.safe_text import csv_frame

HISTORY_COLUMNS = ["published_at", "scenario", "as_of", "kind", "id", "mean", "hdi_low", "hdi_high", "hdi_prob",
                   "inputs_hash", "report"]


def history_path(reports: Path) -> Path:
    return Path(reports) / "history.csv"


def history_rows(written: list[WrittenReport]) -> str:
    """The history's CSV lines for ``written`` (from what the writer returned: nothing is read back)."""
    rows = []
    for w in written:
        data, d = w.data, w.path
        for kind, key, items in (("response", "response", data["responses"]),
                                 ("composite", "composite", data["composites"])):
            for r in items:
                rows.append({"published_at": data["generated_at"], "scenario": data["scenario"],
                             "as_of": data["as_of"], "kind": kind, "id": r[key], "mean": r["mean"],
                             "hdi_low": r["hdi_low"], "hdi_high": r["hdi_high"], "hdi_prob": r["hdi_prob"],
                             "inputs_hash": data["inputs_hash"], "report": str(Path(d).name)})
    if not rows:
        return ""
    buf = io.StringIO()
    csv_frame(pd.DataFrame(rows, columns=HISTORY_COLUMNS)).to_csv(buf, index=False, header=False, lineterminator="\n")
    return buf.getvalue()


HEADER = ",".join(HISTORY_COLUMNS) + "\n"


def _refuse_damaged(p: Path) -> str:
    check_history(p)
    return ""


def append_history(reports: Path, cache: Path, written: list[WrittenReport], path: Path | None = None,
                   pub=None) -> Path:
    """Append every written report's probabilities; never rewrites earlier rows. ``pub`` (a
    ``forecast.publication.Publication``): the rows are part of that publication (appended at its commit, with the
    reports, or not at all); without it they are appended now."""
    path = path or history_path(reports)
    text = history_rows(written)
    if not text:
        return path
    if pub is not None:
        return pub.append(path, text, check=_refuse_damaged, header=HEADER)
    return append_text(path, text, Path(path).parent, lock=Path(cache) / "locks" / "history.lock",
                       check=_refuse_damaged, header=HEADER)


def published_at(reports: Path) -> set[tuple[str, str]]:
    """(scenario, published_at) of every publication in the history (a damaged history raises one line)."""
    df = read_history(history_path(reports))
    return set(zip(df["scenario"].astype(str), df["published_at"].astype(str), strict=True))


def check_history(path: Path) -> int:
    """The number of rows of a well-formed history file (0 when missing or empty); a damaged one (an
    interrupted write's half line, a careless edit) raises one line naming the file and the first bad line."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        return 0
    where = str(path)
    fix = ("restore it from a backup, or delete the damaged line(s) from line {n} on (an interrupted write or an "
           "edit left it); the tool never appends after a damaged record")
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        n = raw[: e.start].count(b"\n") + 1
        raise InputError(f"{where}, line {n}", "not UTF-8 text", fix.format(n=n)) from None
    except OSError as e:
        raise InputError(where, f"unreadable ({e.strerror})", "check the file's permissions") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows = 0
    try:
        for i, rec in enumerate(reader):
            n = reader.line_num
            if i == 0:
                if rec != HISTORY_COLUMNS:
                    raise InputError(f"{where}, line 1", "not the history header "
                                     f"({','.join(HISTORY_COLUMNS)})", fix.format(n=1))
                continue
            if len(rec) != len(HISTORY_COLUMNS):
                raise InputError(f"{where}, line {n}", f"{len(rec)} fields instead of {len(HISTORY_COLUMNS)}",
                                 fix.format(n=n))
            rows += 1
    except csv.Error as e:
        n = reader.line_num
        raise InputError(f"{where}, line {n}", f"malformed CSV ({e})", fix.format(n=n)) from None
    if not text.endswith("\n"):
        n = text.count("\n") + 1
        raise InputError(f"{where}, line {n}", "the last line is cut short (no line end)", fix.format(n=n))
    return rows


def read_history(path: Path) -> pd.DataFrame:
    if not Path(path).is_file() or check_history(path) == 0:
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    return pd.read_csv(path)
