"""Where a fit's time goes, in a fresh process: import, load, build, compile, sampling, diagnostics.

    .venv/bin/python bench/fit_phases.py [--cold]

Uses an empty posterior cache (so it samples); --cold also empties the compile caches.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import time, json, sys
t0 = time.perf_counter()
import forecast
t1 = time.perf_counter()
cfg = forecast.compose([f"paths.cache={sys.argv[1]}"])
inputs = forecast.load_inputs(cfg)
t2 = time.perf_counter()
fitted = forecast.fit(cfg, inputs)
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load_inputs": t2 - t1, "fit_total": t3 - t2, **fitted.timings}))
"""


def main() -> None:
    cold = "--cold" in sys.argv
    work = Path(tempfile.mkdtemp(prefix="forecast-split-"))
    env = dict(os.environ)
    if cold:
        env.update(PYTENSOR_FLAGS=f"base_compiledir={work / 'pytensor'}", NUMBA_CACHE_DIR=str(work / "numba"))
    p = subprocess.run([sys.executable, "-c", CHILD, str(work / "cache")], env=env, capture_output=True, text=True)
    if p.returncode:
        print(p.stderr[-3000:])
        raise SystemExit(p.returncode)
    t = json.loads(p.stdout.strip().splitlines()[-1])
    print("| phase | seconds |\n|---|---|")
    for k, v in t.items():
        print(f"| {k} | {v:.1f} |")


if __name__ == "__main__":
    main()
