"""A scenario report's figures: the forest plot and the article's prior against the posterior (all scenarios side by
side are a shaded table of the page: ``forecast.outputs.render.sections.scenario.all_scenarios``).

They draw the report's own numbers (``data["responses"]``: mean, HDI, the article-only prior's mean and HDI) plus the
50% interval the forest shows, computed by the same weighted summary as the tables: for a PSIS-updated report the
dots and bars are the importance-weighted ones the tables print.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from forecast.outputs.figures import REPORT_STEMS, write
from forecast.outputs.figures.style import (
    MAX_LABEL,
    POST_COLOR,
    PRIOR_COLOR,
    SHADE_COLOR,
    clip,
    stamp,
    style,
    subplots,
)

Interval = tuple[float, float]


STEMS = REPORT_STEMS  # the report's figures, in order


def make_figures(data: Mapping[str, Any], inner: Mapping[str, Interval] | None = None,
                 labels: Mapping[str, str] | None = None, *, vector: bool = True,
                 medians: Mapping[str, float] | None = None) -> dict[str, bytes]:
    """PNG bytes keyed by file stem, ``forest`` and ``prior_posterior`` (with ``vector``, their SVG
    under ``<stem>.svg`` too). ``inner``: each response's middle 50% (its quartiles) for the forest's thick bar (left
    out when missing); ``medians``: each response's median, the forest's dot (without them, the mean);
    ``labels``: display labels for response ids the data does not label."""
    out: dict[str, bytes] = {}
    for stem in STEMS:
        out |= files(stem, data, inner, labels, vector, medians)
    return out


def files(stem: str, data: Mapping[str, Any], inner: Mapping[str, Interval] | None = None,
          labels: Mapping[str, str] | None = None, vector: bool = True,
          medians: Mapping[str, float] | None = None) -> dict[str, bytes]:
    """One of ``make_figures``' figures (``stem``: one of ``STEMS``): each is drawn on its own, so a run can draw
    them side by side (``forecast.parallel.Workers``)."""
    shown = {**(labels or {}), **{str(r["response"]): str(r["label"]) for r in data.get("responses", [])
                                  if r.get("label")}}
    with style():
        if stem == "forest":
            fig = forest(data, inner or {}, shown, medians)
        elif stem == "prior_posterior":
            fig = prior_posterior(data, shown)
        else:
            raise ValueError(f"no report figure {stem!r}: one of {', '.join(STEMS)}")
        return write.files(stem, fig, vector=vector)


# ---------------------------------------------------------------------- helpers
def _display(ids: list[str], labels: Mapping[str, str]) -> list[str]:
    """Clipped, unique display labels (duplicates get their id appended)."""
    shown = [clip(labels.get(i, i)) for i in ids]
    seen: dict[str, int] = {}
    for s in shown:
        seen[s] = seen.get(s, 0) + 1
    return [s if seen[s] == 1 else clip(f"{s} [{i}]", MAX_LABEL + 30) for s, i in zip(shown, ids, strict=True)]


def _footer(data: Mapping[str, Any]) -> str:
    cmd = clip(data.get("command", "forecast"), 80)
    h = str(data.get("inputs_hash", ""))[:8]
    return f"{cmd} · inputs {h} · as of {clip(data.get('as_of', '?'), 20)}"


def _num(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def _rows(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The responses with a mean, most probable first (the tables' order)."""
    rows = [r for r in data.get("responses", []) if np.isfinite(_num(r.get("mean")))]
    return sorted(rows, key=lambda r: -_num(r["mean"]))


def _finish(fig: Figure, data: Mapping[str, Any], what: str, *, top: float) -> None:
    fig.suptitle(f"{what}\n{clip(data.get('title') or data.get('scenario', ''), 90)}", x=0.01, ha="left", y=0.985,
                 va="top")
    stamp(fig, _footer(data), __name__)
    fig.subplots_adjust(top=top)


def _fig_height(n_rows: int) -> float:
    return float(np.clip(1.9 + 0.34 * n_rows, 4.0, 14.0))


def _fit_left(fig: Figure, ax: Any, *, pad: float = 0.15, floor: float = 0.05) -> float:
    """Left margin (figure fraction) that just fits the y tick labels of ``ax``."""
    renderer = fig.canvas.get_renderer()
    widths = [t.get_window_extent(renderer).width for t in ax.get_yticklabels() if t.get_text()]
    inches = (max(widths) / fig.dpi if widths else 0.0) + pad
    return float(min(0.6, max(floor, inches / fig.get_figwidth())))


def _rows_axis(fig: Figure, ax: Any, y: np.ndarray, shown: list[str], xlabel: str) -> None:
    """The shared frame of a one-row-per-response plot: labels, 0-100% axis, the 50% line."""
    ax.set_yticks(y, shown)
    ax.set_ylim(-0.7, len(y) - 0.3)
    ax.set_xlim(-0.02, 1.02)
    ax.set_xticks(np.linspace(0, 1, 6), [f"{v:.0%}" for v in np.linspace(0, 1, 6)])
    ax.axvline(0.5, color="0.6", lw=0.8, ls="--", zorder=0.5)
    ax.tick_params(axis="y", length=0)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel(xlabel)
    fig.subplots_adjust(left=_fit_left(fig, ax), right=0.98, bottom=0.55 / fig.get_figheight() + 0.06)


# ---------------------------------------------------------------------- forest
def forest(data: Mapping[str, Any], inner: Mapping[str, Interval], labels: Mapping[str, str],
           medians: Mapping[str, float] | None = None) -> Figure:
    """Per response, most probable first: the median (dot), the middle 50% (thick bar: the quartiles), the report's
    HDI (thin). The three nest by construction: the quartiles hold the median, and any interval of 90% of the
    posterior holds both (so no dot ever sits outside its own bar, as the mean could outside a 50% HDI)."""
    hdi_prob = _num(data.get("hdi_prob", 0.9))
    rows = _rows(data)
    n = len(rows)
    fig, ax = subplots(figsize=(11, _fig_height(n)), layout="none")
    y = np.arange(n)[::-1].astype(float)
    for k, (r, yy) in enumerate(zip(rows, y, strict=True)):
        if k % 2:
            ax.axhspan(yy - 0.5, yy + 0.5, color=SHADE_COLOR, zorder=0, lw=0)
        ax.plot([_num(r.get("hdi_low")), _num(r.get("hdi_high"))], [yy] * 2, color=POST_COLOR, lw=1.2, zorder=2,
                solid_capstyle="butt")
        lo, hi = inner.get(str(r["response"]), (float("nan"), float("nan")))
        ax.plot([lo, hi], [yy] * 2, color=POST_COLOR, lw=4.0, zorder=2.5, solid_capstyle="butt")
        dot = (medians or {}).get(str(r["response"]), _num(r["mean"]))
        ax.plot([dot], [yy], "o", ms=6, mfc="white", mec=POST_COLOR, mew=1.6, zorder=3)
    what = "median · thick bar: middle 50%" if medians else "mean · thick bar: 50% HDI"
    _rows_axis(fig, ax, y, _display([str(r["response"]) for r in rows], labels),
               f"probability   (dot: {what} · thin bar: {hdi_prob:.0%} range, the tables')")
    _finish(fig, data, "Probability of each Mexican response, sorted by posterior mean",
            top=1 - 0.75 / fig.get_figheight())
    return fig


# ---------------------------------------------------------------------- prior vs posterior
def prior_posterior(data: Mapping[str, Any], labels: Mapping[str, str]) -> Figure:
    """Per response: the article-only prior's mean and HDI (grey) above the posterior's (blue), an arrow where the
    mean moved by at least 5 points."""
    hdi_prob = _num(data.get("hdi_prob", 0.9))
    rows = _rows(data)
    n = len(rows)
    fig, ax = subplots(figsize=(11, _fig_height(n)), layout="none")
    y = np.arange(n)[::-1].astype(float)
    off = 0.17
    for k, (r, yy) in enumerate(zip(rows, y, strict=True)):
        if k % 2:
            ax.axhspan(yy - 0.5, yy + 0.5, color=SHADE_COLOR, zorder=0, lw=0)
        for prefix, dy, color, face, name in (("prior_", off, PRIOR_COLOR, "white", "article prior"),
                                              ("", -off, POST_COLOR, POST_COLOR, "posterior")):
            mean = _num(r.get(f"{prefix}mean"))
            if not np.isfinite(mean):
                continue
            ax.plot([_num(r.get(f"{prefix}hdi_low")), _num(r.get(f"{prefix}hdi_high"))], [yy + dy] * 2, color=color,
                    lw=2.2, solid_capstyle="butt", zorder=2,
                    label=f"{name}: mean and {hdi_prob:.0%} HDI" if k == 0 else None)
            ax.plot([mean], [yy + dy], "o", ms=6.5, mfc=face, mec=color, mew=1.6, zorder=3)
        a, b = _num(r.get("prior_mean")), _num(r["mean"])
        if np.isfinite(a) and abs(b - a) >= 0.05:
            ax.annotate("", xy=(b, yy), xytext=(a, yy), zorder=1,
                        arrowprops={"arrowstyle": "->", "color": "0.45", "lw": 0.9, "shrinkA": 4, "shrinkB": 4})
    _rows_axis(fig, ax, y, _display([str(r["response"]) for r in rows], labels),
               "probability   (arrow: from the article's prior mean to the posterior mean)")
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=2, frameon=False, fontsize=9, borderaxespad=0.2)
    _finish(fig, data, "What history and evidence did to the article's priors (grey: article only; blue: posterior)",
            top=1 - 1.0 / fig.get_figheight())
    return fig
