"""One row of a before/after table for a model change: the figures ``forecast check`` measures, for a configuration.

    .venv/bin/python bench/scorecard.py --label NAME [--only loo,claims,sensitivity,backtest] [overrides ...]
    .venv/bin/python bench/scorecard.py --table [bench/results/<date>-scorecard-<label>.json ...]

Runs ``forecast.check(cfg, only=...)`` for the configuration the Hydra overrides give (e.g.
``model.sigma_cell=0.5``), with the reports in a scratch folder (``.cache/scorecard/<label>``; the posterior, the
fit without the claims and the back-test's refits are ordinary cached fits, so a rerun samples nothing), writes
checks.json's ``scorecard`` to ``bench/results/<date>-scorecard-<label>.json`` and prints the markdown table of
every scorecard result (``--table``: only the table, of the files given or of all of them):

- LOO elpd over episodes (SE) and its difference to the same-action base rate left out the same way, paired per
  episode (SE);
- LOO Spiegelhalter z of the leave-one-episode-out probabilities, on every coded cell and without the cells of a
  response whose coding restates an action attribute (``coded_from`` in data/ontology/responses.csv);
- the published model's back-test on the cells predicted with the article's claims (as of the day before each
  episode), with and without the claims: log score, Brier, the difference (SE over cells), cells and episodes;
- the whole back-test: the published model, the record alone and the same-action base rate;
- PSIS-LOO with minus without the claims, paired per episode (SE);
- power-scaling: published probabilities flagged for prior-data conflict / a dominant prior, of all.

The same numbers are in ``reports/checks/checks.json`` under ``scorecard`` after any ``forecast check``; this
script only runs it with a label and lines the rows up. Nothing is tuned here: it reads fits.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.dated import RESULTS, results_path  # noqa: E402


def _f(x, nd: int = 3) -> str:
    try:
        return f"{float(x):.{nd}f}"
    except (TypeError, ValueError):
        return "—"


def row(label: str, s: dict) -> str:
    vs = s.get("loo_vs_base_rate_action") or {}
    sc = s.get("backtest_since_claims") or {}
    w, wo = sc.get("with_claims") or {}, sc.get("without_claims") or {}
    bt = s.get("backtest") or {}
    cl = s.get("claims_loo") or {}
    ps = s.get("psense") or {}
    since = (f"{_f(w.get('log_score'))} / {_f(wo.get('log_score'))} ({_f(sc.get('log_score_diff'))}, SE "
             f"{_f(sc.get('log_score_diff_se'))}) · {_f(w.get('brier'))} / {_f(wo.get('brier'))} · "
             f"{sc.get('n_cells', '—')} cells / {sc.get('n_episodes', '—')} ep." if sc else "—")
    whole = " · ".join(f"{_f((bt.get(k) or {}).get('log_score'))}/{_f((bt.get(k) or {}).get('brier'))}"
                       for k in ("model", "history_only", "base_rate_action")) if bt else "—"
    return (f"| {label} | {_f(s.get('loo_elpd'), 1)} ({_f(s.get('loo_se'), 1)}) | "
            f"{_f(vs.get('elpd_diff'), 1)} ({_f(vs.get('se'), 1)}) | {_f(s.get('loo_z'), 2)} / "
            f"{_f(s.get('loo_z_without_restating'), 2)} | {since} | {whole} | "
            f"{_f(cl.get('elpd_diff'), 1)} ({_f(cl.get('se'), 1)}) | "
            f"{ps.get('prior_data_conflict', '—')} / {ps.get('strong_prior', '—')} of {ps.get('probabilities', '—')} | "
            f"{s.get('inputs_hash')} |")


def table(files: list[Path]) -> str:
    head = ("| configuration | LOO elpd (SE) | Δ vs same-action base rate (SE) | LOO z: all / without restating cells "
            "| back-test since the claims: log with / without (Δ, SE) · Brier with / without · cells | "
            "whole back-test log/Brier: published · record alone · same-action base rate | LOO Δ with − without "
            "claims (SE) | power-scaling: conflict / dominant prior of all | posterior |")
    rows = []
    for f in files:
        r = json.loads(f.read_text())
        rows.append(row(f"{r['label']} ({r['date']})", r["scorecard"]))
    return "\n".join([head, "|" + "---|" * 9, *rows])


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--label", help="a name for this configuration (the result file's name)")
    ap.add_argument("--only", default="loo,claims,sensitivity,backtest")
    ap.add_argument("--table", nargs="*", default=None, metavar="FILE", help="print the table only")
    ap.add_argument("overrides", nargs="*")
    ns = ap.parse_args(argv)
    if ns.table is not None:
        files = [Path(f) for f in ns.table] or sorted(RESULTS.glob("*-scorecard-*.json"))
        print(table(files))
        return
    if not ns.label:
        ap.error("--label is required to run a configuration")
    import forecast

    def say(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)

    scratch = ROOT / ".cache" / "scorecard" / ns.label
    cfg = forecast.compose([*ns.overrides, f"paths.reports={scratch}"])
    t0 = time.perf_counter()
    path = forecast.check(cfg, only=[c for c in ns.only.split(",") if c], say=say)
    c = json.loads((path / "checks.json").read_text())
    out = results_path(f"scorecard-{ns.label}")
    out.write_text(json.dumps({"label": ns.label, "script": "bench/scorecard.py", "date": time.strftime("%Y-%m-%d"),
                               "overrides": ns.overrides, "only": ns.only, "as_of": c["as_of"],
                               "seconds": round(time.perf_counter() - t0), "scorecard": c["scorecard"],
                               "sentence": ((c.get("headline") or {}).get("article") or {}).get("sentence")},
                              indent=1) + "\n")
    say(f"written {out.relative_to(ROOT)}")
    print(table(sorted(RESULTS.glob("*-scorecard-*.json"))))


if __name__ == "__main__":
    main(sys.argv[1:])
