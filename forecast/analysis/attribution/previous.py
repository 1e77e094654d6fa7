"""What moved since the previous report, and why: the report's change table (each change and its causes' parts).

The previous report records its state (evidence ids, priors, as_of). The parts come from Shapley values
by PSIS weights of one posterior when every change is reweightable (``attribution.shapley``), else from
refitting each step of the path from that state to the current one (``attribution.refit``). Either way
the part of the previous brief's own state (that state evaluated now minus the brief's numbers, named for what
it is: sampling noise only, a change of how the posterior was obtained, or the model or data changed) and the
parts add up to the total change. The previous brief is the last published one (``forecast.outputs.published``)
when the caller passes it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from forecast.analysis.attribution.refit import attribution_path, refit_means
from forecast.analysis.attribution.shapley import shapley_parts
from forecast.inputs.config import scenario_profiles
from forecast.inputs.data import Inputs
from forecast.model import summary
from forecast.model.fit import Fit
from forecast.model.predict import predict

log = logging.getLogger("forecast")
RESIDUAL = "model or data changed, refitted"  # besides the evidence and claims; with Monte Carlo error
SAME_INPUTS = "sampling noise only (same inputs)"


def method_name(update: Any) -> str:
    """How a posterior was obtained, in the words a change row uses: "PSIS update" or "exact fit"."""
    return "PSIS update" if isinstance(update, dict) and update.get("method") == "psis" else "exact fit"


def fit_method(fitted: Fit) -> str:
    return "PSIS update" if fitted.weights is not None else "exact fit"


def start_cause(prev: dict[str, Any], start_hash: str | None, start_method: str) -> tuple[str, str]:
    """The name and description of the part between the previous brief's numbers and its state evaluated now: when
    the inputs are the same, the change of how the posterior was obtained (a PSIS update vs an exact fit), or Monte
    Carlo alone; otherwise the model, data or code changed besides the evidence and claims."""
    if start_hash is not None and start_hash == prev.get("inputs_hash"):
        before = method_name(prev.get("update"))
        if before != start_method:
            return (f"posterior obtained by {start_method}, was {before}",
                    f"the same inputs; the previous brief's numbers came from a {before}, these from an {start_method}"
                    if start_method.startswith("exact") else
                    f"the same inputs; the previous brief's numbers came from an {before}, these from a "
                    f"{start_method}")
        return SAME_INPUTS, "the same inputs and the same way of obtaining the posterior: Monte Carlo error only"
    return RESIDUAL, "refit of the previous state under the current code and data"


def report_state(cfg, inputs: Inputs) -> dict[str, Any]:
    """What a later report needs to rebuild this report's inputs."""
    return {"evidence_ids": list(inputs.evidence_ids), "priors": OmegaConf.to_container(cfg.priors, resolve=False),
            "as_of": inputs.as_of.isoformat()}


def previous_reports(cfg, inputs: Inputs, fitted: Fit, prev: dict[str, dict[str, Any]],
                     say=None) -> dict[str, dict[str, Any]]:
    """For each scenario with an earlier report (``prev``: scenario -> that report's data, as
    ``forecast.outputs.contract.read_reports`` reads it): the change table and its attribution."""
    if not prev:
        return {}
    out: dict[str, dict[str, Any]] = {}
    groups: dict[str, list[str]] = {}
    for n, d in prev.items():
        if d.get("inputs_hash") == fitted.inputs_hash:
            sc = scenario_profiles(cfg, inputs.ontology, [n])
            out[n] = _same_inputs(d, _current_means(fitted, inputs, sc, n), fit_method(fitted))
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
        shap = shapley_parts(cfg, inputs, seq, sc, say)
        if shap is not None:
            for n in members:
                out[n] = _shapley_table(prev[n], _current_means(fitted, inputs, sc, n), shap, n)
            continue
        means = refit_means(cfg, seq, sc, say)
        final_hash = means[-1][2]
        for n in members:
            out[n] = _table(prev[n], _current_means(fitted, inputs, sc, n), means, n,
                            unexplained=final_hash != fitted.inputs_hash)
    return out


def _prev_meta(d: dict[str, Any]) -> dict[str, Any]:
    """What the change table says of the brief it compares with: when, its inputs, how its posterior was obtained,
    its folder and each response's Monte Carlo standard error (for the changes' noise bands)."""
    out = {k: d.get(k) for k in ("generated_at", "inputs_hash", "as_of", "published_folder", "evidence_ids")}
    out["method"] = method_name(d.get("update"))
    out["mcse"] = {str(r["response"]): r.get("mcse_mean") for r in d.get("responses") or [] if "response" in r}
    return out


def _same_inputs(prev: dict[str, Any], current: pd.Series, method: str) -> dict[str, Any]:
    """The previous brief had these inputs: the change is Monte Carlo error, or how the posterior was obtained when
    that differs (a PSIS update then, an exact fit now, or the reverse): its own row, never hidden."""
    cause, kind = start_cause(prev, prev.get("inputs_hash"), method)
    rows = _rows(prev, current)
    for row in rows:
        row[cause] = row["change"]
    note = ("inputs unchanged since the previous brief: nothing moved" if cause == SAME_INPUTS and
            all(abs(r["change"]) < 5e-5 for r in rows) else f"inputs unchanged since the previous brief: {kind}")
    return {"previous": _prev_meta(prev), "rows": rows, "steps": [{"label": cause, "kind": kind}],
            "parts": [cause], "note": note,
            "method": f"same inputs ({kind})"}


def _rows(prev: dict[str, Any], current: pd.Series) -> list[dict[str, Any]]:
    prev_mean = {r["response"]: r["mean"] for r in prev["responses"]}
    labels = {r["response"]: r.get("label") or r["response"] for r in prev["responses"]}
    rows = [{"id": r, "response": labels[r], "previous": round(float(prev_mean[r]), 4),
             "current": round(float(current[r]), 4), "change": round(float(current[r] - prev_mean[r]), 4)}
            for r in current.index if r in prev_mean]
    rows.sort(key=lambda x: -abs(x["change"]))
    return rows


def _current_means(fitted: Fit, inputs: Inputs, sc: dict, name: str) -> pd.Series:
    pred = predict(fitted.idata, inputs.ontology, inputs.hyper, {name: sc[name]})
    return summary.mean(pred["p"], fitted.weights).to_pandas().loc[name]


def _shapley_table(prev: dict[str, Any], current: pd.Series, res: dict[str, Any], name: str) -> dict[str, Any]:
    prev_mean = pd.Series({r["response"]: r["mean"] for r in prev["responses"]})
    labels = {r["response"]: r.get("label") or r["response"] for r in prev["responses"]}
    start = res.get("start") or {}
    cause, kind = start_cause(prev, start.get("hash"), str(start.get("method") or "exact fit"))
    scen, resp = res["coords"]
    i = scen.index(name)
    players = res["players"]
    v0, vall = res["v"][frozenset()][i], res["v"][frozenset(players)][i]
    rows = []
    for j, r in enumerate(resp):
        if r not in prev_mean:
            continue
        row = {"id": r, "response": labels.get(r, r), "previous": round(float(prev_mean[r]), 4),
               "current": round(float(current[r]), 4), "change": round(float(current[r] - prev_mean[r]), 4),
               cause: round(float(v0[j] - prev_mean[r]), 4)}
        for p in players:
            row[p] = round(float(res["parts"][p][i, j]), 4)
            row[f"± {p}"] = round(float(res["mcse"][p][i, j]), 4)
        gap = float(current[r] - vall[j])
        if abs(gap) >= 5e-5:
            row["unexplained"] = round(gap, 4)
        rows.append(row)
    rows.sort(key=lambda x: -abs(x["change"]))
    parts = [cause, *players] + (["unexplained"] if any("unexplained" in r for r in rows) else [])
    steps = [{"label": cause, "kind": kind}]
    steps += [{"label": p, "kind": f"{res['kinds'][p]} (Shapley value, PSIS)"} for p in players]
    if "unexplained" in parts:
        steps.append({"label": "unexplained", "kind": "this report's posterior against the reweighted estimate of the "
                      "same state (Monte Carlo error of the reweighting)"})
    return {"previous": _prev_meta(prev), "rows": rows, "steps": steps,
            "method": "Shapley values by PSIS weights of one posterior (forecast/analysis/attribution/shapley.py)",
            "order": "none: each part is the change's average contribution over every order of adding the changes; "
                     "'±' columns are Monte Carlo standard errors",
            "max_pareto_k": round(float(res["max_k"]), 3) if np.isfinite(res["max_k"]) else None,
            "parts": parts}


def _table(prev: dict[str, Any], current: pd.Series, means: list, name: str | None,
           unexplained: bool = False) -> dict[str, Any]:
    prev_mean = pd.Series({r["response"]: r["mean"] for r in prev["responses"]})
    labels = {r["response"]: r.get("label") or r["response"] for r in prev["responses"]}
    cause, kind = start_cause(prev, means[0][2] if means else None, "exact fit")
    steps = [{"label": cause, "kind": kind}]
    steps += [{"label": lab, "kind": step} for lab, step, _, _ in means[1:]]
    rows = []
    for r in current.index:
        if r not in prev_mean:
            continue
        row = {"id": r, "response": labels.get(r, r), "previous": round(float(prev_mean[r]), 4),
               "current": round(float(current[r]), 4), "change": round(float(current[r] - prev_mean[r]), 4)}
        if means:
            start = float(means[0][3].at[name, r])
            row[cause] = round(start - float(prev_mean[r]), 4)
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
        out["parts"] = [s["label"] for s in steps] + (["unexplained"] if unexplained else [])
    else:
        out["note"] = "the previous report did not record its state: change shown without attribution"
    return out
