"""The analysts' section: where the analysts disagree, per response (the most disputed first)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from forecast.outputs.figures.style import DOWN_COLOR, plt, stamp, style, subplots


def spread(sec: Mapping[str, Any], scenario: str, top: int = 8) -> Figure:
    """Per response: article-only prior, article forecast, each analyst, the pool with its interval. ``sec``: the
    analysts' section of the report data (its ``rows``, ``analysts`` and ``pool``)."""
    with style():
        rows = sec["rows"][:top]
        analysts = [a["analyst"] for a in sec["analysts"]]
        fig, ax = subplots(figsize=(7.5, 0.55 * len(rows) + 2.0))
        colors = plt.get_cmap("tab10")
        y = np.arange(len(rows))[::-1]
        for i, row in enumerate(rows):
            ax.plot([row["pooled_low"], row["pooled_high"]], [y[i]] * 2, color=DOWN_COLOR, lw=2.5, alpha=0.5,
                    label="pool interval" if i == 0 else None)
            ax.scatter(row["article_prior"], y[i], marker="|", s=160, color="0.6",
                       label="article-only prior" if i == 0 else None)
            ax.scatter(row["article"], y[i], marker="o", s=40, facecolors="none", edgecolors="k",
                       label="article forecast" if i == 0 else None)
            for k, a in enumerate(analysts):
                ax.scatter(row["analysts"][a], y[i] + 0.12 * (k - (len(analysts) - 1) / 2), marker="^", s=36,
                           color=colors(k + 1), label=a if i == 0 else None)
            ax.scatter(row["pooled"], y[i], marker="D", s=44, color=DOWN_COLOR,
                       label=f"{sec['pool']} pool" if i == 0 else None)
        ax.set_yticks(y, [r["label"][:42] for r in rows], fontsize=7)
        ax.set_xlim(0, 1)
        ax.set_xlabel("P(response)")
        ax.set_title(f"{scenario}: where the analysts disagree", fontsize=9)
        ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=4, frameon=False)
        fig.tight_layout()
        stamp(fig, "forecast analysts=[...]: analysts' judgements pooled", __name__)
    return fig


def files(sec: Mapping[str, Any], scenario: str) -> dict[str, bytes]:
    """The analysts' figure's files, ``analysts`` (PNG) and ``analysts.svg``."""
    from forecast.outputs.figures import write

    return write.files("analysts", spread(sec, scenario))
