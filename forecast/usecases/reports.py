"""``forecast [overrides]``: the configured scenario's report (or every scenario's) from one fit.

A request goes down the layers once: the inputs (``forecast.inputs``), the posterior (``forecast.model``:
a cache hit, a PSIS update or a fit), the scenarios' draws, what moved since the previous reports and the
analysts' pooled forecasts (``forecast.analysis``: every refit they need happens here), then the report
folders and the history (``forecast.outputs``), which summarise, draw and write what was computed. Nothing
written is read back: the writer returns what it wrote, diagnostics included.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from forecast.analysis.analysts import analysts_sections
from forecast.analysis.attribution import previous_reports
from forecast.analysis.report_draws import report_draws
from forecast.errors import DiagnosticsError, ForecastError
from forecast.inputs import config as _config
from forecast.inputs.data import Inputs
from forecast.inputs.load import load_inputs
from forecast.model.fit import Fit, config_hash, fit_config
from forecast.model.reweight import kept_terms
from forecast.outputs import sweep as _sweep
from forecast.outputs.contract import WrittenReport, read_reports
from forecast.outputs.history import append_history, check_history, history_path
from forecast.outputs.landing import LANDING, landing_page
from forecast.outputs.published import archive_path, last_published
from forecast.outputs.report import report_templates, write_reports
from forecast.outputs.uptodate import LANDING_RECORD, Keys, file_state, landing_record, write_record
from forecast.parallel import Workers
from forecast.publication import Publication
from forecast.safe_text import json_text

log = logging.getLogger("forecast")

PREVIEW = ("preview: not published (no row in the history, not the last published brief, not in the track record); "
           "publish=true publishes it, as forecast scheduled does")


def _quiet(_msg: str) -> None:
    pass


@dataclass
class Run:
    """What a forecast run did: the posterior's hash, the reports it wrote (with their diagnostics), the fit;
    a finished sweep job that was reused instead of run holds its earlier record in ``reused``."""

    inputs_hash: str
    written: list[WrittenReport] = field(default_factory=list)
    fitted: Fit | None = None
    reused: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """Every report written passes its diagnostics (a reused job: it did when it ran)."""
        if self.reused is not None:
            return int(self.reused.get("code", 70)) == 0
        return all(w.ok for w in self.written)

    def diagnostics_error(self) -> DiagnosticsError | None:
        """The one-line error for the reports whose diagnostics failed, each with its own figures; None if none."""
        bad = [w for w in self.written if not w.ok]
        if not bad:
            return None
        parts = "; ".join(f"{w.path.name}: max R-hat {w.diagnostics.get('max_rhat')}, min ESS "
                          f"{w.diagnostics.get('min_ess_bulk')}, divergences {w.diagnostics.get('divergences')}"
                          for w in bad)
        return DiagnosticsError(f"diagnostics failed ({parts}): reports written and marked untrustworthy; "
                                "rerun with more draws (sampler.draws=4000)")


def write_report(cfg, inputs: Inputs, fitted: Fit, names: list[str] | None = None, out_dir: Path | None = None,
                 overrides: list[str] | None = None,
                 previous: dict[str, dict] | Callable[[], dict[str, dict]] | None = None,
                 say=None, published: bool = True, pub: Publication | None = None,
                 record=None, workers: Workers | None = None, keep=None) -> list[WrittenReport]:
    """Write the report folders (``forecast.outputs.contract`` defines what they hold) and return what was
    written: each folder (``.path``), its ``forecast.json`` data (``.data``) and whether its diagnostics pass
    (``.ok``). ``previous``: scenario -> what moved since its last report, or the function computing it (``run`` passes
    one: the writer calls it once it has handed the figures whose numbers moved to its drawing workers). With
    ``analysts=[...]`` the analysts' pooled forecasts are computed first (an exact refit where needed, announced
    to ``say`` before it starts). ``published``: a published brief or a preview (the report says which); ``pub``:
    the publication the folders are staged in (``forecast.outputs.report.write_reports``); ``record(name, folder,
    data)``: called last in each staged folder (``run`` writes what the folder was made from there); ``workers``: the
    drawing workers (``forecast.parallel.Workers``) the figures go to, when the caller started them; ``keep(whatif)``:
    called with each scenario's What if draws (``run`` keeps them for ``forecast whatif``)."""
    report_templates(cfg)  # a bad report.templates folder stops before anything is computed
    draws = report_draws(cfg, inputs, fitted, names, overrides)
    if keep is not None:
        keep(draws.whatif)
    analysts = {}
    if cfg.get("analysts"):
        reports = Path(out_dir) if out_dir else _config.paths(cfg)["reports"]
        analysts = analysts_sections(cfg, inputs, fitted, {n: draws.profiles[n] for n in draws.names},
                                     read_reports(reports, draws.names), prior_pred=draws.prior_pred, say=say)
    return write_reports(cfg, inputs, fitted, draws, out_dir, overrides, previous, analysts, published=published,
                         pub=pub, record=record, workers=workers)


def _fit_line(fitted: Fit) -> list[str]:
    """How the posterior was obtained, for people."""
    if fitted.from_cache:
        return [f"posterior cache hit {fitted.inputs_hash} (no sampling)"]
    if fitted.weights is not None:
        u = fitted.update
        return [f"posterior: PSIS update of {u['base_hash']} (Pareto k {u['pareto_k']}, ESS of the weights "
                f"{u['ess_weights']:.0f}; update=refit for the exact fit)"]
    t = ", ".join(f"{k} {v:.1f}s" for k, v in fitted.timings.items())
    return [f"posterior: exact fit ({(fitted.update or {}).get('reason', 'cache miss')})",
            f"posterior cache miss: sampled and cached {fitted.inputs_hash} ({t})"]


def run(cfg, overrides: list[str] | None = None, *, out_dir: Path | None = None, job: dict[str, Any] | None = None,
        progress: bool = False, say=None, ahead: Workers | None = None) -> Run:
    """Fit once (or hit the cache, or reweight a cached posterior) and write the configured scenario's report
    (every scenario's with ``all_scenarios=true``) with what moved since the scenario's last published brief, and
    the landing page, all made visible together. Only ``publish=true`` publishes (the history's rows, the last
    published brief, the track record); any other run is a preview and says so (``say`` and the report's brief).
    ``out_dir``: where the report folders go (default ``paths.reports``). In a sweep, ``job`` (a dict)
    receives the inputs hash, report folders and fit timings as the run goes (a failure still records what was
    known), and a finished job with the same overrides and inputs hash in ``out_dir`` is reused, not rerun.
    ``say(str)`` hears progress. The reports are written even when their diagnostics fail: see ``Run.ok``.
    ``ahead``: drawing workers the caller forked before reading anything (``forecast.api.draw_ahead``), used when this
    run has figures to draw and ended at once otherwise; the caller closes them too (a run that stops early)."""
    say = say or _quiet
    paths = _config.paths(cfg)
    check_history(history_path(paths["reports"]))  # a damaged history stops before any work
    names = _config.report_names(cfg)
    # what each report is made from (forecast.outputs.uptodate), taken before anything is read: an input changed
    # while the run reads it leaves a key that no later run matches
    keys = None
    if out_dir is None:
        made_from = Keys(cfg, names)
        keys = {n: made_from.key(n) for n in names}
    say(f"loading inputs (as_of={cfg.as_of or 'today'})")
    inputs = load_inputs(cfg)
    say(f"{len(inputs.episodes.table)} episodes, {len(inputs.polls)} polls, {len(inputs.claims)} priors, "
        f"{len(inputs.evidence_ids)} evidence entries known by {inputs.as_of}")
    if job is not None and out_dir is not None:
        job["inputs_hash"] = config_hash(cfg, inputs)
        _sweep.clear_stale(out_dir)
        done = _sweep.finished(out_dir, overrides or [], job["inputs_hash"])
        if done is not None:
            say(f"reusing the finished job {out_dir.name} (same overrides, inputs hash {job['inputs_hash']})")
            job.update(reports=done["reports"], reused=True, reason=done.get("reason", ""))
            return Run(job["inputs_hash"], reused=done)
    # the update's and the attribution's terms of each change computed once, and kept for the next run
    with closing(_drawing_workers(cfg, inputs, names, out_dir, ahead)) as workers, kept_terms(paths["cache"]):
        return _run(cfg, overrides, inputs, names, keys, paths, out_dir, job, progress, say, workers)


def _drawing_workers(cfg, inputs: Inputs, names: list[str], out_dir: Path | None,
                     ahead: Workers | None = None) -> Workers | _NoWorkers:
    """The figures' drawing workers (``forecast.parallel.Workers``), forked now (or ``ahead``, by the caller), before
    the posterior is reweighted or fitted, so that their imports (matplotlib) are paid beside it, when this run will
    draw figures: one report (several are built side by side already), not a sweep's job, figures on, a posterior
    this run computes (a cache hit or a kept update has figures to draw only after a change of code), and a figure
    to draw (the history figure not kept, or the analysts'). Workers forked ahead that this run does not need are ended
    now; a figure found to need drawing later is drawn by workers the report's writer forks then."""
    from forecast.model.cache import posterior_path, update_path
    from forecast.outputs.figures import drawing_workers
    from forecast.outputs.report import draw_history_early

    def drawing() -> bool:
        if out_dir is not None or len(names) != 1 or not cfg.report.figures:
            return False
        h, cache = config_hash(cfg, inputs), _config.paths(cfg)["cache"]
        return not (posterior_path(cache, h).is_file() or update_path(cache, h).is_file())

    if not drawing():
        if ahead is not None:
            ahead.close()
        return _NoWorkers()
    workers = ahead or drawing_workers()
    if workers.inline:  # one process: the figures are drawn here, when the report has its numbers
        return _NoWorkers()
    # the history figure draws nothing this run changes: drawn beside the update. The report's own numbers are drawn
    # by its page, so a run whose history figure is kept (new evidence: the replay and the published briefs did not
    # change) and that pools no analysts has nothing for the workers: they are ended now, still importing
    if not draw_history_early(cfg, names[0], inputs, workers) and not cfg.get("analysts"):
        workers.close()
        return _NoWorkers()
    return workers


class _NoWorkers:
    def close(self) -> None:
        pass


def _run(cfg, overrides, inputs: Inputs, names: list[str], keys, paths, out_dir: Path | None, job, progress: bool,
         say, workers) -> Run:
    fitted = fit_config(cfg, inputs, progress=progress, notify=say)
    for line in _fit_line(fitted):
        say(line)
    if cfg.get("analysts") and fitted.weights is not None:
        # the analysts' pools reweight plain draws: the article's posterior is fitted exactly, and the headline
        # uses those same draws, so the analysts' "article" column is the headline (said before the refit starts)
        say(f"analysts={list(cfg.analysts)}: refitting the posterior exactly before pooling (the pools reweight "
            "plain draws, not a PSIS update; the headline then uses the same exact draws); update=refit skips the "
            "PSIS step")
        fitted = fit_config(cfg, inputs, progress=progress, notify=say, update="refit")
        for line in _fit_line(fitted):
            say(line)
    say(f"writing {len(names)} report(s)")
    if out_dir is None:  # what moved is measured against each scenario's last published brief
        on = _config.compare_with(cfg)
        earlier = {n: d for n in names if (d := last_published(paths["reports"], n, on)) is not None}
    else:  # a sweep's job: against the report in its own folder
        earlier = read_reports(out_dir, names)

    def prev() -> dict[str, dict]:  # called by the report writer once it has handed over the figures to draw
        return previous_reports(cfg, inputs, fitted, earlier, say=say)

    publish = bool(cfg.get("publish")) and out_dir is None  # a sweep's jobs are previews
    if out_dir is not None:
        written = write_report(cfg, inputs, fitted, names, out_dir=out_dir, overrides=overrides, previous=prev,
                               say=say, published=False)
    else:
        record = _recorder(keys, fitted, paths, publish)
        written = _publish(cfg, inputs, fitted, names, overrides, prev, paths, publish, say, record,
                           workers if isinstance(workers, Workers) else None, _keeper(keys, fitted, paths, inputs))
    if job is not None:
        job["reports"] = [w.path.name for w in written]
        job["fit"] = {"from_cache": fitted.from_cache, **{k: round(v, 2) for k, v in fitted.timings.items()}}
    return Run(fitted.inputs_hash, written, fitted)


def _posterior_files(fitted: Fit, cache_dir: Path) -> dict[str, Any]:
    """The cache files a report's posterior came from (their size and time), and for a PSIS update the exact
    posterior of its inputs that did not exist (a later one would be used instead)."""
    from forecast.model.cache import posterior_path, update_path

    def rel(p: Path) -> str:  # named from the cache folder: a copied or moved project home keeps its records
        return str(p.relative_to(cache_dir))

    exact = posterior_path(cache_dir, fitted.inputs_hash)
    if fitted.weights is None:
        return {"files": {rel(exact): file_state(exact)}, "absent": []}
    base = posterior_path(cache_dir, fitted.update["base_hash"])
    kept = update_path(cache_dir, fitted.inputs_hash)
    return {"files": {rel(p): file_state(p) for p in (base, kept)}, "absent": [rel(exact)]}


def _recorder(keys: dict[str, dict[str, str]] | None, fitted: Fit, paths, publish: bool):
    """What ``write_report`` calls last in each staged folder: its record (``forecast.outputs.uptodate``), with what
    the run says about that report (how the posterior was obtained, preview) and prints (what moved)."""
    if keys is None:
        return None
    from forecast.outputs.brief import what_moved_lines

    def record(name: str, folder: Path, data: dict[str, Any]) -> None:
        said = [*_fit_line(fitted), *([] if publish else [PREVIEW])]
        write_record(folder, keys[name], data, preview=not publish, posterior=_posterior_files(fitted, paths["cache"]),
                     said=said, moved=what_moved_lines(data))

    return record


def _keeper(keys: dict[str, dict[str, str]] | None, fitted: Fit, paths, inputs: Inputs):
    """What ``write_report`` calls with each scenario's What if draws: kept under ``<cache>/whatif/`` with the report's
    key and posterior files (``forecast.analysis.whatif.kept``), for ``forecast whatif``. A failed write costs the
    command its shortcut, never the report."""
    if keys is None:
        return None

    def keep(whatif: dict) -> None:
        from forecast.analysis.whatif import kept

        posterior = _posterior_files(fitted, paths["cache"])
        for name, draws in whatif.items():
            try:
                kept.keep(paths["cache"], name, keys[name], posterior, draws, inputs)
            except (OSError, ForecastError) as e:
                log.warning("could not keep the What if draws of %s: %s", name, e)

    return keep


def _publish(cfg, inputs: Inputs, fitted: Fit, names: list[str], overrides, prev, paths, publish: bool,
             say, record=None, workers: Workers | None = None, keep=None) -> list[WrittenReport]:
    """The report folders and the landing page (and, when ``publish``, the history's rows and each report's copy
    in the archive of published briefs) made visible together, or nothing (``forecast.publication.Publication``)."""
    reports = paths["reports"]
    what = f"the report{'s' if len(names) > 1 else ''} of {', '.join(names)}"
    with Publication(reports, what) as pub:
        written = write_report(cfg, inputs, fitted, names, overrides=overrides, previous=prev, say=say,
                               published=publish, pub=pub, record=record, workers=workers, keep=keep)
        if publish:
            append_history(reports, paths["cache"], written, pub=pub)
            for w in written:  # a later preview replaces the folder; the published brief stays readable here
                pub.file(archive_path(reports, w.scenario, w.data["generated_at"]), json_text(w.data))
        pub.derive(reports / LANDING, lambda: landing_page(reports))
        # rendered once the landing page is in place (the steps apply in order, a recovery too): the page's digest
        # and the state of the reports it was made from (forecast.outputs.uptodate)
        pub.derive(reports / LANDING_RECORD, lambda: landing_record(reports))
        pub.commit(f"{what} ({'published' if publish else 'a preview'}) and the landing page")
    if publish:
        say(f"published: {len(written)} report(s) and their rows in {history_path(reports)}")
    else:
        say(PREVIEW)
    say(f"landing page: {reports / LANDING}")
    return written


def record_job(job_dir: Path, *, num: int, overrides: list[str], code: int, reason: str, job: dict[str, Any],
               seconds: float) -> None:
    """A sweep job's ``job.json``: how it ended and what ``run`` recorded in ``job`` (``forecast.outputs.sweep``)."""
    _sweep.record(job_dir, num=num, overrides=overrides, code=code, reason=reason, inputs_hash=job.get("inputs_hash"),
                  reports=job.get("reports", []), seconds=seconds, reused=job.get("reused", False), fit=job.get("fit"))


def summarize_sweep(sweep_reports: Path, started_jobs: list[int] | None = None) -> dict[str, Any]:
    """Collect a sweep's jobs into ``summary.json`` and ``summary.png`` beside them (when there are jobs);
    returns the summary (its ``exit_code`` is the worst job's, ``path`` where it was written)."""
    summary = _sweep.collect(sweep_reports, started_jobs)
    if summary["n_jobs"]:
        summary["path"] = str(_sweep.write_summary(sweep_reports, summary))
    return summary
