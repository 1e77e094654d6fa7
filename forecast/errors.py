"""One exception family. Every message names the file, the row or key, and the fix."""

from __future__ import annotations

# Exit statuses, defined once (sysexits.h where one fits).
EXIT_OK = 0
EXIT_INPUT = 2  # invalid input: a one-line reason naming the file, row or key and the fix
EXIT_DIAGNOSTICS = 3  # diagnostics failed: reports written, marked untrustworthy
EXIT_INTERNAL = 70  # EX_SOFTWARE
EXIT_IOERR = 74  # EX_IOERR: a write failed (disk full, file-size limit, read-only or forbidden folder)
EXIT_LOCKED = 75  # EX_TEMPFAIL: another run holds the lock
EXIT_UNAVAILABLE = 69  # EX_UNAVAILABLE: a notification channel failed (`forecast alerts test`)
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_PIPE = 141  # 128 + SIGPIPE: the reader of stdout went away (`forecast scenarios | head -1`)


class ForecastError(Exception):
    """Base class of every error the tool raises on purpose."""

    exit_code = EXIT_INTERNAL


class InputError(ForecastError, ValueError):
    """Invalid input: a data file, a config value, an evidence entry, a CLI argument."""

    exit_code = EXIT_INPUT

    def __init__(self, where: str, problem: str, fix: str | None = None):
        self.where = where
        self.problem = problem
        self.fix = fix
        msg = f"{where}: {problem}"
        if fix:
            msg += f"; {fix}"
        super().__init__(printable(msg))


def printable(text: str) -> str:
    """One line of printable text: control characters, line breaks and escapes shown escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def suggest(word: str, choices, what: str = "") -> str:
    """The fix for an unknown name: "did you mean X? " when one of ``choices`` is close (a typo, another spelling),
    then every choice ("use one of: a, b, c"; ``what`` names them: "use one of the scenarios: ...")."""
    import difflib

    names = [str(c) for c in choices]
    w = str(word).casefold()
    close = [c for c in names if w and c.casefold().startswith(w)][:1]  # a prefix: expel -> expel_agents
    close = close or difflib.get_close_matches(str(word), names, n=1, cutoff=0.6)  # a typo, another spelling
    close = close or [c for c in names if len(w) > 2 and w in c.casefold()][:1]  # a fragment
    lead = f"did you mean {close[0]!r}? " if close and close[0] != word else ""
    return f"{lead}use one of{' ' + what if what else ''}: {', '.join(names) or 'none'}"


class ConfigError(InputError):
    """An unknown scenario, prior or key, or a config value out of range."""


class DiagnosticsError(ForecastError):
    """The sampler's diagnostics failed: reports are written but marked untrustworthy."""

    exit_code = EXIT_DIAGNOSTICS


class LockedError(ForecastError):
    """Another run holds the reports lock."""

    exit_code = EXIT_LOCKED


class WriteError(ForecastError):
    """A write the tool had to make failed (disk full, file-size limit, read-only or forbidden folder, a
    file where a folder belongs). Earlier outputs are left as they were."""

    exit_code = EXIT_IOERR

    def __init__(self, message: str):
        super().__init__(printable(message))


class IncompleteFitError(ForecastError):
    """The sampler returned fewer or non-finite draws than configured: nothing is cached or published."""


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived: the run cleans up and ends with 128 + the signal's number.

    A subclass of KeyboardInterrupt, so every cleanup written for Ctrl-C also runs for SIGTERM and no
    ``except Exception`` swallows it."""

    def __init__(self, signum: int):
        import signal

        self.signum = int(signum)
        self.exit_code = 128 + self.signum
        try:
            name = signal.Signals(self.signum).name
        except ValueError:  # pragma: no cover - only SIGINT/SIGTERM are installed
            name = str(self.signum)
        super().__init__(name)


_SIGNALS: list[int] = []  # signals received by this process (the handler in cli/main.py records them)


def note_signal(signum: int) -> None:
    _SIGNALS.append(int(signum))


_HELD = [0]  # how many commits hold signals back now (forecast.files.deferred_signals)


def hold_signals(on: bool) -> None:
    _HELD[0] += 1 if on else -1


def signals_held() -> bool:
    """Whether a commit holds SIGINT/SIGTERM/SIGHUP back: the handler records the signal and the commit raises it
    when it ends."""
    return _HELD[0] > 0


def signals_received() -> list[int]:
    return list(_SIGNALS)


def clear_signals() -> None:
    _SIGNALS.clear()


def raise_if_interrupted() -> None:
    """Raise ``Interrupted`` when a signal arrived, even if a library (nutpie, PyMC) caught the
    KeyboardInterrupt it raised and carried on with the draws it had."""
    if _SIGNALS:
        raise Interrupted(_SIGNALS[-1])
