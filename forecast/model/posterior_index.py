"""The index of cached posteriors' input states: which cached posterior a PSIS update can start from.

Each cached posterior (``posteriors/<hash>.nc`` under the cache folder) has one small JSON file in
``posteriors/index/`` recording its inputs' state (``forecast.model.reweight.state``): one file per
posterior, so no shared file to race on. ``ancestors`` lists the cached posteriors that other inputs are
reachable from by reweighting, nearest first.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from forecast.inputs.data import Inputs
from forecast.model.reweight import NotReweightable, diff, state


def index_dir(cache_dir: Path) -> Path:
    return Path(cache_dir) / "posteriors" / "index"


def record(cache_dir: Path, h: str, st: dict[str, Any]) -> None:
    """Note a cached posterior's state."""
    from forecast.files import atomic_write_file

    d = index_dir(cache_dir)
    d.mkdir(parents=True, exist_ok=True)
    atomic_write_file(d / f"{h}.json", json.dumps({"hash": h, **st}, default=str))


def read(cache_dir: Path, h: str) -> dict[str, Any]:
    """The recorded state of cached posterior ``h`` (OSError or ValueError when it is missing or damaged)."""
    return json.loads((index_dir(cache_dir) / f"{h}.json").read_text())


def ancestors(cache_dir: Path, target: Inputs, family: dict[str, Any]) -> list[tuple[int, str, list, dict]]:
    """Cached posteriors the target is reachable from by reweighting, nearest (fewest changes) first:
    (number of changes, hash, changes, the ancestor's state)."""
    d = index_dir(cache_dir)
    if not d.is_dir():
        return []
    tgt = state(target, family)
    out = []
    for p in d.glob("*.json"):
        try:
            st = json.loads(p.read_text())
        except (OSError, ValueError):
            continue
        if not (Path(cache_dir) / "posteriors" / f"{st.get('hash')}.nc").is_file():
            continue
        try:
            ch = diff(st, target, family, tgt)
        except (NotReweightable, KeyError, TypeError, ValueError):
            continue
        out.append((len(ch), p.stat().st_mtime, st["hash"], ch, st))
    out.sort(key=lambda t: (t[0], -t[1]))
    return [(n, h, ch, st) for n, _, h, ch, st in out]
