"""The "What if ...?" panel: report size, the panel's response time in headless Chromium, the page's
JavaScript against the Python path on the real report, and the what-if against an exact refit.

    FORECAST_HOME=. .venv/bin/python bench/whatif.py [--scenario one_time_raid] [--rounds 7] [--no-refit]
                                                      [--out bench/results/DATE-whatif.json]

Uses the project's cached posterior (fits it when there is none), writes the scenario's report into a temporary
folder, opens it in Chromium (/usr/bin/chromium) and, per case of hypothetical evidence, times `--rounds`
recomputations of the panel from scratch (the item terms' cache cleared, the table redrawn) and compares every
number with `forecast.analysis.whatif.reweight` on the draws decoded from the page. For the reliable poll and
episode cases (k <= 0.7) it then runs the commands the panel prints, in a copy of the project: the evidence
entries and the exact refit (`update=refit`), and compares each response's probability with the what-if's
(z = difference / sqrt(the what-if's importance-sampling standard error^2 + the refit's MCSE^2); the what-if's
error is inflated by draws / bulk ESS of the thinned draws). Not a test: a refit costs a minute or two.

Last, a report that is itself a PSIS update (`--psis-report-only` runs just this part into the existing JSON):
in a copy of the project with the cache copied, a poll is added and `forecast` reweights the cached posterior;
the panel's "before" (the update on the thinned draws) is compared with the report's headline, and the page's
answer to two items with `forecast whatif --json` run in that copy (a separate process, draws rebuilt).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dated import results_path  # noqa: E402


def _driver(profile: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--window-size=1280,1000", f"--user-data-dir={profile}"):
        opts.add_argument(arg)
    drv = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=opts)
    drv.set_page_load_timeout(120)
    return drv


def _js_item(it) -> dict:
    if it.kind == "poll":
        return {"kind": "poll", "share": str(it.share), "n": str(it.n), "pollster": it.pollster}
    if it.kind == "episode":
        return {"kind": "episode", "action": it.action, "responses": {r: str(v) for r, v in it.responses}}
    return {"kind": "judgement", "action": it.action, "response": it.response, "lower": str(it.lower),
            "upper": str(it.upper), "mass": str(it.mass)}


def _max_diff(js_rows: list[dict], res) -> float:
    t = res.table.set_index(["kind", "id"])
    keys = ("before_mean", "before_low", "before_high", "after_mean", "after_low", "after_high")
    return max(abs(r[k] - t.at[(r["kind"], r["id"]), k]) for r in js_rows for k in keys)


def _se(d, items, inputs, chains: int) -> dict[str, float]:
    """The what-if means' Monte Carlo standard errors: importance sampling (sum w^2 (x - m)^2)^1/2, inflated by
    draws / bulk ESS of the thinned (autocorrelated) draws."""
    from arviz_stats.base import array_stats

    from forecast.analysis import whatif as W
    from forecast.model.psis import psis_weights

    total = np.zeros(d.size) if d.base_log_ratio is None else d.base_log_ratio.astype(float)
    for it in W.check_items(items, d, inputs):
        total = total + W.item_loglik(d, it, inputs)
    w, _, _ = psis_weights(total)
    chains = chains if d.size % chains == 0 else 1  # thin_index keeps chain order: S / chains draws each
    out = {}
    for j, r in enumerate(d.responses):
        x = d.p[:, j].astype(float)
        m = float(w @ x)
        ess = float(array_stats.ess(x.reshape(chains, -1), method="bulk"))
        out[r] = float(np.sqrt(np.sum(w ** 2 * (x - m) ** 2)) * np.sqrt(max(1.0, d.size / ess)))
    return out


def _refit(res, home: Path, cache: Path, scenario: str) -> tuple[dict, float]:
    """Run the printed commands in a copy of the project: the entries, then the exact refit."""
    work = Path(tempfile.mkdtemp(prefix="forecast-whatif-refit-"))
    for sub in ("conf", "data"):
        shutil.copytree(home / sub, work / sub)
    wcache = work / ".cache"
    wcache.mkdir()
    if (cache / "priors").is_dir():  # the article-only prior does not depend on the evidence: reuse it
        shutil.copytree(cache / "priors", wcache / "priors")
    if (cache / "elicit.json").is_file():
        shutil.copy2(cache / "elicit.json", wcache / "elicit.json")
    env = {**os.environ, "FORECAST_HOME": str(work), "PYTHONPATH": str(ROOT)}
    env.pop("FORECAST_CACHE_DIR", None)
    for cmd in res.commands[:-1]:
        subprocess.run([sys.executable, "-m", "forecast", *shlex.split(cmd)[1:]], env=env, check=True, cwd=work)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "forecast", *shlex.split(res.commands[-1])[1:], f"paths.cache={wcache}",
                    f"paths.reports={work / 'reports'}"], env=env, check=True, cwd=work)
    seconds = time.perf_counter() - t0
    data = json.loads((work / "reports" / scenario / "forecast.json").read_text())
    shutil.rmtree(work, ignore_errors=True)
    return data, seconds


def _psis_report(home: Path, cache: Path, scenario: str, drv) -> dict:
    """A report whose posterior is a PSIS update: the panel against the headline and against the CLI."""
    from forecast.analysis import whatif as W
    from forecast.model.psis import psis_weights

    work = Path(tempfile.mkdtemp(prefix="forecast-whatif-psis-"))
    for sub in ("conf", "data"):
        shutil.copytree(home / sub, work / sub)
    for sub in ("posteriors", "priors"):
        shutil.copytree(cache / sub, work / ".cache" / sub)
    shutil.copy2(cache / "elicit.json", work / ".cache" / "elicit.json")
    env = {**os.environ, "FORECAST_HOME": str(work), "PYTHONPATH": str(ROOT)}
    env.pop("FORECAST_CACHE_DIR", None)
    py = [sys.executable, "-m", "forecast"]
    subprocess.run([*py, "evidence", "add", "poll", "--id", "E-BENCH-psis-poll", "--date-known", str(time.strftime(
        "%Y-%m-%d")), "--source", "bench/whatif.py", "--summary", "a poll for the PSIS-update report", "--pollster",
                    "Bench pollster", "--date", str(time.strftime("%Y-%m-%d")), "--n", "1000", "--share-opposed",
                    "0.62"], env=env, check=True, cwd=work)
    subprocess.run([*py, f"scenario={scenario}"], env=env, check=True, cwd=work)
    rep = work / "reports" / scenario
    data = json.loads((rep / "forecast.json").read_text())
    html_text = (rep / "report.html").read_text(encoding="utf-8")
    d = W.from_payload(json.loads(re.search(r'<script type="application/json" id="whatif-data">(.*?)</script>',
                                            html_text, re.S).group(1)))
    w0, k0, ess0 = psis_weights(d.base_log_ratio.astype(float))
    head = {r["response"]: r for r in data["responses"]}
    before = [(abs(float(w0 @ d.p[:, j].astype(float)) - head[r]["mean"]) / max(head[r]["mcse_mean"], 1e-9),
               abs(float(w0 @ d.p[:, j].astype(float)) - head[r]["mean"])) for j, r in enumerate(d.responses)]
    args = ["--poll", "share=0.8,n=800", "--episode", "action=one_time_raid,expel_agents=1"]
    cli = json.loads(subprocess.run([*py, "whatif", f"scenario={scenario}", "--json", *args], env=env, check=True,
                                    cwd=work, capture_output=True, text=True).stdout)
    drv.get((rep / "report.html").as_uri())
    js = drv.execute_script("var r = window.forecastWhatIf.setItems(arguments[0]); return {rows: r.rows, "
                            "k: r.pareto_k, k0: r.before_pareto_k};",
                            [{"kind": "poll", "share": "0.8", "n": "800"},
                             {"kind": "episode", "action": "one_time_raid", "responses": {"expel_agents": "1"}}])
    rows = {(r["kind"], r["id"]): r for r in cli["rows"]}
    keys = ("before_mean", "before_low", "before_high", "after_mean", "after_low", "after_high")
    out = {"update": {k: v for k, v in data["update"].items() if k != "changes"},
           "panel_base_update": data["whatif"]["base_update"], "thinned_update_k": round(k0, 3),
           "thinned_update_ess": round(ess0, 1),
           "panel_before_vs_headline_max_abs_diff": round(max(b for _, b in before), 4),
           "panel_before_vs_headline_max_in_headline_mcse": round(max(a for a, _ in before), 2),
           "page_vs_cli_items": args, "page_vs_cli_max_abs_diff": max(abs(r[k] - rows[(r["kind"], r["id"])][k])
                                                                       for r in js["rows"] for k in keys),
           "page_k": js["k"], "cli_k": cli["pareto_k"]}
    shutil.rmtree(work, ignore_errors=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", default="one_time_raid")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--no-refit", action="store_true")
    ap.add_argument("--out", default=str(results_path("whatif")))
    ap.add_argument("--psis-report-only", action="store_true", help="only the PSIS-update report, into --out")
    args = ap.parse_args()
    home = Path(os.environ.get("FORECAST_HOME", ROOT))
    if args.psis_report_only:
        import forecast
        from forecast.inputs.config import paths

        profile = Path(tempfile.mkdtemp(prefix="forecast-whatif-chromium-"))
        drv = _driver(profile)
        try:
            part = _psis_report(home, paths(forecast.compose([]))["cache"], args.scenario, drv)
        finally:
            drv.quit()
            shutil.rmtree(profile, ignore_errors=True)
        old = json.loads(Path(args.out).read_text()) if Path(args.out).is_file() else {}
        Path(args.out).write_text(json.dumps({**old, "psis_report": part}, indent=1) + "\n")
        print(json.dumps(part))
        return

    import forecast
    from forecast.analysis import whatif as W
    from forecast.inputs.config import paths

    reports = Path(tempfile.mkdtemp(prefix="forecast-whatif-reports-"))
    cfg = forecast.compose([f"scenario={args.scenario}", f"paths.reports={reports}"])
    inputs = forecast.load_inputs(cfg)
    t0 = time.perf_counter()
    fitted = forecast.fit(cfg, inputs)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    out_dir = forecast.write_report(cfg, inputs, fitted, overrides=[f"scenario={args.scenario}"])[0].path
    report_s = time.perf_counter() - t0
    page = out_dir / "report.html"
    html_text = page.read_text(encoding="utf-8")
    d = W.from_payload(json.loads(re.search(r'<script type="application/json" id="whatif-data">(.*?)</script>',
                                            html_text, re.S).group(1)))
    summary = json.loads((out_dir / "forecast.json").read_text())["whatif"]
    no_panel = len(html_text.encode()) - len(re.search(r'<section class="whatif".*?</section>', html_text,
                                                         re.S).group(0).encode())
    result = {"scenario": args.scenario, "inputs_hash": fitted.inputs_hash, "posterior_from_cache": fitted.from_cache,
              "fit_s": round(fit_s, 1), "report_s": round(report_s, 1),
              "report_mb": round(page.stat().st_size / 1e6, 3), "report_without_panel_mb": round(no_panel / 1e6, 3),
              "draws_embedded": d.size, "posterior_draws": d.total_draws,
              "embedded_arrays_mb": round(summary["embedded_bytes"] / 1e6, 3), "arrays": summary["arrays"],
              "cases": []}
    print(json.dumps({k: v for k, v in result.items() if k != "cases"}), flush=True)

    pollster = d.pollsters[-1] if d.pollsters else None
    cases = {
        "poll 85% of 1000, new pollster": [W.Poll(0.85, 1000)],
        f"poll 85% of 1000, {pollster}": [W.Poll(0.85, 1000, pollster)] if pollster else None,
        "episode one_time_raid, expel_agents=1, diplomatic_protest=0":
            [W.Episode("one_time_raid", (("expel_agents", 1), ("diplomatic_protest", 0)))],
        "judgement P(legal_action_or_demand_return | one_time_raid) 80% in [0.45, 0.75]":
            [W.Judgement("one_time_raid", "legal_action_or_demand_return", 0.45, 0.75, 0.8)],
        "all three": [W.Poll(0.85, 1000), W.Episode("one_time_raid", (("expel_agents", 1), ("diplomatic_protest", 0))),
                      W.Judgement("one_time_raid", "legal_action_or_demand_return", 0.45, 0.75, 0.8)],
        "poll 99% of 20000 (unreliable)": [W.Poll(0.99, 20000)],
    }
    refit_cases = {"poll 85% of 1000, new pollster", "episode one_time_raid, expel_agents=1, diplomatic_protest=0"}
    profile = Path(tempfile.mkdtemp(prefix="forecast-whatif-chromium-"))
    drv = _driver(profile)
    shots = Path(args.out).with_suffix("")  # the run's screenshots beside its results: <out>-panel.png, ...
    try:
        t0 = time.perf_counter()
        drv.get(page.as_uri())
        load_s = time.perf_counter() - t0
        result["page_load_s"] = round(load_s, 2)
        for name, items in cases.items():
            if items is None:
                continue
            t0 = time.perf_counter()
            res = W.reweight(d, items, inputs)
            py_s = time.perf_counter() - t0
            drv.execute_script("window.forecastWhatIf.setItems(arguments[0])", [_js_item(i) for i in items])
            times = drv.execute_script("return window.forecastWhatIf.benchmark(arguments[0])", args.rounds)
            js = drv.execute_script("var r = window.forecastWhatIf.last(); return {rows: r.rows, k: r.pareto_k, "
                                    "ess: r.ess};")
            row = {"case": name, "items": [f"{i.kind} {i.spec()}" for i in res.items],
                   "pareto_k": round(res.pareto_k, 3), "ess": round(res.ess, 1), "reliable": res.reliable,
                   "browser_ms_median": round(float(np.median(times)), 1), "browser_ms_min": round(min(times), 1),
                   "browser_ms_max": round(max(times), 1), "python_s": round(py_s, 2),
                   "js_vs_python_max_abs_diff": float(_max_diff(js["rows"], res)),
                   "js_vs_python_k_diff": abs(float(js["k"]) - res.pareto_k) if np.isfinite(res.pareto_k) else None}
            if name == "all three":  # the whole panel, its heading included
                el = drv.find_element("id", "whatif")
                height = int(drv.execute_script("return arguments[0].getBoundingClientRect().height", el))
                drv.set_window_size(1280, height + 300)
                drv.execute_script("window.scrollTo(0, arguments[0].getBoundingClientRect().top + window.scrollY - 60)",
                                   el)
                drv.save_screenshot(f"{shots}-panel.png")
                drv.set_window_size(1280, 1000)
            if not res.reliable:
                warn = drv.find_element("id", "whatif-warning")
                row["warning_shown"] = warn.is_displayed()
                row["commands"] = res.commands
                drv.execute_script("arguments[0].scrollIntoView()", warn)
                drv.save_screenshot(f"{shots}-unreliable.png")
            if name in refit_cases and res.reliable and not args.no_refit:
                print(f"refitting for {name!r} ...", flush=True)
                exact, refit_s = _refit(res, home, paths(cfg)["cache"], args.scenario)
                se = _se(d, items, inputs, int(fitted.idata["posterior"].sizes["chain"]))
                t = res.table.set_index(["kind", "id"])
                cmp = []
                for r in exact["responses"]:
                    after = float(t.at[("response", r["response"]), "after_mean"])
                    before = float(t.at[("response", r["response"]), "before_mean"])
                    mcse = float(r.get("mcse_mean") or 0.0)
                    z = (after - r["mean"]) / np.sqrt(se[r["response"]] ** 2 + mcse ** 2)
                    cmp.append({"response": r["response"], "refit": r["mean"], "whatif": round(after, 4),
                                "before": round(before, 4), "whatif_se": round(se[r["response"]], 4),
                                "refit_mcse": mcse, "z": round(float(z), 2)})
                zs = np.array([c["z"] for c in cmp])
                row["refit"] = {"seconds": round(refit_s, 1), "inputs_hash": exact["inputs_hash"],
                                "update": exact["update"].get("method"), "draws": exact["diagnostics"].get("draws"),
                                "chains": exact["diagnostics"].get("chains"),
                                "max_abs_diff": round(max(abs(c["refit"] - c["whatif"]) for c in cmp), 4),
                                "max_abs_move_refit_vs_before": round(max(abs(c["refit"] - c["before"]) for c in cmp),
                                                                      4),
                                "max_abs_z": round(float(np.max(np.abs(zs))), 2),
                                "share_abs_z_below_2": round(float(np.mean(np.abs(zs) < 2)), 3),
                                "responses": cmp}
            result["cases"].append(row)
            print(json.dumps({k: v for k, v in row.items() if k not in ("commands",)})[:2000], flush=True)
        print("a report that is a PSIS update ...", flush=True)
        result["psis_report"] = _psis_report(home, paths(cfg)["cache"], args.scenario, drv)
        print(json.dumps(result["psis_report"]), flush=True)
    finally:
        drv.quit()
        shutil.rmtree(profile, ignore_errors=True)
        shutil.rmtree(reports, ignore_errors=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
