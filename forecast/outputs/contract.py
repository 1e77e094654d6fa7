"""The report contract: what ``forecast.json`` holds, typed; where report folders live; the one reader.

A scenario's report is a folder ``<reports>/<scenario>/`` (scheduled runs: ``<reports>/<date>/<scenario>/``)
holding ``forecast.json`` (the data below), ``probabilities.csv``, ``report.html``, ``report.md``, the figures
and ``posterior.nc``. Other tools read ``forecast.json``: the alerts, the history and the track record built
on it, a sweep's summary, and the next report's "what moved". Its fields are documented in
``docs/report-contract.md``; ``docs/report-contract.schema.json`` is the same contract as a JSON Schema
(generated from these types: ``tests/test_contract.py`` keeps the two equal).

Versions: ``REPORT_SCHEMA_VERSION`` is written into every report. A change that renames, removes or retypes
a field bumps it; ``read_report`` then upgrades the older versions it still reads (``UPGRADES``), and the
older version's example stays under ``tests/fixtures/reports/`` so every reader is tested on it. Adding an
optional field does not bump it: readers use ``.get`` for every field that is not ``Required``.

The fields ``Required`` below are those every version holds (the design's contract); the others are written
by every report of this version except the sections (``SECTIONS``), which a report holds only when it has
them (a previous report, a replay, analysts, a model check, the What if panel).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NotRequired, Required, TypedDict

from forecast.errors import InputError
from forecast.files import guard

log = logging.getLogger("forecast")

REPORT_SCHEMA_VERSION = 1
READABLE_VERSIONS = (1,)  # the versions ``read_report`` reads (older ones through UPGRADES)
UPGRADES: dict[int, Any] = {}  # version -> function(data) -> data of the next version
REPORT_FILE = "forecast.json"
# a report folder the tool wrote holds one of these (a scheduled run's dated folder: run.json); the file
# layer never replaces a folder without one of them
OWNED_MARKERS = (REPORT_FILE, "run.json")
# a scheduled run's dated folder: its as-of date, and the inputs hash's first 8 digits when that day's folder
# holds other inputs (forecast.usecases.scheduled.target_folder)
DATED_FOLDER = re.compile(r"\d{4}-\d{2}-\d{2}(-[0-9a-f]{8})?")
SECTIONS = ("brief", "changes", "history", "analysts", "checks", "checks_figure", "whatif", "model_notes")


class Thresholds(TypedDict):
    max_rhat: float
    min_ess_bulk: float
    max_divergences: int
    min_bfmi: float


class FitDiagnostics(TypedDict, total=False):
    """One fit's convergence figures (``forecast.model.diagnostics.convergence``) and the verdict."""

    max_rhat: Required[float]
    min_ess_bulk: Required[float]
    divergences: Required[int]
    ok: Required[bool]
    max_rhat_all: float
    max_rhat_all_variable: str
    min_bfmi: float | None
    chains: int
    draws: int


class Diagnostics(FitDiagnostics, total=False):
    """The posterior's diagnostics, the scenario's own predictions', the gates, and the article-only fit's."""

    scenario_max_rhat: float | None
    scenario_min_ess_bulk: float | None
    thresholds: Thresholds
    prior_fit: FitDiagnostics


class Estimate(TypedDict, total=False):
    """A probability's posterior mean and highest-density interval (importance-weighted after a PSIS update)."""

    label: Required[str]
    mean: Required[float | None]
    hdi_low: Required[float | None]
    hdi_high: Required[float | None]
    hdi_prob: Required[float]
    mcse_mean: float | None
    prior_mean: float | None


class Response(Estimate, total=False):
    response: Required[str]
    domain: str
    stance: str
    form: str
    requires: str | None
    escalation_rank: int
    sd: float | None
    p_gt_half: float | None
    median: float | None  # the quartiles (reports since this field: the page draws them); early reports lack them
    q25: float | None
    q75: float | None
    prior_hdi_low: float | None
    prior_hdi_high: float | None
    ess_bulk: float | None
    r_hat: float | None


class Composite(Estimate, total=False):
    composite: Required[str]
    kind: str
    members: list[str]


class Update(TypedDict, total=False):
    """How the posterior was obtained: a cache hit, an exact fit (and why), or a PSIS update."""

    method: Required[str]  # "cache hit", "fit", "refit" or "psis"
    reason: str
    base_hash: str
    pareto_k: float | None
    ess_weights: float
    draws: int
    k_max: float
    changes: list[str]
    prior_pareto_k: float | None
    prior_ess_weights: float
    seconds: float


class Claim(TypedDict, total=False):
    """A prior (an article's claim) or an evidence signal, with its source."""

    name: Required[str]
    id: Required[str]
    quote: Required[str]
    location: Required[str]
    source: Required[str]
    kind: Required[str]
    constrains: Required[str]
    distribution: Required[str]
    strength: Required[float]
    origin: Required[str]
    note: Required[str]
    date: str | None  # when it became known (early version-1 reports lack it)
    not_used: str | None  # why it is left out (a restatement), or None


class Precedent(TypedDict, total=False):
    """A coded episode of the record (a precedent or an evidence episode) with its sources."""

    id: Required[str]
    date: Required[str]
    title: Required[str]
    action_type: Required[str]
    sources: Required[str]
    verified: Required[Any]
    origin: Required[str]
    coded: Required[dict[str, int]]  # response -> 0/1, the cells coded
    attributes: dict[str, Any]  # every attribute of the ontology (early version-1 reports: top-level columns)


class State(TypedDict):
    """What a later report needs to rebuild this report's inputs (the attribution of what moved)."""

    evidence_ids: list[str]
    priors: dict[str, Any]
    as_of: str


class Changes(TypedDict, total=False):
    """What moved since the previous report; each row's parts are keyed by the change's label."""

    previous: Required[dict[str, Any]]
    rows: Required[list[dict[str, Any]]]
    steps: list[dict[str, str]]
    note: str
    order: str
    method: str
    figure: str  # reports before 24f2cab only: the waterfall's file name (the page draws what moved in its table)
    max_pareto_k: float | None
    parts: list[str]  # the causes' labels, in the table's order (each row has a part per cause)


class History(TypedDict):
    dates: list[str]
    arrivals: dict[str, Any]
    figure: str
    command: str
    replay_until: NotRequired[str]  # the replay's last date
    published_until: NotRequired[str | None]  # the as_of of the latest published brief (drawn after the replay)
    missing_evidence: NotRequired[list[str]]  # evidence this report knows and the replay does not
    same_inputs: NotRequired[bool]  # the replay's last date has this report's inputs hash
    older_than_inputs: NotRequired[bool]  # the report says the replay is out of date


class Brief(TypedDict, total=False):
    """What a decision maker reads first (``forecast.outputs.brief``): the question and its terms, the bottom
    line, the scale of the words, whether the report was published, the report's links."""

    title: str  # what every scenario asks together (the landing page's title)
    question: str  # the question for this scenario, its horizon in it
    conditional: str  # that every number assumes the action happens
    interval: str  # how to read a range
    horizon: dict[str, Any]  # text, days, source
    article: dict[str, Any]  # the article's citation: title, author (attributed), outlet, date, url, citation
    definitions: dict[str, dict[str, str]]  # response or composite id -> label, definition
    actions: dict[str, str]  # action type id -> label
    scale: dict[str, Any]  # the estimative words' scale: name, title, source, url, bands
    words: dict[str, str]  # response or composite id -> its word on the scale
    # most_likely, most_dangerous (id, label, kind, mean, hdi_low, hdi_high, word[, why]); changed (compared,
    # moves with points, band_points, material and causes; material; status; noise_sigmas; withdrawn);
    # freshness (newest, days, stale_days, stale); track_record (a sentence or null)
    bottom_line: dict[str, Any]
    publication: dict[str, str]  # status: published or preview; compared_with
    links: dict[str, Any]  # scenarios and files: (label, relative href) pairs

class Analysts(TypedDict, total=False):
    """The analysts' judgements pooled (``analysts=[...]``)."""

    pool: Required[str]
    rows: Required[list[dict[str, Any]]]
    composites: list[dict[str, Any]]
    weights: dict[str, float]
    interval: str
    pooled_method: str
    analysts: list[dict[str, Any]]
    judgements: list[dict[str, Any]]
    state: dict[str, Any]
    seconds: float
    sources: str
    changes: dict[str, Any]
    figure: str


class Checks(TypedDict):
    """The headline of the last ``forecast check`` for this scenario."""

    as_of: str | None
    inputs_hash: str | None
    headline: dict[str, Any]
    flags: dict[str, Any]
    top_claims: dict[str, Any]
    track_record: str | None
    article: dict[str, Any] | None  # whether the article's claims improved the forecasts since its date
    link: str


class WhatIf(TypedDict):
    """What the report's What if panel embeds (the draws themselves are only in report.html)."""

    draws: int
    of_draws: int
    thinning: str
    dtype: str
    embedded_bytes: int
    arrays: dict[str, list[int]]
    base_update: bool
    command: str
    note: str


class ModelNotes(TypedDict, total=False):
    """What the model assumes, said in the report: the article's learned weight, the opinion of the episodes
    before the poll window, and what sets each response's interval width."""

    article_weight: dict[str, float]  # mean, low, high, prob of the learned weight; or {"fixed": 1.0}
    era_opinion: Required[dict[str, Any]]  # mode, reference, poll_window_days, episodes_before_window
    interval_drivers: Required[list[dict[str, Any]]]  # one row per response (forecast.analysis.intervals)


class Report(TypedDict, total=False):
    """``forecast.json``: one scenario's report data."""

    schema_version: Required[int]
    scenario: Required[str]
    as_of: Required[str]
    generated_at: Required[str]
    inputs_hash: Required[str]
    versions: Required[dict[str, str]]
    diagnostics: Required[Diagnostics]
    responses: Required[list[Response]]
    title: str
    description: str
    action: str
    profile: dict[str, Any]
    from_cache: bool
    update: Update
    seed: int
    sampler: dict[str, Any]
    command: str
    hdi_prob: float
    top_n: int
    composites: list[Composite]
    claims: list[Claim]
    precedents: list[Precedent]
    polls: list[dict[str, Any]]
    evidence_ids: list[str]
    provenance: dict[str, Any]
    all_scenarios: dict[str, dict[str, float | None]]
    state: State
    # sections (SECTIONS): present when the report has them
    brief: NotRequired[Brief]
    changes: NotRequired[Changes]
    history: NotRequired[History]
    analysts: NotRequired[Analysts]
    checks: NotRequired[Checks]
    checks_figure: NotRequired[str]
    whatif: NotRequired[WhatIf]
    model_notes: NotRequired[ModelNotes]


@dataclass(frozen=True)
class WrittenReport:
    """A report folder as written: where it is, and what its ``forecast.json`` holds."""

    path: Path
    data: Report

    @property
    def scenario(self) -> str:
        return self.data["scenario"]

    @property
    def diagnostics(self) -> Diagnostics:
        return self.data["diagnostics"]

    @property
    def ok(self) -> bool:
        """Whether the report's diagnostics pass (a report that fails them is marked untrustworthy)."""
        return bool(self.data["diagnostics"]["ok"])

    def moved(self, folder: Path) -> WrittenReport:
        """The same report after its folder moved into ``folder`` (a scheduled run builds it in a temporary one)."""
        return WrittenReport(Path(folder) / self.path.name, self.data)


def report_dir(reports: Path, name: str) -> Path:
    """The folder of scenario ``name``'s report under ``reports`` (refused if it would leave it, or if it
    is a symbolic link: a run would replace whatever the link points at)."""
    base = Path(reports).resolve()
    target = base / name
    if name in ("", ".", "..") or "/" in name or "\\" in name or target.resolve().parent != base:
        raise InputError(f"scenario name {name!r}", "would write outside the reports folder", "use a scenario id")
    guard(target, base)
    return target


def read_report(path: Path) -> Report | None:
    """A report's ``forecast.json`` read back, or None when it is missing, unreadable or of a schema version
    this version cannot read (the one reader every consumer of a published report uses). Older readable
    versions are upgraded to this one."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("schema_version") not in READABLE_VERSIONS:
        return None
    while data["schema_version"] != REPORT_SCHEMA_VERSION:
        data = UPGRADES[data["schema_version"]](data)
    return data


def read_reports(reports: Path, names: list[str]) -> dict[str, Report]:
    """The reports in place under ``reports`` for these scenarios (with at least one response), by scenario;
    an unreadable one or one of another schema version is left out, with a warning."""
    out = {}
    for n in names:
        path = report_dir(reports, n) / REPORT_FILE
        if not path.is_file():
            continue
        data = read_report(path)
        if data is None:
            log.warning("previous report %s is unreadable or of another schema version: no comparison", path)
        elif data.get("responses"):
            out[n] = data
    return out


def load_written(folder: Path) -> WrittenReport | None:
    """A published report folder as ``WrittenReport`` (None when its ``forecast.json`` cannot be read)."""
    data = read_report(Path(folder) / REPORT_FILE)
    return None if data is None else WrittenReport(Path(folder), data)
