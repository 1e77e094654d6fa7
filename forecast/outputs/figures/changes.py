"""What moved since the last report: a waterfall per response, previous -> each cause's part -> current."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure

from forecast.outputs.figures.style import DOWN_COLOR, UP_COLOR, stamp, style, subplots


def waterfall(rows: Sequence[Mapping[str, Any]], parts: Sequence[str], method: str = "") -> Figure:
    """``rows``: the changes table's rows (response, previous, current and one column per part); ``parts``: the
    causes in the table's order; ``method``: how the parts were found (the footer says so)."""
    with style():
        n = max(len(rows), 1)
        fig, axes = subplots(1, n, figsize=(3.6 * n, 3.4), squeeze=False)
        for ax, row in zip(axes[0], rows, strict=False):
            level = row["previous"]
            xs = ["previous"]
            ax.bar(0, level, color="0.7")
            for i, part in enumerate(parts, start=1):
                v = row.get(part, 0.0) or 0.0
                ax.bar(i, v, bottom=level, color=DOWN_COLOR if v < 0 else UP_COLOR)
                level += v
                xs.append(part if len(part) <= 18 else part[:16] + "…")
            ax.bar(len(parts) + 1, row["current"], color="0.3")
            xs.append("current")
            ax.set_xticks(range(len(xs)), xs, rotation=60, ha="right", fontsize=6)
            ax.set_ylim(0, 1)
            ax.set_title(row["response"], fontsize=8)
        axes[0][0].set_ylabel("P(response)")
        fig.tight_layout(rect=(0, 0.04, 1, 1))
        how = method or "attribution by refitting each step"
        stamp(fig, f"forecast: what moved since the last report ({how})", __name__)
    return fig
