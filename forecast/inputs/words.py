"""Estimative words: a named scale from probabilities to the words a report uses (``conf/words/``, the ``words``
config group; ICD 203 by default). Every page prints the scale's legend, so a reader knows what "likely" means.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from forecast.errors import ConfigError

BAND_KEYS = {"from", "word", "range"}


@dataclass(frozen=True)
class Band:
    lower: float  # the lowest probability the word covers
    word: str
    range: str  # the range as the scale's source writes it (the legend prints it)


@dataclass(frozen=True)
class Scale:
    name: str
    title: str
    source: str
    url: str
    bands: tuple[Band, ...]  # lowest first; the first starts at 0

    def word(self, p: float | None) -> str:
        """The scale's word for probability ``p`` (the band whose lower end ``p`` reaches), "unknown" for None."""
        if p is None or not math.isfinite(p):
            return "unknown"
        out = self.bands[0].word
        for b in self.bands:
            if p >= b.lower:
                out = b.word
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "source": self.source, "url": self.url,
                "bands": [{"from": b.lower, "word": b.word, "range": b.range} for b in self.bands]}


def parse_scale(raw: Any, where: str = "words") -> Scale:
    """A scale from the ``words`` config node; one line naming the key and the fix when it is not one."""
    if not isinstance(raw, dict):
        raise ConfigError(where, f"expected a mapping, got {raw!r}", "see conf/words/icd203.yaml")
    for key in ("name", "title", "source"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise ConfigError(f"{where}.{key}", "missing or not text", "see conf/words/icd203.yaml")
    url = str(raw.get("url") or "")
    if url and not url.startswith(("https://", "http://")):
        raise ConfigError(f"{where}.url", f"{url!r} is not an http(s) address", "give an https:// address or none")
    bands = raw.get("bands")
    if not isinstance(bands, list) or len(bands) < 2:
        raise ConfigError(f"{where}.bands", "needs a list of at least two bands",
                          "write `- {from: 0.0, word: ..., range: ...}` lines, lowest first")
    out: list[Band] = []
    for i, b in enumerate(bands):
        w = f"{where}.bands[{i}]"
        if not isinstance(b, dict):
            raise ConfigError(w, "not a mapping", "write {from: 0.2, word: unlikely, range: 20–45%}")
        unknown = sorted(set(b) - BAND_KEYS, key=str)
        if unknown:
            raise ConfigError(f"{w}.{unknown[0]}", "unknown key", f"use only: {', '.join(sorted(BAND_KEYS))}")
        lo = b.get("from")
        if isinstance(lo, bool) or not isinstance(lo, int | float) or not (0 <= lo < 1):
            raise ConfigError(f"{w}.from", f"{lo!r} is not a probability in [0, 1)", "write e.g. from: 0.2")
        word = b.get("word")
        if not isinstance(word, str) or not word.strip():
            raise ConfigError(f"{w}.word", "missing or not text", "write the word, e.g. word: unlikely")
        if out and lo <= out[-1].lower:
            raise ConfigError(f"{w}.from", f"{lo:g} does not rise above the band before ({out[-1].lower:g})",
                              "list the bands lowest first, each starting higher")
        if not out and lo != 0:
            raise ConfigError(f"{w}.from", f"the first band starts at {lo:g}", "start the first band at 0")
        out.append(Band(float(lo), " ".join(word.split()), str(b.get("range") or "").strip()))
    return Scale(raw["name"].strip(), " ".join(raw["title"].split()), " ".join(raw["source"].split()), url,
                 tuple(out))
