"""Why the fitted 0.1-0.3 calibration bin is short of events: its cells, by response, action type and kind,
under the fitted and the leave-one-episode-out probabilities, and the consent cells' coding.

    PYTHONPATH=$PWD FORECAST_HOME=$PWD python bench/studies/model-changes-ablation/calibration.py [--variant v6] \
        [--json results/ablation-seed1.json] [--png results/calibration.png]

Reads the per-cell probabilities ablation.py stored (no fit) and the inputs (for each cell's
kind: conditional on a coded threat, or marginal over an uncoded one). Prints markdown tables.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent  # this study: its scripts import each other, its results stay here
ROOT = HERE.parents[2]
sys.path[:0] = [str(ROOT), str(HERE)]

from ablation import attribute_coded  # noqa: E402

LO, HI = 0.1, 0.3


def cell_frame(res: dict, inputs) -> pd.DataFrame:
    from forecast.model.build import observed_cells

    c = pd.DataFrame(res["cells"])
    ep, resp, mask, y, names = observed_cells(inputs.ontology, inputs.episodes.outcomes)
    assert list(names) == list(c["name"]), "the stored cells are not this variant's record"
    c["episode"] = np.array(inputs.episodes.table.index)[ep]
    c["response"] = np.array(inputs.ontology.response_ids)[resp]
    c["action_type"] = inputs.episodes.table["action_type"].to_numpy()[ep]
    c["kind"] = np.where(mask.sum(axis=1) > 0, "marginal over an uncoded threat", "plain or given its threat")
    c["consent_cell"] = np.isin(c["response"], attribute_coded(inputs.ontology))
    c["in_fit"] = (c["p_fit"] >= LO) & (c["p_fit"] < HI)
    c["in_loo"] = (c["p_loo"] >= LO) & (c["p_loo"] < HI)
    return c


def group_table(c: pd.DataFrame, by: str, col: str) -> str:
    g = c.groupby(by).agg(cells=("y", "size"), expected=(col, "sum"), observed=("y", "sum"))
    g = g.sort_values("cells", ascending=False)
    lines = [f"| {by} | cells | expected | observed |", "|---|---:|---:|---:|"]
    lines += [f"| {i} | {r.cells} | {r.expected:.2f} | {int(r.observed)} |" for i, r in g.iterrows()]
    lines.append(f"| total | {int(g.cells.sum())} | {g.expected.sum():.2f} | {int(g.observed.sum())} |")
    return "\n".join(lines)


def moves(c: pd.DataFrame) -> str:
    """Where the cells of the LOO bin end up in the fitted bins, by outcome: the selection an in-sample
    binning makes."""
    inb = c[c["in_loo"]]
    rows = ["| cells with LOO P in 0.1-0.3 | y = 1 | y = 0 |", "|---|---:|---:|"]
    for name, sel in (("fitted P below 0.1", inb["p_fit"] < LO), ("fitted P in 0.1-0.3", inb["in_fit"]),
                      ("fitted P 0.3 or above", inb["p_fit"] >= HI)):
        rows.append(f"| {name} | {int((sel & (inb.y == 1)).sum())} | {int((sel & (inb.y == 0)).sum())} |")
    d1 = (c.p_fit - c.p_loo)[c.y == 1]
    d0 = (c.p_fit - c.p_loo)[c.y == 0]
    rows.append(f"| mean fitted minus LOO P (all cells) | {d1.mean():+.3f} | {d0.mean():+.3f} |")
    return "\n".join(rows)


def figure(c: pd.DataFrame, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 5), dpi=110)
    for yv, colour, label in ((0, "0.55", "did not happen"), (1, "tab:red", "happened")):
        for cons, marker in ((False, "o"), (True, "s")):
            s = c[(c.y == yv) & (c.consent_cell == cons)]
            ax.scatter(s.p_loo, s.p_fit, s=14 if not cons else 22, c=colour, marker=marker, alpha=0.75,
                       label=f"{label}{' (consent cell)' if cons else ''}")
    for v in (LO, HI):
        ax.axvline(v, color="0.8", lw=0.8)
        ax.axhline(v, color="0.8", lw=0.8)
    ax.plot([0, 1], [0, 1], color="0.6", lw=0.8, ls="--")
    ax.set_xlabel("leave-one-episode-out P(cell)")
    ax.set_ylabel("fitted P(cell) (the episode in the fit)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", default="v6")
    ap.add_argument("--json", default=str(HERE / "results" / "ablation-seed1.json"))
    ap.add_argument("--png", default=str(HERE / "results" / "calibration.png"))
    ns = ap.parse_args(argv)
    import forecast

    data = json.loads(Path(ns.json).read_text())
    as_of = dt.date.fromisoformat(data["as_of"])
    res = data["variants"][ns.variant]
    inputs = forecast.load_inputs(forecast.compose([f"as_of={as_of}", *res["overrides"]]), as_of)
    c = cell_frame(res, inputs)
    out = [f"## Calibration bin {LO}-{HI}: {ns.variant} ({res['label']})", ""]

    ont, table = inputs.ontology, inputs.episodes.table
    out += ["### The consent cells' coding", "", "| consent attribute | consent cell 1 | consent cell 0 | blank |",
            "|---|---:|---:|---:|"]
    full = inputs.episodes.outcomes if not res["overrides"] else forecast.load_inputs(
        forecast.compose([f"as_of={as_of}"]), as_of).episodes.outcomes
    for r in attribute_coded(ont):
        attr = ont.responses.at[r, "coded_from"]
        for level in ont.attributes[attr]["levels"]:
            m = table[attr] == level
            v = full.loc[m[m].index, r]
            out.append(f"| {attr} = {level} | {int((v == 1).sum())} | {int((v == 0).sum())} | {int(v.isna().sum())} |")
    out.append("")
    for col, sel, what in (("p_fit", "in_fit", "fitted P"), ("p_loo", "in_loo", "leave-one-episode-out P")):
        b = c[c[sel]]
        out += [f"### Cells with {what} in {LO}-{HI}: {len(b)} cells, expected {b[col].sum():.2f}, "
                f"observed {int(b.y.sum())}", ""]
        for by in ("response", "action_type", "kind", "consent_cell"):
            out += [group_table(b, by, col), ""]
    out += ["### Where the LOO bin's cells sit in the fitted bins (the selection an in-sample binning makes)", "",
            moves(c), ""]
    cal = res["calibration"]
    calo = res["calibration_loo"]
    out += ["### All bins: fitted (predictive P(count <= observed), one factor draw per episode) and LOO", "",
            "| bin | fitted: cells / expected / observed (P) | without consent cells | LOO: cells / expected / "
            "observed (P) | LOO without consent cells |", "|---|---|---|---|---|"]
    for i, b in enumerate(cal["all"]["bins"]):
        cells = []
        for src in (cal["all"], cal["no_consent"], calo["all"], calo["no_consent"]):
            x, p = src["bins"][i], src["predictive"][i]
            cells.append(f"{x['n']} / {x['expected']:.1f} / {x['observed']} ({p['p_le_observed_episode']:.2f})")
        out.append(f"| {b['bin']} | " + " | ".join(cells) + " |")
    text = "\n".join(out)
    print(text)
    figure(c, Path(ns.png), f"{ns.variant}: each coded cell's fitted vs leave-one-episode-out probability")


if __name__ == "__main__":
    main(sys.argv[1:])
