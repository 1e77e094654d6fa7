"""Simulation-based calibration of the shipped model with simuk. Not run by CI.

    .venv/bin/python bench/sbc.py [--sims 100] [--chunk 10] [--draws 300] [--out bench/results/DATE-sbc]
    .venv/bin/python bench/sbc.py --combine --out bench/results/DATE-sbc     # tests and figure from its chunks so far

Builds the shipped model from the default configuration's inputs (history, polls, the article's
claims as pseudo-observations), lets simuk draw parameters and every observed variable from the prior
predictive, refits each simulated data set with PyMC's NUTS (2 chains) and ranks the reference values
of the hierarchy's top-level parameters and every P(response | action). The simulations run in
independent chunks (``--chunk`` simulations each, simuk seed ``seed + i`` for chunk ``i``: fresh prior
draws), each saved as ``chunk-<i>.nc`` when it ends, so an interrupted study keeps what it finished and
a rerun continues with the next chunk. Writes ``sbc.json`` (chi-square test per quantity, Bonferroni at
0.01, over all finished chunks) and ``sbc_ecdf.png`` (arviz-plots' ECDF-PIT of the top level).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

import xarray as xr

import forecast
from forecast.analysis.checks.sbc import TOP_LEVEL, rank_tests, run_sbc
from forecast.outputs.figures import write
from forecast.outputs.figures.checks import sbc_ecdf

RESULTS = Path(__file__).resolve().parent / "results"


def combined(out: Path) -> tuple[xr.DataTree, int]:
    """All finished chunks' rank statistics as one simuk result (simulations along ``draw``)."""
    parts = [xr.open_datatree(p)["prior_sbc"].to_dataset().load() for p in sorted(out.glob("chunk-*.nc"))]
    if not parts:
        raise SystemExit(f"no finished chunk in {out}: run bench/sbc.py first")
    ds = xr.concat([p.drop_vars(["chain", "draw"], errors="ignore") for p in parts], dim="draw")
    return xr.DataTree.from_dict({"prior_sbc": ds}), int(ds.sizes["draw"] * ds.sizes.get("chain", 1))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sims", type=int, default=100)
    ap.add_argument("--chunk", type=int, default=10)
    ap.add_argument("--draws", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    # one folder per study (its chunks, tests and figure): today's, or name an earlier one to resume or combine it
    ap.add_argument("--out", default=str(RESULTS / f"{dt.date.today().isoformat()}-sbc"))
    ap.add_argument("--combine", action="store_true", help="only recompute the tests and figure from the chunks")
    ns = ap.parse_args()
    out = Path(ns.out)
    out.mkdir(parents=True, exist_ok=True)
    wall_file = out / "wall.json"
    walls = json.loads(wall_file.read_text()) if wall_file.is_file() else {}
    if not ns.combine:
        cfg = forecast.compose([])
        inputs = forecast.load_inputs(cfg)
        n_chunks = -(-ns.sims // ns.chunk)
        for i in range(n_chunks):
            path = out / f"chunk-{i:03d}.nc"
            if path.is_file():
                continue
            t0 = time.perf_counter()
            sbc = run_sbc(inputs, num_simulations=min(ns.chunk, ns.sims - i * ns.chunk), draws=ns.draws,
                          tune=ns.draws, seed=ns.seed + i)
            tmp = path.with_suffix(".tmp")
            sbc.simulations.to_netcdf(tmp)
            tmp.rename(path)
            walls[path.name] = round(time.perf_counter() - t0, 1)
            wall_file.write_text(json.dumps(walls, indent=1))
            print(f"{path.name}: {walls[path.name]} s", flush=True)
    sims, n = combined(out)
    res = {"simulations": n, "draws": 2 * ns.draws, "wall_s": round(sum(walls.values()), 1),
           "command": "bench/sbc.py " + " ".join(f"--{k} {v}" for k, v in
                                                 (("sims", ns.sims), ("chunk", ns.chunk), ("draws", ns.draws),
                                                  ("seed", ns.seed))),
           **rank_tests(sims, 2 * ns.draws)}
    (out / "sbc.json").write_text(json.dumps(res, indent=1))
    (out / "sbc_ecdf.png").write_bytes(write.png(sbc_ecdf(sims, TOP_LEVEL)))
    print(json.dumps({k: v for k, v in res.items() if k != "tests"}, indent=1))


if __name__ == "__main__":
    main()
