"""A cached posterior's arrays beside its NetCDF file: what a cached report reads instead of the NetCDF.

The NetCDF file (``posteriors/<hash>.nc``) stays the exchange format: arviz and xarray open it, and the cache
checks it when it is written and read. Reading it costs the import of h5py and h5netcdf and a decode of every
variable (about a second of a cached report on a 2-core machine); the same arrays written once with numpy
(``<hash>.arrays.npz``, uncompressed, no pickled objects) load in milliseconds. The file is derived: it names
the NetCDF file it was made from (size and modification time), a mismatch or any damage makes it a miss, and
it is then rebuilt from the NetCDF file.
"""

from __future__ import annotations

import io
import json
import logging
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger("forecast")

FORMAT = 1  # bump when what the file holds changes
META = "__meta__"


def path_for(nc: Path) -> Path:
    """The arrays file of a posterior's NetCDF file."""
    return nc.with_name(f"{nc.stem}.arrays.npz")


def _source(nc: Path) -> list[int]:
    st = nc.stat()
    return [int(st.st_size), int(st.st_mtime_ns)]


def _plain(a: np.ndarray) -> np.ndarray:
    """An array numpy can store without pickling: text labels as fixed-width unicode."""
    a = np.asarray(a)
    if a.dtype == object:
        return a.astype(str)
    return a


def encode(tree, nc: Path) -> bytes:
    """The ``.npz`` bytes of a posterior DataTree (every group's variables and coordinates, their dimensions
    and attributes), naming the NetCDF file ``nc`` it stands for."""
    arrays: dict[str, np.ndarray] = {}
    groups: dict[str, Any] = {}
    for name, node in tree.children.items():
        ds = node.to_dataset()
        g: dict[str, Any] = {"attrs": _json_attrs(ds.attrs), "coords": {}, "vars": {}}
        for c in ds.coords:
            key = f"{name}/c/{c}"
            arrays[key] = _plain(ds[c].values)
            g["coords"][str(c)] = {"dims": list(ds[c].dims), "key": key}
        for v in ds.data_vars:
            key = f"{name}/v/{v}"
            arrays[key] = _plain(ds[v].values)
            g["vars"][str(v)] = {"dims": list(ds[v].dims), "key": key, "attrs": _json_attrs(ds[v].attrs)}
        groups[str(name)] = g
    meta = {"format": FORMAT, "source": _source(nc), "attrs": _json_attrs(tree.attrs), "groups": groups}
    arrays[META] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, allow_pickle=False, **arrays)
    return buf.getvalue()


def _json_attrs(attrs: dict) -> dict[str, Any]:
    """Attributes as JSON: numpy scalars and arrays as numbers and lists (NetCDF keeps nothing else)."""
    out = {}
    for k, v in attrs.items():
        if isinstance(v, np.generic | np.ndarray):
            v = v.tolist()
        json.dumps(v)  # anything NetCDF stored is text, a number or a list of them
        out[str(k)] = v
    return out


def read(nc: Path):
    """The posterior DataTree from the arrays file beside ``nc``, or None (missing, stale, damaged)."""
    path = path_for(nc)
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(bytes(z[META]).decode())
            if meta.get("format") != FORMAT or meta.get("source") != _source(nc):
                return None
            data = {k: z[k] for k in z.files if k != META}
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as e:
        log.info("posterior arrays %s unreadable (%s): reading the NetCDF file", path.name, e)
        return None
    import xarray as xr

    try:
        groups = {}
        for name, g in meta["groups"].items():
            coords = {c: (spec["dims"], data[spec["key"]]) for c, spec in g["coords"].items()}
            data_vars = {v: (spec["dims"], data[spec["key"]], spec.get("attrs") or {}) for v, spec in g["vars"].items()}
            groups[name] = xr.Dataset(data_vars, coords=coords, attrs=g.get("attrs") or {})
        tree = xr.DataTree.from_dict(groups)
    except (KeyError, ValueError, TypeError) as e:
        log.info("posterior arrays %s do not rebuild (%s): reading the NetCDF file", path.name, e)
        return None
    tree.attrs.update(meta.get("attrs") or {})
    return tree


def write(tree, nc: Path, root: Path) -> None:
    """Write the arrays file of ``tree`` beside ``nc`` (through the one door for writes). A cache that cannot
    hold it costs speed, never the run."""
    from forecast.files import atomic_write_file

    try:
        atomic_write_file(path_for(nc), encode(tree, nc), root)
    except OSError as e:
        log.warning("could not keep %s: %s", path_for(nc).name, e)
