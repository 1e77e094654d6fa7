"""Scale-out: a sweep of 6 scenarios x 4 as-of dates through Hydra's joblib launcher, sharing the
posterior cache safely (one fit per distinct inputs hash, however many jobs need it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from forecast.inputs.config import list_scenarios

pytestmark = pytest.mark.slow

DATES = ["2026-01-16", "2026-02-01", "2026-03-01", "2026-06-01"]  # 3 distinct evidence sets: 3 fits


def test_joblib_sweep_of_scenarios_by_as_of_dates(tmp_path):
    cache, reports = tmp_path / "cache", tmp_path / "reports"
    cmd = [sys.executable, "-m", "forecast", "-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
           f"scenario={','.join(list_scenarios())}", f"as_of={','.join(DATES)}",
           "sampler.draws=150", "sampler.tune=150", "sampler.chains=2",
           f"paths.cache={cache}", f"paths.reports={reports}"]
    env = {**os.environ, "FORECAST_CACHE_DIR": str(cache)}
    p = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1500)
    assert p.returncode in (0, 3), p.stderr[-3000:]  # 150 draws may miss the ESS threshold: 3, reports written
    jobs = sorted(Path(reports / "sweeps").glob("*/job*"))
    assert len(jobs) == 24, [j.name for j in jobs]
    seen = set()
    for j in jobs:
        (scenario_dir,) = [d for d in j.iterdir() if d.is_dir()]
        data = json.loads((scenario_dir / "forecast.json").read_text())
        seen.add((data["scenario"], data["as_of"]))
        assert (scenario_dir / "report.html").is_file()
    assert seen == {(s, d) for s in list_scenarios() for d in DATES}
    posteriors = list((cache / "posteriors").glob("*.nc"))
    assert len(posteriors) == 3, posteriors
    log = (cache / "logs" / "forecast.log").read_text()
    assert log.count("posterior cache miss") == 3, "a hash was sampled twice"
