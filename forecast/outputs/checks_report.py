"""The checks report ``reports/checks/`` (checks.json, checks.html, checks.md, figures) and the short
"How good are these probabilities?" section every scenario report shows (``checks_section``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from forecast.files import atomic_write_dir
from forecast.outputs.render import Span, T, render_html, render_markdown

CHECKS_DIR = "checks"
COMPARATOR_LABELS = {
    "model": "Model (history only, leave-future-out)",
    "base_rate": "(a) base rate of the response among earlier episodes (Laplace)",
    "base_rate_action": "(b) base rate within earlier episodes of the same action type",
    "article_prior": "(c) article-only prior (hindsight for the cells before the article, 2026-01-16)",
    "half": "(d) 0.5",
}


def _f(x: Any, nd: int = 3) -> str:
    try:
        return f"{float(x):.{nd}f}"
    except (TypeError, ValueError):
        return "—"


def _table(headers: list[str], rows: list[list[str]], align: str) -> tuple:
    return ("table", headers, [[[T(c)] for c in r] for r in rows], align)


def checks_document(c: dict[str, Any]) -> list[tuple]:
    b: list[tuple] = [("h1", [T("Are these probabilities any good? Model checks")]),
                      ("p", [Span("muted", f"Data as of {c.get('as_of')} · posterior {c.get('inputs_hash')} · "
                                           f"{c.get('n_episodes')} coded episodes · command: forecast check")])]
    bt = c.get("backtest") or {}
    b.append(("h2", [T("Back-test: each episode predicted from the episodes before it")]))
    if bt.get("ok"):
        b.append(("p", [T(f"{bt['n_cells']} coded cells of {bt['n_predicted_episodes']} episodes (from "
                          f"{bt['first_predicted']} on, ordered by date), each predicted by a fit on the earlier "
                          f"episodes only (PSIS-LFO, {bt['n_refits']} refit(s) at Pareto k > {bt['k_threshold']}). "
                          "The back-test model leaves the article's claims out: the article (2026-01-16) postdates "
                          f"the cells ({bt.get('after_article', 0)} cell(s) are later than it). Lower is better.")]))
        rows = [[COMPARATOR_LABELS.get(k, k), _f(v["log_score"]), _f(v["brier"]), str(v["n"]),
                 _f(bt["murphy"][k]["miscalibration"]), _f(bt["murphy"][k]["discrimination"]),
                 _f(bt["calibration"][k]["z"], 2)] for k, v in bt["table"].items()]
        b.append(_table(["Forecaster", "Log score", "Brier", "Cells", "Miscalibration (MCB)", "Discrimination (DSC)",
                         "Spiegelhalter z"], rows, "lrrrrrr"))
        unc = next(iter(bt["murphy"].values()))["uncertainty"]
        b.append(("p", [T(f"Brier = MCB − DSC + UNC (CORP decomposition; UNC = {_f(unc)}). "
                          "|z| > 2.58 flags miscalibration.")]))
        b.append(("figure", "backtest", "Back-test scores on the same cells"))
        b.append(("figure", "reliability", "Reliability diagram (CORP: PAV-pooled bins, consistency band)"))
        b.append(_table(["Forecast range", "Mean forecast", "Observed frequency", "Cells"],
                        [[f"{_f(x['p_low'], 2)}–{_f(x['p_high'], 2)}", _f(x["mean_forecast"]), _f(x["observed"]),
                          str(x["n"])] for x in bt["reliability_bins"]], "lrrr*"))
    else:
        b.append(("p", [T(f"Not run: {bt.get('reason', 'skipped (--no-backtest)')}.")]))

    pp = c["ppc"]
    b += [("h2", [T("Posterior predictive check per response")]),
          ("p", [T(f"Observed count of coded cells where the response happened against the 90% posterior predictive "
                   f"interval. Flagged: {', '.join(pp['flags']) or 'none'}. LOO-PIT over {pp['n_cells']} cells: "
                   f"KS p = {_f(pp['loo_pit_ks_p'])}.")]),
          _table(["Response", "Cells", "Observed", "Predictive mean", "90% interval", "Flag"],
                 [[r["response"], str(r["cells"]), str(r["observed"]), _f(r["mean"], 1),
                   f"{_f(r['low'], 0)}–{_f(r['high'], 0)}", "OUTSIDE" if r["flag"] else ""] for r in pp["counts"]],
                 "lrrrrl*"),
          ("figure", "ppc_counts", "Observed counts and 90% predictive intervals"),
          ("figure", "loo_pit", "LOO-PIT of every coded cell (arviz-plots)")]

    lo = c["loo"]
    b += [("h2", [T("PSIS-LOO over episodes")]),
          ("p", [T(f"elpd_loo = {_f(lo['elpd'], 1)} (SE {_f(lo['se'], 1)}), p_loo = {_f(lo['p_loo'], 1)}, "
                   f"{lo['n']} episodes, max Pareto k {_f(lo['max_k'], 2)}. Influential (k > 0.7): "
                   f"{', '.join(lo['influential']) or 'none'}.")]),
          _table(["Episode", "elpd_i", "Pareto k"],
                 [[p["episode"], _f(p["elpd_i"], 2), _f(p["pareto_k"], 2)] for p in lo["per_episode"]], "lrr*"),
          ("figure", "loo_k", "Pareto k per episode")]

    pc = c["prior_check"]
    b += [("h2", [T("Prior predictive check against the article")]),
          ("p", [T("The article-only fit's P(response | action), at the article's reference opinion, against each "
                   "claim's elicited 90% range (flag: the prior mean falls outside).")]),
          _table(["Claim", "Action", "Response", "Elicited 90%", "Prior mean", "Prior 90%", "Flag"],
                 [[f"{r['claim']} ({r['id']})", r["action"], r["response"],
                   f"{_f(r['elicited_low'], 2)}–{_f(r['elicited_high'], 2)}", _f(r["prior_mean"], 2),
                   f"{_f(r['prior_low'], 2)}–{_f(r['prior_high'], 2)}", "FLAG" if r["flag"] else ""]
                  for r in pc["claims"]], "lllrrrl"),
          ("figure", "prior_claims", "Article-only prior against each claim's elicited range")]
    if pc["orderings"]:
        b.append(_table(["Ordering claim", "Lower", "Higher", "P(holds) under the prior"],
                        [[f"{r['claim']} ({r['id']})", r["lower"], r["higher"], _f(r["p_holds"], 2)]
                         for r in pc["orderings"]], "lllr"))
    b.append(("p", [T(f"Cells no claim speaks about ({pc['n_unclaimed']} of {pc['n_cells']}) where the article-only "
                      "prior is confidently high (> 0.5) or low (< 0.02), with the part of the linear predictor that "
                      "drives it (logit scale):")]))
    b.append(_table(["Action", "Response", "Prior mean", "Intercept", "Covariates × slopes", "Cell", "Driver"],
                    [[r["action"], r["response"], _f(r["prior_mean"], 2), _f(r["alpha"], 2), _f(r["xbeta"], 2),
                      _f(r["delta"], 2), r["driver"]] for r in pc["unclaimed_flags"]], "llrrrrl"))

    b.append(("h2", [T("Prior sensitivity (power-scaling)")]))
    b.append(("p", [T("Per scenario and response: sensitivity of the probability to power-scaling the article's claims "
                      "(prior) and the history and polls (likelihood), arviz-stats' diagnosis at 0.05, and the three "
                      "claims it depends on most when each is power-scaled alone.")]))
    for scen, s in c["sensitivity"].items():
        rows = []
        for r, v in s["summary"].items():
            tops = ", ".join(f"{n} ({_f(x, 3)})" for n, x in s["top_claims"].get(r, []))
            rows.append([r, _f(v["prior"]), _f(v["likelihood"]), "" if v["diagnosis"] == "✓" else v["diagnosis"], tops])
        b += [("p", [Span("strong", scen)]),
              _table(["Response", "Prior", "Likelihood", "Diagnosis", "Most influential claims"], rows, "lrrlw")]
    b.append(("figure", "psense_claims", "Sensitivity of each response to each claim (configured scenario)"))

    if "sbc" in c:
        s = c["sbc"]
        b += [("h2", [T("Simulation-based calibration (simuk)")]),
              ("p", [T(f"{s['simulations']} simulations, {s['draws']} posterior draws each; chi-square test of "
                       f"{s['n_quantities']} rank histograms (Bonferroni at 0.01): min p = {_f(s['min_p'], 4)}; "
                       f"flagged: {', '.join(s['flags']) or 'none'}.")]),
              ("figure", "sbc_ecdf", "ECDF-PIT of the SBC ranks")]
    else:
        b += [("h2", [T("Simulation-based calibration")]),
              ("p", [T("Not run here (heavy): `forecast check --sbc N` or bench/sbc.py; see "
                       "bench/reports/checks-report.md.")])]

    b.append(("h2", [T("Track record of resolved branches")]))
    for scen, t in c["track_record"].items():
        b.append(("p", [Span("strong", f"{scen}: "), T(t["summary"])]))
    b.append(("p", [Span("muted", "Timings (s): " + ", ".join(f"{k} {v}" for k, v in c.get("timings", {}).items()))]))
    return b


def write_checks(reports: Path, checks: dict[str, Any], figures: dict[str, bytes]) -> Path:
    def fill(tmp: Path) -> None:
        for name, png in figures.items():
            (tmp / f"{name}.png").write_bytes(png)
        (tmp / "checks.json").write_text(json.dumps(checks, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        blocks = checks_document(checks)
        meta = {"title": "Model checks", "scenario": "checks"}
        (tmp / "checks.html").write_text(render_html(meta, figures, blocks=blocks), encoding="utf-8")
        (tmp / "checks.md").write_text(render_markdown(meta, {k: f"{k}.png" for k in figures}, blocks=blocks),
                                       encoding="utf-8")

    return atomic_write_dir(Path(reports) / CHECKS_DIR, fill)


def checks_section(reports: Path, scenario: str) -> tuple[dict[str, Any] | None, bytes | None]:
    """This scenario's headline figures from the last ``forecast check`` (None when never run)."""
    path = Path(reports) / CHECKS_DIR / "checks.json"
    try:
        c = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, None
    sens = (c.get("sensitivity") or {}).get(scenario) or {}
    section = {"as_of": c.get("as_of"), "inputs_hash": c.get("inputs_hash"), "headline": c.get("headline") or {},
               "flags": {r: v.get("diagnosis") for r, v in (sens.get("summary") or {}).items()},
               "top_claims": sens.get("top_claims") or {},
               "track_record": ((c.get("track_record") or {}).get(scenario) or {}).get("summary"),
               "link": f"{CHECKS_DIR}/checks.html"}
    png = Path(reports) / CHECKS_DIR / "reliability.png"
    return section, (png.read_bytes() if png.is_file() else None)
