"""Small matplotlib figures for the checks report (the library plots live with their checks)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", dpi=100)
    _plt().close(fig)
    return buf.getvalue()


def claims_figure(claims: pd.DataFrame) -> bytes:
    plt = _plt()
    if claims is None or not len(claims):
        fig, ax = plt.subplots(figsize=(4, 1))
        ax.text(0.5, 0.5, "no cell claims", ha="center")
        ax.axis("off")
        return _png(fig)
    c = claims.iloc[::-1].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(c) + 1.2))
    y = np.arange(len(c))
    ax.hlines(y + 0.15, c["elicited_low"], c["elicited_high"], color="tab:orange", lw=3, label="claim's elicited 90%")
    ax.hlines(y - 0.15, c["prior_low"], c["prior_high"], color="tab:blue", lw=3, label="article-only prior 90%")
    ax.plot(c["prior_mean"], y - 0.15, "o", color=np.where(c["flag"], "red", "tab:blue").tolist()[0], ms=3)
    ax.set_yticks(y, [f"{r.claim} ({r.id}): {r.action} / {r.response}" for r in c.itertuples()], fontsize=6)
    ax.set_xlim(0, 1)
    ax.set_xlabel("P(response | action) at the article's reference opinion")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title("Prior predictive check: does the article-only fit honour each claim?", fontsize=9)
    return _png(fig)


def pareto_k_figure(per_episode: list[dict[str, Any]]) -> bytes:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 2.6))
    k = [p["pareto_k"] for p in per_episode]
    ax.scatter(range(len(k)), k, c=["red" if v > 0.7 else "tab:blue" for v in k], s=14)
    ax.axhline(0.7, color="red", lw=0.8, ls="--")
    ax.set_xticks(range(len(k)), [p["episode"] for p in per_episode], rotation=90, fontsize=6)
    ax.set_ylabel("Pareto k")
    ax.set_title("PSIS-LOO over episodes: Pareto k per episode (> 0.7: influential)", fontsize=9)
    return _png(fig)


def psense_figure(per_claim: pd.DataFrame, scenario: str) -> bytes:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 0.28 * len(per_claim) + 2))
    im = ax.imshow(per_claim.to_numpy(), aspect="auto", cmap="viridis")
    ax.set_yticks(range(len(per_claim)), per_claim.index, fontsize=6)
    ax.set_xticks(range(per_claim.shape[1]), per_claim.columns, rotation=90, fontsize=6)
    fig.colorbar(im, ax=ax, label="power-scaling sensitivity (CJS distance)")
    ax.set_title(f"{scenario}: sensitivity of each response to each claim power-scaled alone", fontsize=9)
    return _png(fig)


def reliability_png(y: np.ndarray, p: np.ndarray) -> bytes:
    from forecast.analysis.checks.scores import reliability_figure

    return reliability_figure(y, p, "Back-test reliability (CORP/PAV); numbers: cells per bin")


def backtest_figure(table: dict[str, dict[str, float]]) -> bytes:
    plt = _plt()
    names = list(table)
    fig, axes = plt.subplots(1, 2, figsize=(8, 2.8))
    for ax, key, lab in ((axes[0], "log_score", "mean log score (nats)"), (axes[1], "brier", "mean Brier score")):
        v = [table[n][key] for n in names]
        ax.barh(range(len(names)), v, color=["tab:blue" if n == "model" else "0.6" for n in names])
        ax.set_yticks(range(len(names)), [n.replace("_", " ") for n in names], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel(lab + " (lower is better)", fontsize=8)
    fig.suptitle("Back-test on the same cells (leave-future-out)", fontsize=9)
    return _png(fig)


def plot_collection_png(pc, dpi: int = 90) -> bytes:
    """PNG bytes of an arviz-plots PlotCollection (its savefig takes a path only)."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "fig.png"
        pc.savefig(path, bbox_inches="tight", dpi=dpi)
        return path.read_bytes()
