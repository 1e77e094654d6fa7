"""Scale-out: a sweep of scenarios x as-of dates through Hydra's joblib launcher, sharing the
posterior cache safely (one fit per distinct inputs hash, however many jobs need it)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from forecast.inputs.config import list_scenarios

# test_cluster.py runs this sweep's checks on its joblib leg (with Ray and submitit beside it): where its
# launchers are installed (CI, the test extra) this one would only sample the same kind of sweep again
CLUSTER_RUNS = all(importlib.util.find_spec(m) is not None
                   for m in ("hydra_plugins.hydra_ray_launcher", "hydra_plugins.hydra_submitit_launcher"))
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CLUSTER_RUNS, reason="tests/test_cluster.py runs this sweep on joblib, Ray and "
                                                      "submitit with the same checks")]

# two scenarios x three dates, two distinct evidence sets (March and June share one): 6 jobs, 2 fits. The
# same sweep on three launchers, with its reuse and exactly-once checks, is tests/test_cluster.py.
SCENARIOS = ["one_time_raid", "sustained_presence"]
DATES = ["2026-01-16", "2026-03-01", "2026-06-01"]


def test_joblib_sweep_of_scenarios_by_as_of_dates(tmp_path):
    cache, reports = tmp_path / "cache", tmp_path / "reports"
    cmd = [sys.executable, "-m", "forecast", "-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
           f"scenario={','.join(SCENARIOS)}", f"as_of={','.join(DATES)}",
           "sampler.draws=150", "sampler.tune=150", "sampler.chains=2",
           f"paths.cache={cache}", f"paths.reports={reports}"]
    env = {**os.environ, "FORECAST_CACHE_DIR": str(cache)}
    p = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1500)
    assert p.returncode in (0, 3), p.stderr[-3000:]  # 150 draws may miss the ESS threshold: 3, reports written
    jobs = sorted(Path(reports / "sweeps").glob("*/job*"))
    assert len(jobs) == len(SCENARIOS) * len(DATES), [j.name for j in jobs]
    seen = set()
    for j in jobs:
        (scenario_dir,) = [d for d in j.iterdir() if d.is_dir()]
        data = json.loads((scenario_dir / "forecast.json").read_text())
        seen.add((data["scenario"], data["as_of"]))
        assert (scenario_dir / "report.html").is_file()
    assert seen == {(s, d) for s in SCENARIOS for d in DATES}
    assert set(SCENARIOS) <= set(list_scenarios())
    posteriors = list((cache / "posteriors").glob("*.nc"))
    assert len(posteriors) == 2, posteriors
    log = (cache / "logs" / "forecast.log").read_text()
    assert log.count("posterior cache miss") == 2, "a hash was sampled twice"
