"""The analyst's wait, measured: from `forecast judgement add` to the pooled report.

Works on a throwaway copy of the project (conf/, data/, the posterior cache), so the checkout is never
touched. Steps, each timed as a separate process the way an analyst runs them:

1. `forecast analysts=[example-hawk,example-dove] pool=linear`   the shipped examples, linear pool
2. `forecast analysts=[example-hawk,example-dove]`               the shipped examples, log pool
3. `forecast judgement add --analyst example-hawk ...`           a new, dated judgement (revises its C33 reading)
4. `forecast analysts=[example-hawk,example-dove]`               the pooled report after: what moved names it

Prints one JSON line and writes it to a dated results file (``bench/results/<date>-judgement-loop.json``):
per step the seconds, and per response of the scenario the article-only prior,
the article's forecast, each example analyst's forecast and the log and linear pools.

    .venv/bin/python bench/judgement_loop.py [--scenario one_time_raid]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dated import results_path

ROOT = Path(__file__).resolve().parents[1]
ANALYSTS = "analysts=[example-hawk,example-dove]"
NEW = ["judgement", "add", "--analyst", "example-hawk", "--id", "J-2026-03-bench-raid-armed",
       "--author", "Example analyst H (hawkish reading; an example, not the tool's view)",
       "--date-made", "2026-03-01", "--revises", "J-2026-02-expulsion-threat",
       "--rationale", "Benchmark judgement: the hawk raises the expulsion threat after a raid further.",
       "--source", "data/evidence/E-2026-01-sof-push-rejected.yaml", "--kind", "cell",
       "--actions", "one_time_raid,repeated_raids,sustained_presence", "--response", "threat_expel_agents",
       "--lower", "0.6", "--upper", "0.9"]


def run(home: Path, args: list[str]) -> float:
    env = {**os.environ, "FORECAST_HOME": str(home), "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "forecast", *args], env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if p.returncode not in (0, 3):
        raise SystemExit(f"{args}: exit {p.returncode}: {p.stderr[-2000:]}")
    return round(dt, 1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", default="one_time_raid")
    ns = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="forecast-judge-") as tmp:
        home = Path(tmp)
        for d in ("conf", "data"):
            shutil.copytree(ROOT / d, home / d)
        if (ROOT / ".cache" / "posteriors").is_dir():  # the article fit an analyst already has
            shutil.copytree(ROOT / ".cache" / "posteriors", home / ".cache" / "posteriors")
        sc = f"scenario={ns.scenario}"
        rep = home / "reports" / ns.scenario / "forecast.json"
        out: dict = {"shipped_examples_linear": run(home, [sc, ANALYSTS, "pool=linear"])}
        lin = {r["response"]: r for r in json.loads(rep.read_text())["analysts"]["rows"]}
        out["shipped_examples_log"] = run(home, [sc, ANALYSTS])
        before = json.loads(rep.read_text())["analysts"]
        out["judgement_add"] = run(home, NEW)
        out["after_log"] = run(home, [sc, ANALYSTS])
        after = json.loads(rep.read_text())["analysts"]
        out["wait_add_to_pooled_report"] = round(out["judgement_add"] + out["after_log"], 1)
        out["pool_seconds_in_run"] = after["seconds"]
        out["methods_shipped"] = {a["analyst"]: a["method"] for a in before["analysts"]} | {
            "log pool": before["pooled_method"]}
        out["methods_after"] = {a["analyst"]: a["method"] for a in after["analysts"]} | {
            "log pool": after["pooled_method"]}
        out["changes_after"] = after.get("changes")
        out["responses_shipped"] = [{"response": r["response"], "article_prior": r["article_prior"],
                                     "article": r["article"], **r["analysts"], "log_pool": r["pooled"],
                                     "log_interval": [r["pooled_low"], r["pooled_high"]],
                                     "linear_pool": lin[r["response"]]["pooled"],
                                     "linear_interval": [lin[r["response"]]["pooled_low"],
                                                         lin[r["response"]]["pooled_high"]],
                                     "moved_most_by": r.get("moved_most_by"),
                                     "moved_most_change": r.get("moved_most_change")} for r in before["rows"]]
        out["responses_after"] = [{"response": r["response"], **r["analysts"], "log_pool": r["pooled"]}
                                  for r in after["rows"]]
        print(json.dumps(out))
        results_path("judgement-loop").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
