"""Complete or nothing: interrupt a fresh fit at random moments and check nothing incomplete is kept.

    .venv/bin/python bench/interrupt_safety.py [--trials 10] [--seed 1] [--signal INT|TERM] [--max-delay 60]
                                        [--after "sampling the posterior"] [--out FILE]

Each trial starts a child process that fits the small synthetic model (tests/synthetic.py) into an
empty posterior cache with the CLI's signal handling installed, waits a seeded random delay (from the
child's start: import, compile, tuning and sampling are all hit; or from the moment the child reports the
phase ``--after`` names, e.g. "sampling the posterior", to aim at tuning, sampling and diagnostics, which a
contended compile otherwise hides), sends SIGINT (or SIGTERM), and then
checks the outcome:

- the child ended with 130 (143 for SIGTERM), or was ended by the signal itself when it arrived during
  Python's start-up (before any handler: nothing was written yet), or 0 when the fit finished first;
- with 130/143: no posterior file and no temporary file in the cache folder;
- with 0: the cached file is complete (the configured chains x draws, finite values, its hash).

Prints one JSON line per trial and a summary, and writes the trials' lines to ``--out`` (default
``bench/results/<date>-interrupt-safety.jsonl``); exit status 1 if any trial broke the rule.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dated import results_path

ROOT = Path(__file__).resolve().parents[1]
SAMPLER = {"nuts_sampler": "nutpie", "draws": 500, "tune": 500, "chains": 2, "cores": 1, "target_accept": 0.9}

CHILD = """
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from forecast.cli.main import _install_signals
from forecast.errors import Interrupted
_install_signals()
try:
    from tests.synthetic import simulate_inputs
    from forecast.model.fit import fit
    print("phase: fitting", file=sys.stderr, flush=True)
    f = fit(simulate_inputs(300, seed=3), json.loads(sys.argv[3]), 11, Path(sys.argv[1]),
            notify=lambda m: print("phase:", m, file=sys.stderr, flush=True))
    print("phase: done", f.inputs_hash, file=sys.stderr, flush=True)
except KeyboardInterrupt as e:
    sys.exit(getattr(e, "exit_code", 130))
"""


def child(cache: Path, env: dict[str, str], sampler: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CHILD, str(cache), str(ROOT), json.dumps(sampler or SAMPLER)],
                            env=env, stderr=subprocess.PIPE, text=True)


def check(cache: Path, code: int, expect: int, sampler: dict | None = None) -> str | None:
    """What broke the rule (None when the outcome is honest)."""
    sys.path.insert(0, str(ROOT))
    from forecast.model.cache import read as _read

    files = sorted(p for p in (cache / "posteriors").glob("*") if not p.name.endswith(".lock")) \
        if (cache / "posteriors").is_dir() else []
    if code in (expect, -(expect - 128)):  # -N: the signal arrived during Python's start-up, before any handler
        return f"left {[p.name for p in files]}" if files else None
    if code == 0:
        nc = [p for p in files if p.suffix == ".nc"]
        if len(nc) != 1 or len(files) != 1:
            return f"exit 0 but the cache holds {[p.name for p in files]}"
        idata, problem = _read(nc[0], nc[0].stem, sampler or SAMPLER)
        return problem
    return f"exit {code}"


def trial(delay: float, sig: int, env: dict[str, str], after: str | None = None) -> dict:
    with tempfile.TemporaryDirectory(prefix="forecast-interrupt-") as tmp:
        cache = Path(tmp) / "cache"
        t0 = time.monotonic()
        p = child(cache, env)
        early = ""
        if after:
            for line in p.stderr:
                early += line
                if after in line:
                    break
        time.sleep(delay)
        sent = p.poll() is None
        if sent:
            p.send_signal(sig)
        _, err = p.communicate(timeout=600)
        err = early + err
        phases = [ln[7:] for ln in err.splitlines() if ln.startswith("phase: ")]
        problem = check(cache, p.returncode, 128 + sig)
        return {"after": after, "delay": round(delay, 2), "signal_sent": sent, "exit": p.returncode,
                "last_phase": (phases[-1][:60] if phases else "import"), "seconds": round(time.monotonic() - t0, 1),
                "ok": problem is None, "problem": problem, "stderr_tail": None if problem is None else err[-800:]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--signal", choices=["INT", "TERM"], default="INT")
    ap.add_argument("--max-delay", type=float, default=60.0, help="seconds after the child's start (or --after)")
    ap.add_argument("--after", help="count the delay from the child's progress line holding this text")
    ap.add_argument("--out", type=Path, default=None, help="the trials' JSON lines (default: a dated results file)")
    ns = ap.parse_args(argv)
    rng = random.Random(ns.seed)
    sig = getattr(signal, f"SIG{ns.signal}")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    results = []
    for _ in range(ns.trials):
        r = trial(rng.uniform(0.0 if ns.after else 1.0, ns.max_delay), sig, env, ns.after)
        print(json.dumps(r), flush=True)
        results.append(r)
    out = ns.out or results_path("interrupt-safety", ".jsonl")
    out.write_text("".join(json.dumps(r) + "\n" for r in results))
    bad = [r for r in results if not r["ok"]]
    print(json.dumps({"trials": len(results), "broken": len(bad),
                      "exits": sorted({r["exit"] for r in results}),
                      "phases_hit": sorted({r["last_phase"].split(" (")[0] for r in results})}))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
