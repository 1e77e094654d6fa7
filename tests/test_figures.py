"""The figures package: one home for matplotlib, one writer, a footer naming a module that exists, every figure
drawn from numbers it is given (no MCMC: small seeded tables)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "forecast"
FIGURES = PACKAGE / "outputs" / "figures"
PNG_SIG = b"\x89PNG\r\n\x1a\n"


def _py(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def test_matplotlib_lives_in_the_figures_package_only():
    """No module outside forecast/outputs/figures imports matplotlib, and only the writer saves a figure: statistics
    first (analysis returns numbers), drawing second (one package, one set of settings, one writer)."""
    outside, savers = [], []
    for path in _py(PACKAGE):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(n.split(".")[0] == "matplotlib" for n in names) and FIGURES not in path.parents:
                outside.append(str(path.relative_to(ROOT)))
            if isinstance(node, ast.Attribute) and node.attr == "savefig":
                savers.append(str(path.relative_to(ROOT)))
    assert outside == [], f"matplotlib imported outside forecast/outputs/figures: {outside}"
    assert sorted(set(savers)) == ["forecast/outputs/figures/write.py"], savers


def test_every_figure_is_stamped_with_its_own_module():
    """Every function of the package that returns a matplotlib Figure stamps it, and names ``__name__``: the
    footer's path is the module's own file, which exists (a moved module cannot leave a stale path behind)."""
    from forecast.outputs.figures.style import module_path

    unstamped = []
    for path in _py(FIGURES):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in [n for n in tree.body if isinstance(n, ast.FunctionDef)]:
            returns = ast.unparse(fn.returns) if fn.returns is not None else ""
            if "Figure" not in returns or path.stem in ("style", "write"):  # the shared helpers draw nothing
                continue
            calls = [c for c in ast.walk(fn) if isinstance(c, ast.Call) and getattr(c.func, "id", "") == "stamp"]
            if not calls:
                unstamped.append(f"{path.name}:{fn.name}")
            assert all(ast.unparse(c.args[2]) == "__name__" for c in calls), f"{path.name}:{fn.name}"
    assert unstamped == []
    module = "forecast.outputs.figures.history"
    assert (ROOT / module_path(module)).is_file()


def _footer(fig) -> str:
    return " ".join(t.get_text() for t in fig.texts if t.get_text().startswith("made by "))


def _made_by_exists(fig) -> None:
    m = re.search(r"made by (\S+)", _footer(fig))
    assert m and (ROOT / m.group(1)).is_file(), _footer(fig)


def test_history_spread_and_sweep_draw_their_numbers():
    from forecast.outputs.figures import analysts, history, sweep, write

    df = pd.DataFrame({"as_of": ["2026-01-16", "2026-02-01"] * 2, "scenario": ["s"] * 4,
                       "response": ["a", "a", "b", "b"], "mean": [0.2, 0.3, 0.6, 0.5]})
    fig = history.history(df, {"E-1": ("2026-01-20", "a poll")}, "s")
    assert sorted(tuple(np.round(line.get_ydata(), 6)) for line in fig.axes[0].get_lines()
                  if len(line.get_ydata()) == 2 and line.get_linestyle() == "-") == [(0.2, 0.3), (0.6, 0.5)]
    _made_by_exists(fig)
    write.png(fig)

    sec = {"pool": "log", "analysts": [{"analyst": "ana"}],
           "rows": [{"label": "A", "pooled_low": 0.2, "pooled_high": 0.6, "article_prior": 0.3, "article": 0.4,
                     "analysts": {"ana": 0.5}, "pooled": 0.45}]}
    fig = analysts.spread(sec, "s")
    _made_by_exists(fig)
    write.png(fig)

    summary = {"sweep": "sw", "n_jobs": 1}
    fig = sweep.summary(summary, [("job000", {"estimates": {"q": {"mean": 0.3, "hdi_low": 0.1, "hdi_high": 0.5}}})])
    _made_by_exists(fig)
    assert write.png(fig).startswith(PNG_SIG)
    assert sweep.summary(summary, []) is None


def test_history_numbers_its_evidence_as_the_report_lists_it_without_overprinting():
    """Evidence entries known on nearby dates (three on one day, one each the next two days) are marked by numbers
    above the plot, the numbers the report's table gives them (by date, then id), and no two labels overlap. The
    first version wrote each id, rotated, at its line: the ids of nearby dates overprinted each other (decisive:
    labels all in one row, or ids at the lines, overlap here)."""
    from forecast.outputs.figures import history, write
    from forecast.outputs.figures.style import style

    df = pd.DataFrame({"as_of": ["2026-01-16", "2026-06-01", "2026-12-01"] * 2, "scenario": ["s"] * 6,
                       "response": ["a"] * 3 + ["b"] * 3, "mean": [0.2, 0.3, 0.35, 0.6, 0.5, 0.55]})
    arrivals = {"E-c": ("2026-01-20", "c"), "E-a": ("2026-01-20", "a"), "E-b": ("2026-01-20", "b"),
                "E-d": ("2026-01-21", "d"), "E-e": ("2026-01-22", "e"), "E-f": ("2026-02-04", "f")}
    assert [(n, e) for n, e, _, _ in history.numbered_arrivals(arrivals)] == [
        (1, "E-a"), (2, "E-b"), (3, "E-c"), (4, "E-d"), (5, "E-e"), (6, "E-f")]
    fig = history.history(df, arrivals, "s", title="A one-time raid")
    assert fig.axes[0].get_title().startswith("A one-time raid\n")  # the scenario's title, not its id
    with style():
        renderer = fig.canvas.get_renderer()
        labels = {t.get_text(): t.get_window_extent(renderer) for t in fig.axes[0].texts}
    assert set(labels) == {"1\u20133", "4", "5", "6"}
    boxes = list(labels.values())
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:]), labels
    title = fig.axes[0].title.get_window_extent(renderer)
    assert not any(b.overlaps(title) for b in boxes)
    write.png(fig)


def test_checks_figures_from_the_checks_numbers():
    """The checks page's figures from the numbers ``run_checks`` leaves to draw: PNG and SVG for each, the same
    bytes twice (the reliability band's bootstrap is seeded)."""
    from forecast.analysis.checks.scores import reliability_bins
    from forecast.outputs.figures.checks import checks_figures

    rng = np.random.default_rng(3)
    claims = pd.DataFrame({"claim": ["c1", "c2"], "id": ["C01", "C02"], "action": ["a", "b"], "response": ["r", "s"],
                           "elicited_low": [0.1, 0.3], "elicited_high": [0.4, 0.7], "prior_low": [0.05, 0.2],
                           "prior_high": [0.5, 0.6], "prior_mean": [0.2, 0.4], "flag": [False, True]})
    counts = pd.DataFrame({"response": ["r", "s"], "cells": [10, 12], "observed": [3, 9], "mean": [3.2, 5.0],
                           "low": [1, 2], "high": [6, 8], "flag": [False, True]})
    p = rng.uniform(0.05, 0.95, 200)
    y = (rng.uniform(size=200) < p).astype(float)
    data = {"prior_claims": (claims,), "ppc_counts": (counts,),
            "loo_k": ([{"episode": "P01", "pareto_k": 0.2}, {"episode": "P02", "pareto_k": 0.9}],),
            "psense_claims": (pd.DataFrame(rng.uniform(size=(3, 2)), index=["r", "s", "t"], columns=["C01", "C02"]),
                              "scen"),
            "reliability": (y, p, reliability_bins(y, p)),
            "backtest": ({"model": {"log_score": 0.5, "brier": 0.17}, "half": {"log_score": 0.69, "brier": 0.25}},)}
    figs = checks_figures(data)
    assert set(figs) == {*data, *(f"{k}.svg" for k in data)}
    assert all(figs[k].startswith(PNG_SIG) for k in data)
    assert checks_figures(data) == figs


def test_memo_keeps_a_figure_with_its_vector_and_redraws_a_damaged_one(tmp_path):
    from forecast import memo

    files = {"forest": PNG_SIG + b"x", "forest.svg": b"<?xml version='1.0'?><svg/>"}
    memo.put_pngs(tmp_path, "figures", "k", files)
    assert memo.get_pngs(tmp_path, "figures", "k") == files
    (tmp_path / "derived" / "figures" / "k-forest.svg").write_bytes(b"\x89PNG not an svg")
    assert memo.get_pngs(tmp_path, "figures", "k") is None


@pytest.mark.parametrize("stem", ["forest", "forest.svg"])
def test_report_folder_names(stem):
    from forecast.outputs.figures import figure_files, file_name

    assert file_name(stem) == ("forest.svg" if stem.endswith(".svg") else "forest.png")
    assert figure_files({"forest": b"", "forest.svg": b""}) == {"forest": "forest.png"}


def test_importing_the_report_path_imports_no_matplotlib():
    """A cached report takes its figures from the memo: the modules on its path import matplotlib only to draw."""
    import subprocess
    import sys

    code = ("import sys, forecast.outputs.report, forecast.outputs.figures, forecast.outputs.render, "
            "forecast.outputs.checks_report, forecast.analysis.replay, forecast.analysis.attribution, "
            "forecast.analysis.checks.run; print(sorted(m for m in sys.modules if m.startswith('matplotlib')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stdout


def test_the_dot_of_a_range_sits_inside_its_own_bars():
    """A probability piled up near 1 with a long tail down (the shape of a likely response): its mean lies outside
    its 50% HDI, so a dot at the mean on a bar of the 50% HDI reads like a bug (the forest figure drew that once). The
    median and the quartiles nest inside any 90% interval by construction, weighted or not: ``summarize`` (the
    report's numbers) gives them, and the page's range draws them nested."""
    import xarray as xr

    from forecast.model import summary
    from forecast.outputs.render.document import Span, range_arg
    from forecast.outputs.render.html_writer import span

    x = 1 - np.random.default_rng(5).beta(0.6, 4, size=(4, 1000))
    da = xr.DataArray(x[..., None], dims=("chain", "draw", "response"), coords={"response": ["r"]})
    lo50, hi50 = (float(v.item()) for v in summary.hdi(da, 0.5))
    mean = float(da.mean())
    assert not lo50 <= mean <= hi50, (mean, lo50, hi50)  # the flaw a mean dot on a 50% HDI bar draws
    for weights in (None, np.random.default_rng(6).dirichlet(np.ones(4000)).reshape(4, 1000)):
        row = summary.summarize(da, 0.9, "response", weights=weights, convergence=False).loc["r"]
        q25, med, q75 = summary.quantiles(da, [0.25, 0.5, 0.75], weights).sel(response="r").values
        assert (row["q25"], row["median"], row["q75"]) == (q25, med, q75)
        assert row["hdi_low"] <= q25 <= med <= q75 <= row["hdi_high"]
        glyph = span(Span("range", "", range_arg("post", row["hdi_low"], row["hdi_high"], med, q25, q75)))
        at = {k: float(v) for k, v in re.findall(r'class="(hdi|mid|dot)" style="left:([0-9.]+)%', glyph)}
        assert at["hdi"] <= at["mid"] <= at["dot"], glyph
