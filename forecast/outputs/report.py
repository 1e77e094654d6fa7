"""Report artifacts: statistics first (a JSON-able dict), drawing second, rendering third.

A scenario's folder holds ``forecast.json``, ``probabilities.csv``, ``report.html`` (self-contained),
``report.md``, the figures as PNG and the posterior as NetCDF. Folders are written to a temporary
sibling and moved into place, so a reader never sees half a report.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from omegaconf import DictConfig, OmegaConf

from forecast.analysis import whatif as W
from forecast.analysis.attribution import report_state
from forecast.analysis.replay import replay_section
from forecast.analysis.report_draws import ReportDraws, command_line
from forecast.errors import raise_if_interrupted
from forecast.files import atomic_write_dir
from forecast.inputs import config as _config
from forecast.inputs.data import Inputs
from forecast.model import summary
from forecast.model.cache import versions
from forecast.model.diagnostics import diagnostics, gates
from forecast.model.fit import Fit
from forecast.outputs.contract import (
    OWNED_MARKERS,
    REPORT_FILE,
    REPORT_SCHEMA_VERSION,
    Report,
    WrittenReport,
    report_dir,
)
from forecast.outputs.figures import Later, collect, figure_files, kept, write_figures
from forecast.outputs.render import render_html, render_markdown
from forecast.parallel import Workers
from forecast.safe_text import csv_frame, json_text

log = logging.getLogger("forecast")



def _r(x: float | None, nd: int = 4) -> float | None:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return None
    return round(float(x), nd)


def _stats(da: xr.DataArray, hdi_prob: float, dim: str, convergence: bool = True,
           weights: np.ndarray | None = None, cache: Path | None = None) -> pd.DataFrame:
    """mean, sd, HDI, P(> 0.5), the Monte Carlo standard error of the mean and (optionally) bulk ESS and
    R-hat per ``dim`` label of (chain, draw, dim).

    With ``weights`` (a PSIS update) the mean, sd, HDI, P(> 0.5) and the MCSE are importance-weighted
    (``forecast.model.summary``); ESS and R-hat stay those of the underlying draws. With ``cache``
    (the project's cache folder) the result is kept under a key of the draws, weights, settings and
    this module's code (``forecast.memo``): a cached report never imports arviz."""
    from forecast import memo

    da = da.transpose("chain", "draw", dim)
    key = memo.digest("stats", memo.source(__file__), memo.source(summary.__file__), memo.version("arviz-stats"),
                      da.values, np.asarray(da[dim].values, dtype=str), hdi_prob, convergence,
                      np.asarray(weights) if weights is not None else None)
    hit = memo.get_json(cache, "stats", key)
    if isinstance(hit, dict) and hit.get("index") == [str(x) for x in da[dim].values]:
        cols = {k: np.asarray(v, dtype=float) for k, v in hit["columns"].items()}
        return pd.DataFrame(cols, index=list(da[dim].values))
    out = _stats_now(da, hdi_prob, dim, convergence, weights, cache)
    memo.put_json(cache, "stats", key, {"index": [str(x) for x in out.index],
                                         "columns": {c: [float(v) for v in out[c]] for c in out.columns}})
    return out


def _stats_now(da: xr.DataArray, hdi_prob: float, dim: str, convergence: bool, weights: np.ndarray | None,
               cache: Path | None = None) -> pd.DataFrame:
    # the draws' own figures are kept even when this summary does not use them (an exact fit's composites and
    # prior): a later PSIS update of these draws then needs no arviz for its Monte Carlo errors
    draws = _draw_stats(da, dim, cache) if (convergence or weights is not None or cache is not None) else None
    return summary.summarize(da, hdi_prob, dim, weights=weights, convergence=convergence, draws=draws)


def _draw_stats(da: xr.DataArray, dim: str, cache: Path | None) -> dict[str, np.ndarray]:
    """The draws' own figures (bulk ESS, R-hat, ESS for the mean: ``summary.draw_stats``), kept under a key of
    the draws alone: a PSIS update of draws already summarised reweights them without importing arviz."""
    from forecast import memo

    key = memo.digest("draw-stats", memo.source(summary.__file__), memo.version("arviz-stats"), da.values,
                      np.asarray(da[dim].values, dtype=str))
    hit = memo.get_json(cache, "draw-stats", key)
    if isinstance(hit, dict) and set(hit) == {"ess_bulk", "r_hat", "ess_mean"}:
        return {k: np.asarray(v, dtype=float) for k, v in hit.items()}
    out = summary.draw_stats(da, dim)
    memo.put_json(cache, "draw-stats", key, {k: [float(x) for x in v] for k, v in out.items()})
    return out


def build_report_data(cfg: DictConfig, inputs: Inputs, fitted: Fit, scenario: dict[str, Any],
                      pred: xr.Dataset, prior_pred: xr.Dataset, all_means: pd.DataFrame,
                      overrides: list[str] | None = None) -> Report:
    """Everything a report shows, as plain JSON-able data (the contract: ``forecast.outputs.contract``,
    ``docs/report-contract.md``)."""
    rep = OmegaConf.to_container(cfg.report, resolve=True)
    hdi_prob = float(rep["hdi_prob"])
    ont = inputs.ontology
    name = scenario["name"]
    cache = _config.paths(cfg)["cache"]
    post = _stats(pred["p"].sel(scenario=name), hdi_prob, "response", weights=fitted.weights, cache=cache)
    prior = _stats(prior_pred["p"].sel(scenario=name), hdi_prob, "response", convergence=False,
                   weights=fitted.prior_weights, cache=cache)
    responses = []
    for rid, row in post.sort_values("mean", ascending=False).iterrows():
        meta = ont.responses.loc[rid]
        responses.append({
            "response": rid, "label": meta["label"], "domain": meta["domain"], "stance": meta["stance"],
            "form": meta["form"], "requires": meta["requires"] or None,
            "escalation_rank": int(meta["escalation_rank"]),
            "mean": _r(row["mean"]), "sd": _r(row["sd"]), "hdi_low": _r(row["hdi_low"]),
            "hdi_high": _r(row["hdi_high"]), "hdi_prob": hdi_prob, "p_gt_half": _r(row["p_gt_half"]),
            "median": _r(row["median"]), "q25": _r(row["q25"]), "q75": _r(row["q75"]),
            "mcse_mean": _r(row["mcse_mean"], 5),
            "prior_mean": _r(prior.at[rid, "mean"]), "prior_hdi_low": _r(prior.at[rid, "hdi_low"]),
            "prior_hdi_high": _r(prior.at[rid, "hdi_high"]),
            "ess_bulk": _r(row["ess_bulk"], 1), "r_hat": _r(row["r_hat"]),
        })
    composites = []
    if "p_composite" in pred:
        cpost = _stats(pred["p_composite"].sel(scenario=name), hdi_prob, "composite", convergence=False,
                       weights=fitted.weights, cache=cache)
        cprior = _stats(prior_pred["p_composite"].sel(scenario=name), hdi_prob, "composite", convergence=False,
                        weights=fitted.prior_weights, cache=cache)
        for cid, row in cpost.iterrows():
            spec = ont.composites[cid]
            composites.append({"composite": cid, "label": spec["label"], "kind": spec["kind"],
                               "members": spec["members"], "mean": _r(row["mean"]), "hdi_low": _r(row["hdi_low"]),
                               "hdi_high": _r(row["hdi_high"]), "hdi_prob": hdi_prob,
                               "mcse_mean": _r(row["mcse_mean"], 5), "prior_mean": _r(cprior.at[cid, "mean"])})
    thresholds = gates(cfg)
    diag = diagnostics(fitted.idata, thresholds)
    # the scenario's own predictions must mix too
    diag["scenario_max_rhat"] = _r(post["r_hat"].max())
    diag["scenario_min_ess_bulk"] = _r(post["ess_bulk"].min(), 1)
    diag["ok"] = bool(diag["ok"] and post["r_hat"].max() <= thresholds["max_rhat"]
                      and post["ess_bulk"].min() >= thresholds["min_ess_bulk"])
    diag["thresholds"] = thresholds
    diag["prior_fit"] = diagnostics(fitted.idata, thresholds, group="prior")
    diag = {k: (_r(v) if isinstance(v, float) else v) for k, v in diag.items()}
    attrs = fitted.idata.attrs
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "scenario": name,
        "title": scenario["title"],
        "description": scenario["description"],
        "action": scenario["action"],
        "profile": {k: (v.item() if hasattr(v, "item") else v) for k, v in scenario["profile"].items()},
        "as_of": inputs.as_of.isoformat(),
        "generated_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "inputs_hash": fitted.inputs_hash,
        "from_cache": fitted.from_cache,
        # which path produced the posterior: a cache hit, an exact refit (and why), or a PSIS update
        # of a cached posterior with its Pareto k and the effective sample size of its weights
        "update": fitted.update or {"method": "cache hit" if fitted.from_cache else "fit"},
        "versions": versions(),
        "seed": int(cfg.seed),
        "sampler": json.loads(attrs.get("sampler", "{}")),
        "command": command_line(overrides),
        "hdi_prob": hdi_prob,
        "top_n": int(rep["top_n"]),
        "diagnostics": diag,
        "responses": responses,
        "composites": composites,
        "claims": [_claim_row(c) for c in [*inputs.claims, *inputs.signals]],
        "precedents": _episode_rows(inputs),
        "polls": [{"id": i, **{k: (v.isoformat() if isinstance(v, dt.date) else (None if pd.isna(v) else v))
                               for k, v in row.items()}} for i, row in inputs.polls.iterrows()],
        "evidence_ids": list(inputs.evidence_ids),
        "provenance": dict(inputs.provenance),
        "all_scenarios": {s: {r: _r(all_means.at[s, r]) for r in all_means.columns} for s in all_means.index},
        "state": report_state(cfg, inputs),
        "model_notes": model_notes(inputs, fitted, scenario, pred["p"].sel(scenario=name),
                                   prior_pred["p"].sel(scenario=name)),
    }


def model_notes(inputs: Inputs, fitted: Fit, scenario: dict[str, Any], p_post: xr.DataArray,
                p_prior: xr.DataArray) -> dict[str, Any]:
    """What the report says about the model's own assumptions: the learned weight of the article's claims, the
    opinion of the episodes before the poll window, and what sets each interval's width."""
    from forecast.analysis.checks.run import article_weight
    from forecast.analysis.intervals import drivers
    from forecast.inputs.schema import switch
    from forecast.model import terms

    h = inputs.hyper
    post = fitted.idata["posterior"]
    out: dict[str, Any] = {}
    w = article_weight(fitted)
    if w is not None:
        out["article_weight"] = {k: _r(v, 3) for k, v in w.items()}
    elif any(not c.unused for c in inputs.claims):
        out["article_weight"] = {"fixed": 1.0}
    window = int(h.get("poll_window_days", 730))
    eps = inputs.episodes.table  # the episodes the opinion reaches (its scope) that are older than the window
    old = ~terms.in_window(eps["date"], inputs.as_of, h) & terms.opinion_scope(inputs.ontology, eps, h).astype(bool)
    out["era_opinion"] = {"mode": switch(h, "era_opinion"), "reference": float(h["opinion_reference"]),
                          "poll_window_days": window, "episodes_before_window": int(old.sum())}
    rows = drivers(post.to_dataset(), inputs, scenario["action"], scenario["profile"],
                   p_post.transpose("chain", "draw", "response").values,
                   p_prior.transpose("chain", "draw", "response").values, fitted.weights, fitted.prior_weights)
    out["interval_drivers"] = [{k: (_r(v, 3) if isinstance(v, float) else v) for k, v in row.items()} for row in rows]
    return out


def _claim_row(c) -> dict[str, Any]:
    if c.kind == "cell":
        what = f"P({c.response} | {', '.join(c.actions)})"
    elif c.kind == "ordering":
        what = " <= ".join(f"P({r} | {a})" for a, r in c.cells)
    elif c.kind == "effect":
        what = f"global slope of {c.covariate}"
    else:
        what = f"latent {c.target}"
    return {"name": c.name, "id": c.id, "quote": c.quote, "location": c.location, "source": c.source,
            "kind": c.kind, "constrains": what, "distribution": c.describe(), "strength": c.strength,
            "origin": c.origin, "note": c.note, "date": c.date_known, "not_used": c.unused}


def _episode_rows(inputs: Inputs) -> list[dict[str, Any]]:
    ep = inputs.episodes
    rows = []
    for eid, t in ep.table.iterrows():
        coded = {r: int(v) for r, v in ep.outcomes.loc[eid].items() if not pd.isna(v)}
        # every attribute the ontology defines, by its name in data/ontology/attributes.yaml
        attributes = {a: _plain(t[a]) for a in inputs.ontology.attributes}
        rows.append({"id": eid, "date": t["date"].isoformat(), "title": t["title"], "action_type": t["action_type"],
                     "attributes": attributes, "sources": t["sources"],
                     "verified": t["verified"], "origin": t["origin"], "coded": coded})
    return rows


def _plain(v: Any) -> Any:
    """A table value as plain JSON: numpy scalars unwrapped, whole floats kept short."""
    v = v.item() if hasattr(v, "item") else v
    return _r(v, 2) if isinstance(v, float) else v


def probabilities_frame(data: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for r in data["responses"]:
        rows.append({"kind": "response", "id": r["response"], "label": r["label"], "mean": r["mean"],
                     "hdi_low": r["hdi_low"], "hdi_high": r["hdi_high"], "hdi_prob": r["hdi_prob"],
                     "p_gt_half": r["p_gt_half"], "prior_mean": r["prior_mean"], "form": r["form"],
                     "threat": r["requires"] if r["form"] == "executed" else None})
    for c in data["composites"]:
        rows.append({"kind": "composite", "id": c["composite"], "label": c["label"], "mean": c["mean"],
                     "hdi_low": c["hdi_low"], "hdi_high": c["hdi_high"], "hdi_prob": c["hdi_prob"],
                     "p_gt_half": None, "prior_mean": c["prior_mean"], "form": None, "threat": None})
    return pd.DataFrame(rows)


def probabilities_csv(data: dict[str, Any]) -> str:
    """probabilities.csv's text: formula prefixes in text cells neutralised for spreadsheets."""
    return csv_frame(probabilities_frame(data)).to_csv(index=False)


# ---------------------------------------------------------------------- writing
def write_reports(cfg: DictConfig, inputs: Inputs, fitted: Fit, draws: ReportDraws, out_dir: Path | None = None,
                  overrides: list[str] | None = None,
                  previous: dict[str, dict] | Callable[[], dict[str, dict]] | None = None,
                  analysts: dict[str, dict] | None = None, published: bool = True,
                  pub=None, record=None, workers: Workers | None = None) -> list[WrittenReport]:
    """One report folder per scenario of ``draws.names``, all from the same posterior; returns what it wrote
    (each folder and the data of its ``forecast.json``, diagnostics included). Everything shown is computed
    before: the draws (``forecast.analysis.report_draws``), what moved since each previous report
    (``previous``: ``forecast.analysis.attribution.previous_reports``, or a function computing it: called once, after
    the figures whose numbers moved are handed to the drawing workers), the analysts' pools (``analysts``:
    ``forecast.analysis.analysts.analysts_sections``). ``published``: the reports are a published brief (else a
    preview, which says so). ``pub`` (a ``forecast.publication.Publication``): the folders are staged in it and become
    visible at its commit, with everything else the run publishes; without it each is renamed into place now.
    ``record(name, folder, data)`` is called last in each folder being written (what it was made from:
    ``forecast.outputs.uptodate``). The figures whose numbers moved are drawn by forked workers (``workers``, or ones
    started at the first figure to draw), while this process goes on with what moved and the posterior file; the
    caller closes the ``workers`` it passes."""
    from forecast.outputs import brief as B

    templates = report_templates(cfg)
    question = B.question_for(_config.paths(cfg)["data"], inputs.ontology)  # a bad question file stops here
    reports = Path(out_dir) if out_dir else _config.paths(cfg)["reports"]
    own = workers is None and bool(cfg.report.figures)
    if own:  # matplotlib is imported by the workers, forked at the first figure to draw
        from forecast.outputs.figures import drawing_workers

        workers = drawing_workers()
    job = _ReportJob(cfg, inputs, fitted, draws, overrides, previous, analysts or {}, published, question, templates,
                     reports, workers if cfg.report.figures else None)
    written = []
    # closed early (an error, a signal): the workers still running are terminated
    with closing(workers if own else _Nothing()), closing(_built(job)) as built:
        for name, (data, text, fill) in zip(draws.names, built, strict=True):
            def staged(tmp: Path, fill=fill, name=name, data=data) -> None:
                fill(tmp)
                if record is not None:  # last: its manifest lists every file above
                    record(name, tmp, data)

            if pub is not None:
                path = pub.folder(report_dir(reports, name), staged, owned=OWNED_MARKERS)
            else:
                path = atomic_write_dir(report_dir(reports, name), staged, owned=OWNED_MARKERS)
            log.info("wrote %s", path)
            written.append(WrittenReport(path, json.loads(text)))  # exactly what forecast.json holds
    return written


@dataclass
class _ReportJob:
    """What every scenario's report of one run is built from."""

    cfg: DictConfig
    inputs: Inputs
    fitted: Fit
    draws: ReportDraws
    overrides: list[str] | None
    previous: dict[str, dict] | None
    analysts: dict[str, dict]
    published: bool
    question: Any
    templates: Any
    reports: Path
    workers: Workers | None = None

    def moved(self) -> dict[str, dict] | None:
        """What moved since each previous report (computed on the first call when ``previous`` is a function)."""
        if callable(self.previous):
            self.previous = self.previous()
        return self.previous


class _Nothing:
    def close(self) -> None:
        pass


def _build_one(job: _ReportJob, name: str) -> tuple[dict[str, Any], str, Callable[[Path], None]]:
    """One scenario's report: its data, its ``forecast.json`` text and the function that writes its folder's
    files."""
    from forecast.outputs import brief as B

    cfg, inputs, fitted, draws = job.cfg, job.inputs, job.fitted, job.draws
    sc, pred, prior_pred = draws.profiles, draws.pred, draws.prior_pred
    raise_if_interrupted()  # a signal some library swallowed stops the run between two reports
    data = build_report_data(cfg, inputs, fitted, sc[name], pred, prior_pred, draws.all_means, job.overrides)
    with_figures = bool(cfg.report.figures)  # report.figures=false: no figures, a faster report
    workers = job.workers
    cache = _config.paths(cfg)["cache"]
    # posterior.nc: kept, or encoded beside this process's own work (a forked process) while it goes on
    posterior_nc = _posterior_nc(_posterior_file(fitted, name, pred, prior_pred), cache)
    # the page draws the forecast's own ranges and what moved (glyphs and bars in its tables); the history figure is
    # handed to the drawing workers when its numbers moved, and what moved is computed here while they draw
    history = _history(cfg, name, data, with_figures, workers)
    figures = _changes_history_analysts(cfg, name, data, job.moved(), job.analysts, with_figures, history, workers)
    checks: dict[str, bytes] = {}
    add_checks(data, checks, _config.paths(cfg)["reports"], name)
    figures.append(checks)
    data["brief"] = B.brief_data(cfg, inputs, data, question=job.question, published=job.published)
    data["brief"]["links"] = B.report_links(_config.paths(cfg)["reports"], job.reports, name, list(draws.names),
                                            {n: sc[n]["title"] for n in sc})
    whatif = None
    if name in draws.whatif:  # the What if panel's draws: in report.html only, their summary in forecast.json
        whatif = W.payload(draws.whatif[name])
        data["whatif"] = W.summary(draws.whatif[name])

    text = json_text(data)
    templates = job.templates

    def fill(tmp: Path) -> None:
        # this process's own files first, while the workers draw; then the figures, and the pages that show them
        (tmp / REPORT_FILE).write_text(text, encoding="utf-8")
        (tmp / "probabilities.csv").write_text(probabilities_csv(data), encoding="utf-8")
        (tmp / "posterior.nc").write_bytes(posterior_nc.get())
        drawn = collect(figures)
        write_figures(tmp, drawn)
        (tmp / "report.html").write_text(render_html(data, drawn, whatif=whatif, templates=templates),
                                         encoding="utf-8")
        (tmp / "report.md").write_text(render_markdown(data, figure_files(drawn)), encoding="utf-8")

    return data, text, fill


def _build_files(job: _ReportJob, name: str) -> tuple[dict[str, Any], str, dict[str, bytes]]:
    """In a worker: one scenario's report, its folder's files as bytes (written to a private temporary folder
    by the same ``fill``, then read back)."""
    import tempfile

    data, text, fill = _build_one(job, name)
    with tempfile.TemporaryDirectory(prefix="forecast-report-") as d:
        fill(Path(d))
        files = {p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(Path(d).rglob("*")) if p.is_file()}
    return data, text, files


def _writes(files: dict[str, bytes]) -> Callable[[Path], None]:
    def fill(tmp: Path) -> None:
        for rel, content in files.items():
            dest = tmp / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(content)

    return fill


def _built(job: _ReportJob):
    """Each scenario's (data, ``forecast.json`` text, folder writer), in ``job.draws.names`` order. Several scenarios'
    reports are built side by side, one forked process per core (``forecast.parallel``): each is a pure function
    of the run's posterior and settings, and the six of ``all_scenarios=true`` otherwise wait for one another on
    one core. The folders are staged by the caller, in this process, in the scenarios' order."""
    from forecast.parallel import fork_map, processes

    if processes(len(job.draws.names)) > 1:
        job.moved()  # computed once, before the scenarios' reports are forked
    pieces = fork_map(lambda name: _build_files(job, name), job.draws.names, here=lambda name: _build_one(job, name))
    with closing(pieces) as results:
        for data, text, out in results:
            yield data, text, (out if callable(out) else _writes(out))


def _history(cfg: DictConfig, name: str, data: dict[str, Any], with_figures: bool, workers: Workers | None):
    """The replay's history section of ``name`` and its figure (files, or a ``Later`` being drawn by ``workers``); None
    without a replay or with ``report.figures=false``."""
    replay, replay_df = replay_section(_config.paths(cfg)["reports"], name)
    if replay_df is None or not with_figures:
        return None
    from forecast import memo
    from forecast.outputs.brief import history_extent
    from forecast.outputs.figures import draw
    from forecast.outputs.figures import history as H
    from forecast.outputs.published import published_rows

    published = published_rows(_config.paths(cfg)["reports"], name)
    labels = {str(r["response"]): str(r["label"]) for r in data["responses"]}
    cache = _config.paths(cfg)["cache"]
    title = _config.scenario_title(cfg, name)
    key = H.history_key(replay_df, name, published, labels, title)
    hit = memo.get_pngs(cache, "history", key)
    if hit is not None and "history" in hit:
        figure: dict[str, bytes] | Later = {"history": hit["history"]}
    elif workers is not None:  # the same figure started early (``draw_history_early``) is not drawn again
        figure = Later([workers.submit("drawing the history figure", draw, "history", replay_df, name, published,
                                       labels, title, key=f"history-{key}")], cache, "history", key)
    else:
        figure = {"history": H.history_png(replay_df, name, cache, published, labels, title)}
    return {**replay, "figure": "history", "command": "forecast history --replay",
            **history_extent(replay_df, published, data, name)}, figure


def draw_history_early(cfg: DictConfig, name: str, inputs: Inputs, workers: Workers) -> bool:
    """Hand the history figure of ``name`` to the drawing workers before the posterior is known, when it is not kept:
    it draws the replay and the published briefs, which the run does not change, so the workers draw it while the run
    reweights the posterior (the report's writer then collects it under the same key). Its labels are the ontology's,
    as the report's responses have them. True when it was handed over (False: kept, no replay, or no figures)."""
    from forecast import memo
    from forecast.outputs.figures import draw
    from forecast.outputs.figures import history as H
    from forecast.outputs.published import published_rows

    if not cfg.report.figures:
        return False
    reports, cache = _config.paths(cfg)["reports"], _config.paths(cfg)["cache"]
    _, replay_df = replay_section(reports, name)
    if replay_df is None:
        return False
    published = published_rows(reports, name)
    labels = {str(r): str(v) for r, v in inputs.ontology.responses["label"].items()}
    title = _config.scenario_title(cfg, name)
    key = H.history_key(replay_df, name, published, labels, title)
    if memo.get_pngs(cache, "history", key) is not None:
        return False
    workers.submit("drawing the history figure", draw, "history", replay_df, name, published, labels, title,
                   key=f"history-{key}")
    return True


def _changes_history_analysts(cfg: DictConfig, name: str, data: dict[str, Any], previous: dict[str, dict] | None,
                              analysts: dict[str, dict], with_figures: bool, history=None,
                              workers: Workers | None = None) -> list[dict[str, bytes] | Later]:
    """Add to ``data`` what moved since the previous report (the page draws it: bars in its table), the replay's
    history (``history``: what ``_history`` returned) and the analysts' section when the run has them; returns the
    history's and the analysts' figures (none with ``report.figures=false``; a ``Later`` for each one ``workers``
    draw). Matplotlib is imported only to draw a figure the run has, and only here when there are no workers."""
    figures: list[dict[str, bytes] | Later] = []
    if previous is not None and name in previous:
        data["changes"] = dict(previous[name])
    if history is not None:
        section, figure = history
        figures.append(figure)
        data["history"] = section
    if name in analysts:
        data["analysts"] = {**analysts[name], "figure": "analysts"}
        if with_figures:
            figures.append(kept(_config.paths(cfg)["cache"], "analysts", "forecast.outputs.figures.analysts",
                                [analysts[name], name], analysts[name], name, workers=workers))
    return figures


def report_templates(cfg: DictConfig) -> Path | None:
    """``report.templates``: the folder of templates replacing the shipped ones (None: the shipped ones)."""
    from forecast.errors import ConfigError
    from forecast.paths import resolve

    value = str(cfg.report.get("templates") or "").strip()
    if not value:
        return None
    folder = resolve(value, "")
    if not folder.is_dir():
        raise ConfigError("report.templates", f"{value!r} is not a folder ({folder})",
                          "create it with the templates to replace (page.html, report.css, whatif.html), or set it "
                          "to an empty string for the shipped ones")
    return folder


def add_checks(data: dict[str, Any], figures: dict[str, bytes], reports: Path, name: str) -> None:
    """The "How good are these probabilities?" section: the last ``forecast check``'s headline, if any."""
    from forecast.outputs.checks_report import checks_section

    section, png = checks_section(reports, name)
    if section is not None:
        data["checks"] = section
        if png is not None:
            figures["checks_reliability"] = png
            data["checks_figure"] = "checks_reliability"


HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def _posterior_nc(tree: xr.DataTree, cache: Path | None):
    """``posterior.nc``'s bytes as a ``Pending``: kept under a key of the tree's content and the writing libraries'
    versions (a report whose draws did not change copies the kept file instead of encoding it again: h5netcdf and
    HDF5, a few tenths of a second), else encoded by a process forked now (``forecast.parallel.forked``: it inherits
    the tree and xarray, on the core this run leaves idle while it attributes what moved and writes its pages; the
    drawing workers, forked before xarray was imported, would import it again), or here when first asked for when the
    run's cores are already full (several scenarios' reports side by side)."""
    from forecast import memo
    from forecast.parallel import Pending, forked

    key = memo.digest("posterior-nc", memo.source(__file__), *(memo.version(d) for d in ("xarray", "h5netcdf", "h5py")),
                      *memo.tree_digest(tree))
    kept = memo.get_bytes(cache, "posterior-nc", key, HDF5_MAGIC)
    if kept is not None:
        return Pending("posterior.nc", value=kept)
    return forked("encoding posterior.nc", lambda: posterior_nc_bytes(tree, cache, key))


def posterior_nc_bytes(tree: xr.DataTree, cache: Path | None, key: str) -> bytes:
    """``posterior.nc``'s bytes of ``tree`` (h5netcdf), kept in the memo under ``key``."""
    import tempfile

    from forecast import memo

    with tempfile.TemporaryDirectory(prefix="forecast-nc-") as d:
        dest = Path(d) / "posterior.nc"
        tree.to_netcdf(dest, engine="h5netcdf")
        data = dest.read_bytes()
    memo.put_bytes(cache, "posterior-nc", key, data)
    return data


def _posterior_file(fitted: Fit, name: str, pred: xr.Dataset, prior_pred: xr.Dataset) -> xr.DataTree:
    """This scenario's posterior (and article-only prior) of every response probability and composite,
    with the latent public opinion, as a DataTree that arviz and xarray open directly."""
    latent = [v for v in ("public_opposition", "opinion_effect") if v in fitted.idata["posterior"]]

    def group(p: xr.Dataset, source: str) -> xr.Dataset:
        ds = p.sel(scenario=name).drop_vars("scenario")
        return xr.merge([ds, fitted.idata[source].to_dataset()[latent]])

    post = group(pred, "posterior")
    prior = group(prior_pred, "prior")
    if fitted.weights is not None:  # a PSIS update: the draws with their normalised importance weights
        post["psis_weight"] = (("chain", "draw"), fitted.weights)
    if fitted.prior_weights is not None:
        prior["psis_weight"] = (("chain", "draw"), fitted.prior_weights)
    tree = xr.DataTree.from_dict({"posterior": post, "prior": prior,
                                  "sample_stats": fitted.idata["sample_stats"].to_dataset()})
    tree.attrs.update({k: v for k, v in fitted.idata.attrs.items() if isinstance(v, str | int | float)})
    tree.attrs["scenario"] = name
    return tree
