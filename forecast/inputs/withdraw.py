"""Withdrawing an evidence entry: out of the log, never deleted; recorded and reversible.

``withdraw`` moves ``data/evidence/<id>.yaml`` unchanged to ``data/withdrawn/<id>.yaml`` and appends a line to
``data/withdrawn/log.csv`` (date, id, action, reason); ``restore`` moves it back and appends a ``restored`` line.
The evidence loader reads ``data/evidence/`` only, so a withdrawn entry is out of every forecast made after it; the
next report says what was withdrawn since the last published brief, with the reason, and its attribution counts the
withdrawal as a cause ("evidence removed").
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from forecast.errors import InputError
from forecast.files import append_text, move_file
from forecast.inputs.readers import display
from forecast.safe_text import bad_character, csv_cell

FOLDER = "withdrawn"
LOG = "log.csv"
COLUMNS = ["date", "id", "action", "reason"]
REASON_LIMIT = 500


def _ids(folder: Path) -> list[str]:
    return sorted(p.stem for p in Path(folder).glob("*.yaml")) if Path(folder).is_dir() else []


def _entry(folder: Path, entry_id: str, what: str, other: str) -> Path:
    path = Path(folder) / f"{entry_id}.yaml"
    if "/" in entry_id or "\\" in entry_id or entry_id.startswith(".") or not path.is_file():
        ids = _ids(folder)
        listed = ", ".join(ids) if ids else "none"
        raise InputError(f"{what} {entry_id!r}", f"no such entry in {display(folder)}",
                         f"use one of: {listed}{other}")
    return path


def _log(data_dir: Path, entry_id: str, action: str, reason: str, today: dt.date) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([today.isoformat(), entry_id, action, csv_cell(reason)])
    folder = Path(data_dir) / FOLDER
    append_text(folder / LOG, buf.getvalue(), Path(data_dir), header=",".join(COLUMNS) + "\n")


def withdraw(data_dir: Path, entry_id: str, reason: str, today: dt.date | None = None) -> Path:
    """Move the entry out of the log into ``data/withdrawn/`` and record why; returns its new path."""
    today = today or dt.date.today()
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise InputError("--reason", "missing", "say in a few words why the entry is withdrawn")
    if len(reason) > REASON_LIMIT or bad_character(reason):
        raise InputError("--reason", f"over {REASON_LIMIT} characters or holds a control character",
                         "write one plain line")
    src = _entry(Path(data_dir) / "evidence", entry_id, "evidence entry",
                 " (forecast evidence list shows them; a withdrawn one is restored with forecast evidence restore)")
    dst = Path(data_dir) / FOLDER / src.name
    if dst.exists() and dst.read_bytes() != src.read_bytes():
        raise InputError(f"evidence entry {entry_id!r}", f"another entry of that id is already withdrawn "
                         f"({display(dst)})", "restore or rename one of them first")
    out = move_file(src, dst, Path(data_dir))
    _log(data_dir, entry_id, "withdrawn", reason, today)
    return out


def restore(data_dir: Path, entry_id: str, today: dt.date | None = None) -> Path:
    """Move a withdrawn entry back into the log (it counts again from the next forecast) and record it."""
    today = today or dt.date.today()
    src = _entry(Path(data_dir) / FOLDER, entry_id, "withdrawn entry", "")
    dst = Path(data_dir) / "evidence" / src.name
    if dst.exists():
        raise InputError(f"withdrawn entry {entry_id!r}", f"{display(dst)} exists",
                         "the log already holds an entry of that id: rename one of them")
    out = move_file(src, dst, Path(data_dir))
    _log(data_dir, entry_id, "restored", "", today)
    return out


def withdrawals(data_dir: Path) -> list[dict[str, str]]:
    """The log's lines (date, id, action, reason), oldest first; none when nothing was ever withdrawn."""
    path = Path(data_dir) / FOLDER / LOG
    if not path.is_file():
        return []
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    return [{k: str(r.get(k) or "") for k in COLUMNS} for r in rows if r.get("id")]


def withdrawn_since(data_dir: Path, before: list[str], now: list[str]) -> list[dict[str, str]]:
    """The entries in ``before`` and not in ``now`` with the log's last word on each (date and reason), or a
    line saying the log does not record it (an entry deleted by hand, or known no longer by a changed as_of)."""
    last = {r["id"]: r for r in withdrawals(data_dir) if r["action"] == "withdrawn"}
    gone = sorted(set(before) - set(now))
    return [last.get(e) or {"date": "", "id": e, "action": "not in the log", "reason": ""} for e in gone]
