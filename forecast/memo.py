"""Content-addressed results of pure computations, kept under ``<cache>/derived/``.

A cached report recomputes nothing that its inputs have not changed: the summary statistics of each
scenario's draws and the figures drawn from them are pure functions of the draws, the settings and
the code that computes them. Each is stored under a key that hashes all of these (the draws'
bytes, not their names), so a key can never serve a stale result: change a draw, a label, a setting
or a line of the computing module, and the key changes. What the memo saves is the import and
running of arviz-stats and matplotlib (seconds of a 2-core machine) on the cached path.

An entry that cannot be read back (a crash mid-write elsewhere, a damaged disk) is a miss: the
result is computed again and the entry rewritten through the one write door (``forecast.files``).

Every new posterior adds entries (its ``posterior.nc`` alone is 2 MB per scenario), so the batch commands (the
scheduled run, the history replay) end with ``prune``: each kind keeps its most recently written entries up to a
budget. A pruned entry costs a recomputation, never a wrong result.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger("forecast")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
BUDGET = 32 * 2**20  # bytes each kind of derived result keeps (the newest entries first)...
KEEP_AT_LEAST = 16  # ...but never fewer than this many entries
SVG_STARTS = (b"<?xml", b"<svg")


def digest(*parts: Any) -> str:
    """A sha256 over the parts: numpy arrays by dtype, shape and bytes; bytes as they are; anything
    else as canonical JSON."""
    h = hashlib.sha256()
    np = sys.modules.get("numpy")  # not imported: no part is an array (a key of files and text needs no numpy)
    for p in parts:
        if np is not None and isinstance(p, np.ndarray):
            a = np.ascontiguousarray(p)
            h.update(f"nd{a.dtype.str}{a.shape}".encode())
            h.update(a.tobytes() if a.dtype != object else json.dumps(a.tolist(), default=str).encode())
        elif isinstance(p, bytes):
            h.update(b"b" + len(p).to_bytes(8, "little") + p)
        else:
            s = json.dumps(p, sort_keys=True, default=str).encode()
            h.update(b"j" + len(s).to_bytes(8, "little") + s)
    return h.hexdigest()[:32]


@functools.cache
def source(path: Path | str) -> bytes:
    """A computing module's source, read once per process (it is part of every key its results get)."""
    return Path(path).read_bytes()


@functools.cache
def version(dist: str) -> str | None:
    """An installed distribution's version from its metadata (no import of the package)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as v

    try:
        return v(dist)
    except PackageNotFoundError:
        return None


def _path(cache_dir: Path, kind: str, key: str, ext: str) -> Path:
    return Path(cache_dir) / "derived" / kind / f"{key}.{ext}"


def get_json(cache_dir: Path | None, kind: str, key: str) -> Any | None:
    if cache_dir is None:
        return None
    p = _path(cache_dir, kind, key, "json")
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        log.info("derived result %s unreadable (%s): recomputing", p, e)
        return None


def put_json(cache_dir: Path | None, kind: str, key: str, value: Any) -> None:
    if cache_dir is None:
        return
    from forecast.files import atomic_write_file

    try:
        atomic_write_file(_path(cache_dir, kind, key, "json"), json.dumps(value), root=cache_dir)
    except OSError as e:  # a full or read-only cache costs speed, never the report
        log.warning("could not keep a derived result under %s: %s", cache_dir, e)


def _figure(cache_dir: Path, kind: str, key: str, stem: str) -> Path:
    """A figure's file: ``<key>-<stem>.png``, or ``<key>-<stem>`` for a stem naming its SVG (``history.svg``)."""
    if stem.endswith(".svg"):
        return Path(cache_dir) / "derived" / kind / f"{key}-{stem}"
    return _path(cache_dir, kind, f"{key}-{stem}", "png")


def _intact(stem: str, data: bytes) -> bool:
    return data.startswith(SVG_STARTS) if stem.endswith(".svg") else data.startswith(PNG_MAGIC)


def get_pngs(cache_dir: Path | None, kind: str, key: str) -> dict[str, bytes] | None:
    """A set of figure files stored as one entry: {stem: PNG bytes, and "<stem>.svg": SVG bytes}, or None if any
    part is missing or damaged."""
    index = get_json(cache_dir, kind, key)
    if not isinstance(index, list):
        return None
    out = {}
    for stem in index:
        try:
            data = _figure(cache_dir, kind, key, str(stem)).read_bytes()
        except OSError:
            return None
        if not _intact(str(stem), data):
            log.info("derived figure %s-%s damaged: redrawing", key, stem)
            return None
        out[str(stem)] = data
    return out


def put_pngs(cache_dir: Path | None, kind: str, key: str, pngs: dict[str, bytes]) -> None:
    if cache_dir is None:
        return
    from forecast.files import atomic_write_file

    try:
        for stem, data in pngs.items():
            atomic_write_file(_figure(cache_dir, kind, key, stem), data, root=cache_dir)
    except OSError as e:
        log.warning("could not keep derived figures under %s: %s", cache_dir, e)
        return
    put_json(cache_dir, kind, key, list(pngs))  # the index last: a half-written set is never a hit


def get_bytes(cache_dir: Path | None, kind: str, key: str, magic: bytes) -> bytes | None:
    """A kept file's bytes (``<kind>/<key>.bin``), or None when missing or not starting with ``magic`` (the format's
    signature: a damaged or cut file is a miss)."""
    if cache_dir is None:
        return None
    p = _path(cache_dir, kind, key, "bin")
    try:
        data = p.read_bytes()
    except OSError:
        return None
    if not data.startswith(magic):
        log.info("derived file %s damaged: recomputing", p)
        return None
    return data


def put_bytes(cache_dir: Path | None, kind: str, key: str, data: bytes) -> None:
    if cache_dir is None:
        return
    from forecast.files import atomic_write_file

    try:
        atomic_write_file(_path(cache_dir, kind, key, "bin"), data, root=cache_dir)
    except OSError as e:
        log.warning("could not keep a derived file under %s: %s", cache_dir, e)


def tree_digest(tree: Any) -> list[Any]:
    """The parts of a memo key that name an xarray DataTree's content: every group's variables and coordinates
    (names, dimensions, values) and attributes."""
    parts: list[Any] = [{str(k): str(v) for k, v in tree.attrs.items()}]
    for name, node in sorted(tree.children.items()):
        ds = node.to_dataset()
        parts.append([str(name), {str(k): str(v) for k, v in ds.attrs.items()}])
        for v in sorted(map(str, ds.variables)):
            a = ds[v].values
            parts += [v, list(ds[v].dims), a.astype(str) if a.dtype == object else a,
                      {str(k): str(x) for k, x in ds[v].attrs.items()}]
    return parts


def get_arrays(cache_dir: Path | None, kind: str, key: str) -> dict[str, np.ndarray] | None:
    """Kept arrays (``<kind>/<key>.npz``, no pickled objects), or None when missing or damaged."""
    if cache_dir is None:
        return None
    import numpy as np

    p = _path(cache_dir, kind, key, "npz")
    try:
        with np.load(p, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except FileNotFoundError:
        return None
    except Exception as e:  # noqa: BLE001 - a damaged entry (cut file, bad zip, bad header) is a miss
        log.info("derived arrays %s unreadable (%s): recomputing", p, e)
        return None


def put_arrays(cache_dir: Path | None, kind: str, key: str, arrays: dict[str, np.ndarray]) -> None:
    if cache_dir is None:
        return
    import io

    import numpy as np

    from forecast.files import atomic_write_file

    buf = io.BytesIO()
    np.savez(buf, allow_pickle=False, **arrays)
    try:
        atomic_write_file(_path(cache_dir, kind, key, "npz"), buf.getvalue(), root=cache_dir)
    except OSError as e:
        log.warning("could not keep derived arrays under %s: %s", cache_dir, e)


def prune(cache_dir: Path | None, budget: int = BUDGET, keep_at_least: int = KEEP_AT_LEAST) -> int:
    """Remove the oldest entries of each kind under ``<cache_dir>/derived/`` beyond ``budget`` bytes, keeping at
    least the ``keep_at_least`` newest (an entry: every file of one key, a figure's PNG and SVG together; newest by
    the time it was last written). Hidden files (a write in progress) are left alone; a file another run removes or
    reads meanwhile is no error (a miss there). Returns the number of files removed."""
    if cache_dir is None:
        return 0
    root = Path(cache_dir) / "derived"
    try:
        kinds = [d for d in root.iterdir() if d.is_dir() and not d.is_symlink()]
    except OSError:
        return 0
    return sum(prune_kind(kind, budget, keep_at_least) for kind in kinds)


def prune_kind(folder: Path, budget: int, keep_at_least: int) -> int:
    """``prune`` of one kind's folder (``budget=0``: its ``keep_at_least`` newest entries kept, no more). Returns the
    number of files removed."""
    import contextlib

    entries: dict[str, list[tuple[int, int, Path]]] = {}
    try:
        for p in folder.iterdir():
            if p.name.startswith(".") or not p.is_file() or p.is_symlink():
                continue
            st = p.stat()
            entries.setdefault(p.name.split("-", 1)[0].split(".", 1)[0], []).append((st.st_mtime_ns, st.st_size, p))
    except OSError:
        return 0
    newest = sorted(entries.values(), key=lambda files: max(f[0] for f in files), reverse=True)
    removed = total = 0
    for i, files in enumerate(newest):
        total += sum(f[1] for f in files)
        if i < keep_at_least or total <= budget:
            continue
        for _, _, p in files:
            with contextlib.suppress(OSError):
                p.unlink()
                removed += 1
    return removed
