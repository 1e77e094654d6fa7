"""Simulation-based calibration of the shipped model with simuk (issue #10, check 6). Not run by CI.

    .venv/bin/python bench/sbc.py [--sims 100] [--draws 300] [--out bench/sbc]

Builds the shipped model from the default configuration's inputs (history, polls, the article's
claims as pseudo-observations), lets simuk draw parameters and every observed variable from the prior
predictive, refits each simulated data set with PyMC's NUTS (2 chains) and ranks the reference values
of the hierarchy's top-level parameters and every P(response | action). Writes ``sbc.json`` (chi-square
test per quantity, Bonferroni at 0.01) and ``sbc_ecdf.png`` (arviz-plots' ECDF-PIT of the top level).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import forecast
from forecast.analysis.checks.sbc import TOP_LEVEL, ecdf_figure, rank_tests, run_sbc


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sims", type=int, default=100)
    ap.add_argument("--draws", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=str(Path(__file__).parent / "sbc"))
    ns = ap.parse_args()
    cfg = forecast.compose([])
    inputs = forecast.load_inputs(cfg)
    t0 = time.perf_counter()
    sbc = run_sbc(inputs, num_simulations=ns.sims, draws=ns.draws, tune=ns.draws, seed=ns.seed)
    wall = time.perf_counter() - t0
    res = {"simulations": ns.sims, "draws": 2 * ns.draws, "wall_s": round(wall, 1),
           **rank_tests(sbc.simulations, 2 * ns.draws)}
    out = Path(ns.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "sbc.json").write_text(json.dumps(res, indent=1))
    (out / "sbc_ecdf.png").write_bytes(ecdf_figure(sbc.simulations, TOP_LEVEL))
    print(json.dumps({k: v for k, v in res.items() if k != "tests"}, indent=1))


if __name__ == "__main__":
    main()
