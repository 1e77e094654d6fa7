"""A finished sweep's summary figure: mean and HDI of the quantities that move most, one panel each, one row per
job's result (red: its diagnostics failed)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from matplotlib.figure import Figure

from forecast.outputs.figures.style import stamp, style, subplots

MAX_PANELS = 8


def summary(summary: Mapping[str, Any], rows: list[tuple[str, Mapping[str, Any]]]) -> Figure | None:
    """``rows``: (label, result) per job's result with ``estimates: {quantity: {mean, hdi_low, hdi_high}}``."""
    if not rows:
        return None
    quantities = sorted({q for _, r in rows for q in r["estimates"]})

    def spread(q: str) -> float:
        means = [r["estimates"][q]["mean"] for _, r in rows if q in r["estimates"]
                 and r["estimates"][q]["mean"] is not None]
        return (max(means) - min(means)) if means else -1.0

    shown = sorted(quantities, key=lambda q: (-spread(q), q))[:MAX_PANELS]
    ncol = min(4, len(shown))
    nrow = math.ceil(len(shown) / ncol)
    height = max(2.5, 0.28 * len(rows) + 1.2)
    with style():
        fig, axes = subplots(nrow, ncol, figsize=(3.2 * ncol + 2.5, height * nrow), sharey=True, squeeze=False)
        ys = list(range(len(rows)))
        for ax, q in zip(axes.ravel(), shown, strict=False):
            for y, (_, r) in zip(ys, rows, strict=True):
                e = r["estimates"].get(q)
                if not e or e["mean"] is None:
                    continue
                ok = r.get("diagnostics_ok", True)
                ax.plot([e["hdi_low"], e["hdi_high"]], [y, y], color="0.35" if ok else "tab:red", lw=2)
                ax.plot([e["mean"]], [y], "o", color="black" if ok else "tab:red", ms=4)
            ax.set_title(q, fontsize=9)
            ax.set_xlim(0, 1)
            ax.grid(axis="x", alpha=0.3)
        for ax in axes.ravel()[len(shown):]:
            ax.set_visible(False)
        axes[0, 0].set_yticks(ys, [label for label, _ in rows])
        for ax in axes.ravel():
            ax.tick_params(labelsize=8)
            ax.set_ylim(len(rows) - 0.5, -0.5)
        fig.suptitle(f"sweep {summary['sweep']}: {summary['n_jobs']} jobs, mean and HDI "
                     f"(red: diagnostics failed)", fontsize=10)
        fig.tight_layout()
        stamp(fig, f"forecast -m ... (sweep {summary['sweep']})", __name__)
    return fig
