"""Command line: a thin layer over the Python API.

    forecast [HYDRA OVERRIDES]            one scenario's report (scenario=NAME, all_scenarios=true, --multirun ...)
    forecast scenarios                    list the scenarios
    forecast evidence add|check|list ...  the analysts' evidence log
    forecast history [--replay]           the forecast history and its figure
    forecast scheduled [OVERRIDES]        the cron-ready run: every scenario into reports/<as_of>/
    forecast check [OVERRIDES]            model checks (back-test, calibration, PPC, LOO...) into reports/checks/

Exit status: 0 = every report written and its diagnostics pass; 2 = invalid input; 3 = diagnostics
failed (reports written, marked untrustworthy); 75 = another run holds the lock; 70 = internal error.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from pathlib import Path

from forecast.cli.console import say
from forecast.errors import EXIT_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, DiagnosticsError, ForecastError
from forecast.files import read_report

SUBCOMMANDS = {"scenarios", "evidence", "history", "scheduled", "check"}


def _quiet_libraries() -> None:
    os.environ.setdefault("PYTENSOR_FLAGS", "")
    for name in ("pytensor", "pymc", "numba", "matplotlib", "h5py"):
        logging.getLogger(name).setLevel(logging.WARNING)
    import warnings

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", message=".*Potentials.*")


def run_forecast(cfg, overrides: list[str]) -> int:
    """Fit once (or hit the cache) and write the configured scenario's report (or all of them)."""
    from forecast import api
    from forecast.analysis.changes import previous_reports
    from forecast.inputs import config as _config
    from forecast.outputs.history import append_history

    say(f"loading inputs (as_of={cfg.as_of or 'today'})")
    inputs = api.load_inputs(cfg)
    say(f"{len(inputs.episodes.table)} episodes, {len(inputs.polls)} polls, {len(inputs.claims)} priors, "
        f"{len(inputs.evidence_ids)} evidence entries known by {inputs.as_of}")
    fitted = api.fit(cfg, inputs, progress=sys.stderr.isatty(), notify=say)
    if fitted.from_cache:
        say(f"posterior cache hit {fitted.inputs_hash} (no sampling)")
    else:
        t = ", ".join(f"{k} {v:.1f}s" for k, v in fitted.timings.items())
        say(f"posterior cache miss: sampled and cached {fitted.inputs_hash} ({t})")
    names = _config.list_scenarios() if cfg.get("all_scenarios") else [cfg.scenario.name]
    say(f"writing {len(names)} report(s)")
    prev = previous_reports(cfg, inputs, fitted, names, out_dir=_sweep_dir(cfg), say=say)
    paths = api.write_report(cfg, inputs, fitted, names, out_dir=_sweep_dir(cfg), overrides=overrides, previous=prev)
    append_history(_config.paths(cfg)["reports"], _config.paths(cfg)["cache"], paths)
    bad = {}
    for p in paths:
        data = read_report(p / "forecast.json") or {"diagnostics": {"ok": False}}
        if not data["diagnostics"]["ok"]:
            bad[p.name] = data["diagnostics"]
        say(f"report: {p / 'report.html'}")
    if bad:
        # each failing report with its own figures (not the last report's)
        parts = "; ".join(f"{n}: max R-hat {d.get('max_rhat')}, min ESS {d.get('min_ess_bulk')}, "
                          f"divergences {d.get('divergences')}" for n, d in bad.items())
        raise DiagnosticsError(f"diagnostics failed ({parts}): reports written and marked untrustworthy; "
                               "rerun with more draws (sampler.draws=4000)")
    return EXIT_OK


def _sweep_dir(cfg):
    """In a Hydra multirun each job writes under reports/sweeps/<sweep>/<job>/ so jobs never collide."""
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        hc = HydraConfig.get()
    except (ImportError, ValueError):
        return None
    if hc.mode != RunMode.MULTIRUN:
        return None
    from forecast.inputs import config as _config

    sweep = Path(hc.sweep.dir).name
    return _config.paths(cfg)["reports"] / "sweeps" / sweep / f"job{hc.job.num:03d}"


def exit_code_for(e: BaseException) -> int:
    if isinstance(e, ForecastError):
        return e.exit_code
    return EXIT_INTERNAL


def _report_error(e: BaseException) -> int:
    code = exit_code_for(e)
    if isinstance(e, ForecastError):
        print(f"forecast: error: {e}", file=sys.stderr)
    else:
        print(f"forecast: internal error: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''} "
              "(set FORECAST_DEBUG=1 for the traceback)", file=sys.stderr)
        if os.environ.get("FORECAST_DEBUG"):
            traceback.print_exc()
    return code


def _hydra_main(argv: list[str]) -> int:
    import hydra

    from forecast.inputs.config import _check_override, validate
    from forecast.paths import conf_dir

    overrides = [a for a in argv if not a.startswith("-")]
    for o in overrides:
        _check_override(o)
    if not any(a in ("-m", "--multirun") for a in argv) and not any(a.startswith("-") for a in argv):
        from forecast.inputs.config import compose

        compose(overrides)  # Hydra's own errors become one-line ConfigErrors before the app starts
    result = {"code": EXIT_OK}

    @hydra.main(config_path=str(conf_dir()), config_name="config", version_base=None)
    def task(cfg) -> None:
        _quiet_libraries()
        try:
            validate(cfg)
            result["code"] = max(result["code"], run_forecast(cfg, overrides))
        except Exception as e:  # noqa: BLE001 - every failure becomes a one-line reason and an exit code
            result["code"] = max(result["code"], _report_error(e))

    sys.argv = [sys.argv[0], *argv]
    try:
        task()
    except SystemExit as e:  # hydra's own usage errors
        return int(e.code or 0) and EXIT_INPUT
    return result["code"]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in SUBCOMMANDS:
            from forecast.cli.commands import dispatch

            _quiet_libraries()
            code = dispatch(argv[0], argv[1:])
        elif argv and argv[0] in ("-h", "--help"):
            print(__doc__)
            code = EXIT_OK
        else:
            code = _hydra_main(argv)
    except KeyboardInterrupt:
        print("forecast: interrupted", file=sys.stderr)
        code = EXIT_INTERRUPTED
    except Exception as e:  # noqa: BLE001 - never a traceback: one line and an exit code (FORECAST_DEBUG=1 shows it)
        code = _report_error(e)
    sys.exit(code)
