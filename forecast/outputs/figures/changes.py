"""What moved since the last published brief: per response, each cause's part and the total, in percentage points.

The axis is scaled to the change (a one-point move fills the panel, it is not a hairline on a 0-1 axis), each cause
is named in full (wrapped), and the footer states the method the table states.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure

from forecast.outputs.figures import write
from forecast.outputs.figures.style import DOWN_COLOR, UP_COLOR, stamp, style, subplots

TOTAL = "total change"
WRAP = 30  # characters per line of a cause's label


def _label(text: str) -> str:
    return "\n".join(textwrap.wrap(" ".join(str(text).split()), WRAP)) or str(text)


def waterfall(rows: Sequence[Mapping[str, Any]], parts: Sequence[str], method: str = "") -> Figure:
    """``rows``: the change table's rows (response label, previous, current, change and one column per part, all as
    fractions); ``parts``: the causes in the table's order; ``method``: how the parts were found (the footer says
    so). One panel per row, one bar per cause and the total, in points."""
    with style():
        n = max(len(rows), 1)
        height = 1.0 + 0.55 * (len(parts) + 1)
        fig, axes = subplots(n, 1, figsize=(7.2, height * n + 0.4), squeeze=False)
        for ax, row in zip(axes[:, 0], rows, strict=False):
            names = [*parts, TOTAL]
            values = [100 * float(row.get(p) or 0.0) for p in parts] + [100 * float(row.get("change") or 0.0)]
            ys = list(range(len(names)))[::-1]
            colors = [DOWN_COLOR if v < 0 else UP_COLOR for v in values[:-1]] + ["0.3"]
            ax.barh(ys, values, color=colors, height=0.6)
            lim = max(0.5, max(abs(v) for v in values) * 1.35)
            ax.set_xlim(-lim, lim)
            ax.axvline(0, color="0.4", lw=0.8)
            ax.set_yticks(ys, [_label(x) for x in names], fontsize=9)
            for y, v in zip(ys, values, strict=True):
                text = f"{v:+.1f}" if round(v, 1) != 0 else "0.0"
                ax.annotate(text.replace("-", "−"), (v, y), xytext=(4 if v >= 0 else -4, 0),
                            textcoords="offset points", va="center", ha="left" if v >= 0 else "right", fontsize=9)
            prev, cur = 100 * float(row.get("previous") or 0.0), 100 * float(row.get("current") or 0.0)
            ax.set_title(f"{row.get('response')}: {prev:.0f}% → {cur:.0f}%", fontsize=10, loc="left")
            ax.set_xlabel("percentage points", fontsize=9)
        fig.tight_layout(rect=(0, 0.05, 1, 1))
        how = method or "attribution by refitting each step"
        stamp(fig, f"forecast: what moved since the last published brief ({how})", __name__)
    return fig


def files(rows: Sequence[Mapping[str, Any]], parts: Sequence[str], method: str = "") -> dict[str, bytes]:
    """The waterfall's files, ``changes`` (PNG) and ``changes.svg``."""
    return write.files("changes", waterfall(rows, parts, method))
