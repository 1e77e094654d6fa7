"""The draws a report keeps for ``forecast whatif``: the command answers from them in a fraction of a second.

A report run (``forecast.usecases.reports``) writes, for each scenario it reports, ``<cache>/whatif/<scenario>.npz``:
the panel's ``Draws`` arrays (float32, exactly those ``report.html`` embeds) and one JSON entry ``meta``: the Draws'
names and constants, the model's settings (``inputs.hyper``), the ontology's names and response chains (what the
terms need of it), the report's key without its published part (``forecast.outputs.uptodate.Keys``: settings,
inputs, code, day) and the posterior files it came from. One file, written atomically (``forecast.files``).

``forecast.usecases.whatif.find_kept`` is the one find-and-check: the kept draws answer only when the key
``forecast whatif`` computes for its own config is the recorded one, the posterior files are as recorded
(``uptodate.posterior_moved``) and the file reads back whole (``load``: a damaged zip fails its CRC, the arrays are
checked against the names); anything else is a miss with its reason, and the command falls back to the full path
(inputs, the posterior, predictions): the same answer, seconds later. Reading them imports numpy and nothing else
of the numerical stack (``tests/test_whatif_kept.py``).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from forecast.analysis.whatif.draws import ARRAYS, Draws, _finite

log = logging.getLogger("forecast")

FORMAT = 1
FOLDER = "whatif"
META = "meta"  # the npz entry holding the JSON
_SCALARS = ("scenario", "title", "inputs_hash", "command", "hdi_prob", "responses", "labels", "composites",
            "composite_labels", "actions", "action_labels", "pollsters", "total_draws", "update", "consts")


def kept_path(cache: Path, scenario: str) -> Path:
    return Path(cache) / FOLDER / f"{scenario}.npz"


class KeptOntology:
    """What the what-if's terms use of the ontology: its names and each response's chain of required responses."""

    def __init__(self, actions: list[str], responses: list[str], ancestors: dict[str, list[str]]):
        self.action_ids, self.response_ids, self._ancestors = list(actions), list(responses), ancestors

    def ancestors(self, response: str) -> list[str]:
        return list(self._ancestors[response])


@dataclass
class KeptInputs:
    """The inputs as the what-if sees them (``answer.reweight``): the ontology's names, the model's settings."""

    ontology: KeptOntology
    hyper: dict[str, Any]
    as_of: dt.date


@dataclass
class Kept:
    """Kept draws found valid: the Draws, the inputs they need, and whose they are (for the command's output)."""

    draws: Draws
    inputs: KeptInputs
    said: str


def keep(cache: Path, name: str, key: dict[str, str], posterior: dict[str, Any], draws: Draws, inputs) -> Path:
    """Write scenario ``name``'s kept draws (``key``: its report's key; ``posterior``: the files its posterior came
    from, as the report's record has them)."""
    from forecast.files import atomic_write_file

    ont = inputs.ontology
    meta = {"format": FORMAT, "key": {k: v for k, v in key.items() if k != "published"}, "posterior": posterior,
            "kept_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "as_of": draws.as_of.isoformat(),
            "hyper": dict(inputs.hyper), "ancestors": {r: list(ont.ancestors(r)) for r in ont.response_ids},
            "draws": _finite({k: getattr(draws, k) for k in _SCALARS})}
    arrays = {k: np.ascontiguousarray(getattr(draws, k)) for k in ARRAYS if getattr(draws, k) is not None}
    buf = io.BytesIO()
    np.savez(buf, allow_pickle=False, **{META: np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}, **arrays)
    return atomic_write_file(kept_path(cache, name), buf.getvalue(), root=cache)


def load(path: Path) -> tuple[dict[str, Any], Kept]:
    """A kept file's record (``meta``: key, posterior files, ...) and its draws; raises on a damaged or foreign file
    (the zip's CRC, the format, the arrays' shapes and dtype against the names)."""
    with np.load(path, allow_pickle=False) as z:
        data = {k: z[k] for k in z.files}
    meta = json.loads(data.pop(META).tobytes().decode())
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError("another format")
    m = meta["draws"]
    as_of = dt.date.fromisoformat(meta["as_of"])
    d = Draws(**{k: m[k] for k in _SCALARS}, as_of=as_of, **{k: data.get(k) for k in ARRAYS})
    S, R, A = d.size, len(d.responses), len(d.actions)
    want = {"p": (S, R), "pc": (S, len(d.composites)), "theta": (S,), "house": (S, len(d.pollsters)),
            "eta": (S, A, R), "loading": (S, R), "base_log_ratio": (S,), "eta_reference": (S, A, R)}
    for f in fields(Draws):
        a = getattr(d, f.name)
        if f.name in want and a is not None and (a.shape != want[f.name] or a.dtype != np.float32):
            raise ValueError(f"array {f.name} has shape {a.shape}, dtype {a.dtype}")
    if any(getattr(d, k) is None for k in ("p", "pc", "theta", "house", "eta", "loading")):
        raise ValueError("an array is missing")
    ont = KeptOntology(d.actions, d.responses, {r: list(v) for r, v in meta["ancestors"].items()})
    said = f"the draws kept by the report run of {meta.get('kept_at')} ({path})"
    return meta, Kept(d, KeptInputs(ont, dict(meta["hyper"]), as_of), said)
