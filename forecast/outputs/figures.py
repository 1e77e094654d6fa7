"""Report figures as PNG bytes: forest plot, prior vs posterior, scenario heatmap.

Drawing only: the statistics come from ``pred``/``prior_pred`` (the scenario's predictive draws) and from the
report data dict. Every figure carries a footer naming the command and inputs that produced it. Matplotlib runs
on the Agg backend with math-text parsing off, so labels from data files are drawn literally (a ``$`` in a label
is a dollar sign, never TeX). Output is deterministic: no randomness, no timestamps in the PNG metadata.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Mapping
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

DPI = 100
MAX_LABEL = 60
POST_COLOR = "#1f5fa8"
PRIOR_COLOR = "#8c8c8c"
SHADE_COLOR = "#eef2f8"
CURRENT_COLOR = "#d62728"
RC = {"text.parse_math": False, "font.size": 10, "axes.titlesize": 12, "figure.titlesize": 13,
      "svg.hashsalt": "forecast"}

__all__ = ["make_figures"]


def make_figures(data: dict[str, Any], pred: xr.Dataset, prior_pred: xr.Dataset, inputs: Any = None,
                 ) -> dict[str, bytes]:
    """PNG bytes keyed by file stem: ``forest``, ``prior_posterior`` and ``heatmap``.

    ``pred`` and ``prior_pred`` hold one scenario's draws (dims chain, draw, scenario, response); ``inputs`` is
    only consulted for response labels that ``data["responses"]`` lacks, and may be None.
    """
    labels = _labels(data, inputs)
    hdi_prob = float(data.get("hdi_prob", 0.9))
    footer = _footer(data)
    post = _one_scenario(pred["p"], data.get("scenario"))
    prior = _one_scenario(prior_pred["p"], data.get("scenario"))
    means = post.mean(("chain", "draw"))
    order = [str(r) for r in means.sortby(means, ascending=False)["response"].values]
    out: dict[str, bytes] = {}
    with plt.rc_context(RC):
        out["forest"] = _png(_forest(post, order, labels, hdi_prob, data, footer))
        out["prior_posterior"] = _png(_prior_posterior(post, prior, order, labels, hdi_prob, data, footer))
        out["heatmap"] = _png(_heatmap(data, labels, footer))
    return out


# ---------------------------------------------------------------------- helpers
def _clip(text: Any, n: int = MAX_LABEL) -> str:
    s = " ".join(str(text).split())
    return s if len(s) <= n else s[: n - 1] + "…"


def _labels(data: Mapping[str, Any], inputs: Any) -> dict[str, str]:
    """Response id -> display label: the report data first, then the ontology, then the id itself."""
    labels: dict[str, str] = {}
    ont = getattr(inputs, "ontology", None)
    table = getattr(ont, "responses", None)
    if table is not None and "label" in getattr(table, "columns", ()):
        labels.update({str(k): str(v) for k, v in table["label"].items()})
    for r in data.get("responses", []):
        if r.get("label"):
            labels[str(r["response"])] = str(r["label"])
    return labels


def _display(ids: list[str], labels: Mapping[str, str]) -> list[str]:
    """Clipped, unique display labels (duplicates get their id appended)."""
    shown = [_clip(labels.get(i, i)) for i in ids]
    seen: dict[str, int] = {}
    for s in shown:
        seen[s] = seen.get(s, 0) + 1
    return [s if seen[s] == 1 else _clip(f"{s} [{i}]", MAX_LABEL + 30) for s, i in zip(shown, ids, strict=True)]


def _footer(data: Mapping[str, Any]) -> str:
    cmd = _clip(data.get("command", "forecast"), 80)
    h = str(data.get("inputs_hash", ""))[:8]
    return f"{cmd} · inputs {h} · as of {_clip(data.get('as_of', '?'), 20)}"


def _title(data: Mapping[str, Any], what: str) -> str:
    return f"{what}\n{_clip(data.get('title') or data.get('scenario', ''), 90)}"


def _one_scenario(da: xr.DataArray, name: Any) -> xr.DataArray:
    if "scenario" not in da.dims:
        return da
    if name is not None and name in da["scenario"].values:
        return da.sel(scenario=name, drop=True)
    return da.isel(scenario=0, drop=True)


def _png(fig: Figure) -> bytes:
    """Rasterize at ``DPI`` and quantize to a 256-colour palette PNG (flat plots lose nothing; files shrink ~3x)."""
    from PIL import Image

    try:
        fig.set_dpi(DPI)
        fig.canvas.draw()
        rgba = np.asarray(fig.canvas.buffer_rgba())
        im = Image.fromarray(rgba[..., :3].copy(), mode="RGB")
    finally:
        plt.close(fig)
    pal = im.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    pal.save(out, format="PNG", compress_level=6)
    return out.getvalue()


def _fit_left(fig: Figure, ax: Any, *, pad: float = 0.15, floor: float = 0.05) -> float:
    """Left margin (figure fraction) that just fits the y tick labels of ``ax``."""
    renderer = fig.canvas.get_renderer()
    widths = [t.get_window_extent(renderer).width for t in ax.get_yticklabels() if t.get_text()]
    inches = (max(widths) / fig.dpi if widths else 0.0) + pad
    return float(min(0.6, max(floor, inches / fig.get_figwidth())))


def _finish(fig: Figure, data: Mapping[str, Any], what: str, footer: str, *, top: float) -> None:
    fig.suptitle(_title(data, what), x=0.01, ha="left", y=0.985, va="top")
    fig.text(0.01, 0.008, footer, fontsize=8, color="0.35", ha="left", va="bottom")
    fig.text(0.99, 0.008, "made by forecast/figures.py", fontsize=8, color="0.55", ha="right", va="bottom")
    fig.subplots_adjust(top=top)


def _fig_height(n_rows: int) -> float:
    return float(np.clip(1.9 + 0.34 * n_rows, 4.0, 14.0))


# ---------------------------------------------------------------------- forest
def _forest(post: xr.DataArray, order: list[str], labels: Mapping[str, str], hdi_prob: float,
            data: Mapping[str, Any], footer: str) -> Figure:
    import arviz as az

    shown = _display(order, labels)
    p = post.sel(response=order).assign_coords(response=shown)
    tree = xr.DataTree.from_dict({"posterior": xr.Dataset({"p": p})})
    n = len(order)
    pc = az.plot_forest(
        tree, backend="matplotlib", ci_kind="hdi", ci_probs=[0.5, hdi_prob], combined=True,
        point_estimate="mean", labels=["response"],
        visuals={"labels": {"horizontal_align": "right"}, "point_estimate": {"color": POST_COLOR},
                 "trunk": {"color": POST_COLOR}, "twig": {"color": POST_COLOR}},
        figure_kwargs={"figsize": (11, _fig_height(n)), "width_ratios": [1.0, 1.3], "layout": "none"},
    )
    fig = pc.viz["figure"].item()
    ax_lab, ax = fig.axes[0], fig.axes[-1]
    ys = sorted(t.get_position()[1] for t in ax_lab.texts)
    for i, y in enumerate(reversed(ys)):
        if i % 2:
            for a in (ax_lab, ax):
                a.axhspan(y - 0.5, y + 0.5, color=SHADE_COLOR, zorder=0, lw=0)
    ax_lab.set_xlim(-1.0, 0.02)
    ax_lab.set_xticks([])
    ax_lab.set_xlabel("")
    for side in ("bottom", "left", "top", "right"):
        ax_lab.spines[side].set_visible(False)
    ax.set_xlim(-0.02, 1.02)
    ax.set_xticks(np.linspace(0, 1, 6), [f"{v:.0%}" for v in np.linspace(0, 1, 6)])
    ax.axvline(0.5, color="0.6", lw=0.8, ls="--", zorder=0.5)
    ax.set_xlabel(f"probability   (dot: mean · thick bar: 50% HDI · thin bar: {hdi_prob:.0%} HDI)")
    fig.subplots_adjust(left=0.01, right=0.98, bottom=0.55 / fig.get_figheight() + 0.06, wspace=0.0)
    _finish(fig, data, "Probability of each Mexican response, sorted by posterior mean", footer,
            top=1 - 0.75 / fig.get_figheight())
    return fig


# ---------------------------------------------------------------------- prior vs posterior
def _prior_posterior(post: xr.DataArray, prior: xr.DataArray, order: list[str], labels: Mapping[str, str],
                     hdi_prob: float, data: Mapping[str, Any], footer: str) -> Figure:
    import arviz as az

    n = len(order)
    shown = _display(order, labels)
    fig, ax = plt.subplots(figsize=(11, _fig_height(n)), layout="none")
    y = np.arange(n)[::-1].astype(float)
    off = 0.17
    for k, (rid, yy) in enumerate(zip(order, y, strict=True)):
        if k % 2:
            ax.axhspan(yy - 0.5, yy + 0.5, color=SHADE_COLOR, zorder=0, lw=0)
        for da, dy, color, face, name in ((prior, off, PRIOR_COLOR, "white", "article prior"),
                                          (post, -off, POST_COLOR, POST_COLOR, "posterior")):
            if rid not in da["response"].values:
                continue
            draws = da.sel(response=rid)
            lo, hi = (float(v) for v in az.hdi(draws, prob=hdi_prob).values)  # the same HDI as the tables
            mean = float(draws.mean())
            ax.plot([lo, hi], [yy + dy] * 2, color=color, lw=2.2, solid_capstyle="butt", zorder=2,
                    label=f"{name}: mean and {hdi_prob:.0%} HDI" if k == 0 else None)
            ax.plot([mean], [yy + dy], "o", ms=6.5, mfc=face, mec=color, mew=1.6, zorder=3)
        if rid in prior["response"].values:
            a, b = float(prior.sel(response=rid).mean()), float(post.sel(response=rid).mean())
            if abs(b - a) >= 0.05:
                ax.annotate("", xy=(b, yy), xytext=(a, yy), zorder=1,
                            arrowprops={"arrowstyle": "->", "color": "0.45", "lw": 0.9, "shrinkA": 4, "shrinkB": 4})
    ax.set_yticks(y, shown)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlim(-0.02, 1.02)
    ax.set_xticks(np.linspace(0, 1, 6), [f"{v:.0%}" for v in np.linspace(0, 1, 6)])
    ax.axvline(0.5, color="0.6", lw=0.8, ls="--", zorder=0.5)
    ax.tick_params(axis="y", length=0)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel("probability   (arrow: from the article's prior mean to the posterior mean)")
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=2, frameon=False, fontsize=9, borderaxespad=0.2)
    fig.subplots_adjust(left=_fit_left(fig, ax), right=0.98, bottom=0.55 / fig.get_figheight() + 0.06)
    _finish(fig, data, "What history and evidence did to the article's priors (grey: article only; blue: posterior)",
            footer, top=1 - 1.0 / fig.get_figheight())
    return fig


# ---------------------------------------------------------------------- heatmap
def _heatmap(data: Mapping[str, Any], labels: Mapping[str, str], footer: str) -> Figure:
    table: Mapping[str, Mapping[str, Any]] = data.get("all_scenarios") or {}
    current = str(data.get("scenario", ""))
    scen = [str(s) for s in table]
    if current and current not in scen:
        scen.append(current)
    order = [str(r["response"]) for r in data.get("responses", [])]
    for s in scen:
        for r in table.get(s, {}):
            if str(r) not in order:
                order.append(str(r))
    cur_means = {str(r["response"]): r.get("mean") for r in data.get("responses", [])}
    cur_means.update({str(k): v for k, v in table.get(current, {}).items()})
    order.sort(key=lambda r: -_num(cur_means.get(r)) if np.isfinite(_num(cur_means.get(r))) else 1.0)
    z = np.array([[_num(table.get(s, {}).get(r, cur_means.get(r) if s == current else None)) for s in scen]
                  for r in order], dtype=float).reshape(len(order), len(scen))
    n_r, n_s = z.shape
    fig, ax = plt.subplots(figsize=(max(7.5, 4.6 + 1.05 * n_s), _fig_height(n_r)), layout="none")
    if n_r and n_s:
        ax.imshow(np.ma.masked_invalid(z), cmap="Blues", vmin=0, vmax=1, aspect="auto", interpolation="nearest")
        for i in range(n_r):
            for j in range(n_s):
                v = z[i, j]
                txt, col = ("–", "0.4") if not np.isfinite(v) else (f"{v:.0%}", "white" if v > 0.6 else "black")
                bold = "bold" if scen[j] == current else "normal"
                ax.text(j, i, txt, ha="center", va="center", fontsize=9, color=col, fontweight=bold)
        if current in scen:
            j = scen.index(current)
            ax.add_patch(Rectangle((j - 0.5, -0.5), 1, n_r, fill=False, ec=CURRENT_COLOR, lw=2.5,
                                                      zorder=4, clip_on=False))
    ax.set_yticks(range(n_r), _display(order, labels))
    xt = [textwrap.fill(_clip(s.replace("_", " "), 40), 14) + ("\n(this report)" if s == current else "")
          for s in scen]
    ax.set_xticks(range(n_s), xt, rotation=0, fontsize=9, va="bottom")
    ax.xaxis.tick_top()
    for t, s in zip(ax.get_xticklabels(), scen, strict=True):
        if s == current:
            t.set_color(CURRENT_COLOR)
            t.set_fontweight("bold")
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    h = fig.get_figheight()
    top = 1 - 1.55 / h
    fig.subplots_adjust(left=_fit_left(fig, ax), right=0.98, bottom=0.45 / h, top=top)
    _finish(fig, data, "Posterior mean probability of each response under every scenario", footer, top=top)
    return fig


def _num(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")
