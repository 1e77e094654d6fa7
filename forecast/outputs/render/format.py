"""How numbers and values read on a page: percentages, intervals, plain values, estimative words.

Every section formats through these functions, so a change of convention (a decimal more, another scale of
words) is made here once for every page and both formats.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

DASH = "—"  # what a missing or non-finite value reads as


def s(x: Any) -> str:
    """Text of a value; None and non-finite floats read as a dash."""
    return DASH if x is None or (isinstance(x, float) and not math.isfinite(x)) else str(x)


def num(x: Any) -> float | None:
    """A finite float, or None."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def pct(x: Any) -> str:
    """A probability as a whole percentage; below half a point ``<1%``, above 99.5 ``>99%`` (never 0% or 100%
    for what is only unlikely or likely)."""
    v = num(x)
    if v is None:
        return DASH
    return "<1%" if 0 < v < 0.005 else ">99%" if 0.995 < v < 1 else f"{v:.0%}"


def interval(lo: Any, hi: Any) -> str:
    a, b = num(lo), num(hi)
    return DASH if a is None or b is None else f"{a * 100:.0f}–{b * 100:.0f}%"


def fmt(x: Any) -> str:
    """Any JSON-like value as short text: yes/no, 4 significant digits, lists and mappings inline."""
    if isinstance(x, bool):
        return "yes" if x else "no"
    if x is None:
        return s(x)
    if isinstance(x, float):
        return s(x) if not math.isfinite(x) else f"{x:.4g}"
    if isinstance(x, list | tuple):
        return ", ".join(fmt(v) for v in x)
    if isinstance(x, Mapping):
        return ", ".join(f"{k}={fmt(v)}" for k, v in x.items())
    return str(x)


# estimative words: (lowest probability, word), highest first; the first whose cut the probability reaches
WORDS = ((0.9, "Almost certain"), (0.7, "Very likely"), (0.5, "More likely than not"), (0.3, "Quite possible"),
         (0.1, "Unlikely"), (0.0, "Very unlikely"))


def likelihood_word(p: float | None, words: tuple[tuple[float, str], ...] = WORDS) -> str:
    return "Unknown" if p is None else next((w for cut, w in words if p >= cut), words[-1][1])


def change_phrase(mean: float | None, prior: float | None) -> str:
    """How the forecast stands against the article's prior, as the tail of a sentence."""
    if mean is None or prior is None:
        return ""
    if abs(mean - prior) < 0.05:
        return f", close to the article's {pct(prior)}"
    return f", {'up' if mean > prior else 'down'} from the article's {pct(prior)}"


MINUS = "−"  # U+2212: a minus sign that reads as one


def signed(x: Any, nd: int = 1) -> str:
    """A signed number to ``nd`` decimals with a real minus sign; what rounds to zero reads 0 (never -0 or +0)."""
    v = num(x)
    if v is None:
        return DASH
    r = round(v, nd)
    if r == 0:
        return f"{0:.{nd}f}"
    return f"{'+' if r > 0 else MINUS}{abs(r):.{nd}f}"


def points(x: Any, nd: int = 1) -> str:
    """A change of probability (a difference of two fractions) in percentage points: ``+1.8 pts``."""
    v = num(x)
    return DASH if v is None else f"{signed(100 * v, nd)} pts"
