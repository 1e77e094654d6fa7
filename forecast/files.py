"""The files the tool owns: atomic writes and where reports live.

Every file the tool creates or replaces goes through here: it is written to a hidden temporary
sibling and renamed into place, so a reader never sees half a file or half a report folder.
Base layer: imports only the standard library and ``forecast.errors``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from forecast.errors import InputError

REPORT_SCHEMA_VERSION = 1


def atomic_write_dir(final: Path, fill) -> Path:
    """Build a folder in a hidden temporary sibling with ``fill(tmp)``, then move it into place."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.tmp-"))
    try:
        fill(tmp)
        os.chmod(tmp, 0o755)  # noqa: S103 - mkdtemp makes it private; reports are for reading
        for f in tmp.iterdir():
            os.chmod(f, 0o644)
        if final.exists():
            old = final.parent / f".{final.name}.old-{os.getpid()}"
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def atomic_write_file(path: Path, content: str | bytes) -> Path:
    """Write a file through a temporary sibling and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content.encode("utf-8") if isinstance(content, str) else content)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def report_dir(reports: Path, name: str) -> Path:
    """The folder of scenario ``name``'s report under ``reports`` (refused if it would leave it)."""
    base = Path(reports).resolve()
    target = (base / name).resolve()
    if target.parent != base:
        raise InputError(f"scenario name {name!r}", "would write outside the reports folder", "use a scenario id")
    return target


def read_report(path: Path) -> dict[str, Any] | None:
    """A report's ``forecast.json`` read back, or None when it is missing, unreadable or of another
    schema version (the one reader every consumer of a published report uses)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("schema_version") != REPORT_SCHEMA_VERSION:
        return None
    return data
