"""What moved since the previous report, and why: an attribution computed by refitting.

The previous report records its state (evidence ids, priors, as_of). Starting from that state under
the current code and data, the changes are applied one at a time (new evidence in the order it
became known, removed evidence, then each changed prior), each intermediate state fitted (and
cached by its inputs hash). A change's part is the shift in the posterior mean it causes at its
step; the parts telescope, so with the residual "model, data and Monte Carlo" part (the previous
state refitted now minus the previous report's numbers) they add up to the total change exactly.
Parts depend on the order (a path decomposition); the order is stated in every report.

When every change is reweightable (added evidence, changed claims; ``update=auto``) the parts are
instead order-free Shapley values computed from one set of stored draws by PSIS weights
(``forecast.analysis.update``), each with its Monte Carlo error; this refit path stays for large
Pareto k, removed evidence and ``update=refit``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from forecast.files import read_report, report_dir
from forecast.inputs.config import paths, scenario_profiles
from forecast.inputs.data import Inputs
from forecast.inputs.evidence import load_evidence
from forecast.inputs.load import load_inputs
from forecast.model.fit import Fit, fit_config
from forecast.model.predict import predict

log = logging.getLogger("forecast")
RESIDUAL = "model, data and Monte Carlo"


def report_state(cfg, inputs: Inputs) -> dict[str, Any]:
    """What a later report needs to rebuild this report's inputs."""
    return {"evidence_ids": list(inputs.evidence_ids), "priors": OmegaConf.to_container(cfg.priors, resolve=False),
            "as_of": inputs.as_of.isoformat()}


def _read_previous(path: Path) -> dict[str, Any] | None:
    data = read_report(path)
    if data is None:
        log.warning("previous report %s is unreadable or of another schema version: no comparison", path)
    return data


def attribution_path(cfg, inputs: Inputs, state: dict[str, Any]) -> list[tuple[str, str, Inputs]]:
    """The sequence of (label, kind, inputs) from the previous state to the current one."""
    import datetime as dt

    cur_ev = list(inputs.evidence_ids)
    prev_ev = [e for e in state.get("evidence_ids", []) if e]
    cur_priors = OmegaConf.to_container(cfg.priors, resolve=False)
    prev_priors = state.get("priors") or cur_priors
    today = dt.date.today()
    log_entries = {e.id: e for e in load_evidence(paths(cfg)["data"] / "evidence", inputs.ontology, today).entries}
    ev = {e for e in prev_ev if e in log_entries}
    priors = {k: v for k, v in prev_priors.items()}
    seq = [("previous state, refitted now", "start", load_inputs(cfg, evidence_only=set(ev), priors=priors))]
    added = sorted((e for e in cur_ev if e not in ev), key=lambda e: (log_entries[e].date_known, e))
    for e in added:
        ev.add(e)
        seq.append((e, "evidence added", load_inputs(cfg, evidence_only=set(ev), priors=priors)))
    for e in sorted(ev - set(cur_ev)):
        ev.discard(e)
        seq.append((e, "evidence removed", load_inputs(cfg, evidence_only=set(ev), priors=priors)))
    for name in sorted(set(prev_priors) | set(cur_priors)):
        if prev_priors.get(name) != cur_priors.get(name):
            if name in cur_priors:
                priors[name] = cur_priors[name]
            else:
                priors.pop(name, None)
            seq.append((f"prior {name}", "prior changed", load_inputs(cfg, evidence_only=set(ev), priors=priors)))
    return seq


def previous_reports(cfg, inputs: Inputs, fitted: Fit, names: list[str], out_dir: Path | None = None,
                     say=None) -> dict[str, dict[str, Any]]:
    """For each scenario with an earlier report in place: the change table and its attribution."""
    prev = {}
    for n in names:
        p = report_dir(Path(out_dir) if out_dir else paths(cfg)["reports"], n) / "forecast.json"
        if p.is_file():
            d = _read_previous(p)
            if d and d.get("responses"):
                prev[n] = d
    if not prev:
        return {}
    out: dict[str, dict[str, Any]] = {}
    groups: dict[str, list[str]] = {}
    for n, d in prev.items():
        if d.get("inputs_hash") == fitted.inputs_hash:
            out[n] = {"previous": _prev_meta(d), "rows": [], "steps": [],
                      "note": "inputs unchanged since the previous report: nothing moved"}
            continue
        groups.setdefault(json.dumps(d.get("state") or {}), []).append(n)
    for key, members in groups.items():
        state = json.loads(key)
        sc = scenario_profiles(cfg, inputs.ontology, members)
        if not state:
            for n in members:
                out[n] = _table(prev[n], _current_means(fitted, inputs, sc, n), [], None)
            continue
        seq = attribution_path(cfg, inputs, state)
        shap = _shapley_parts(cfg, inputs, seq, sc, say)
        if shap is not None:
            for n in members:
                out[n] = _shapley_table(prev[n], _current_means(fitted, inputs, sc, n), shap, n)
            continue
        means = []
        for label, kind, inp in seq:
            f = fit_config(cfg, inp, update="refit")  # the exact path: each step refitted (cached by its hash)
            if say:
                say(f"attribution step '{label}': {'cache hit' if f.from_cache else 'fitted'} {f.inputs_hash}")
            pred = predict(f.idata, inp.ontology, inp.hyper, sc)
            means.append((label, kind, f.inputs_hash, pred["p"].mean(("chain", "draw")).to_pandas()))
        final_hash = means[-1][2]
        for n in members:
            out[n] = _table(prev[n], _current_means(fitted, inputs, sc, n), means, n,
                            unexplained=final_hash != fitted.inputs_hash)
    return out


def _prev_meta(d: dict[str, Any]) -> dict[str, Any]:
    return {k: d.get(k) for k in ("generated_at", "inputs_hash", "as_of")}


def _current_means(fitted: Fit, inputs: Inputs, sc: dict, name: str) -> pd.Series:
    from forecast.model.update import weighted_mean

    pred = predict(fitted.idata, inputs.ontology, inputs.hyper, {name: sc[name]})
    return weighted_mean(pred["p"], fitted.weights).to_pandas().loc[name]


def _shapley_parts(cfg, inputs: Inputs, seq: list, sc: dict, say=None) -> dict[str, Any] | None:
    """Shapley parts of every step of ``seq`` by PSIS weights of the start state's draws, or None
    (removed evidence, too many changes, a Pareto k > 0.7, update=refit): then the refit path runs."""
    from forecast.analysis import update as A
    from forecast.model import update as U
    from forecast.model.fit import posterior_family, sampler_settings

    steps = seq[1:]
    if (str(cfg.get("update") or "auto") != "auto" or not steps or len(steps) > A.MAX_PLAYERS
            or any(kind == "evidence removed" for _, kind, _ in steps)):
        return None
    fam = posterior_family(sampler_settings(cfg), int(cfg.seed))
    start = seq[0][2]
    f0 = fit_config(cfg, start)
    if say:
        say(f"attribution: start state {'cache hit' if f0.from_cache else 'fitted'} {f0.inputs_hash}; "
            f"Shapley values of {len(steps)} change(s) by PSIS weights")
    try:
        base, pollsters = A.base_of(f0, start, fam, paths(cfg)["cache"])
        players, before = {}, start
        for label, _, inp in steps:
            players[label] = U.diff(U.state(before, fam), inp, fam)
            before = inp
    except (U.NotReweightable, OSError, ValueError, KeyError) as e:
        log.info("Shapley attribution not available (%s): refitting each step", e)
        return None
    pred = predict(f0.idata, inputs.ontology, inputs.hyper, sc)["p"]
    try:
        res = A.psis_shapley(U.Terms(f0.idata, inputs, pollsters), base, players, pred.values, A.ess_factor(f0))
    except U.NotReweightable as e:
        if say:
            say(f"attribution: {e}: refitting each step")
        return None
    if res is None or "parts" not in res:
        if say:
            say(f"attribution: Pareto k {res['max_k']:.2f} > {U.K_MAX} for {res['subset']}: refitting each step")
        return None
    res["coords"] = (list(pred["scenario"].values), list(pred["response"].values))
    res["players"] = list(players)
    res["kinds"] = {label: kind for label, kind, _ in steps}
    return res


def _shapley_table(prev: dict[str, Any], current: pd.Series, res: dict[str, Any], name: str) -> dict[str, Any]:
    prev_mean = pd.Series({r["response"]: r["mean"] for r in prev["responses"]})
    labels = {r["response"]: r["label"] for r in prev["responses"]}
    scen, resp = res["coords"]
    i = scen.index(name)
    players = res["players"]
    v0, vall = res["v"][frozenset()][i], res["v"][frozenset(players)][i]
    rows = []
    for j, r in enumerate(resp):
        if r not in prev_mean:
            continue
        row = {"response": labels.get(r, r), "previous": round(float(prev_mean[r]), 4),
               "current": round(float(current[r]), 4), "change": round(float(current[r] - prev_mean[r]), 4),
               RESIDUAL: round(float(v0[j] - prev_mean[r]), 4)}
        for p in players:
            row[p] = round(float(res["parts"][p][i, j]), 4)
            row[f"± {p}"] = round(float(res["mcse"][p][i, j]), 4)
        gap = float(current[r] - vall[j])
        if abs(gap) >= 5e-5:
            row["unexplained"] = round(gap, 4)
        rows.append(row)
    rows.sort(key=lambda x: -abs(x["change"]))
    parts = [RESIDUAL, *players] + (["unexplained"] if any("unexplained" in r for r in rows) else [])
    steps = [{"label": RESIDUAL, "kind": "refit of the previous state under the current code and data"}]
    steps += [{"label": p, "kind": f"{res['kinds'][p]} (Shapley value, PSIS)"} for p in players]
    return {"previous": _prev_meta(prev), "rows": rows, "steps": steps, "figure": "changes",
            "method": "Shapley values by PSIS weights of one posterior (forecast/analysis/update.py)",
            "order": "none: each part is the change's average contribution over every order of adding the changes; "
                     "'±' columns are Monte Carlo standard errors",
            "max_pareto_k": round(float(res["max_k"]), 3) if np.isfinite(res["max_k"]) else None,
            "parts": parts}


def _table(prev: dict[str, Any], current: pd.Series, means: list, name: str | None,
           unexplained: bool = False) -> dict[str, Any]:
    prev_mean = pd.Series({r["response"]: r["mean"] for r in prev["responses"]})
    labels = {r["response"]: r["label"] for r in prev["responses"]}
    steps = [{"label": RESIDUAL, "kind": "refit of the previous state under the current code and data"}]
    steps += [{"label": lab, "kind": kind} for lab, kind, _, _ in means[1:]]
    rows = []
    for r in current.index:
        if r not in prev_mean:
            continue
        row = {"response": labels.get(r, r), "previous": round(float(prev_mean[r]), 4),
               "current": round(float(current[r]), 4), "change": round(float(current[r] - prev_mean[r]), 4)}
        if means:
            start = float(means[0][3].at[name, r])
            row[RESIDUAL] = round(start - float(prev_mean[r]), 4)
            last = start
            for lab, _, _, m in means[1:]:
                v = float(m.at[name, r])
                row[lab] = round(v - last, 4)
                last = v
            if unexplained:
                row["unexplained"] = round(float(current[r]) - last, 4)
        rows.append(row)
    rows.sort(key=lambda x: -abs(x["change"]))
    out = {"previous": _prev_meta(prev), "rows": rows, "steps": steps if means else [],
           "order": "evidence added in the order it became known, then removed evidence, then changed priors"}
    if means:
        out["figure"] = "changes"
        out["parts"] = [s["label"] for s in steps] + (["unexplained"] if unexplained else [])
    else:
        out["note"] = "the previous report did not record its state: change shown without attribution"
    return out
