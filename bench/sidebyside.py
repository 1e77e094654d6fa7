"""Side by side: the same command timed on the baseline and on this checkout, in one run, on one machine.

Every benchmark of the speed table (README, "Benchmark") compares two checkouts: the baseline (a checkout of
an earlier commit with its own ``.venv``: ``--base``) and this one. Each side works in its own project home
(``FORECAST_HOME``: the side's own ``conf/`` and ``data/`` copied, its own ``reports/`` and ``.cache/``), so
neither reads the other's caches. Repetitions alternate between the sides (base, new, base, new, ...): both
see the same machine state, and on a shared machine the ratio is what to read first. Each measurement is a
fresh process: wall time (``time.perf_counter`` around it), CPU time and peak resident memory of the process and
its children (``wait4``: the CPU seconds are what a run costs whatever else the machine carries), exit status,
the load averages before and after (``os.getloadavg``, what ``uptime`` prints), and the last progress lines.

    git worktree add ../forecast-base 8dcef99 && (cd ../forecast-base && tools/bootstrap.sh)
    .venv/bin/python bench/cached_report.py --base ../forecast-base

Not a test: nothing fails on a threshold.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dated import results_path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BASELINE_COMMIT = "8dcef99"  # the main commit before the speed work (issue: "At the speed of reading")


@dataclass
class Side:
    """One checkout (with its ``.venv``) and the project homes it runs in."""

    name: str
    checkout: Path
    commit: str = ""

    @property
    def python(self) -> str:
        return str(self.checkout / ".venv" / "bin" / "python")

    @property
    def forecast(self) -> list[str]:
        return [self.python, "-m", "forecast"]

    def home(self, work: Path, label: str = "home", fresh: bool = True) -> Path:
        """A project home of this side: its conf/ and data/ copied, reports/ and .cache/ empty."""
        home = work / self.name / label
        if fresh and home.exists():
            shutil.rmtree(home)
        if not home.exists():
            home.mkdir(parents=True)
            for sub in ("conf", "data"):
                shutil.copytree(self.checkout / sub, home / sub)
            (home / "reports").mkdir()
        return home


@dataclass
class Run:
    side: str
    what: str
    seconds: float
    peak_mb: float
    code: int
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    tail: list[str] = field(default_factory=list)
    out: str = field(default="", repr=False)  # the whole output, kept only when asked for (``full``)
    cpu: float = 0.0  # CPU seconds (user + system) of the process and its children


def commit_of(checkout: Path) -> str:
    try:
        return subprocess.run(["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def timed(cmd: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[float, float, int, str, float]:
    """(wall seconds, peak RSS of the process tree in MB, exit status, output, CPU seconds) of one fresh process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss of wait4: the largest of the process and the children it waited for, in KB on Linux; the CPU time
    # (user + system, the children it waited for included) is what a run costs whatever else the machine carries
    return (seconds, usage.ru_maxrss / 1024, proc.returncode, out.decode("utf-8", "replace"),
            usage.ru_utime + usage.ru_stime)


class Bench:
    """Sides, measurements and the one dated results file of a benchmark run."""

    def __init__(self, name: str, description: str, argv: list[str] | None = None):
        self.name = name
        self.ap = argparse.ArgumentParser(description=description)
        self.ap.add_argument("--base", default=os.environ.get("FORECAST_BASELINE", ""),
                             help=f"a checkout of the baseline (commit {BASELINE_COMMIT}) with its own .venv "
                                  "(or $FORECAST_BASELINE)")
        self.ap.add_argument("--work", default="", help="a folder for the project homes (default: a new one under "
                                                         "/tmp, removed at the end)")
        self.ap.add_argument("--rounds", type=int, default=5)
        self.ap.add_argument("--out", default="", help="results file (default: bench/results/<date>-<name>.json)")
        self._argv = argv
        self.runs: list[Run] = []
        self.notes: dict[str, Any] = {}

    def parse(self):
        self.args = self.ap.parse_args(self._argv)
        if not self.args.base:
            self.ap.error(f"--base: a checkout of the baseline; e.g. git worktree add ../forecast-base "
                          f"{BASELINE_COMMIT} && (cd ../forecast-base && tools/bootstrap.sh)")
        base = Path(self.args.base).resolve()
        if not (base / ".venv" / "bin" / "python").exists():
            self.ap.error(f"--base {base}: no .venv there (run tools/bootstrap.sh in it)")
        self.sides = [Side("base", base, commit_of(base)), Side("new", ROOT, commit_of(ROOT))]
        self.keep_work = bool(self.args.work)
        self.work = Path(self.args.work).resolve() if self.args.work else Path(
            tempfile.mkdtemp(prefix="forecast-bench-"))
        self.work.mkdir(parents=True, exist_ok=True)
        return self.args

    def env(self, home: Path, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FORECAST_")}
        return {**env, "FORECAST_HOME": str(home), **extra}

    def run(self, side: Side, what: str, cmd: list[str], env: dict[str, str], cwd: Path | None = None,
            record: bool = True, full: bool = False) -> Run:
        before = os.getloadavg()
        seconds, peak, code, out, cpu = timed(cmd, env, cwd)
        r = Run(side.name, what, seconds, peak, code, before, os.getloadavg(),
                [ln for ln in out.splitlines() if ln.strip()][-8:], out if full else "", cpu)
        if record:
            self.runs.append(r)
        print(f"{side.name:4s} {what:28s} {seconds:8.2f} s  cpu {cpu:6.2f} s  {peak:7.0f} MB  exit {code}  "
              f"load {before[0]:.1f}->{r.load_after[0]:.1f}", flush=True)
        if code not in (0, 3) and record:
            print("\n".join(r.tail), flush=True)
        return r

    def forecast(self, side: Side, what: str, home: Path, *args: str, record: bool = True, **env: str) -> Run:
        # run inside the home: ``python -m`` puts the working directory first on sys.path, and a checkout there
        # would be imported instead of the side's own installed code
        return self.run(side, what, [*side.forecast, *args], self.env(home, **env), cwd=home, record=record)

    def alternate(self, what: str, homes: dict[str, Path], *args: str, rounds: int) -> dict[str, Run]:
        """``forecast ARGS`` in each side's home: one untimed warm-up per side, then ``rounds`` timed runs
        alternating the sides (base, new, base, ...); each side's last run."""
        for s in self.sides:
            self.forecast(s, "warm-up (untimed)", homes[s.name], *args, record=False)
        last: dict[str, Run] = {}
        for _ in range(rounds):
            for s in self.sides:
                last[s.name] = self.forecast(s, what, homes[s.name], *args)
        return last

    def summary(self) -> dict[str, Any]:
        groups: dict[tuple[str, str], list[Run]] = {}
        for r in self.runs:
            groups.setdefault((r.what, r.side), []).append(r)
        med = {}
        for (what, side), rs in groups.items():
            med.setdefault(what, {})[side] = {
                "median_s": round(statistics.median(r.seconds for r in rs), 3),
                "min_s": round(min(r.seconds for r in rs), 3), "n": len(rs),
                "cpu_median_s": round(statistics.median(r.cpu for r in rs), 3),
                "peak_mb": round(max(r.peak_mb for r in rs), 1),
                "exit": sorted({r.code for r in rs})}
        for d in med.values():
            if "base" in d and "new" in d and d["base"]["median_s"] > 0:
                d["new/base"] = round(d["new"]["median_s"] / d["base"]["median_s"], 3)
        loads = [r.load_before for r in self.runs] + [r.load_after for r in self.runs]
        return {"medians": med, "load_1min": {"min": min(x[0] for x in loads), "max": max(x[0] for x in loads),
                                              "median": statistics.median(x[0] for x in loads)} if loads else {}}

    def write(self) -> Path:
        out = Path(self.args.out) if self.args.out else results_path(self.name)
        doc = {"benchmark": self.name, "date": dt.datetime.now().isoformat(timespec="seconds"),
               "sides": {s.name: {"checkout": str(s.checkout), "commit": s.commit} for s in self.sides},
               "machine": {"cores": os.cpu_count(), "python": sys.version.split()[0],
                           "env_PYTHONDONTWRITEBYTECODE": os.environ.get("PYTHONDONTWRITEBYTECODE")},
               "rounds": self.args.rounds, **self.summary(), "notes": self.notes,
               "runs": [r.__dict__ for r in self.runs]}
        out.write_text(json.dumps(doc, indent=1, default=str) + "\n")
        print(json.dumps({k: doc[k] for k in ("medians", "load_1min")}, indent=1))
        print(f"results: {out}")
        return out

    def done(self) -> Path:
        path = self.write()
        if not self.keep_work:
            shutil.rmtree(self.work, ignore_errors=True)
        return path


def make_reports_state(bench: Bench, side: Side, home: Path, record: bool = False) -> None:
    """What ``make reports`` leaves after the install: the evidence replay, then every scenario's report."""
    bench.forecast(side, "make reports: replay", home, "history", "--replay", record=record)
    bench.forecast(side, "make reports: all scenarios", home, "all_scenarios=true", record=record)
    (home / ".made").write_text("make reports\n")


def made_home(bench: Bench, side: Side) -> Path:
    """The side's project home in the state ``make reports`` leaves (``<work>/<side>/made``): kept in ``--work``
    and reused by the other benchmarks run with the same ``--work`` (bench/make_reports.py leaves it), else made
    here, untimed."""
    home = bench.work / side.name / "made"
    if not (home / ".made").is_file():
        home = side.home(bench.work, "made")
        make_reports_state(bench, side, home)
    return home


def copy_home(src: Path, dst: Path) -> Path:
    """A copy of a project home (conf, data, reports and caches), so a measurement never changes the original."""
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, symlinks=True)
    return dst
