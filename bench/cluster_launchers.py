"""The same sweep on joblib, local Ray (head + worker node on 127.0.0.1) and submitit's local executor,
each against its own empty posterior cache, so every engine samples every posterior itself.

    python bench/cluster_launchers.py [--draws 100 --tune 100 --chains 2]
        [--out bench/results/DATE-cluster-launchers.json]

Prints and writes wall times, the fits sampled, and per-fit costs (compile, sampling) read from the
sweeps' summaries. The numba/PyTensor compile cache is the user's (shared by all three), as it would be
on a cluster whose nodes share a compile dir. tests/test_cluster.py is the CI version (one shared
posterior cache; checks, not timings).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dated import results_path

ROOT = Path(__file__).resolve().parents[1]
SWEEP = ["as_of=2026-01-16,2026-03-01", "scenario=air_strikes,one_time_raid,repeated_raids"]


def _ray_local():
    spec = importlib.util.spec_from_file_location("ray_local", ROOT / "tools" / "ray_local.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def run(name: str, launcher: list[str], work: Path, sampler: list[str], env: dict[str, str]) -> dict:
    cache, reports = work / name / "cache", work / name / "reports"
    cmd = [sys.executable, "-m", "forecast", "-m", *launcher, *SWEEP, *sampler, f"paths.cache={cache}",
           f"paths.reports={reports}", f"hydra.sweep.dir={cache / 'hydra-multirun' / name}"]
    load0 = os.getloadavg()[0]
    t0 = time.monotonic()
    p = subprocess.run(cmd, cwd=work, env={**env, "FORECAST_CACHE_DIR": str(cache)}, capture_output=True, text=True)
    wall = time.monotonic() - t0
    summary = json.loads((reports / "sweeps" / name / "summary.json").read_text())
    fits = [j["fit"] for j in summary["jobs"] if j.get("fit") and not j["fit"]["from_cache"]]
    return {"launcher": name, "exit": p.returncode, "wall_s": round(wall, 1), "jobs": summary["n_jobs"],
            "fits_sampled": len(fits), "fits": fits, "job_s": [j["seconds"] for j in summary["jobs"]],
            "loadavg_start": round(load0, 1), "loadavg_end": round(os.getloadavg()[0], 1)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--draws", type=int, default=100)
    ap.add_argument("--tune", type=int, default=100)
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--only", nargs="*", default=["joblib", "ray", "submitit"])
    ap.add_argument("--out", type=Path, default=results_path("cluster-launchers"))
    args = ap.parse_args()
    sampler = [f"sampler.draws={args.draws}", f"sampler.tune={args.tune}", f"sampler.chains={args.chains}"]
    env = {**os.environ, "FORECAST_HOME": str(ROOT),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
           "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
    results = []
    with tempfile.TemporaryDirectory(prefix="cluster-bench-") as tmp:
        work = Path(tmp)
        for name in args.only:
            if name == "joblib":
                results.append(run(name, ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"], work, sampler, env))
            elif name == "submitit":
                results.append(run(name, ["hydra/launcher=submitit_local"], work, sampler, env))
            elif name == "ray":
                t0 = time.monotonic()
                with _ray_local().LocalRayCluster(workers=1, cpus=2, env=env) as cluster:
                    up = time.monotonic() - t0
                    r = run(name, ["hydra/launcher=ray_cluster", f"hydra.launcher.ray.init.address={cluster.address}"],
                            work, sampler, env)
                    t1 = time.monotonic()
                r.update(cluster_start_s=round(up, 1), cluster_stop_s=round(time.monotonic() - t1, 1))
                results.append(r)
            print(json.dumps(results[-1]), flush=True)
    out = {"sweep": SWEEP, "sampler": sampler, "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
           "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "results": results}
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
