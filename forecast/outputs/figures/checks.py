"""The checks page's figures (``forecast check``): each draws numbers the checks computed (``ChecksFigureData``);
the LOO-PIT and SBC figures are arviz-plots' own, stamped and written like the others."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from forecast.outputs.figures import write
from forecast.outputs.figures.style import plt, stamp, style, subplots

FOOTER = "forecast check"


def checks_figures(fig_data: Mapping[str, tuple]) -> dict[str, bytes]:
    """PNG (and SVG) bytes by file stem of every check that left numbers to draw: ``fig_data`` maps a stem to the
    arguments of its function in ``DRAW`` (the second value ``forecast.analysis.checks.run.run_checks`` returns)."""
    out: dict[str, bytes] = {}
    for stem, args in fig_data.items():
        with style():
            out |= write.files(stem, DRAW[stem](*args))
    return out


def claims(claims: pd.DataFrame | None) -> Figure:
    """The article-only prior's 90% interval against each cell claim's elicited range."""
    if claims is None or not len(claims):
        fig, ax = subplots(figsize=(4, 1))
        ax.text(0.5, 0.5, "no cell claims", ha="center")
        ax.axis("off")
        stamp(fig, FOOTER, __name__)
        return fig
    c = claims.iloc[::-1].reset_index(drop=True)
    fig, ax = subplots(figsize=(8, 0.3 * len(c) + 1.2))
    y = np.arange(len(c))
    ax.hlines(y + 0.15, c["elicited_low"], c["elicited_high"], color="tab:orange", lw=3, label="claim's elicited 90%")
    ax.hlines(y - 0.15, c["prior_low"], c["prior_high"], color="tab:blue", lw=3, label="article-only prior 90%")
    ax.plot(c["prior_mean"], y - 0.15, "o", color=np.where(c["flag"], "red", "tab:blue").tolist()[0], ms=3)
    ax.set_yticks(y, [f"{r.claim} ({r.id}): {r.action} / {r.response}" for r in c.itertuples()], fontsize=6)
    ax.set_xlim(0, 1)
    ax.set_xlabel("P(response | action) at the article's reference opinion")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title("Prior predictive check: does the article-only fit honour each claim?", fontsize=9)
    stamp(fig, FOOTER, __name__)
    return fig


def pareto_k(per_episode: list[dict[str, Any]]) -> Figure:
    fig, ax = subplots(figsize=(8, 2.6))
    k = [p["pareto_k"] for p in per_episode]
    ax.scatter(range(len(k)), k, c=["red" if v > 0.7 else "tab:blue" for v in k], s=14)
    ax.axhline(0.7, color="red", lw=0.8, ls="--")
    ax.set_xticks(range(len(k)), [p["episode"] for p in per_episode], rotation=90, fontsize=6)
    ax.set_ylabel("Pareto k")
    ax.set_title("PSIS-LOO over episodes: Pareto k per episode (> 0.7: influential)", fontsize=9)
    stamp(fig, FOOTER, __name__)
    return fig


def psense(per_claim: pd.DataFrame, scenario: str) -> Figure:
    fig, ax = subplots(figsize=(9, 0.28 * len(per_claim) + 2))
    im = ax.imshow(per_claim.to_numpy(), aspect="auto", cmap="viridis")
    ax.set_yticks(range(len(per_claim)), per_claim.index, fontsize=6)
    ax.set_xticks(range(per_claim.shape[1]), per_claim.columns, rotation=90, fontsize=6)
    fig.colorbar(im, ax=ax, label="power-scaling sensitivity (CJS distance)")
    ax.set_title(f"{scenario}: sensitivity of each response to each claim power-scaled alone", fontsize=9)
    stamp(fig, FOOTER, __name__)
    return fig


def reliability(y: np.ndarray, p: np.ndarray, bins: list[dict[str, Any]],
                title: str = "Back-test reliability (CORP/PAV); numbers: cells per bin") -> Figure:
    """scoringrules' CORP reliability diagram (consistency band) with the count per PAV bin annotated."""
    from scoringrules.visualization import reliability_diagram

    np.random.seed(0)  # the consistency band's bootstrap uses the global generator
    fig = plt.figure(figsize=(5, 5))
    ax = reliability_diagram(np.asarray(y, dtype=float), np.asarray(p, dtype=float), uncertainty_band="consistency")
    for b in bins:
        ax.annotate(str(b["n"]), (b["mean_forecast"], b["observed"]), fontsize=7, color="0.25",
                    xytext=(3, 3), textcoords="offset points")
    ax.set_title(title, fontsize=9)
    stamp(fig, FOOTER, __name__)
    return fig


def backtest(table: Mapping[str, Mapping[str, float]]) -> Figure:
    names = list(table)
    fig, axes = subplots(1, 2, figsize=(8, 2.8))
    for ax, key, lab in ((axes[0], "log_score", "mean log score (nats)"), (axes[1], "brier", "mean Brier score")):
        v = [table[n][key] for n in names]
        ax.barh(range(len(names)), v, color=["tab:blue" if n == "model" else "0.6" for n in names])
        ax.set_yticks(range(len(names)), [n.replace("_", " ") for n in names], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel(lab + " (lower is better)", fontsize=8)
    fig.suptitle("Back-test on the same cells (leave-future-out)", fontsize=9)
    fig.tight_layout()
    stamp(fig, FOOTER, __name__)
    return fig


def ppc_counts(counts: pd.DataFrame) -> Figure:
    c = counts.iloc[::-1].reset_index(drop=True)
    fig, ax = subplots(figsize=(7, 0.32 * len(c) + 1.2))
    y = np.arange(len(c))
    ax.hlines(y, c["low"], c["high"], color="0.6", lw=4, label="90% predictive interval")
    ax.plot(c["mean"], y, "|", color="0.2", ms=10, label="predictive mean")
    col = np.where(c["flag"], "tab:red", "tab:blue")
    ax.scatter(c["observed"], y, color=col, zorder=3, label="observed count")
    ax.set_yticks(y, [f"{r.replace('_', ' ')} (n={n})" for r, n in zip(c["response"], c["cells"], strict=True)],
                  fontsize=7)
    ax.set_xlabel("coded cells where the response happened")
    ax.set_title("Posterior predictive check per response (red: outside the 90% interval)", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    stamp(fig, FOOTER, __name__)
    return fig


def loo_pit(tree) -> Figure:
    """arviz-plots' LOO-PIT of every coded cell (``tree``: the cells' posterior predictive and observations)."""
    import arviz_plots as azp

    fig = write.collection_figure(azp.plot_loo_pit(tree, var_names=["y"], backend="matplotlib"))
    stamp(fig, FOOTER, __name__)
    return fig


def sbc_ecdf(simulations, var_names: list[str] | None = None) -> Figure:
    """arviz-plots' ECDF-PIT of simuk's SBC ranks."""
    import arviz_plots as azp

    fig = write.collection_figure(azp.plot_ecdf_pit(simulations, var_names=var_names, backend="matplotlib"))
    stamp(fig, "forecast check --sbc", __name__)
    return fig


# file stem -> the function that draws it (the checks page's figure blocks name these stems)
DRAW = {"prior_claims": claims, "ppc_counts": ppc_counts, "loo_pit": loo_pit, "loo_k": pareto_k,
        "psense_claims": psense, "reliability": reliability, "loo_reliability": reliability, "backtest": backtest,
        "sbc_ecdf": sbc_ecdf}
