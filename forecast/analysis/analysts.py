"""The data of a report's "Analysts' judgements" section: each analyst's forecast, the pool, the disagreement.

Computed once for every scenario of a run (``forecast.analysis.pooling``, an exact refit where a
reweighting cannot be trusted), then one section per report: per response the article-only prior, the
article's forecast, each analyst's forecast, the pooled forecast with its interval and the judgement that
moves the pool most; the article's claims beside the analysts' revisions; and what moved since the
previous report with each added or changed judgement (and its author) as a cause. The report draws the
spread (``forecast.outputs.figures.analysts``).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from forecast.analysis import pooling
from forecast.errors import InputError
from forecast.inputs.data import Inputs
from forecast.inputs.judgements import Judgement
from forecast.model.fit import Fit, fit_config
from forecast.model.predict import predict

RESIDUAL = "article forecast, pool settings and Monte Carlo"
MOVES = 0.005  # a judgement "moves" a probability when leaving it out shifts the pool by at least this


def _r(x: float) -> float:
    return round(float(x), 4) + 0.0  # + 0.0: no "-0" in tables


def constrains(c) -> str:
    """What a claim constrains, in words (as the report's priors table says it)."""
    if c.kind == "cell":
        return f"P({c.response} | {', '.join(c.actions)})"
    if c.kind == "ordering":
        return " <= ".join(f"P({r} | {a})" for a, r in c.cells)
    if c.kind == "effect":
        return f"global slope of {c.covariate}"
    return f"latent {c.target}"


def _judgement_row(j: Judgement, article: dict[str, Any]) -> dict[str, Any]:
    return {"analyst": j.analyst, "id": j.id, "author": j.author, "date_made": j.date_made.isoformat(),
            "revises": j.revises, "replaces": j.article_claim, "constrains": constrains(j.claim),
            "distribution": j.claim.describe(), "rationale": j.rationale, "sources": list(j.sources),
            "article": article.get(j.article_claim)}


def state_of(pool: pooling.Pool, known: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """What a later report needs to rebuild this pool: the settings and every judgement known (as written)."""
    return {"analysts": pool.analysts, "pool": pool.method, "weights": pool.weights,
            "judgements": known if known is not None else {a: {j.id: j.raw for j in js}
                                                           for a, js in pool.judgements.items()}}


def analysts_sections(cfg, inputs: Inputs, fitted: Fit, scenarios: dict[str, dict],
                      previous: dict[str, dict[str, Any]] | None = None, say=None,
                      prior_pred=None) -> dict[str, dict[str, Any]]:
    """One section per scenario (empty when no analysts are selected). ``previous``: scenario -> the data of
    its previous report, whose pooled forecast the section's "what moved" starts from; ``prior_pred``: the
    scenarios' article-only predictions, when already computed."""
    if not cfg.get("analysts"):
        return {}
    t0 = time.perf_counter()
    hdi_prob = float(cfg.report.hdi_prob)
    if prior_pred is None:
        prior_pred = predict(fitted.idata, inputs.ontology, inputs.hyper, scenarios, group="prior")
    sets = pooling.load_sets(cfg, inputs)
    if fitted.weights is not None:  # pooling reweights plain draws: start from the exact article posterior
        if say:
            say("analysts: refitting the article's posterior exactly (the pools reweight plain draws, not a PSIS "
                "update)")
        fitted = fit_config(cfg, inputs, update="refit", notify=say)
    pool = pooling.pool_forecasts(cfg, inputs, fitted, scenarios, sets, say=say)
    state = state_of(pool, pooling.recorded(cfg, inputs))
    ids = inputs.ontology.response_ids
    labels = inputs.ontology.responses["label"]
    art_means = pool.article.means()
    comp_means = {a: pool.components[a].means() for a in pool.analysts}
    pooled = pool.pooled_means()
    # which judgement moves the pool most: the pool with it minus the pool without it
    loo = {}
    for a, js in sets.items():
        for j in js:
            loo[(a, j.id, j.author)] = pooled - pooling.without(pool, inputs, a, drop=j.id)
    article_rows = {c.id: {"distribution": c.describe(), "quote": c.quote, "constrains": constrains(c)}
                    for c in inputs.claims}
    judgements = [_judgement_row(j, article_rows) for js in sets.values() for j in js]
    analysts = []
    for a in pool.analysts:
        c = pool.components[a]
        analysts.append({"analyst": a, "authors": sorted({j.author for j in sets[a]}), "weight": _r(pool.weights[a]),
                         "n_judgements": len(sets[a]), "method": c.method,
                         "pareto_k": None if c.k is None else _r(c.k)})
    seconds = time.perf_counter() - t0
    out = {}
    for s, name in enumerate(scenarios):
        lo, hi = pooling.weighted_interval(pool, s, hdi_prob)
        prior_mean = prior_pred["p"].sel(scenario=name).mean(("chain", "draw")).to_pandas()
        rows = []
        for r, rid in enumerate(ids):
            row = {"response": rid, "label": str(labels[rid]), "article_prior": _r(prior_mean[rid]),
                   "article": _r(art_means[s, r]), "analysts": {a: _r(comp_means[a][s, r]) for a in pool.analysts},
                   "pooled": _r(pooled[s, r]), "pooled_low": _r(lo[r]), "pooled_high": _r(hi[r])}
            if loo:
                (a, jid, author), d = max(loo.items(), key=lambda kv: abs(kv[1][s, r]))
                if abs(d[s, r]) >= MOVES:  # below half a point no judgement is named: that is Monte Carlo noise
                    row.update(moved_most_by=f"{a}/{jid}", moved_most_author=author, moved_most_change=_r(d[s, r]))
            rows.append(row)
        rows.sort(key=lambda x: -max(abs(v - x["article"]) for v in [*x["analysts"].values(), x["pooled"]]))
        sec = {"pool": pool.method, "composites": _composite_rows(pool, inputs, s),
               "weights": {a: _r(w) for a, w in pool.weights.items()},
               "interval": f"{hdi_prob:.0%} HDI of the pooled draws (the narrowest interval, as every interval "
                           "of the report)",
               "pooled_method": (pool.pooled.method if pool.pooled is not None else
                                 "mixture of the analysts' forecasts, weighted"),
               "analysts": analysts, "judgements": judgements, "rows": rows, "state": state,
               "seconds": round(seconds, 2),
               "sources": ("log pool: Genest & Zidek (1986), externally Bayesian; linear pool: Stone (1961), "
                           "O'Hagan et al. (2006)")}
        prev = (previous or {}).get(name)
        changes = judgement_changes(pool, inputs, prev, s, state) if prev else None
        if changes:
            sec["changes"] = changes
        out[name] = sec
    return out


def _composite_rows(pool: pooling.Pool, inputs: Inputs, s: int) -> list[dict[str, Any]]:
    """Scenario ``s``'s composites: the article's forecast, each analyst's and the pool's."""
    if "p_composite" not in pool.article.base.pred:
        return []
    ca = pool.article.means("p_composite")
    cc = {a: pool.components[a].means("p_composite") for a in pool.analysts}
    cp = pool.pooled_means("p_composite")
    return [{"composite": c, "label": inputs.ontology.composites[c]["label"], "article": _r(ca[s, i]),
             "analysts": {a: _r(cc[a][s, i]) for a in pool.analysts}, "pooled": _r(cp[s, i])}
            for i, c in enumerate(pool.article.base.pred["composite"].values)]


def judgement_changes(pool: pooling.Pool, inputs: Inputs, prev: dict[str, Any], s: int,
                      state: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """What moved the pooled forecast since the previous report: each added, revised or removed
    judgement in turn (in the order made), by reweighting; the residual is the previous judgements
    under today's article fit and pool settings minus the previous report's numbers."""
    sec = prev.get("analysts")
    if not isinstance(sec, dict) or not isinstance(sec.get("state"), dict) or not sec.get("rows"):
        return None
    before = {r["response"]: r["pooled"] for r in sec["rows"]}
    prev_raw = sec["state"].get("judgements") or {}
    cur_raw = (state or state_of(pool))["judgements"]
    try:
        return _attribute(pool, inputs, prev, s, before, prev_raw, cur_raw)
    except InputError as e:  # a recorded judgement that no longer validates: no attribution, and it says why
        return {"previous_generated_at": prev.get("generated_at"),
                "note": f"the previous report's judgements do not validate today ({e}): no attribution"}


def _attribute(pool, inputs, prev, s, before, prev_raw, cur_raw) -> dict[str, Any]:
    today = dt.date.today()
    start_raw = {a: dict(prev_raw.get(a) or {}) for a in pool.analysts}
    sets = pooling.rebuild_sets(start_raw, inputs, today)
    steps = [(RESIDUAL, pooling.without(pool, inputs, "", sets=sets))]
    events = []
    for a in pool.analysts:
        for jid, raw in cur_raw[a].items():
            old = start_raw[a].get(jid)
            if old != raw:
                events.append((str(raw.get("date_made")), a, jid, "added" if old is None else "revised", raw))
        for jid in start_raw[a]:
            if jid not in cur_raw[a]:
                by = [k for k, v in cur_raw[a].items() if v.get("revises") == jid]
                events.append(("9999", a, jid, f"superseded by {by[0]}" if by else "removed", None))
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    for _, a, jid, what, raw in events:
        if raw is None:
            start_raw[a].pop(jid, None)
        else:
            start_raw[a][jid] = raw
        sets = pooling.rebuild_sets(start_raw, inputs, today)
        author = str(raw.get("author")) if raw else ""
        steps.append((f"{a}/{jid} {what}" + (f" ({author})" if author else ""), pooling.without(pool, inputs, "",
                                                                                               sets=sets)))
    current = pool.pooled_means()
    rows = []
    for r, rid in enumerate(inputs.ontology.response_ids):
        if rid not in before:
            continue
        row = {"response": rid, "previous": _r(before[rid]), "current": _r(current[s, r]),
               "change": _r(current[s, r] - before[rid])}
        last = before[rid]
        for label, m in steps:
            row[label] = _r(m[s, r] - last)
            last = m[s, r]
        if abs(current[s, r] - last) > 5e-4:
            row["refit minus importance sampling"] = _r(current[s, r] - last)
        rows.append(row)
    rows.sort(key=lambda x: -abs(x["change"]))
    if not events and all(abs(r["change"]) < 5e-4 for r in rows):
        return {"previous_generated_at": prev.get("generated_at"), "rows": [],
                "note": "no judgement changed since the previous report and the pool did not move"}
    return {"previous_generated_at": prev.get("generated_at"), "rows": rows,
            "causes": [label for label, _ in steps[1:]],
            "order": "judgements added, revised or removed in the order they were made"}
