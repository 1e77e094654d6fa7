"""Command line: a thin layer over the Python API.

    forecast init DIR [--force]           write a new project home (conf/, data/, reports/) into DIR; run forecast there
    forecast [HYDRA OVERRIDES]            one scenario's report (scenario=NAME, all_scenarios=true, --multirun ...)
    forecast scenarios                    list the scenarios
    forecast evidence add|check|list ...  the analysts' evidence log
    forecast judgement add|check|list ... analysts' dated judgements on the priors (analysts=[a,b] pool=log|linear)
    forecast history [--replay]           the forecast history and its figure
    forecast scheduled [OVERRIDES]        the cron-ready run: every scenario into reports/<as_of>/
    forecast alerts [--since D] [test]    the scheduled runs' alerts; `test` tries each channel
    forecast check [OVERRIDES]            model checks (back-test, calibration, PPC, LOO...) into reports/checks/
    forecast whatif [OVERRIDES] --poll share=0.85,n=1000 [--episode ...] [--judgement ...]
                                          hypothetical evidence: every response before -> after, nothing saved

Hydra's flags work as in any Hydra app: --help (this text, the config groups, the config, the settings'
types), --cfg job|hydra|all [--resolve] [--package KEY], --info [all|config|defaults|defaults-tree|plugins|
searchpath], --multirun (-m), --shell-completion install=bash (eval its output), --hydra-help.

Exit status: 0 = every report written and its diagnostics pass; 2 = invalid input; 3 = diagnostics
failed (reports written, marked untrustworthy); 74 = a write failed (disk full, file-size limit,
read-only folder; earlier outputs intact); 75 = another run holds the lock; 70 = internal error;
130 / 143 = interrupted by SIGINT / SIGTERM (nothing incomplete cached or published); 141 = the reader
of stdout went away (`forecast scenarios | head -1`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import sys
import time
import traceback
from pathlib import Path

from forecast.cli.commands import SUBCOMMANDS, dispatch, refuse_unknown_command
from forecast.cli.console import say, warn
from forecast.errors import (
    EXIT_INPUT,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PIPE,
    ConfigError,
    ForecastError,
    Interrupted,
    clear_signals,
    note_signal,
    printable,
    signals_held,
    signals_received,
)


def _quiet_libraries() -> None:
    os.environ.setdefault("PYTENSOR_FLAGS", "")
    for name in ("pytensor", "pymc", "numba", "matplotlib", "h5py"):
        logging.getLogger(name).setLevel(logging.WARNING)
    import warnings

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", message=".*Potentials.*")


def run_forecast(cfg, overrides: list[str], job: dict | None = None, out_dir: Path | None = None,
                 ahead=None) -> int:
    """``api.run``: its progress on stderr, the reports' paths; exit 3 (one line) when diagnostics failed. ``ahead``:
    the drawing workers forked at the start (``api.draw_ahead``)."""
    from forecast import api

    run = api.run(cfg, overrides, out_dir=out_dir, job=job, progress=sys.stderr.isatty(), say=say, ahead=ahead)
    if run.reused is not None:
        return int(run.reused["code"])
    for w in run.written:
        say(f"report: {w.path / 'report.html'}")
        _echo_moves(w.data)
    error = run.diagnostics_error()
    if error is not None:
        raise error
    return EXIT_OK


def _echo_moves(data: dict) -> None:
    """What moved, on stdout: one line per material move (largest first), or that nothing material moved."""
    from forecast import api

    for line in api.what_moved(data):
        print(line)


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
    if signals_received():  # an error raised while a SIGINT/SIGTERM was unwinding the run: it is the cause
        sig = Interrupted(signals_received()[-1])
        with contextlib.suppress(OSError, ValueError):
            print(interrupted_line(sig.args[0]), file=sys.stderr)
        return sig.exit_code
    code = exit_code_for(e)
    with contextlib.suppress(OSError, ValueError):  # a closed or broken stderr: the exit status still tells
        if isinstance(e, ForecastError):
            print(f"forecast: error: {e}", file=sys.stderr)
        else:
            print(f"forecast: internal error: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''} "
                  "(set FORECAST_DEBUG=1 for the traceback)", file=sys.stderr)
            if os.environ.get("FORECAST_DEBUG"):
                traceback.print_exc()
    return code


REFUSED_FLAGS = {
    "config_path": "the config is conf/ of the project ($FORECAST_HOME)",
    "config_name": "the config is conf/config.yaml",
    "config_dir": "config groups come from conf/ only (their options are checked against it)",
    "experimental_rerun": "it unpickles a file: this tool loads nothing executable",
}


def hydra_args(argv: list[str]):
    """The command line parsed by Hydra's own parser (flags: --cfg, --resolve, --package, --info, --help,
    --hydra-help, --multirun, --shell-completion, ...; the rest are overrides), every error one line."""
    from hydra._internal.utils import get_args_parser

    parser = get_args_parser()

    def error(message: str):
        raise ConfigError("command line", message, "see forecast --help")

    parser.error = error  # argparse prints its usage and exits 2; we give one line
    args = parser.parse_args(argv)
    for flag, why in REFUSED_FLAGS.items():
        if getattr(args, flag, None) is not None:
            raise ConfigError(f"--{flag.replace('_', '-')}", f"not supported: {why}", "leave it out")
    if args.resolve and args.cfg is None and not args.help:
        raise ConfigError("--resolve", "only works with --cfg or --help", "write e.g. forecast --cfg job --resolve")
    if args.package is not None and args.cfg is None:
        raise ConfigError("--package", "only works with --cfg", "write e.g. forecast --cfg job --package sampler")
    modes = [f for f, on in (("--run", args.run), ("--multirun", args.multirun), ("--cfg", args.cfg is not None),
                             ("--info", args.info is not None), ("--shell-completion", args.shell_completion)) if on]
    if len(modes) > 1:
        raise ConfigError("command line", f"{' and '.join(modes)} together", "give only one of them")
    return args


def _check_sweep(overrides: list[str]) -> None:
    """A multirun's overrides, each value of each sweep composed once (with every fixed override), so a bad value
    is one line before any job starts."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    from forecast.inputs.config import compose

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as e:
        raise ConfigError("command line", " ".join(str(e).split())[:300], "fix the override") from None
    fixed = [o for o, p in zip(overrides, parsed, strict=True) if not p.is_sweep_override()]
    compose(fixed, hydra_dirs=True)
    for p in parsed:
        if p.is_sweep_override() and p.is_discrete_sweep():
            try:
                values = list(p.sweep_string_iterator())
            except HydraException:
                continue  # e.g. glob(): Hydra expands it against the group's options (checked by check_override)
            key = p.get_key_element()
            for v in values:
                compose([*fixed, f"{key}={v}"], hydra_dirs=True)


def _register_help() -> None:
    """``forecast --help``: Hydra's app help (config groups and options, the config) with this tool's commands as
    the header and the settings' types and ranges as the footer (conf/config.yaml: hydra.help)."""
    from omegaconf import OmegaConf

    if OmegaConf.has_resolver("forecast_help"):
        return

    def text(part: str) -> str:
        if part == "header":
            return (__doc__ or "").replace("$", "$$")
        return (settings_table() + "\nPowered by Hydra (https://hydra.cc): `forecast --hydra-help` shows Hydra's "
                "own flags and groups.\n").replace("$", "$$")

    OmegaConf.register_new_resolver("forecast_help", text)


def settings_table() -> str:
    """Every typed setting: key, type, what it allows (from the schema, forecast/inputs/schema.py)."""
    from forecast.inputs import schema

    rows = [(k, schema.type_name(f), schema.allowed(f)) for k, f in schema.leaves().items()
            if f.metadata["kind"] not in ("str", "any")]
    w = max(len(k) for k, _, _ in rows)
    return "== Settings: type and allowed values ==\n" + "\n".join(
        f"  {k:<{w}}  {t:<9} {a}" for k, t, a in rows) + "\n"


def _task(cfg, overrides: list[str], result: dict, ahead=None) -> int:
    """One forecast run (a Hydra job, or the plain run the CLI starts itself): its exit status, also kept in
    ``result``. In a sweep this may run in another process or on another node (joblib, Ray, SLURM): what
    reaches the exit status is the job's job.json, collected by forecast.cli.sweep.SweepSummary."""
    from forecast.cli import sweep
    from forecast.inputs.config import validate

    _quiet_libraries()
    out_dir = _sweep_dir(cfg)
    job = None if out_dir is None else {}
    own = overrides if out_dir is None else sweep.job_overrides()
    t0 = time.perf_counter()
    reason = ""
    try:
        validate(cfg)
        code = run_forecast(cfg, own, job, out_dir, ahead)
        reason = (job or {}).get("reason", "")
    except Exception as e:  # noqa: BLE001 - every failure becomes a one-line reason and an exit code
        code = _report_error(e)
        reason = printable(str(e))
    if out_dir is not None:
        from hydra.core.hydra_config import HydraConfig

        from forecast import api

        api.record_job(out_dir, num=HydraConfig.get().job.num, overrides=own, code=code, reason=reason, job=job,
                       seconds=time.perf_counter() - t0)
    result["code"] = max(result["code"], code)
    return code


def _plain_run(cfg, overrides: list[str], ahead=None) -> int:
    """A single run (no --multirun, --cfg, --info, --help or completion): the config composed once, Hydra's job
    logging set up as Hydra's launcher does (``hydra.job_logging``: the log file under the cache), the run
    started directly. Hydra's launcher would compose the same config twice more (a second or more on a 2-core
    machine) and create an empty run folder (``hydra.output_subdir`` is null: it writes nothing there)."""
    from hydra.core.utils import configure_log
    from omegaconf import open_dict

    configure_log(cfg.hydra.job_logging, cfg.hydra.verbose)
    with open_dict(cfg):
        del cfg["hydra"]
    return _task(cfg, overrides, {"code": EXIT_OK}, ahead)


def _describe_shipped_settings_outside_a_home() -> None:
    """``--help``, ``--hydra-help``, ``--info`` and ``--cfg`` describe settings; outside any project home (an
    installed package run from an empty folder) they describe the shipped ones, the settings ``forecast init``
    would write, and say so, instead of stopping at "no project home"."""
    from forecast import api

    shipped = api.shipped_settings_outside_a_home()
    if shipped is not None:
        warn(f"no project home here: showing the shipped settings ({shipped}); 'forecast init DIR' writes a home "
             "to run forecast in")


def _hydra_main(argv: list[str]) -> int:
    import hydra

    from forecast.cli import sweep
    from forecast.inputs.config import check_override, compose
    from forecast.paths import conf_dir

    args = hydra_args(argv)
    overrides = list(args.overrides)
    plain = not (args.multirun or args.cfg is not None or args.info is not None or args.help or args.hydra_help
                 or args.shell_completion)
    if args.help or args.hydra_help or args.info is not None or args.cfg is not None:
        _describe_shipped_settings_outside_a_home()
    if not args.shell_completion:  # completion's own words (install=bash, query=bash) are not overrides
        for o in overrides:
            check_override(o)
        if args.multirun:
            _check_sweep(overrides)
        else:
            # Hydra's own errors become one-line ConfigErrors before the app starts
            cfg0 = compose(overrides, hydra_dirs=True, keep_hydra=plain)
            if plain:
                from forecast import api

                served = api.up_to_date(cfg0, say=say)  # a preview already on disk: said again, nothing written
                if served is not None:
                    for line in served.said:
                        say(line)
                    for line in served.moved:
                        print(line)
                    return EXIT_OK
                api.open_job_log(cfg0)  # a run: its log file, opened through the one door for writes first
                # its drawing workers forked now, so that their imports overlap the run's own (its inputs, its
                # posterior); a run that turns out to have nothing to draw ends them at once. The libraries are
                # quieted first: the workers inherit it (a library's deprecation warning is not the reader's)
                _quiet_libraries()
                ahead = api.draw_ahead(cfg0)
                try:
                    return _plain_run(cfg0, overrides, ahead)
                finally:
                    if ahead is not None:
                        ahead.close()
    _register_help()
    result = {"code": EXIT_OK}

    @hydra.main(config_path=str(conf_dir()), config_name="config", version_base=None)
    def task(cfg) -> int:
        return _task(cfg, overrides, result)

    sys.argv = [sys.argv[0], *argv]
    sweep.LAST.clear()
    try:
        task()
    except SystemExit as e:  # hydra's own usage errors; --help and --hydra-help end with exit 0
        return int(e.code or 0) and EXIT_INPUT
    if args.cfg in ("job", "all") and args.package is None:
        # Hydra prints the values; the schema adds their types, as YAML comments (the output stays YAML)
        print("# types and allowed values (forecast/inputs/schema.py):")
        print("\n".join(f"# {line.strip()}" for line in settings_table().splitlines()[1:]))
    if sweep.LAST:  # a multirun: the worst job decides, wherever the jobs ran
        result["code"] = max(result["code"], _say_sweep(sweep.LAST))
    return result["code"]


def _say_sweep(s: dict) -> int:
    """A finished sweep's summary for people; returns its exit status (the worst job's)."""
    say(f"sweep {s['sweep']}: {s['n_jobs']} jobs ({s['n_reused']} reused), {s['n_failed']} failed, "
        f"{s['n_diagnostics_failed']} with failed diagnostics, "
        f"{len(s['distinct_inputs_hashes'])} distinct posteriors; summary: {s.get('path')}")
    for j in s["jobs"]:
        if j["code"] not in (0, 3):
            say(f"job{j['job']:03d} ({' '.join(j['overrides'])}): exit {j['code']}: {j['reason']}")
    return int(s["exit_code"])


# code where Python swallows an exception (prints "Exception ignored in ..." and carries on): a finaliser, and the
# standard library's weak-reference callbacks (WeakSet, WeakValueDictionary, weakref.finalize)
_SWALLOWING_FILES = ("weakref.py", "_weakrefset.py")


def _swallowing(frame) -> bool:
    """Whether the code a signal interrupted runs inside a finaliser or a weak-reference callback, where an
    exception raised by the handler would be printed and dropped."""
    while frame is not None:
        code = frame.f_code
        if code.co_name == "__del__" or code.co_filename.endswith(_SWALLOWING_FILES):
            return True
        frame = frame.f_back
    return False


def _on_signal(signum, frame) -> None:
    """Record the signal (nutpie and PyMC catch the KeyboardInterrupt and return partial draws: the record is
    checked after sampling, at every commit point and before exit), then raise ``Interrupted`` unless the
    interrupted code would swallow it or holds signals back (a commit: ``forecast.files.deferred_signals``, which
    raises it at its end; another thread may take the signal while the main thread blocks it, and Python then
    runs this handler in the main thread all the same); then the next check raises it."""
    note_signal(signum)
    if not _swallowing(frame) and not signals_held():
        raise Interrupted(signum)


def _unraisable(hook):
    """``sys.unraisablehook`` that drops an ``Interrupted`` some other callback swallowed (recorded: it is raised
    at the next check) instead of printing it, and passes everything else on."""
    def quiet(unraisable) -> None:
        if isinstance(unraisable.exc_value, Interrupted):
            return
        hook(unraisable)

    quiet.forecast = True  # type: ignore[attr-defined]
    return quiet


STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")


def _install_signals() -> dict:
    """SIGINT/SIGTERM/SIGHUP raise ``Interrupted`` (cleanup runs, exit 130/143/129); SIGXFSZ is ignored, so that
    a file-size limit (ulimit -f) is an EFBIG write error (exit 74) instead of a kill. Returns what to restore."""
    old = {}
    stops = [(getattr(signal, name, None), _on_signal) for name in STOP_SIGNALS]
    for sig, handler in (*stops, (getattr(signal, "SIGXFSZ", None), signal.SIG_IGN)):
        if sig is None:
            continue
        try:
            old[sig] = signal.signal(sig, handler)
        except ValueError:  # not the main thread (an embedding app): leave its handlers alone
            pass
    if not getattr(sys.unraisablehook, "forecast", False):
        sys.unraisablehook = _unraisable(sys.unraisablehook)
    clear_signals()
    return old


def interrupted_line(sig: str) -> str:
    """The stop message: what this run published before the signal, or that it published nothing."""
    from forecast.api import published_so_far

    done = published_so_far()
    if done:
        return (f"forecast: interrupted ({sig}) after publishing {'; '.join(done)}: that publication is complete, "
                "nothing after it was done")
    return (f"forecast: interrupted ({sig}): nothing was published (the previous reports, history and pages stand) "
            "and nothing incomplete was cached")


class _Output:
    """stdout for a command's output: a failed write (a redirection to a full disk or to /dev/full, a file-size
    limit) is a ``WriteError`` naming standard output (exit 74, as for any file); a reader that went away stays a
    BrokenPipeError (exit 141, quietly)."""

    def __init__(self, stream):
        self._stream = stream

    def _guarded(self, call, *args):
        try:
            return call(*args)
        except BrokenPipeError:
            raise
        except OSError as e:
            from forecast.api import write_error

            _quiet_broken_pipe()  # what is still buffered must not fail again when the interpreter exits
            raise write_error("standard output", e, "nothing else was changed") from None

    def write(self, text: str) -> int:
        return self._guarded(self._stream.write, text)

    def flush(self) -> None:
        return self._guarded(self._stream.flush)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def _ensure_std_streams() -> None:
    """A closed stdin/stdout/stderr (`2>&-`) becomes /dev/null: printing never fails, and no file the tool
    opens later takes descriptor 1 or 2 (progress lines would land in it). A failed write to stdout is exit 74."""
    for fd, name, mode in ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w")):
        try:
            os.fstat(fd)
            if getattr(sys, name) is not None:
                continue
        except OSError:
            null = os.open(os.devnull, os.O_RDONLY if fd == 0 else os.O_WRONLY)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
        setattr(sys, name, open(fd, mode, encoding="utf-8", closefd=False))  # noqa: SIM115 - lives as long as the process
    if not isinstance(sys.stdout, _Output):
        sys.stdout = _Output(sys.stdout)


def _ensure_cwd() -> None:
    """A working folder deleted under the process: every path is resolved from the project root anyway,
    so work from there."""
    try:
        os.getcwd()
    except OSError:
        from forecast.paths import PACKAGE_DIR, project_root

        try:
            root = project_root()
        except OSError:
            root = PACKAGE_DIR.parent
        os.chdir(root)
        warn(f"the working folder no longer exists; working from {root}")


def _quiet_broken_pipe() -> int:
    """stdout's reader went away (`| head -1`): stop quietly, as Unix tools do."""
    with contextlib.suppress(OSError, ValueError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())  # the interpreter's last flush must not complain either
        os.close(null)
    return EXIT_PIPE


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _ensure_std_streams()
    old_handlers = _install_signals()
    from forecast.api import clear_published

    clear_published()
    try:
        code = _main(argv)
        if signals_received() and code < 128:  # a signal some library swallowed: it still stops the run
            sig = Interrupted(signals_received()[-1])
            with contextlib.suppress(OSError, ValueError):
                print(interrupted_line(sig.args[0]), file=sys.stderr)
            code = sig.exit_code
    finally:
        for sig, h in old_handlers.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(sig, h)
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        code = _quiet_broken_pipe()
    except ForecastError as e:  # stdout on a full disk: the output is incomplete
        code = _report_error(e)
    sys.exit(code)


def entry(fast: bool = True) -> None:
    """The process's entry (``python -m forecast`` and the ``forecast`` script): ``main``, then the exit handlers
    (``atexit``: the log file closed, temporary folders removed) and the streams flushed, and the process ends without
    tearing the interpreter down (every module and object freed one by one: a quarter of a second after a report, for
    nothing the operating system does not do at exit). Not for a caller in the same process: it calls ``main``.
    ``fast=False``, a tracer or debugger (``sys.gettrace``) or a profiler running the command (``python -m cProfile -o
    FILE -m forecast``, which writes FILE after the command returns): the ordinary exit (``SystemExit``)."""
    import atexit
    import threading

    if not fast or sys.gettrace() is not None or "cProfile" in sys.modules or "profile" in sys.modules:
        main()
    try:
        main()
        code = EXIT_OK
    except SystemExit as e:
        code = e.code
    if not isinstance(code, int):
        if code is not None:
            with contextlib.suppress(OSError, ValueError):
                print(code, file=sys.stderr)
        code = EXIT_INTERNAL if code is not None else EXIT_OK
    # as the interpreter ends: threading's own exit callbacks first (they tell the pools' worker and manager threads,
    # concurrent.futures' and joblib/loky's, to stop), then every non-daemon thread joined, then the exit handlers.
    # Joining the threads without those callbacks waits forever for a pool left open (a Hydra joblib sweep hung so)
    threading._shutdown()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):  # ``main`` flushed stdout and said what failed; nothing is left to say
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def _main(argv: list[str]) -> int:
    try:
        _ensure_cwd()
        if argv and argv[0] in SUBCOMMANDS:
            _quiet_libraries()
            code = dispatch(argv[0], argv[1:])
        elif argv and re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", argv[0]):  # a bare word: no command, no key=value
            refuse_unknown_command(argv[0])
        else:
            code = _hydra_main(argv)
    except KeyboardInterrupt as e:  # SIGINT (KeyboardInterrupt or Interrupted) or SIGTERM/SIGHUP (Interrupted)
        code = getattr(e, "exit_code", EXIT_INTERRUPTED)
        with contextlib.suppress(OSError, ValueError):
            print(interrupted_line(e.args[0] if isinstance(e, Interrupted) else "SIGINT"), file=sys.stderr)
    except BrokenPipeError:
        code = _quiet_broken_pipe()
    except Exception as e:  # noqa: BLE001 - never a traceback: one line and an exit code (FORECAST_DEBUG=1 shows it)
        code = _report_error(e)
    return code
