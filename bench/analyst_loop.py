"""The analyst's loop, side by side in one run (fresh processes, same machine).

    .venv/bin/python bench/analyst_loop.py [--rounds 1] [--out bench/results/DATE-analyst-loop.json]

(a) naive: build the model, `pm.sample()` defaults, `az.summary` (as bench/tool_vs_naive.py)
(w) `forecast scenario=one_time_raid`, compile cache warm, posterior cache empty, article-only prior cached
    (the usual case: the evidence changed, the priors did not)
(w0) the same with the prior cache empty too (every fit paid this before the article-only prior was cached)
(c) the same command again: posterior cached
(p) after a report: `forecast evidence add poll ...` then `forecast scenario=one_time_raid` (PSIS path,
    the report with what moved)
(r) the same with `update=refit` (the exact path), from a copy of the same state
(m) `make reports` after the install: `forecast history --replay` + `forecast all_scenarios=true`,
    posterior and prior caches empty, compile cache warm
Not a test: nothing fails on a threshold; ratios are what is comparable on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dated import results_path  # noqa: E402
from tool_vs_naive import NAIVE, PY, ROOT, last_json, timed  # noqa: E402

POLL = ["poll", "--id", "E-2026-12-bench-poll", "--date-known", "2026-11-20",
        "--source", "https://example.org/poll", "--summary", "Bench poll: El Financiero monthly, 79% oppose US strikes",
        "--pollster", "El Financiero", "--date", "2026-11-18", "--n", "1000", "--share-opposed", "0.79"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--out", default=str(results_path("analyst-loop")))
    ap.add_argument("--skip", default="", help="letters of runs to skip, e.g. m")
    args = ap.parse_args()
    env = {**os.environ}
    work = Path(tempfile.mkdtemp(prefix="forecast-analyst-"))
    fc = [PY, "-m", "forecast"]
    res: dict[str, list[float]] = {}
    detail: dict[str, list] = {}

    def run(key: str, cmd: list[str], **kw) -> str:
        t, out, code = timed(cmd, kw.get("env", env))
        res.setdefault(key, []).append(t)
        detail.setdefault(key, []).append({"exit": code, "tail": [ln for ln in out.splitlines()
                                                                  if ln.startswith("forecast:")][-6:]})
        print(key, f"{t:.1f}s exit {code}", flush=True)
        return out

    # warm the compile cache and build a prior cache (not timed)
    warm = work / "warm"
    timed([*fc, f"paths.cache={warm}", f"paths.reports={work / 'warm-reports'}"], env)
    for rnd in range(args.rounds):
        if "a" not in args.skip:
            out = run("a", [PY, "-c", NAIVE])
            detail["a"][-1]["json"] = last_json(out)
        # (w) prior cached, posterior not
        cw = work / f"w{rnd}"
        shutil.copytree(warm / "priors", cw / "priors")
        rep = work / f"w{rnd}-reports"
        run("w", [*fc, f"paths.cache={cw}", f"paths.reports={rep}", "scenario=one_time_raid"])
        run("c", [*fc, f"paths.cache={cw}", f"paths.reports={rep}", "scenario=one_time_raid"])
        if "0" not in args.skip:
            run("w0", [*fc, f"paths.cache={work / f'w0-{rnd}'}", f"paths.reports={work / f'w0-{rnd}-r'}",
                       "scenario=one_time_raid"])
        # (p) / (r): the same state copied twice, a poll added, the report with what moved
        for key, extra in (("p", []), ("r", ["update=refit"])):
            base = work / f"{key}{rnd}"
            shutil.copytree(cw, base / "cache")
            shutil.copytree(rep, base / "reports")
            shutil.copytree(ROOT / "data", base / "data")
            t0 = time.perf_counter()
            run(f"{key}_add", [*fc, "evidence", "add", "--data-dir", str(base / "data"), *POLL])
            run(f"{key}_report", [*fc, f"paths.cache={base / 'cache'}", f"paths.reports={base / 'reports'}",
                                  f"paths.data={base / 'data'}", "scenario=one_time_raid", *extra])
            res.setdefault(key, []).append(time.perf_counter() - t0)
            data = json.loads((base / "reports" / "one_time_raid" / "forecast.json").read_text())
            detail.setdefault(f"{key}_update", []).append(data.get("update"))
            detail.setdefault(f"{key}_changes", []).append({k: v for k, v in (data.get("changes") or {}).items()
                                                            if k in ("method", "max_pareto_k", "steps")})
        if "m" not in args.skip:
            cm = work / f"m{rnd}"
            t0 = time.perf_counter()
            run("m_replay", [*fc, "history", "--replay", f"paths.cache={cm}", f"paths.reports={cm / 'reports'}"])
            run("m_all", [*fc, f"paths.cache={cm}", f"paths.reports={cm / 'reports'}", "all_scenarios=true"])
            res.setdefault("m", []).append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in res.items()}
    summary = {"rounds": args.rounds, "seconds": res, "median_s": med, "detail": detail,
               "ratios": {"p/r": med["p"] / med["r"] if "r" in med else None,
                          "w/a": med["w"] / med["a"] if "a" in med else None,
                          "w0/a": med["w0"] / med["a"] if "a" in med and "w0" in med else None},
               "machine": {"cores": os.cpu_count(), "python": sys.version.split()[0],
                           "loadavg": os.getloadavg()}}
    Path(args.out).write_text(json.dumps(summary, indent=1, default=str))
    print(json.dumps({k: summary[k] for k in ("median_s", "ratios", "machine")}, indent=1))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
