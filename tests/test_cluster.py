"""Sweeps on real cluster engines: the same 6-job sweep through local Ray (a head and a worker node
on 127.0.0.1, started and stopped by the fixture), submitit's local executor (SLURM's submission path
without a scheduler) and joblib; identical summaries, one posterior per distinct inputs hash (sampled, or a
kept PSIS update of the other) however many workers and engines asked for it, finished jobs reused on a rerun,
nothing left behind.
And, fast: what a killed writer leaves is never read and is cleared on the next run."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from forecast.model.cache import clear_stale_writes
from forecast.outputs import sweep as out_sweep
from forecast.outputs.sweep import collect

ROOT = Path(__file__).resolve().parents[1]
# 2 as-of dates with different evidence x 3 scenarios: 6 jobs, 2 distinct posteriors; as_of first, so the
# first two jobs (running at once) ask for the same hash and race for its lock
DATES, SCENARIOS = ["2026-01-16", "2026-03-01"], ["air_strikes", "one_time_raid", "repeated_raids"]
SWEEP = [f"as_of={','.join(DATES)}", f"scenario={','.join(SCENARIOS)}",
         "sampler.draws=100", "sampler.tune=100", "sampler.chains=2"]
N_JOBS, N_HASHES = 6, 2


def comparable(summary: dict) -> dict:
    """What must not depend on the launcher: a sweep's summary without timings, places, the sweep's name and
    reuse flags."""
    out = {k: v for k, v in summary.items() if k not in ("sweep", "n_reused", "path")}
    out["jobs"] = [{k: v for k, v in j.items() if k not in ("seconds", "reused", "where", "fit")}
                   for j in summary["jobs"]]
    return out


def _ray_local():
    spec = importlib.util.spec_from_file_location("ray_local", ROOT / "tools" / "ray_local.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _env(cache: Path) -> dict[str, str]:
    return {**os.environ, "FORECAST_CACHE_DIR": str(cache), "FORECAST_HOME": str(ROOT),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


@pytest.fixture
def ray_cluster(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_ray_launcher")
    mod = _ray_local()
    cluster = mod.LocalRayCluster(workers=1, cpus=2, env=_env(tmp_path / "cache"))
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
        assert cluster.session_pids() == [], "ray processes left running"


def _leftovers(*roots: Path) -> list[Path]:
    return [p for r in roots for p in r.rglob("*") if ".tmp" in p.name or ".old-" in p.name]


@pytest.mark.slow
def test_same_sweep_on_ray_submitit_and_joblib(tmp_path, ray_cluster):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    cache, reports = tmp_path / "cache", tmp_path / "reports"
    env = {**_env(cache), "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}  # the driver, too, stays on 127.0.0.1
    common = [*SWEEP, f"paths.cache={cache}", f"paths.reports={reports}"]
    launchers = {
        "ray": ["hydra/launcher=ray_cluster", f"hydra.launcher.ray.init.address={ray_cluster.address}"],
        "submitit": ["hydra/launcher=submitit_local", "hydra.launcher.timeout_min=20"],
        "joblib": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
    }
    assert all(a.rpartition(":")[0] == "127.0.0.1" for a in ray_cluster.listening()), ray_cluster.listening()
    summaries, seconds = {}, {}
    for name, launcher in launchers.items():
        cmd = [sys.executable, "-m", "forecast", "-m", *launcher, *common,
               f"hydra.sweep.dir={cache / 'hydra-multirun' / name}"]
        t0 = time.monotonic()
        p = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
        seconds[name] = time.monotonic() - t0
        # 100 draws may miss the ESS threshold: exit 3 (reports written, marked) is the sweep's honest status
        assert p.returncode in (0, 3), (name, p.stderr[-4000:])
        summary = json.loads((reports / "sweeps" / name / "summary.json").read_text())
        assert summary["exit_code"] == p.returncode, name
        assert (reports / "sweeps" / name / "summary.png").stat().st_size > 1000
        assert summary["n_jobs"] == N_JOBS and summary["n_failed"] == 0, (name, summary["jobs"])
        assert all(len(j["results"]) == 1 for j in summary["jobs"])
        assert len(summary["distinct_inputs_hashes"]) == N_HASHES, name
        assert summary["varying"] == ["as_of", "scenario"]
        summaries[name] = summary
        if name == "joblib":  # each job wrote its own report, for its own scenario and date
            seen = set()
            for j in sorted((reports / "sweeps" / name).glob("job*")):
                (scenario_dir,) = [d for d in j.iterdir() if d.is_dir()]
                data = json.loads((scenario_dir / "forecast.json").read_text())
                seen.add((data["scenario"], data["as_of"]))
                assert (scenario_dir / "report.html").is_file()
            assert seen == {(s, d) for s in SCENARIOS for d in DATES}, seen
        if name == "ray":
            # the jobs really ran on the cluster, on both of its nodes
            nodes = {j["where"].get("ray_node") for j in summary["jobs"]}
            assert None not in nodes and len(nodes) == 2, nodes
            ray_cluster.stop()
            assert ray_cluster.session_pids() == []
    ray_s = comparable(summaries["ray"])
    assert comparable(summaries["submitit"]) == ray_s
    assert comparable(summaries["joblib"]) == ray_s
    # exactly once: 3 engines x 6 jobs asked for 2 posteriors, all made on the first engine, each either sampled
    # or (the later date, when the earlier date's fit is cached first and its Pareto k allows) a kept PSIS update
    # of the other; a posterior sampled twice shows as a cache miss more than the posteriors sampled
    sampled = list((cache / "posteriors").glob("*.nc"))
    updated = list((cache / "posteriors" / "updates").glob("*.npz"))
    assert 1 <= len(sampled) and len(sampled) + len(updated) == N_HASHES, (sampled, updated)
    log = (cache / "logs" / "forecast.log").read_text()
    assert log.count("posterior cache miss") == len(sampled), "a posterior was sampled twice"

    # rerunning a sweep into its folder reuses every finished job (no fit, no report written again),
    # whichever launcher reruns it (here Hydra's basic one: in process, the cheapest)
    before = {p: p.stat().st_mtime_ns for p in (reports / "sweeps" / "joblib").rglob("forecast.json")}
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, "-m", "forecast", "-m", *common,
                        f"hydra.sweep.dir={cache / 'hydra-multirun' / 'joblib'}"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    seconds["joblib rerun"] = time.monotonic() - t0
    assert p.returncode == summaries["joblib"]["exit_code"], p.stderr[-3000:]
    again = json.loads((reports / "sweeps" / "joblib" / "summary.json").read_text())
    assert again["n_reused"] == N_JOBS and comparable(again) == ray_s
    assert {p: p.stat().st_mtime_ns for p in before} == before
    assert (cache / "logs" / "forecast.log").read_text().count("posterior cache miss") == len(sampled)
    assert _leftovers(cache, reports) == []
    print("\nsweep wall times (s):", {k: round(v, 1) for k, v in seconds.items()})


# ---------------------------------------------------------------------- fast: killed workers, job records
KILLED_WRITER = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    import numpy as np, xarray as xr
    from forecast.model import cache
    path = Path(sys.argv[1])
    def half_then_die(self, tmp, **kw):
        Path(tmp).write_bytes(b"\\x89HDF half a posterior")
        os.kill(os.getpid(), signal.SIGKILL)   # the worker dies mid-write (OOM killer, preemption)
    xr.DataTree.to_netcdf = half_then_die
    cache.check_posterior = lambda *a, **k: None   # this fake posterior is not a complete fit: only the write matters
    ds = xr.Dataset({"p": (("chain", "draw"), np.zeros((1, 2)))})
    cache.save(xr.DataTree.from_dict({"posterior": ds, "prior": ds}), path)
""")


def test_a_killed_writer_leaves_no_cache_file_and_its_temp_file_is_cleared(tmp_path):
    path = tmp_path / "posteriors" / "abc123.nc"
    p = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(path)], env=_env(tmp_path), timeout=120)
    assert p.returncode == -signal.SIGKILL
    assert not path.exists()  # never a half-written posterior under the hash's name
    (tmp,) = path.parent.glob(".abc123.*.tmp")
    other = path.parent / ".zzz999.x.tmp"  # another hash's writer may still be running: not touched
    other.write_bytes(b"")
    clear_stale_writes(path)  # what fit() does holding the hash's lock before it samples again
    assert not tmp.exists() and other.exists()


def test_a_killed_job_is_redone_and_a_finished_one_reused(tmp_path):
    job = tmp_path / "sweeps" / "s" / "job000"
    (job / ".air_strikes.tmp-x1y2").mkdir(parents=True)  # a report folder half built when the job died
    (job / ".air_strikes.tmp-x1y2" / "report.html").write_text("half")
    out_sweep.clear_stale(job)
    assert list(job.iterdir()) == []
    ov = ["as_of=2026-01-16", "scenario=air_strikes"]
    assert out_sweep.finished(job, ov, "h1") is None  # no record: the job runs
    (job / "air_strikes").mkdir()
    (job / "air_strikes" / "forecast.json").write_text("{}")
    out_sweep.record(job, num=0, overrides=ov, code=3, reason="diagnostics failed", inputs_hash="h1",
                     reports=["air_strikes"], seconds=1.0)
    assert out_sweep.finished(job, list(reversed(ov)), "h1")["code"] == 3
    assert out_sweep.finished(job, ov, "h2") is None  # the inputs changed: redo
    assert out_sweep.finished(job, [*ov, "seed=2"], "h1") is None
    (job / "air_strikes" / "forecast.json").unlink()
    assert out_sweep.finished(job, ov, "h1") is None  # a report folder is missing: redo
    out_sweep.record(job, num=0, overrides=ov, code=70, reason="boom", inputs_hash="h1", reports=[], seconds=1.0)
    assert out_sweep.finished(job, ov, "h1") is None  # a failed job is never reused


def test_summary_counts_a_job_that_left_no_result_as_failed(tmp_path):
    sweep = tmp_path / "sweeps" / "s"
    out_sweep.record(sweep / "job000", num=0, overrides=["scenario=air_strikes"], code=0, reason="",
                     inputs_hash="h", reports=[], seconds=1.0)
    (sweep / "job001").mkdir()  # started, killed before it recorded anything
    s = collect(sweep, expected_jobs=[0, 1, 2])  # job 2: its Hydra folder exists, its reports folder not
    assert [j["code"] for j in s["jobs"]] == [0, 70, 70]
    assert s["n_failed"] == 2 and s["exit_code"] == 70
