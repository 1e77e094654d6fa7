"""The configuration's schema: Hydra structured configs (dataclasses in Hydra's ConfigStore).

``conf/config.yaml`` starts its defaults list with ``forecast_schema``, so every group file and override is
merged into these typed nodes: a wrong type or an unknown key fails at composition, and ``check`` then holds
each value to its range (finite, positive, a seed the samplers take, a real date, a folder that is not the
filesystem root or a system folder). Each leaf's metadata says what it allows, in the words of the error
line and of ``forecast --help``.
"""

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Optional

from omegaconf import MISSING

from forecast.files import unsafe_folder  # noqa: F401 - the one rule, re-exported for the config's checks

SEED_MAX = 2**32 - 1  # numpy's SeedSequence/RandomState and every sampler take it


def _s(default: Any = MISSING, kind: str = "str", lo: Any = None, hi: Any = None, *, lo_open: bool = False,
       hi_open: bool = False, choices: tuple[str, ...] = (), help: str = "") -> Any:  # noqa: A002
    meta = {"kind": kind, "lo": lo, "hi": hi, "lo_open": lo_open, "hi_open": hi_open, "choices": choices,
            "help": help}
    if isinstance(default, dict):
        return field(default_factory=lambda: dict(default), metadata=meta)
    return field(default=default, metadata=meta)


def _pos(help: str) -> Any:  # noqa: A002
    return _s(MISSING, "float", 0.0, 100.0, lo_open=True, help=help)


# Ablation switches, for honest measurement (bench/studies/model-changes-ablation/): four turn one of the last round's
# model changes off each, attribute_cells tries the fix its calibration finding proposes. The first choice is the
# shipped model. A switch at its default is left out of the model's hyperparameters
# (forecast.inputs.config.hyper), so the default configuration's inputs hash is the one it had before the
# switches existed. Do not change a default here: flip it in conf/model/ instead.
ABLATION_SWITCHES: dict[str, tuple[str, str]] = {
    "poll_effects": ("free", "sum_to_zero"),  # 1: free per-pollster wording effects | zero-sum house effects
    "episode_opinion": ("own_time", "reference"),  # 2: episodes at the opinion of their time | at the reference
    "claims_per_action": ("once", "each"),  # 3: a claim naming k actions is 1 pseudo-observation | k of them
    "restatements": ("drop", "keep"),  # 4: a restated source counted once | twice (claim and source)
    # cells of a response whose coding restates an action attribute (responses.csv coded_from): left out of
    # the record | observed (issue #24: bench/studies/article-weight/)
    "attribute_cells": ("leave_out", "observe"),
    # issue #24 (bench/studies/article-weight/): episodes before the poll window at the article's reference
    # opinion | at a free era opinion theta_past
    "era_opinion": ("reference", "free"),
    # the polled opinion moves responses to the actions it is about (attributes.yaml opinion_levels) | to all
    "opinion_scope": ("scoped", "all"),
    # the article's claims with a learned weight (normalised power prior) | at full weight
    "claim_weight": ("learned", "fixed"),
}


def switch(hyper: dict, name: str) -> str:
    """An ablation switch's value in a model's hyperparameters (absent = the shipped model)."""
    return str(hyper.get(name, ABLATION_SWITCHES[name][0]))


def _switch(name: str, help: str) -> Any:  # noqa: A002
    return _s(ABLATION_SWITCHES[name][0], "choice", choices=ABLATION_SWITCHES[name], help=help)


@dataclass
class ScenarioSchema:
    name: str = _s(help="the scenario's id: a file in conf/scenario/")
    title: str = _s("", help="one line")
    action: Any = _s(None, "any", help="an action type id from data/ontology/actions.csv")
    profile: Any = _s(None, "any", help="attribute overrides, e.g. {consent: coerced}")
    description: str = _s("", help="free text")


@dataclass
class SamplerSchema:
    name: str = _s(help="the sampler file's name")
    nuts_sampler: str = _s(MISSING, "choice", choices=("nutpie", "pymc", "numpyro", "blackjax"))
    draws: int = _s(MISSING, "int", 10, 100_000)
    tune: int = _s(MISSING, "int", 0, 100_000)
    chains: int = _s(MISSING, "int", 1, 64)
    cores: int = _s(MISSING, "int", 1, 64)
    target_accept: float = _s(MISSING, "float", 0.5, 1.0, hi_open=True)
    first_draws: Optional[int] = _s(  # noqa: UP045 - OmegaConf reads typing.Optional
        None, "int_or_null", 10, 100_000, help="a first batch; all draws only when it misses the targets (null: all)")


@dataclass
class ModelSchema:
    model_version: int = _s(MISSING, "int", 1, 1_000_000)
    mu_alpha_mean: float = _s(MISSING, "float", -20.0, 20.0, help="global intercept mean, logit scale")
    mu_alpha_sd: float = _pos("global intercept sd")
    sigma_alpha_domain: float = _pos("HalfNormal scale")
    sigma_alpha_response: float = _pos("HalfNormal scale")
    slope_sd: float = _pos("Normal sd of a slope without a claim")
    sigma_slope_domain: float = _pos("HalfNormal scale")
    sigma_slope_response: float = _pos("HalfNormal scale")
    sigma_cell: float = _pos("HalfNormal scale")
    sigma_loading: float = _pos("HalfNormal scale")
    sigma_house: float = _pos("pollster house-effect scale")
    opinion_reference: float = _s(MISSING, "float", 0.0, 1.0, lo_open=True, hi_open=True,
                                  help="the opposition share the article assumes")
    quadrature_nodes: int = _s(MISSING, "int", 1, 64, help="Gauss-Hermite nodes")
    poll_window_days: int = _s(MISSING, "int", 1, 36_525, help="polls older than this are left out")
    theta_prior_alpha: float = _pos("Beta prior of public opposition when no article claim sets it")
    theta_prior_beta: float = _pos("Beta prior of public opposition when no article claim sets it")
    kappa_prior_sigma: float = _pos("HalfNormal scale of the opinion effect when the article's C13 is not used")
    sigma_opinion_past: float = _pos("sd of the logit opinion of episodes before the poll window")
    sigma_rank: float = _s(MISSING, "float", 0.0, 100.0, help="Normal sd of the intercept change per sd of the "
                           "ontology's escalation rank (0: no rank effect: the intercepts ignore the rank)")
    # ablation switches (ABLATION_SWITCHES): the first choice is the shipped model
    poll_effects: str = _switch("poll_effects", "free: a free wording effect per pollster; sum_to_zero: "
                                "house effects summing to zero (the older model)")
    episode_opinion: str = _switch("episode_opinion", "own_time: each episode at the opinion of its time; "
                                   "reference: at the article's reference opinion, no opinion term (the older model)")
    claims_per_action: str = _switch("claims_per_action", "once: a claim naming k actions is one "
                                     "pseudo-observation; each: k of them (the older model)")
    restatements: str = _switch("restatements", "drop: a source a claim restates is counted once; keep: "
                                "both are counted (the older model)")
    attribute_cells: str = _switch("attribute_cells", "leave_out: cells of a response whose coding restates an action "
                                   "attribute (responses.csv coded_from) are no observation; observe: they are "
                                   "(the older model)")
    era_opinion: str = _switch("era_opinion", "reference: episodes before the poll window at the reference opinion; "
                               "free: at a free era opinion (the older model)")
    opinion_scope: str = _switch("opinion_scope", "scoped: the polled opinion moves responses to the actions it is "
                                 "about (attributes.yaml opinion_levels); all: to every action (the older model)")
    claim_weight: str = _switch("claim_weight", "learned: the article's claims tempered by a learned weight; fixed: "
                                "at full weight (the older model)")
    claim_weight_alpha: float = _s(1.0, "float", 0.0, 100.0, lo_open=True,
                                   help="Beta prior of the article claims' learned weight")
    claim_weight_beta: float = _s(1.0, "float", 0.0, 100.0, lo_open=True,
                                  help="Beta prior of the article claims' learned weight")


@dataclass
class ReportSchema:
    hdi_prob: float = _s(MISSING, "float", 0.5, 1.0, hi_open=True)
    top_n: int = _s(MISSING, "int", 0, 1000, help="responses with a plain-language sentence")
    figures: bool = _s(MISSING, "bool", help="false: reports without figures (faster)")
    min_ess_bulk: int = _s(MISSING, "int", 0, 10_000_000)
    max_rhat: float = _s(MISSING, "float", 1.0, 10.0)
    max_divergences: int = _s(MISSING, "int", 0, 10_000_000)
    min_bfmi: float = _s(MISSING, "float", 0.0, 10.0)
    whatif_draws: int = _s(2000, "int", 0, 100_000, help="posterior draws the What if panel embeds (0: no panel)")
    templates: str = _s("", "str", help="a folder whose page.html, report.css or whatif.html replace the shipped "
                        "report templates by name (empty: the shipped ones)")
    stale_days: int = _s(90, "int", 1, 36_525, help="the bottom line warns when the newest evidence is older than "
                         "this many days at the forecast's date")
    compare_with: str = _s("published", "str", help="what moved is measured against: published (the last published "
                           "brief of the scenario) or a date YYYY-MM-DD (the last published on or before it)")
    noise_sigmas: float = _s(3.0, "float", 0.0, 10.0, lo_open=True, help="a change counts as material when it "
                             "exceeds this many Monte Carlo standard errors of the difference (its noise band)")
    material_points: float = _s(1.0, "float", 0.0, 100.0, help="and when it is at least this many percentage points")


@dataclass
class WordsSchema:
    name: str = _s(help="the scale's name: a file in conf/words/")
    title: str = _s("", help="one line, printed above the legend")
    source: str = _s("", help="where the scale comes from (printed in the legend)")
    url: str = _s("", help="the source's http(s) address")
    bands: Any = _s(None, "any", help="lowest first: {from: probability, word: text, range: the source's range}")


@dataclass
class PathsSchema:
    data: str = _s("data", "path", help="a folder; relative = from the project root")
    reports: str = _s("reports", "path", help="a folder; relative = from the project root")
    cache: str = _s(".cache", "path", help="a folder; relative = from the project root")


@dataclass
class ForecastSchema:
    scenario: ScenarioSchema = MISSING
    priors: Any = MISSING
    sampler: SamplerSchema = MISSING
    model: ModelSchema = MISSING
    report: ReportSchema = MISSING
    words: WordsSchema = MISSING
    as_of: Optional[str] = _s(  # noqa: UP045 - OmegaConf reads typing.Optional
        None, "date", help="YYYY-MM-DD or null (today)")
    seed: int = _s(MISSING, "int", 0, SEED_MAX)
    evidence: bool = _s(True, "bool", help="include data/evidence/ entries")
    paths: PathsSchema = field(default_factory=PathsSchema)
    all_scenarios: bool = _s(False, "bool", help="one fit, a report for every scenario")
    publish: bool = _s(False, "bool", help="publish the reports (history rows, the last published brief, the track "
                       "record); false: a preview (forecast scheduled always publishes)")
    force: bool = _s(False, "bool", help="make the reports even when those on disk are up to date (same inputs, "
                     "settings, code, day and published briefs); false: such a preview says so and writes nothing")
    alerts: Any = _s(None, "any", help="conf/alerts/: thresholds and channels (checked by forecast/analysis/alerts.py)")
    analysts: Any = _s(None, "any", help="data/judgements/<analyst>/ sets to pool, e.g. [example-hawk,example-dove]")
    pool: str = _s("log", "choice", choices=("log", "linear"), help="how the analysts combine")
    update: str = _s("auto", "choice", choices=("auto", "refit"),
                     help="auto: a PSIS update of a cached posterior when Pareto k <= 0.7; refit: always sample")
    priors_before_article: str = _s("exclude", "choice", choices=("exclude", "apply"),
                                    help="an as_of before a claim's date: exclude it (weakly-informative defaults) "
                                         "or apply it anyway (reports say so)")
    pool_weights: Any = _s(None, "any", help="per analyst, e.g. {example-hawk:2,example-dove:1}; equal when null")


SCHEMA_NAME = "forecast_schema"


def register() -> None:
    """Store the schema in Hydra's ConfigStore (idempotent)."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name=SCHEMA_NAME, node=ForecastSchema)


def leaves(cls: type = ForecastSchema, prefix: str = "") -> dict[str, dataclasses.Field]:
    """Every typed leaf: dotted key -> dataclass field (``priors`` is free-form, checked by its own parser)."""
    out = {}
    for f in dataclasses.fields(cls):
        key = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(f.type):
            out.update(leaves(f.type, key + "."))
        elif f.metadata:
            out[key] = f
    return out


def allowed(f: dataclasses.Field) -> str:
    """What a leaf allows, in words: 'a whole number in [10, 100000]', 'true or false', ..."""
    m = f.metadata
    kind = m["kind"]
    if kind == "bool":
        return "true or false"
    if kind == "choice":
        return "one of " + ", ".join(m["choices"])
    if kind == "date":
        return "a date YYYY-MM-DD or null"
    if kind == "path":
        return "a folder that is not the filesystem root or a system folder"
    if kind in ("int", "float", "int_or_null"):
        what = {"int": "a whole number", "float": "a finite number", "int_or_null": "null or a whole number"}[kind]
        lo = "(" if m["lo_open"] else "["
        hi = ")" if m["hi_open"] else "]"
        return f"{what} in {lo}{_g(m['lo'])}, {_g(m['hi'])}{hi}"
    return "text" if kind == "str" else "a value"


def _g(x: Any) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def type_name(f: dataclasses.Field) -> str:
    return {"int": "int", "int_or_null": "int/null", "float": "float", "bool": "bool", "choice": "str",
            "date": "date/null", "path": "path",
            "str": "str", "any": "any"}[f.metadata["kind"]]


def problem(f: dataclasses.Field, value: Any) -> str | None:
    """Why ``value`` is not allowed for leaf ``f`` (None when it is)."""
    m = f.metadata
    kind = m["kind"]
    if kind == "bool":
        return None if isinstance(value, bool) else "not"
    if kind == "choice":
        return None if value in m["choices"] else "not"
    if kind == "int_or_null" and value is None:
        return None
    if kind in ("int", "float", "int_or_null"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "not"
        if kind in ("int", "int_or_null") and value != int(value):
            return "not"
        if not math.isfinite(value):
            return "not"
        lo, hi = m["lo"], m["hi"]
        if value < lo or (m["lo_open"] and value == lo) or value > hi or (m["hi_open"] and value == hi):
            return "not"
        return None
    if kind == "path":
        return None if isinstance(value, str) and value.strip() else "not"
    if kind == "str":
        return None if isinstance(value, str) else "not"
    return None
