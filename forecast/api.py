"""The documented Python API: everything the CLI does, from a notebook (the CLI only parses and prints).

The building blocks (compose a config, load and validate the inputs, build the model, fit, predict a scenario,
summarise, write reports) are defined here; the use cases (a forecast run, the scheduled run, the checks,
what-if, the evidence log and judgements, the history, the alerts) live in ``forecast.usecases`` and are
re-exported here.

Nothing heavy is imported with this module: every name defined elsewhere (a use case, ``load_inputs``,
``build_model``, ...) is imported the first time it is asked for (the module's ``__getattr__``), and the
functions defined here import what they use when called. ``import forecast`` then costs milliseconds, and a
command imports only the libraries its own path needs (``tests/test_imports.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr
    from omegaconf import DictConfig

    from forecast.inputs.data import Inputs
    from forecast.model.fit import Fit

# names defined in other modules, imported by ``__getattr__`` when first asked for
ELSEWHERE = ("Episode", "Judgement", "Poll", "REPLAY_START", "REPORT_SCHEMA_VERSION", "Report", "Run", "ScheduledRun",
             "WHATIF_EXAMPLES", "WrittenReport", "actions", "alerts", "alerts_test", "build_model", "check",
             "clear_published", "evidence_add", "evidence_check", "evidence_restore", "evidence_withdraw", "history",
             "history_replay", "judgement_add", "judgement_check", "load_inputs", "parse_whatif_items",
             "published_so_far", "read_report", "record_job", "responses", "run", "sampler_settings", "scheduled",
             "summarize_sweep", "whatif", "write_error", "write_report")
__all__ = sorted([*ELSEWHERE, "compose", "fit", "folders", "init", "open_job_log", "predict_scenarios",
                  "scenario_titles", "scenarios", "shipped_settings_outside_a_home", "summarize", "up_to_date",
                  "validate", "what_moved"])


def __getattr__(name: str) -> Any:
    """The names defined in other modules, imported when first asked for (then kept in this module)."""
    if name in ("Episode", "Judgement", "Poll"):
        from forecast.analysis import whatif as m
    elif name in ("clear_published", "published_so_far"):
        from forecast import publication as m
    elif name == "write_error":
        from forecast import files as m
    elif name == "load_inputs":
        from forecast.inputs import load as m
    elif name == "build_model":
        from forecast.model import build as m
    elif name == "sampler_settings":
        from forecast.model import fit as m
    elif name in ("REPORT_SCHEMA_VERSION", "Report", "WrittenReport", "read_report"):
        from forecast.outputs import contract as m
    elif name in ("alerts", "alerts_test"):
        from forecast.usecases import alerts as m
    elif name == "check":
        from forecast.usecases import checks as m
    elif name in ("evidence_add", "evidence_check", "evidence_restore", "evidence_withdraw", "judgement_add",
                  "judgement_check"):
        from forecast.usecases import evidence as m
    elif name in ("REPLAY_START", "history", "history_replay"):
        from forecast.usecases import history as m
    elif name in ("actions", "responses"):
        from forecast.usecases import ontology as m
    elif name in ("Run", "record_job", "run", "summarize_sweep", "write_report"):
        from forecast.usecases import reports as m
    elif name in ("ScheduledRun", "scheduled"):
        from forecast.usecases import scheduled as m
    elif name in ("WHATIF_EXAMPLES", "parse_whatif_items", "whatif"):
        from forecast.usecases import whatif as m
    else:
        raise AttributeError(f"module 'forecast.api' has no attribute {name!r}")
    value = getattr(m, {"WHATIF_EXAMPLES": "EXAMPLES", "parse_whatif_items": "parse_items"}.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def compose(overrides: list[str] | tuple[str, ...] = (), *, hydra_dirs: bool = False) -> DictConfig:
    """The config for these Hydra overrides (no app launch, works from a notebook); ``hydra_dirs``: also
    Hydra's run and sweep folders, checked (``forecast.inputs.config.compose``)."""
    from forecast.inputs import config

    return config.compose(overrides, hydra_dirs=hydra_dirs)


def validate(cfg: DictConfig) -> None:
    """Refuse unknown keys and out-of-range values before anything runs (``forecast.inputs.config.validate``)."""
    from forecast.inputs import config

    config.validate(cfg)


def folders(cfg: DictConfig) -> dict[str, Path]:
    """Where the configured ``data/``, ``reports/`` and ``.cache/`` are (``paths`` is the module)."""
    from forecast.inputs import config

    return config.paths(cfg)


def init(folder: str | Path, *, force: bool = False) -> Path:
    """Write a new project home into ``folder``: the package's settings (``conf/``) and reference data
    (``data/``), an empty ``reports/`` and a README; returns its path. ``force`` accepts a folder that holds
    other files (nothing is overwritten). Run forecast inside it, or set ``FORECAST_HOME`` to it."""
    from forecast import home

    return home.init(folder, force=force)


def shipped_settings_outside_a_home() -> Path | None:
    """Outside any project home, point this process at the shipped settings (the ``conf/`` and ``data/`` that
    ``init`` writes) and return their folder, so that describing the settings (``--help``, ``--info``, ``--cfg``)
    works from anywhere; inside a home (or with ``FORECAST_HOME`` set), change nothing and return None."""
    import os

    from forecast import home, paths
    from forecast.errors import ForecastError

    try:
        paths.project_root()
    except ForecastError:
        shipped = home.template()
        os.environ[paths.HOME_ENV] = str(shipped)
        return shipped
    return None


def open_job_log(cfg: DictConfig) -> Path:
    """Open (create) the run's log file, ``<paths.cache>/logs/forecast.log``, through the one door for writes:
    Hydra opens it itself and fails with a traceback when it cannot; this way a read-only cache or a folder in its
    place is one line (exit 74) first."""
    from forecast.files import ensure_dir, guard, io_errors

    cache = folders(cfg)["cache"]
    log_file = guard(ensure_dir(cache / "logs", cache, heal=True) / "forecast.log", cache)
    with io_errors(log_file), open(log_file, "a", encoding="utf-8"):
        pass
    return log_file


def draw_ahead(cfg: DictConfig):
    """The drawing workers of a run of ``cfg`` that may draw figures (one report, ``report.figures`` on), forked now,
    before the run imports or reads anything (``forecast.outputs.figures.drawing_workers``); else None, and None with
    one core (the figures are then drawn in the run's own process). Their imports (matplotlib, pandas) are paid on the
    other core while the run loads its inputs and reweights its posterior: pass them to ``run(ahead=...)``, which
    keeps them when it has figures to draw and ends them otherwise, and close them (``close()``) whatever happens."""
    from forecast.inputs import config
    from forecast.outputs.figures import drawing_workers

    if not cfg.report.figures or len(config.report_names(cfg)) != 1:
        return None
    workers = drawing_workers()
    if workers.inline:
        return None
    workers.start()
    return workers


def fit(cfg: DictConfig, inputs: Inputs, *, progress: bool = False, use_cache: bool = True, notify=None,
        update: str | None = None) -> Fit:
    """Fit (or load from the posterior cache) the posterior for these inputs. ``notify(str)`` hears progress.

    ``update`` (default: the config's ``update``, ``auto``): ``auto`` reweights the nearest cached
    posterior by PSIS when the inputs only add evidence or change claims and the Pareto k <= 0.7
    (``fitted.weights``, ``fitted.update``); ``refit`` always samples on a cache miss."""
    from forecast.model.fit import fit_config

    return fit_config(cfg, inputs, progress=progress, use_cache=use_cache, notify=notify, update=update)


def scenarios(cfg: DictConfig, inputs: Inputs, names: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Action profiles of the named scenarios (default: the configured one)."""
    from forecast.inputs import config

    return config.scenario_profiles(cfg, inputs.ontology, names)


def up_to_date(cfg: DictConfig, say=None):
    """A preview's reports as their folders hold them when every one is up to date (the same inputs, settings,
    code, day and published briefs as when it was made, every file intact: ``forecast.outputs.uptodate``), else
    None: then ``run`` makes them. ``.said`` (stderr) and ``.moved`` (stdout) are what the run that made them
    said and printed. Reads and hashes files only; writes nothing. ``say(str)`` hears why a report with a record
    is made again."""
    from forecast.inputs import config
    from forecast.outputs import uptodate

    return uptodate.up_to_date(cfg, config.report_names(cfg), say=say)


def what_moved(report: dict[str, Any]) -> list[str]:
    """What moved in a written report (``WrittenReport.data``) since the brief it is compared with, one line per
    material move, or one line saying nothing material moved (what ``forecast`` prints on stdout)."""
    from forecast.outputs.brief import what_moved_lines

    return what_moved_lines(report)


def scenario_titles() -> list[tuple[str, str]]:
    """Every scenario of ``conf/scenario/``: (name, title)."""
    from forecast.inputs import config

    return [(name, str(config.load_scenario(name).get("title", ""))) for name in config.list_scenarios()]


def predict_scenarios(cfg: DictConfig, inputs: Inputs, fitted: Fit, names: list[str] | None = None,
                      group: str = "posterior") -> xr.Dataset:
    """Posterior (or article-only prior, ``group="prior"``) of every response for the scenarios."""
    from forecast.model.predict import predict

    return predict(fitted.idata, inputs.ontology, inputs.hyper, scenarios(cfg, inputs, names), group)


def summarize(pred: xr.Dataset, var: str = "p", hdi_prob: float = 0.9, weights=None) -> pd.DataFrame:
    """Mean and HDI per scenario and response (or composite). Pass ``weights=fitted.weights``: a PSIS
    update's draws are importance-weighted (``None``, a cache hit or an exact fit: equal weights)."""
    import xarray as xr

    from forecast.model import summary

    da = pred[var]
    lo, hi = summary.hdi(da, hdi_prob, weights)
    out = xr.Dataset({"mean": summary.mean(da, weights), "hdi_low": lo, "hdi_high": hi})
    return out.to_dataframe().reset_index()
